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


# ---- judgements are never cut to fit the width ---------------------------------------------------

def _expected_rows(path, tool):
    from metakit.rob import read_assessments

    t = read_assessments(path, tool)
    return [[a.study, *(a.domains[k] for k in t.tool.domain_keys), a.overall] for a in t.assessments]


def test_piped_table_keeps_every_judgement_whole_at_80_columns():
    path = EXAMPLES / "robins_i_example.csv"
    result = runner.invoke(app, ["rob", "summarise", str(path), "--tool", "robins-i"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "\u2026" not in result.output
    rows = [[c.strip() for c in line.split("\u2502")[1:-1]] for line in result.output.splitlines()
            if line.startswith("\u2502")]
    # One line per study, every judgement in full ("No information", never "No info…").
    assert rows == _expected_rows(path, "robins-i")


def _render(table, width):
    import io

    from rich.console import Console

    from metakit.cli.rob import print_judgements

    out = io.StringIO()
    print_judgements(Console(width=width, force_terminal=True, color_system=None, file=out), table)
    return out.getvalue()


def test_narrow_terminal_wraps_between_words_only():
    from metakit.rob import read_assessments

    seed = read_assessments(EXAMPLES / "seed_rob2.csv")
    out = _render(seed, 80)
    assert "\u2026" not in out and max(map(len, out.splitlines())) <= 80
    fragments = {c.strip() for line in out.splitlines() if line.startswith("\u2502")
                 for c in line.split("\u2502")[2:-1]}
    # Judgement cells hold whole words only: "Some concerns" may wrap to "Some" / "concerns".
    assert fragments <= {"", "Low", "High", "Some", "concerns", "Some concerns"}
    robins = read_assessments(EXAMPLES / "robins_i_example.csv", "robins-i")
    out = _render(robins, 60)
    assert "\u2026" not in out and max(map(len, out.splitlines())) <= 60
    flat = " ".join(out.split())
    for study, *judgements in _expected_rows(EXAMPLES / "robins_i_example.csv", "robins-i"):
        keys = [f"D{i}" for i in range(1, 8)] + ["Overall"]
        assert f"{study}: " + ", ".join(f"{k} {j}" for k, j in zip(keys, judgements)) in flat


def test_error_messages_are_printed_verbatim(tmp_path):
    p = tmp_path / "rob.csv"
    p.write_text("study,d1,d2,d3,d4,d5\nA,Low,Low,Low,Low,[bold]odd[/]\n")
    result = runner.invoke(app, ["rob", "summarise", str(p)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "judgement '[bold]odd[/]' is not one of" in result.output and "Traceback" not in result.output


def test_figure_warnings_are_report_lines(tmp_path):
    # A study label in Chinese: the default font lacks it, said once in plain words.
    p = tmp_path / "rob.csv"
    p.write_text("study,d1,d2,d3,d4,d5\n\u738b 2010,Low,Low,Low,Low,Low\nLi 2012,Low,High,Low,Low,Low\n",
                 encoding="utf-8")
    result = runner.invoke(app, ["rob", "summarise", str(p), "--traffic-light", str(tmp_path / "t.png")],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("warning:")]
    assert len(lines) == 1 and "no glyph for '\u738b'" in lines[0]
    assert "Glyph" not in result.output and "UserWarning" not in result.output
