"""Number formatting in RevMan 5's style, shared by summaries and figures.

RevMan prints effects and statistics with two decimals, I² as a whole percentage
and p-values by magnitude: two decimals down to 0.01, then three, then four, and
"< 0.0001" / "< 0.00001" below those.
"""

from __future__ import annotations

import math


def fmt_p(p: float) -> str:
    """A p-value as RevMan prints it, including the relation sign.

    Examples
    --------
    >>> fmt_p(0.1269), fmt_p(0.0010103), fmt_p(7.2e-5), fmt_p(2e-26)
    ('= 0.13', '= 0.001', '< 0.0001', '< 0.00001')
    """
    if p is None or not math.isfinite(p):
        return "= NA"
    if p < 0.00001:
        return "< 0.00001"
    if p < 0.0001:
        return "< 0.0001"
    if p < 0.001:
        return f"= {p:.4f}"
    if p < 0.01:
        return f"= {p:.3f}"
    return f"= {p:.2f}"


def fmt_num(x: float, digits: int = 2) -> str:
    """A number with fixed decimals; NaN prints as 'NA'."""
    if x is None or not math.isfinite(x):
        return "NA"
    s = f"{x:.{digits}f}"
    return "0." + "0" * digits if s == "-0." + "0" * digits else s


def fmt_ci(est: float, lb: float, ub: float, digits: int = 2) -> str:
    """An estimate with its CI, RevMan style: ``0.15 [0.09, 0.25]``."""
    return f"{fmt_num(est, digits)} [{fmt_num(lb, digits)}, {fmt_num(ub, digits)}]"


def fmt_pct(x: float) -> str:
    """A whole percentage, e.g. I²: ``92%``; a value that rounds to zero prints ``0%``,
    never ``-0%``.

    >>> fmt_pct(91.6), fmt_pct(-1e-12)
    ('92%', '0%')
    """
    if x is None or not math.isfinite(x):
        return "NA"
    s = f"{x:.0f}"
    return ("0" if s == "-0" else s) + "%"


def fmt_weight(x: float) -> str:
    """A study weight in percent with one decimal, as RevMan: ``12.3%``."""
    return "NA" if x is None or not math.isfinite(x) else f"{x:.1f}%"
