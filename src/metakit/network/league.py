"""League table: every pairwise effect with its CI, network and direct evidence side by side.

Every cell reads *row treatment versus column treatment*. The lower triangle (row below the
diagonal) holds the network estimates of one model; the upper triangle holds, as chosen,
the direct (pairwise inverse-variance) estimates of the same model (empty where no study
compares the pair) or the other model's network estimates. The diagonal names the
treatments. Ratio measures are shown back-transformed (netmeta's ``netleague`` layout).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metakit.stats.inference import z_crit


def _cell(te: float, lo: float, hi: float, digits: int) -> str:
    if not np.isfinite(te):
        return ""
    return f"{te:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})"


@dataclass(frozen=True)
class League:
    """A league table (see the module docstring).

    Attributes
    ----------
    treatments
        Row and column order.
    lower, upper
        What each triangle holds ("network common", "network random", "direct common", ...).
    TE, ci_lb, ci_ub
        n x n matrices on the reporting scale (back-transformed for ratios): lower triangle
        from ``lower``, upper from ``upper``, NaN on the diagonal and where no estimate exists.
    table
        The formatted n x n DataFrame.
    is_ratio
        Whether the matrices are back-transformed ratios (no effect = 1, else 0).
    """

    treatments: tuple[str, ...]
    lower: str
    upper: str
    TE: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    table: object
    is_ratio: bool = False

    def to_frame(self):
        """The formatted table."""
        return self.table

    def to_dict(self) -> dict:
        """Matrices as nested lists (NaN as None) and the layout."""
        def plain(x):
            return np.where(np.isnan(x), None, x).tolist()

        return {"treatments": list(self.treatments), "lower": self.lower, "upper": self.upper,
                "TE": plain(self.TE), "ci_lb": plain(self.ci_lb), "ci_ub": plain(self.ci_ub)}

    def summary(self) -> str:
        """The formatted table as text."""
        return (f"League table (row versus column; lower: {self.lower}, upper: {self.upper})\n"
                + self.table.to_string(index=False, header=False))

    def to_csv(self, path: str | Path) -> Path:
        """Write the formatted table as CSV (no index, no header: the diagonal names treatments)."""
        path = Path(path)
        self.table.to_csv(path, index=False, header=False)
        return path

    def to_excel(self, path: str | Path) -> Path:
        """Write the formatted table as an XLSX sheet "League table" (openpyxl)."""
        path = Path(path)
        self.table.to_excel(path, index=False, header=False, sheet_name="League table")
        return path


def league_table(result, model: str = "random", upper: str = "direct", digits: int = 2) -> League:
    """Build the league table of a :class:`~metakit.network.model.NetworkResult`.

    Parameters
    ----------
    result
        The fitted network.
    model
        Model of the lower triangle: "common" or "random".
    upper
        "direct" (direct estimates of ``model``) or "common"/"random" (that model's network
        estimates) for the upper triangle.
    digits
        Decimals in the formatted cells.

    Examples
    --------
    B versus A pools the direct -0.5 (var 0.01) and the indirect -(0.9 - 0.2) (var 0.08):
    -0.5222, SE 1/sqrt(112.5) = 0.0943.

    >>> from metakit.network import nma
    >>> res = nma({"studlab": ["s1", "s2", "s3"], "treat1": ["A", "B", "A"], "treat2": ["B", "C", "C"],
    ...            "TE": [0.5, 0.2, 0.9], "seTE": [0.1, 0.2, 0.2]})
    >>> league_table(res, "common").table.iloc[1, 0]
    '-0.52 (-0.71 to -0.34)'
    """
    import pandas as pd

    from metakit.network.inconsistency import direct_estimates
    from metakit.stats.measures import is_ratio

    est = result.estimates(model)
    n = result.data.n
    low = est.matrix()
    if upper == "direct":
        te_d, var_d, _ = direct_estimates(result.data, est.tau2)
        te_up = np.full((n, n), np.nan)
        var_up = np.full((n, n), np.nan)
        iu = np.triu_indices(n, 1)
        te_up[iu], var_up[iu] = te_d[iu], var_d[iu]
        z = z_crit(est.level)
        up = {"TE": te_up, "lower": te_up - z * np.sqrt(var_up), "upper": te_up + z * np.sqrt(var_up)}
        upper_label = f"direct {model}"
    else:
        up = result.estimates(upper).matrix()
        upper_label = f"network {upper}"
    il = np.tril(np.ones((n, n), dtype=bool), -1)
    iu = np.triu(np.ones((n, n), dtype=bool), 1)
    mats = []
    for key in ("TE", "lower", "upper"):
        m = np.full((n, n), np.nan)
        m[il] = low[key][il]
        m[iu] = up[key][iu]
        mats.append(m)
    ratio = is_ratio(result.data.measure)
    if ratio:
        mats = [np.exp(m) for m in mats]
    te, lo, hi = mats
    cells = [[result.treatments[i] if i == j else _cell(te[i, j], lo[i, j], hi[i, j], digits) for j in range(n)]
             for i in range(n)]
    table = pd.DataFrame(cells, columns=list(result.treatments))
    return League(result.treatments, f"network {model}", upper_label, te, lo, hi, table, ratio)
