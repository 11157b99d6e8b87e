"""``metakit rob summarise``."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from metakit.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "rob"
runner = CliRunner()


def test_summarise_prints_table_and_sentence_and_writes_figures(tmp_path):
    tl, sp = tmp_path / "tl.png", tmp_path / "sp.svg"
    result = runner.invoke(app, ["rob", "summarise", str(EXAMPLES / "seed_rob2.csv"),
                                 "--traffic-light", str(tl), "--summary-plot", str(sp)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Trial J (Spain)" in result.output
    assert ("7 of 10 trials (70%) were at low risk of bias, 3 (30%) raised some concerns and none was "
            "at high risk.") in result.output
    assert tl.stat().st_size > 0 and sp.stat().st_size > 0


def test_summarise_robins_i_and_error_exit():
    ok = runner.invoke(app, ["rob", "summarise", str(EXAMPLES / "robins_i_example.csv"), "--tool", "robins-i"],
                       env={"COLUMNS": "200"})
    assert ok.exit_code == 0 and "1 (13%) was at critical risk" in ok.output
    bad = runner.invoke(app, ["rob", "summarise", str(EXAMPLES / "robins_i_example.csv")],
                        env={"COLUMNS": "200"})
    assert bad.exit_code == 1 and "RoB 2 has no domain D6" in bad.output
