"""tau² by (restricted) maximum likelihood in the multivariate contrast model.

The model is metafor's ``rma.mv(yi, V, mods = <treatments>, random = ~ comp | study,
rho = 1/2)`` with a common tau² (Salanti et al. 2008, Stat Methods Med Res 17:279): each
study contributes its p - 1 contrasts against its first arm, with the within-study
covariance ``(v_0a + v_0b - v_ab) / 2`` between contrasts sharing the first arm, and random
effects of variance tau² and covariance tau²/2. Adding tau² to every contrast variance and
taking that covariance gives the same matrix, so the generalised least squares fit at a
given tau² is the graph-theoretical fit (:mod:`metakit.network.graph`) and

    -2 log L_REML(tau²) = sum_s log det Sigma_s + log det(X' Sigma^-1 X) + Q(tau²) + const,

with ``X' Sigma^-1 X`` the reduced Laplacian (``det(L + J/n) / n`` by the matrix-tree
theorem); ML drops the middle term (Harville 1977, JASA 72:320). The criterion is minimised
over tau² >= 0 by Brent's bounded method to 1e-12.

``covariance="netmeta"`` reproduces R's netmeta for contrast-level input (without arm
data netmeta passes ``V = seTE²``, a diagonal matrix, to ``rma.mv``): each multi-arm study
keeps only its contrasts against one arm (the network's reference if the study has it, else
its last treatment in sorted order) and treats them as independent. That is the additive
model with arm variances 0 for that arm and ``v_ref,a`` for the others, so the other
contrasts' variances become ``v_ref,a + v_ref,b`` and the graph fit stays exact GLS.
``covariance="full"`` (default) uses the covariance the contrast variances imply, which
equals netmeta's and rma.mv's for arm-level data.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from metakit.network import graph
from metakit.network.data import NetworkData, pairs


def _logdet_sigma(net: NetworkData, v: np.ndarray) -> float:
    total = float(np.sum(np.log(v[net.two_arm])))
    for g in net.groups:
        p = g.p
        a, b = pairs(p)
        V = np.zeros((len(g.studies), p, p))
        V[:, a, b] = v[g.rows]
        V[:, b, a] = v[g.rows]
        first = V[:, 0, 1:]
        S = 0.5 * (first[:, :, None] + first[:, None, :] - V[:, 1:, 1:])
        idx = np.arange(p - 1)
        S[:, idx, idx] = first
        total += float(np.sum(np.linalg.slogdet(S)[1]))
    return total


def criterion(net: NetworkData, tau2: float, method: str = "REML", v0: np.ndarray | None = None) -> float:
    """``-2 log L`` (up to a constant) of the contrast model at ``tau2`` (``v0``: within variances)."""
    v = (net.seTE**2 if v0 is None else v0) + tau2
    fit = graph.fit_graph(net, v)
    value = _logdet_sigma(net, v) + fit.Q
    if method == "REML":
        L = graph.laplacian(net.n, net.t1, net.t2, fit.w)
        value += float(np.linalg.slogdet(L + 1.0 / net.n)[1])
    return value


def within_variances(net: NetworkData, covariance: str = "full", reference: int = 0) -> np.ndarray:
    """Contrast variances of the likelihood model (see the module docstring)."""
    v = net.seTE**2
    if covariance == "full":
        return v
    if covariance != "netmeta":
        raise ValueError(f"covariance must be 'full' or 'netmeta', not {covariance!r}")
    v = v.copy()
    for g in net.groups:
        p = g.p
        a, b = pairs(p)
        has_ref = g.nodes == reference
        ref = np.where(has_ref.any(axis=1), has_ref.argmax(axis=1), p - 1)
        V = np.zeros((len(g.studies), p, p))
        V[:, a, b] = v[g.rows]
        V[:, b, a] = v[g.rows]
        arm = V[np.arange(len(ref)), ref]
        v[g.rows] = arm[:, a] + arm[:, b]
    return v


def tau2_likelihood(net: NetworkData, method: str = "REML", covariance: str = "full", reference: int = 0) -> float:
    """The (RE)ML estimate of the common tau² (0 when the criterion rises from 0)."""
    if graph.df_Q(net) <= 0:
        return 0.0
    v0 = within_variances(net, covariance, reference)
    f = lambda t: criterion(net, t, method, v0)  # noqa: E731
    hi = max(1.0, float(np.var(net.TE)) * 4)
    while f(hi) < f(hi / 2):
        hi *= 4
    res = optimize.minimize_scalar(f, bounds=(0.0, hi), method="bounded", options={"xatol": 1e-13, "maxiter": 500})
    t = float(res.x)
    return 0.0 if f(0.0) <= f(t) else t
