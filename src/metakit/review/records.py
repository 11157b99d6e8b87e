"""Reading search exports: RIS, PubMed MEDLINE (.nbib), BibTeX, CSV, EndNote XML, Web of
Science (tagged and tab-delimited, :mod:`metakit.review.wos`) and Ovid
(:mod:`metakit.review.ovid`). The format is told by the content, not the extension.

Every reader turns a file into plain record dicts with the fields of
:data:`metakit.review.store.RECORD_FIELDS`, the line where the entry starts
(``source_line``), the database's own id (``source_key``) and every original field
(``raw``). An entry that cannot be read is reported with its file, line and the reason,
and the rest of the file is still read; nothing is dropped silently.

Bytes are decoded by BOM (UTF-8, UTF-16, UTF-32), then strict UTF-8, then Windows-1252
(which covers the Latin-1 exports of older tools); any line ending is accepted.

Example
-------
>>> import tempfile, pathlib
>>> ris = "TY  - JOUR\\nTI  - Aspirin after stroke\\nAU  - Smith, J\\nPY  - 2019\\nER  - \\n"
>>> with tempfile.TemporaryDirectory() as d:
...     f = pathlib.Path(d) / "scopus.ris"
...     _ = f.write_text(ris)
...     parsed = read_records(f, source="Scopus")
>>> parsed.records[0]["title"], parsed.records[0]["year"], parsed.errors
('Aspirin after stroke', 2019, ())
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metakit.errors import DataError
from metakit.review.ovid import OVID_RECORD, parse_ovid
from metakit.review.record_fields import (
    DOI_RE,
    PMID_IN_TEXT,
    EntryError,
    Record,
    Sink,
    all_values,
    central_accession,
    doi_from,
    first_value,
    join_pages,
    long_csv_fields,
    split_keywords,
    year_from,
)
from metakit.review.wos import parse_wos_tab, parse_wos_tagged, wos_database

__all__ = [
    "EntryError",
    "FORMATS",
    "ImportReport",
    "ParsedFile",
    "decode_bytes",
    "detect_format",
    "read_records",
]

#: Formats :func:`read_records` understands.
FORMATS = ("ris", "medline", "bibtex", "csv", "endnote_xml", "wos", "wos_tab", "ovid")



# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ImportReport:
    """What one import did.

    Attributes
    ----------
    file, source, format, encoding
        The file read, the database it came from, how it was parsed and decoded.
    import_id
        Row id in the project's ``imports`` table (None when only parsed).
    n_imported
        Records stored.
    errors
        Entries skipped, each with file, line and reason.
    warnings
        Entries stored after a repair (for example a missing ``ER`` tag), or fields
        left empty because they could not be read.
    """

    file: str
    source: str
    format: str
    encoding: str
    import_id: int | None
    n_imported: int
    errors: tuple[EntryError, ...] = ()
    warnings: tuple[EntryError, ...] = ()

    def summary(self) -> str:
        lines = [f"{self.n_imported} records imported from {self.file} "
                 f"({self.source}, {self.format}, {self.encoding})"]
        if self.errors:
            lines.append(f"{len(self.errors)} {'entry' if len(self.errors) == 1 else 'entries'}"
                         " skipped:")
            lines.extend(f"  {e}" for e in self.errors)
        if self.warnings:
            lines.append(f"{len(self.warnings)} warning{'' if len(self.warnings) == 1 else 's'}:")
            lines.extend(f"  {w}" for w in self.warnings)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "source": self.source, "format": self.format,
                "encoding": self.encoding, "import_id": self.import_id,
                "n_imported": self.n_imported,
                "errors": [e.to_dict() for e in self.errors],
                "warnings": [w.to_dict() for w in self.warnings]}

    def to_frame(self):
        """Errors and warnings as a frame (columns level, file, line, message)."""
        import pandas as pd

        rows = [{"level": "error", **e.to_dict()} for e in self.errors]
        rows += [{"level": "warning", **w.to_dict()} for w in self.warnings]
        return pd.DataFrame(rows, columns=["level", "file", "line", "message"])


@dataclass(frozen=True)
class ParsedFile:
    """A parsed file, before it is stored."""

    file: str
    source: str
    format: str
    encoding: str
    records: tuple[Record, ...]
    errors: tuple[EntryError, ...] = ()
    warnings: tuple[EntryError, ...] = ()

    def report(self, import_id: int | None = None) -> ImportReport:
        return ImportReport(self.file, self.source, self.format, self.encoding, import_id,
                            len(self.records), self.errors, self.warnings)


# -------------------------------------------------------------------------- decoding
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


_HIGH_RUN = re.compile(rb"[\x80-\xff]{2,}")
_HIGH = re.compile(rb"[\x80-\xff]")


def _decode_legacy(data: bytes) -> tuple[str, str]:
    """Not UTF-8: GB18030 (older CNKI exports) or Windows-1252 / Latin-1.

    Chinese text in GBK comes as pairs of high bytes; European accents in Latin-1 are
    single high bytes between ASCII letters. When nearly all high bytes come in runs
    and the bytes are valid GB18030, it is GB18030.
    """
    high = len(_HIGH.findall(data))
    in_runs = sum(len(m) for m in _HIGH_RUN.findall(data))
    if high and in_runs >= 0.9 * high:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            pass
        else:
            if any("\u4e00" <= ch <= "\u9fff" for ch in text):
                return text, "gb18030"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # five bytes undefined in cp1252
        return data.decode("latin-1"), "latin-1"


def decode_bytes(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode an export to text with ``\\n`` line endings; return ``(text, encoding)``.

    BOM first; then strict UTF-8; then GB18030 when the bytes look like Chinese
    double-byte text; then Windows-1252 (Latin-1 for its five undefined bytes).

    Examples
    --------
    >>> decode_bytes("Müller".encode("latin-1"))
    ('Müller', 'cp1252')
    >>> decode_bytes(codecs.BOM_UTF8 + b"TY  - JOUR\\r\\n")
    ('TY  - JOUR\\n', 'utf-8-sig')
    """
    if encoding is None:
        for bom, name in _BOMS:
            if data.startswith(bom):
                encoding = name
                break
    if encoding is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = _decode_legacy(data)
    else:
        text = data.decode(encoding)
    text = text.lstrip("\ufeff")  # a BOM left by a forced encoding or a double BOM
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return unicodedata.normalize("NFC", text), encoding


def detect_format(path: str | Path, text: str) -> str:
    """Tell the format by the content (first line, first tags), then by the extension.

    A ``.txt`` can be Web of Science tagged or tab-delimited, MEDLINE, RIS or Ovid.
    """
    head = text.lstrip("\ufeff \n\t")[:4000]
    first = head.split("\n", 1)[0].rstrip()
    if re.match(r"(FN |VR \d|PT [A-Z]{1,2}$)", first):
        return "wos"
    cells = first.split("\t")
    if first.startswith("PT\t") or (len(cells) >= 10 and all(
            re.fullmatch(r"[A-Z][A-Z0-9]", c) for c in cells if c)):
        return "wos_tab"
    if OVID_RECORD.match(first) and (re.search(r"^[A-Z][A-Z0-9] {2}- ", head, re.M)
                                     or re.search(r"^[A-Z][\w /]+\n {1,2}\S", head, re.M)):
        return "ovid"  # tagged ("TI  - ") or labelled ("Title" / "  value")
    if re.search(r"^TY {2}-", head, re.M):
        return "ris"
    if re.search(r"^PMID- ?\d", head, re.M):
        return "medline"
    if re.search(r"<records>|<record>", head) and head.startswith("<"):
        return "endnote_xml"
    if re.search(r"^\s*@\w+\s*[{(]", head, re.M):
        return "bibtex"
    ext = Path(path).suffix.lower()
    by_ext = {".ris": "ris", ".nbib": "medline", ".medline": "medline", ".bib": "bibtex",
              ".csv": "csv", ".tsv": "csv", ".xml": "endnote_xml", ".ciw": "wos"}
    if ext in by_ext:
        return by_ext[ext]
    raise DataError(f"cannot tell the format of {path}; pass format= one of {FORMATS}",
                    column="format")


def read_records(path: str | Path, *, source: str | None = None, format: str | None = None,
                 encoding: str | None = None,
                 mapping: Mapping[str, str] | None = None) -> ParsedFile:
    """Read a search export.

    Parameters
    ----------
    path
        The file.
    source
        The database it came from ("Embase", "PubMed" ...). When None: the ``DB`` tag of
        a RIS export, "PubMed" for MEDLINE files, else the file name without extension.
    format
        One of :data:`FORMATS`; guessed from the content and extension when None.
    encoding
        Force a text encoding (otherwise: BOM, UTF-8, Windows-1252).
    mapping
        CSV only: ``{field: column}`` for columns the built-in names do not cover
        (fields: title, authors, year, journal, volume, issue, pages, start_page,
        end_page, doi, pmid, abstract, keywords, pub_types, language, source_key).

    Returns
    -------
    ParsedFile
        The records (dicts) and the entries that were skipped, each with its line.
    """
    path = Path(path)
    try:
        text, used = decode_bytes(path.read_bytes(), encoding)
    except UnicodeDecodeError as err:  # a byte-order mark or --encoding promised otherwise
        raise DataError(f"{path.name} is not valid {err.encoding} text: byte {err.start} "
                        f"({err.object[err.start:err.start + 1]!r}) cannot be decoded; "
                        f"re-export the file or pass --encoding") from None
    fmt = format or detect_format(path, text)
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; use one of {FORMATS}", column="format")
    sink = Sink(str(path))
    if fmt == "csv":
        _parse_csv(text, sink, mapping or {})
    else:
        _PARSERS[fmt](text, sink)
    if source is None:
        source = _guess_source(fmt, sink.records) or path.stem
    return ParsedFile(str(path), source, fmt, used, tuple(sink.records), tuple(sink.errors),
                      tuple(sink.warnings))


def _guess_source(fmt: str, records: list[Record]) -> str | None:
    if fmt == "medline":
        return "PubMed"
    if fmt in ("wos", "wos_tab"):
        return wos_database(records)
    if fmt == "ovid":
        for rec in records[:50]:
            db = rec.get("raw", {}).get("DB") or rec.get("raw", {}).get("Database")
            if db:
                return str(db[0]).strip()
        return "Ovid"
    for rec in records[:50]:
        raw = rec.get("raw", {})
        db = raw.get("DB") or raw.get("DP")
        if db:
            return str(db[0] if isinstance(db, list) else db).strip()
        if fmt == "csv" and "Lens ID" in raw:
            return "Lens"
        if fmt == "csv" and str(raw.get("EID", "")).startswith("2-s2.0-"):
            return "Scopus"
        an = raw.get("AN") or raw.get("UT")  # RIS; a WoS export saved as CSV
        if an and str(an[0] if isinstance(an, list) else an).startswith("WOS:"):
            return "Web of Science"
    return None


# ------------------------------------------------------------------------------ RIS
_RIS_TAG = re.compile(r"([A-Z][A-Z0-9]) {2}-(?: |$)")


def _parse_ris(text: str, sink: Sink) -> None:
    # RIS is read line by line here rather than with rispy's parser: rispy gives no line
    # numbers, and calling it once per entry (to keep them) doubled the import time.
    # Its rules are followed: a tag is two characters, two spaces, a dash; untagged
    # lines continue the previous field; TY starts and ER ends an entry.
    raw: dict[str, list[str]] | None = None
    start = 0
    last: str | None = None
    stray = False
    for i, line in enumerate(text.split("\n"), start=1):
        m = _RIS_TAG.match(line)
        if m is None:
            if raw is None:
                # Untagged text between entries holds no record: a warning, so that
                # "records could not be read" counts records, not lines.
                if line.strip() and not stray:
                    stray = True
                    sink.warn(i, "text outside any RIS entry (no TY line before it); ignored")
            elif last is not None and line.strip():
                vals = raw[last]
                vals[-1] = f"{vals[-1]} {line.strip()}" if vals[-1] else line.strip()
            continue
        tag = m.group(1)
        if tag == "TY":
            if raw is not None:
                sink.warn(start, "entry has no ER line; read up to the next TY")
                sink.add(_ris_record(raw, sink, start), start)
            raw, start, last, stray = {"TY": [line[6:].strip()]}, i, "TY", False
        elif raw is None:
            if not stray:
                stray = True
                sink.error(i, f"{tag} line outside any RIS entry (no TY line before it)")
        elif tag == "ER":
            sink.add(_ris_record(raw, sink, start), start)
            raw, last = None, None
        else:
            raw.setdefault(tag, []).append(line[6:].strip())
            last = tag
    if raw is not None:
        sink.warn(start, "entry has no ER line; read up to the end of the file")
        sink.add(_ris_record(raw, sink, start), start)


def _ris_record(raw: dict[str, list[str]], sink: Sink, line: int) -> Record:
    pmid = first_value(raw, "PM")
    if pmid is None and ("C2" in raw or "N1" in raw or "M2" in raw or "U1" in raw):
        for v in all_values(raw, "C2", "N1", "M2", "AN", "U1"):
            m = PMID_IN_TEXT.search(v)
            if m:
                pmid = m.group(1)
                break
    db = (first_value(raw, "DB", "DP") or "").lower()
    an = first_value(raw, "AN")
    if pmid is None and an and an.isdigit() and ("pubmed" in db or "medline" in db):
        pmid = an
    c2 = first_value(raw, "C2")
    if pmid is None and c2 and c2.isdigit():  # Scopus puts the bare PMID in C2
        pmid = c2
    sp, ep = first_value(raw, "SP"), first_value(raw, "EP")
    authors = all_values(raw, "AU", "A1")
    if not authors:
        authors = all_values(raw, "A2", "A3", "A4")
    return {
        "title": first_value(raw, "TI", "T1", "CT", "BT"),
        "authors": authors,
        "year": year_from(first_value(raw, "PY", "Y1", "DA"), sink, line),
        "journal": first_value(raw, "JF", "T2", "JO", "JA", "J2"),
        "volume": first_value(raw, "VL"),
        "issue": first_value(raw, "IS"),
        "pages": join_pages(sp, ep) or first_value(raw, "C7"),  # C7: article number (WoS)
        "doi": doi_from(first_value(raw, "DO"), first_value(raw, "DI"), *all_values(raw, "UR", "L3", "M3", "N1")),
        "pmid": pmid,
        "abstract": first_value(raw, "AB", "N2"),
        "keywords": split_keywords(all_values(raw, "KW")),
        "pub_types": [v for v in all_values(raw, "M3", "PT") if not DOI_RE.search(v)],
        "language": first_value(raw, "LA"),
        "source_key": first_value(raw, "AN", "U2", "ID")
        or central_accession(*all_values(raw, "UR", "L2", "DO")),
        "raw": raw,
    }


# -------------------------------------------------------------------------- MEDLINE


def _parse_medline(text: str, sink: Sink) -> None:
    raw: dict[str, list[str]] = {}
    start = 0
    last: str | None = None
    broken: str | None = None
    stray: int | None = None

    def flush() -> None:
        if broken:
            sink.error(start, broken)
        else:
            sink.add(_medline_record(raw, sink, start), start)

    for i, line in enumerate(text.split("\n"), start=1):
        # Tags fill four columns, then "- ": checked by slicing, not a regex (hot loop).
        if line[4:6] == "- " and line[:1].isalpha():
            tag, value = line[:4].rstrip(), line[6:].strip()
        elif line.startswith("      "):
            if raw and last is not None:
                raw[last][-1] += " " + line.strip()
            continue
        elif not line.strip():
            continue
        else:
            tag = value = None
        if tag == "PMID":
            if raw or broken:
                flush()
            raw, start, last, broken, stray = {"PMID": [value]}, i, "PMID", None, None
        elif not raw and broken is None:
            if stray is None:
                stray = i
                if tag is None:
                    sink.warn(i, "text outside any MEDLINE record (no PMID- line before it); "
                                 "ignored")
                else:
                    sink.error(i, "fields outside any MEDLINE record (no PMID- line before "
                                  "them)")
        elif tag is not None:
            last = tag
            raw.setdefault(tag, []).append(value)
        else:  # junk inside a good record: the record is kept
            sink.warn(i, "line is neither a tag nor a continuation; ignored")
    if raw or broken:
        flush()


def _medline_record(raw: dict[str, list[str]], sink: Sink, line: int) -> Record:
    doi = None
    for v in all_values(raw, "LID", "AID"):
        if v.endswith("[doi]"):
            doi = v[:-5].strip()
            break
    pmid = (raw.get("PMID") or [""])[0]
    if not pmid.isdigit():
        sink.warn(line, f"PMID {pmid!r} is not a number; left empty")
        pmid = None
    return {
        "title": first_value(raw, "TI", "BTI"),
        "authors": all_values(raw, "FAU") or all_values(raw, "AU"),
        "year": year_from(first_value(raw, "DP", "DEP"), sink, line),
        "journal": first_value(raw, "JT", "TA"),
        "volume": first_value(raw, "VI"),
        "issue": first_value(raw, "IP"),
        "pages": first_value(raw, "PG"),
        "doi": doi,
        "pmid": pmid,
        "abstract": first_value(raw, "AB"),
        "keywords": all_values(raw, "OT") or all_values(raw, "MH"),
        "pub_types": all_values(raw, "PT"),
        "language": first_value(raw, "LA"),
        "source_key": pmid,
        "raw": raw,
    }


# --------------------------------------------------------------------------- BibTeX
_BIB_START = re.compile(r"^\s*@\s*(\w+)\s*[{(]")
_BIB_NON_ENTRIES = {"comment", "string", "preamble"}


_BIB_HEAD = re.compile(r"\s*@\s*(\w+)\s*([{(])\s*([^,\s]*)\s*,")
# A field name may hold a no-break space (Scopus writes "funding_text\u00a01"): it is
# matched so the entry survives, and the field is dropped with a warning.
_BIB_FIELD = re.compile(r"\s*,?\s*([\w\-:.]+(?:\u00a0[\w\-:.]+)*)\s*=\s*")
_BIB_WORD = re.compile(r"[\w\-:.]+")
_BIB_DELIMS = re.compile(r'[{}"]')
_BIB_STRING = re.compile(r'\s*@\s*string\s*[{(]\s*([\w\-:.]+)\s*=\s*[{"](.*)[}"]\s*[})]',
                         re.S | re.I)
_MONTHS = {m: m.capitalize() for m in ("jan", "feb", "mar", "apr", "may", "jun", "jul",
                                        "aug", "sep", "oct", "nov", "dec")}


def _bib_value_end(chunk: str, pos: int, quoted: bool) -> int:
    """Index of the brace or quote closing the value opened at ``pos``."""
    depth = 0
    for m in _BIB_DELIMS.finditer(chunk, pos + 1):
        c = m.group(0)
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                if quoted:
                    raise ValueError("unbalanced braces in a quoted value")
                return m.start()
            depth -= 1
        elif quoted and depth == 0:
            return m.start()
    raise ValueError("value never closed")


def _skip(chunk: str, pos: int, chars: str = " \t\n") -> int:
    while pos < len(chunk) and chunk[pos] in chars:
        pos += 1
    return pos


def _bib_fast(chunk: str, strings: dict[str, str]) -> dict[str, str]:
    """One BibTeX entry -> fields (``ENTRYTYPE``, ``ID`` and lower-case field names).

    Raises ValueError when the entry does not follow the grammar; the caller then
    tries bibtexparser, which is complete but about a hundred times slower.
    """
    head = _BIB_HEAD.match(chunk)
    if head is None:
        raise ValueError("no '@type{key,' header")
    close = "}" if head.group(2) == "{" else ")"
    fields = {"ENTRYTYPE": head.group(1).lower(), "ID": head.group(3)}
    pos, n = head.end(), len(chunk)
    while True:
        pos = _skip(chunk, pos, " \t\n,")
        if pos >= n:
            raise ValueError("entry never closed")
        if chunk[pos] == close:
            return fields
        fm = _BIB_FIELD.match(chunk, pos)
        if fm is None:
            raise ValueError("expected 'field = value'")
        name, pos = fm.group(1).lower(), fm.end()
        parts = []
        while True:
            c = chunk[pos] if pos < n else ""
            if c and c in '{"':
                end = _bib_value_end(chunk, pos, c == '"')
                parts.append(chunk[pos + 1:end])
                pos = end + 1
            else:
                wm = _BIB_WORD.match(chunk, pos)
                if wm is None:
                    raise ValueError(f"bad value of {name}")
                word = wm.group(0)
                parts.append(word if word.isdigit() else strings.get(word.lower(), word))
                pos = wm.end()
            pos = _skip(chunk, pos)
            if pos < n and chunk[pos] == "#":
                pos = _skip(chunk, pos + 1)
                continue
            break
        fields[name] = "".join(parts)


def _bib_slow(chunk: str, strings_src: str) -> dict[str, str]:
    import bibtexparser
    from bibtexparser.bparser import BibTexParser

    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    entries = bibtexparser.loads(strings_src + "\n" + chunk, parser=parser).entries
    if len(entries) != 1:
        raise ValueError("entry could not be parsed")
    return entries[0]


def _parse_bibtex(text: str, sink: Sink) -> None:
    lines = text.split("\n")
    starts = [(i, m.group(1).lower()) for i, line in enumerate(lines)
              if (m := _BIB_START.match(line))]
    bounds = [(a, b, kind) for (a, kind), (b, _) in
              zip(starts, [*starts[1:], (len(lines), "")])]
    strings: dict[str, str] = dict(_MONTHS)
    strings_src = []
    for a, b, kind in bounds:
        if kind == "string":
            chunk = "\n".join(lines[a:b])
            strings_src.append(chunk)
            if m := _BIB_STRING.match(chunk):
                strings[m.group(1).lower()] = m.group(2)
    for a, b, kind in bounds:
        if kind in _BIB_NON_ENTRIES:
            continue
        chunk = "\n".join(lines[a:b]).rstrip()
        if chunk.count("{") != chunk.count("}"):
            sink.error(a + 1, "unbalanced braces; entry skipped")
            continue
        try:
            entry = _bib_fast(chunk, strings)
        except ValueError:
            try:  # unusual but legal syntax: let bibtexparser have a go
                entry = _bib_slow(chunk, "\n".join(strings_src))
            except Exception as exc:  # bibtexparser raises assorted pyparsing errors
                sink.error(a + 1, f"entry could not be parsed ({type(exc).__name__})")
                continue
        for name in [k for k in entry if "\u00a0" in k]:
            sink.warn(a + 1, f"field name {name.replace(chr(0xa0), ' ')!r} holds a no-break "
                             "space; field skipped")
            del entry[name]
        sink.add(_bib_record(entry, sink, a + 1), a + 1)


_BRACES = re.compile(r"[{}]")
# LaTeX accent commands -> Unicode combining marks (composed by NFC afterwards).
_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303",
            "=": "\u0304", ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b",
            "c": "\u0327", "k": "\u0328", "r": "\u030a"}
_LATEX_ACCENT = re.compile(r"\\([`'^\"~=.]|[uvHckr](?=[\s{]))\s*\{?\s*(\\[ij]\b\s*|[A-Za-z])\}?")
_LATEX_LETTERS = {r"\i": "i", r"\j": "j", r"\o": "ø", r"\O": "Ø", r"\ss": "ß", r"\ae": "æ",
                  r"\AE": "Æ", r"\oe": "œ", r"\OE": "Œ", r"\aa": "å", r"\AA": "Å", r"\l": "ł",
                  r"\L": "Ł", r"\&": "&", r"\%": "%", r"\_": "_", r"\$": "$",
                  "---": "-", "--": "-", "~": " "}
_LATEX_LETTER = re.compile("|".join(re.escape(k) + (r"\b" if k[-1].isalpha() else "")
                                    for k in sorted(_LATEX_LETTERS, key=len, reverse=True)))


def _latex_to_unicode(v: str) -> str:
    """Accents and special letters as BibTeX exports write them (M{\\"u}ller -> Müller)."""
    def accent(m: re.Match) -> str:
        letter = m.group(2).strip()
        letter = {r"\i": "i", r"\j": "j"}.get(letter, letter)
        return letter + _ACCENTS[m.group(1)]

    v = _LATEX_ACCENT.sub(accent, v)
    v = _LATEX_LETTER.sub(lambda m: _LATEX_LETTERS[m.group(0)], v)
    return unicodedata.normalize("NFC", v)


def _bib_clean(v: str | None) -> str | None:
    if v is None:
        return None
    v = _latex_to_unicode(v)
    return re.sub(r"\s+", " ", _BRACES.sub("", v)).strip() or None


def _bib_record(e: dict[str, str], sink: Sink, line: int) -> Record:
    get = {k.lower(): _bib_clean(v) for k, v in e.items()}
    authors = [a.strip() for a in re.split(r"\s+and\s+", get.get("author") or "") if a.strip()]
    pages = (get.get("pages") or "").replace("--", "-") or None
    pmid = get.get("pmid")
    if pmid is None and (get.get("eprinttype") or "").lower() == "pubmed":
        pmid = get.get("eprint")
    kws = re.split(r"[;,]", get.get("keywords") or get.get("keyword") or "")
    return {
        "title": get.get("title"),
        "authors": [a for a in authors if a.lower() != "others"],
        "year": year_from(get.get("year") or get.get("date"), sink, line),
        "journal": get.get("journal") or get.get("journaltitle") or get.get("booktitle"),
        "volume": get.get("volume"),
        "issue": get.get("number") or get.get("issue"),
        "pages": pages,
        "doi": doi_from(get.get("doi"), get.get("url")),
        "pmid": pmid,
        "abstract": get.get("abstract"),
        "keywords": [k.strip() for k in kws if k.strip()],
        "pub_types": [t for t in [get.get("entrytype"), get.get("type")] if t],
        "language": get.get("language"),
        "source_key": central_accession(get.get("url")) or get.get("id"),
        "raw": dict(e),
    }


# ------------------------------------------------------------------------------ CSV
_CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "article title", "document title", "ti"),
    "authors": ("author full names", "authors", "author", "author names", "author/s", "au"),
    "year": ("year", "publication year", "pubyear", "py", "create date", "date"),
    "journal": ("journal", "source title", "journal/book", "publication title", "source",
                "journal title", "so"),
    "volume": ("volume", "vl"),
    "issue": ("issue", "number", "issue number", "is"),
    "pages": ("pages", "page range", "pagination"),
    "start_page": ("page start", "start page", "beginning page", "bp"),
    "end_page": ("page end", "end page", "ending page", "ep"),
    "doi": ("doi", "di"),
    "pmid": ("pmid", "pubmed id", "pubmed_id"),
    "abstract": ("abstract", "ab"),
    "keywords": ("author keywords", "keywords", "de"),
    "pub_types": ("document type", "publication type", "dt", "pt"),
    "language": ("language of original document", "language", "la"),
    "source_key": ("eid", "accession number", "embase accession id", "ut (unique wos id)", "ut",
                   "lens id", "id"),
}


def _parse_csv(text: str, sink: Sink, mapping: Mapping[str, str]) -> None:
    with long_csv_fields():
        _parse_csv_rows(text, sink, mapping)


def _parse_csv_rows(text: str, sink: Sink, mapping: Mapping[str, str]) -> None:
    # The delimiter is the one that splits the header into the most columns (the
    # csv sniffer is misled by semicolons inside author lists).
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=lambda d: len(next(csv.reader([first], delimiter=d))))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    lower = {h.lower(): j for j, h in enumerate(header)}
    unknown = set(mapping) - set(_CSV_COLUMNS)
    if unknown:
        raise DataError(f"unknown record fields in mapping: {sorted(unknown)}",
                        column="mapping")
    cols: dict[str, int] = {}
    for fld, names in _CSV_COLUMNS.items():
        if fld in mapping:
            name = mapping[fld]
            if name.lower() not in lower:
                raise DataError(f"column {name!r} (mapped to {fld}) is not in the file",
                                column=name)
            cols[fld] = lower[name.lower()]
            continue
        for n in names:
            if n in lower:
                cols[fld] = lower[n]
                break
    if not ({"title", "doi", "pmid"} & set(cols)):
        raise DataError("no title, DOI or PMID column found; pass mapping={'title': ...}",
                        column="title")
    prev_end = reader.line_num
    for row in reader:
        line = prev_end + 1
        prev_end = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            sink.error(line, f"row has {len(row)} fields, header has {len(header)}")
            continue
        get = {f: row[j].strip() or None for f, j in cols.items()}
        sink.add(_csv_record(get, dict(zip(header, row)), sink, line), line)


# "Smith J.A., Brown K.L., III, Lee-Park T." (Scopus) or "Smith J, Doe AB" (PubMed CSV)
_INITIALS_THEN_COMMA = re.compile(r"[\w'-]+ (?:[A-Z]\.?-?){1,4}, \S")
_NAME_SUFFIX = re.compile(r"^(?:jr|sr|ii|iii|iv)\.?$", re.I)
_SCOPUS_AUTHOR_ID = re.compile(r"\s*\(\d+\)$")  # "Smith, John A. (57193845200)"


def _split_authors(value: str | None) -> list[str]:
    """One CSV cell of authors -> names ("; " lists, or comma lists of initialled names)."""
    if not value:
        return []
    if ";" in value:
        parts = value.split(";")
    elif _INITIALS_THEN_COMMA.search(value):
        parts = []
        for part in value.split(","):
            if parts and _NAME_SUFFIX.match(part.strip()):
                parts[-1] = f"{parts[-1]},{part}"  # "Brown K.L., III" is one author
            else:
                parts.append(part)
    else:
        parts = [value]
    return [_SCOPUS_AUTHOR_ID.sub("", p).strip() for p in parts if p.strip()]


# Embase CSV "Source": "Lancet Neurology (2019) 18:4 (345-352). Date of Publication: ..."
_CITATION = re.compile(r"^(?P<journal>.+?)\s+\((?P<year>(?:1[89]|20)\d\d)\)\s*"
                       r"(?P<volume>[^:\s(.]+)?(?::(?P<issue>[^\s(.]+))?\s*"
                       r"(?:\((?P<pages>[^)]*)\))?")


def _citation_column(row: dict[str, str]) -> dict[str, str | None]:
    """Journal, year, volume, issue, pages from an Embase-style "Source" citation cell."""
    cell = next((v for k, v in row.items() if k.strip().lower() == "source"), "") or ""
    m = _CITATION.match(cell.strip())
    return {k: (v or "").strip() or None for k, v in m.groupdict().items()} if m else {}


def _csv_record(get: dict[str, str | None], row: dict[str, str], sink: Sink,
                line: int) -> Record:
    kws = get.get("keywords") or ""
    cite = _citation_column(row) if not get.get("year") or not get.get("volume") else {}
    journal = get.get("journal")
    if cite and (journal is None or journal.strip() == next(
            (v.strip() for k, v in row.items() if k.strip().lower() == "source"), None)):
        journal = cite["journal"]  # the "Source" cell is a whole citation, not a name
    return {
        "title": get.get("title"),
        "authors": _split_authors(get.get("authors")),
        "year": year_from(get.get("year") or cite.get("year"), sink, line),
        "journal": journal,
        "volume": get.get("volume") or cite.get("volume"),
        "issue": get.get("issue") or cite.get("issue"),
        "pages": get.get("pages") or join_pages(get.get("start_page"), get.get("end_page"))
        or cite.get("pages"),
        "doi": doi_from(get.get("doi")),
        "pmid": get.get("pmid"),
        "abstract": get.get("abstract"),
        "keywords": [k.strip() for k in kws.split(";") if k.strip()],
        "pub_types": [t.strip() for t in (get.get("pub_types") or "").split(";") if t.strip()],
        "language": get.get("language"),
        "source_key": get.get("source_key")
        or central_accession(get.get("doi"), *(v for k, v in row.items() if "link" in k.lower()
                                               or "url" in k.lower())),
        "raw": {k: v for k, v in row.items() if v != ""},
    }


# ---------------------------------------------------------------------- EndNote XML
_RECORD_OPEN = re.compile(r"<record>")
_RECORD_CLOSE = "</record>"


def _parse_endnote_xml(text: str, sink: Sink) -> None:
    # Each record is cut from its <record> to the next <record>, so one left unclosed
    # costs only itself: the record after it is still read, and the loss is reported.
    line_starts = _line_index(text)
    opens = [m.start() for m in _RECORD_OPEN.finditer(text)]
    if not opens:
        sink.error(1, "no <record> elements found")
        return
    for start, nxt in zip(opens, [*opens[1:], len(text)]):
        line = _line_of(line_starts, start)
        close = text.find(_RECORD_CLOSE, start, nxt)
        if close == -1:
            what = ("before the next <record>" if nxt < len(text)
                    else "(</record> missing)")
            sink.error(line, f"record is not closed {what}; skipped")
            continue
        chunk = text[start:close + len(_RECORD_CLOSE)]
        try:
            elem = ET.fromstring(chunk)
        except ET.ParseError as exc:
            msg = re.sub(r": line \d+, column \d+", "", str(exc))
            sink.error(line + exc.position[0] - 1, f"malformed XML ({msg})")
            continue
        sink.add(_endnote_record(elem, sink, line), line)


def _line_index(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


def _line_of(starts: list[int], pos: int) -> int:
    import bisect

    return bisect.bisect_right(starts, pos)


_WS = re.compile(r"\s+")


def _xml_text(elem: ET.Element | None) -> str | None:
    if elem is None:
        return None
    text = "".join(elem.itertext())
    if "\n" in text or "  " in text or "\t" in text:
        text = _WS.sub(" ", text)
    return text.strip() or None


def _endnote_record(rec: ET.Element, sink: Sink, line: int) -> Record:
    def one(path: str) -> str | None:
        return _xml_text(rec.find(path))

    def many(path: str) -> list[str]:
        return [t for e in rec.findall(path) if (t := _xml_text(e))]

    # raw: every text-bearing element; nested ones as "container/element" lists
    # (the <style> wrappers EndNote puts around text are looked through).
    raw: dict[str, Any] = {}
    for child in rec:
        if len(child) and child.tag != "style":
            for sub in child.iter():
                if sub is child or sub.tag == "style" or any(c.tag != "style" for c in sub):
                    continue
                if (t := _xml_text(sub)) is not None:
                    raw.setdefault(f"{child.tag}/{sub.tag}", []).append(t)
        elif (t := _xml_text(child)) is not None:
            raw[child.tag] = t
    ref_type = rec.find("ref-type")
    pub_types = [ref_type.get("name")] if ref_type is not None and ref_type.get("name") else []
    pub_types += many("work-type")
    notes = " ".join(many("notes") + many("accession-num"))
    pmid_m = PMID_IN_TEXT.search(notes)
    remote_db = (one("remote-database-name") or "").lower()
    acc = one("accession-num")
    pmid = pmid_m.group(1) if pmid_m else (acc if acc and acc.isdigit() and
                                            ("pubmed" in remote_db or "medline" in remote_db)
                                            else None)
    return {
        "title": one("titles/title"),
        "authors": many("contributors/authors/author"),
        "year": year_from(one("dates/year") or one("dates/pub-dates/date"), sink, line),
        "journal": (one("titles/secondary-title") or one("periodical/full-title")
                    or one("periodical/abbr-1")),
        "volume": one("volume"),
        "issue": one("number"),
        "pages": one("pages"),
        "doi": doi_from(one("electronic-resource-num"), *many("urls/related-urls/url")),
        "pmid": pmid,
        "abstract": one("abstract"),
        "keywords": many("keywords/keyword"),
        "pub_types": pub_types,
        "language": one("language"),
        "source_key": acc or central_accession(*many("urls/related-urls/url"))
        or one("rec-number"),
        "raw": raw,
    }


_PARSERS: dict[str, Callable[[str, Sink], None]] = {
    "ris": _parse_ris,
    "medline": _parse_medline,
    "bibtex": _parse_bibtex,
    "endnote_xml": _parse_endnote_xml,
    "wos": parse_wos_tagged,
    "wos_tab": parse_wos_tab,
    "ovid": parse_ovid,
}
