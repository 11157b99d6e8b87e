"""Make the example forest and funnel plots.

    python examples/figures/make_figures.py [OUTDIR] [--formats png,svg,pdf]

Writes into OUTDIR (default: this folder):

- ``onfh_tha_forest``: conversion to total hip arthroplasty in trials of cell therapy
  for osteonecrosis of the femoral head (odds ratio, Mantel-Haenszel, RevMan
  conventions), subgroups by allocation (randomised vs not), with follow-up as an
  extra column and the prediction interval.
- ``normand1999_md_forest``: length of hospital stay, specialist vs routine stroke care
  (mean difference, random effects, REML).
- ``synthetic150_forest`` and ``synthetic150_funnel``: 150 simulated trials (fixed seed)
  with simulated risk-of-bias judgements, sorted by year, and a contour-enhanced funnel.
- ``normand1999_md_funnel``: funnel plot of the stroke-care trials.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import metakit as mk
from metakit.errors import MetakitWarning
from metakit.plots.forest import forest
from metakit.plots.funnel import funnel

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"


def onfh_tha() -> pd.DataFrame:
    """THA conversion per trial, with design and follow-up (examples/data)."""
    df = pd.read_csv(DATA / "onfh_binary_outcomes.csv")
    df = df[df.outcome == "THA"].copy()
    randomised = df.design.str.contains("RCT") & ~df.design.str.contains("NOT RCT")
    df["allocation"] = np.where(randomised, "Randomised trials", "Non-randomised comparisons")
    df["followup"] = df.followup_months.round().astype(int)
    return df.rename(columns={"e_treat": "e_t", "n_treat": "n_t", "e_ctrl": "e_c",
                              "n_ctrl": "n_c"}).reset_index(drop=True)


def synthetic_trials(k: int = 150, seed: int = 2024) -> tuple[pd.DataFrame, dict]:
    """k simulated two-arm trials (binary outcome) and simulated RoB 2 judgements."""
    rng = np.random.default_rng(seed)
    n_t, n_c = rng.integers(20, 600, k), rng.integers(20, 600, k)
    p_c = rng.uniform(0.08, 0.45, k)
    lor = rng.normal(-0.35, 0.3, k)
    odds = p_c / (1 - p_c) * np.exp(lor)
    e_t = np.maximum(1, rng.binomial(n_t, odds / (1 + odds)))
    e_c = np.maximum(1, rng.binomial(n_c, p_c))
    authors = ["Andersen", "Baptiste", "Chen", "Dubois", "Eriksson", "Fernández", "Gupta",
               "Haddad", "Ivanova", "Jørgensen", "Kim", "Lindqvist", "Mensah", "Nakamura"]
    year = rng.integers(1985, 2024, k)
    study = [f"{authors[i % len(authors)]} {chr(65 + i // len(authors))}." for i in range(k)]
    df = pd.DataFrame({"study": study, "year": year, "e_t": e_t, "n_t": n_t, "e_c": e_c,
                       "n_c": n_c})
    domains = ["Randomisation process", "Deviations from intended interventions",
               "Missing outcome data", "Measurement of the outcome",
               "Selection of the reported result", "Overall"]
    levels = np.array(["low", "some concerns", "high"])
    rob = {}
    for s in study:
        j = levels[rng.choice(3, size=5, p=[0.6, 0.3, 0.1])]
        overall = "high" if "high" in j else ("some concerns" if "some concerns" in j else "low")
        rob[s] = dict(zip(domains, [*j, overall]))
    return df, rob


def make(outdir: Path = HERE, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write every example figure in every format; return the paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(name, draw):
        for fmt in formats:
            path = outdir / f"{name}.{fmt}"
            draw(path)
            written.append(path)

    tha = onfh_tha()
    es = mk.effect_sizes(tha, "OR", keep=("year", "allocation", "followup"))
    sub = mk.meta(es, by="allocation", convention="revman")
    save("onfh_tha_forest", lambda p: forest(
        sub, p, study_label="{study} {year}", columns={"Follow-up (mo)": "followup"},
        prediction=True, label_e="Cells + CD", label_c="CD alone",
        favours=("Favours cell therapy", "Favours control"),
        title="Conversion to total hip arthroplasty"))

    norm = pd.read_csv(DATA / "normand1999.csv")
    md = mk.meta(mk.effect_sizes(norm, "MD"))
    save("normand1999_md_forest", lambda p: forest(
        md, p, label_e="Specialist care", label_c="Routine care",
        favours=("Favours specialist care", "Favours routine care"),
        title="Length of hospital stay (days) after stroke", prediction=True))
    # nine studies: the funnel is drawn to show the layout; its warning (fewer than 10
    # studies) is the expected one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetakitWarning)
        save("normand1999_md_funnel", lambda p: funnel(md, p, contours=True,
                                                        title="Length of hospital stay"))

    syn, rob = synthetic_trials()
    fit = mk.meta(mk.effect_sizes(syn, "OR", keep=("year",)))
    save("synthetic150_forest", lambda p: forest(
        fit, p, sort="year", study_label="{study} {year}", rob=rob, show="both",
        prediction=True, title="150 simulated trials (simulated risk of bias)", dpi=150))
    save("synthetic150_funnel", lambda p: funnel(fit, p, contours=True,
                                                  title="150 simulated trials"))
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
