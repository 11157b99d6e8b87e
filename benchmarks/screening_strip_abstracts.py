"""Copies of labelled reviews in which a share of the records lose their abstract.

Run: ``python benchmarks/screening_strip_abstracts.py IN_DIR OUT_DIR [--share 0.5]``

Many exports (conference proceedings, older records, some databases) carry a title and
no abstract. For each CSV in IN_DIR (title, abstract and a label column) this writes
``<name>_no_abstract_<share>.csv`` to OUT_DIR with the abstract emptied in a random
``share`` of the records (drawn with a fixed seed, inclusions and exclusions alike), so
that ``bench_screening.py --validation OUT_DIR`` and ``screening_asreview.py --data
OUT_DIR`` compare both tools when abstracts are often missing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path)
    ap.add_argument("target", type=Path)
    ap.add_argument("--share", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.target.mkdir(parents=True, exist_ok=True)
    for path in sorted(args.source.glob("*.csv")):
        frame = pd.read_csv(path)
        rng = np.random.default_rng(args.seed)
        drop = rng.random(len(frame)) < args.share
        frame.loc[drop, "abstract"] = ""
        out = args.target / f"{path.stem}_no_abstract_{int(round(100 * args.share))}.csv"
        frame.to_csv(out, index=False)
        print(f"{out}: {int(drop.sum())} of {len(frame)} abstracts removed")


if __name__ == "__main__":
    main()
