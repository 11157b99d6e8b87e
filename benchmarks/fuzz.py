"""10,000 malformed inputs through the command line and the API, with the count of each outcome.

Usage::

    python benchmarks/fuzz.py [--examples 10000] [--seed 0] [--json out.json]

The inputs and the verdicts are those of ``tests/test_fuzz.py`` (``tests/fuzz_inputs.py``):
study tables for ``metakit meta`` and for ``mk.effect_sizes`` + ``mk.meta``, mutated real
search exports for ``metakit records import`` and mutated risk-of-bias sheets for
``metakit rob summarise``. The examples are shared out 40 / 30 / 15 / 15 %. Outcomes
``traceback``, ``bad-error`` and ``silent-na`` are failures; the first few of each are
printed with their input, and the exit status is 1 if any occurred.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import fuzz_inputs as F  # noqa: E402
from metakit.cli import app  # noqa: E402

SHARES = {"meta": 0.40, "api": 0.30, "records import": 0.15, "rob summarise": 0.15}


def run_family(name: str, n: int, rng_seed: int, failures: dict) -> collections.Counter:
    """Run ``n`` examples of one family; return the count of each outcome."""
    runner = CliRunner()
    counts: collections.Counter = collections.Counter()

    def note(verdict: str, detail) -> None:
        counts[verdict] += 1
        if verdict in F.FAILURES and len(failures.setdefault(f"{name}: {verdict}", [])) < 3:
            failures[f"{name}: {verdict}"].append(repr(detail)[:600])

    conf = settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck))
    if name == "meta":
        @seed(rng_seed)
        @conf
        @given(F.study_table())
        def body(case):
            res = F.run_cli(runner, app, ["meta"], case)
            note(F.verdict(res), (case["args"], case["data"][:200], res.output[-300:], res.exception))
    elif name == "api":
        @seed(rng_seed)
        @conf
        @given(F.study_table())
        def body(case):
            note(F.api_verdict(case), (case["args"], case["data"][:200]))
    elif name == "records import":
        @seed(rng_seed)
        @conf
        @given(F.mutated_file(F.RECORD_SEEDS))
        def body(case):
            res = F.run_cli(runner, app, ["records", "import"], case, project=True)
            note(F.verdict(res), (case["seed"], res.output[-300:], res.exception))
    else:
        @seed(rng_seed)
        @conf
        @given(F.mutated_file(F.ROB_SEEDS))
        def body(case):
            res = F.run_cli(runner, app, ["rob", "summarise"], case)
            note(F.verdict(res, F.NAN), (case["seed"], res.output[-300:], res.exception))
    body()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    failures: dict = {}
    table = {}
    t0 = time.perf_counter()
    for name, share in SHARES.items():
        n = round(args.examples * share)
        t = time.perf_counter()
        counts = run_family(name, n, args.seed, failures)
        table[name] = {o: counts.get(o, 0) for o in F.OUTCOMES}
        print(f"{name:15} {n:6d} examples in {time.perf_counter() - t:6.1f} s: "
              + ", ".join(f"{o} {c}" for o, c in table[name].items() if c), flush=True)
    total = collections.Counter()
    for counts in table.values():
        total.update(counts)
    print(f"{'total':15} {sum(total.values()):6d} examples in {time.perf_counter() - t0:6.1f} s: "
          + ", ".join(f"{o} {total[o]}" for o in F.OUTCOMES if total[o]))
    for key, shown in failures.items():
        print(f"\n{key}:")
        for line in shown:
            print("  " + line)
    if args.json:
        args.json.write_text(json.dumps({"examples": args.examples, "seed": args.seed,
                                         "counts": table, "total": dict(total)}, indent=2))
    return 1 if any(total[o] for o in F.FAILURES) else 0


if __name__ == "__main__":
    sys.exit(main())
