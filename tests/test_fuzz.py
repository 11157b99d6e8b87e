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
