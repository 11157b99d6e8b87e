"""Meta-regression: mixed- and common-effect models with moderators.

:func:`metareg` builds the design matrix from a formula (with formulaic:
``"~ ablat + C(alloc)"``) or takes one, and fits it with the one kernel
(:func:`metakit.stats.kernel.fit`). The model (Berkey et al. 1995, Stat Med 14:395;
Thompson & Higgins 2002, Stat Med 21:1559; Viechtbauer 2005) is
y_i = x_i'beta + u_i + e_i, u_i ~ N(0, tau²) for the residual heterogeneity,
e_i ~ N(0, v_i).

Reported as metafor's ``rma(yi, vi, mods = ...)``: the coefficient table (Wald z, or
Knapp-Hartung t with the omnibus F test), QM for the moderators, QE for residual
heterogeneity, I² and H² of the residual heterogeneity, and the pseudo-R² of
Raudenbush (2009): the proportional reduction of tau² from the intercept-only model
fitted with the same estimator, max(0, 100 (tau²_0 - tau²)/tau²_0) (0 where tau²_0 = 0);
for a common-effect model the adjusted R² of the weighted least-squares regression, as
metafor.

The permutation test (Higgins & Thompson 2004, Stat Med 23:1663) refits the model with
the rows of the moderators permuted (all permutations at once through the batched
kernel) and reports the share of permutations whose statistic is at least as extreme.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metakit.errors import DataError, MetakitWarning
from metakit.formatting import fmt_p
from metakit.stats.inference import Test
from metakit.stats.kernel import Fit, Settings, fit, omnibus
from metakit.stats.moments import make_batch
from metakit.stats.sensitivity_methods import SensitivityMethods


@dataclass(frozen=True)
class PermutationTest:
    """Permutation p-values of a meta-regression (Higgins & Thompson 2004).

    Attributes
    ----------
    pval
        One p-value per coefficient (two-sided, on the z or t statistic).
    QM
        The omnibus test of the moderators with its permutation p-value.
    iterations
        Number of permutations used (all of them when ``exact``).
    exact
        True when every permutation of the studies was enumerated.
    """

    pval: np.ndarray
    QM: Test
    iterations: int
    exact: bool

    def to_dict(self) -> dict:
        """Plain values."""
        return {"pval": self.pval.tolist(), "QM": self.QM.to_dict(),
                "iterations": self.iterations, "exact": self.exact}


@dataclass(frozen=True)
class MetaRegResult(SensitivityMethods):
    """A meta-regression: a view of one :class:`~metakit.stats.kernel.Fit`.

    Attributes
    ----------
    fit
        The kernel's fit (a batch of one).
    names
        Coefficient names (``"intrcpt"`` for the intercept, as metafor).
    study
        Labels of the studies used.
    yi, vi
        Their effect sizes and sampling variances.
    X
        The design matrix ``(k, p)``.
    data
        The moderator data of the studies used (for predictions and plots).
    formula
        The formula, if the model was given one.
    R2
        Pseudo-R² in percent (None for a model without intercept or with only one).
    measure
        The effect measure (analysis scale).
    dropped
        Studies left out for missing moderator values.
    ratio
        True if the effects are log ratios (ratio measures, and generic estimates given
        on the log or ratio scale).
    """

    fit: Fit
    names: tuple[str, ...]
    study: tuple[str, ...]
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    data: pd.DataFrame | None = field(repr=False)
    formula: str | None
    R2: float | None
    measure: str
    dropped: tuple[str, ...] = ()
    ratio: bool = False
    _spec: object = field(default=None, repr=False, compare=False)

    @property
    def settings(self) -> Settings:
        """Model, tau² estimator, CI method and level."""
        return self.fit.settings

    @property
    def k(self) -> int:
        """Number of studies."""
        return int(self.fit.k[0])

    @property
    def p(self) -> int:
        """Number of coefficients."""
        return int(self.fit.p[0])

    @property
    def beta(self) -> np.ndarray:
        """Coefficients."""
        return self.fit.beta[0]

    @property
    def se(self) -> np.ndarray:
        """Their standard errors (Knapp-Hartung scaled where asked)."""
        return self.fit.se[0]

    @property
    def stat(self) -> np.ndarray:
        """z statistics, or t under Knapp-Hartung."""
        return self.fit.stat[0]

    @property
    def pval(self) -> np.ndarray:
        """p-values of the coefficients."""
        return self.fit.pval[0]

    @property
    def ci_lb(self) -> np.ndarray:
        """Lower confidence bounds of the coefficients."""
        return self.fit.ci_lb[0]

    @property
    def ci_ub(self) -> np.ndarray:
        """Upper confidence bounds of the coefficients."""
        return self.fit.ci_ub[0]

    @property
    def vb(self) -> np.ndarray:
        """Variance-covariance matrix of the coefficients."""
        return self.fit.vb[0]

    @property
    def tau2(self) -> float:
        """Residual between-study variance (0 for a common-effect model)."""
        return float(self.fit.tau2[0])

    @property
    def se_tau2(self) -> float:
        """Standard error of tau² (NaN where the estimator has none)."""
        return float(self.fit.se_tau2[0])

    @property
    def QE(self) -> Test:
        """Test for residual heterogeneity."""
        return self.fit.QE.at(0)

    @property
    def QM(self) -> Test:
        """Omnibus test of the moderators (chi², or F under Knapp-Hartung)."""
        return self.fit.QM.at(0)

    @property
    def I2(self) -> float:
        """Residual I² (percent)."""
        return float(self.fit.I2[0])

    @property
    def H2(self) -> float:
        """Residual H²."""
        return float(self.fit.H2[0])

    @property
    def df(self) -> float:
        """Degrees of freedom of the t tests (NaN for z)."""
        return float(self.fit.df[0])

    def test(self, coefficients) -> Test:
        """Wald (or F under Knapp-Hartung) test that the named coefficients are all 0.

        ``coefficients`` are names or indices, e.g. the levels of one factor.
        """
        idx = tuple(self.names.index(c) if isinstance(c, str) else int(c) for c in coefficients)
        if not idx:
            raise ValueError("name at least one coefficient to test")
        return omnibus(self.fit.beta, self.fit.vb, idx, self.fit.df).at(0)

    def _new_rows(self, newmods) -> np.ndarray:
        if isinstance(newmods, pd.DataFrame):
            if self._spec is None:
                raise ValueError("predictions from a data frame need a model fitted from a "
                                 "formula; pass rows of the design matrix instead")
            return np.asarray(self._spec.get_model_matrix(newmods, na_action="raise"),
                              dtype=float)
        x0 = np.atleast_2d(np.asarray(newmods, dtype=float))
        if x0.shape[-1] == self.p - 1 and self.names[0] == "intrcpt":
            x0 = np.column_stack([np.ones(x0.shape[0]), x0])
        if x0.shape[-1] != self.p:
            raise ValueError(f"newmods needs {self.p} columns ({', '.join(self.names)}), "
                             f"or {self.p - 1} without the intercept")
        return x0

    def predict(self, newmods=None, transform: bool = False) -> pd.DataFrame:
        """Fitted values with CIs and prediction intervals.

        Parameters
        ----------
        newmods
            A data frame of moderator values (formula models), or rows of the design
            matrix with or without the intercept column; default the studies' own rows.
        transform
            Back-transform ratio measures (exp).

        Returns
        -------
        pandas.DataFrame
            ``pred, se, ci_lb, ci_ub, pi_lb, pi_ub`` per row (PI as metafor: z, or
            t(k - p) under Knapp-Hartung).
        """
        x0 = self.X if newmods is None else self._new_rows(newmods)
        out = {key: val[0] for key, val in self.fit.predict(x0).items()}
        if transform and self.is_ratio:
            for key in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
                out[key] = np.exp(out[key])
        return pd.DataFrame(out)

    @property
    def is_ratio(self) -> bool:
        """True if the outcome is a log ratio (shown exponentiated)."""
        return self.ratio

    def permutation_test(self, iterations: int = 1000, seed: int | None = None,
                         exact: bool | None = None) -> PermutationTest:
        """Permutation test of the coefficients and of QM (Higgins & Thompson 2004).

        The rows of the design matrix are permuted against (yi, vi) and the model is
        refitted for every permutation in one batched kernel call; a model with only an
        intercept has nothing to permute, and the signs of the effects are flipped instead
        (Follmann & Proschan 1999, Biometrics 55:1017), as metafor's ``permutest``. With
        ``exact`` (default when every permutation or sign pattern fits in ``iterations``)
        all of them are enumerated, else ``iterations`` random ones are drawn (the observed
        data count as one). p-values: the share with a statistic at least as extreme (|z|
        or |t| per coefficient, QM for the omnibus test).
        """
        k = self.k
        flip = self.p == 1 and bool(np.all(self.X[:, 0] == 1.0))
        count = 2 ** k if flip else math.factorial(k)
        if exact is None:
            exact = count <= max(iterations, 1)
        if exact and count > 2 ** 20:
            raise ValueError(f"exact enumeration of {count} permutations is too many; use "
                             "random permutations")
        if flip:
            if exact:
                signs = 1.0 - 2.0 * ((np.arange(count)[:, None] >> np.arange(k)[None, :]) & 1)
            else:
                rng = np.random.default_rng(seed)
                signs = np.vstack([np.ones((1, k)), rng.choice([-1.0, 1.0], size=(iterations - 1, k))])
            ys, rows = signs * self.yi, np.broadcast_to(np.arange(k), signs.shape)
        else:
            if exact:
                from itertools import permutations
                rows = np.array(list(permutations(range(k))), dtype=np.intp)
            else:
                rng = np.random.default_rng(seed)
                rows = np.vstack([np.arange(k)[None, :],
                                  np.argsort(rng.random((iterations - 1, k)), axis=1)])
            ys = np.broadcast_to(self.yi, rows.shape)
        n = rows.shape[0]
        stat = np.empty((n, self.p))
        qm = np.empty(n)
        block = max(1, 200_000 // max(1, k * self.p))
        for start in range(0, n, block):
            sl = slice(start, start + block)
            b = make_batch(ys[sl], np.broadcast_to(self.vi, ys[sl].shape), X=self.X[rows[sl]])
            f = fit(b, self.settings, btt=self.fit.btt)
            stat[sl] = f.stat
            qm[sl] = f.QM.statistic
        obs = self.stat
        tol = 1e-10 * np.maximum(1.0, np.abs(obs))
        pval = (np.abs(stat) >= np.abs(obs) - tol).mean(axis=0)
        qm_obs = self.QM.statistic
        p_qm = float((qm >= qm_obs - 1e-10 * max(1.0, abs(qm_obs))).mean()) if self.fit.btt else math.nan
        return PermutationTest(pval=pval, QM=Test(qm_obs, self.QM.df, p_qm, "permutation"),
                               iterations=int(n), exact=bool(exact))

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table: estimate, se, stat, pval, ci_lb, ci_ub per coefficient."""
        return pd.DataFrame({"estimate": self.beta, "se": self.se, "stat": self.stat,
                             "pval": self.pval, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub},
                            index=pd.Index(self.names, name="coefficient"))

    def to_dict(self) -> dict:
        """Everything as plain Python values (JSON-serialisable)."""
        s = self.settings
        return {
            "measure": self.measure, "k": self.k, "p": self.p, "formula": self.formula,
            "model": s.model, "tau2_method": s.tau2_method if s.model == "random" else None,
            "ci_method": s.ci, "level": s.level, "study": list(self.study),
            "dropped": list(self.dropped),
            "coefficients": {n: {"estimate": float(b), "se": float(e), "stat": float(z),
                                 "pval": float(p), "ci_lb": float(lo), "ci_ub": float(hi)}
                             for n, b, e, z, p, lo, hi in zip(self.names, self.beta, self.se,
                                                              self.stat, self.pval,
                                                              self.ci_lb, self.ci_ub)},
            "tau2": self.tau2, "se_tau2": None if math.isnan(self.se_tau2) else self.se_tau2,
            "I2": self.I2, "H2": self.H2, "R2": self.R2,
            "QE": self.QE.to_dict(), "QM": self.QM.to_dict(),
        }

    def summary(self) -> str:
        """A metafor-style printout: model, heterogeneity, QM and the coefficient table."""
        s = self.settings
        kind = "Mixed-effects" if s.model == "random" else "Common-effect"
        lines = [f"{kind} meta-regression (k = {self.k}; "
                 + (f"tau² estimator: {s.tau2_method})" if s.model == "random" else "no tau²)")]
        if self.formula:
            lines.append(f"Moderators: {self.formula}")
        if s.model == "random":
            lines.append(f"tau² (residual heterogeneity) = {self.tau2:.4f}"
                         + ("" if math.isnan(self.se_tau2) else f" (SE = {self.se_tau2:.4f})"))
        lines.append(f"I² (residual heterogeneity / unaccounted variability) = {self.I2:.2f}%")
        lines.append(f"H² (unaccounted variability / sampling variability) = {self.H2:.2f}")
        if self.R2 is not None:
            lines.append(f"R² (amount of heterogeneity accounted for) = {self.R2:.2f}%")
        qe = self.QE
        lines.append(f"Test for residual heterogeneity: QE(df = {qe.df:.0f}) = {qe.statistic:.4f}, "
                     f"p {fmt_p(qe.pval)}")
        qm = self.QM
        if self.fit.btt:
            if qm.distribution == "F":
                lines.append(f"Test of moderators: F(df1 = {qm.df[0]:.0f}, df2 = {qm.df[1]:.0f}) = "
                             f"{qm.statistic:.4f}, p {fmt_p(qm.pval)}")
            else:
                lines.append(f"Test of moderators: QM(df = {qm.df:.0f}) = {qm.statistic:.4f}, "
                             f"p {fmt_p(qm.pval)}")
        table = self.to_frame()
        stat_name = "tval" if s.ci != "z" else "zval"
        table = table.rename(columns={"stat": stat_name})
        lines.append(table.to_string(float_format=lambda x: f"{x:.4f}"))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def bubble(self, moderator: str | None = None, path=None, **options):
        """Bubble plot(s) of the effect against moderators; see :func:`metakit.plots.bubble.bubble`."""
        from metakit.plots.bubble import bubble
        return bubble(self, moderator, path, **options)


def _design_from_formula(formula: str, data: pd.DataFrame, study: tuple[str, ...]):
    """Model matrix of ``formula`` on ``data``; rows with missing moderators are dropped."""
    import formulaic

    try:
        needed = sorted(formulaic.Formula(formula).required_variables)
    except Exception as exc:  # formulaic raises several parser error types
        raise DataError(f"cannot read the moderator formula {formula!r}: {exc}",
                        column="mods") from exc
    for name in needed:
        if name not in data.columns:
            raise DataError(f"moderator not found in the data (columns are: "
                            f"{', '.join(map(str, data.columns))})", column=name)
    sub = data[needed] if needed else data.iloc[:, :0]
    missing = sub.isna().any(axis=1).to_numpy() if needed else np.zeros(len(data), bool)
    dropped = tuple(s for s, m in zip(study, missing) if m)
    if dropped:
        cols = [c for c in needed if data[c].isna().any()]
        warnings.warn(f"{len(dropped)} stud{'y' if len(dropped) == 1 else 'ies'} left out of the "
                      f"meta-regression for missing moderator values ({', '.join(cols)}): "
                      f"{', '.join(dropped)}", MetakitWarning, stacklevel=3)
    keep = ~missing
    try:
        mm = formulaic.model_matrix(formula, data.loc[keep].reset_index(drop=True),
                                    na_action="raise")
    except Exception as exc:
        raise DataError(f"cannot build the design matrix of {formula!r}: {exc}",
                        column="mods") from exc
    names = tuple("intrcpt" if c == "Intercept" else str(c) for c in mm.columns)
    return np.asarray(mm, dtype=float), names, keep, dropped, mm.model_spec


def _check_design(X: np.ndarray, names: tuple[str, ...], study: tuple[str, ...]) -> None:
    """Name collinear moderators; refuse more coefficients than studies."""
    k, p = X.shape
    if p == 0:
        raise DataError("the model has no coefficients", column="mods")
    if p > k:
        raise DataError(f"the model has {p} coefficients ({', '.join(names)}) but only {k} "
                        "studies: at least as many studies as coefficients are needed", column="mods")
    scale = np.where(np.abs(X).max(axis=0) > 0, np.abs(X).max(axis=0), 1.0)
    Xs = X / scale
    u, sv, vt = np.linalg.svd(Xs, full_matrices=False)
    tol = sv.max() * max(k, p) * np.finfo(float).eps * 10
    if sv.min() <= tol:
        null = vt[-1]
        involved = [n for n, c in zip(names, null) if abs(c) > 1e-8]
        zero = [n for n, col in zip(names, X.T) if not np.any(col)]
        what = (f"column(s) {', '.join(zero)} are 0 for every study" if zero else
                f"{', '.join(involved)} are collinear (one is a linear combination of the others)")
        raise DataError(f"the design matrix is singular: {what}; drop or merge moderators",
                        column="mods")


def _r2(X, names, yi, vi, settings: Settings, f: Fit) -> float | None:
    """Pseudo-R² as metafor (see the module docstring); None without an intercept."""
    if not names or names[0] != "intrcpt" or len(names) == 1:
        return None
    if settings.model == "random":
        base = fit(make_batch(yi[None, :], vi[None, :]), settings)
        t0 = float(base.tau2[0])
        if t0 == 0.0:
            return 0.0
        return max(0.0, 100.0 * (t0 - float(f.tau2[0])) / t0)
    w = 1.0 / vi
    k, p = X.shape
    if k <= p:
        return None
    if np.var(yi) == 0:
        return 0.0
    mu = (w * yi).sum() / w.sum()
    tss = (w * (yi - mu) ** 2).sum()
    rss = float(f.QE.statistic[0])
    r2 = 1.0 - rss / tss
    adj = 1.0 - (1.0 - r2) * (k - 1) / (k - p)
    return max(0.0, 100.0 * adj)


def metareg(es=None, mods=None, *, yi=None, vi=None, data: pd.DataFrame | None = None,
            study=None, X=None, names=None, model: str = "random", tau2_method: str = "REML",
            ci: str = "z", level: float = 0.95, btt=None, tol: float = 1e-10,
            maxiter: int = 200, fallback: str | None = None) -> MetaRegResult:
    """Fit a meta-regression.

    Parameters
    ----------
    es
        :class:`~metakit.stats.effects.EffectSizes` (its ``data`` holds the moderators);
        or give ``yi`` and ``vi`` with ``data``.
    mods
        A formula such as ``"~ ablat + C(alloc)"`` (formulaic syntax: ``C()`` for a
        categorical moderator, ``- 1`` to drop the intercept).
    yi, vi, data, study
        Effect sizes, variances, the moderator data and study labels, without ``es``.
    X, names
        A design matrix ``(k, p)`` (include the intercept column yourself) and its
        column names, instead of a formula.
    model
        ``"random"`` (mixed-effects) or ``"common"``.
    tau2_method
        REML, ML, DL, HE, HS, HSk, SJ, EB, PM or PMM.
    ci
        ``"z"`` (Wald) or ``"hk"`` (Knapp-Hartung t and F tests), ``"hk-adhoc"``.
    level
        Confidence level.
    btt
        Coefficients (names or indices) that the omnibus test QM tests; default all but
        the intercept.
    tol, maxiter, fallback
        Controls of the iterative tau² estimators.

    Returns
    -------
    MetaRegResult

    Examples
    --------
    >>> import pandas as pd, metakit as mk
    >>> d = pd.DataFrame({"yi": [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79],
    ...                   "vi": [0.33, 0.19, 0.42, 0.02, 0.05, 0.007],
    ...                   "ablat": [44, 55, 42, 52, 13, 44]})
    >>> fit = mk.metareg(yi=d.yi, vi=d.vi, data=d, mods="~ ablat", tau2_method="DL")
    >>> fit.names
    ('intrcpt', 'ablat')
    """
    settings = Settings(model=model, tau2_method=tau2_method, ci=ci, level=level, tol=tol,
                        maxiter=maxiter, fallback=fallback)
    if es is not None:
        y, v = np.asarray(es.yi, float), np.asarray(es.vi, float)
        labels = tuple(es.study)
        frame = es.data if data is None else data
        measure = es.measure
        ratio = bool(es.is_ratio)
    else:
        if yi is None or vi is None:
            raise ValueError("give effect sizes (es) or yi and vi")
        y, v = np.asarray(yi, float), np.asarray(vi, float)
        labels = tuple(str(s) for s in study) if study is not None else tuple(
            f"Study {i + 1}" for i in range(len(y)))
        frame = data
        measure = "GEN"
        ratio = False
    if y.shape != v.shape or y.ndim != 1:
        raise ValueError("yi and vi must be one-dimensional and of the same length")
    bad = ~np.isfinite(y) | ~np.isfinite(v) | (v <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        col = "yi" if not np.isfinite(y[i]) else "vi"
        raise DataError("must be finite (and vi > 0)", study=labels[i], column=col)
    spec, formula, dropped = None, None, ()
    if mods is not None:
        if X is not None:
            raise ValueError("give a formula (mods) or a design matrix (X), not both")
        if frame is None:
            raise ValueError("a formula needs data holding the moderators")
        if len(frame) != len(y):
            raise ValueError(f"data has {len(frame)} rows but there are {len(y)} studies")
        formula = str(mods)
        Xm, coef_names, keep, dropped, spec = _design_from_formula(formula, frame, labels)
        y, v = y[keep], v[keep]
        labels = tuple(s for s, k_ in zip(labels, keep) if k_)
        frame = frame.loc[keep].reset_index(drop=True)
    elif X is not None:
        Xm = np.asarray(X, dtype=float)
        if Xm.ndim == 1:
            Xm = Xm[:, None]
        if Xm.shape[0] != len(y):
            raise ValueError(f"X has {Xm.shape[0]} rows but there are {len(y)} studies")
        coef_names = tuple(names) if names is not None else tuple(
            "intrcpt" if i == 0 and np.all(Xm[:, 0] == 1) else f"X{i}" for i in range(Xm.shape[1]))
        if not np.isfinite(Xm).all():
            i = int(np.flatnonzero(~np.isfinite(Xm).all(axis=1))[0])
            raise DataError("moderator value is missing or not finite", study=labels[i], column="X")
    else:
        Xm = np.ones((len(y), 1))
        coef_names = ("intrcpt",)
    _check_design(Xm, coef_names, labels)
    if btt is not None:
        btt = tuple(coef_names.index(c) if isinstance(c, str) else int(c) for c in btt)
    b = make_batch(y[None, :], v[None, :], X=Xm[None])
    f = fit(b, settings, btt=btt)
    r2 = _r2(Xm, coef_names, y, v, settings, f)
    return MetaRegResult(fit=f, names=coef_names, study=labels, yi=y, vi=v, X=Xm,
                         data=frame, formula=formula, R2=r2, measure=measure,
                         dropped=dropped, ratio=ratio, _spec=spec)
