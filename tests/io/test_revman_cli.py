"""``metakit revman``: what a user types and sees."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from metakit.cli import app

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def test_prints_ours_beside_revmans():
    res = runner.invoke(app, ["revman", str(DATA / "Fleiss1993.rm5")])
    assert res.exit_code == 0, res.output
    assert "Analysis 1.1 Aspirin for Preventing Death after Myocardial Infarction" in res.output
    # RevMan's stored OR 0.8968655609130709, shown to 6 significant digits in both columns
    row = next(line for line in res.output.splitlines() if "overall" in line and "estimate" in line)
    assert row.split()[2:4] == ["0.896866", "0.896866"]
    assert "largest relative difference from RevMan" in res.output


def test_json_and_check(tmp_path):
    res = runner.invoke(app, ["revman", str(DATA / "antibiotics-for-sore-throat.rm5"), "-o", "1.2", "--json",
                              "--check"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["max_relative_difference"] < 1e-12
    (analysis,) = out["analyses"]
    assert analysis["analysis"]["number"] == "1.2"
    total = next(r for r in analysis["comparison"] if r["level"] == "overall" and r["statistic"] == "estimate")
    assert total["revman"] == 0.6837765472337998
    assert abs(total["metakit"] - 0.6837765472337998) < 1e-14
    assert len(out["rob"]["assessments"]) == 27


def test_forest_writes_one_png_per_analysis(tmp_path):
    res = runner.invoke(app, ["revman", str(DATA / "Fleiss1993_CR.csv"), "--forest", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis_1_1.png", "analysis_1_2.png"]
    assert (tmp_path / "analysis_1_1.png").read_bytes()[:4] == b"\x89PNG"


def test_truncated_file_is_an_error(tmp_path):
    p = tmp_path / "cut.rm5"
    p.write_bytes((DATA / "Fleiss1993.rm5").read_bytes()[:20000 // 2])
    res = runner.invoke(app, ["revman", str(p)])
    assert res.exit_code == 1
    assert "truncated file" in res.output


def test_unknown_outcome_is_an_error():
    res = runner.invoke(app, ["revman", str(DATA / "Fleiss1993.rm5"), "-o", "9.9"])
    assert res.exit_code == 1 and "no outcome '9.9'" in res.output
