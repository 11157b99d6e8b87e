"""Network estimates of one model: every treatment against any other, with CIs and PIs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

from metakit.stats.inference import z_crit


@dataclass(frozen=True)
class NetworkEstimates:
    """Treatment effects of one model (common or random effects) and their covariance.

    ``theta`` are the treatment effects up to a constant and ``cov`` (``L+`` of
    :mod:`metakit.network.graph`) their covariance; any contrast ``theta_i - theta_j`` and
    its variance ``cov_ii + cov_jj - 2 cov_ij`` follow. ``tau2`` (0 for common effects) and
    ``df`` (that of Q) give prediction intervals with ``t(df)`` quantiles and variance
    ``se² + tau²`` (netmeta's ``method.predict = "V"``; Higgins, Thompson & Spiegelhalter 2009).
    """

    model: str
    treatments: tuple[str, ...]
    theta: np.ndarray
    cov: np.ndarray
    level: float
    tau2: float = 0.0
    df: int = 0

    def index(self, treatment: str) -> int:
        """Code of a treatment label (a clear error for an unknown one)."""
        try:
            return self.treatments.index(treatment)
        except ValueError:
            raise KeyError(f"unknown treatment {treatment!r}; treatments are {', '.join(self.treatments)}") from None

    def matrix(self) -> dict[str, np.ndarray]:
        """n x n matrices: entry [i, j] is treatment i versus treatment j.

        Keys: ``TE``, ``seTE``, ``lower``, ``upper``, ``statistic``, ``pval``, and
        ``seTE_predict``, ``lower_predict``, ``upper_predict`` (random effects).
        """
        return self._matrix

    @cached_property
    def _matrix(self) -> dict[str, np.ndarray]:
        te = self.theta[:, None] - self.theta[None, :]
        d = np.diag(self.cov)
        se = np.sqrt(np.maximum(d[:, None] + d[None, :] - 2 * self.cov, 0.0))
        z = z_crit(self.level)
        positive = se > 0
        stat = np.divide(te, se, out=np.full_like(te, np.nan), where=positive)
        out = {"TE": te, "seTE": se, "lower": te - z * se, "upper": te + z * se, "statistic": stat,
               "pval": 2 * special.ndtr(-np.abs(stat))}
        se_p = np.sqrt(se**2 + self.tau2)
        tq = special.stdtrit(self.df, 1 - (1 - self.level) / 2) if self.df > 0 else np.nan
        out["seTE_predict"] = se_p
        out["lower_predict"] = np.where(positive, te - tq * se_p, 0.0)
        out["upper_predict"] = np.where(positive, te + tq * se_p, 0.0)
        return out

    def versus(self, reference: str) -> dict[str, np.ndarray]:
        """Every treatment against ``reference``: the reference's column of :meth:`matrix`."""
        r = self.index(reference)
        return {key: value[:, r] for key, value in self.matrix().items()}
