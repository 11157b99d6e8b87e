"""Speed of the pairwise engine, reported as ratios to references measured in the same run.

(a) single REML fit latency, k = 10, from effect sizes to the result object (mk.meta);
(b) 100,000 REML meta-analyses with k from 5 to 50 in one batched call (mk.batch.meta);
(d) ``mk.effect_sizes`` on a clean 10-row sheet of arm counts (OR), from DataFrame to effect sizes;
(c) where ``Rscript`` with metafor is installed, metafor's rma() per fit (REML and DL,
    k = 10) timed in the same run, and the ratios.

Run: ``python benchmarks/bench_pairwise.py [--n-batch 100000] [--json out.json]``.
Figures are medians of repeated timings; the machine's noise shows in the spread.
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

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- as.integer(args[2])
time_fit <- function(method) {
  for (i in 1:20) rma(d$yi, d$vi, method = method)
  t <- replicate(5, system.time(for (i in 1:reps) rma(d$yi, d$vi, method = method))[["elapsed"]])
  median(t) / reps
}
cat(sprintf("%.9f %.9f %s\n", time_fit("REML"), time_fit("DL"), packageVersion("metafor")))
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


def bench_single(es, method: str, reps: int):
    return _median_time(lambda: mk.meta(es, tau2_method=method), reps)


def make_batch(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    kmax = 50
    k = rng.integers(5, kmax + 1, n)
    mask = np.arange(kmax)[None, :] < k[:, None]
    tau2 = rng.uniform(0.0, 0.3, n)
    v = rng.uniform(0.01, 0.3, (n, kmax))
    y = rng.normal(0.2, np.sqrt(v + tau2[:, None]))
    return y, v, mask


def bench_batch(n: int, method: str, rounds: int = 3):
    y, v, mask = make_batch(n)
    mk.batch.meta(y[:1000], v[:1000], mask[:1000], tau2_method=method)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        res = mk.batch.meta(y, v, mask, tau2_method=method)
        times.append(time.perf_counter() - t0)
    assert bool(res.converged.all())
    return statistics.median(times), min(times), max(times)


def bench_metafor(data: pd.DataFrame, reps: int):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        script = Path(tmp) / "t.R"
        data.to_csv(csv, index=False)
        script.write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(script), str(csv), str(reps)], capture_output=True,
                             text=True, check=False)
    if out.returncode != 0:
        return None
    reml, dl, version = out.stdout.split()
    return {"REML": float(reml), "DL": float(dl), "version": version}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-batch", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    rng = np.random.default_rng(7)
    v = rng.uniform(0.02, 0.2, 10)
    y = rng.normal(0.3, np.sqrt(v + 0.1))
    data = pd.DataFrame({"study": [f"S{i}" for i in range(10)], "yi": y, "vi": v})
    es = mk.effect_sizes(data, "GEN", variance="vi")

    out = {"metakit": mk.__version__}
    for method in ("REML", "DL"):
        med, lo, hi = bench_single(es, method, args.reps)
        out[f"single_{method}_s"] = med
        print(f"(a) single {method} fit, k = 10, result object included: "
              f"{med * 1e6:8.1f} us (min {lo * 1e6:.1f}, max {hi * 1e6:.1f})")
    arms = pd.DataFrame({"study": [f"S{i}" for i in range(10)], "e_t": rng.integers(1, 30, 10),
                         "n_t": 120, "e_c": rng.integers(1, 30, 10), "n_c": 118})
    med, lo, hi = _median_time(lambda: mk.effect_sizes(arms, "OR"), args.reps)
    out["effect_sizes_s"] = med
    print(f"(d) effect_sizes, 10 studies, OR from counts: {med * 1e6:8.1f} us "
          f"(min {lo * 1e6:.1f}, max {hi * 1e6:.1f})")
    med, lo, hi = bench_batch(args.n_batch, "REML")
    out["batch_REML_s"] = med
    out["n_batch"] = args.n_batch
    print(f"(b) {args.n_batch:,} REML meta-analyses (k 5..50) in one call: {med:.3f} s "
          f"(min {lo:.3f}, max {hi:.3f}); {med / args.n_batch * 1e6:.2f} us per meta-analysis")
    ratio_loop = out["single_REML_s"] * args.n_batch / med
    print(f"    batch throughput / single-fit loop throughput: {ratio_loop:.0f}x")
    out["batch_vs_single_loop"] = ratio_loop
    ref = bench_metafor(data, reps=200)
    if ref is None:
        print("(c) Rscript with metafor not found: no metafor timing in this run")
    else:
        out["metafor"] = ref
        print(f"(c) metafor {ref['version']} rma() per fit, k = 10: REML {ref['REML'] * 1e6:.0f} us,"
              f" DL {ref['DL'] * 1e6:.0f} us")
        for method in ("REML", "DL"):
            r = ref[method] / out[f"single_{method}_s"]
            out[f"speedup_single_{method}_vs_metafor"] = r
            print(f"    single {method}: metakit is {r:.1f}x faster than metafor")
        r = ref["REML"] * args.n_batch / med
        out["speedup_batch_REML_vs_metafor"] = r
        print(f"    batch REML throughput: {r:.0f}x metafor's (one rma() per meta-analysis)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
