"""Ovid exports (MEDLINE, Embase, PsycINFO ... on Ovid): the tagged "Citavi"/"EndNote" file.

Each record opens with its number in angle brackets (``<1. >``, ``<3001. >``), then one
field per line as ``XX  - value`` (two-letter tag, two spaces, dash). A value goes on
over following lines that carry no tag: indented lines (a further address) and, in
abstracts, unindented paragraphs ("Method(s): ..."). Ovid's "EndNote" download
(``.cgi``) and its "Citavi" download (``.ovd``) both write this layout.

Ovid's other text layout, the *labelled* display/export ("Fields: complete reference"
as plain text), writes each field name on its own line ("Accession Number", "Author",
"Title", "Source", "DOI Number" ...) and its value indented below; authors are one
"; "-separated line with affiliation marks ("Verbeek, Jan MD *"). Both layouts start
records with ``<N>`` and are told apart by the tags.

Ovid's tags are not RIS tags: ``UI`` is the database's accession number (the PMID in
Ovid MEDLINE), ``IS`` the ISSN, ``IP`` the issue, ``VO``/``VI`` the volume, ``YR`` the
year, ``DO`` the DOI and ``SO`` the whole citation ("Journal. 12 (3) (pp 45-67), 2018.").
Fields missing as tags are read from ``SO``.

Example
-------
>>> from metakit.review.record_fields import Sink
>>> sink = Sink("embase.cgi")
>>> parse_ovid("<1. >\\nDB  - Embase\\nUI  - 621381829\\nTI  - Aspirin after stroke.\\n"
...            "SO  - Stroke. 49 (3) (pp 45-52), 2018. Date of Publication: 2018.\\n", sink)
>>> r = sink.records[0]
>>> r["journal"], r["volume"], r["issue"], r["pages"], r["year"], r["source_key"]
('Stroke', '49', '3', '45-52', 2018, '621381829')
"""

from __future__ import annotations

import re

from metakit.review.record_fields import (
    Record,
    Sink,
    all_values,
    doi_from,
    first_value,
    split_keywords,
    year_from,
)

__all__ = ["OVID_RECORD", "parse_ovid"]

#: The line that opens an Ovid record.
OVID_RECORD = re.compile(r"^<\s*(\d+)\s*\.?\s*>\s*$")
_TAG = re.compile(r"^([A-Z][A-Z0-9]) {2}- ?(.*)$")
_TAGGED = re.compile(r"^[A-Z][A-Z0-9] {2}- ", re.M)
# Fields whose further lines are further values (one address or author per line).
_LIST_TAGS = {"AU", "IN", "AD", "MH", "OD", "KW", "PT", "AI", "CR"}
# "Journal. 12 (Supplement 3) (pp 45-67), 2018." / "Journal. 12 (3) (no pagination), 2018."
_SOURCE = re.compile(r"^(?P<journal>.+?)\.\s+(?P<volume>[\w-]+)\s*(?:\((?P<issue>[^)]*)\))?\s*"
                     r"(?:\((?P<pages>[^)]*)\))?\s*,\s*(?P<year>(?:1[89]|20)\d\d)")


def parse_ovid(text: str, sink: Sink) -> None:
    """Read an Ovid export (tagged or labelled) into ``sink``."""
    if not _TAGGED.search(text[:20000]):
        _parse_labelled(text, sink)
        return
    raw: dict[str, list[str]] | None = None
    start = 0
    last: str | None = None
    stray = False
    for i, line in enumerate(text.split("\n"), start=1):
        if OVID_RECORD.match(line):
            if raw is not None:
                sink.add(_record(raw, sink, start), start)
            raw, start, last = {}, i, None
            continue
        if not line.strip():
            continue
        m = _TAG.match(line)
        if raw is None:
            if not stray:
                stray = True
                sink.warn(i, "text before the first <N> record line; ignored")
            continue
        if m is not None:
            last = m.group(1)
            raw.setdefault(last, []).append(m.group(2).strip())
        elif last is not None:
            values = raw[last]
            if last in _LIST_TAGS and line.startswith(" "):
                values.append(line.strip())
            else:
                values[-1] = f"{values[-1]} {line.strip()}".strip()
        else:
            sink.warn(i, "line before the first field of the record; ignored")
    if raw is not None:
        sink.add(_record(raw, sink, start), start)


def _pmid(raw: dict[str, list[str]]) -> str | None:
    pm = first_value(raw, "PM")
    if pm and pm.isdigit():
        return pm
    db = (first_value(raw, "DB") or "").lower()
    ui = first_value(raw, "UI")
    if ui and ui.isdigit() and ("medline" in db or "pubmed" in db):
        return ui
    return None


def _record(raw: dict[str, list[str]], sink: Sink, line: int) -> Record:
    so = first_value(raw, "SO") or ""
    cite = _SOURCE.match(so)
    part = (lambda k: (cite.group(k) or "").strip() or None) if cite else (lambda k: None)
    journal = first_value(raw, "JN", "JT", "JA", "TA") or part("journal")
    if journal and ". Conference:" in journal:  # Embase: "BMC Proceedings. Conference: ..."
        journal = journal.split(". Conference:", 1)[0]
    pages = first_value(raw, "PG") or part("pages")
    if pages:
        pages = re.sub(r"^pp?\.?\s*", "", pages)
        if "pagination" in pages.lower():
            pages = None
    title = first_value(raw, "TI", "OT")
    if title and title.endswith(".") and not title.endswith(".."):
        title = title[:-1]
    return {
        "title": title,
        "authors": all_values(raw, "AU", "AI"),
        "year": year_from(first_value(raw, "YR", "YE", "PY", "DP") or part("year") or so,
                          sink, line),
        "journal": journal,
        "volume": first_value(raw, "VO", "VI", "VL") or part("volume"),
        "issue": first_value(raw, "IP") or part("issue"),
        "pages": pages,
        "doi": doi_from(first_value(raw, "DO", "DI"), *all_values(raw, "XL", "UR")),
        "pmid": _pmid(raw),
        "abstract": first_value(raw, "AB"),
        "keywords": split_keywords(all_values(raw, "KW")) or all_values(raw, "MH"),
        "pub_types": all_values(raw, "PT"),
        "language": first_value(raw, "LG", "LA"),
        "source_key": first_value(raw, "UI", "AN"),
        "raw": raw,
    }


# ----------------------------------------------------------------- labelled layout
# "Journal. 12(3):45-67, 2019 Mar." (Ovid MEDLINE and Journals@Ovid sources)
_SOURCE_COMPACT = re.compile(r"^(?P<journal>.+?)\.\s+(?P<volume>[\w-]+)\((?P<issue>[^)]*)\)"
                             r":(?P<pages>[^,]+),\s*(?P<year>(?:1[89]|20)\d\d)")
# Trailing affiliation marks and degrees after a name: "Verbeek, Jan MD *", "Mathes, Tim 2"
_NAME_MARKS = re.compile(r"(?:[\s,]+(?:\d+|[*+#\u2020\u2021\u00a7]+|MD|PhD|MSc|MPH|BSc|RN|DPhil|"
                         r"FRCS|MBBS|DrPH|PharmD|MA|BA|MS|DO))+$")
_BRACKET_TYPE = re.compile(r"\.?\s*\[[A-Za-z ,-]+\]\s*$")  # "...trial.[Article]"


def _parse_labelled(text: str, sink: Sink) -> None:
    raw: dict[str, list[str]] | None = None
    start = 0
    label: str | None = None
    stray = False
    for i, line in enumerate(text.split("\n"), start=1):
        if OVID_RECORD.match(line):
            if raw is not None:
                sink.add(_labelled_record(raw, sink, start), start)
            raw, start, label = {}, i, None
            continue
        if not line.strip():
            continue
        if raw is None:
            if not stray:
                stray = True
                sink.warn(i, "text before the first <N> record line; ignored")
            continue
        if line[:1].isspace():
            if label is None:
                sink.warn(i, "value before the first field name of the record; ignored")
            else:
                raw[label].append(line.strip())
        else:
            label = line.strip()
            raw.setdefault(label, [])
    if raw is not None:
        sink.add(_labelled_record(raw, sink, start), start)


def _authors(values: list[str]) -> list[str]:
    names = [n.strip() for v in values for n in v.split(";")]
    return [_NAME_MARKS.sub("", n).strip(" ,") for n in names if n.strip()]


def _labelled_record(raw: dict[str, list[str]], sink: Sink, line: int) -> Record:
    def one(*labels: str) -> str | None:
        v = first_value(raw, *labels)
        return v.rstrip(". ").strip() or None if v else None

    so = one("Source") or ""
    cite = _SOURCE_COMPACT.match(so + ".") or _SOURCE.match(so + ".")
    part = (lambda k: (cite.group(k) or "").strip() or None) if cite else (lambda k: None)
    title = first_value(raw, "Title")
    if title:
        title = _BRACKET_TYPE.sub("", title).strip()
    db = (one("Database") or "").lower()
    ui = one("Unique Identifier", "PubMed Identifier", "PMID")
    pmid = ui if ui and ui.isdigit() and ("medline" in db or "pubmed" in db
                                         or "Unique Identifier" not in raw) else None
    types = [t.strip() for v in all_values(raw, "Document Type", "Publication Type")
             for t in re.split(r"[:;]\s+", v.rstrip(".")) if t.strip()]
    year = one("Year of Publication", "Publication Year", "Date of Publication")
    return {
        "title": title,
        "authors": _authors(all_values(raw, "Author", "Authors")),
        "year": year_from(year or part("year") or one("Status") or so, sink, line),
        "journal": part("journal") or (so.rstrip(". ") or None),
        "volume": one("Volume") or part("volume"),
        "issue": one("Issue", "Issue/Part") or part("issue"),
        "pages": one("Page", "Pages") or part("pages"),
        "doi": doi_from(one("DOI Number", "Digital Object Identifier", "DOI")),
        "pmid": pmid,
        "abstract": first_value(raw, "Abstract"),
        "keywords": [k.strip() for v in all_values(raw, "Author Keywords", "Keywords",
                                                   "Keyword Heading Word")
                     for k in v.rstrip(".").split(";") if k.strip()],
        "pub_types": types,
        "language": one("Language"),
        "source_key": one("Accession Number", "Unique Identifier"),
        "raw": raw,
    }
