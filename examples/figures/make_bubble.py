"""Make the example bubble plots (meta-regression of the BCG vaccine trials).

    python examples/figures/make_bubble.py [OUTDIR] [--formats png,svg]

Writes into OUTDIR (default: this folder):

- ``bcg_ablat_bubble``: log risk ratio of tuberculosis (vaccinated vs not) against the
  trial's absolute latitude, REML mixed-effects meta-regression (metafor's textbook
  example), with the 95% CI band, the prediction interval and study labels.
- ``bcg_three_moderators_bubble``: latitude, year and allocation method in one model, one
  panel per moderator; each line holds the other moderators at their mean (latitude,
  year) or reference level (allocation: alternate).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import metakit as mk

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"


def bcg() -> mk.EffectSizes:
    """Log risk ratios of the 13 BCG trials, with the moderators kept."""
    df = pd.read_csv(DATA / "bcg.csv")
    df = df.assign(n_t=df.tpos + df.tneg, n_c=df.cpos + df.cneg,
                   study=df.study + " " + df.year.astype(str))
    return mk.effect_sizes(df, "RR", events=("tpos", "cpos"), totals=("n_t", "n_c"))


def make(outdir: Path = HERE, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write the figures; return their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    es = bcg()
    names = {"ablat": "Absolute latitude (degrees)", "year": "Year of publication",
             "alloc": "Allocation"}
    one = mk.metareg(es, "~ ablat")
    three = mk.metareg(es, "~ ablat + year + C(alloc)")
    written = []
    for fmt in formats:
        for stem, fit, opts in (("bcg_ablat_bubble", one, {"pi": True}),
                                ("bcg_three_moderators_bubble", three, {})):
            path = outdir / f"{stem}.{fmt}"
            fit.bubble(path=path, labels=True, moderator_labels=names, **opts)
            written.append(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", nargs="?", type=Path, default=HERE)
    ap.add_argument("--formats", default="png,svg")
    args = ap.parse_args()
    for path in make(args.outdir, tuple(args.formats.split(","))):
        print(path)


if __name__ == "__main__":
    main()
