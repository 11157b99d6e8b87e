"""The graph-theoretical method of network meta-analysis (Rücker 2012, Res Synth Methods 3:312).

A network of ``n`` treatments and ``m`` contrasts is an electrical network: contrast ``e``
joins treatments ``t1`` and ``t2`` with conductance (weight) ``w_e``. With the edge-vertex
incidence matrix ``B`` (m x n) and ``W = diag(w)``, the Laplacian is ``L = B' W B``, its
Moore-Penrose pseudo-inverse ``L+ = (L + J/n)^-1 - J/n`` (J the all-ones matrix), and

- the treatment effects (defined up to a constant) are ``theta = L+ B' W y``;
- the covariance of any two treatment differences follows from ``L+``: the variance of
  ``theta_i - theta_j`` is ``L+_ii + L+_jj - 2 L+_ij`` (the effective resistance);
- the hat matrix is ``H = B L+ B' W`` and Q = ``(y - H y)' W (y - H y)``.

Multi-arm studies: a p-arm study gives p(p-1)/2 correlated contrasts. Rücker's reduced
weights replace them by an equivalent set of independent edges: with the p x p matrix ``V``
of the study's contrast variances, the study Laplacian is the pseudo-inverse of
``-1/2 C V C`` (``C = I - J/p``) and the weight of contrast (a, b) is minus its off-diagonal
entry (Rücker 2012, section 3.3; Rücker & Schwarzer 2014, Stat Med 33:4353). For three arms
this is exactly generalised least squares with the study's contrast covariance.

Relation to the kernel: :func:`metakit.stats.kernel.fit` fits ``y = X beta`` by weighted
least squares with a *diagonal* weight matrix. With independent (two-arm) contrasts a
network is that model with ``X = B`` minus the reference column, ``beta`` the effects
versus the reference, and ``X' W X`` the reduced Laplacian; the two give the same
estimates. Multi-arm studies need the non-diagonal within-study covariance, which the
kernel does not take, so the network has this module of its own: the reduced weights turn
the study's covariance into independent edges and ``L+`` replaces ``(X' W X)^-1``.

Random effects add ``tau²`` to every contrast variance before the weights are reduced,
which gives the covariance ``tau²/2`` between contrasts of a multi-arm study that share an
arm (the consistency model with a common heterogeneity; Higgins & Whitehead 1996).
The generalised DerSimonian-Laird estimator (Jackson, White & Riley 2012; netmeta's
default) is ``tau² = max(0, (Q - df) / tr((I - H) S W))`` with ``S`` the within-study
correlation of the random effects (1 on the diagonal, ±1/2 between contrasts of a study
sharing an arm); here the trace is ``sum(w) - 1/2 sum_s tr(L+ L_s²)`` over the study
Laplacians ``L_s``, which needs no m x m matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from metakit.network.data import NetworkData, pairs


@dataclass(frozen=True)
class GraphFit:
    """A fit of the graph-theoretical model at one set of contrast variances.

    Attributes
    ----------
    theta
        Treatment effects, centred (sum zero).
    Lplus
        Pseudo-inverse of the Laplacian: the covariance of ``theta``.
    w
        Reduced weights of the contrasts.
    fitted
        Network estimates of the contrasts (``theta[t1] - theta[t2]``).
    Q
        Weighted residual sum of squares.
    study_L
        Study Laplacians of the multi-arm groups, one (g, p, p) array per group.
    """

    theta: np.ndarray
    Lplus: np.ndarray
    w: np.ndarray
    fitted: np.ndarray
    Q: float
    study_L: tuple[np.ndarray, ...]


def reduced_weights(net: NetworkData, v: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Rücker's reduced weights of every contrast given contrast variances ``v``.

    Returns the weights (m,) and the study Laplacians of the multi-arm groups.
    """
    w = 1.0 / v
    study_L = []
    for g in net.groups:
        p = g.p
        a, b = pairs(p)
        V = np.zeros((len(g.studies), p, p))
        V[:, a, b] = v[g.rows]
        V[:, b, a] = v[g.rows]
        S = _centring(p)
        L = np.linalg.inv(1.0 / p - S @ V @ S) - 1.0 / p
        w[g.rows] = -L[:, a, b]
        study_L.append(L)
    return w, tuple(study_L)


@lru_cache(maxsize=32)
def _centring(p: int) -> np.ndarray:
    """``S = sqrt(1/2) (I - J/p)``, so that ``-1/2 C V C = -S V S``."""
    return np.sqrt(0.5) * (np.eye(p) - 1.0 / p)


def laplacian(n: int, t1: np.ndarray, t2: np.ndarray, w: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
    """The weighted graph Laplacian B' W B (n x n); ``index`` is ``t1 * n + t2`` if known."""
    off = np.bincount(t1 * n + t2 if index is None else index, weights=w, minlength=n * n).reshape(n, n)
    off = off + off.T
    L = -off
    L[np.diag_indices(n)] = off.sum(axis=1)
    return L


def fit_graph(net: NetworkData, v: np.ndarray) -> GraphFit:
    """Fit the network with contrast variances ``v`` (seTE², plus tau² for random effects)."""
    n = net.n
    w, study_L = reduced_weights(net, v)
    L = laplacian(n, net.t1, net.t2, w, net.edge_index)
    Lplus = np.linalg.inv(L + 1.0 / n) - 1.0 / n
    wy = w * net.TE
    theta = Lplus @ (np.bincount(net.t1, weights=wy, minlength=n) - np.bincount(net.t2, weights=wy, minlength=n))
    fitted = theta[net.t1] - theta[net.t2]
    Q = float(np.sum(w * (net.TE - fitted) ** 2))
    return GraphFit(theta, Lplus, w, fitted, Q, study_L)


def edge_variance(Lplus: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Variance of the network estimate of each contrast (effective resistance)."""
    return Lplus[t1, t1] + Lplus[t2, t2] - 2 * Lplus[t1, t2]


def trace_hsw(net: NetworkData, fit: GraphFit) -> float:
    """``tr(H S W)``: sum over studies of ``1/2 tr(L+ L_s²)`` (see the module docstring)."""
    two = net.two_arm
    var = edge_variance(fit.Lplus, net.t1[two], net.t2[two])
    total = float(np.sum(fit.w[two] ** 2 * var))
    for g, L in zip(net.groups, fit.study_L):
        block = fit.Lplus[g.nodes[:, :, None], g.nodes[:, None, :]]
        total += 0.5 * float(np.sum(block * (L @ L)))
    return total


def df_Q(net: NetworkData) -> int:
    """Degrees of freedom of Q: sum over studies of (arms - 1), minus (n - 1)."""
    return int(np.sum(net.narms - 1) - (net.n - 1))


def tau2_dl(net: NetworkData, fit: GraphFit) -> float:
    """Generalised DerSimonian-Laird tau² from a common-effect fit (0 when df = 0)."""
    df = df_Q(net)
    if df <= 0:
        return 0.0
    denom = float(np.sum(fit.w)) - trace_hsw(net, fit)
    return max(0.0, (fit.Q - df) / denom)
