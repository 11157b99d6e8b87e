"""Reading risk-of-bias files that are empty, binary, in another encoding or delimiter, or broken.

Every failure must be a DataError naming the file and the line and saying what was expected,
never a raw pandas/csv/yaml error, and never a message that echoes the whole file. The
judgements of a file read in another encoding or delimiter are compared with those read from
the comma-separated UTF-8 original (examples/rob/seed_rob2.csv).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metakit.errors import DataError
from metakit.rob import read_assessments

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "rob"
SEED = (EXAMPLES / "seed_rob2.csv").read_text(encoding="utf-8-sig")
SEED_LINES = SEED.splitlines()


@pytest.fixture(scope="module")
def seed_overall():
    return [(a.study, a.overall) for a in read_assessments(EXAMPLES / "seed_rob2.csv").assessments]


def _error(path: Path, **kwargs) -> str:
    with pytest.raises(DataError) as err:
        read_assessments(path, **kwargs)
    return str(err.value)


@pytest.mark.parametrize("content", [b"", b"   \n\n\t\n", b"\xef\xbb\xbf"])
def test_empty_file_is_named(tmp_path, content):
    p = tmp_path / "empty.csv"
    p.write_bytes(content)
    msg = _error(p)
    assert msg.startswith("empty.csv is empty") and "expected a risk-of-bias sheet" in msg


def test_utf16_with_byte_order_mark_is_read(tmp_path, seed_overall):
    # Excel's "Unicode text" export: UTF-16 LE with a byte-order mark, tab-delimited.
    p = tmp_path / "unicode.txt"
    p.write_bytes(b"\xff\xfe" + SEED.replace(",", "\t").encode("utf-16-le"))
    assert [(a.study, a.overall) for a in read_assessments(p).assessments] == seed_overall
    p = tmp_path / "big_endian.csv"
    p.write_bytes(b"\xfe\xff" + SEED.encode("utf-16-be"))
    assert [(a.study, a.overall) for a in read_assessments(p).assessments] == seed_overall


def test_utf16_without_mark_and_binary_files_are_named(tmp_path):
    p = tmp_path / "nomark.csv"
    p.write_bytes(SEED.encode("utf-16-le"))
    msg = _error(p)
    assert msg.startswith("nomark.csv holds NUL bytes") and "UTF-16" in msg and "expected" in msg
    p = tmp_path / "figure.csv"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    msg = _error(p)
    assert msg.startswith("figure.csv") and "binary" in msg and len(msg) < 400
    p = tmp_path / "workbook.csv"
    p.write_bytes(b"PK\x03\x04" + b"\x14\x00" * 50)
    assert "workbook.csv is a ZIP archive (an Excel workbook?)" in _error(p)
    p = tmp_path / "text.xlsx"
    p.write_text(SEED)
    assert _error(p).startswith("text.xlsx is not an Excel workbook")


def test_non_utf8_text_names_the_line(tmp_path):
    p = tmp_path / "latin1.csv"
    p.write_bytes(SEED.replace("Trial C", "Trial M\u00fcller").encode("latin-1"))
    # "Trial C" is on the 4th line of the file (header, A, B, C).
    assert _error(p).startswith("latin1.csv, line 4: byte 0xfc is not UTF-8")


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_sheets_read_as_the_comma_sheet(tmp_path, seed_overall, delimiter):
    p = tmp_path / "semicolon.csv"
    p.write_text(SEED.replace(",", delimiter), encoding="utf-8")
    assert [(a.study, a.overall) for a in read_assessments(p).assessments] == seed_overall


def test_semicolon_sheet_with_commas_inside_cells(tmp_path):
    text = ("study;d1;d2;d3;d4;d5;notes\n"
            "Smith, 2001;Low;Low;Low;Low;High;blinded, but unclear\n"
            "Jones, 2003;Low;Low;Low;Low;Low;\n")
    p = tmp_path / "rob.csv"
    p.write_text(text, encoding="utf-8")
    t = read_assessments(p)
    assert t.overall_by_study() == {"Smith, 2001": "High", "Jones, 2003": "Low"}


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    p = tmp_path / "rob.yaml"
    p.write_text("tool: rob2\nassessments:\n  - study: A\n    d1: [Low\n    d2: Low\n")
    msg = _error(p)
    # The flow sequence opened on line 4 meets "d2:" on line 5, column 7.
    assert msg.startswith("rob.yaml, line 5, column 7: YAML syntax error")


def test_yaml_row_error_names_its_line(tmp_path):
    p = tmp_path / "rob.yaml"
    p.write_text("tool: quadas2\nassessments:\n"
                 "  - {study: A, d1: Low, d2: Low, d3: Low, d4: Low}\n"
                 "  - study: B\n    d1: Low\n    d2: Low\n    d3: Maybe\n    d4: Low\n")
    msg = _error(p)
    assert "study 'B', column 'd3'" in msg and msg.endswith("(rob.yaml, line 4)")


def test_stray_long_first_line_gives_a_short_message(tmp_path):
    p = tmp_path / "stray.csv"
    p.write_text("x" * 100_000 + "\n" + SEED, encoding="utf-8")
    msg = _error(p)
    assert len(msg) < 600
    assert msg.startswith("stray.csv, line 1: the header has no 'study' column")
    assert "line 2 looks like the header" in msg and "expected a risk-of-bias sheet" in msg
    assert "(100,000 characters)" in msg


def test_a_huge_cell_is_cut_in_the_message(tmp_path):
    cells = SEED_LINES[4].split(",")
    cells[2] = "Q" * 100_000                     # d1_1 of the 4th study
    p = tmp_path / "big.csv"
    p.write_text("\n".join([*SEED_LINES[:4], ",".join(cells)]) + "\n", encoding="utf-8")
    msg = _error(p)
    assert len(msg) < 600
    assert msg.startswith(f"study {cells[0]!r}, column 'd1_1': answer 'QQQ")
    assert "characters cut" in msg and msg.endswith("is not one of Y/PY/PN/N/NI/NA (big.csv, line 5)")


def test_row_and_header_shape_errors(tmp_path):
    p = tmp_path / "extra.csv"
    p.write_text("study,d1,d2,d3,d4,d5\nA,Low,Low,Low,Low,Low\nB,Low,Low,Low,Low,Low,High\n")
    assert _error(p).startswith("extra.csv, line 3: 7 cells but the header names 6 columns")
    # Trailing empty cells (Excel) and short rows are fine.
    p.write_text("study,d1,d2,d3,d4,d5\nA,Low,Low,Low,Low,Low,,\nB,Low,Low,Low,Low,High\n")
    assert read_assessments(p).overall_by_study() == {"A": "Low", "B": "High"}
    p = tmp_path / "dup.csv"
    p.write_text("study,d1,d2,d3,d4,d5,D5\nA,Low,Low,Low,Low,Low,High\n")
    assert _error(p).startswith("dup.csv, line 1: column 'D5' appears twice (columns 6 and 7)")
    p = tmp_path / "quote.csv"
    p.write_text("study,d1,d2,d3,d4,d5\nA,Low,Low,Low,Low,Low\nB,\"" + "y" * 140_000 + "\n")
    msg = _error(p)
    assert msg.startswith("quote.csv, line 3:") and "unclosed quote" in msg and len(msg) < 600
    p = tmp_path / "header_only.csv"
    p.write_text("study,d1,d2,d3,d4,d5\n\n")
    assert _error(p).startswith("no assessments found in header_only.csv")


def test_xlsx_rows_are_named_by_sheet_row(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in ([], ["study", "d1", "d2", "d3", "d4", "d5"], ["A", "Low", "Low", "Low", "Low", "Low"], [],
                ["B", "Low", "Low", "Low", "Low", "Maybe"]):
        ws.append(row)
    p = tmp_path / "rob.xlsx"
    wb.save(p)
    # "Maybe" sits in Excel row 5 (a blank row 1, the header in row 2, a blank row 4).
    assert _error(p).endswith("(rob.xlsx, row 5)")
    assert "cannot read sheet 'Other'" in _error(p, sheet="Other")


def test_shorten_keeps_both_ends():
    from metakit.rob.sheet import shorten

    text = "a" * 500 + "END"
    out = shorten(text, 60)
    assert out.startswith("a" * 40) and out.endswith("END") and "characters cut" in out
    assert len(out) < 100 and shorten("short", 60) == "short"


# ---- whatever the bytes, a DataError or a table --------------------------------------------------

_CELLS = st.sampled_from(["Low", "High", "Some concerns", "Y", "PY", "N", "NA", "", "x" * 300, "\"", ";",
                          ",", "\t", "study", "d1", "d5", "d1_1", "\u738b", "\x00", "\n", "- a: [", ": b"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=400),
                      st.lists(_CELLS, max_size=40).map(lambda cs: "".join(cs).encode("utf-8")),
                      st.lists(_CELLS, max_size=40).map(lambda cs: "".join(cs).encode("utf-16"))),
       suffix=st.sampled_from([".csv", ".yaml", ".xlsx", ".tsv"]))
def test_any_file_gives_a_table_or_a_short_named_error(tmp_path, data, suffix):
    p = tmp_path / f"fuzz{suffix}"
    p.write_bytes(data)
    try:
        read_assessments(p)
    except DataError as err:
        msg = str(err)
        assert "fuzz" in msg or "column" in msg or "study" in msg, msg     # names the file or the cell
        assert len(msg) < 1500, len(msg)


def test_line_numbers_count_quoted_line_breaks(tmp_path):
    p = tmp_path / "notes.csv"
    # CRLF line ends; A's note spans lines 2-3; B's note holds a Unicode line separator, which
    # is text inside a cell, not a line end.
    p.write_bytes(("study,d1,d2,d3,d4,d5,notes\r\n"
                   "A,Low,Low,Low,Low,Low,\"two\r\nlines\"\r\n"
                   "B,Low,Low,Low,Low,High,see\u2028below\r\n"
                   "C,Low,Low,Low,Low,Maybe,\r\n").encode("utf-8"))
    msg = _error(p)
    assert msg.startswith("study 'C', column 'd5': judgement 'Maybe'") and msg.endswith("(notes.csv, line 5)")
    p.write_bytes(p.read_bytes().replace(b"Maybe", b"Low"))
    assert read_assessments(p).overall_by_study() == {"A": "Low", "B": "High", "C": "Low"}
