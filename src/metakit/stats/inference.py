"""The one record of a hypothesis test, and critical values.

Every test the package reports (Cochran's Q, QE and QM, the test for subgroup
differences, the Mantel-Haenszel tests, and the small-study tests) is a :class:`Test`:
its statistic, degrees of freedom, p-value and reference distribution, batched or not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special


@lru_cache(maxsize=32)
def z_crit(level: float) -> float:
    """The two-sided standard normal critical value for a confidence level.

    >>> round(z_crit(0.95), 6)
    1.959964
    """
    return float(special.ndtri(1.0 - (1.0 - level) / 2))


def _plain(x):
    if isinstance(x, tuple):
        return [_plain(v) for v in x]
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        v = float(arr)
        return None if math.isnan(v) else v
    return np.where(np.isnan(arr), None, arr).tolist()


@dataclass(frozen=True)
class Test:
    """A hypothesis test: statistic, degrees of freedom, p-value and distribution.

    ``df`` is a number (chi², t) or a pair ``(df1, df2)`` for F; NaN for z. In a batch each
    field is an array with the batch shape. ``name`` says what is tested.

    Examples
    --------
    >>> t = Test(statistic=3.84, df=1.0, pval=0.05, distribution="chi2", name="Q")
    >>> t.to_dict()["distribution"], t.summary()
    ('chi2', 'Q: chi² = 3.8400, df = 1, p = 0.05')
    """

    statistic: object
    df: object
    pval: object
    distribution: str
    name: str = ""

    def to_dict(self) -> dict:
        """Plain values (lists for a batch; NaN as None)."""
        return {"name": self.name, "statistic": _plain(self.statistic), "df": _plain(self.df),
                "pval": _plain(self.pval), "distribution": self.distribution}

    def to_frame(self):
        """One row per test of the batch (C order): test, statistic, df, pval."""
        import pandas as pd

        stat = np.ravel(self.statistic)
        df = (np.ravel(self.df) if not isinstance(self.df, tuple)
              else [f"{a:g}, {b:g}" for a, b in zip(np.ravel(self.df[0]), np.ravel(self.df[1]))])
        return pd.DataFrame({"test": [self.name] * stat.size, "statistic": stat, "df": df,
                             "pval": np.ravel(self.pval)})

    def at(self, i: int) -> Test:
        """The test of meta-analysis ``i`` of a batch, as Python floats."""
        def one(x):
            if isinstance(x, tuple):
                return tuple(one(v) for v in x)
            return float(np.asarray(x).reshape(-1)[i])
        return Test(one(self.statistic), one(self.df), one(self.pval), self.distribution, self.name)

    def summary(self) -> str:
        """One line per test, e.g. ``Breslow-Day: chi² = 1.2074, df = 2, p = 0.5468``."""
        symbol = {"chi2": "chi²", "F": "F", "t": "t", "z": "z"}.get(self.distribution,
                                                                 self.distribution)
        label = f"{self.name}: " if self.name else ""
        lines = []
        stats = np.ravel(self.statistic)
        dfs = ([np.ravel(self.df[0]), np.ravel(self.df[1])] if isinstance(self.df, tuple)
               else [np.ravel(self.df)])
        for i, (st, p) in enumerate(zip(stats, np.ravel(self.pval))):
            if not np.isfinite(st):
                lines.append(f"{label}not estimable")
                continue
            df = ", ".join(f"{d[i % d.size]:g}" for d in dfs)
            lines.append(f"{label}{symbol} = {st:.4f}, df = {df}, p = {p:.4g}")
        return "\n".join(lines)
