"""Effect measures: their codes, names, families and scales (the one home of these rules).

A measure is analysed on its *analysis scale* (log for ratios, as metafor's ``escalc``)
and reported on its *reporting scale* (ratios exponentiated, as RevMan and meta print).

>>> NAMES["OR"], SCALE_NAMES["OR"], is_ratio("OR")
('Odds ratio', 'log odds ratio', True)
"""

from __future__ import annotations

BINARY_MEASURES = ("OR", "RR", "RD", "PETO", "AS")
CONTINUOUS_MEASURES = ("MD", "SMD", "ROM")
ALL_MEASURES = BINARY_MEASURES + CONTINUOUS_MEASURES + ("GEN",)
RATIO_MEASURES = frozenset({"OR", "RR", "PETO", "ROM"})

#: Reporting names, in sentence case everywhere (text, tables and figures).
NAMES = {
    "OR": "Odds ratio",
    "RR": "Risk ratio",
    "RD": "Risk difference",
    "PETO": "Peto odds ratio",
    "AS": "Arcsine risk difference",
    "MD": "Mean difference",
    "SMD": "Standardised mean difference",
    "ROM": "Ratio of means",
    "GEN": "Effect estimate",
}

#: Names of the quantity on the analysis scale (what ``yi`` holds).
SCALE_NAMES = {
    "OR": "log odds ratio",
    "RR": "log risk ratio",
    "RD": "risk difference",
    "PETO": "log odds ratio (Peto's method)",
    "AS": "arcsine square-root risk difference",
    "MD": "mean difference",
    "SMD": "standardised mean difference",
    "ROM": "log ratio of means",
    "GEN": "generic effect size",
}


def is_ratio(measure: str, generic_ratio: bool = False) -> bool:
    """True if ``measure`` is analysed as a log ratio and reported exponentiated.

    Generic estimates (``"GEN"``) are ratios when they were given on the ratio or log
    scale, which the caller says with ``generic_ratio``.

    >>> is_ratio("RD"), is_ratio("GEN", generic_ratio=True)
    (False, True)
    """
    return measure in RATIO_MEASURES or (measure == "GEN" and generic_ratio)
