"""Agreement between screeners: percentage agreement, Cohen's and Fleiss' kappa.

Cohen J. A coefficient of agreement for nominal scales. *Educ Psychol Meas*
1960;20:37-46.

With n items rated by two reviewers into categories, p_o is the proportion of items on
which they agree (the percentage agreement) and p_e = sum_k p_{k.} p_{.k} the agreement
expected by chance from their marginal proportions; kappa = (p_o - p_e) / (1 - p_e).
The approximate standard error is Cohen's (1960, eq. 9):
SE = sqrt(p_o (1 - p_o) / (n (1 - p_e)^2)).

Kappa cannot leave [-1, 1] (it is at most 1, and at least -p_e / (1 - p_e) >= -1), but
the Wald interval kappa +/- z SE can, with few items; the interval is therefore
truncated to [-1, 1] (the documented rule; the untruncated bounds are in
:meth:`KappaResult.confint` with ``truncate=False``).

Fleiss JL. Measuring nominal scale agreement among many raters. *Psychol Bull*
1971;76:378-382: for N items each rated by the same number m >= 2 of reviewers, with
n_ij the reviewers who put item i in category j, P_i = (sum_j n_ij^2 - m) / (m (m - 1))
(the agreeing pairs among all pairs of reviewers on item i), P = mean P_i,
p_j = sum_i n_ij / (N m), P_e = sum_j p_j^2 and kappa = (P - P_e) / (1 - P_e).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metakit.errors import DataError, MetakitWarning

__all__ = ["KappaResult", "cohen_kappa", "FleissResult", "fleiss_kappa"]


@dataclass(frozen=True)
class KappaResult:
    """Cohen's kappa with its parts.

    Attributes
    ----------
    kappa
        (p_o - p_e) / (1 - p_e); NaN when p_e = 1 (see :func:`cohen_kappa`).
    p_observed, p_expected
        Observed and chance agreement.
    n
        Items rated by both reviewers.
    se
        Cohen's (1960) approximate standard error.
    table
        Cross-tabulation (rows: first reviewer, columns: second).
    """

    kappa: float
    p_observed: float
    p_expected: float
    n: int
    se: float
    table: pd.DataFrame

    @property
    def percent_agreement(self) -> float:
        """Items on which the two reviewers agree, in percent (100 p_o)."""
        return 100.0 * self.p_observed

    def confint(self, level: float = 0.95, *, truncate: bool = True) -> tuple[float, float]:
        """Wald interval kappa +/- z * SE, truncated to [-1, 1] (see the module notes)."""
        from scipy.stats import norm

        z = norm.ppf(0.5 + level / 2)
        lo, hi = self.kappa - z * self.se, self.kappa + z * self.se
        if truncate:
            lo, hi = max(lo, -1.0), min(hi, 1.0)
        return (lo, hi)

    def to_dict(self) -> dict[str, Any]:
        """Kappa, its 95% CI, p_o (and in percent), p_e, n, SE and the table."""
        lo, hi = self.confint()
        return {"kappa": self.kappa, "ci_lower": lo, "ci_upper": hi,
                "p_observed": self.p_observed,
                "percent_agreement": self.percent_agreement,
                "p_expected": self.p_expected, "n": self.n, "se": self.se,
                "table": self.table.to_dict()}

    def to_frame(self) -> pd.DataFrame:
        """The cross-tabulation."""
        return self.table.copy()

    def summary(self) -> str:
        """One line: kappa, its CI, p_o, p_e, n."""
        lo, hi = self.confint()
        return (f"Cohen's kappa = {self.kappa:.3f} (95% CI {lo:.3f} to {hi:.3f}); "
                f"agreement {self.percent_agreement:.1f}% (chance "
                f"{100 * self.p_expected:.1f}%), n = {self.n}")


def cohen_kappa(first: Sequence[Any], second: Sequence[Any], *,
                categories: Sequence[Any] | None = None) -> KappaResult:
    """Cohen's kappa between two reviewers' decisions on the same items.

    Parameters
    ----------
    first, second
        Decisions, item by item (same length, no missing values).
    categories
        All categories (so that one no reviewer used still appears in the table).

    Returns
    -------
    KappaResult

    Notes
    -----
    When chance agreement is 1 (both reviewers put every item in one and the same
    category) kappa is 0/0: it is returned as NaN with a :class:`MetakitWarning`.

    Examples
    --------
    >>> round(cohen_kappa(list("yyyn"), list("yynn")).kappa, 3)
    0.5
    """
    a = list(first)
    b = list(second)
    if len(a) != len(b):
        raise DataError(f"the reviewers rated {len(a)} and {len(b)} items", column="decision")
    if not a:
        raise DataError("no item rated by both reviewers", column="decision")
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in a + b):
        raise DataError("missing decision", column="decision")
    cats = list(categories) if categories is not None else sorted(set(a) | set(b), key=str)
    unknown = (set(a) | set(b)) - set(cats)
    if unknown:
        raise DataError(f"decisions {sorted(map(str, unknown))} not among the categories",
                        column="decision")
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, ([index[v] for v in a], [index[v] for v in b]), 1)
    n = len(a)
    p = table / n
    p_o = float(np.trace(p))
    p_e = float(p.sum(axis=1) @ p.sum(axis=0))
    if math.isclose(p_e, 1.0):
        warnings.warn("chance agreement is 1 (one category only): kappa is undefined, "
                      "returned as NaN", MetakitWarning, stacklevel=2)
        kappa, se = float("nan"), float("nan")
    else:
        kappa = (p_o - p_e) / (1 - p_e)
        se = math.sqrt(p_o * (1 - p_o) / (n * (1 - p_e) ** 2))
    frame = pd.DataFrame(table.astype(int), index=pd.Index(cats, name="first"),
                         columns=pd.Index(cats, name="second"))
    return KappaResult(kappa, p_o, p_e, n, se, frame)


@dataclass(frozen=True)
class FleissResult:
    """Fleiss' kappa for three or more reviewers.

    Attributes
    ----------
    kappa
        (P - P_e) / (1 - P_e); NaN when P_e = 1.
    p_observed
        Mean proportion of agreeing pairs of reviewers per item (P).
    p_expected
        Chance agreement sum_j p_j^2 (P_e).
    n_items, n_raters
        Items, and reviewers per item.
    counts
        Items x categories: how many reviewers chose each category.
    """

    kappa: float
    p_observed: float
    p_expected: float
    n_items: int
    n_raters: int
    counts: pd.DataFrame

    @property
    def percent_agreement(self) -> float:
        """Agreeing pairs of reviewers, in percent of all pairs (100 P)."""
        return 100.0 * self.p_observed

    def to_dict(self) -> dict[str, Any]:
        """Kappa, P, P_e, percentage agreement, items and reviewers."""
        return {"kappa": self.kappa, "p_observed": self.p_observed,
                "percent_agreement": self.percent_agreement,
                "p_expected": self.p_expected, "n_items": self.n_items,
                "n_raters": self.n_raters}

    def to_frame(self) -> pd.DataFrame:
        """The items x categories count table."""
        return self.counts.copy()

    def summary(self) -> str:
        """One line: kappa, agreement, items and reviewers."""
        return (f"Fleiss' kappa = {self.kappa:.3f}; pairwise agreement "
                f"{self.percent_agreement:.1f}% (chance {100 * self.p_expected:.1f}%), "
                f"{self.n_items} items x {self.n_raters} reviewers")


def fleiss_kappa(ratings: pd.DataFrame | Sequence[Sequence[Any]], *,
                 categories: Sequence[Any] | None = None) -> FleissResult:
    """Fleiss' kappa (Fleiss 1971) from one row per item, one column per reviewer.

    Parameters
    ----------
    ratings
        Decisions: items in rows, reviewers in columns; every item must be rated by
        every reviewer (drop incomplete items first, e.g. ``frame.dropna()``).
    categories
        All categories (one no reviewer used is kept, with count 0).

    Returns
    -------
    FleissResult

    Examples
    --------
    >>> round(fleiss_kappa([["i", "i", "i"], ["e", "e", "e"], ["i", "e", "e"]]).kappa, 3)
    0.55
    """
    frame = pd.DataFrame(ratings)
    if frame.empty:
        raise DataError("no item rated by every reviewer", column="decision")
    m = frame.shape[1]
    if m < 2:
        raise DataError("Fleiss' kappa needs at least two reviewers", column="reviewer")
    missing = frame.isna().any(axis=1)
    if missing.any():
        raise DataError(f"item {frame.index[missing][0]!r} lacks a decision: every item "
                        "must be rated by every reviewer", study=frame.index[missing][0],
                        column="decision")
    values = frame.to_numpy().ravel()
    cats = list(categories) if categories is not None else sorted(set(values), key=str)
    unknown = set(values) - set(cats)
    if unknown:
        raise DataError(f"decisions {sorted(map(str, unknown))} not among the categories",
                        column="decision")
    index = {c: j for j, c in enumerate(cats)}
    codes = np.array([index[v] for v in values]).reshape(frame.shape)
    counts = np.zeros((len(frame), len(cats)))
    np.add.at(counts, (np.repeat(np.arange(len(frame)), m), codes.ravel()), 1)
    n_items = len(frame)
    p_i = ((counts ** 2).sum(axis=1) - m) / (m * (m - 1))
    p_bar = float(p_i.mean())
    p_j = counts.sum(axis=0) / (n_items * m)
    p_e = float((p_j ** 2).sum())
    if math.isclose(p_e, 1.0):
        warnings.warn("chance agreement is 1 (one category only): kappa is undefined, "
                      "returned as NaN", MetakitWarning, stacklevel=2)
        kappa = float("nan")
    else:
        kappa = (p_bar - p_e) / (1 - p_e)
    table = pd.DataFrame(counts.astype(int), index=frame.index,
                         columns=pd.Index(cats, name="category"))
    return FleissResult(kappa, p_bar, p_e, n_items, m, table)
