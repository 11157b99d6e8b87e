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

    ``Q`` is per design (0 where a design has one study); ``theta`` and ``L`` hold, per
    :class:`~metakit.network.data.DesignGroup`, the designs' own estimates (Dp, p) and
    Laplacians (Dp, p, p); ``trace`` is ``tr(H S W)`` of the model (for ``tau_within``);
    ``rhs`` the designs' ``B' W y``; ``w`` the reduced weights.
    """

    Q: np.ndarray
    theta: tuple[np.ndarray, ...]
    L: tuple[np.ndarray, ...]
    rhs: tuple[np.ndarray, ...]
    trace: float
    w: np.ndarray


def within_designs(net: NetworkData, v: np.ndarray, fit: graph.GraphFit | None = None,
                   trace: bool = True) -> DesignFit:
    """Fit each design as its own network (batched by number of treatments).

    ``fit``, the network fit at the same variances, lends its reduced weights; ``trace=False``
    skips ``tr(H S W)`` (NaN then).
    """
    lay = net.layout
    D = len(lay.labels)
    w, study_L = graph.reduced_weights(net, v) if fit is None else (fit.w, fit.study_L)
    wy = w * net.TE
    fitted = np.empty(net.m)
    var_local = np.empty(net.m)
    thetas, Ls, rhss, Lpluses = [], [], [], {}
    for grp in lay.groups:
        p, Dp, g, a, b, rows = grp.p, len(grp.designs), grp.g, grp.a, grp.b, grp.rows
        flat, fa, fb = grp.flat
        off = np.bincount(flat, weights=w[rows], minlength=Dp * p * p).reshape(Dp, p, p)
        off = off + off.transpose(0, 2, 1)
        L = -off
        idx = np.arange(p)
        L[:, idx, idx] = off.sum(axis=2)
        rhs = np.bincount(fa, weights=wy[rows], minlength=Dp * p).reshape(Dp, p) \
            - np.bincount(fb, weights=wy[rows], minlength=Dp * p).reshape(Dp, p)
        Lplus = np.linalg.inv(L + 1.0 / p) - 1.0 / p
        theta = np.einsum("dij,dj->di", Lplus, rhs)
        fitted[rows] = theta[g, a] - theta[g, b]
        if trace:
            var_local[rows] = Lplus[g, a, a] + Lplus[g, b, b] - 2 * Lplus[g, a, b]
        thetas.append(theta)
        Ls.append(L)
        rhss.append(rhs)
        Lpluses[p] = (grp.position, Lplus)
    Q = np.bincount(lay.design[net.study], weights=w * (net.TE - fitted) ** 2, minlength=D)
    # a design with one study fits it exactly: its Q is 0, not rounding noise
    Q = np.where(lay.df == 0, 0.0, Q)
    tr = np.nan
    if trace:
        two = net.two_arm
        tr = float(np.sum(w[two] ** 2 * var_local[two]))
        for grp, Ls_g in zip(net.groups, study_L):
            position, Lplus = Lpluses[grp.p]
            block = Lplus[position[lay.design[grp.studies]]]
            tr += 0.5 * float(np.sum(block * (Ls_g @ Ls_g)))
    return DesignFit(Q, tuple(thetas), tuple(Ls), tuple(rhss), tr, w)


@dataclass(frozen=True)
class Decomposition:
    """Design-by-treatment decomposition of Q (netmeta's ``decomp.design``).

    Arrays: ``Q``/``df`` (total, within designs, between designs); per design ``designs``,
    ``Q_het``, ``df_het`` and ``Q_inc``; the designs whose detachment keeps the network
    connected, ``detach_designs``, with ``Q_detach``, ``df_detach``; ``Q_random`` (between
    designs under random effects) and ``tau_within``. The properties give netmeta's tables
    as DataFrames: ``Q_decomp``, ``Q_het_design``, ``Q_inc_detach``, ``Q_inc_design``,
    ``Q_inc_random``.
    """

    Q: np.ndarray
    df: np.ndarray
    designs: tuple[str, ...]
    Q_het: np.ndarray
    df_het: np.ndarray
    Q_inc: np.ndarray
    detach_designs: tuple[str, ...]
    Q_detach: np.ndarray
    df_detach: np.ndarray
    Q_random: float
    tau_within: float

    @property
    def Q_decomp(self):
        """Rows Total, Within designs, Between designs; columns Q, df, pval."""
        import pandas as pd

        return pd.DataFrame({"Q": self.Q, "df": self.df, "pval": _pval(self.Q, self.df)},
                            index=["Total", "Within designs", "Between designs"])

    @property
    def Q_het_design(self):
        """design, Q, df, pval: heterogeneity within each design."""
        import pandas as pd

        return pd.DataFrame({"design": self.designs, "Q": self.Q_het, "df": self.df_het,
                             "pval": _pval(self.Q_het, self.df_het)})

    @property
    def Q_inc_detach(self):
        """design, Q, df, pval: between-designs Q after detaching each design."""
        import pandas as pd

        return pd.DataFrame({"design": self.detach_designs, "Q": self.Q_detach, "df": self.df_detach,
                             "pval": _pval(self.Q_detach, self.df_detach)})

    @property
    def Q_inc_design(self):
        """design, Q: each design's contribution to the between-designs Q."""
        import pandas as pd

        return pd.DataFrame({"design": self.designs, "Q": self.Q_inc})

    @property
    def Q_inc_random(self):
        """Q, df, pval, tau_within: between-designs Q under random effects (tau_within²)."""
        import pandas as pd

        return pd.DataFrame({"Q": [self.Q_random], "df": [self.df[2]], "pval": _pval([self.Q_random], [self.df[2]]),
                             "tau_within": [self.tau_within]}, index=["Between designs"])

    def to_dict(self) -> dict:
        """Each table as a list of records."""
        out = {}
        for k in ("Q_decomp", "Q_het_design", "Q_inc_detach", "Q_inc_design", "Q_inc_random"):
            frame = getattr(self, k)
            out[k] = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return out

    def to_frame(self):
        """The three-row Q decomposition."""
        return self.Q_decomp

    def summary(self) -> str:
        """The decomposition and the random-effects between-designs Q, as text."""
        lines = ["Q statistics to assess homogeneity / consistency"]
        for name, q, df, p in zip(("Total", "Within designs", "Between designs"), self.Q, self.df,
                                  _pval(self.Q, self.df)):
            lines.append(f"  {name:<16} Q = {q:8.2f}  df = {int(df):3d}  p = {p:.4g}")
        p = float(_pval([self.Q_random], [self.df[2]])[0])
        lines.append(f"Between designs, random effects (tau_within = {self.tau_within:.4f}): "
                     f"Q = {self.Q_random:.2f}, df = {int(self.df[2])}, p = {p:.4g}")
        return "\n".join(lines)


def _pval(Q, df):
    Q, df = np.asarray(Q, float), np.asarray(df, float)
    with np.errstate(invalid="ignore"):
        return np.where(df > 0, special.chdtrc(np.maximum(df, 1), Q), np.nan)


def decomp_design(net: NetworkData, fit: graph.GraphFit | None = None,
                  within: DesignFit | None = None) -> Decomposition:
    """The design-by-treatment decomposition of Q (see the module docstring).

    ``fit`` and ``within`` (the common-effect network and design fits) are reused when given.

    Within design A:B, Q = 100 (0.1² + 0.1²) = 2; between designs, the direct A:B (0.4, var
    0.005) against the indirect 0.9 - 0.2 = 0.7 (var 0.08): Q = 0.3² / 0.085 = 1.0588.

    >>> from metakit.network.data import from_contrasts
    >>> net = from_contrasts({"studlab": ["s1", "s2", "s3", "s4"], "treat1": ["A", "A", "B", "A"],
    ...                       "treat2": ["B", "B", "C", "C"], "TE": [0.5, 0.3, 0.2, 0.9],
    ...                       "seTE": [0.1, 0.1, 0.2, 0.2]})
    >>> [round(float(q), 4) for q in decomp_design(net).Q]
    [3.0588, 2.0, 1.0588]
    """
    v = net.seTE**2
    fit = graph.fit_graph(net, v) if fit is None else fit
    within = within_designs(net, v, fit) if within is None else within
    lay = net.layout
    df_total = graph.df_Q(net)
    df_w = int(lay.df.sum())
    Q_w = float(within.Q.sum())
    contrib = np.empty(len(lay.labels))
    for grp, theta, L in zip(lay.groups, within.theta, within.L):
        delta = theta - fit.theta[grp.nodes]
        contrib[grp.designs] = np.einsum("di,dij,dj->d", delta, L, delta)
    keep, Q_det, df_det = _detach(net, fit, within, Q_w, df_total - df_w)
    denom = float(np.sum(within.w)) - within.trace
    tau2_w = max(0.0, (Q_w - df_w) / denom) if df_w > 0 and denom > 0 else 0.0
    if tau2_w > 0:
        vr = v + tau2_w
        fit_r = graph.fit_graph(net, vr)
        Q_rand = fit_r.Q - float(within_designs(net, vr, fit_r, trace=False).Q.sum())
    else:
        Q_rand = fit.Q - Q_w
    return Decomposition(np.array([fit.Q, Q_w, fit.Q - Q_w]), np.array([df_total, df_w, df_total - df_w]),
                         lay.labels, within.Q, lay.df, contrib,
                         tuple(np.array(lay.labels, dtype=object)[keep]), Q_det, df_det, Q_rand,
                         float(np.sqrt(tau2_w)))


def _detach(net: NetworkData, fit: graph.GraphFit, within: DesignFit, Q_w: float, df_b: int):
    """Between-designs Q without each design, by rank-(p-1) updates of the network fit.

    Removing design d subtracts its Laplacian ``L_d = T' A T`` (T: contrasts of its
    treatments against its first one; A: its reduced Laplacian) from ``L``. By the Woodbury
    identity the pseudo-inverse of the rest is ``L+ + L+ U (I - A R)^-1 A U' L+`` with
    ``U = (T N)'`` and ``R = U' L+ U``; the removal disconnects the network exactly when
    ``A R`` has an eigenvalue 1 (the design is a bridge). All designs of one size at once.
    """
    lay = net.layout
    D = len(lay.labels)
    keep = np.zeros(D, dtype=bool)
    Q_rest = np.zeros(D)
    wy = fit.w * net.TE
    yy_d = np.bincount(lay.design[net.study], weights=wy * net.TE, minlength=D)
    b = np.bincount(net.t1, weights=wy, minlength=net.n) - np.bincount(net.t2, weights=wy, minlength=net.n)
    total = float(np.sum(wy * net.TE)) - float(b @ fit.theta)
    for grp, L, rhs in zip(lay.groups, within.L, within.rhs):
        nodes = grp.nodes
        G = fit.Lplus[nodes[:, :, None], nodes[:, None, :]]
        theta = fit.theta[nodes]
        A = L[:, 1:, 1:]
        Gb = np.einsum("dij,dj->di", G, rhs)
        # T x: each treatment's entry minus the first's
        u = (theta - Gb)[:, 1:] - (theta - Gb)[:, :1]
        R = G[:, 1:, 1:] - G[:, 1:, :1] - G[:, :1, 1:] + G[:, :1, :1]
        if grp.p == 2:  # scalar case: the design's one edge
            ar = (A * R)[:, 0, 0]
            ok = ar < 1 - 1e-8
            corr = np.where(ok, A[:, 0, 0] * u[:, 0] ** 2 / np.where(ok, 1 - ar, 1.0), 0.0)
        else:
            AR = A @ R
            ok = np.linalg.eigvals(AR).real.max(axis=1) < 1 - 1e-8
            corr = np.zeros(len(nodes))
            if ok.any():
                eye = np.eye(grp.p - 1)
                sol = np.linalg.solve(eye - AR[ok], np.einsum("dij,dj->di", A[ok], u[ok])[..., None])[..., 0]
                corr[ok] = np.einsum("di,di->d", u[ok], sol)
        bb = np.einsum("di,di->d", rhs, theta) * 2 - np.einsum("di,di->d", rhs, Gb)
        Q_rest[grp.designs] = total - yy_d[grp.designs] + bb - corr
        keep[grp.designs] = ok
    Q_inc = Q_rest[keep] - (Q_w - within.Q[keep])
    return keep, Q_inc, df_b - (lay.size[keep] - 1)


@dataclass(frozen=True)
class NetSplit:
    """Node-splitting by back-calculation for every comparison (netmeta's ``netsplit``).

    ``columns`` maps column names to arrays, one entry per comparison (treat1 before treat2
    in sorted order; TE is treat1 versus treat2): k (studies with direct evidence), prop
    (proportion of direct evidence), and TE, seTE, lower, upper, statistic, pval for each of
    nma, direct, indirect and compare (direct minus indirect), as ``nma_TE``,
    ``direct_seTE``, ...; NaN where undefined. ``table`` is the same as a DataFrame.
    """

    model: str
    columns: dict
    level: float
    is_ratio: bool = False

    @property
    def table(self):
        """The comparisons as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.columns)

    def to_frame(self):
        """The table."""
        return self.table

    def to_dict(self) -> dict:
        """The table as a list of records (NaN as None)."""
        frame = self.table.astype(object)
        frame = frame.where(self.table.notna(), None)
        return {"model": self.model, "level": self.level, "comparisons": frame.to_dict(orient="records")}

    def summary(self, digits: int = 4) -> str:
        """Comparisons with direct and indirect evidence: direct, indirect, difference and p."""
        c = self.columns
        f = np.exp if self.is_ratio else (lambda x: x)
        what = "ratio of direct to indirect" if self.is_ratio else "difference"
        lines = [f"Node-splitting by back-calculation ({self.model} effects"
                 + ("; ratios back-transformed)" if self.is_ratio else ")")]
        for i in np.flatnonzero(np.isfinite(c["compare_TE"])):
            lines.append(f"  {c['treat1'][i]} vs {c['treat2'][i]}: k = {int(c['k'][i])}, prop = {c['prop'][i]:.2f}, "
                         f"direct {f(c['direct_TE'][i]):.{digits}f}, indirect {f(c['indirect_TE'][i]):.{digits}f}, "
                         f"{what} {f(c['compare_TE'][i]):.{digits}f} [{f(c['compare_lower'][i]):.{digits}f}; "
                         f"{f(c['compare_upper'][i]):.{digits}f}], p = {c['compare_pval'][i]:.4g}")
        return "\n".join(lines)


def direct_estimates(net: NetworkData, tau2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse-variance pooled direct estimate, its variance and k per pair (n x n, i < j)."""
    n = net.n
    w = 1.0 / (net.seTE**2 + tau2)
    code = net.edge_index
    sw = np.bincount(code, weights=w, minlength=n * n).reshape(n, n)
    swy = np.bincount(code, weights=w * net.TE, minlength=n * n).reshape(n, n)
    k = net.pair_counts
    has = k > 0
    nan = np.full((n, n), np.nan)
    return np.divide(swy, sw, out=nan.copy(), where=has), np.divide(1.0, sw, out=nan, where=has), k


def prop_direct(net: NetworkData, estimates) -> np.ndarray:
    """Proportion of direct evidence of each comparison (n x n, upper triangle; 0 without)."""
    _, var_dir, k = direct_estimates(net, estimates.tau2)
    se = estimates.matrix()["seTE"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k > 0, se**2 / var_dir, 0.0)


def netsplit(net: NetworkData, estimates, tol_direct: float = 0.0005, is_ratio: bool = False) -> NetSplit:
    """Split every comparison into direct and indirect evidence (see the module docstring).

    ``tol_direct`` as netmeta: a comparison whose proportion of direct evidence exceeds
    ``1 - tol_direct`` has no indirect estimate.
    """
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
    te = np.stack([te_net, td, ti, td - ti])
    se = np.sqrt(np.stack([var_net, vd, vi, vd + vi]))
    z = z_crit(estimates.level)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = te / se
    lower, upper, pval = te - z * se, te + z * se, 2 * special.ndtr(-np.abs(stat))
    names = np.array(net.treatments, dtype=object)
    frame = {"treat1": names[i], "treat2": names[j], "k": kk, "prop": prop}
    for r, name in enumerate(("nma", "direct", "indirect", "compare")):
        frame[f"{name}_TE"], frame[f"{name}_seTE"] = te[r], se[r]
        frame[f"{name}_lower"], frame[f"{name}_upper"] = lower[r], upper[r]
        frame[f"{name}_statistic"], frame[f"{name}_pval"] = stat[r], pval[r]
    return NetSplit(estimates.model, frame, estimates.level, is_ratio)
