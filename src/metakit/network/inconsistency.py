"""Inconsistency: the design-by-treatment decomposition of Q and node-splitting.

Design decomposition (Krahn, Binder & König 2013, BMC Med Res Methodol 13:35; netmeta's
``decomp.design``). A design is the set of treatments a study compares. Fitting every
design as its own small network (the full design-by-treatment interaction model; Higgins et
al. 2012, Res Synth Methods 3:98) leaves the heterogeneity *within* designs; the rest of the
network Q is inconsistency *between* designs:

- ``Q_total = Q_within + Q_between`` with df ``sum(arms - 1) - (n - 1)``, ``sum_d (k_d - 1)(p_d - 1)``
  and their difference;
- each design's contribution to ``Q_between`` is ``delta' L_d delta``, with ``delta`` the gap
  between the design's own estimates and the network's, ``L_d`` the design's Laplacian (the
  inverse covariance of its pooled estimates); netmeta lists the rows of this quadratic form
  for the basis contrasts of a multi-arm design, whose sum this is;
- ``Q_between`` after *detaching* a design (giving it its own parameters) is the between-design
  Q of the network without it; designs whose removal disconnects the network are left out;
- ``Q_between`` under random effects uses ``tau_within²``: the generalised DerSimonian-Laird
  estimate of the interaction model (netmeta's ``tau.within``).

Node-splitting by back-calculation (Dias et al. 2010, Stat Med 29:932; König, Krahn & Binder
2013, Stat Med 32:5414; netmeta's ``netsplit``): for each comparison the direct estimate
pools the studies comparing it (inverse variance, unadjusted variances plus tau²); with
``prop = Var(network) / Var(direct)`` (the proportion of direct evidence) the indirect
estimate is ``(TE_net - prop TE_dir) / (1 - prop)`` with variance ``Var(network) / (1 - prop)``,
and direct minus indirect is tested with a z-test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from metakit.network import graph
from metakit.network.data import NetworkData
from metakit.stats.inference import z_crit


@dataclass(frozen=True)
class DesignFit:
    """The full design-by-treatment interaction model at contrast variances ``v``.

    ``labels`` name the designs; ``design`` gives each study's design; ``Q`` and ``df``
    are per design; ``nodes`` (per design, its treatments), ``theta`` and ``L`` (its own
    estimates and Laplacian) are lists indexed by design; ``trace`` is ``tr(H S W)`` of the
    model (for ``tau_within``); ``w`` the reduced weights.
    """

    labels: tuple[str, ...]
    design: np.ndarray
    Q: np.ndarray
    df: np.ndarray
    nodes: list
    theta: list
    L: list
    trace: float
    w: np.ndarray


def study_designs(net: NetworkData) -> tuple[np.ndarray, np.ndarray]:
    """Design code of each study and the designs' treatment masks (D, n), rows sorted."""
    arms = np.zeros((net.k, net.n), dtype=bool)
    arms[net.study, net.t1] = True
    arms[net.study, net.t2] = True
    masks, code = np.unique(arms, axis=0, return_inverse=True)
    return code.ravel(), masks


def within_designs(net: NetworkData, v: np.ndarray) -> DesignFit:
    """Fit each design as its own network (batched by number of arms)."""
    dcode, masks = study_designs(net)
    D, n = masks.shape
    p_d = masks.sum(axis=1)
    loc = np.cumsum(masks, axis=1) - 1
    w, study_L = graph.reduced_weights(net, v)
    cd = dcode[net.study]
    la, lb = loc[cd, net.t1], loc[cd, net.t2]
    fitted = np.empty(net.m)
    thetas: list = [None] * D
    Ls: list = [None] * D
    nodes = [np.flatnonzero(row) for row in masks]
    var_local = np.empty(net.m)
    Lplus_of: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for p in np.unique(p_d):
        ds = np.flatnonzero(p_d == p)
        gi = np.full(D, -1)
        gi[ds] = np.arange(len(ds))
        rows = np.flatnonzero(p_d[cd] == p)
        g = gi[cd[rows]]
        a, b = la[rows], lb[rows]
        off = np.bincount((g * p + a) * p + b, weights=w[rows], minlength=len(ds) * p * p).reshape(-1, p, p)
        off = off + off.transpose(0, 2, 1)
        L = -off
        idx = np.arange(p)
        L[:, idx, idx] = off.sum(axis=2)
        wy = w[rows] * net.TE[rows]
        rhs = np.bincount(g * p + a, weights=wy, minlength=len(ds) * p).reshape(-1, p) \
            - np.bincount(g * p + b, weights=wy, minlength=len(ds) * p).reshape(-1, p)
        Lplus = np.linalg.inv(L + 1.0 / p) - 1.0 / p
        theta = np.einsum("dij,dj->di", Lplus, rhs)
        fitted[rows] = theta[g, a] - theta[g, b]
        var_local[rows] = Lplus[g, a, a] + Lplus[g, b, b] - 2 * Lplus[g, a, b]
        Lplus_of[int(p)] = (gi, Lplus)
        for j, d in enumerate(ds):
            thetas[d], Ls[d] = theta[j], L[j]
    Q = np.bincount(cd, weights=w * (net.TE - fitted) ** 2, minlength=D)
    k_d = np.bincount(dcode, minlength=D)
    df = (k_d - 1) * (p_d - 1)
    # a design with one study fits it exactly: its Q is 0, not rounding noise
    Q = np.where(df == 0, 0.0, Q)
    two = net.two_arm
    trace = float(np.sum(w[two] ** 2 * var_local[two]))
    for grp, Ls_g in zip(net.groups, study_L):
        gi, Lplus = Lplus_of[grp.p]
        block = Lplus[gi[dcode[grp.studies]]]
        trace += 0.5 * float(np.sum(block * (Ls_g @ Ls_g)))
    labels = tuple(":".join(net.treatments[t] for t in row) for row in nodes)
    return DesignFit(labels, dcode, Q, df, nodes, thetas, Ls, trace, w)


@dataclass(frozen=True)
class Decomposition:
    """Design-by-treatment decomposition of Q (netmeta's ``decomp.design``).

    Attributes
    ----------
    Q_decomp
        DataFrame: rows Total, Within designs, Between designs; columns Q, df, pval.
    Q_het_design
        DataFrame: design, Q, df, pval (heterogeneity within each design).
    Q_inc_detach
        DataFrame: design, Q, df, pval (between-designs Q after detaching each design).
    Q_inc_design
        DataFrame: design, Q (each design's contribution to the between-designs Q).
    Q_inc_random
        DataFrame: Q, df, pval, tau_within (between-designs Q under random effects).
    """

    Q_decomp: object
    Q_het_design: object
    Q_inc_detach: object
    Q_inc_design: object
    Q_inc_random: object

    def to_dict(self) -> dict:
        """Each table as a list of records."""
        return {k: getattr(self, k).to_dict(orient="records") for k in
                ("Q_decomp", "Q_het_design", "Q_inc_detach", "Q_inc_design", "Q_inc_random")}

    def to_frame(self):
        """The three-row Q decomposition."""
        return self.Q_decomp

    def summary(self) -> str:
        """The decomposition and the random-effects between-designs Q, as text."""
        lines = ["Q statistics to assess homogeneity / consistency"]
        for name, row in self.Q_decomp.iterrows():
            lines.append(f"  {name:<16} Q = {row.Q:8.2f}  df = {int(row.df):3d}  p = {row.pval:.4g}")
        r = self.Q_inc_random.iloc[0]
        lines.append(f"Between designs, random effects (tau_within = {r.tau_within:.4f}): Q = {r.Q:.2f}, "
                     f"df = {int(r.df)}, p = {r.pval:.4g}")
        return "\n".join(lines)


def _pval(Q, df):
    Q, df = np.asarray(Q, float), np.asarray(df, float)
    with np.errstate(invalid="ignore"):
        return np.where(df > 0, special.chdtrc(np.maximum(df, 1), Q), np.nan)


def _q_between(net: NetworkData, v: np.ndarray) -> tuple[float, DesignFit, graph.GraphFit]:
    fit = graph.fit_graph(net, v)
    within = within_designs(net, v)
    return fit.Q - float(within.Q.sum()), within, fit


def decomp_design(net: NetworkData) -> Decomposition:
    """The design-by-treatment decomposition of Q (see the module docstring).

    Within design A:B, Q = 100 (0.1² + 0.1²) = 2; between designs, the direct A:B (0.4, var
    0.005) against the indirect 0.9 - 0.2 = 0.7 (var 0.08): Q = 0.3² / 0.085 = 1.0588.

    >>> from metakit.network.data import from_contrasts
    >>> net = from_contrasts({"studlab": ["s1", "s2", "s3", "s4"], "treat1": ["A", "A", "B", "A"],
    ...                       "treat2": ["B", "B", "C", "C"], "TE": [0.5, 0.3, 0.2, 0.9],
    ...                       "seTE": [0.1, 0.1, 0.2, 0.2]})
    >>> [round(q, 4) for q in decomp_design(net).Q_decomp["Q"]]
    [3.0588, 2.0, 1.0588]
    """
    import pandas as pd

    v = net.seTE**2
    Q_b, within, fit = _q_between(net, v)
    df_total = graph.df_Q(net)
    df_w = int(within.df.sum())
    Q_w = float(within.Q.sum())
    decomp = pd.DataFrame({"Q": [fit.Q, Q_w, Q_b], "df": [df_total, df_w, df_total - df_w]},
                          index=["Total", "Within designs", "Between designs"])
    decomp["pval"] = _pval(decomp["Q"], decomp["df"])
    het = pd.DataFrame({"design": within.labels, "Q": within.Q, "df": within.df})
    het["pval"] = _pval(het["Q"], het["df"])
    contrib = []
    for nodes, theta, L in zip(within.nodes, within.theta, within.L):
        delta = theta - fit.theta[nodes]
        contrib.append(float(delta @ L @ delta))
    inc_design = pd.DataFrame({"design": within.labels, "Q": contrib})
    detach = _detach(net, fit, within, Q_w, df_total - df_w)
    denom = float(np.sum(within.w)) - within.trace
    tau2_w = max(0.0, (Q_w - df_w) / denom) if df_w > 0 and denom > 0 else 0.0
    Q_rand, _, _ = _q_between(net, v + tau2_w)
    rand = pd.DataFrame({"Q": [Q_rand], "df": [df_total - df_w]}, index=["Between designs"])
    rand["pval"] = _pval(rand["Q"], rand["df"])
    rand["tau_within"] = np.sqrt(tau2_w)
    return Decomposition(decomp, het, detach, inc_design, rand)


def _detach(net: NetworkData, fit: graph.GraphFit, within: DesignFit, Q_w: float, df_b: int):
    """Between-designs Q without each design, all designs at once (batched n x n solves)."""
    import pandas as pd

    n, D = net.n, len(within.labels)
    cd = within.design[net.study]
    w, y = fit.w, net.TE
    L_full = graph.laplacian(n, net.t1, net.t2, w)
    flat = (cd * n + net.t1) * n + net.t2
    off = np.bincount(flat, weights=w, minlength=D * n * n).reshape(D, n, n)
    off = off + off.transpose(0, 2, 1)
    L_d = -off
    idx = np.arange(n)
    L_d[:, idx, idx] = off.sum(axis=2)
    wy = w * y
    b_full = np.bincount(net.t1, weights=wy, minlength=n) - np.bincount(net.t2, weights=wy, minlength=n)
    b_d = np.bincount(cd * n + net.t1, weights=wy, minlength=D * n).reshape(D, n) \
        - np.bincount(cd * n + net.t2, weights=wy, minlength=D * n).reshape(D, n)
    yy_d = np.bincount(cd, weights=wy * y, minlength=D)
    # connectivity from the unweighted multigraph: det(U + J/n) = n x (number of spanning trees)
    ones = np.ones(net.m)
    U_full = graph.laplacian(n, net.t1, net.t2, ones)
    cnt = np.bincount(flat, weights=ones, minlength=D * n * n).reshape(D, n, n)
    cnt = cnt + cnt.transpose(0, 2, 1)
    U_d = -cnt
    U_d[:, idx, idx] = cnt.sum(axis=2)
    _, logdet = np.linalg.slogdet(U_full - U_d + 1.0 / n)
    connected = logdet > np.log(0.5 * n)
    L_rest = L_full - L_d + 1.0 / n
    b_rest = b_full - b_d
    sol = np.linalg.solve(L_rest[connected], b_rest[connected][..., None])[..., 0]
    Q_rest = float(np.sum(wy * y)) - yy_d[connected] - np.einsum("di,di->d", b_rest[connected], sol)
    p_d = np.array([len(x) for x in within.nodes])
    Q_inc = Q_rest - (Q_w - within.Q[connected])
    df = df_b - (p_d[connected] - 1)
    out = pd.DataFrame({"design": np.array(within.labels, dtype=object)[connected], "Q": Q_inc, "df": df})
    out["pval"] = _pval(out["Q"], out["df"])
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class NetSplit:
    """Node-splitting by back-calculation for every comparison (netmeta's ``netsplit``).

    ``table`` has one row per comparison (treat1 before treat2 in sorted order; TE is treat1
    versus treat2): k (studies with direct evidence), prop (proportion of direct evidence),
    and TE, seTE, lower, upper, statistic, pval for each of nma, direct, indirect and compare
    (direct minus indirect), as columns ``nma_TE``, ``direct_seTE``, ... NaN where undefined.
    """

    model: str
    table: object
    level: float

    def to_frame(self):
        """The table."""
        return self.table

    def to_dict(self) -> dict:
        """The table as a list of records (NaN as None)."""
        frame = self.table.astype(object).where(self.table.notna(), None)
        return {"model": self.model, "level": self.level, "comparisons": frame.to_dict(orient="records")}

    def summary(self, digits: int = 4) -> str:
        """Comparisons with direct and indirect evidence: direct, indirect, difference and p."""
        t = self.table
        lines = [f"Node-splitting by back-calculation ({self.model} effects)"]
        both = t[t["compare_TE"].notna()]
        for _, r in both.iterrows():
            lines.append(f"  {r.treat1}:{r.treat2}  k = {int(r.k)}  prop = {r.prop:.2f}  "
                         f"direct {r.direct_TE:.{digits}f}  indirect {r.indirect_TE:.{digits}f}  "
                         f"difference {r.compare_TE:.{digits}f} [{r.compare_lower:.{digits}f}; "
                         f"{r.compare_upper:.{digits}f}]  p = {r.compare_pval:.4g}")
        return "\n".join(lines)


def direct_estimates(net: NetworkData, tau2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse-variance pooled direct estimate, its variance and k per pair (n x n, i < j)."""
    n = net.n
    w = 1.0 / (net.seTE**2 + tau2)
    code = net.t1 * n + net.t2
    sw = np.bincount(code, weights=w, minlength=n * n).reshape(n, n)
    swy = np.bincount(code, weights=w * net.TE, minlength=n * n).reshape(n, n)
    k = np.bincount(code, minlength=n * n).reshape(n, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k > 0, swy / sw, np.nan), np.where(k > 0, 1.0 / sw, np.nan), k


def prop_direct(net: NetworkData, estimates) -> np.ndarray:
    """Proportion of direct evidence of each comparison (n x n, upper triangle; 0 without)."""
    _, var_dir, k = direct_estimates(net, estimates.tau2)
    se = estimates.matrix()["seTE"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k > 0, se**2 / var_dir, 0.0)


def netsplit(net: NetworkData, estimates, tol_direct: float = 0.0005) -> NetSplit:
    """Split every comparison into direct and indirect evidence (see the module docstring).

    ``tol_direct`` as netmeta: a comparison whose proportion of direct evidence exceeds
    ``1 - tol_direct`` has no indirect estimate.
    """
    import pandas as pd

    n = net.n
    te_dir, var_dir, k = direct_estimates(net, estimates.tau2)
    mat = estimates.matrix()
    i, j = np.triu_indices(n, 1)
    te_net, var_net = mat["TE"][i, j], mat["seTE"][i, j] ** 2
    kk, td, vd = k[i, j], te_dir[i, j], var_dir[i, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = np.where(kk > 0, var_net / vd, 0.0)
        has_ind = prop < 1 - tol_direct
        ti = np.where(has_ind, (te_net - np.where(kk > 0, prop * td, 0.0)) / (1 - prop), np.nan)
        vi = np.where(has_ind, var_net / (1 - prop), np.nan)
    tc, vc = td - ti, vd + vi
    z = z_crit(estimates.level)
    frame = pd.DataFrame({"treat1": [net.treatments[a] for a in i], "treat2": [net.treatments[b] for b in j],
                          "k": kk, "prop": prop})
    for name, te, var in (("nma", te_net, var_net), ("direct", td, vd), ("indirect", ti, vi), ("compare", tc, vc)):
        se = np.sqrt(var)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = te / se
        frame[f"{name}_TE"], frame[f"{name}_seTE"] = te, se
        frame[f"{name}_lower"], frame[f"{name}_upper"] = te - z * se, te + z * se
        frame[f"{name}_statistic"], frame[f"{name}_pval"] = stat, 2 * special.ndtr(-np.abs(stat))
    return NetSplit(estimates.model, frame, estimates.level)
