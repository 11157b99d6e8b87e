"""Property-based tests over the command line and the API with malformed inputs (issue 13).

Every run ends in a result (with a warning whenever it shows NA) or in a metakit error of
one line naming its file, study, column, line or record: never a traceback, a multi-line
or unbounded message, or a silent NA. The inputs and the verdict are in
``tests/fuzz_inputs.py``; ``benchmarks/fuzz.py`` runs 10,000 of them and counts outcomes.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

import fuzz_inputs as F
from metakit.cli import app

runner = CliRunner()


def fast(n: int) -> settings:
    """n examples, the same ones each run (derandomized), no example database on disk."""
    return settings(max_examples=n, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def _check(verdict: str, detail) -> None:
    assert verdict in F.OUTCOMES
    assert verdict not in F.FAILURES, (verdict, detail)


@fast(120)
@given(F.study_table())
def test_meta_cli_never_tracebacks_or_prints_silent_na(case):
    res = F.run_cli(runner, app, ["meta"], case)
    _check(F.verdict(res), (case["args"], case["data"][:200], res.output[-400:], res.exception))


@fast(150)
@given(F.study_table())
def test_api_raises_only_metakit_errors(case):
    _check(F.api_verdict(case), (case["args"], case["data"][:200]))


@fast(50)
@given(F.mutated_file(F.RECORD_SEEDS))
def test_records_import_never_tracebacks(case):
    res = F.run_cli(runner, app, ["records", "import"], case, project=True)
    _check(F.verdict(res), (case["seed"], res.output[-400:], res.exception))


@fast(60)
@given(F.mutated_file(F.ROB_SEEDS))
def test_rob_summarise_never_tracebacks(case):
    res = F.run_cli(runner, app, ["rob", "summarise"], case)
    _check(F.verdict(res, F.NAN), (case["seed"], res.output[-400:], res.exception))


# -- found by benchmarks/fuzz.py, kept as plain cases -----------------------------------

def _rob(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return runner.invoke(app, ["rob", "summarise", str(path)])


def test_rob_header_over_the_csv_field_limit_is_a_named_error(tmp_path):
    res = _rob(tmp_path, "rob.csv", b"x" * 140_000 + b"\nA,Low\n")
    assert F.verdict(res, F.NAN) == "error", res.output
    assert "rob.csv, line 1: field larger than field limit" in res.output


def test_rob_yaml_control_character_is_one_line_with_its_line(tmp_path):
    text = (F.ROOT / "examples" / "rob" / "overrides_example.yaml").read_bytes()
    cut = text.index(b"\n", 200) + 1
    res = _rob(tmp_path, "rob.yaml", text[:cut] + b"\x15" + text[cut:])
    assert F.verdict(res, F.NAN) == "error", res.output
    line = text[:cut].count(b"\n") + 1
    assert f"rob.yaml, line {line}: YAML syntax error: character '\\x15' is not allowed" in res.output


def test_rob_assessment_without_outcome_shows_a_dash_not_nan(tmp_path):
    text = (F.ROOT / "examples" / "rob" / "overrides_example.yaml").read_text()
    first = next(ln for ln in text.splitlines() if ln.strip().startswith("outcome:"))
    res = _rob(tmp_path, "rob.yaml", text.replace(first + "\n", "", 1).encode())
    assert res.exit_code == 0, res.output
    assert "nan" not in res.output and "—" in res.output
