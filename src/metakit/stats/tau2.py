"""Between-study variance (tau²) estimators, vectorised over a batch axis.

All estimators take ``yi`` and ``vi`` shaped ``(..., k)`` with an optional mask for
ragged ``k`` and return one tau² per meta-analysis. Optional ``strata`` give each
subgroup its own mean and a common tau² (the model with subgroup indicators as
moderators), which is what a subgroup analysis with a common tau² needs.

Estimators (notation: w = 1/v, Q the weighted residual sum of squares, P the
projection W - W X (X'WX)^-1 X'W, p the number of fixed parameters):

``DL``
    DerSimonian & Laird (1986), Control Clin Trials 7:177:
    tau² = (Q - (k - p)) / tr(P).
``HE``
    Hedges (1983) / Hedges & Olkin (1985): unweighted method of moments,
    tau² = (RSS_u - tr(P_u V)) / (k - p).
``HS`` / ``HSk``
    Hunter & Schmidt (2004): tau² = (Q - k) / sum(w); HSk multiplies Q by
    k / (k - p) (Viechtbauer 2005, J Educ Behav Stat 30:261).
``SJ``
    Sidik & Jonkman (2005), J Biopharm Stat 15:823: from tau0² = sum((y - ybar)²)/k,
    tau² = tau0² Q(tau0²) / (k - p) with weights 1/(v + tau0²).
``ML`` / ``REML``
    Maximum likelihood and restricted maximum likelihood (Viechtbauer 2005), by
    Fisher scoring from the HE estimate with step halving at the boundary:
    ML step (y'PPy - sum w)/sum w², REML step (y'PPy - tr P)/tr(PP).
``PM`` / ``EB``
    Paule & Mandel (1982), J Res Natl Bur Stand 87:377: the root of the
    generalised Q, Q(tau²) = k - p. The empirical Bayes estimator of Morris (1983),
    JASA 78:47 (as in Berkey et al. 1995) solves the same equation
    (Viechtbauer et al. 2015, Res Synth Methods 6:306), so both use one root finder.
``PMM``
    Median-unbiased Paule-Mandel (Viechtbauer 2021): Q(tau²) = chi²_{0.5, k-p}.

Estimates below zero are truncated at 0, as metafor does. Iterative estimators
that do not converge raise :class:`~metakit.errors.ConvergenceError` unless a
``fallback`` estimator is named, which is then used for those meta-analyses and
reported in a :class:`~metakit.errors.MetakitWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special

from metakit.errors import ConvergenceError, MetakitWarning
from metakit.stats.moments import Batch, Stats, every, lnot, make_batch, maximum, stats, subset, where

SCORING_ITERATIONS = 1
NEWTON_FINAL = 1e-5
METHODS = ("DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM")
ITERATIVE = ("ML", "REML", "EB", "PM", "PMM")

METHOD_NAMES = {
    "DL": "DerSimonian-Laird",
    "HE": "Hedges",
    "HS": "Hunter-Schmidt",
    "HSk": "Hunter-Schmidt (small-sample corrected)",
    "SJ": "Sidik-Jonkman",
    "ML": "maximum likelihood",
    "REML": "restricted maximum likelihood",
    "EB": "empirical Bayes",
    "PM": "Paule-Mandel",
    "PMM": "median-unbiased Paule-Mandel",
}


@dataclass(frozen=True)
class Tau2Estimate:
    """tau² for each meta-analysis of a batch.

    Attributes
    ----------
    tau2
        The estimates, shaped like the batch (truncated at 0).
    converged
        False where an iterative estimator did not converge (and no fallback was used).
    iterations
        Iterations used (0 for closed-form estimators).
    method
        The estimator asked for.
    fallback_used
        True where the fallback estimator replaced a non-converged estimate.
    """

    tau2: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    method: str
    fallback_used: np.ndarray


def estimate_tau2(yi, vi, mask=None, method: str = "REML", *, strata=None,
                  tol: float = 1e-10, maxiter: int = 200,
                  fallback: str | None = None) -> Tau2Estimate:
    """Estimate tau² for one or many meta-analyses.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances, shaped ``(..., k)``.
    mask
        True where a study is present (for ragged ``k``); default all present.
    method
        One of ``DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM``.
    strata
        Optional integer codes ``(..., k)``: a separate mean per stratum, common tau².
    tol
        Convergence tolerance on tau², relative to max(1, tau²).
    maxiter
        Maximum iterations of the iterative estimators.
    fallback
        Estimator used where an iterative one fails to converge; None raises instead.

    Returns
    -------
    Tau2Estimate

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02])
    >>> v = np.array([0.326, 0.195, 0.415, 0.020, 0.051, 0.007, 0.223, 0.004, 0.056, 0.073, 0.012, 0.533, 0.071])
    >>> round(float(estimate_tau2(y, v, method="DL").tau2), 3)
    0.306
    """
    b = make_batch(yi, vi, mask, strata)
    t2, conv, its, used = resolve(b, method, tol, maxiter, fallback)
    return Tau2Estimate(tau2=b.restore(t2), converged=b.restore(conv),
                        iterations=b.restore(its), method=method, fallback_used=b.restore(used))


def resolve(b: Batch, method: str, tol: float, maxiter: int, fallback: str | None,
            st0: Stats | None = None):
    """Estimate tau² on a batch, applying the non-convergence rule.

    ``st0`` may pass the :class:`~metakit.stats.moments.Stats` at tau² = 0 when the caller
    has them already. Returns ``(tau2, converged, iterations, fallback_used)``: floats
    for a single meta-analysis, else ``(n,)`` arrays.
    """
    if method not in METHODS:
        raise ValueError(f"unknown tau² estimator {method!r}; choose one of {', '.join(METHODS)}")
    st0 = stats(b, _zero(b)) if st0 is None else st0
    t2, conv, its = _estimate(b, method, tol, maxiter, st0)
    if every(conv):
        return t2, conv, its, lnot(conv)
    bad = np.flatnonzero(lnot(np.atleast_1d(conv)))
    if fallback is None:
        raise ConvergenceError(
            f"the {METHOD_NAMES[method]} ({method}) estimator of tau² did not converge in "
            f"{maxiter} iterations for {bad.size} meta-analysis(es); pass fallback='DL' (or "
            f"another estimator) to use it instead, or raise maxiter")
    if fallback not in METHODS or fallback == method:
        raise ValueError(f"fallback must be another tau² estimator, got {fallback!r}")
    t2_fb, conv_fb, _ = _estimate(b, fallback, tol, maxiter, st0)
    warnings.warn(
        f"the {method} estimator of tau² did not converge for {bad.size} meta-analysis(es); "
        f"the {fallback} estimate was used for those, as requested by fallback={fallback!r}",
        MetakitWarning, stacklevel=3)
    return where(conv, t2, t2_fb), conv | conv_fb, its, lnot(conv)


def _estimate(b: Batch, method: str, tol: float, maxiter: int, st0: Stats):
    df = b.k - b.p
    if method in ("ML", "REML"):
        t2, ok, its = _fisher_scoring(b, method, tol, maxiter, st0)
    elif method in ("PM", "EB", "PMM"):
        target = df if method != "PMM" else special.chdtri(maximum(df, 1.0), 0.5)
        t2, ok, its = solve_generalised_q(b, target, tol, maxiter, st0)
    else:
        ok = True if b.scalar else np.ones(b.n, dtype=bool)
        its = 0 if b.scalar else np.zeros(b.n, dtype=int)
        if method == "DL":
            t2 = _div(st0.Q - df, st0.trP)
        elif method == "HE":
            t2 = _he(b)
        elif method in ("HS", "HSk"):
            Q = st0.Q if method == "HS" else _div(st0.Q * b.k, df)
            t2 = _div(Q - b.k, st0.sw)
        else:
            t2 = _sj(b)
    return _finish(t2, df), ok, its


def _zero(b: Batch):
    return 0.0 if b.scalar else np.zeros(b.n)


def _div(a, c):
    """a / c, with NaN where c is 0 (no residual df); floats stay floats."""
    if isinstance(c, float):
        return a / c if c != 0 else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        return a / c


def _finish(t2, df):
    """Truncate at zero; tau² is 0 without residual df or where it is not finite."""
    if isinstance(t2, float):
        return t2 if (df > 0 and t2 > 0) else 0.0
    t2 = np.where(np.isfinite(t2), np.maximum(t2, 0.0), 0.0)
    return np.where(df > 0, t2, 0.0)


def _he(b: Batch):
    """Hedges' unweighted moment estimator: (RSS_u - tr(P_u V)) / (k - p)."""
    u = stats(b, None, unit=True)
    return _div(u.Q - u.trPV, b.k - b.p)


def _sj(b: Batch):
    """Sidik-Jonkman: one weighted step from tau0² = sum((y - ybar)²)/k (all studies)."""
    if b.scalar:
        s = b.Z[0].sum(axis=0)
        ss = float(s[2] - s[1] * s[1] / s[0])
    else:
        s = b.Z.sum(axis=-2)
        ss = s[:, 2] - s[:, 1] ** 2 / np.maximum(s[:, 0], 1.0)
    tau0 = _div(ss, b.k)
    st = stats(b, tau0)
    return _div(tau0 * st.Q, b.k - b.p)


def upper_bound(b: Batch):
    """A tau² above every root of the REML, ML and generalised-Q equations.

    At tau² >= max(v), with R the range of the estimates, y'PPy <= k R²/tau⁴ and
    tr(P) >= (k - p)/(2 tau²), so the REML score is negative beyond 2 k R²/(k - p);
    the ML score and Q(tau²) - target are handled by the same bound for the targets used.
    """
    # y is centred on the mean of the present studies and 0 where masked, so the range
    # over all cells is the range over the present ones; masked variances are 0 in Z
    if b.scalar:
        y = b.y[0]
        rng = float(y.max() - y.min())
        df = b.k - b.p
        vmax = float(b.Z[0, :, 3].max())
        return max(vmax, 2.0 * b.k * rng * rng / df if df > 0 else 0.0) * (1 + 1e-9) + 1e-300
    rng = b.y.max(axis=-1) - b.y.min(axis=-1)
    df = np.maximum(b.k - b.p, 1.0)
    return np.maximum(b.Z[..., 3].max(axis=-1), 2.0 * b.k * rng * rng / df) * (1 + 1e-9) + 1e-300


def _bracketed(fun, x, lo, hi, active, tol: float, maxiter: int):
    """Solve fun(x) = 0 inside [lo, hi] for every active row.

    ``fun(x)`` returns ``(f, step, newton)``: f > 0 means the root lies above x;
    ``step`` is the preferred increment (Fisher scoring) and ``newton`` a Newton
    increment with the exact derivative. A row whose f changes sign between two
    iterations is oscillating about the root (scoring overshoots where observed and
    expected information differ) and switches to Newton steps; after
    ``SCORING_ITERATIONS`` scoring steps every row does, since scoring converges only
    linearly and Newton quadratically near the root. A step that leaves the bracket is
    replaced by bisection, so the iteration always converges.
    For a batch, once fewer than half of the rows are still iterating ``fun`` is asked
    for those rows only (``fun(x, rows)`` then returns full-length arrays that are
    meaningful at ``rows``), so converged meta-analyses cost nothing further.
    Returns ``(x, converged, iterations)``.
    """
    scalar = isinstance(active, (bool, np.bool_))
    conv = lnot(active)
    its = where(active, 0, 0)
    prev = 0.0 * x
    newton_mode = conv & False
    # the same steps on floats or arrays; a single fit binds the float forms (no type checks)
    if scalar:
        where_, lnot_ = (lambda c, a, b: a if c else b), (lambda a: not a)
        maximum_ = max
    else:
        where_, lnot_, maximum_ = np.where, np.logical_not, np.maximum
    for it in range(maxiter):
        if not (active if scalar else active.any()):
            break
        rows = None
        if not scalar and np.count_nonzero(active) * 2 < active.size:
            rows = np.flatnonzero(active)
        f, step, newton = fun(x, rows)
        up = f > 0
        newton_mode = newton_mode | (f * prev < 0) | (it >= SCORING_ITERATIONS)
        prev = f
        lo = where_(active & up, x, lo)
        hi = where_(active & lnot_(up), x, hi)
        new = x + where_(newton_mode, newton, step)
        inside = (new > lo) & (new < hi)
        new = where_(inside, new, 0.5 * (lo + hi))
        new = where_(active, new, x)
        scale = maximum_(1.0, new)
        change = abs(new - x)
        # a Newton step of relative size d leaves a relative error of order d²: final below 1e-5
        done = ((change < tol * scale) | (hi - lo < tol * maximum_(1.0, hi))
                | (newton_mode & inside & (change < NEWTON_FINAL * new)))
        x = new
        its = its + active
        conv = conv | (active & done)
        active = active & lnot_(done)
    return x, conv, its


def _scatter(rows, x, *values):
    """Full-length copies of per-row values computed for ``rows`` only (0 elsewhere)."""
    if rows is None:
        return values
    out = []
    for val in values:
        full = np.zeros(x.shape)
        full[rows] = val
        out.append(full)
    return tuple(out)


def _score_fun(b: Batch, ml: bool):
    """The (RE)ML score at tau² with its scoring and Newton steps, for :func:`_bracketed`."""
    def fun(x, rows=None):
        st = stats(b, x) if rows is None else stats(subset(b, rows), x[rows])
        score = st.yPPy - (st.sw if ml else st.trP)
        info = st.sw2 if ml else st.trPP
        return _scatter(rows, x, score, _div(score, info), _div(score, 2.0 * st.yPPPy - info))
    return fun


def log_likelihood(b: Batch, t2, method: str):
    """The (restricted) log-likelihood at tau², up to a constant (Viechtbauer 2005).

    ML: -(sum log(v + tau²) + y'Py)/2; REML adds -log det(X'WX)/2.
    """
    st = stats(b, t2)
    present = b.Z[..., 0] > 0
    t = np.asarray(t2, dtype=float).reshape(-1, 1)
    logv = np.where(present, np.log(np.where(present, b.Z[..., 3], 1.0) + t), 0.0).sum(axis=-1)
    ll = -0.5 * (logv + np.asarray(st.Q, dtype=float).reshape(-1))
    if method == "REML":
        ll = ll - 0.5 * np.asarray(st.logdet, dtype=float).reshape(-1)
    return ll


SCAN_POINTS = 24


def _interior_maximum(b: Batch, ml: bool, hi: np.ndarray, tol: float, maxiter: int):
    """The best interior local maximum of the (RE)ML likelihood on (0, hi), per row.

    The score is evaluated at hi/2, hi/4, ..., hi/2^SCAN_POINTS; each grid point with a
    positive score followed (upwards) by one with a negative score brackets a local
    maximum; the bracket whose lower point has the highest likelihood is solved.
    Returns ``(tau2, found)``: ``found`` is False where no point had a positive score.
    """
    n = b.n
    grid = hi[:, None] * 0.5 ** np.arange(SCAN_POINTS, 0, -1)[None, :]      # ascending
    rep = subset(b, np.repeat(np.arange(n), SCAN_POINTS))
    st = stats(rep, grid.ravel())
    score = (st.yPPy - (st.sw if ml else st.trP)).reshape(n, SCAN_POINTS)
    ll = log_likelihood(rep, grid.ravel(), "ML" if ml else "REML").reshape(n, SCAN_POINTS)
    up = np.concatenate([grid[:, 1:], hi[:, None]], axis=1)
    up_score = np.concatenate([score[:, 1:], np.full((n, 1), -1.0)], axis=1)
    brackets = (score > 0) & (up_score <= 0)
    found = brackets.any(axis=1)
    best = np.argmax(np.where(brackets, ll, -np.inf), axis=1)
    rows = np.arange(n)
    lo, top = grid[rows, best], up[rows, best]
    x, _, _ = _bracketed(_score_fun(b, ml), 0.5 * (lo + top), lo, top, found, tol, maxiter)
    return np.where(found, x, 0.0), found


def _fisher_scoring(b: Batch, method: str, tol: float, maxiter: int, st0: Stats):
    """ML or REML: Fisher scoring from the DL estimate, safeguarded by a bracket.

    Where the score at tau² = 0 is positive, the root of the score lies in
    (0, :func:`upper_bound`). Fisher steps (Viechtbauer 2005; ML: (y'PPy - sum w)/sum w²,
    REML: (y'PPy - tr P)/tr(PP)) are taken; steps that would leave the bracket,
    including steps below 0, are replaced by bisection, and after the first scoring
    steps (or as soon as a row oscillates about the root) the iteration continues with
    Newton steps on the exact Hessian (ML: 2 y'PPPy - sum w²; REML: 2 y'PPPy - tr(PP)),
    which converge quadratically to the same root.

    Where the score at 0 is not positive, 0 is a local maximum, but the likelihood can
    still have a higher one inside (studies in two clusters: precise ones that agree
    and imprecise ones far away). For those rows with Cochran's Q above its degrees of
    freedom the score is scanned on a geometric grid of :data:`SCAN_POINTS` values below
    the upper bound, the best interior local maximum is solved
    (:func:`_interior_maximum`), and the estimate is the global maximiser: that value or
    0, whichever has the higher likelihood. Rows with Q <= df keep 0.
    """
    ml = method == "ML"
    fun = _score_fun(b, ml)
    df = b.k - b.p
    score0 = st0.yPPy - (st0.sw if ml else st0.trP)
    hi = upper_bound(b)
    # metafor starts from the HE estimate; the DL estimate is free here (Q and tr(P) at
    # tau² = 0 are already known), usually closer to the root, and the root is the same.
    start = _div(st0.Q - df, st0.trP)
    start = where(start == start, start, 0.0)
    x0 = where(start > 0, where(start < hi, start, 0.5 * hi), 0.0)
    active = (df > 0) & (score0 > 0)
    x, conv, its = _bracketed(fun, where(active, x0, 0.0), 0.0 * x0, hi, active, tol, maxiter)
    scan = (df > 0) & lnot(score0 > 0) & (st0.Q > df)
    if scan if b.scalar else scan.any():
        scan = np.atleast_1d(scan)
        rows = np.flatnonzero(scan)
        sub = _rows_batch(b, rows)
        t_in, found = _interior_maximum(sub, ml, np.atleast_1d(hi)[rows], tol, maxiter)
        better = found & (log_likelihood(sub, t_in, method) > log_likelihood(sub, np.zeros(rows.size), method))
        if b.scalar:
            x = float(t_in[0]) if better[0] else x
        else:
            x = x.copy()
            x[rows] = np.where(better, t_in, x[rows])
    return x, conv, its


def _rows_batch(b: Batch, rows: np.ndarray) -> Batch:
    """The meta-analyses ``rows`` as a non-scalar batch (a single fit included)."""
    if not b.scalar:
        return subset(b, rows)
    return b._replace(k=np.array([b.k]), p=np.array([b.p]), scalar=False, shape=(1,))


def generalised_q(b: Batch, t2):
    """Generalised Q statistic at tau² and its derivative with respect to tau²."""
    st = stats(b, t2)
    return st.Q, -st.yPPy


def solve_generalised_q(b: Batch, target, tol: float = 1e-10, maxiter: int = 200,
                        st0: Stats | None = None):
    """Solve Q(tau²) = target for tau² >= 0, per meta-analysis.

    Q(tau²) = sum (y - mu(tau²))² / (v + tau²) decreases in tau² with derivative
    -y'PPy; Newton steps run inside the bracket [0, :func:`upper_bound`] (Q < SS/tau²
    there) with bisection as the safeguard. Where Q(0) <= target the solution is 0.

    Returns ``(tau2, converged, iterations)``; tau² is NaN where the target is not
    positive (no residual df).
    """
    def fun(x, rows=None):
        if rows is None:
            st, t = stats(b, x), target
        else:
            st, t = stats(subset(b, rows), x[rows]), np.broadcast_to(target, x.shape)[rows]
        f = st.Q - t
        step = _div(f, st.yPPy)
        return _scatter(rows, x, f, step, step)

    valid = target > 0
    q0 = (stats(b, _zero(b)) if st0 is None else st0).Q - target
    hi = upper_bound(b)
    hi = maximum(hi, where(valid, _div(stats(b, None, unit=True).Q, where(valid, target, 1.0)), 0.0) * (1 + 1e-9))
    active = valid & (q0 > 0)
    x, conv, its = _bracketed(fun, 0.0 * hi, 0.0 * hi, hi, active, tol, maxiter)
    return where(valid, x, float("nan")), conv, its


def _projection(b: Batch, w: np.ndarray) -> np.ndarray:
    """P = W - W X (X'WX)^-1 X'W for every meta-analysis, ``(n, k, k)`` (0 where masked)."""
    X = np.ones(b.y.shape + (1,)) * b.Z[..., :1] if b.X is None else b.X
    Xw = X * w[..., None]
    A = np.einsum("nki,nkj->nij", Xw, X)
    empty = np.abs(X).sum(axis=1) == 0
    A = A + empty[:, :, None] * np.eye(X.shape[-1])[None]
    P = -np.einsum("nki,nij,nlj->nkl", Xw, np.linalg.inv(A), Xw)
    idx = np.arange(w.shape[-1])
    P[:, idx, idx] += w
    return P


def se_tau2(b: Batch, method: str, t2, st, st0) -> np.ndarray:
    """Standard error of a tau² estimate, as metafor's ``se.tau2``, per meta-analysis.

    ML and REML: the inverse expected information, sqrt(2/sum w²) and sqrt(2/tr(PP))
    (Viechtbauer 2005); the method-of-moments estimators the delta-method variances of
    their quadratic forms in y (Viechtbauer 2005 for DL and HE; the same algebra for HS,
    HSk and SJ), evaluated at the estimate; PM, EB and PMM the approximation
    sqrt(2 k²/((k - p) (sum w)²)) that metafor uses. ``st`` and ``st0`` are the
    :class:`~metakit.stats.moments.Stats` at tau² and at 0. NaN without residual df.
    """
    n = b.n
    t2 = np.asarray(t2, dtype=float).reshape(-1)
    k = np.asarray(b.k, dtype=float).reshape(-1)
    df = k - np.asarray(b.p, dtype=float).reshape(-1)

    def arr(x):
        return np.asarray(x, dtype=float).reshape(-1) * np.ones(n)

    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "ML":
            out = np.sqrt(2.0 / arr(st.sw2))
        elif method == "REML":
            out = np.sqrt(2.0 / arr(st.trPP))
        elif method in ("PM", "EB", "PMM"):
            out = np.sqrt(2.0 * k * k / df / arr(st.sw) ** 2)
        elif method in ("DL", "HS", "HSk"):
            trP0, trPP0 = arr(st0.trP), arr(st0.trPP)
            inner = 2.0 * df + 4.0 * t2 * trP0 + 2.0 * t2 * t2 * trPP0
            if method == "DL":
                out = np.sqrt(inner) / trP0
            else:
                out = np.sqrt(inner) / arr(st0.sw) * (k / df if method == "HSk" else 1.0)
        else:
            vv = b.Z[..., 3]
            if method == "HE":
                P = _projection(b, b.Z[..., 0])
            else:
                s = b.Z.sum(axis=-2)
                tau0 = (s[:, 2] - s[:, 1] ** 2 / np.maximum(s[:, 0], 1.0)) / k
                P = _projection(b, b.Z[..., 0] / (vv + tau0[:, None] + (b.Z[..., 0] == 0)))
            P2 = P * P
            trPVPV = np.einsum("nij,ni,nj->n", P2, vv, vv)
            trPVP = np.einsum("nij,nj->n", P2, vv)
            trPV = np.einsum("nii,ni->n", P, vv)
            if method == "HE":
                out = np.sqrt(2.0 * trPVPV + 4.0 * t2 * trPV + 2.0 * t2 * t2 * df) / df
            else:
                trPP = P2.sum(axis=(1, 2))
                out = tau0 / df * np.sqrt(2.0 * trPVPV + 4.0 * t2 * trPVP + 2.0 * t2 * t2 * trPP)
    return np.where(df > 0, out, np.nan)
