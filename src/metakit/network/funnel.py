"""The comparison-adjusted funnel plot's data and its Egger test (Chaimani & Salanti 2012).

In a network, studies of different comparisons estimate different effects, so a funnel plot
centres each study's contrast on the network estimate of its comparison: ``x = TE_study -
TE_network``, plotted against its standard error. Each contrast is oriented by an ``order``
of the treatments (for small-study effects, typically older or placebo-like treatments
first): ``TE`` is the treatment later in ``order`` versus the earlier one, so that an
asymmetry means the same thing for every comparison (Chaimani, Higgins, Mavridis, Spyridonos
& Salanti 2013, PLoS One 8:e76654; netmeta's ``funnel.netmeta``).

Egger's test (Egger et al. 1997, BMJ 315:629) regresses the standardised deviation ``x / se``
on the precision ``1 / se`` by ordinary least squares; the intercept measures the
asymmetry and is tested with ``t`` on ``k - 2`` df.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from metakit.stats.inference import Test


@dataclass(frozen=True)
class AdjustedFunnel:
    """Centred contrasts (``x``, ``se``), their comparisons and studies, and Egger's test.

    ``intercept``/``intercept_se`` are Egger's intercept and its standard error; ``test`` is
    the t-test of the intercept (``pval`` two-sided).
    """

    x: np.ndarray
    se: np.ndarray
    comparison: tuple[str, ...]
    study: tuple[str, ...]
    model: str
    intercept: float
    intercept_se: float
    test: Test

    def to_frame(self):
        """One row per contrast: study, comparison, x (centred TE), se."""
        import pandas as pd

        return pd.DataFrame({"study": self.study, "comparison": self.comparison, "x": self.x, "se": self.se})

    def to_dict(self) -> dict:
        """The contrasts and the test as plain values."""
        return {"model": self.model, "x": self.x.tolist(), "se": self.se.tolist(),
                "comparison": list(self.comparison), "study": list(self.study), "intercept": self.intercept,
                "intercept_se": self.intercept_se, "test": self.test.to_dict()}

    def summary(self) -> str:
        """Egger's test as one line."""
        t = self.test
        return (f"Egger's test (comparison-adjusted, {len(self.x)} contrasts): intercept {self.intercept:.4f} "
                f"(SE {self.intercept_se:.4f}), t = {t.statistic:.3f}, df = {int(t.df)}, p = {t.pval:.4g}")


def egger(x: np.ndarray, se: np.ndarray) -> tuple[float, float, Test]:
    """Egger's regression test: OLS of x/se on 1/se, t-test of the intercept.

    >>> import numpy as np
    >>> b0, se0, t = egger(np.array([0.1, 0.3, 0.2, 0.5]), np.array([0.1, 0.2, 0.15, 0.3]))
    >>> round(b0, 4), int(t.df)
    (2.0, 2)
    """
    y, prec = x / se, 1.0 / se
    X = np.column_stack([np.ones_like(prec), prec])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    df = len(y) - 2
    s2 = float(resid @ resid) / df
    cov = s2 * np.linalg.inv(X.T @ X)
    b0, se0 = float(beta[0]), float(np.sqrt(cov[0, 0]))
    t = b0 / se0
    p = float(2 * special.stdtr(df, -abs(t)))
    return b0, se0, Test(statistic=t, df=float(df), pval=p, distribution="t", name="Egger's test")


def adjusted_funnel(result, order: list[str] | None = None, model: str = "common") -> AdjustedFunnel:
    """Centred contrasts of every study and Egger's test.

    Parameters
    ----------
    result
        A :class:`~metakit.network.model.NetworkResult`.
    order
        Treatments in the order that orients each comparison (later versus earlier); default
        the sorted treatment order. Must list every treatment.
    model
        Network estimates used to centre: "common" (netmeta's default) or "random".
    """
    net = result.data
    order = list(net.treatments) if order is None else list(order)
    if sorted(order) != sorted(net.treatments):
        raise ValueError(f"order must list every treatment once: {', '.join(net.treatments)}")
    rank = np.array([order.index(t) for t in net.treatments])
    mat = result.estimates(model).matrix()["TE"]
    # TE is t1 versus t2; flip where t1 comes earlier in the order
    flip = rank[net.t1] < rank[net.t2]
    te = np.where(flip, -net.TE, net.TE)
    net_te = np.where(flip, -mat[net.t1, net.t2], mat[net.t1, net.t2])
    later = np.where(flip, net.t2, net.t1)
    earlier = np.where(flip, net.t1, net.t2)
    x = te - net_te
    comp = tuple(f"{net.treatments[a]}:{net.treatments[b]}" for a, b in zip(later, earlier))
    b0, se0, test = egger(x, net.seTE)
    return AdjustedFunnel(x, net.seTE.copy(), comp, tuple(net.studies[s] for s in net.study), model, b0, se0, test)
