"""Speed of network meta-analysis (metakit.network), with netmeta / rma.mv where installed.

(a) Senn 2013 complete: the fit (common and random effects, generalised DL tau², Q within
    and between designs), the design decomposition (``decomp.design``: Q per design, after
    detaching each design, under random effects), P-scores of both models and node-splitting
    (``netsplit``) of both models, from prepared contrasts. Target: under 1 ms.
(b) A random connected network of 100 treatments and 2,000 studies, 10% of them three-arm
    (recipe in :func:`random_network`): the same work. Target: under 2 s.
(c) Where ``Rscript`` has netmeta: ``netmeta()``, ``decomp.design()`` and ``netsplit()`` on
    Senn 2013, timed in the same run.
(d) Where ``Rscript`` has metafor: ``rma.mv`` (REML, random = ~ comp | study, rho = 1/2) on
    the arm-level dat.senn2013 contrasts of tests/reference/netmeta/nma_senn2013_rmamv.json,
    against metakit's REML fit of the same contrasts (``nma(tau2_method="REML")``).

Run: ``python benchmarks/bench_network.py [--rounds 15] [--json out.json]``. Figures are the
minimum and the median of repeated timings (wall clock); on a loaded machine the median
moves, the minimum much less. The matrices are small (n x n, n = treatments): on a shared
machine a multi-threaded BLAS can cost far more than the arithmetic (the 100-treatment fit
took 0.2 s with OpenBLAS threads on a loaded 2-core machine and 1 ms with
``OPENBLAS_NUM_THREADS=1``), so set that variable when timing.
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

from metakit.network import from_contrasts, nma
from metakit.network.data import NetworkData, build

HERE = Path(__file__).resolve().parent
SENN = HERE.parent / "tests" / "reference" / "netmeta" / "nma_senn2013_netmeta.json"

R_SCRIPT = r"""
suppressPackageStartupMessages({library(netmeta); library(metafor)})
d <- read.csv(commandArgs(trailingOnly = TRUE)[1])
reps <- as.integer(commandArgs(trailingOnly = TRUE)[2])
fit <- function() netmeta(TE, seTE, treat1, treat2, studlab, data = d, sm = "MD", reference.group = "plac")
n1 <- fit()
tf <- median(replicate(3, system.time(for (i in 1:reps) fit())[["elapsed"]])) / reps
td <- median(replicate(3, system.time(decomp.design(n1))[["elapsed"]]))
ts <- median(replicate(3, system.time(netsplit(n1))[["elapsed"]]))
cat(sprintf("%.6f %.6f %.6f %s\n", tf, td, ts, packageVersion("netmeta")))
"""


RMA_SCRIPT = r"""
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
inp <- fromJSON(args[1])$inputs
reps <- as.integer(args[2])
dat <- data.frame(yi = inp$yi, study = inp$study, comp = inp$comp)
trts <- setdiff(sort(unique(c(inp$treatment.1, inp$treatment.2))), "placebo")
for (t in trts) dat[[t]] <- (inp$treatment.1 == t) - (inp$treatment.2 == t)
V <- as.matrix(inp$V)
f <- as.formula(paste("~", paste(trts, collapse = " + "), "- 1"))
one <- function() rma.mv(yi, V, mods = f, random = ~ comp | study, rho = 1/2, data = dat)
fit <- one()
t <- median(replicate(3, system.time(for (i in 1:reps) one())[["elapsed"]])) / reps
cat(sprintf("%.6f %.10f %s\n", t, fit$tau2, packageVersion("metafor")))
"""
RMAMV = HERE.parent / "tests" / "reference" / "netmeta" / "nma_senn2013_rmamv.json"


def bench_rma_mv(reps: int) -> dict | None:
    """rma.mv's time per REML fit of the Senn 2013 contrast model, if R has metafor."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "rma.R"
        script.write_text(RMA_SCRIPT, encoding="utf-8")
        run = subprocess.run(["Rscript", str(script), str(RMAMV), str(reps)], capture_output=True, text=True)
    if run.returncode != 0:
        return None
    out = run.stdout.split()
    return {"rma_mv_s": float(out[0]), "tau2": float(out[1]), "metafor": out[2]}


def senn() -> NetworkData:
    """Senn 2013 contrasts (netmeta's data set, from the reference file)."""
    inp = json.loads(SENN.read_text(encoding="utf-8"))["inputs"]
    return from_contrasts({k: inp[k] for k in ("studlab", "treat1", "treat2", "TE", "seTE")}, measure="MD")


def random_network(n: int = 100, k: int = 2000, three_arm: float = 0.1, seed: int = 1) -> NetworkData:
    """A connected random network: the first n - 1 studies form a random spanning tree, the
    rest compare random pairs (or triples, with probability ``three_arm``); arm variances
    U(0.01, 0.1), true effects N(0, 0.5²), tau² = 0.02, arm-level sampling errors (so that a
    three-arm study's contrasts are correlated as they should be)."""
    rng = np.random.default_rng(seed)
    effect = rng.normal(0, 0.5, n)
    study, t1, t2, te, se = [], [], [], [], []
    for s in range(k):
        if s < n - 1:
            arms = [s + 1, int(rng.integers(0, s + 1))]
        else:
            arms = rng.choice(n, 3 if rng.random() < three_arm else 2, replace=False).tolist()
        var = rng.uniform(0.01, 0.1, len(arms))
        obs = effect[arms] + rng.normal(0, np.sqrt(var)) + rng.normal(0, np.sqrt(0.01), len(arms))
        for i in range(len(arms)):
            for j in range(i + 1, len(arms)):
                study.append(s)
                t1.append(arms[i])
                t2.append(arms[j])
                te.append(obs[i] - obs[j])
                se.append(np.sqrt(var[i] + var[j]))
    names = [f"T{i:03d}" for i in range(n)]
    return build([f"S{s}" for s in range(k)], names, study, t1, t2, te, se, "MD")


def complete(net: NetworkData, reference: str) -> None:
    """Fit, Q decomposition, P-scores and netsplit of both models."""
    res = nma(net, reference=reference)
    res.decomp_design()
    for model in ("common", "random"):
        res.pscores(model)
        res.netsplit(model)


def timed(fn, reps: int, rounds: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t0) / reps)
    return min(times), statistics.median(times)


def bench_r(net: NetworkData, reps: int) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    check = subprocess.run(["Rscript", "-e", "cat(requireNamespace('netmeta', quietly=TRUE))"],
                           capture_output=True, text=True)
    if check.stdout.strip() != "TRUE":
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "senn.csv"
        rows = ["studlab,treat1,treat2,TE,seTE"] + [
            f"{net.studies[s]},{net.treatments[a]},{net.treatments[b]},{y!r},{e!r}"
            for s, a, b, y, e in zip(net.study, net.t1, net.t2, net.TE, net.seTE)]
        csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT, encoding="utf-8")
        out = subprocess.run(["Rscript", str(script), str(csv), str(reps)], capture_output=True, text=True,
                             check=True).stdout.split()
    return {"netmeta_fit_s": float(out[0]), "decomp_design_s": float(out[1]), "netsplit_s": float(out[2]),
            "netmeta": out[3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out: dict = {}
    net = senn()
    out["senn_fit_s"] = timed(lambda: nma(net, reference="plac"), 50, args.rounds)
    out["senn_complete_s"] = timed(lambda: complete(net, "plac"), 20, args.rounds)
    big = random_network()
    out["big"] = {"n": big.n, "k": big.k, "m": big.m, "three_arm": int(np.sum(big.narms == 3))}
    out["big_fit_s"] = timed(lambda: nma(big, reference="T000"), 1, max(3, args.rounds // 5))
    out["big_complete_s"] = timed(lambda: complete(big, "T000"), 1, max(3, args.rounds // 5))
    out["r"] = bench_r(net, 3)
    contrasts = json.loads(RMAMV.read_text(encoding="utf-8"))["netmeta_same_data_REML"]["contrasts"]
    reml_net = from_contrasts(contrasts, measure="MD")
    out["senn_reml_fit_s"] = timed(lambda: nma(reml_net, reference="placebo", tau2_method="REML"), 20, args.rounds)
    out["rma_mv"] = bench_rma_mv(20)
    for key in ("senn_fit_s", "senn_complete_s"):
        lo, med = out[key]
        print(f"{key:<18} min {lo * 1e3:8.3f} ms   median {med * 1e3:8.3f} ms")
    print(f"random network: {out['big']}")
    for key in ("big_fit_s", "big_complete_s"):
        lo, med = out[key]
        print(f"{key:<18} min {lo:8.3f} s    median {med:8.3f} s")
    if out["r"] is None:
        print("Rscript with netmeta not found: no R timings in this run")
    else:
        r = out["r"]
        r_total = r["netmeta_fit_s"] + r["decomp_design_s"] + r["netsplit_s"]
        print(f"netmeta {r['netmeta']}: fit {r['netmeta_fit_s'] * 1e3:.1f} ms, decomp.design "
              f"{r['decomp_design_s'] * 1e3:.1f} ms, netsplit {r['netsplit_s'] * 1e3:.1f} ms; "
              f"metakit complete is {r_total / out['senn_complete_s'][1]:.0f}x faster")
    lo, med = out["senn_reml_fit_s"]
    print(f"senn REML fit      min {lo * 1e3:8.3f} ms   median {med * 1e3:8.3f} ms")
    if out["rma_mv"] is None:
        print("Rscript with metafor not found: no rma.mv timing in this run")
    else:
        r = out["rma_mv"]
        print(f"metafor {r['metafor']} rma.mv REML: {r['rma_mv_s'] * 1e3:.1f} ms per fit (tau² {r['tau2']:.8f}); "
              f"metakit's REML fit is {r['rma_mv_s'] / med:.0f}x faster (medians)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
