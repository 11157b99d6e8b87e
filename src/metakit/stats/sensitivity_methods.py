"""The sensitivity and small-study verbs results share (``result.leave_one_out()`` ...).

A mixin, like :mod:`metakit.stats.figure_methods`: :class:`~metakit.stats.pairwise.MetaResult`
and :class:`~metakit.stats.regression.MetaRegResult` inherit it, and each verb hands the
result's data, design and kernel settings to :mod:`metakit.stats.sensitivity`,
:mod:`metakit.stats.gosh` or :mod:`metakit.stats.bias` (imported on first use).
"""

from __future__ import annotations

import numpy as np


def _inputs(result) -> dict:
    """yi, vi, X (None for the pairwise model), kernel settings, labels of a result."""
    if hasattr(result, "fit") and hasattr(result, "X"):
        return {"yi": np.asarray(result.yi, float), "vi": np.asarray(result.vi, float),
                "X": np.asarray(result.X, float), "settings": result.fit.settings,
                "study": tuple(result.study), "names": tuple(result.names),
                "btt": result.fit.btt, "pairwise": False}
    s = result.settings
    if s.method != "inverse":
        raise ValueError(f"sensitivity analyses refit the inverse-variance model; this result "
                         f"pools by {s.method} (refit with method='inverse')")
    return {"yi": np.asarray(result.yi, float), "vi": np.asarray(result.vi, float), "X": None,
            "settings": s.kernel(), "study": tuple(result.study), "names": ("intrcpt",),
            "btt": None, "pairwise": True}


def _scale(result) -> dict:
    """The measure's name and whether it is a log ratio, for the refits' forest plots."""
    from metakit.stats.measures import NAMES
    measure = getattr(result, "measure", "")
    return {"measure": NAMES.get(measure, measure), "is_ratio": bool(result.is_ratio)}


def _pairwise_only(d: dict, what: str) -> None:
    if not d["pairwise"]:
        raise ValueError(f"{what} is defined for models without moderators (as metafor's); "
                         "use influence() or rstudent() for a meta-regression")


class SensitivityMethods:
    """Mixin: leave-one-out, cumulative, influence, residuals, Baujat, GOSH and the
    small-study tests of a fitted model."""

    def leave_one_out(self):
        """Refit without each study in turn (one batched kernel call).

        See :func:`metakit.stats.sensitivity.leave_one_out`.
        """
        from metakit.stats import sensitivity
        d = _inputs(self)
        _pairwise_only(d, "leave_one_out()")
        return sensitivity.leave_one_out(d["yi"], d["vi"], d["settings"], study=d["study"],
                                         **_scale(self))

    def cumulative(self, order=None):
        """Cumulative meta-analysis, studies added in the order of ``order``.

        ``order`` is a column of the effect sizes' data (e.g. ``"year"``) or one sort key
        per study; None keeps the input order. See
        :func:`metakit.stats.sensitivity.cumulative`.
        """
        from metakit.stats import sensitivity
        d = _inputs(self)
        _pairwise_only(d, "cumulative()")
        key = order
        if isinstance(order, str):
            data = getattr(getattr(self, "effects", None), "data", None)
            if data is None or order not in data.columns:
                raise KeyError(f"cumulative(order={order!r}): no such column in the data")
            key = data[order].to_numpy()
        return sensitivity.cumulative(d["yi"], d["vi"], d["settings"], order=key,
                                      study=d["study"], **_scale(self))

    def influence(self):
        """Case-deletion diagnostics as metafor's ``influence()``; see
        :func:`metakit.stats.sensitivity.influence`."""
        from metakit.stats import sensitivity
        d = _inputs(self)
        return sensitivity.influence(d["yi"], d["vi"], d["settings"], X=d["X"], study=d["study"],
                                     names=d["names"], btt=d["btt"])

    def rstandard(self):
        """Internally standardised residuals (metafor's ``rstandard()``)."""
        from metakit.stats import sensitivity
        d = _inputs(self)
        return sensitivity.rstandard(d["yi"], d["vi"], d["settings"], X=d["X"], study=d["study"])

    def rstudent(self):
        """Externally standardised residuals (metafor's ``rstudent()``)."""
        from metakit.stats import sensitivity
        d = _inputs(self)
        return sensitivity.rstudent(d["yi"], d["vi"], d["settings"], X=d["X"], study=d["study"])

    def baujat(self, path=None, **options):
        """Baujat plot values (metafor's ``baujat()``); with ``path`` also draw the plot.

        Returns the :class:`~metakit.stats.sensitivity.Baujat` values, or the figure when
        ``path`` is given or ``options`` are passed to the drawing.
        """
        from metakit.stats import sensitivity
        d = _inputs(self)
        values = sensitivity.baujat(d["yi"], d["vi"], d["settings"], X=d["X"], study=d["study"])
        if path is None and not options:
            return values
        return values.plot(path, **options)

    def gosh(self, subsets: int | None = None, seed: int | None = None, max_all: int = 20):
        """Fit the model to every subset of the studies (GOSH); see
        :func:`metakit.stats.gosh.gosh`. Draw it with ``.plot(path)``."""
        from metakit.stats.gosh import gosh
        d = _inputs(self)
        # a meta-regression refits its moderators on every subset (as metafor's gosh())
        X = None if d["pairwise"] else d["X"]
        return gosh(d["yi"], d["vi"], d["settings"], study=d["study"], subsets=subsets,
                    seed=seed, max_all=max_all, X=X, names=None if X is None else d["names"])

    def regtest(self, model: str = "rma", predictor: str = "sei", ni=None):
        """Egger's regression test in metafor's variants; see
        :func:`metakit.stats.bias.regtest`. ``ni`` defaults to the arms' total sizes."""
        from metakit.stats import bias
        d = _inputs(self)
        if ni is None and predictor not in ("sei", "vi"):
            ni = _total_sizes(self)
        # on a meta-regression the predictor joins the moderators (as metafor's regtest)
        X = None if d["pairwise"] else d["X"]
        return bias.regtest(d["yi"], d["vi"], d["settings"], model=model, predictor=predictor,
                            ni=ni, X=X, names=None if X is None else d["names"])

    def ranktest(self, exact: bool = True):
        """Begg & Mazumdar's rank correlation test; see :func:`metakit.stats.bias.ranktest`."""
        from metakit.stats import bias
        d = _inputs(self)
        _pairwise_only(d, "ranktest()")
        return bias.ranktest(d["yi"], d["vi"], exact=exact)

    def trimfill(self, estimator: str = "L0", side: str | None = None):
        """Trim-and-fill; see :func:`metakit.stats.bias.trimfill`. Draw the result with
        ``result.funnel(filled=result.trimfill())``."""
        from metakit.stats import bias
        d = _inputs(self)
        _pairwise_only(d, "trimfill()")
        return bias.trimfill(d["yi"], d["vi"], d["settings"], estimator=estimator, side=side,
                             study=d["study"])

    def fsn(self, type: str = "Rosenthal", alpha: float = 0.05, target: float | None = None):
        """Fail-safe N; see :func:`metakit.stats.bias.fsn`."""
        from metakit.stats import bias
        d = _inputs(self)
        _pairwise_only(d, "fsn()")
        return bias.fsn(d["yi"], d["vi"], type=type, alpha=alpha, target=target)

    def peters(self):
        """Peters' test (log odds ratios of arm-level binary data); see
        :func:`metakit.stats.bias.peters`."""
        from metakit.stats import bias
        a = _binary_arms(self, "Peters' test")
        if getattr(self, "measure", None) != "OR":
            raise ValueError("Peters' test regresses log odds ratios: fit the data with "
                             "measure 'OR'")
        return bias.peters(np.asarray(self.yi, float), a["e1"], a["n1"], a["e2"], a["n2"],
                           level=self.settings.level)

    def harbord(self):
        """Harbord's test (arm-level binary data); see :func:`metakit.stats.bias.harbord`."""
        from metakit.stats import bias
        a = _binary_arms(self, "Harbord's test")
        return bias.harbord(a["e1"], a["n1"], a["e2"], a["n2"], level=self.settings.level)


def _binary_arms(result, what: str) -> dict:
    es = getattr(result, "effects", None)
    arms = getattr(es, "arms", None)
    if arms is None or getattr(es, "arm_columns", None) != (("e1", "n1"), ("e2", "n2")):
        raise ValueError(f"{what} needs arm-level events and totals; these effect sizes "
                         "have none")
    return {c: arms[c].to_numpy(float) for c in ("e1", "n1", "e2", "n2")}


def _total_sizes(result):
    es = getattr(result, "effects", None)
    arms = getattr(es, "arms", None)
    if arms is None or "n1" not in arms or "n2" not in arms:
        return None
    return arms["n1"].to_numpy(float) + arms["n2"].to_numpy(float)
