"""What every section of a run shares: the spec, the output folder and the data read once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metakit.errors import DataError
from metakit.report.spec import ReviewSpec


def read_sheet(path: Path):
    """A CSV or XLSX extraction sheet as a data frame (the first sheet of a workbook)."""
    import pandas as pd

    if not path.exists():
        raise DataError(f"the file {str(path)!r} does not exist")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return pd.read_excel(path)
    return pd.read_csv(path)


@dataclass
class Context:
    """Shared state of one run: the spec, where files go, sheets read on first use."""

    spec: ReviewSpec
    out: Path
    _sheets: dict[str, Any] = field(default_factory=dict)
    #: study label -> total from the characteristics sheet (filled by that section)
    study_totals: dict[str, float] = field(default_factory=dict)
    rob_table: Any = None

    @property
    def figures(self) -> Path:
        return self.out / "figures"

    @property
    def tables(self) -> Path:
        return self.out / "tables"

    def sheet(self, name: str):
        """The extraction sheet ``name`` (a copy; read once)."""
        if name not in self._sheets:
            self._sheets[name] = read_sheet(self.spec.sheets[name])
        return self._sheets[name].copy()

    def labels(self, frame) -> list[str]:
        """Study labels: the spec's ``study`` columns joined by spaces."""
        cols = [c for c in self.spec.study if c in frame.columns]
        if not cols:
            raise DataError(f"none of the study label columns {list(self.spec.study)} is in the sheet")
        return [" ".join(str(v) for v in row) for row in frame[cols].itertuples(index=False)]
