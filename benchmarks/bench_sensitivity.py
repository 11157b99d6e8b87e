"""Speed of the sensitivity analyses, reported as ratios to metafor measured in the same run.

(a) GOSH: the model fitted to all 2^20 - 1 = 1,048,575 subsets of k = 20 studies
    (simulated log odds ratios, fixed seed), REML, DL and common effect, in kernel
    blocks; the peak memory the fits allocate (tracemalloc, a separate run);
(b) leave-one-out (one kernel call of 1,000 refits) and influence diagnostics (two kernel
    calls) of a k = 1,000 REML meta-analysis (simulated);
(c) where ``Rscript`` with metafor is installed: ``gosh()`` on the first ``--r-gosh-k``
    studies (default 12, 4,095 fits; metafor refits one model per subset, so its time is
    scaled to 1,048,575 fits by the number of fits, which flatters it: each of its fits
    would hold more studies at k = 20), ``leave1out()`` and ``influence()`` at k = 1,000,
    and the ratios.

Run: ``python benchmarks/bench_sensitivity.py [--rounds 3] [--no-r] [--json out.json]``.
Figures are medians of repeated wall-clock timings; the spread shows the machine's load.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

import metakit as mk
from metakit.stats import sensitivity
from metakit.stats.gosh import gosh
from metakit.stats.kernel import Settings

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
g <- read.csv(args[1]); big <- read.csv(args[2])
fg <- rma(yi, vi, data = g, method = "REML")
tg <- system.time(res <- gosh(fg, progbar = FALSE))[["elapsed"]]
fb <- rma(yi, vi, data = big, method = "REML")
tl <- system.time(l <- leave1out(fb))[["elapsed"]]
ti <- system.time(inf <- influence(fb))[["elapsed"]]
cat(sprintf("%.6f %d %.6f %.6f %.10f %s\n", tg, nrow(res$res), tl, ti, l$estimate[1],
            packageVersion("metafor")))
"""


def simulated(k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """k log odds ratios with tau² = 0.04 around 0.3 and sampling variances 0.01-0.2."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.04))
    return yi, vi


def timed(fn, rounds: int) -> tuple[float, float, float, object]:
    times, out = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times), out


def bench_metafor(g: tuple, big: tuple):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "g.csv", Path(tmp) / "big.csv", Path(tmp) / "t.R"]
        for path, (y, v) in zip(paths, (g, big)):
            path.write_text("yi,vi\n" + "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in zip(y, v)))
        paths[2].write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(paths[2]), str(paths[0]), str(paths[1])],
                             capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(out.stderr)
        return None
    tg, n, tl, ti, l1, version = out.stdout.split()
    return {"gosh_s": float(tg), "gosh_fits": int(n), "leave1out_s": float(tl),
            "influence_s": float(ti), "leave1out_first": float(l1), "version": version}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--r-gosh-k", type=int, default=12)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out: dict = {"metakit": mk.__version__}

    y20, v20 = simulated(20, 1)
    for name, s in (("REML", Settings(tau2_method="REML")), ("DL", Settings(tau2_method="DL")),
                    ("common", Settings(model="common"))):
        med, lo, hi, g = timed(lambda s=s: gosh(y20, v20, s), args.rounds)
        out[f"gosh20_{name}_s"] = med
        print(f"(a) GOSH k = 20, {g.n:,} subsets, {name:6s}: {med:6.2f} s (min {lo:.2f}, "
              f"max {hi:.2f})")
    tracemalloc.start()
    gosh(y20, v20, Settings(tau2_method="REML"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["gosh20_peak_bytes"] = peak
    print(f"    peak memory allocated during the REML run: {peak / 2 ** 20:.0f} MiB")

    yb, vb = simulated(1000, 2)
    s = Settings(tau2_method="REML")
    med_l, lo, hi, loo = timed(lambda: sensitivity.leave_one_out(yb, vb, s), args.rounds)
    out["leave1out_k1000_s"] = med_l
    print(f"(b) leave-one-out, k = 1,000, REML: {med_l:.3f} s (min {lo:.3f}, max {hi:.3f})")
    med_i, lo, hi, _ = timed(lambda: sensitivity.influence(yb, vb, s), args.rounds)
    out["influence_k1000_s"] = med_i
    print(f"    influence, k = 1,000, REML: {med_i:.3f} s (min {lo:.3f}, max {hi:.3f})")

    ref = None if args.no_r else bench_metafor((y20[:args.r_gosh_k], v20[:args.r_gosh_k]),
                                               (yb, vb))
    if ref is None:
        print("(c) no metafor timing in this run (Rscript with metafor not found, or --no-r)")
    else:
        out["metafor"] = ref
        per_fit = ref["gosh_s"] / ref["gosh_fits"]
        scaled = per_fit * ((1 << 20) - 1)
        first = float(loo.fit.beta[0, 0])
        print(f"(c) metafor {ref['version']}: gosh() k = {args.r_gosh_k}, {ref['gosh_fits']:,} fits "
              f"in {ref['gosh_s']:.1f} s ({per_fit * 1e3:.2f} ms per fit; {scaled / 60:.0f} min "
              f"scaled to 1,048,575 fits)")
        print(f"    leave1out() k = 1,000: {ref['leave1out_s']:.1f} s; influence(): "
              f"{ref['influence_s']:.1f} s (first leave-one-out estimate: metafor "
              f"{ref['leave1out_first']:.8f}, metakit {first:.8f})")
        ratios = {"gosh20": scaled / out["gosh20_REML_s"],
                  "leave1out_k1000": ref["leave1out_s"] / med_l,
                  "influence_k1000": ref["influence_s"] / med_i}
        out["speedup_vs_metafor"] = ratios
        for key, r in ratios.items():
            print(f"    {key}: metakit is {r:,.0f}x faster than metafor")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
