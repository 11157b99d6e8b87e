"""Time to the next record in the terminal screener, with 20,000 records in the store.

Run: ``python benchmarks/bench_screener_latency.py [--records 20000] [--steps 300]``

The store holds the development set's real titles and abstracts
(``../shared/data/screening``), recombined (title of one record, abstract of another)
until there are ``--records`` records. A reviewer's session is replayed with the true
labels of the records it came from: each step is "show the next record" plus "record the
decision" (one SQLite transaction), which is what the reviewer waits for between two
key presses. The model is refitted on the cadence of
:func:`metakit.review.automation.refit_interval`, inside the timed step. The steps of
the previous screener (re-reading every decision from the store at each step, ranking
again through :func:`metakit.review.screening.queue`) are timed on the same store for
comparison. Wall-clock times depend on the load of the machine (printed); the CPU time
of the process is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from metakit.review import screening as scr
from metakit.review.session import ScreeningSession
from metakit.review.store import Project

DATA = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "data" / "screening",
                         Path("/work/shared/data/screening")) if p.exists()),
            Path("../shared/data/screening"))


def build_store(path: Path, n: int) -> np.ndarray:
    frames = [pd.read_csv(f) for f in sorted(DATA.glob("*.csv"))]
    pool = pd.concat(frames, ignore_index=True).fillna("")
    rng = np.random.default_rng(0)
    titles = pool.title.to_numpy()[rng.integers(0, len(pool), n)]
    pick = rng.integers(0, len(pool), n)
    abstracts = pool.abstract.to_numpy()[pick]
    labels = pool.label_included.to_numpy()[pick]
    with Project.open(path) as p:
        p.add_import([{"title": t, "abstract": a, "year": 2000, "journal": "J"}
                      for t, a in zip(titles, abstracts)],
                     file="bench.ris", source_db="MEDLINE", format="ris")
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--old-steps", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name(
        "screener_latency.json"), help="where the figures are written (JSON), for "
        "SCREENING_RESULTS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "review.db"
        labels = build_store(path, args.records)
        with Project.open(path) as p:
            # two priors, as a reviewer's first decisions
            first_in = int(np.flatnonzero(labels == 1)[0]) + 1
            scr.record_decision(p, first_in, "title-abstract", "ann", "include")
            scr.record_decision(p, 1 if first_in != 1 else 2, "title-abstract", "ann",
                                "exclude")
            t0 = time.perf_counter()
            s = ScreeningSession(p, "title-abstract", "ann")
            rid = s.next()
            start = time.perf_counter() - t0
            steps, cpu = [], []
            for _ in range(args.steps):
                t, c = time.perf_counter(), time.process_time()
                s.decide(rid, "include" if labels[rid - 1] else "exclude")
                rid = s.next()
                steps.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            # the previous screener: every step re-read the decisions and the progress
            # from the store, and every 10th re-ranked through queue() (features cached)
            cache: dict = {}
            scr.queue(p, "title-abstract", "ann", cache=cache)
            old_read, old_rank = [], []
            for _ in range(args.old_steps):
                t = time.perf_counter()
                scr.decisions(p, "title-abstract")
                scr.progress(p, "title-abstract", "ann")
                old_read.append(time.perf_counter() - t)
                t = time.perf_counter()
                scr.queue(p, "title-abstract", "ann", cache=cache)
                old_rank.append(time.perf_counter() - t)
    ms, cms = np.array(steps) * 1000, np.array(cpu) * 1000
    load = os.getloadavg()[0]
    print(f"records in the store: {args.records}; load average {load:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"session start (read store, TF-IDF of the pool, first ranking): {start:.1f} s")
    print(f"per step over {args.steps} decisions: median {np.median(ms):.1f} ms, "
          f"95th percentile {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms, "
          f"steps with a refit {s.n_refits}")
    print(f"CPU time per step (this process only): median {np.median(cms):.1f} ms, "
          f"95th percentile {np.percentile(cms, 95):.1f} ms")
    figures = {"records": args.records, "steps": args.steps, "load_average": round(load, 1),
               "cores": os.cpu_count(), "start_s": round(start, 1),
               "wall_median_ms": round(float(np.median(ms)), 1),
               "wall_p95_ms": round(float(np.percentile(ms, 95)), 1),
               "wall_max_ms": round(float(ms.max()), 1),
               "cpu_median_ms": round(float(np.median(cms)), 1),
               "cpu_p95_ms": round(float(np.percentile(cms, 95)), 1),
               "refits": s.n_refits,
               "old_read_ms": round(1000 * float(np.median(old_read))),
               "old_rank_ms": round(1000 * float(np.median(old_rank)))}
    args.out.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"previous screener on the same store: re-reading decisions and progress "
          f"{1000 * np.median(old_read):.0f} ms per step; re-ranking from the store "
          f"(features cached) {1000 * np.median(old_rank):.0f} ms every 10th step")


if __name__ == "__main__":
    main()
