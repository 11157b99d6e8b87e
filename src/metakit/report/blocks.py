"""The pieces of a report and how each is written to disk, byte for byte the same on a re-run.

A section of the report is a list of blocks: paragraphs, figures (SVG + PNG), tables
(CSV + XLSX), guardrail warnings and failures. Figures are saved with matplotlib's SVG
hash salt fixed and without the date, PNGs without the software stamp, and XLSX (and the
report's DOCX) files with fixed document dates and zip entry times, so that unchanged
inputs give unchanged files. The fixed time is ``SOURCE_DATE_EPOCH`` when that variable is
set (the reproducible-builds convention), else 1980-01-01, the earliest a zip entry holds.

>>> Paragraph("Ten trials were included.").text
'Ten trials were included.'
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from metakit.errors import MetakitError

#: the time written into XLSX and DOCX files (and their zip entries) when SOURCE_DATE_EPOCH is unset
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class SettingError(MetakitError, ValueError):
    """An environment variable that a run reads has a value it cannot use."""


def fixed_time() -> datetime:
    """The time stamped into the files a run writes: ``SOURCE_DATE_EPOCH`` if set, else :data:`FIXED_TIME`.

    >>> fixed_time().isoformat()  # doctest: +SKIP
    '1980-01-01T00:00:00+00:00'
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            stamp = datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise SettingError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {epoch!r}") from exc
        # a zip entry cannot hold a time before 1980
        return max(stamp, datetime(*FIXED_TIME, tzinfo=UTC))
    return datetime(*FIXED_TIME, tzinfo=UTC)


@dataclass(frozen=True)
class Paragraph:
    """Text, one paragraph."""

    text: str


@dataclass(frozen=True)
class FigureBlock:
    """A figure written as ``svg`` and ``png``; ``alt`` is its text alternative."""

    stem: str
    alt: str
    caption: str
    svg: Path
    png: Path


@dataclass(frozen=True)
class TableBlock:
    """A table written as ``csv`` and ``xlsx``; ``frame`` is what the HTML shows."""

    stem: str
    caption: str
    frame: Any
    csv: Path
    xlsx: Path


@dataclass(frozen=True)
class Guardrail:
    """A warning about an analysis: what is wrong, why it matters and what to do."""

    code: str
    where: str
    title: str
    reason: str
    action: str

    def summary(self) -> str:
        """One line for the terminal."""
        return f"{self.where}: {self.title}. {self.reason} What to do: {self.action}"


@dataclass(frozen=True)
class Failure:
    """An analysis that failed: the report is built without it and says why."""

    what: str
    message: str


@dataclass
class Section:
    """One heading of the report with its blocks and sub-sections.

    ``available`` is False for sections this version of metakit cannot build yet; the
    report says so instead of leaving them out. ``numbers`` keeps the values the text
    quotes (for checks against the library's results).
    """

    id: str
    title: str
    blocks: list = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    available: bool = True
    methods: list[str] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)

    def walk(self):
        """This section and every sub-section, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


def save_figure(fig, out: Path, stem: str, alt: str, caption: str, dpi: float = 150) -> FigureBlock:
    """Write ``fig`` as ``out/stem.svg`` and ``out/stem.png``, reproducibly."""
    import matplotlib

    out.mkdir(parents=True, exist_ok=True)
    svg, png = out / f"{stem}.svg", out / f"{stem}.png"
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "metakit"}):
        fig.savefig(svg, format="svg", facecolor="white", metadata={"Date": None})
        fig.savefig(png, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return FigureBlock(stem, alt, caption, svg, png)


def fixed_zip(data: bytes) -> bytes:
    """The Office file (XLSX, DOCX) ``data`` with its document dates and zip entry times set to
    :func:`fixed_time` and its entries in name order."""
    when = fixed_time()
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              lambda m: m.group(1) + stamp + m.group(3), body)
            dst.writestr(zipfile.ZipInfo(info.filename, when.timetuple()[:6]), body,
                         compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def save_table(frame, out: Path, stem: str, caption: str) -> TableBlock:
    """Write ``frame`` as ``out/stem.csv`` and ``out/stem.xlsx``, reproducibly."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    csv, xlsx = out / f"{stem}.csv", out / f"{stem}.xlsx"
    frame.to_csv(csv, index=False, lineterminator="\n")
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=stem[:31])
    xlsx.write_bytes(fixed_zip(buf.getvalue()))
    return TableBlock(stem, caption, frame, csv, xlsx)
