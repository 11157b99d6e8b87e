"""Agreement between two screeners: Cohen's kappa.

Cohen J. A coefficient of agreement for nominal scales. *Educ Psychol Meas*
1960;20:37-46.

With n items rated by two reviewers into categories, p_o is the proportion of items on
which they agree and p_e = sum_k p_{k.} p_{.k} the agreement expected by chance from
their marginal proportions; kappa = (p_o - p_e) / (1 - p_e). The approximate standard
error is Cohen's (1960, eq. 9): SE = sqrt(p_o (1 - p_o) / (n (1 - p_e)^2)).
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

__all__ = ["KappaResult", "cohen_kappa"]


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

    def confint(self, level: float = 0.95) -> tuple[float, float]:
        """Wald interval kappa +/- z * SE."""
        from scipy.stats import norm

        z = norm.ppf(0.5 + level / 2)
        return (self.kappa - z * self.se, self.kappa + z * self.se)

    def to_dict(self) -> dict[str, Any]:
        """Kappa, p_o, p_e, n, SE and the table as nested dicts."""
        return {"kappa": self.kappa, "p_observed": self.p_observed,
                "p_expected": self.p_expected, "n": self.n, "se": self.se,
                "table": self.table.to_dict()}

    def to_frame(self) -> pd.DataFrame:
        """The cross-tabulation."""
        return self.table.copy()

    def summary(self) -> str:
        """One line: kappa, its CI, p_o, p_e, n."""
        lo, hi = self.confint()
        return (f"Cohen's kappa = {self.kappa:.3f} (95% CI {lo:.3f} to {hi:.3f}); "
                f"observed agreement {self.p_observed:.3f}, chance {self.p_expected:.3f}, "
                f"n = {self.n}")


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
