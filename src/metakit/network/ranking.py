"""Ranking treatments: P-scores, and SUCRA from resampling the joint distribution.

P-scores (Rücker & Schwarzer 2015, BMC Med Res Methodol 15:58): the P-score of treatment i
is the mean over the other treatments j of ``Phi((theta_i - theta_j) / se_ij)`` when large
values are good (``Phi((theta_j - theta_i) / se_ij)`` when small values are good), the
frequentist analogue of SUCRA, computed without simulation.

SUCRA (Salanti, Ades & Ioannidis 2011, J Clin Epidemiol 64:163): draws of the treatment
effects from their joint normal distribution (mean ``theta``, covariance ``L+``) are ranked;
the rank probabilities give rankograms, their cumulative sums the SUCRA curves, and
``SUCRA_i = (n - mean rank_i) / (n - 1)``. As netmeta's ``rankogram``, the draws are seeded;
results differ from netmeta's by Monte Carlo error only (R and numpy draw differently).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from metakit.network.estimates import NetworkEstimates


def pscores(estimates: NetworkEstimates, small_values: str = "good") -> np.ndarray:
    """P-score of every treatment (in ``estimates.treatments`` order).

    >>> import numpy as np
    >>> est = NetworkEstimates("common", ("A", "B"), np.array([0.0, 1.0]), np.eye(2) * 0.5, 0.95)
    >>> [round(float(p), 4) for p in pscores(est, "bad")]  # Phi(-1), Phi(1)
    [0.1587, 0.8413]
    """
    mat = estimates.matrix()
    n = len(estimates.treatments)
    sign = -1.0 if small_values == "good" else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = sign * mat["TE"] / mat["seTE"]
    prob = special.ndtr(z)
    np.fill_diagonal(prob, 0.0)
    return prob.sum(axis=1) / (n - 1)


@dataclass(frozen=True)
class Ranking:
    """Rankings of one model: P-scores, SUCRA, mean ranks and rank probabilities.

    ``rank_probs[i, r]`` is the probability that treatment i takes rank r + 1 (rank 1 = best);
    ``cumulative`` its cumulative sum over ranks (the SUCRA curve). ``nsim`` draws with ``seed``.
    """

    model: str
    treatments: tuple[str, ...]
    pscore: np.ndarray
    sucra: np.ndarray
    mean_rank: np.ndarray
    rank_probs: np.ndarray
    nsim: int
    seed: int | None
    small_values: str

    @property
    def cumulative(self) -> np.ndarray:
        """Cumulative rank probabilities (n x n)."""
        return np.cumsum(self.rank_probs, axis=1)

    def to_frame(self):
        """One row per treatment, best P-score first: treatment, pscore, sucra, mean_rank."""
        import pandas as pd

        frame = pd.DataFrame({"treatment": self.treatments, "pscore": self.pscore, "sucra": self.sucra,
                              "mean_rank": self.mean_rank})
        return frame.sort_values("pscore", ascending=False, kind="stable").reset_index(drop=True)

    def to_dict(self) -> dict:
        """Plain values, with the rank probabilities as nested lists."""
        return {"model": self.model, "treatments": list(self.treatments), "pscore": self.pscore.tolist(),
                "sucra": self.sucra.tolist(), "mean_rank": self.mean_rank.tolist(),
                "rank_probs": self.rank_probs.tolist(), "nsim": self.nsim, "seed": self.seed,
                "small_values": self.small_values}

    def summary(self) -> str:
        """The ranking table as text."""
        frame = self.to_frame()
        width = max(len(t) for t in self.treatments)
        lines = [f"Ranking ({self.model} effects; small values are {self.small_values}; SUCRA from "
                 f"{self.nsim} draws)", f"  {'':<{width}}  P-score  SUCRA  mean rank"]
        for r in frame.itertuples():
            lines.append(f"  {r.treatment:<{width}}  {r.pscore:7.4f}  {r.sucra:5.3f}  {r.mean_rank:9.2f}")
        return "\n".join(lines)


def rank_draws(estimates: NetworkEstimates, nsim: int, seed: int | None, small_values: str) -> np.ndarray:
    """Ranks (nsim x n; 1 = best) of draws from the joint distribution of the effects."""
    vals, vecs = np.linalg.eigh(estimates.cov)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    rng = np.random.default_rng(seed)
    draws = estimates.theta + rng.standard_normal((nsim, len(estimates.theta))) @ root.T
    key = draws if small_values == "good" else -draws
    return np.argsort(np.argsort(key, axis=1), axis=1) + 1


def ranking(estimates: NetworkEstimates, small_values: str = "good", nsim: int = 10000,
            seed: int | None = 1234) -> Ranking:
    """P-scores and SUCRA of every treatment.

    Parameters
    ----------
    estimates
        The model's estimates (``result.common`` or ``result.random``).
    small_values
        "good" if smaller effects are better, else "bad".
    nsim, seed
        Number of draws and the seed of the resampling.

    Examples
    --------
    >>> import numpy as np
    >>> est = NetworkEstimates("common", ("A", "B"), np.array([0.0, 1.0]), np.eye(2) * 0.5, 0.95)
    >>> r = ranking(est, "bad", nsim=20000, seed=1)
    >>> round(float(r.sucra[1]), 2)
    0.84
    """
    n = len(estimates.treatments)
    ranks = rank_draws(estimates, nsim, seed, small_values)
    probs = np.bincount((np.arange(n) * n + ranks - 1).ravel(), minlength=n * n).reshape(n, n) / nsim
    mean_rank = ranks.mean(axis=0)
    return Ranking(estimates.model, estimates.treatments, pscores(estimates, small_values),
                   (n - mean_rank) / (n - 1), mean_rank, probs, nsim, seed, small_values)
