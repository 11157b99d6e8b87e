"""Speed of meta-regression, reported as ratios to metafor measured in the same run.

(a) a single mixed-effects meta-regression, dat.bcg log risk ratios on absolute latitude
    (k = 13, REML, Wald z), result object included: from a formula (``mods="~ ablat"``,
    formulaic builds the design matrix) and from a design matrix;
(b) the permutation test (Higgins & Thompson 2004) of a k = 30 meta-regression with
    10,000 permutations (simulated data, fixed seed), all refits in batched kernel calls;
(c) where ``Rscript`` with metafor is installed: ``rma(yi, vi, mods = ~ ablat)`` per fit
    and ``permutest()`` on the same k = 30 data, and the ratios. ``permutest`` refits one
    model per permutation in R (about 5 ms each), so by default it runs ``--r-iter``
    1,000 permutations and the time is scaled to 10,000 (it is linear in the number of
    permutations); ``--r-iter 10000`` times the full run.

Run: ``python benchmarks/bench_metareg.py [--reps 300] [--r-iter 1000] [--json out.json]``.
Figures are medians of repeated timings (wall clock); the spread shows the machine's load.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import metakit as mk

HERE = Path(__file__).resolve().parent
BCG = HERE.parent / "tests" / "reference" / "metafor" / "metareg_bcg_ablat.json"

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d13 <- read.csv(args[1])
d30 <- read.csv(args[2])
reps <- as.integer(args[3])
iter <- as.integer(args[4])
one <- function() rma(yi, vi, mods = ~ ablat, data = d13, method = "REML")
for (i in 1:20) one()
t <- replicate(5, system.time(for (i in 1:reps) one())[["elapsed"]])
fit30 <- rma(yi, vi, mods = ~ x, data = d30, method = "REML")
set.seed(1)
tp <- system.time(pt <- permutest(fit30, iter = iter, progbar = FALSE))[["elapsed"]]
cat(sprintf("%.9f %.6f %.6f %s\n", median(t) / reps, tp, pt$pval[2], packageVersion("metafor")))
"""


def _median_time(fn, reps: int, rounds: int = 7) -> tuple[float, float, float]:
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t0) / reps)
    return statistics.median(times), min(times), max(times)


def bcg() -> pd.DataFrame:
    """dat.bcg log risk ratios and latitude (from the metafor reference file)."""
    inputs = json.loads(BCG.read_text(encoding="utf-8"))["inputs"]
    return pd.DataFrame({"yi": inputs["yi"], "vi": inputs["vi"], "ablat": inputs["ablat"]})


def simulated(k: int = 30, seed: int = 2) -> pd.DataFrame:
    """k studies with one continuous moderator and residual heterogeneity tau² = 0.05."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, k)
    vi = rng.uniform(0.02, 0.3, k)
    yi = rng.normal(0.1 + 0.05 * x, np.sqrt(vi + 0.05))
    return pd.DataFrame({"yi": yi, "vi": vi, "x": x})


def bench_metafor(d13: pd.DataFrame, d30: pd.DataFrame, reps: int, iters: int):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "d13.csv", Path(tmp) / "d30.csv", Path(tmp) / "t.R"]
        d13.to_csv(paths[0], index=False)
        d30.to_csv(paths[1], index=False)
        paths[2].write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(paths[2]), str(paths[0]), str(paths[1]), str(reps),
                              str(iters)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return None
    single, perm, pval, version = out.stdout.split()
    return {"single_s": float(single), "permutest_s": float(perm), "permutest_iter": iters,
            "permutest_pval": float(pval), "version": version}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--permutations", type=int, default=10_000)
    ap.add_argument("--r-iter", type=int, default=1000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    d13, d30 = bcg(), simulated()
    X13 = np.column_stack([np.ones(len(d13)), d13.ablat])
    out: dict = {"metakit": mk.__version__}
    cases = {
        "formula": lambda: mk.metareg(yi=d13.yi, vi=d13.vi, data=d13, mods="~ ablat"),
        "matrix": lambda: mk.metareg(yi=d13.yi, vi=d13.vi, X=X13),
    }
    for name, fn in cases.items():
        med, lo, hi = _median_time(fn, args.reps)
        out[f"single_{name}_s"] = med
        print(f"(a) single REML meta-regression, k = 13, from a {name:7s}: {med * 1e6:8.0f} us "
              f"(min {lo * 1e6:.0f}, max {hi * 1e6:.0f})")
    fit30 = mk.metareg(yi=d30.yi, vi=d30.vi, data=d30, mods="~ x")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        perm = fit30.permutation_test(iterations=args.permutations, seed=1)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    out.update(permutation_s=med, permutations=args.permutations, permutation_pval=float(perm.pval[1]))
    print(f"(b) permutation test, k = 30, {args.permutations:,} permutations: {med:.3f} s "
          f"(min {min(times):.3f}, max {max(times):.3f}); p(x) = {perm.pval[1]:.4f}")
    ref = bench_metafor(d13, d30, reps=max(20, args.reps // 3), iters=args.r_iter)
    if ref is None:
        print("(c) Rscript with metafor not found: no metafor timing in this run")
    else:
        out["metafor"] = ref
        scaled = ref["permutest_s"] * args.permutations / ref["permutest_iter"]
        print(f"(c) metafor {ref['version']}: rma(mods = ~ ablat) per fit {ref['single_s'] * 1e6:.0f} us;"
              f" permutest {ref['permutest_iter']:,} permutations {ref['permutest_s']:.2f} s"
              f" (p(x) = {ref['permutest_pval']:.4f})"
              + ("" if ref["permutest_iter"] == args.permutations
                 else f", {scaled:.1f} s scaled to {args.permutations:,}"))
        for name in cases:
            r = ref["single_s"] / out[f"single_{name}_s"]
            out[f"speedup_single_{name}_vs_metafor"] = r
            print(f"    single fit from a {name}: metakit is {r:.1f}x faster than metafor")
        r = scaled / med
        out["speedup_permutation_vs_metafor"] = r
        print(f"    {args.permutations:,} permutations: metakit is {r:.0f}x faster than permutest")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
