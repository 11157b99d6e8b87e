"""Run ASReview LAB's default model on the development set and cache what it found.

Run (ASReview in its own environment, not a metakit dependency)::

    python -m venv /tmp/asr && /tmp/asr/bin/pip install asreview
    python benchmarks/screening_asreview.py --asreview /tmp/asr/bin/asreview
    python benchmarks/screening_asreview.py --asreview /tmp/asr/bin/asreview \
        --data DIR --cache benchmarks/screening_asreview_validation.json

(the second for the reviews from other fields that ``bench_screening.py --validation
DIR`` reports separately). ``--seeds 6-15 --cache FILE`` runs seeds beyond the
protocol's, to compare with ``screening_explore.py --seeds 6-15`` on more prior draws.

For each data set and seed it writes the data set as ``title,abstract,included``,
passes the *same* prior records as metakit's simulation (:func:`draw_priors`) by row
number (``--prior-idx``), and reads the screening order back from the project's
``results.db``. ASReview stops once every inclusion is found, so the records it never
showed are exclusions and come last. The cache
(``benchmarks/screening_asreview.json``) keeps, per data set and seed, the priors and
the 1-based positions (priors excluded) at which the inclusions were found, from which
WSS@95 and RRF@10 are computed again by ``bench_screening.py``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench_screening import DATA, draw_priors, load_review, seed_range

CACHE = Path(__file__).with_name("screening_asreview.json")


def _order(project_file: Path) -> list[int]:
    with tempfile.TemporaryDirectory() as d, zipfile.ZipFile(project_file) as z:
        name = next(n for n in z.namelist() if n.endswith("results.db"))
        z.extract(name, d)
        con = sqlite3.connect(Path(d) / name)
        rows = con.execute("SELECT d.dataset_row FROM results r JOIN record d "
                           "ON d.record_id = r.record_id ORDER BY r.rowid").fetchall()
        con.close()
    return [int(r[0]) for r in rows]


def run_one(exe: str, frame: Any, priors: tuple[int, int], seed: int,
            workdir: Path) -> list[int]:
    """Positions (1-based, priors excluded) at which ASReview found the inclusions."""
    data = workdir / "data.csv"
    frame[["title", "abstract"]].assign(included=frame["label_included"]).to_csv(
        data, index=False)
    out = workdir / f"sim-{seed}.asreview"
    cmd = [exe, "simulate", str(data), "-o", str(out), "--prior-idx",
           *map(str, priors), "--seed", str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("asreview failed: " + proc.stderr[-2000:])
    order = [r for r in _order(out) if r not in priors]
    labels = frame["label_included"].to_numpy()
    return [k + 1 for k, r in enumerate(order) if labels[r] == 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--asreview", required=True, help="path of the asreview executable")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--only", default="", help="comma-separated data set names")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--seeds", default="",
                    help="seeds other than the protocol's, e.g. 6-15 (give them their own --cache)")
    args = ap.parse_args()
    seeds = seed_range(args.seeds)
    cache = (json.loads(args.cache.read_text()) if args.cache.exists()
             else {"datasets": {}})
    version = subprocess.run([args.asreview, "--version"], capture_output=True,
                             text=True).stdout.split()[-1]
    cache.update({"tool": f"ASReview LAB {version}", "model": "default (elas_u4)",
                  "command": "asreview simulate DATA --prior-idx INC EXC --seed SEED"})
    files = sorted(args.data.glob("*.csv"))
    only = {s for s in args.only.split(",") if s}
    for path in files:
        name = path.stem
        if only and name not in only:
            continue
        frame = load_review(path)
        labels = frame["label_included"].to_numpy()
        runs = {}
        for seed in seeds:
            priors = draw_priors(labels, seed)
            t0 = time.perf_counter()
            with tempfile.TemporaryDirectory() as d:
                found = run_one(args.asreview, frame, priors, seed, Path(d))
            runs[str(seed)] = {"priors": list(priors), "found_at": found,
                               "seconds": round(time.perf_counter() - t0, 1)}
            print(f"{name} seed {seed}: {len(found)} inclusions, last at {found[-1]}",
                  flush=True)
        # merge with what another run may have written meanwhile
        if args.cache.exists():
            cache["datasets"] = {**json.loads(args.cache.read_text())["datasets"],
                                 **cache["datasets"]}
        cache["datasets"][name] = {"n_records": len(labels),
                                   "n_included": int(labels.sum()), "runs": runs}
        args.cache.write_text(json.dumps(cache, indent=1) + "\n")
    print(f"written {args.cache}", file=sys.stderr)


if __name__ == "__main__":
    main()
