"""The entry point of pairwise meta-analysis: one analysis, or one per subgroup.

:func:`meta` resolves the settings (:func:`metakit.stats.pairwise.resolve_settings`) and
fits either one :class:`~metakit.stats.pairwise.MetaResult` or, with ``by=``, a
:class:`~metakit.stats.subgroups.SubgroupResult`.
"""

from __future__ import annotations

from collections.abc import Sequence

from metakit.stats.pairwise import fit_one, resolve_settings
from metakit.stats.subgroups import subgroup_analysis


def meta(es, *, model: str = "random", method: str | None = None, tau2_method: str | None = None,
         ci: str = "z", pi: str | None = None, by: str | None = None, common_tau2: bool = False,
         level: float = 0.95, convention: str = "metafor", tol: float = 1e-10,
         maxiter: int = 200, fallback: str | None = None,
         subgroup_order: Sequence[str] | None = None):
    """Meta-analyse effect sizes.

    Parameters
    ----------
    es
        :class:`~metakit.stats.effects.EffectSizes` from :func:`metakit.effect_sizes`.
    model
        Primary model: ``"random"`` (default) or ``"common"``. Both are always computed.
    method
        ``"inverse"`` (variance), ``"MH"`` (Mantel-Haenszel; OR, RR, RD) or ``"Peto"``.
        Default: inverse variance, or MH for binary data under ``convention="revman"``.
    tau2_method
        tau² estimator: DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM. Default REML
        (DL under ``convention="revman"``).
    ci
        ``"z"``, ``"hk"`` (Hartung-Knapp) or ``"hk-adhoc"`` (ad hoc variance correction).
    pi
        Prediction interval: ``"z"`` (metafor) or ``"t"`` (t(k-2), Higgins 2009).
    by
        Column of ``es.data`` naming subgroups: returns a
        :class:`~metakit.stats.subgroups.SubgroupResult`.
    common_tau2
        With ``by``: one tau² across subgroups instead of one per subgroup.
    subgroup_order
        With ``by``: the subgroups' order in the result, summary and forest plot; those not
        named follow in order of first appearance (the default order).
    level
        Confidence level.
    convention
        ``"metafor"`` or ``"revman"`` (see the module docstring).
    tol, maxiter, fallback
        Iteration controls of the tau² estimator; ``fallback`` names an estimator to use
        (with a warning) if the chosen one does not converge.

    Returns
    -------
    MetaResult or SubgroupResult

    Examples
    --------
    >>> import pandas as pd, metakit as mk
    >>> df = pd.DataFrame({"study": ["A", "B", "C"], "e_t": [4, 6, 3], "n_t": [123, 306, 231],
    ...                    "e_c": [11, 29, 11], "n_c": [139, 303, 220]})
    >>> fit = mk.meta(mk.effect_sizes(df, "RR"), tau2_method="DL")
    >>> fit.k
    3
    """
    s = resolve_settings(es, model, method, tau2_method, ci, pi, level, convention, tol, maxiter,
                         fallback)
    if by is not None:
        return subgroup_analysis(es, s, by, common_tau2, subgroup_order)
    if subgroup_order is not None:
        raise ValueError("subgroup_order applies to subgroup analyses; pass by= as well")
    if common_tau2:
        raise ValueError("common_tau2 applies to subgroup analyses; pass by= as well")
    return fit_one(es, s)


def meta_mh(es, **kwargs):
    """Mantel-Haenszel meta-analysis: :func:`meta` with ``method="MH"``."""
    return meta(es, method="MH", **kwargs)


def meta_peto(es, **kwargs):
    """Peto's one-step odds ratio meta-analysis: :func:`meta` with ``method="Peto"``."""
    return meta(es, method="Peto", **kwargs)
