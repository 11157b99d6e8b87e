"""Checks of an analysis that no error stops but a reader must see, each with what to do.

Each check takes plain values and returns a :class:`~metakit.report.blocks.Guardrail` or
None. Thresholds follow the Cochrane Handbook (chapter 10: I² above 50% may be substantial
heterogeneity; chapter 13: asymmetry tests need at least 10 studies) and IntHout et al.
2016 (BMJ Open 6:e010247; report prediction intervals under heterogeneity).

>>> common_effect_heterogeneity("VAS", "common", 99.0).code
'common-effect-heterogeneity'
>>> common_effect_heterogeneity("VAS", "random", 99.0) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from metakit.report.blocks import Guardrail

#: the rule of each guardrail in a few words (a heading when it fired in several places)
RULES = {
    "common-effect-heterogeneity": "Common-effect model with I² above 50%",
    "mixed-scales": "Mean differences on what may be different scales",
    "funnel-too-few": "Funnel plot of fewer than 10 studies",
    "tau2-too-few": "Random-effects tau² from fewer than 3 studies",
    "no-prediction-interval": "High heterogeneity without a prediction interval",
    "totals-disagree": "Outcome totals differ from the study characteristics",
}

#: I² (percent) above which heterogeneity may be substantial (Cochrane Handbook 10.10.2)
HIGH_I2 = 50.0
#: fewest studies for a funnel-asymmetry test (Cochrane Handbook 13.3.5.4)
MIN_FUNNEL = 10
#: fewest studies for a random-effects tau²
MIN_TAU2 = 3
#: ratio of the largest to the smallest study's SD (or mean) that suggests different scales
SCALE_RATIO = 5.0


def _studies(k: int) -> str:
    return f"{k} stud{'y' if k == 1 else 'ies'}"


def common_effect_heterogeneity(where: str, model: str, i2: float) -> Guardrail | None:
    """A common-effect model pooled studies whose I² is above :data:`HIGH_I2`."""
    if model != "common" or not i2 > HIGH_I2:
        return None
    return Guardrail("common-effect-heterogeneity", where,
                     f"Common-effect model with I² = {i2:.0f}%",
                     "A common-effect model assumes one true effect shared by every study; "
                     f"I² above {HIGH_I2:.0f}% says the studies disagree more than chance allows, "
                     "so the common-effect CI is too narrow.",
                     "Use a random-effects model (model: random) with a prediction interval, "
                     "and look for the source of the heterogeneity (subgroups, meta-regression).")


def mixed_scales(where: str, measure: str, study: Sequence[str], means: np.ndarray,
                 sds: np.ndarray) -> Guardrail | None:
    """Mean differences across studies whose SDs or means differ by :data:`SCALE_RATIO` or more.

    ``means`` and ``sds`` are (k, 2) arrays, treatment and control arms. A VAS reported
    0-10 in one trial and 0-100 in another differs about tenfold in both.
    """
    if measure != "MD" or len(study) < 2:
        return None
    sd = np.nanmean(np.asarray(sds, float), axis=1)
    level = np.nanmean(np.abs(np.asarray(means, float)), axis=1)
    hits = []
    for name, x in (("SDs", sd), ("means", level)):
        x = x[np.isfinite(x) & (x > 0)]
        if x.size >= 2 and x.max() / x.min() >= SCALE_RATIO:
            hits.append(f"{name} differ {x.max() / x.min():.0f}-fold")
    if not hits:
        return None
    lo, hi = int(np.nanargmin(sd)), int(np.nanargmax(sd))
    return Guardrail("mixed-scales", where, "Mean differences on what may be different scales",
                     f"Across studies the {' and '.join(hits)} (smallest SD: {study[lo]}, "
                     f"largest: {study[hi]}); a mean difference pooled across scales "
                     "(e.g. a VAS 0-10 and 0-100) mixes units and is meaningless.",
                     "Check each study's scale; convert to one scale where the scales are "
                     "known, or pool standardised mean differences (measure: SMD).")


def funnel_too_few(where: str, k: int) -> Guardrail | None:
    """A funnel plot (and any asymmetry test) behind fewer than :data:`MIN_FUNNEL` studies."""
    if k >= MIN_FUNNEL:
        return None
    return Guardrail("funnel-too-few", where, f"Funnel plot of {_studies(k)}",
                     f"With fewer than {MIN_FUNNEL} studies a funnel plot cannot tell "
                     "small-study effects from chance, and asymmetry tests have too little power.",
                     "Read the funnel plot as a picture of the data only; do not report an "
                     "asymmetry test or conclude about publication bias.")


def tau2_too_few(where: str, model: str, k: int) -> Guardrail | None:
    """A random-effects tau² estimated from fewer than :data:`MIN_TAU2` studies."""
    if model != "random" or k >= MIN_TAU2:
        return None
    return Guardrail("tau2-too-few", where, f"Random-effects tau² from {_studies(k)}",
                     "The between-study variance cannot be estimated with any precision from "
                     f"fewer than {MIN_TAU2} studies; the pooled CI depends on a guess.",
                     "Report the studies individually or state the limitation; a Hartung-Knapp "
                     "CI (ci: hk) is more honest about the uncertainty.")


def no_prediction_interval(where: str, model: str, i2: float, prediction: bool) -> Guardrail | None:
    """High heterogeneity (I² above :data:`HIGH_I2`) without a prediction interval reported."""
    if prediction and model == "random":
        return None
    if not i2 > HIGH_I2:
        return None
    return Guardrail("no-prediction-interval", where,
                     f"I² = {i2:.0f}% and no prediction interval",
                     "Under heterogeneity the pooled mean says little about the effect in a new "
                     "setting; the prediction interval shows the range of true effects.",
                     "Use a random-effects model and set prediction: true for this outcome.")


def totals_disagree(where: str, totals: Mapping[str, float],
                    sheet_totals: Mapping[str, float]) -> Guardrail | None:
    """Per-study totals of an outcome that differ from the study characteristics' counts."""
    bad = [f"{s}: {totals[s]:g} in the outcome, {sheet_totals[s]:g} in the characteristics"
           for s in totals if s in sheet_totals and math.isfinite(sheet_totals[s])
           and totals[s] != sheet_totals[s]]
    if not bad:
        return None
    return Guardrail("totals-disagree", where, "Outcome totals differ from the study characteristics",
                     "; ".join(bad) + ". Losses to follow-up or an extraction error change "
                     "the denominators.",
                     "Check the extraction against the report; if patients were lost, say how "
                     "they were handled (available-case analysis, imputation).")
