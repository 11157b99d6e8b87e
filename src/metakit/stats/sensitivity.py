"""Leave-one-out, cumulative and influence analyses, each one batched kernel call.

Every refit is a row of one :class:`~metakit.stats.moments.Batch`: the ``k`` studies are
repeated ``k`` times with a mask (row ``i`` without study ``i`` for leave-one-out; row
``j`` with the first ``j + 1`` studies in the chosen order for the cumulative analysis,
Lau et al. 1992, N Engl J Med 327:248), and :func:`metakit.stats.kernel.fit` fits all
rows at once. The quantities follow metafor 3.8.1 (Viechtbauer 2010, J Stat Softw 36(3);
Viechtbauer & Cheung 2010, Res Synth Methods 1:112, "Outlier and influence diagnostics
for meta-analysis"):

- externally standardised residuals (``rstudent``): r_i = y_i - x_i'b_(-i) over
  sqrt(v_i + tau²_(-i) + x_i'Var(b_(-i))x_i);
- internally standardised residuals (``rstandard``): e = (I - H)y with
  H = X(X'WX)^-1X'W, Var(e) = (I - H)M(I - H)', M = diag(v + tau²);
- DFFITS (x_i'b - x_i'b_(-i)) / sqrt(h_i (tau²_(-i) + v_i)); Cook's distance
  (b - b_(-i))'Var(b)^-1(b - b_(-i)); the covariance ratio det Var(b_(-i)) / det Var(b);
  DFBETAS (b - b_(-i)) / sqrt(diag (X'W_(-i)X)^-1), where W_(-i) holds all k studies'
  weights at tau²_(-i) (metafor's scaling); hat values h_i = w_i x_i'(X'WX)^-1 x_i;
- a study is influential (metafor's rule) if |DFFITS| > 3 sqrt(p/(k - p)), or
  P(chi²_p <= Cook's D) > 0.5, or h_i > 3p/k, or any |DFBETAS| > 1;
- the Baujat plot (Baujat et al. 2002, Stat Med 21:2641): x_i = w_i(y_i - x_i'b)² with
  w_i = 1/(v_i + tau²), the study's contribution to Q; y_i = (x_i'b - x_i'b_(-i))² /
  x_i'Var(b_(-i))x_i from the leave-one-out fits (tau² re-estimated in each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from metakit.stats.kernel import Fit, Settings, fit
from metakit.stats.moments import make_batch

__all__ = ["SeriesResult", "Influence", "Residuals", "Baujat", "leave_one_out", "cumulative",
           "influence", "rstandard", "rstudent", "baujat"]


def _repeat_fit(yi: np.ndarray, vi: np.ndarray, mask: np.ndarray, X: np.ndarray | None,
                settings: Settings, btt=None, tau2_fixed=None) -> Fit:
    """One kernel call on ``n`` copies of the studies, one mask row per refit."""
    n = mask.shape[0]
    y = np.broadcast_to(yi, (n, yi.size))
    v = np.broadcast_to(vi, (n, vi.size))
    b = make_batch(y, v, mask=mask, X=X)
    return fit(b, settings, btt=btt, tau2_fixed=tau2_fixed)


def _check(yi, vi, X=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    yi = np.asarray(yi, dtype=float).ravel()
    vi = np.asarray(vi, dtype=float).ravel()
    if yi.shape != vi.shape:
        raise ValueError(f"yi has {yi.size} values but vi has {vi.size}")
    if yi.size < 2:
        raise ValueError("a sensitivity analysis needs at least 2 studies")
    if X is not None:
        X = np.asarray(X, dtype=float)
        if X.shape[0] != yi.size:
            raise ValueError(f"X has {X.shape[0]} rows for {yi.size} studies")
    return yi, vi, X


@dataclass(frozen=True)
class SeriesResult:
    """Refits of one model: leave-one-out (row i = study i left out) or cumulative.

    Attributes
    ----------
    kind
        ``"leave-one-out"`` or ``"cumulative"``.
    labels
        Row labels: the study left out, or the study added.
    order
        Indices of the studies in row order (0-based; the sort order for cumulative).
    fit
        The kernel's :class:`~metakit.stats.kernel.Fit`, one row per refit.
    measure, is_ratio
        The effect measure's name and whether estimates are log ratios (for the forest
        plot's axis and text).
    """

    kind: str
    labels: tuple[str, ...]
    order: np.ndarray = field(repr=False)
    fit: Fit = field(repr=False)
    measure: str = ""
    is_ratio: bool = False

    def to_frame(self) -> pd.DataFrame:
        """One row per refit: study, estimate, se, stat, pval, ci_lb, ci_ub, Q, Q_pval, tau2, I2, H2.

        ``stat`` is z (t under Knapp-Hartung); columns follow metafor's ``leave1out()``
        and ``cumul()`` (``Q``/``Qp`` there).
        """
        f = self.fit
        return pd.DataFrame({
            "study": list(self.labels), "k": f.k.astype(int), "estimate": f.beta[:, 0],
            "se": f.se[:, 0], "stat": f.stat[:, 0], "pval": f.pval[:, 0],
            "ci_lb": f.ci_lb[:, 0], "ci_ub": f.ci_ub[:, 0], "Q": f.QE.statistic,
            "Q_pval": f.QE.pval, "tau2": f.tau2, "I2": f.I2, "H2": f.H2})

    def to_dict(self) -> dict:
        """Plain values: ``kind``, ``order`` and one list per column."""
        frame = self.to_frame()
        out = {"kind": self.kind, "order": [int(i) for i in self.order]}
        out.update({c: frame[c].tolist() for c in frame.columns})
        return out

    def summary(self) -> str:
        """A fixed-width table, one line per refit."""
        title = ("Leave-one-out analysis (row: study left out" if self.kind == "leave-one-out"
                 else "Cumulative meta-analysis (row: study added") + \
            "; estimates on the analysis scale)"
        return title + "\n" + _table(self.to_frame(), ("estimate", "se", "ci_lb", "ci_ub",
                                                       "pval", "tau2", "I2", "Q", "Q_pval"))

    def __str__(self) -> str:
        return self.summary()

    def forest_table(self, digits: int = 2, **_options):
        """The refits as rows of a forest plot (``metakit.plots.forest``): one row each,
        labelled "Omitting <study>" or "+ <study>", equal squares, no weights."""
        from metakit.formatting import fmt_ci
        from metakit.plots.forest import ForestRow, ForestTable

        f = self.fit
        tr = np.exp if self.is_ratio else (lambda x: x)
        prefix = "Omitting " if self.kind == "leave-one-out" else "+ "
        rows = tuple(
            ForestRow(kind="study", label=prefix + lab, weight=1.0, estimate=float(b),
                      ci_lb=float(lo), ci_ub=float(hi), study=lab,
                      effect=fmt_ci(float(tr(b)), float(tr(lo)), float(tr(hi)), digits))
            for lab, b, lo, hi in zip(self.labels, f.beta[:, 0], f.ci_lb[:, 0], f.ci_ub[:, 0]))
        level = round(100 * f.settings.level)
        model = "Random" if f.settings.random else "Common"
        title = ("Leave-one-out" if self.kind == "leave-one-out" else "Cumulative")
        return ForestTable(rows=rows, arm_labels=(), arm_columns=(), extra_columns=(),
                           weight_columns=(), effect_title=f"{self.measure or 'Estimate'}",
                           effect_method=f"{title}, {model}, {level}% CI",
                           is_ratio=self.is_ratio)

    def forest(self, path=None, **options):
        """Forest plot of the refits; see :func:`metakit.plots.forest.forest`."""
        from metakit.plots.forest import forest
        return forest(self, path, **options)


def _table(frame: pd.DataFrame, cols) -> str:
    width = max(8, max(len(s) for s in frame["study"]) + 2)
    widths = [max(11, len(c) + 2) for c in cols]
    lines = ["study".ljust(width) + "".join(c.rjust(w) for c, w in zip(cols, widths))]
    for _, row in frame.iterrows():
        cells = []
        for c, w in zip(cols, widths):
            v = row[c]
            if isinstance(v, (bool, np.bool_)):
                cells.append(("*" if v else "").rjust(w))
            elif c.lower().endswith("pval"):
                cells.append(f"{v:{w}.4g}")
            else:
                cells.append(f"{v:{w}.4f}")
        lines.append(str(row["study"]).ljust(width) + "".join(cells))
    return "\n".join(lines)


def leave_one_out(yi, vi, settings: Settings, study=None, measure: str = "",
                  is_ratio: bool = False) -> SeriesResult:
    """Refit the intercept-only model with each study left out, in one kernel call.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances of the ``k`` studies.
    settings
        The kernel settings of the model (as the full fit).
    study
        Study labels (default ``"1".."k"``).

    Returns
    -------
    SeriesResult
        Row ``i`` is the model without study ``i`` (metafor's ``leave1out()``).

    Examples
    --------
    >>> r = leave_one_out([0.1, 0.3, 0.35, 0.6], [0.01, 0.02, 0.015, 0.03],
    ...                   Settings(model="common"))
    >>> round(float(r.to_frame()["estimate"][0]), 4)  # (15 + 23.33 + 20) / 150
    0.3889
    """
    yi, vi, _ = _check(yi, vi)
    k = yi.size
    labels = _labels(study, k)
    f = _repeat_fit(yi, vi, ~np.eye(k, dtype=bool), None, settings)
    return SeriesResult("leave-one-out", labels, np.arange(k), f, measure, is_ratio)


def cumulative(yi, vi, settings: Settings, order=None, study=None, measure: str = "",
               is_ratio: bool = False) -> SeriesResult:
    """Cumulative meta-analysis: the model of the first 1, 2, ..., k studies, in one call.

    Parameters
    ----------
    order
        A sort key per study (e.g. year; ties keep the input order, as R's ``order()``
        and metafor's ``cumul(order = key)``), or None for the input order.
    study, measure, is_ratio
        Study labels; the measure's name and whether it is a log ratio (for plots).

    Examples
    --------
    >>> r = cumulative([0.1, 0.3, 0.6], [0.01, 0.02, 0.03], Settings(model="common"),
    ...                order=[2001, 1999, 2000], study=["A", "B", "C"])
    >>> list(r.to_frame()["study"])
    ['B', 'C', 'A']
    """
    yi, vi, _ = _check(yi, vi)
    k = yi.size
    labels = _labels(study, k)
    if order is None:
        idx = np.arange(k)
    else:
        key = np.asarray(order)
        if key.shape != (k,):
            raise ValueError(f"order needs one sort key per study ({k}), got shape {key.shape}")
        idx = np.argsort(key, kind="stable")
    mask = np.tri(k, dtype=bool)
    f = _repeat_fit(yi[idx], vi[idx], mask, None, settings)
    return SeriesResult("cumulative", tuple(labels[i] for i in idx), idx, f, measure, is_ratio)


def _labels(study, k: int) -> tuple[str, ...]:
    if study is None:
        return tuple(str(i + 1) for i in range(k))
    labels = tuple(str(s) for s in study)
    if len(labels) != k:
        raise ValueError(f"{len(labels)} study labels for {k} studies")
    return labels


@dataclass(frozen=True)
class Residuals:
    """Standardised residuals (metafor's ``rstandard()`` / ``rstudent()``)."""

    study: tuple[str, ...]
    resid: np.ndarray
    se: np.ndarray
    z: np.ndarray
    kind: str = "internal"

    def to_frame(self) -> pd.DataFrame:
        """Columns study, resid, se, z."""
        return pd.DataFrame({"study": list(self.study), "resid": self.resid, "se": self.se,
                             "z": self.z})

    def to_dict(self) -> dict:
        """Plain values."""
        return {"kind": self.kind, "study": list(self.study), "resid": self.resid.tolist(),
                "se": self.se.tolist(), "z": self.z.tolist()}

    def summary(self) -> str:
        """A fixed-width table."""
        name = "Internally" if self.kind == "internal" else "Externally"
        return (f"{name} standardised residuals\n"
                + _table(self.to_frame(), ("resid", "se", "z")))


@dataclass(frozen=True)
class Influence:
    """metafor's ``influence()``: case-deletion diagnostics, one row per study.

    Attributes
    ----------
    rstudent, dffits, cook_d, cov_r, tau2_del, QE_del, hat, weight
        Per study (``weight`` in percent); see the module docstring.
    dfbetas
        ``(k, p)``, one column per coefficient (``names``).
    influential
        metafor's rule (the ``*`` of its printout).
    """

    study: tuple[str, ...]
    names: tuple[str, ...]
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    QE_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per study; DFBETAS columns are named ``dfbetas_<coefficient>``."""
        frame = pd.DataFrame({
            "study": list(self.study), "rstudent": self.rstudent, "dffits": self.dffits,
            "cook_d": self.cook_d, "cov_r": self.cov_r, "tau2_del": self.tau2_del,
            "QE_del": self.QE_del, "hat": self.hat, "weight": self.weight,
            "influential": self.influential})
        for j, name in enumerate(self.names):
            frame[f"dfbetas_{name}"] = self.dfbetas[:, j]
        return frame

    def to_dict(self) -> dict:
        """Plain values (``dfbetas`` as rows)."""
        frame = self.to_frame()
        out = {c: frame[c].tolist() for c in frame.columns if not c.startswith("dfbetas_")}
        out["names"] = list(self.names)
        out["dfbetas"] = self.dfbetas.tolist()
        return out

    def summary(self) -> str:
        """A fixed-width table; ``*`` marks influential studies."""
        frame = self.to_frame()
        cols = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat",
                "weight") + tuple(c for c in frame.columns if c.startswith("dfbetas_")) \
            + ("influential",)
        return "Influence diagnostics (* = influential)\n" + _table(frame, cols)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class Baujat:
    """The Baujat plot's coordinates (metafor's ``baujat()``)."""

    study: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Columns study, x (contribution to Q), y (influence on the summary)."""
        return pd.DataFrame({"study": list(self.study), "x": self.x, "y": self.y})

    def to_dict(self) -> dict:
        """Plain values."""
        return {"study": list(self.study), "x": self.x.tolist(), "y": self.y.tolist()}

    def summary(self) -> str:
        """A fixed-width table."""
        return "Baujat: contribution to Q (x), influence on the result (y)\n" + \
            _table(self.to_frame(), ("x", "y"))

    def plot(self, path=None, **options):
        """Draw it; see :func:`metakit.plots.baujat.baujat`."""
        from metakit.plots.baujat import baujat as draw
        return draw(self, path, **options)


def _design(X, k: int) -> np.ndarray:
    return np.ones((k, 1)) if X is None else np.asarray(X, dtype=float)


def _full_and_deleted(yi, vi, X, settings: Settings, btt=None):
    """The full fit and the ``k`` leave-one-out fits (one kernel call each)."""
    k = yi.size
    full = _repeat_fit(yi, vi, np.ones((1, k), dtype=bool), X, settings, btt=btt)
    dele = _repeat_fit(yi, vi, ~np.eye(k, dtype=bool), X, settings, btt=btt)
    return full, dele


def _hat(vi, Xd, tau2: float) -> tuple[np.ndarray, np.ndarray]:
    w = 1.0 / (vi + tau2)
    xtwx_inv = np.linalg.inv(Xd.T @ (w[:, None] * Xd))
    hat = w * np.einsum("ij,jk,ik->i", Xd, xtwx_inv, Xd)
    return hat, w


def rstandard(yi, vi, settings: Settings, X=None, study=None) -> Residuals:
    """Internally standardised residuals (metafor's ``rstandard()``).

    Examples
    --------
    >>> r = rstandard([0.1, 0.3, 0.6], [0.01, 0.02, 0.03], Settings(model="common"))
    >>> r.z.shape
    (3,)
    """
    yi, vi, X = _check(yi, vi, X)
    k = yi.size
    Xd = _design(X, k)
    full = _repeat_fit(yi, vi, np.ones((1, k), dtype=bool), X, settings)
    tau2 = float(full.tau2[0])
    hat_matrix_w = 1.0 / (vi + tau2)
    H = Xd @ np.linalg.inv(Xd.T @ (hat_matrix_w[:, None] * Xd)) @ (Xd.T * hat_matrix_w)
    ImH = np.eye(k) - H
    resid = yi - Xd @ full.beta[0]
    ve = ImH @ ((vi + tau2)[:, None] * ImH.T)
    se = np.sqrt(np.diag(ve))
    return Residuals(_labels(study, k), resid, se, resid / se, "internal")


def _deleted_quantities(yi, vi, Xd, dele: Fit):
    delpred = np.einsum("ij,ij->i", Xd, dele.beta)
    vdelpred = np.einsum("ij,ijk,ik->i", Xd, dele.vb, Xd)
    return delpred, vdelpred


def rstudent(yi, vi, settings: Settings, X=None, study=None) -> Residuals:
    """Externally standardised (studentised deleted) residuals, metafor's ``rstudent()``.

    Examples
    --------
    >>> r = rstudent([0.1, 0.3, 0.6, 0.2], [0.01, 0.02, 0.03, 0.02], Settings(model="common"))
    >>> bool(abs(r.z[2]) > abs(r.z[0]))
    True
    """
    yi, vi, X = _check(yi, vi, X)
    k = yi.size
    Xd = _design(X, k)
    dele = _repeat_fit(yi, vi, ~np.eye(k, dtype=bool), X, settings)
    delpred, vdelpred = _deleted_quantities(yi, vi, Xd, dele)
    resid = yi - delpred
    se = np.sqrt(vi + dele.tau2 + vdelpred)
    return Residuals(_labels(study, k), resid, se, resid / se, "external")


def influence(yi, vi, settings: Settings, X=None, study=None, names=None, btt=None) -> Influence:
    """Case-deletion diagnostics (metafor's ``influence()``), two kernel calls in all.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    settings
        Kernel settings of the model.
    X
        Design matrix ``(k, p)`` of a meta-regression (None: intercept only).
    study, names
        Study labels and coefficient names.

    Examples
    --------
    >>> inf = influence([0.1, 0.3, 0.35, 0.6, 1.5], [0.01, 0.02, 0.015, 0.03, 0.01],
    ...                 Settings(model="common"))
    >>> inf.to_frame().columns[:4].tolist()
    ['study', 'rstudent', 'dffits', 'cook_d']
    """
    yi, vi, X = _check(yi, vi, X)
    k = yi.size
    Xd = _design(X, k)
    p = Xd.shape[1]
    full, dele = _full_and_deleted(yi, vi, X, settings, btt)
    tau2 = float(full.tau2[0])
    beta, vb = full.beta[0], full.vb[0]
    hat, w = _hat(vi, Xd, tau2)
    delpred, vdelpred = _deleted_quantities(yi, vi, Xd, dele)
    pred = Xd @ beta
    rst = (yi - delpred) / np.sqrt(vi + dele.tau2 + vdelpred)
    with np.errstate(invalid="ignore", divide="ignore"):
        dffits = (pred - delpred) / np.sqrt(hat * (dele.tau2 + vi))
        dfb = beta[None, :] - dele.beta
        cook = np.einsum("ij,jk,ik->i", dfb, np.linalg.inv(vb), dfb)
        cov_r = np.linalg.det(dele.vb) / np.linalg.det(vb)
        # metafor scales by (X'W X)^-1 over all k studies at the deleted fit's tau²
        w_del = 1.0 / (vi[None, :] + dele.tau2[:, None])
        vb_all = np.linalg.inv(np.einsum("ji,nj,jk->nik", Xd, w_del, Xd))
        dfbetas = dfb / np.sqrt(np.diagonal(vb_all, axis1=1, axis2=2))
        infl = ((np.abs(dffits) > 3.0 * math.sqrt(p / (k - p)) if k > p else False)
                | (special.chdtr(p, cook) > 0.5) | (hat > 3.0 * p / k)
                | (np.abs(dfbetas) > 1.0).any(axis=1))
    names = tuple(names) if names is not None else (("intrcpt",) if p == 1 else
                                                    tuple(f"b{j}" for j in range(p)))
    return Influence(study=_labels(study, k), names=names, rstudent=rst, dffits=dffits,
                     cook_d=cook, cov_r=cov_r, tau2_del=dele.tau2.copy(),
                     QE_del=np.asarray(dele.QE.statistic, float).copy(), hat=hat,
                     weight=100.0 * w / w.sum(), dfbetas=dfbetas, influential=np.asarray(infl))


def baujat(yi, vi, settings: Settings, X=None, study=None) -> Baujat:
    """Baujat plot coordinates (Baujat et al. 2002; metafor's ``baujat()``).

    x: the study's contribution to the heterogeneity statistic; y: the squared change
    of its fitted value when it is left out, standardised by that fitted value's
    variance under the leave-one-out fit.

    Examples
    --------
    >>> y, v = np.array([0.1, 0.3, 0.35, 0.6]), np.array([0.01, 0.02, 0.015, 0.03])
    >>> b = baujat(y, v, Settings(model="common"))
    >>> mu = np.sum(y / v) / np.sum(1 / v)
    >>> bool(np.isclose(b.x.sum(), np.sum((y - mu) ** 2 / v)))  # the contributions add up to Q
    True
    """
    yi, vi, X = _check(yi, vi, X)
    k = yi.size
    Xd = _design(X, k)
    full = _repeat_fit(yi, vi, np.ones((1, k), dtype=bool), X, settings)
    tau2 = float(full.tau2[0])
    dele = _repeat_fit(yi, vi, ~np.eye(k, dtype=bool), X, settings)
    pred = Xd @ full.beta[0]
    delpred, vdelpred = _deleted_quantities(yi, vi, Xd, dele)
    x = (yi - pred) ** 2 / (vi + tau2)
    y = (pred - delpred) ** 2 / vdelpred
    return Baujat(_labels(study, k), x, y)
