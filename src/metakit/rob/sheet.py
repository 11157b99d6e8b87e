"""Read a risk-of-bias file (CSV, XLSX, YAML) into rows, each with where it came from.

Every failure is a :class:`~metakit.errors.DataError` that names the file, the line (or
sheet row) and what was expected; a raw parser error never reaches the user, and no
message echoes more than a few hundred characters of the file.

CSV rules: UTF-8 (a byte-order mark is skipped) or UTF-16 with its byte-order mark (Excel's
"Unicode text"); the first non-blank line is the header; the delimiter is the one of
``,`` ``;`` and tab that splits the header into the most columns (the rule
``metakit meta`` follows, so a sheet saved in a semicolon locale reads as it does there).
A row shorter than the header is padded with empty cells; a row with more non-empty cells
than the header has names is an error, as is a column name given twice.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from metakit.errors import DataError

#: The most characters of a message that echoes the input (file text, a cell).
MESSAGE_LIMIT = 300

_EXPECTED = ("expected a risk-of-bias sheet: a header row naming the columns (study, outcome, "
             "d1_1 ... d5_3 or d1 ... d5, overall) and one row per study")
_DELIMITERS = ",;\t"
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f]")
# Line ends as the csv module sees them (str.splitlines would also split on \u2028, \x1c, ...
# inside a cell).
_LINE_END = re.compile("\r\n|\r|\n")


def shorten(text: object, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to about ``limit`` characters, its start and end kept, saying how much was cut.

    The first two thirds of ``limit`` and the last sixth are kept (26 + 6 of 1000 below).

    Examples
    --------
    >>> shorten("x" * 1000, 40)
    'xxxxxxxxxxxxxxxxxxxxxxxxxx … [968 characters cut] … xxxxxx'
    """
    text = str(text)
    if len(text) <= limit:
        return text
    head, tail = (2 * limit) // 3, limit // 6
    return f"{text[:head]} … [{len(text) - head - tail} characters cut] … {text[len(text) - tail:]}"


def _excerpt(line: str, limit: int = 60) -> str:
    """The start of a line, quoted, with its length when cut."""
    if len(line) <= limit:
        return repr(line)
    return f"{line[:limit]!r}… ({len(line):,} characters)"


def read_text(path: Path, expected: str = _EXPECTED) -> str:
    """The text of ``path``: UTF-8 (with or without byte-order mark) or UTF-16 with its mark.

    Raises :class:`DataError` naming the file for an empty, binary or undecodable file.
    """
    data = path.read_bytes()
    name = path.name
    if data.startswith(b"PK\x03\x04"):
        raise DataError(f"{name} is a ZIP archive (an Excel workbook?), not a text file; save it "
                        f"with the .xlsx extension or export it as CSV UTF-8; {expected}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise DataError(f"{name} starts with a UTF-16 byte-order mark but is not valid UTF-16 "
                            f"(byte {err.start:,}); {expected}") from None
    else:
        if b"\x00" in data:
            at = data.index(b"\x00")
            raise DataError(f"{name} holds NUL bytes (the first at byte {at:,}): it is a binary file "
                            f"or UTF-16 text without a byte-order mark, not a CSV/YAML text file; "
                            f"{expected}")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = data[:err.start].count(b"\n") + 1
            raise DataError(f"{name}, line {line}: byte 0x{data[err.start]:02x} is not UTF-8; save the "
                            f"file as UTF-8 (Excel: 'CSV UTF-8'); {expected}") from None
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise DataError(f"{name} is empty; {expected}")
    controls = len(_CONTROL.findall(text))
    if controls > max(8, len(text) // 100):
        raise DataError(f"{name} holds {controls:,} control characters: it is not a text file; {expected}")
    return text


def csv_rows(path: Path) -> tuple[list[dict[str, object]], list[str]]:
    """Rows of a CSV sheet as column -> cell text, and each row's location ("file, line N")."""
    name = path.name
    text = read_text(path)
    lines = _LINE_END.split(text)
    first = next(i for i, line in enumerate(lines) if line.strip())
    header_line = lines[first]
    try:
        delimiter = max(_DELIMITERS, key=lambda d: len(next(csv.reader([header_line], delimiter=d))))
    except csv.Error as err:  # e.g. a header cell over the csv module's 131,072 characters
        raise DataError(f"{name}, line {first + 1}: {shorten(err, 120)}; {_EXPECTED}") from None
    reader = csv.reader(io.StringIO(text[_offset(text, first):], newline=""), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
        _check_header(header, name, first + 1, lines[first + 1:first + 6])
        rows, where = [], []
        start = reader.line_num
        for cells in reader:
            line = first + start + 1
            start = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                raise DataError(f"{name}, line {line}: {len(cells)} cells but the header names "
                                f"{len(header)} columns (is the delimiter {delimiter!r} inside an "
                                "unquoted cell?)")
            cells = cells + [""] * (len(header) - len(cells))
            rows.append({h: c for h, c in zip(header, cells) if h})
            where.append(f"{name}, line {line}")
    except csv.Error as err:
        line = first + reader.line_num
        raise DataError(f"{name}, line {line}: {shorten(err, 120)} (an unclosed quote?); "
                        f"{_EXPECTED}") from None
    return rows, where


def _offset(text: str, line: int) -> int:
    """Index in ``text`` where line ``line`` (0-based) starts."""
    if line == 0:
        return 0
    for n, m in enumerate(_LINE_END.finditer(text), start=1):
        if n == line:
            return m.end()
    return len(text)


def _check_header(header: list[str], name: str, line: int, following: list[str]) -> None:
    keys = [h.lower() for h in header]
    seen: dict[str, int] = {}
    for i, k in enumerate(keys, start=1):
        if k and k in seen:
            raise DataError(f"{name}, line {line}: column {shorten(header[i - 1], 60)!r} appears twice "
                            f"(columns {seen[k]} and {i}); each column must be named once")
        seen[k] = i
    if "study" in keys:
        return
    hint = ""
    for j, later in enumerate(following, start=line + 1):
        if any(c.strip().lower() == "study" for d in _DELIMITERS for c in later.split(d)):
            hint = f"; line {j} looks like the header: delete the lines above it"
            break
    raise DataError(f"{name}, line {line}: the header has no 'study' column{hint}; {_EXPECTED}; "
                    f"line {line} holds {_excerpt(','.join(header))}")


def xlsx_rows(path: Path, sheet: str | int | None) -> tuple[list[dict[str, object]], list[str]]:
    """Rows of a workbook's sheet as column -> cell text, and each row's location."""
    import pandas as pd

    name = path.name
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            raise DataError(f"{name} is not an Excel workbook (an .xlsx file is a ZIP archive); save "
                            f"it from Excel as .xlsx, or as CSV UTF-8 with a .csv name; {_EXPECTED}")
    try:
        frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=str,
                              keep_default_na=False, header=None)
    except (ValueError, KeyError, IndexError) as err:
        raise DataError(f"{name}: cannot read {'the first sheet' if sheet is None else f'sheet {sheet!r}'}: "
                        f"{shorten(err, 200)}") from None
    except Exception as err:  # openpyxl and zipfile raise their own types for a damaged file
        raise DataError(f"{name} is not a readable Excel workbook ({type(err).__name__}: "
                        f"{shorten(err, 120)}); {_EXPECTED}") from None
    label = f"{name}, sheet {sheet!r}" if sheet is not None else name
    cells = [[str(c) for c in row] for row in frame.itertuples(index=False)]
    filled = [i for i, row in enumerate(cells) if any(c.strip() for c in row)]
    if not filled:
        raise DataError(f"{label} is empty; {_EXPECTED}")
    first = filled[0]
    header = [h.strip() for h in cells[first]]
    _check_header(header, label, first + 1, [",".join(r) for r in cells[first + 1:first + 6]])
    rows, where = [], []
    for i in filled[1:]:
        rows.append({h: c for h, c in zip(header, cells[i]) if h})
        where.append(f"{label}, row {i + 1}")
    return rows, where


def yaml_document(path: Path) -> tuple[Any, list[int]]:
    """The parsed YAML document and the line of each assessment (list item), 1-based."""
    import yaml

    name = path.name
    text = read_text(path, "expected a YAML list of assessments or a mapping with 'assessments'")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        if isinstance(err, yaml.reader.ReaderError):  # a control character: no mark, a position
            where = f", line {text.count(chr(10), 0, err.position) + 1}"
            problem = f"character {chr(err.character)!r} is not allowed in YAML"
        problem = " ".join(str(problem).split())
        raise DataError(f"{name}{where}: YAML syntax error: {shorten(problem, 200)}") from None
    items = node
    if isinstance(node, yaml.MappingNode):
        items = next((v for k, v in node.value if getattr(k, "value", None) == "assessments"), None)
    lines = [n.start_mark.line + 1 for n in items.value] if isinstance(items, yaml.SequenceNode) else []
    return doc, lines


def located(err: DataError, where: str) -> DataError:
    """``err`` again, its values shortened and ``where`` (file, line) added to its rule."""
    return DataError(f"{shorten(err.rule)} ({where})",
                     study=None if err.study is None else shorten(err.study, 80),
                     column=None if err.column is None else shorten(err.column, 80))
