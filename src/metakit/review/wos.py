"""Web of Science exports: the plain-text tagged file and the tab-delimited file.

Both use the same two-letter field tags (Clarivate, "Web of Science Core Collection
field tags"): PT AU AF TI SO PY VL IS BP EP AR DI PM UT AB DE DT LA ...

*Tagged* (``FN Clarivate Analytics Web of Science`` / ``VR 1.0`` header, also ``.ciw``):
one field per line, the tag in columns 1-2 and the value from column 4; continuation
lines start with three spaces (a new author, or more words of the title); ``ER`` ends
a record and ``EF`` the file.

*Tab-delimited* ("savedrecs.txt"): a header row of tags, one record per row, a tab
after the last value of every row but not of the header, UTF-8 with BOM or UTF-16;
authors separated by ``"; "``. No quoting: a double quote is text.

The other Web of Science databases (MEDLINE, Zoological Record, BIOSIS, KCI ...) export
the same layout with their own column sets; the accession number (``UT``) prefix names
the database.

Example
-------
>>> from metakit.review.record_fields import Sink
>>> sink = Sink("savedrecs.txt")
>>> parse_wos_tagged("FN Clarivate Analytics Web of Science\\nVR 1.0\\nPT J\\nAU Smith, J\\n"
...                  "   Doe, A\\nTI Aspirin after\\n   stroke\\nPY 2019\\nER\\n\\nEF\\n", sink)
>>> sink.records[0]["authors"], sink.records[0]["title"], sink.records[0]["year"]
(['Smith, J', 'Doe, A'], 'Aspirin after stroke', 2019)
"""

from __future__ import annotations

import csv
import io
import re

from metakit.review.record_fields import (
    Record,
    Sink,
    all_values,
    doi_from,
    first_value,
    join_pages,
    long_csv_fields,
    split_keywords,
    year_from,
)

__all__ = ["parse_wos_tab", "parse_wos_tagged", "wos_database"]

_TAG = re.compile(r"([A-Z][A-Z0-9])(?: (.*))?$")
_HEADER_TAGS = {"FN", "VR", "EF"}
# Fields whose continuation lines are further values, not more words of one value.
_LIST_TAGS = {"AU", "AF", "BA", "BF", "CA", "GP", "BE", "C1", "C3", "CR", "RI", "OI", "EM"}
_UT_DATABASES = {"WOS": "Web of Science", "MEDLINE": "MEDLINE (Web of Science)",
                 "ZOOREC": "Zoological Record (Web of Science)",
                 "BCI": "BIOSIS Previews (Web of Science)", "BIOSIS": "BIOSIS (Web of Science)",
                 "KJD": "KCI (Web of Science)", "SCIELO": "SciELO (Web of Science)",
                 "CCC": "Current Contents (Web of Science)", "DIIDW": "Derwent (Web of Science)",
                 "RSCI": "Russian Science Citation Index (Web of Science)",
                 "CSCD": "Chinese Science Citation Database (Web of Science)",
                 "INSPEC": "Inspec (Web of Science)", "GCI": "Grants Index (Web of Science)",
                 "PQDT": "ProQuest Dissertations (Web of Science)"}


def wos_database(records: list[Record]) -> str:
    """The database the records come from, by the prefix of their accession numbers."""
    for rec in records[:50]:
        key = str(rec.get("source_key") or "")
        if ":" in key:
            return _UT_DATABASES.get(key.split(":", 1)[0].upper(), "Web of Science")
    return "Web of Science"


def parse_wos_tagged(text: str, sink: Sink) -> None:
    """Read a tagged (plain text, ``.ciw``) Web of Science export into ``sink``."""
    raw: dict[str, list[str]] | None = None
    start = 0
    last: str | None = None
    stray = False
    for i, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        if line.startswith("   ") and raw is not None and last is not None:
            value = line.strip()
            if last in _LIST_TAGS:
                raw[last].append(value)
            else:
                raw[last][-1] = f"{raw[last][-1]} {value}"
            continue
        m = _TAG.match(line.rstrip())
        if m is None:
            sink.warn(i, "line is neither a field tag nor a continuation; ignored")
            continue
        tag, value = m.group(1), (m.group(2) or "").strip()
        if raw is None and (tag in _HEADER_TAGS or tag == "ER"):
            continue
        if tag == "PT" or raw is None:
            if raw is not None:
                sink.warn(start, "record has no ER line; read up to the next PT")
                sink.add(_record(raw, sink, start), start)
            if tag != "PT" and not stray:
                # A record is still read (its start was lost, not its fields), but said.
                sink.warn(i, f"{tag} line before any PT line; a record starts here")
                stray = True
            raw, start, last = {}, i, None
        if tag == "ER":
            sink.add(_record(raw, sink, start), start)
            raw, last, stray = None, None, False
            continue
        raw.setdefault(tag, []).append(value)
        last = tag
    if raw is not None:
        sink.warn(start, "record has no ER line; read up to the end of the file")
        sink.add(_record(raw, sink, start), start)


def parse_wos_tab(text: str, sink: Sink) -> None:
    """Read a tab-delimited Web of Science export ("savedrecs.txt") into ``sink``."""
    with long_csv_fields():
        _parse_wos_tab_rows(text, sink)


def _parse_wos_tab_rows(text: str, sink: Sink) -> None:
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        return
    while header and not header[-1]:
        header.pop()
    for i, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header) and not any(c.strip() for c in row[len(header):]):
            row = row[:len(header)]  # the trailing tab of every row
        if len(row) != len(header):
            sink.error(i, f"row has {len(row)} fields, header has {len(header)}")
            continue
        raw: dict[str, list[str]] = {}
        for tag, value in zip(header, row):
            value = value.strip()
            if not value:
                continue
            raw[tag] = [v.strip() for v in value.split(";") if v.strip()] \
                if tag in _LIST_TAGS else [value]
        sink.add(_record(raw, sink, i), i)


def _names(raw: dict[str, list[str]], tag: str) -> list[str]:
    # One name per line, or (older ISI and MEDLINE-on-WoS exports) "A, B; C, D" on one.
    return [n.strip() for v in all_values(raw, tag) for n in v.split(";") if n.strip()]


def _pmid(raw: dict[str, list[str]]) -> str | None:
    pm = first_value(raw, "PM")
    ut = first_value(raw, "UT") or ""
    if pm is None and ut.upper().startswith("MEDLINE:") and ut[8:].strip().isdigit():
        pm = ut[8:].strip()
    return pm


def _record(raw: dict[str, list[str]], sink: Sink, line: int) -> Record:
    year = first_value(raw, "PY") or first_value(raw, "EY", "EA", "PD")
    return {
        "title": first_value(raw, "TI"),
        "authors": _names(raw, "AF") or _names(raw, "AU"),
        "year": year_from(year, sink, line),
        "journal": first_value(raw, "SO", "SE", "BS"),
        "volume": first_value(raw, "VL"),
        "issue": first_value(raw, "IS"),
        "pages": join_pages(first_value(raw, "BP"), first_value(raw, "EP"))
        or first_value(raw, "AR", "PS"),  # PS: page span of older ISI exports
        # Inspec on the Web of Science lists the DOI among other ids in ID
        "doi": doi_from(first_value(raw, "DI"), first_value(raw, "D2"),
                        first_value(raw, "ID") if "INSPEC:" in (first_value(raw, "UT") or "")
                        else None),
        "pmid": _pmid(raw),
        "abstract": first_value(raw, "AB"),
        "keywords": split_keywords([first_value(raw, "DE") or ""]),
        "pub_types": split_keywords([first_value(raw, "DT") or ""]),
        "language": first_value(raw, "LA"),
        "source_key": first_value(raw, "UT"),
        "raw": raw,
    }
