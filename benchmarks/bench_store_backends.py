"""Import of 20,000 records and the screener's next record, per store backend.

Run: ``python benchmarks/bench_store_backends.py [--store URL] [--records 20000]
[--steps 200] [--out FILE]``

One run times one store: a SQLite file in a temporary folder (default) or, with
``--store postgresql://...``, a fresh schema of that database (dropped at the end). The
store is filled from a RIS export of ``--records`` records built from the development
set's real titles and abstracts (``../shared/data/screening``, recombined as in
``bench_screener_latency.py``); the figures are

* ``import_s``: :meth:`Project.import_records` of that file (parse + one write
  transaction);
* the screener's step with 20,000 records in the store: "record the decision" (one write
  transaction) plus "the next record" of a
  :class:`~metakit.review.session.ScreeningSession` ranking by relevance, as the terminal
  screener does between two key presses (median, 95th percentile).

The script uses only the store's public API, so the same file times an older checkout
(``PYTHONPATH=old/src python benchmarks/bench_store_backends.py``): compare backends and
versions by running them in turn on the same machine, ``--repeat`` times interleaved
(``bench_store_backends.sh``), never against a fixed number. Wall-clock times depend on
the machine's load (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from metakit.review import screening as scr
from metakit.review.session import ScreeningSession
from metakit.review.store import Project

DATA = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "data" / "screening",
                         Path("/work/shared/data/screening")) if p.exists()),
            Path("../shared/data/screening"))


def write_ris(path: Path, n: int) -> np.ndarray:
    """A RIS export of ``n`` recombined real records; returns their inclusion labels."""
    pool = pd.concat([pd.read_csv(f) for f in sorted(DATA.glob("*.csv"))],
                     ignore_index=True).fillna("")
    rng = np.random.default_rng(0)
    titles = pool.title.to_numpy()[rng.integers(0, len(pool), n)]
    pick = rng.integers(0, len(pool), n)
    abstracts = pool.abstract.to_numpy()[pick]
    with open(path, "w", encoding="utf-8") as fh:
        for i, (t, a) in enumerate(zip(titles, abstracts)):
            t = " ".join(str(t).split()) or f"Untitled {i}"
            a = " ".join(str(a).split())
            fh.write(f"TY  - JOUR\nTI  - {t}\nAU  - Author, A{i % 97}\nPY  - {2000 + i % 20}\n"
                     f"JO  - Journal {i % 50}\nAB  - {a}\nER  - \n\n")
    return pool.label_included.to_numpy()[pick]


def fresh_schema(base: str) -> tuple[str, object]:
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(sa.make_url(base).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", drop


def run(target: str, ris: Path, labels: np.ndarray, steps: int) -> dict:
    t0 = time.perf_counter()
    with Project.open(target) as p:
        rep = p.import_records(ris, source="MEDLINE")
        import_s = time.perf_counter() - t0
        n = rep.n_imported
        first_in = int(np.flatnonzero(labels == 1)[0]) + 1
        scr.record_decision(p, first_in, "title-abstract", "ann", "include")
        scr.record_decision(p, 1 if first_in != 1 else 2, "title-abstract", "ann", "exclude")
        t = time.perf_counter()
        s = ScreeningSession(p, "title-abstract", "ann")
        rid = s.next()
        start_s = time.perf_counter() - t
        ms = []
        for _ in range(steps):
            t = time.perf_counter()
            s.decide(rid, "include" if labels[rid - 1] else "exclude")
            rid = s.next()
            ms.append(1000 * (time.perf_counter() - t))
    return {"records": n, "import_s": round(import_s, 2), "session_start_s": round(start_s, 2),
            "step_median_ms": round(float(np.median(ms)), 1),
            "step_p95_ms": round(float(np.percentile(ms, 95)), 1),
            "load_average": round(os.getloadavg()[0], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=None, help="postgresql://... (default: a SQLite file)")
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--label", default=None, help="name of this run in the output")
    ap.add_argument("--out", type=Path, default=None, help="append the figures (JSON line)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        ris = Path(d) / "search.ris"
        labels = write_ris(ris, args.records)
        drop = None
        if args.store:
            target, drop = fresh_schema(args.store)
        else:
            target = str(Path(d) / "review.db")
        try:
            figures = run(target, ris, labels, args.steps)
        finally:
            if drop is not None:
                drop()
    figures = {"run": args.label or ("postgresql" if args.store else "sqlite"), **figures}
    print(json.dumps(figures))
    if args.out is not None:
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
