"""Speed of the sensitivity analyses, reported as ratios to metafor measured in the same run.

(a) GOSH: the model fitted to all 2^20 - 1 = 1,048,575 subsets of k = 20 studies
    (simulated log odds ratios, fixed seed), REML, DL and common effect, in kernel
    blocks (REML with the numba solver where installed, and on the numpy kernel alone);
    the peak memory the fits allocate (tracemalloc, a separate run);
(b) leave-one-out (one kernel call of 1,000 refits) and influence diagnostics (two kernel
    calls) of a k = 1,000 REML meta-analysis (simulated);
(c) where ``Rscript`` with metafor is installed: ``gosh()`` on the first ``--r-gosh-k``
    studies (default 12, 4,095 fits; metafor refits one model per subset, so its time is
    scaled to 1,048,575 fits by the number of fits, which flatters it: each of its fits
    would hold more studies at k = 20), ``leave1out()`` and ``influence()`` at k = 1,000
    (each in its own Rscript, stopped after ``--r-timeout`` seconds: the time is then a
    lower bound, metafor's refits use k x k matrices), and the ratios.

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

R_PRELUDE = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
f <- rma(yi, vi, data = d, method = "REML")
"""
R_WORK = {
    "gosh": "t <- system.time(r <- gosh(f, progbar = FALSE))[['elapsed']]; n <- nrow(r$res)",
    "leave1out": "t <- system.time(r <- leave1out(f))[['elapsed']]; n <- r$estimate[1]",
    "influence": "t <- system.time(r <- influence(f))[['elapsed']]; n <- r$inf$cook.d[1]",
}
R_OUT = 'cat(sprintf("%.6f %.12g %s\\n", t, n, packageVersion("metafor")))\n'


def simulated(k: int, seed: int, tau2: float = 0.04) -> tuple[np.ndarray, np.ndarray]:
    """k log odds ratios with the given tau² around 0.3 and sampling variances 0.01-0.2."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(0.3, np.sqrt(vi + tau2))
    return yi, vi


def timed(fn, rounds: int) -> tuple[float, float, float, object, float]:
    """Median, min and max wall-clock seconds, the last result, and the median CPU
    seconds of this process (less sensitive than wall clock to a shared machine)."""
    times, cpu, out = [], [], None
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), min(times), max(times), out, statistics.median(cpu)


def _csv(path: Path, y, v) -> None:
    path.write_text("yi,vi\n" + "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in zip(y, v)))


def bench_metafor(work: str, y, v, timeout: float) -> dict | None:
    """Time one metafor function in a fresh Rscript; ``timed_out`` when it ran past
    ``timeout`` seconds (the figure is then a lower bound)."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data, script = Path(tmp) / "d.csv", Path(tmp) / "t.R"
        _csv(data, y, v)
        script.write_text(R_PRELUDE + R_WORK[work] + "\n" + R_OUT)
        try:
            out = subprocess.run(["Rscript", str(script), str(data)], capture_output=True,
                                 text=True, check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"seconds": timeout, "timed_out": True, "value": None}
    if out.returncode != 0:
        print(out.stderr)
        return None
    t, value, version = out.stdout.split()
    return {"seconds": float(t), "timed_out": False, "value": float(value), "version": version}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--r-gosh-k", type=int, default=12)
    ap.add_argument("--r-timeout", type=float, default=600.0,
                    help="seconds each metafor run may take (a lower bound is reported beyond)")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out: dict = {"metakit": mk.__version__}

    y20, v20 = simulated(20, 1)
    t0 = time.perf_counter()
    gosh(y20[:4], v20[:4], Settings(tau2_method="REML"))
    out["first_call_s"] = time.perf_counter() - t0
    print(f"(a) first REML GOSH call (numba compiles, or loads its cache): "
          f"{out['first_call_s']:.2f} s")
    for name, s in (("REML", Settings(tau2_method="REML")), ("DL", Settings(tau2_method="DL")),
                    ("common", Settings(model="common"))):
        med, lo, hi, g, cpu = timed(lambda s=s: gosh(y20, v20, s), args.rounds)
        out[f"gosh20_{name}_s"] = med
        out[f"gosh20_{name}_cpu_s"] = cpu
        print(f"(a) GOSH k = 20, {g.n:,} subsets, {name:6s}: {med:6.2f} s (min {lo:.2f}, "
              f"max {hi:.2f}; CPU {cpu:.2f} s)")
    med, lo, hi, g, cpu = timed(lambda: gosh(y20, v20, Settings(tau2_method="REML"),
                                             compiled=False), args.rounds)
    out["gosh20_REML_numpy_s"] = med
    print(f"    REML on the numpy kernel only (compiled=False): {med:6.2f} s (min {lo:.2f}, "
          f"max {hi:.2f}; CPU {cpu:.2f} s)")
    # homogeneous studies: many subsets have a non-positive REML score at 0 with Q > df,
    # where the estimator scans for an interior maximum (the numpy kernel's slowest case)
    y0, v0 = simulated(20, 1, tau2=0.0)
    for label, comp in (("numba", None), ("numpy", False)):
        med, lo, hi, g, cpu = timed(lambda comp=comp: gosh(y0, v0, Settings(tau2_method="REML"),
                                                           compiled=comp), args.rounds)
        out[f"gosh20_REML_homogeneous_{label}_s"] = med
        print(f"    REML, homogeneous studies (tau² = 0), {label}: {med:6.2f} s (min {lo:.2f}, "
              f"max {hi:.2f}; CPU {cpu:.2f} s)")
    tracemalloc.start()
    gosh(y20, v20, Settings(tau2_method="REML"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["gosh20_peak_bytes"] = peak
    print(f"    peak memory allocated during the REML run: {peak / 2 ** 20:.0f} MiB")

    yb, vb = simulated(1000, 2)
    s = Settings(tau2_method="REML")
    med_l, lo, hi, loo, _ = timed(lambda: sensitivity.leave_one_out(yb, vb, s), args.rounds)
    out["leave1out_k1000_s"] = med_l
    print(f"(b) leave-one-out, k = 1,000, REML: {med_l:.3f} s (min {lo:.3f}, max {hi:.3f})")
    med_i, lo, hi, _, _ = timed(lambda: sensitivity.influence(yb, vb, s), args.rounds)
    out["influence_k1000_s"] = med_i
    print(f"    influence, k = 1,000, REML: {med_i:.3f} s (min {lo:.3f}, max {hi:.3f})")

    if args.no_r or shutil.which("Rscript") is None:
        print("(c) no metafor timing in this run (Rscript with metafor not found, or --no-r)")
    else:
        kg = args.r_gosh_k
        runs = {"gosh": bench_metafor("gosh", y20[:kg], v20[:kg], args.r_timeout),
                "leave1out": bench_metafor("leave1out", yb, vb, args.r_timeout),
                "influence": bench_metafor("influence", yb, vb, args.r_timeout)}
        out["metafor"] = runs
        ours = {"gosh": out["gosh20_REML_s"], "leave1out": med_l, "influence": med_i}
        ratios = {}
        for work, r in runs.items():
            if r is None:
                print(f"(c) metafor {work}: failed")
                continue
            secs = r["seconds"]
            if work == "gosh" and not r["timed_out"]:
                fits = int(r["value"])
                secs = secs / fits * ((1 << 20) - 1)
                print(f"(c) metafor gosh() k = {kg}: {fits:,} fits in {r['seconds']:.1f} s "
                      f"({r['seconds'] / fits * 1e3:.2f} ms per fit), {secs / 60:.0f} min scaled "
                      "to 1,048,575 fits")
            else:
                bound = "more than " if r["timed_out"] else ""
                size = str(kg) if work == "gosh" else "1,000"
                print(f"(c) metafor {work}() k = {size}: {bound}{r['seconds']:.1f} s")
            ratios[work] = secs / ours[work]
            at_least = "at least " if r["timed_out"] else ""
            print(f"    {work}: metakit is {at_least}{ratios[work]:,.0f}x faster than metafor")
        if runs["leave1out"] and not runs["leave1out"]["timed_out"]:
            print(f"    first leave-one-out estimate: metafor {runs['leave1out']['value']:.8f}, "
                  f"metakit {float(loo.fit.beta[0, 0]):.8f}")
        out["speedup_vs_metafor"] = ratios
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
