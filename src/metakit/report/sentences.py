"""Result sentences and the methods paragraph, written from what was run.

Result sentences follow the seed reviews' abstracts: "Cell therapy reduced the risk of
femoral head collapse (OR = 0.15; 95% CI: 0.09-0.25; P < 0.00001; I² = 0%)".

>>> estimate_text("OR", 0.151, 0.087, 0.254, 2e-11, 0.0)
'OR = 0.15; 95% CI: 0.09-0.25; P < 0.00001; I² = 0%'
>>> estimate_text("MD", -8.04, -8.66, -7.42, 1e-6, 99.2)
'MD = -8.04; 95% CI: -8.66 to -7.42; P < 0.00001; I² = 99%'
"""

from __future__ import annotations

import math

from metakit.formatting import fmt_num, fmt_p

_RATIO = {"OR", "RR", "PETO", "ROM"}


def estimate_text(measure: str, est: float, lb: float, ub: float, pval: float, i2: float | None,
                  level: float = 0.95) -> str:
    """``OR = 0.15; 95% CI: 0.09-0.25; P < 0.00001; I² = 0%`` (a negative bound uses 'to')."""
    sep = " to " if lb < 0 or ub < 0 else "-"
    p = fmt_p(pval)
    text = (f"{measure} = {fmt_num(est)}; {round(level * 100):d}% CI: {fmt_num(lb)}{sep}{fmt_num(ub)}; "
            f"P {p}")
    if i2 is not None and math.isfinite(i2):
        text += f"; I² = {i2:.0f}%"
    return text


def result_sentence(intervention: str, noun: str, measure: str, better: str, est: float, lb: float,
                    ub: float, pval: float, i2: float | None, k: int, level: float = 0.95) -> str:
    """One sentence: direction of the effect in words, then the numbers.

    ``better`` is "lower" when lower values favour the intervention (risks, pain).
    """
    null = 1.0 if measure in _RATIO else 0.0
    significant = lb > null or ub < null
    lower = est < null
    nums = estimate_text(measure, est, lb, ub, pval, i2, level)
    risk = "the risk of " if measure in {"OR", "RR", "PETO", "RD"} else ""
    if not significant:
        verb = f"did not change {risk}{noun} significantly"
    elif risk:
        verb = f"{'reduced' if lower else 'increased'} {risk}{noun}"
    else:
        good = lower == (better == "lower")
        verb = f"{'improved' if good else 'worsened'} {noun} ({'lower' if lower else 'higher'} scores)"
    studies = f"{k} stud{'y' if k == 1 else 'ies'}"
    return f"{intervention} {verb} ({nums}; {studies})."
