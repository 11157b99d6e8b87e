"""GOSH: the model fitted to every subset of the studies (Olkin, Dahabreh & Trikalinos 2012).

The graphical display of study heterogeneity (Olkin, Dahabreh & Trikalinos 2012, Res
Synth Methods 3:214) plots I² against the summary estimate of the model fitted to each
of the 2^k - 1 non-empty subsets of the studies; clusters point to studies that drive
heterogeneity. Subsets are rows of kernel batches, coded as integers ``r`` (1 <= r < 2^k;
study ``j`` is in the subset when bit ``j`` of ``r`` is set) and taken in metafor's order:
by size, and within a size by increasing ``r`` (the order of metafor 3.8.1's ``gosh()``).
Blocks of ``block`` subsets go through :func:`metakit.stats.kernel.fit` one at a time,
so memory stays bounded whatever k.
Beyond ``max_all`` studies (default 20, about a million fits) a seeded random sample of
``subsets`` subsets is fitted instead, each study kept with probability 1/2 (empty
draws redrawn), as metafor does when ``subsets`` is smaller than 2^k - 1; the sample is
returned ordered by subset size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metakit.stats.kernel import Settings, fit
from metakit.stats.moments import make_batch

__all__ = ["Gosh", "gosh"]


@dataclass(frozen=True)
class Gosh:
    """Fits of the model to subsets of the studies.

    Attributes
    ----------
    study
        Study labels (the columns of ``incl``).
    incl
        ``(n, k)`` booleans: the studies of each subset.
    k, estimate, QE, I2, H2, tau2
        Per subset (``(n,)``), as metafor's ``gosh()``; for a meta-regression ``estimate``
        is the first coefficient and ``beta`` holds them all.
    exhaustive
        True when every non-empty subset was fitted.
    beta, names
        A meta-regression's coefficients per subset ``(n, p)`` and their names (None
        without moderators).
    """

    study: tuple[str, ...]
    incl: np.ndarray = field(repr=False)
    k: np.ndarray = field(repr=False)
    estimate: np.ndarray = field(repr=False)
    QE: np.ndarray = field(repr=False)
    I2: np.ndarray = field(repr=False)
    H2: np.ndarray = field(repr=False)
    tau2: np.ndarray = field(repr=False)
    exhaustive: bool
    settings: Settings
    beta: np.ndarray | None = field(default=None, repr=False)
    names: tuple[str, ...] | None = None

    @property
    def n(self) -> int:
        """Number of subsets fitted."""
        return int(self.k.size)

    def to_frame(self) -> pd.DataFrame:
        """One row per subset: k, QE, I2, H2, tau2, estimate, then one 0/1 column per study."""
        frame = pd.DataFrame({"k": self.k.astype(int), "QE": self.QE, "I2": self.I2,
                              "H2": self.H2, "tau2": self.tau2, "estimate": self.estimate})
        inc = pd.DataFrame(self.incl.astype(np.int8), columns=list(self.study))
        return pd.concat([frame, inc], axis=1)

    def to_dict(self) -> dict:
        """Plain values (``incl`` as 0/1 rows)."""
        return {"study": list(self.study), "exhaustive": self.exhaustive,
                "k": self.k.astype(int).tolist(), "estimate": self.estimate.tolist(),
                "QE": self.QE.tolist(), "I2": self.I2.tolist(), "H2": self.H2.tolist(),
                "tau2": self.tau2.tolist(), "incl": self.incl.astype(int).tolist()}

    def summary(self) -> str:
        """How many subsets, and the range of the estimate and of I²."""
        how = "all" if self.exhaustive else "a random sample of"
        return (f"GOSH ({self.settings.model} effects"
                f"{', ' + self.settings.tau2_method if self.settings.random else ''}): "
                f"{how} {self.n} subsets of {len(self.study)} studies; estimate "
                f"{np.nanmin(self.estimate):.4f} to {np.nanmax(self.estimate):.4f}, "
                f"I² {np.nanmin(self.I2):.1f}% to {np.nanmax(self.I2):.1f}%")

    def plot(self, path=None, **options):
        """Draw the GOSH plot; see :func:`metakit.plots.gosh.gosh`."""
        from metakit.plots.gosh import gosh as draw
        return draw(self, path, **options)


def _subset_codes(k: int) -> np.ndarray:
    """Every non-empty subset's code, by size and then by code (metafor's order)."""
    r = np.arange(1, 1 << k, dtype=np.int64)
    size = np.zeros(r.size, dtype=np.int8)
    for j in range(k):
        size += ((r >> j) & 1).astype(np.int8)
    return r[np.argsort(size, kind="stable")]


def _masks(codes: np.ndarray, k: int) -> np.ndarray:
    return ((codes[:, None] >> np.arange(k, dtype=np.int64)) & 1).astype(bool)


def _blocks(sizes: np.ndarray, block: int):
    """Row ranges of at most ``block`` subsets, each of one subset size (rows are sorted
    by size), so that each block is a dense array of that many studies."""
    edges = np.flatnonzero(np.diff(sizes)) + 1
    bounds = np.concatenate([[0], edges, [sizes.size]])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        for start in range(int(lo), int(hi), block):
            yield start, min(int(hi), start + block)


def _random_masks(rng, n: int, k: int) -> np.ndarray:
    """``n`` random non-empty subsets (each study in with probability 1/2), by size."""
    mask = rng.random((n, k)) < 0.5
    empty = ~mask.any(axis=1)
    while empty.any():
        mask[empty] = rng.random((int(empty.sum()), k)) < 0.5
        empty = ~mask.any(axis=1)
    return mask[np.argsort(mask.sum(axis=1), kind="stable")]


def _compiled_tau2():
    """numba's (RE)ML solver (imported here: numba stays out of ``import metakit``)."""
    from metakit.stats import tau2_numba
    return tau2_numba.fisher_scoring_dense


def _fit_block(yi, vi, mask: np.ndarray, settings: Settings, solver=None):
    """One kernel call on the subsets of ``mask``: dense when they are all the same size
    (half the columns on average, and no masked cells), masked otherwise. With a
    compiled ``solver`` the (RE)ML tau² of a dense block comes from it and the kernel
    fits at that tau²; where it reports no convergence the kernel estimates (and applies
    its rule for non-convergence)."""
    m, k = mask.shape
    size = mask.sum(axis=1)
    if (size == size[0]).all():
        cols = np.nonzero(mask)[1].reshape(m, int(size[0]))
        b = make_batch(yi[cols], vi[cols])
        if solver is not None and m > 1:
            t2, ok = solver(yi[cols], vi[cols], settings.tau2_method, settings.tol,
                            settings.maxiter)
            if ok.all():
                return fit(b, settings, tau2_fixed=t2)
        return fit(b, settings)
    return fit(make_batch(np.broadcast_to(yi, (m, k)), np.broadcast_to(vi, (m, k)), mask=mask),
               settings)


def _fit_design_block(yi, vi, mask: np.ndarray, X: np.ndarray, settings: Settings):
    """A meta-regression on each subset of ``mask``: ``(beta, k, QE, I2, H2, tau2)``, NaN
    where the design is singular, or where a random-effects model has no residual df to
    estimate tau² from (a common-effect model fits a saturated subset), as metafor's
    ``gosh()`` reports them."""
    m, k = mask.shape
    p = X.shape[1]
    Xm = np.where(mask[..., None], X[None], 0.0)
    need = p + 1 if settings.random else p
    ok = (mask.sum(axis=1) >= need) & (np.linalg.matrix_rank(Xm) == p)
    beta = np.full((m, p), np.nan)
    stats = np.full((5, m), np.nan)
    if ok.any():
        rows = np.flatnonzero(ok)
        b = make_batch(np.broadcast_to(yi, (rows.size, k)), np.broadcast_to(vi, (rows.size, k)),
                       mask=mask[rows], X=X)
        f = fit(b, settings)
        beta[rows] = f.beta
        stats[:, rows] = (f.k, f.QE.statistic, f.I2, f.H2, f.tau2)
    stats[0] = mask.sum(axis=1)
    return beta, stats


def gosh(yi, vi, settings: Settings, study=None, subsets: int | None = None,
         seed: int | None = None, max_all: int = 20, block: int = 1 << 16,
         compiled: bool = True, X=None, names=None) -> Gosh:
    """Fit the model to every non-empty subset of the studies (or a random sample).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances of the ``k`` studies.
    settings
        Kernel settings (common effect, DL, REML, ...).
    study
        Study labels.
    subsets
        Number of random subsets to fit; default all 2^k - 1 when k <= ``max_all``,
        else 1,000,000.
    seed
        Seed of the random subsets (``numpy.random.default_rng``).
    block
        Subsets per kernel call (memory grows with block x k).
    compiled
        Estimate ML/REML tau² with the numba-compiled solver
        (:mod:`metakit.stats.tau2_numba`, the same algorithm; default), or with the numpy
        kernel (False).
    X, names
        A meta-regression's design matrix and coefficient names: each subset is fitted with
        its rows, subsets with fewer studies than coefficients are left out and those with
        as many (random effects) or a singular design are NaN, as metafor's ``gosh()``.

    Returns
    -------
    Gosh

    Examples
    --------
    >>> g = gosh([0.1, 0.3, 0.6], [0.01, 0.02, 0.03], Settings(model="common"))
    >>> g.n, g.incl[3].tolist(), round(float(g.estimate[3]), 4)  # studies 1 and 2
    (7, [True, True, False], 0.1667)
    """
    yi = np.asarray(yi, dtype=float).ravel()
    vi = np.asarray(vi, dtype=float).ravel()
    k = yi.size
    if vi.shape != yi.shape or k < 1:
        raise ValueError("gosh needs yi and vi of the same length (at least one study)")
    labels = tuple(str(s) for s in study) if study is not None else \
        tuple(str(i + 1) for i in range(k))
    total = (1 << k) - 1 if k < 63 else None
    exhaustive = subsets is None and k <= max_all
    if subsets is None and not exhaustive:
        subsets = 1_000_000
    if subsets is not None and total is not None and subsets >= total:
        exhaustive, subsets = True, None
    n = total if exhaustive else int(subsets)
    out = {name: np.empty(n) for name in ("k", "estimate", "QE", "I2", "H2", "tau2")}
    if exhaustive:
        codes = _subset_codes(k)
        sizes = np.repeat(np.arange(1, k + 1), [math.comb(k, s) for s in range(1, k + 1)])
        incl = None
    else:
        incl = _random_masks(np.random.default_rng(seed), n, k)
        sizes = incl.sum(axis=1)
    all_incl = np.empty((n, k), dtype=bool) if exhaustive else incl
    solver = None
    if settings.random and settings.tau2_method in ("ML", "REML") and compiled and X is None:
        solver = _compiled_tau2()
    if X is not None:
        return _gosh_design(yi, vi, settings, labels, exhaustive, codes if exhaustive else None,
                            sizes, incl, np.asarray(X, dtype=float), names, block)
    for start, stop in _blocks(sizes, block):
        if exhaustive:
            mask = _masks(codes[start:stop], k)
            all_incl[start:stop] = mask
        else:
            mask = incl[start:stop]
        f = _fit_block(yi, vi, mask, settings, solver)
        out["k"][start:stop] = f.k
        out["estimate"][start:stop] = f.beta[:, 0]
        out["QE"][start:stop] = f.QE.statistic
        out["I2"][start:stop] = f.I2
        out["H2"][start:stop] = f.H2
        out["tau2"][start:stop] = f.tau2
    return Gosh(study=labels, incl=all_incl, exhaustive=exhaustive, settings=settings, **out)


def _gosh_design(yi, vi, settings, labels, exhaustive, codes, sizes, incl, X, names, block) -> Gosh:
    """:func:`gosh` of a meta-regression (see its ``X``)."""
    k, p = yi.size, X.shape[1]
    keep = sizes >= p
    parts_incl, parts_beta, parts_stats = [], [], []
    for start, stop in _blocks(sizes, block):
        sel = keep[start:stop]
        if not sel.any():
            continue
        mask = (_masks(codes[start:stop], k) if exhaustive else incl[start:stop])[sel]
        beta, st = _fit_design_block(yi, vi, mask, X, settings)
        parts_incl.append(mask)
        parts_beta.append(beta)
        parts_stats.append(st)
    st = np.concatenate(parts_stats, axis=1)
    beta = np.concatenate(parts_beta)
    names = tuple(names) if names is not None else tuple(f"X{i}" for i in range(p))
    return Gosh(study=labels, incl=np.concatenate(parts_incl), k=st[0], estimate=beta[:, 0],
                QE=st[1], I2=st[2], H2=st[3], tau2=st[4], exhaustive=exhaustive,
                settings=settings, beta=beta, names=names)
