"""Import + deduplication of ~100,000 generated search records, timed, with peak memory.

Usage::

    python benchmarks/bench_records.py [--records 100000] [--cores 2] [--out DIR]

The exports come from ``benchmarks/dedup_labelled/corpus.py`` (seven formats, the same
publications found in several databases, with the usual corruptions), sized to about
``--records`` records. They are written first (not timed); then a fresh process pinned
to ``--cores`` CPUs imports every file into a new ``review.db`` and deduplicates it. The
figures printed (and written to ``--json``) are that process's wall time per step and
its peak resident memory, with the CPU seconds each step used (on a shared machine the
wall time also counts other people's processes; the load average is printed).
Precision and recall against the corpus truth are printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
RECORDS_PER_PUB = 3.87  # measured mean of corpus.make_records (seed 1)


def child(folder: Path, cores: int) -> dict:
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > cores:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
    os.environ.setdefault("OMP_NUM_THREADS", str(cores))
    t0 = time.perf_counter()
    from metakit.review.store import Project

    sys.path.insert(0, str(HERE / "dedup_labelled"))
    import corpus

    out = {"cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}
    with Project.open(folder / "review.db") as p:
        t1 = time.perf_counter()
        c1 = time.process_time()
        per_file = {}
        for name in sorted(v[0] for v in corpus.FILES.values()):
            ts = time.perf_counter()
            rep = p.import_records(folder / name)
            per_file[name] = {"records": rep.n_imported, "errors": len(rep.errors),
                              "seconds": round(time.perf_counter() - ts, 2)}
        t2 = time.perf_counter()
        c2 = time.process_time()
        d = p.dedup()
        t3 = time.perf_counter()
        c3 = time.process_time()
        counts = p.counts()
    out.update({
        "records": counts["identified"], "duplicates_removed": counts["duplicates_removed"],
        "candidate_pairs": d.n_candidates, "startup_s": round(t1 - t0, 2),
        "import_s": round(t2 - t1, 2), "dedup_s": round(t3 - t2, 2),
        "total_s": round(t3 - t0, 2),
        # CPU seconds (all threads): what the work costs when the cores are shared
        "import_cpu_s": round(c2 - c1, 2), "dedup_cpu_s": round(c3 - c2, 2),
        "load_average_at_end": os.getloadavg()[0], "per_file": per_file,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    })
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.cores)))
        return
    sys.path.insert(0, str(HERE / "dedup_labelled"))
    import corpus

    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        tg = time.perf_counter()
        corpus.write_corpus(folder, round(args.records / RECORDS_PER_PUB), args.seed, "synthetic")
        gen_s = time.perf_counter() - tg
        res = subprocess.run([sys.executable, __file__, "--child", str(folder),
                              "--cores", str(args.cores)], capture_output=True, text=True,
                             check=True)
        result = json.loads(res.stdout.strip().splitlines()[-1])
        result["generate_s"] = round(gen_s, 1)
        # accuracy on the way (not timed)
        import pandas as pd

        from metakit.review.store import Project

        truth = pd.read_csv(folder / "truth.csv")
        with Project.open(folder / "review.db") as p:
            recs = p.records(decode=False)
        frame = pd.DataFrame({"id": recs.index, "file": recs["source_file"].to_numpy(),
                              "line": recs["source_line"].to_numpy(),
                              "dup": recs["duplicate_of"].astype("float").to_numpy()})
        frame["file"] = [Path(f).name for f in frame["file"]]
        frame = frame.merge(truth, on=["file", "line"], how="left")
        frame["group"] = frame["dup"].fillna(frame["id"]).astype(int)
        pred = _pairs(frame, "group")
        true = _pairs(frame, "publication")
        tp = len(pred & true)
        result["precision"] = round(tp / max(len(pred), 1), 5)
        result["recall"] = round(tp / max(len(true), 1), 5)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


def _pairs(frame, col: str) -> set:
    from itertools import combinations

    out = set()
    for _, ids in frame.groupby(col)["id"]:
        if len(ids) > 1:
            out.update(combinations(sorted(ids), 2))
    return out


if __name__ == "__main__":
    main()
