"""The numbers in a PRISMA 2020 flow diagram, checked against each other.

Page MJ, McKenzie JE, Bossuyt PM, et al. The PRISMA 2020 statement: an updated
guideline for reporting systematic reviews. *BMJ* 2021;372:n71 (figure 1, the flow
diagram for new reviews with searches of databases, registers and other sources).

Counts come from the review store
(:func:`metakit.review.screening.prisma_counts_from_store`), from YAML for a
review screened elsewhere (:meth:`PrismaCounts.from_yaml`), or by hand. A count that a
published review does not report may be ``None`` ("not reported"); the checks that
involve it are then skipped and the diagram prints "NR".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import yaml

from metakit.errors import DataError

__all__ = ["PrismaCounts"]

Count = int | None

_SCALARS = (
    "duplicates_removed", "removed_by_automation", "removed_other",
    "records_screened", "records_excluded", "reports_sought", "reports_not_retrieved",
    "reports_assessed", "other_reports_sought", "other_reports_not_retrieved",
    "other_reports_assessed", "studies_included", "reports_included",
)
_MAPPINGS = ("databases", "registers", "reports_excluded", "other_sources",
             "other_reports_excluded")


def _total(mapping: Mapping[str, Count] | None) -> Count:
    if mapping is None:
        return None
    values = list(mapping.values())
    if any(v is None for v in values):
        return None
    return sum(values)  # type: ignore[arg-type]


def _check_count(value: Any, box: str) -> Count:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise DataError(f"count must be a whole number or null, got {value!r}",
                            column=box)
    if value < 0:
        raise DataError(f"count must be >= 0, got {value}", column=box)
    return value


@dataclass(frozen=True)
class PrismaCounts:
    """Box counts of a PRISMA 2020 flow diagram.

    Attributes
    ----------
    databases, registers
        Records identified, per database and per register (name -> n).
    duplicates_removed, removed_by_automation, removed_other
        Records removed before screening.
    records_screened, records_excluded
        Title/abstract screening.
    reports_sought, reports_not_retrieved, reports_assessed
        Full-text retrieval and eligibility (databases and registers).
    reports_excluded
        Reports excluded at full text, per reason (reason -> n); None if not reported.
    other_sources, other_reports_sought, other_reports_not_retrieved,
    other_reports_assessed, other_reports_excluded
        The "identification of studies via other methods" column (websites,
        organisations, citation searching, ...); empty when not used.
    studies_included, reports_included
        Studies included in the review and reports of included studies.

    Raises
    ------
    DataError
        Naming the box whose count contradicts the others, e.g. records screened that
        are not records identified less those removed before screening.

    Examples
    --------
    >>> c = PrismaCounts(databases={"MEDLINE": 60, "Embase": 40}, duplicates_removed=20,
    ...                  records_screened=80, records_excluded=70, reports_sought=10,
    ...                  reports_not_retrieved=1, reports_assessed=9,
    ...                  reports_excluded={"wrong design": 4}, studies_included=4,
    ...                  reports_included=5)
    >>> c.records_identified
    100
    """

    databases: Mapping[str, Count] = field(default_factory=dict)
    registers: Mapping[str, Count] = field(default_factory=dict)
    duplicates_removed: Count = 0
    removed_by_automation: Count = 0
    removed_other: Count = 0
    records_screened: Count = 0
    records_excluded: Count = 0
    reports_sought: Count = 0
    reports_not_retrieved: Count = 0
    reports_assessed: Count = 0
    reports_excluded: Mapping[str, Count] = field(default_factory=dict)
    other_sources: Mapping[str, Count] = field(default_factory=dict)
    other_reports_sought: Count = 0
    other_reports_not_retrieved: Count = 0
    other_reports_assessed: Count = 0
    other_reports_excluded: Mapping[str, Count] = field(default_factory=dict)
    studies_included: Count = 0
    reports_included: Count = 0

    def __post_init__(self) -> None:
        for name in _SCALARS:
            object.__setattr__(self, name, _check_count(getattr(self, name), name))
        for name in _MAPPINGS:
            raw = getattr(self, name)
            if raw is None:
                # a list of reasons that the review does not report
                continue
            if not isinstance(raw, Mapping):
                raise DataError("must be a mapping of name to count", column=name)
            clean = {str(k): _check_count(v, f"{name}[{k}]") for k, v in raw.items()}
            object.__setattr__(self, name, MappingProxyType(clean))
        if not self.databases and not self.registers:
            raise DataError("at least one database or register must be named",
                            column="databases")
        self._validate()

    # derived totals --------------------------------------------------------------
    @property
    def records_identified(self) -> Count:
        """Records identified from databases and registers together."""
        a, b = _total(self.databases), _total(self.registers)
        return None if a is None or b is None else a + b

    @property
    def removed_before_screening(self) -> Count:
        """Duplicates + automation + other reasons."""
        parts = (self.duplicates_removed, self.removed_by_automation, self.removed_other)
        return None if any(p is None for p in parts) else sum(parts)  # type: ignore[misc]

    @property
    def uses_other_methods(self) -> bool:
        """Whether the "other methods" column is drawn."""
        return bool(self.other_sources)

    def _validate(self) -> None:
        def need(ok: bool, box: str, rule: str) -> None:
            if not ok:
                raise DataError(rule, column=box)

        def known(*values: Count) -> bool:
            return all(v is not None for v in values)

        ident, removed = self.records_identified, self.removed_before_screening
        if known(ident, removed, self.records_screened):
            need(self.records_screened == ident - removed, "records_screened",
                 f"records screened ({self.records_screened}) must equal records "
                 f"identified ({ident}) less records removed before screening ({removed})")
        if known(self.records_screened, self.records_excluded):
            need(self.records_excluded <= self.records_screened, "records_excluded",
                 f"records excluded ({self.records_excluded}) exceed records screened "
                 f"({self.records_screened})")
        if known(self.records_screened, self.records_excluded, self.reports_sought):
            left = self.records_screened - self.records_excluded
            need(self.reports_sought == left, "reports_sought",
                 f"reports sought ({self.reports_sought}) must equal records screened "
                 f"less records excluded ({left})")
        for prefix in ("", "other_"):
            sought = getattr(self, prefix + "reports_sought")
            missing = getattr(self, prefix + "reports_not_retrieved")
            assessed = getattr(self, prefix + "reports_assessed")
            excluded = _total(getattr(self, prefix + "reports_excluded"))
            if known(sought, missing):
                need(missing <= sought, prefix + "reports_not_retrieved",
                     f"reports not retrieved ({missing}) exceed reports sought ({sought})")
            if known(sought, missing, assessed):
                need(assessed == sought - missing, prefix + "reports_assessed",
                     f"reports assessed ({assessed}) must equal reports sought less "
                     f"reports not retrieved ({sought - missing})")
            if known(assessed, excluded):
                need(excluded <= assessed, prefix + "reports_excluded",
                     f"reports excluded ({excluded}) exceed reports assessed ({assessed})")
        parts = (self.reports_assessed, _total(self.reports_excluded),
                 self.other_reports_assessed, _total(self.other_reports_excluded))
        if known(self.reports_included, *parts):
            eligible = parts[0] - parts[1] + parts[2] - parts[3]
            need(self.reports_included == eligible, "reports_included",
                 f"reports of included studies ({self.reports_included}) must equal "
                 f"reports assessed less reports excluded ({eligible})")
        if known(self.studies_included, self.reports_included):
            need(self.studies_included <= self.reports_included, "studies_included",
                 f"studies included ({self.studies_included}) exceed reports of "
                 f"included studies ({self.reports_included})")

    # constructors -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrismaCounts:
        """Counts from a mapping with the attribute names as keys (unknown keys refused)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise DataError(f"unknown PRISMA box(es) {unknown}; known: {sorted(names)}",
                            column=unknown[0])
        return cls(**dict(data))

    @classmethod
    def from_yaml(cls, source: str | Path) -> PrismaCounts:
        """Counts from a YAML file (or YAML text) whose keys are the attribute names.

        Examples
        --------
        >>> PrismaCounts.from_yaml('''
        ... databases: {MEDLINE: 10}
        ... records_screened: 10
        ... records_excluded: 10
        ... reports_sought: 0
        ... ''').records_excluded
        10
        """
        text = str(source)
        if "\n" not in text and Path(text).exists():
            text = Path(text).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if not isinstance(data, Mapping):
            raise DataError("PRISMA YAML must be a mapping of box name to count")
        return cls.from_dict(data)

    # views --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (mappings as dicts), the inverse of :meth:`from_dict`."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = (dict(value) if f.name in _MAPPINGS and value is not None
                           else value)
        return out

    def to_yaml(self) -> str:
        """YAML text readable by :meth:`from_yaml`."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def to_frame(self) -> pd.DataFrame:
        """One row per box line: box, item, n."""
        rows = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _MAPPINGS and value is not None:
                rows.extend({"box": f.name, "item": k, "n": v} for k, v in value.items())
            else:
                rows.append({"box": f.name, "item": "", "n": value})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """The flow in a few lines of text."""
        def n(v: Count) -> str:
            return "NR" if v is None else f"{v:,}"

        lines = [f"Records identified: {n(self.records_identified)}"]
        lines += [f"  {k}: {n(v)}" for k, v in {**self.databases, **self.registers}.items()]
        lines += [
            f"Removed before screening: {n(self.removed_before_screening)} "
            f"(duplicates {n(self.duplicates_removed)}, automation "
            f"{n(self.removed_by_automation)}, other {n(self.removed_other)})",
            f"Records screened: {n(self.records_screened)}; excluded: "
            f"{n(self.records_excluded)}",
            f"Reports sought: {n(self.reports_sought)}; not retrieved: "
            f"{n(self.reports_not_retrieved)}; assessed: {n(self.reports_assessed)}",
        ]
        lines += [f"  excluded, {k}: {n(v)}"
                  for k, v in (self.reports_excluded or {}).items()]
        lines.append(f"Studies included: {n(self.studies_included)}; reports: "
                     f"{n(self.reports_included)}")
        return "\n".join(lines)
