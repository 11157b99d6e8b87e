"""Issue 13: what ``metakit meta`` / ``metareg`` do with malformed or awkward input files.
Every failure is one line, ``error: ...``, exit status 1, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from metakit.cli import app

runner = CliRunner()
GEN = ["--measure", "GEN", "--variance", "vi"]


def _run(tmp_path: Path, text: str | bytes, *args, command="meta", name="data.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return runner.invoke(app, [command, str(path), *args])


def _error_line(res) -> str:
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output[:500]
    return lines[0]


@pytest.mark.parametrize("text", ["", "   \n\n \t\n"])
def test_empty_or_blank_csv(tmp_path, text):
    line = _error_line(_run(tmp_path, text, *GEN))
    assert "data.csv is empty: expected a header row" in line


def test_header_without_rows(tmp_path):
    assert "has a header but no rows" in _error_line(_run(tmp_path, "study,yi,vi\n", *GEN))


def test_binary_file(tmp_path):
    assert "binary file" in _error_line(_run(tmp_path, b"\x00\x01\x02PK\x00" * 50, *GEN))


def test_stray_100kb_first_line_gives_a_short_message(tmp_path):
    text = "x" * 100_000 + "\nstudy,yi,vi\nA,1,1\nB,2,1\n"
    line = _error_line(_run(tmp_path, text, *GEN))
    assert len(line) <= 320 and "column 'study': column not found" in line


def test_huge_cell_is_quoted_short(tmp_path):
    text = "study,yi,vi\nA," + "7" * 50_000 + "z,1\nB,2,1\n"
    line = _error_line(_run(tmp_path, text, *GEN))
    assert len(line) <= 320 and "study 'A', column 'yi': not a number" in line


def test_semicolon_table_is_read(tmp_path):
    res = _run(tmp_path, "study;yi;vi\nA;0,5;1\nB;1;1\n".replace("0,5", "0.5"), *GEN)
    assert res.exit_code == 0, res.output


def test_year_of_twenty_digits_and_a_blank(tmp_path):
    text = ("study,year,yi,vi\nA,12345678901234567890,1,1\nB,,2,1\nC,2001,1,1\n")
    line = _error_line(_run(tmp_path, text, *GEN, "--year", "year"))
    assert "study 'A', column 'year': a year must be a whole number from 1000 to 2999" in line


def test_whitespace_only_label_is_an_error_not_a_year(tmp_path):
    text = "study,year,yi,vi\n   ,2003,1,1\nA,2004,2,1\n"
    line = _error_line(_run(tmp_path, text, *GEN, "--year", "year"))
    assert "study label is missing or blank (row 1 of the data)" in line


@pytest.mark.parametrize("args, text, where", [
    (["--measure", "MD"], "study,m_t,sd_t,n_t,m_c,sd_c,n_c\nA,1e308,1,10,1,1,10\nB,1,1,10,2,1,10\n",
     "study 'A', column 'm_t': out of range"),
    (GEN, "study,yi,vi\nA,1,1e-300\nB,2,1e-300\nC,1,1\n", "study 'A'"),
    (["--measure", "PETO"], "study,e_t,n_t,e_c,n_c\nA,1e200,1e300,1e200,1e300\nB,2,10,3,10\n",
     "study 'A', column 'e_t': out of range"),
    (["--measure", "ROM"], "study,m_t,sd_t,n_t,m_c,sd_c,n_c\nA,1,1e200,10,2,1e200,10\nB,1,1,10,2,1,10\n",
     "study 'A', column 'sd_t': out of range"),
    (GEN, "study,yi,vi\nA,1e200,1\nB,-1e200,1\nC,1,1\n", "study 'A', column 'yi': out of range"),
])
def test_out_of_range_numbers_are_named(tmp_path, args, text, where):
    assert where in _error_line(_run(tmp_path, text, *args))


def test_duplicates_warned_and_outcome_filter(tmp_path):
    text = ("study,outcome,week,yi,vi\nA,pain,12,0.5,0.1\nA,function,12,0.2,0.1\n"
            "B,pain,12,0.3,0.2\nB,function,12,0.1,0.2\nC,pain,24,0.4,0.1\n")
    res = _run(tmp_path, text, *GEN)
    assert res.exit_code == 0
    assert "warning: duplicate study labels" in res.output and "'A' (rows 1, 2)" in res.output
    res = _run(tmp_path, text, *GEN, "--outcome", "outcome=pain")
    assert res.exit_code == 0 and "duplicate" not in res.output
    body = [ln.split()[0] for ln in res.output.splitlines()[2:5]]
    assert body == ["A", "B", "C"]
    res = _run(tmp_path, text, *GEN, "--where", "outcome == 'pain' and week == 12")
    assert res.exit_code == 0 and "C " not in res.output and "B " in res.output
    res = _run(tmp_path, text, *GEN, "--outcome", "outcome=pain", "--where", "week > 12",
               "--model", "common")
    assert res.exit_code == 0 and "only one study (C)" in res.output
    assert "no row has 'sleep'" in _error_line(_run(tmp_path, text, *GEN, "--outcome", "outcome=sleep"))
    assert "--where 'week >' cannot be evaluated" in _error_line(_run(tmp_path, text, *GEN, "--where", "week >"))
    res = _run(tmp_path, text, *GEN, "--mods", "~ week", "--outcome", "outcome=pain", command="metareg")
    assert res.exit_code == 0 and "duplicate" not in res.output


def test_drop_incomplete_names_every_study(tmp_path):
    text = ("study,m_t,sd_t,n_t,m_c,sd_c,n_c\nA,1,,10,2,1,10\nB,1,1,,2,1,10\n"
            "C,1,1,10,2,1,10\nD,2,1,12,2.5,1.2,11\n")
    assert "study 'A', column 'sd_t': missing value" in _error_line(_run(tmp_path, text, "--measure", "MD"))
    res = _run(tmp_path, text, "--measure", "MD", "--drop-incomplete")
    assert res.exit_code == 0, res.output
    assert "warning: 2 studies with missing data dropped: 'A' (sd_t missing); 'B' (n_t missing)" in res.output


def test_ratio_ci_on_identity_scale_warns(tmp_path):
    text = "study,or,lo,hi\nA,0.5,0.3,0.9\nB,0.8,0.5,1.3\nC,1.2,0.9,1.6\n"
    res = _run(tmp_path, text, "--measure", "GEN", "--estimate", "or", "--ci", "lo,hi")
    assert res.exit_code == 0 and "--scale ratio" in res.output
    res = _run(tmp_path, text, "--measure", "GEN", "--estimate", "or", "--ci", "lo,hi", "--scale", "ratio")
    assert res.exit_code == 0 and "warning" not in res.output


def test_no_numpy_warnings_reach_the_user(tmp_path):
    # identical estimates with Hartung-Knapp: a zero scale factor (was a ZeroDivisionError)
    text = "study,yi,vi\nA,1,1\nB,1,1\nC,1,1\n"
    res = _run(tmp_path, text, *GEN, "--hk")
    assert res.exit_code == 0, res.output
    assert "encountered" not in res.output
    assert "warning: all estimates are identical, so the Hartung-Knapp scale factor is 0" in res.output


def test_tiny_variances_never_print_minus_zero(tmp_path):
    text = "study,yi,vi\nA,1,1e-20\nB,1,1e-20\nC,1.0000000001,1e-20\n"
    res = _run(tmp_path, text, *GEN, "--model", "common")
    assert res.exit_code == 0 and "-0%" not in res.output and "I² = " in res.output


def _favours(svg: str) -> tuple[str, str]:
    import re

    found = []
    for gid in ("favours-left", "favours-right"):
        block = svg[svg.index(f'id="{gid}"'):]
        found.append(re.search(r"<text[^>]*>([^<]*)</text>", block).group(1))
    return found[0], found[1]


def test_favours_labels_and_higher_is_better(tmp_path):
    text = "study,yi,vi,era\nA,0.5,0.1,late\nB,0.3,0.2,early\nC,0.4,0.1,late\nD,0.1,0.2,early\n"
    svg = tmp_path / "f.svg"
    res = _run(tmp_path, text, *GEN, "--forest", str(svg))
    assert res.exit_code == 0, res.output
    assert _favours(svg.read_text()) == ("Favours [experimental]", "Favours [control]")
    res = _run(tmp_path, text, *GEN, "--forest", str(svg), "--higher-is-better")
    assert res.exit_code == 0, res.output
    assert _favours(svg.read_text()) == ("Favours [control]", "Favours [experimental]")
    res = _run(tmp_path, text, *GEN, "--forest", str(svg), "--favours", "Favours placebo,Favours drug")
    assert _favours(svg.read_text()) == ("Favours placebo", "Favours drug")
    res = _run(tmp_path, text, *GEN, "--favours", "one label only")
    assert res.exit_code == 2 and "two labels" in res.output


def test_subgroup_order(tmp_path):
    text = "study,yi,vi,era\nA,0.5,0.1,late\nB,0.3,0.2,early\nC,0.4,0.1,late\nD,0.1,0.2,early\n"
    res = _run(tmp_path, text, *GEN, "--by", "era")
    assert res.output.index("era = late") < res.output.index("era = early")
    res = _run(tmp_path, text, *GEN, "--by", "era", "--subgroup-order", "early,late")
    assert res.exit_code == 0, res.output
    assert res.output.index("era = early") < res.output.index("era = late")
    line = _error_line(_run(tmp_path, text, *GEN, "--by", "era", "--subgroup-order", "mid"))
    assert "column 'era': subgroup order names 'mid', which is not a subgroup (subgroups are: late, early)" in line
    line = _error_line(_run(tmp_path, text, *GEN, "--subgroup-order", "late"))
    assert "subgroup_order applies to subgroup analyses" in line


def test_report_warnings_keeps_metakit_lines_only(capsys):
    import warnings

    from metakit.cli import _data
    from metakit.errors import MetakitWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("invalid value encountered in divide", RuntimeWarning, stacklevel=1)
        warnings.warn("2 studies excluded: A, B", MetakitWarning, stacklevel=1)
        warnings.warn("2 studies excluded: A, B", MetakitWarning, stacklevel=1)
    _data.report_warnings(caught)
    assert capsys.readouterr().err == "warning: 2 studies excluded: A, B\n"
