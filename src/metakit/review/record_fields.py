"""The pieces every export reader shares: where a record came from, what went wrong.

A reader walks a file and hands each entry to a :class:`Sink` with the line where it
starts; field helpers turn tagged values into record fields the same way for every
format (first value, all values, year, DOI, pages).
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DOI_RE", "EntryError", "PMID_IN_TEXT", "Record", "Sink", "YEAR_RE", "all_values",
           "central_accession", "doi_from", "first_value", "join_pages", "long_csv_fields",
           "split_keywords", "year_from"]

Record = dict[str, Any]


@dataclass(frozen=True)
class EntryError:
    """An entry that could not be read (skipped) or was read with a repair (warning)."""

    file: str
    line: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Sink:
    """Collects records, errors and warnings while one file is parsed."""

    file: str
    records: list[Record] = field(default_factory=list)
    errors: list[EntryError] = field(default_factory=list)
    warnings: list[EntryError] = field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        self.errors.append(EntryError(self.file, line, message))

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(EntryError(self.file, line, message))

    def add(self, rec: Record, line: int) -> None:
        """Store a record unless it cannot be identified at all."""
        rec = {k: v for k, v in rec.items() if v}  # no empty strings, lists or Nones
        if not (rec.get("title") or rec.get("doi") or rec.get("pmid")):
            self.error(line, "entry has no title, DOI or PMID")
            return
        rec["source_line"] = line
        self.records.append(rec)


YEAR_RE = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
DOI_RE = re.compile(r"10\.\d{4,9}/\S+", re.I)
PMID_IN_TEXT = re.compile(r"(?:PMID|PubMed ID):?\s*(\d{1,9})", re.I)


def year_from(value: str | None, sink: Sink, line: int) -> int | None:
    if not value:
        return None
    m = YEAR_RE.search(value)
    if m is None:
        sink.warn(line, f"year {value!r} not understood; left empty")
        return None
    return int(m.group(1))


# https://www.cochranelibrary.com/central/doi/10.1002/central/CN-01234567/full names a
# CENTRAL record (an accession number), not the article: it is never the DOI.
_CENTRAL = re.compile(r"10\.1002/central/(CN-\d+)", re.I)


def doi_from(*values: str | None) -> str | None:
    """The first article DOI found in the values (as written; dedup normalises it).

    >>> doi_from("https://www.cochranelibrary.com/central/doi/10.1002/central/CN-02028373/full",
    ...          "https://doi.org/10.1186/s13018-018-0760-2")
    '10.1186/s13018-018-0760-2'
    """
    for v in values:
        if v:
            for m in DOI_RE.finditer(v):
                if not _CENTRAL.match(m.group(0)):
                    return m.group(0).rstrip(".,;]")
    return None


def central_accession(*values: str | None) -> str | None:
    """The Cochrane CENTRAL accession number in a CENTRAL address, e.g. ``CN-02028373``."""
    for v in values:
        if v and (m := _CENTRAL.search(v)):
            return m.group(1).upper()
    return None


def join_pages(start: str | None, end: str | None) -> str | None:
    start, end = (start or "").strip(), (end or "").strip()
    if start and end and end != start:
        return f"{start}-{end}"
    return start or end or None


def first_value(d: Mapping[str, list[str]], *tags: str) -> str | None:
    for t in tags:
        vals = d.get(t)
        if vals:
            text = vals[0].strip() if len(vals) == 1 else " ".join(vals).strip()
            if text:
                return text
    return None


def all_values(d: Mapping[str, list[str]], *tags: str) -> list[str]:
    out: list[str] = []
    for t in tags:
        vals = d.get(t)
        if vals:
            out.extend(s for v in vals if (s := v.strip()))
    return out


def split_keywords(values: list[str]) -> list[str]:
    out = []
    for v in values:
        out.extend(p.strip() for p in re.split(r";", v) if p.strip())
    return out


@contextlib.contextmanager
def long_csv_fields() -> Iterator[None]:
    """Lift the csv module's 131,072-character field limit while one file is read.

    Abstracts and cited-reference lists in Scopus, Embase and Web of Science exports
    exceed it. The limit is process-wide, so it is put back afterwards.
    """
    limit = csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(limit)
