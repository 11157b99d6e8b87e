"""Effect sizes and their sampling variances from arm-level or generic study data.

This is metakit's equivalent of metafor's ``escalc``: one row per study in, one effect
size ``yi`` and sampling variance ``vi`` per study out, together with the raw arm data that
Mantel-Haenszel and Peto pooling and forest plots need. The experimental arm is first
(``*_t`` columns), the control arm second (``*_c``): ``yi = f(treatment) - f(control)``.

Measures
--------
Binary arm data (events and totals per arm): ``"OR"`` (log odds ratio), ``"RR"`` (log risk
ratio), ``"RD"`` (risk difference), ``"PETO"`` (log odds ratio by Peto's one-step method),
``"AS"`` (arcsine square-root risk difference).
Continuous arm data (mean, SD, N per arm): ``"MD"`` (mean difference), ``"SMD"``
(standardised mean difference, Hedges' g or Cohen's d), ``"ROM"`` (log ratio of means).
Generic: ``"GEN"`` (an estimate with its variance, SE, confidence interval or p-value).

Formulas follow Viechtbauer (2010, J Stat Softw 36(3)) and metafor's escalc defaults, and
Deeks & Higgins, *Statistical algorithms in Review Manager 5* (2010) for ``vtype="revman"``.
Each low-level function cites its sources.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from metakit.errors import DataError, MetakitWarning
from metakit.stats.measures import BINARY_MEASURES, CONTINUOUS_MEASURES, RATIO_MEASURES, is_ratio
from metakit.stats.measures import SCALE_NAMES as MEASURE_NAMES
from metakit.stats.validate import (
    check_effect_range,
    check_rule,
    clip,
    duplicate_labels,
    missing_cells,
    numeric_column,
    require_columns,
    study_labels,
)

__all__ = [
    "BINARY_MEASURES",
    "CONTINUOUS_MEASURES",
    "RATIO_MEASURES",
    "EffectSizes",
    "effect_sizes",
    "binary_effects",
    "continuous_effects",
    "generic_effects",
    "hedges_j",
]

ADD_TO = ("only0", "all", "if0all", "none")

_Z975 = special.ndtri(0.975)


# --------------------------------------------------------------------------------------
# Low-level, vectorised kernels: arrays of any shape (..., k) in, (yi, vi) out.
# --------------------------------------------------------------------------------------


def default_cc(measure: str) -> float:
    """metafor's default continuity correction for a binary measure (0 for AS, else 0.5)."""
    # escalc sets add = 0 for the arcsine difference, which is defined at p = 0 and p = 1.
    return 0.0 if measure == "AS" else 0.5


def zero_cell(e1, n1, e2, n2) -> np.ndarray:
    """True for 2x2 tables with a zero cell (no events, or only events, in an arm).

    The one rule behind every continuity correction ("only0") and RevMan's 0.5.

    >>> zero_cell([0, 3], [10, 10], [2, 10], [10, 10]).tolist()
    [True, True]
    """
    e1, n1, e2, n2 = (np.asarray(x, dtype=float) for x in (e1, n1, e2, n2))
    return (e1 == 0) | (e2 == 0) | (e1 == n1) | (e2 == n2)


def double_zero(e1, n1, e2, n2) -> np.ndarray:
    """True for tables with no events in both arms, or only events in both arms.

    Such a table says nothing about a ratio (metafor's ``drop00``).

    >>> double_zero([0, 0], [10, 10], [0, 2], [12, 10]).tolist()
    [True, False]
    """
    e1, n1, e2, n2 = (np.asarray(x, dtype=float) for x in (e1, n1, e2, n2))
    return ((e1 == 0) & (e2 == 0)) | ((e1 == n1) & (e2 == n2))


def binary_effects(
    measure: str,
    e1: Any,
    n1: Any,
    e2: Any,
    n2: Any,
    cc: float | None = None,
    add_to: Literal["only0", "all", "if0all", "none"] = "only0",
) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and variances from 2x2 tables, vectorised over any leading shape.

    Cells are a = e1, b = n1 - e1 (treatment), c = e2, d = n2 - e2 (control). ``cc`` is
    added to all four cells of tables with a zero cell (``add_to="only0"``), of every table
    (``"all"``) or of none. Where the effect is undefined (e.g. a zero cell and no
    correction), ``yi`` and ``vi`` are NaN. Inputs are not validated here (see
    :func:`effect_sizes`).

    Formulas (Viechtbauer 2010; Fleiss & Berlin 2009, in *The Handbook of Research
    Synthesis*, ch. 12), with p1 = a/(a+b), p2 = c/(c+d) after correction:

    - OR: yi = log(ad/(bc)), vi = 1/a + 1/b + 1/c + 1/d (Woolf 1955).
    - RR: yi = log(p1/p2), vi = 1/a - 1/(a+b) + 1/c - 1/(c+d).
    - RD: yi = p1 - p2, vi = p1(1-p1)/(a+b) + p2(1-p2)/(c+d).
    - PETO: yi = (a - E)/V, vi = 1/V, with E = (a+c)(a+b)/N and
      V = (a+c)(b+d)(a+b)(c+d)/(N^2 (N-1)) (Yusuf et al. 1985, Prog Cardiovasc Dis 27:335).
    - AS: yi = asin(sqrt(p1)) - asin(sqrt(p2)), vi = 1/(4(a+b)) + 1/(4(c+d))
      (Ruecker et al. 2009, Stat Med 28:721).

    Parameters
    ----------
    measure
        One of "OR", "RR", "RD", "PETO", "AS".
    e1, n1, e2, n2
        Events and totals in the treatment (1) and control (2) arms, broadcastable arrays.
    cc
        Continuity correction; None uses metafor's default (0.5; 0 for AS).
    add_to
        Which tables get the correction: "only0", "all", "if0all" or "none".

    Returns
    -------
    yi, vi : numpy.ndarray
        Effect sizes and sampling variances, shaped like the broadcast inputs.

    Examples
    --------
    >>> yi, vi = binary_effects("OR", [4], [123], [11], [139])
    >>> round(float(yi[0]), 6), round(float(vi[0]), 6)
    (-0.938694, 0.357125)
    """
    if measure not in BINARY_MEASURES:
        raise ValueError(f"unknown binary measure {measure!r}; use one of {BINARY_MEASURES}")
    if add_to not in ADD_TO:
        raise ValueError(f"add_to must be one of {ADD_TO}, not {add_to!r}")
    cc = default_cc(measure) if cc is None else float(cc)
    if cc < 0:
        raise ValueError("cc must be >= 0")
    e1, n1, e2, n2 = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (e1, n1, e2, n2)))
    a, b, c, d = e1, n1 - e1, e2, n2 - e2
    zero = zero_cell(e1, n1, e2, n2)
    if add_to == "only0":
        add = np.where(zero, cc, 0.0)
    elif add_to == "if0all":
        # metafor's "if0all": every table of a meta-analysis (last axis) that has a zero cell.
        add = np.broadcast_to(np.where(zero.any(axis=-1, keepdims=True), cc, 0.0), a.shape)
    elif add_to == "all":
        add = np.full(a.shape, cc)
    else:
        add = np.zeros(a.shape)
    a, b, c, d = a + add, b + add, c + add, d + add
    t1, t2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = a / t1, c / t2
        if measure == "OR":
            yi = np.log(a) - np.log(b) - np.log(c) + np.log(d)
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / a - 1 / t1 + 1 / c - 1 / t2
        elif measure == "RD":
            yi = p1 - p2
            vi = p1 * (1 - p1) / t1 + p2 * (1 - p2) / t2
        elif measure == "PETO":
            nn = t1 + t2
            expected = (a + c) * t1 / nn
            hyper_var = (a + c) * (b + d) * (t1 / nn) * (t2 / nn) / (nn - 1)
            yi = (a - expected) / hyper_var
            vi = 1 / hyper_var
        else:  # AS
            yi = np.arcsin(np.sqrt(p1)) - np.arcsin(np.sqrt(p2))
            vi = 1 / (4 * t1) + 1 / (4 * t2)
    undefined = ~(np.isfinite(yi) & np.isfinite(vi))
    yi = np.where(undefined, np.nan, yi)
    vi = np.where(undefined, np.nan, vi)
    return yi, vi


def hedges_j(df: Any) -> np.ndarray:
    """Exact small-sample bias correction of Cohen's d (Hedges 1981, J Educ Stat 6:107, eq. 6e).

    J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)). The gamma ratio is evaluated as a
    Pochhammer symbol, which stays accurate for large m where a difference of log-gammas
    loses digits (at m = 1e6 that difference is off by 3e-10; J -> 1 - 3/(4m - 1)).
    ``df`` is m = n1 + n2 - 2 (> 1).

    Examples
    --------
    >>> round(float(hedges_j(2)), 10)  # Gamma(1) / Gamma(1/2) = 1/sqrt(pi)
    0.5641895835
    """
    m = np.asarray(df, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return special.poch((m - 1) / 2, 0.5) / np.sqrt(m / 2)


def continuous_effects(
    measure: str,
    m1: Any,
    sd1: Any,
    n1: Any,
    m2: Any,
    sd2: Any,
    n2: Any,
    vtype: Literal["metafor", "unbiased", "revman"] = "metafor",
    smd: Literal["hedges", "cohen"] = "hedges",
) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and variances from arm means, SDs and sizes, vectorised over any shape.

    - MD: yi = m1 - m2, vi = sd1^2/n1 + sd2^2/n2.
    - ROM: yi = log(m1/m2), vi = sd1^2/(n1 m1^2) + sd2^2/(n2 m2^2)
      (Hedges, Gurevitch & Curtis 1999, Ecology 80:1150); means must be > 0.
    - SMD: d = (m1 - m2)/s, s^2 = ((n1-1) sd1^2 + (n2-1) sd2^2)/(n1+n2-2) (Cohen's d);
      Hedges' g = J d with the exact J of :func:`hedges_j` (Hedges 1981). Variance by
      ``vtype``:

      * "metafor" (escalc's default "LS", Hedges 1982 / Hedges & Olkin 1985 eq. 15):
        vi = 1/n1 + 1/n2 + g^2/(2(n1+n2)).
      * "unbiased" (escalc ``vtype="UB"``, Hedges 1983, Psychol Bull 93:388; the default of
        R's meta package ``metacont``): vi = 1/n1 + 1/n2 + (1 - (m-2)/(m J^2)) g^2.
        Defined for Hedges' g only.
      * "revman" (Deeks & Higgins 2010, *Statistical algorithms in Review Manager 5*):
        RevMan's approximate correction g = d (1 - 3/(4N - 9)), N = n1 + n2, and
        vi = N/(n1 n2) + g^2/(2(N - 3.94)). RevMan's g differs from the exact-J g by
        O(N^-3) relative (about 1e-4 at N = 20).

      With ``smd="cohen"`` no correction is applied (J = 1) and the same variance formula
      is used with d in place of g.

    Inputs are not validated here (see :func:`effect_sizes`).

    Examples
    --------
    >>> yi, vi = continuous_effects("MD", [55], [47], [155], [75], [64], [156])
    >>> float(yi[0]), round(float(vi[0]), 6)
    (-20.0, 40.508023)
    """
    if measure not in CONTINUOUS_MEASURES:
        raise ValueError(f"unknown continuous measure {measure!r}; use one of {CONTINUOUS_MEASURES}")
    if vtype not in ("metafor", "unbiased", "revman"):
        raise ValueError(f"vtype must be 'metafor', 'unbiased' or 'revman', not {vtype!r}")
    if smd not in ("hedges", "cohen"):
        raise ValueError(f"smd must be 'hedges' or 'cohen', not {smd!r}")
    m1, sd1, n1, m2, sd2, n2 = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (m1, sd1, n1, m2, sd2, n2))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "MD":
            return m1 - m2, sd1**2 / n1 + sd2**2 / n2
        if measure == "ROM":
            return np.log(m1 / m2), sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
        total = n1 + n2
        df = total - 2
        pooled_sd = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
        d = (m1 - m2) / pooled_sd
        if smd == "cohen":
            j = np.ones_like(d)
        elif vtype == "revman":
            j = 1 - 3 / (4 * total - 9)
        else:
            j = hedges_j(df)
        g = j * d
        if vtype == "metafor":
            vi = 1 / n1 + 1 / n2 + g**2 / (2 * total)
        elif vtype == "revman":
            vi = total / (n1 * n2) + g**2 / (2 * (total - 3.94))
        else:
            if smd == "cohen":
                raise ValueError("vtype='unbiased' is defined for Hedges' g only (smd='hedges')")
            vi = 1 / n1 + 1 / n2 + (1 - (df - 2) / (df * j**2)) * g**2
    return g, vi


def generic_effects(
    estimate: Any,
    *,
    variance: Any = None,
    se: Any = None,
    ci_lb: Any = None,
    ci_ub: Any = None,
    pval: Any = None,
    scale: Literal["identity", "log", "ratio"] = "identity",
    ci_level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and variances from reported estimates, vectorised over any shape.

    The variance is taken, element by element, from the first source given and not NaN,
    in the order ``variance``, ``se``, confidence interval, ``pval``:

    - from a CI at level L (Cochrane Handbook 6.3.1 and 6.5.2.3; Altman & Bland 2011, BMJ
      343:d2090): SE = (ub - lb) / (2 z), z = Phi^{-1}((1 + L)/2), both limits on the
      analysis scale;
    - from a two-sided p-value of a z-test (Altman & Bland 2011, BMJ 343:d2304):
      SE = |yi| / Phi^{-1}(1 - p/2).

    ``scale="ratio"`` means the estimate and CI are ratios (OR, RR, HR) on their natural
    scale; they are log-transformed first (a variance or SE must already be on the log
    scale). ``scale="log"`` and ``"identity"`` take them as
    they are (``"log"`` only marks a log ratio for display). Elements with no usable
    source are NaN.

    Examples
    --------
    >>> yi, vi = generic_effects([0.5], ci_lb=[0.3], ci_ub=[0.9], scale="ratio")
    >>> round(float(yi[0]), 6), round(float(np.sqrt(vi[0])), 6)
    (-0.693147, 0.280263)
    """
    if scale not in ("identity", "log", "ratio"):
        raise ValueError(f"scale must be 'identity', 'log' or 'ratio', not {scale!r}")
    if not 0 < ci_level < 1:
        raise ValueError("ci_level must be in (0, 1)")
    to_scale = np.log if scale == "ratio" else (lambda x: x)
    nan = np.full(np.shape(estimate), np.nan)

    def arr(x: Any) -> np.ndarray:
        return nan if x is None else np.asarray(x, dtype=float)

    with np.errstate(divide="ignore", invalid="ignore"):
        yi = to_scale(np.asarray(estimate, dtype=float))
        vi = arr(variance)
        vi = np.where(np.isnan(vi), arr(se) ** 2, vi)
        z_ci = special.ndtri((1 + ci_level) / 2)
        se_ci = (to_scale(arr(ci_ub)) - to_scale(arr(ci_lb))) / (2 * z_ci)
        vi = np.where(np.isnan(vi), se_ci**2, vi)
        se_p = np.abs(yi) / -special.ndtri(arr(pval) / 2)
        vi = np.where(np.isnan(vi), se_p**2, vi)
    vi = np.where(np.isfinite(vi), vi, np.nan)
    return np.broadcast_to(yi, vi.shape).astype(float), vi


# --------------------------------------------------------------------------------------
# The result object.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EffectSizes:
    """Per-study effect sizes, ready for pooling.

    Attributes
    ----------
    measure
        "OR", "RR", "RD", "PETO", "AS", "MD", "SMD", "ROM" or "GEN". Ratio measures are
        on the log scale.
    yi, vi
        Effect sizes and sampling variances, shape (k,).
    study
        Study labels (strings; duplicates allowed).
    data
        The kept rows of the input, all original columns, index reset.
    arms
        Raw (uncorrected) arm data of the kept rows: binary ``e1, n1, e2, n2``;
        continuous ``m1, sd1, n1, m2, sd2, n2``; None for generic input.
    cc, add_to
        The continuity correction and the tables it went to (binary measures).
    excluded
        Labels of studies left out (double-zero, or effect not estimable).
    methods
        What was done, in words; ``methods["text"]`` is a methods-section sentence.
    keep
        Input columns carried into :meth:`to_frame` (e.g. year, subgroup).
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray
    study: tuple[str, ...]
    data: pd.DataFrame
    arms: pd.DataFrame | None
    cc: float
    add_to: str
    excluded: tuple[str, ...]
    methods: dict = field(default_factory=dict)
    keep: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Results are values: the arrays cannot be changed in place either.
        for name in ("yi", "vi"):
            arr = np.array(getattr(self, name), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def is_ratio(self) -> bool:
        """True when yi is a log ratio (OR, RR, PETO, ROM, or GEN from a ratio scale)."""
        return is_ratio(self.measure, self.methods.get("scale") in ("log", "ratio"))

    @property
    def k(self) -> int:
        """Number of studies."""
        return int(self.yi.shape[0])

    @property
    def arm_columns(self) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """The arm data's columns, experimental then control: ``(("e1", "n1"), ("e2",
        "n2"))`` for binary data, ``(("m1", "sd1", "n1"), ("m2", "sd2", "n2"))`` for
        continuous data, None without arm data."""
        if self.arms is None:
            return None
        cols = set(self.arms.columns)
        if {"e1", "n1", "e2", "n2"} <= cols:
            return ("e1", "n1"), ("e2", "n2")
        if {"m1", "sd1", "n1", "m2", "sd2", "n2"} <= cols:
            return ("m1", "sd1", "n1"), ("m2", "sd2", "n2")
        return None

    def __len__(self) -> int:
        return self.k

    @property
    def sei(self) -> np.ndarray:
        """Standard errors, sqrt(vi)."""
        return np.sqrt(self.vi)

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """One row per study: study, yi, vi, sei, ci_lb, ci_ub (analysis scale), arm data
        and the ``keep`` columns.

        Examples
        --------
        >>> df = pd.DataFrame({"study": ["A"], "m_t": [5.0], "sd_t": [1.0], "n_t": [10],
        ...                    "m_c": [4.0], "sd_c": [1.0], "n_c": [10]})
        >>> list(effect_sizes(df, "MD").to_frame().columns)[:6]
        ['study', 'yi', 'vi', 'sei', 'ci_lb', 'ci_ub']
        """
        z = special.ndtri((1 + level) / 2)
        sei = self.sei
        out = pd.DataFrame(
            {
                "study": list(self.study),
                "yi": self.yi,
                "vi": self.vi,
                "sei": sei,
                "ci_lb": self.yi - z * sei,
                "ci_ub": self.yi + z * sei,
            }
        )
        if self.arms is not None:
            out = pd.concat([out, self.arms.reset_index(drop=True)], axis=1)
        for col in self.keep:
            out[col] = self.data[col].to_numpy()
        return out

    def to_dict(self) -> dict:
        """Plain-Python view (lists, strings, numbers) for JSON or YAML."""
        return {
            "measure": self.measure,
            "k": self.k,
            "is_ratio": self.is_ratio,
            "study": list(self.study),
            "yi": self.yi.tolist(),
            "vi": self.vi.tolist(),
            "arms": None if self.arms is None else self.arms.to_dict(orient="list"),
            "cc": self.cc,
            "add_to": self.add_to,
            "excluded": list(self.excluded),
            "methods": dict(self.methods),
        }

    def summary(self) -> str:
        """A plain-text table of the studies with 95% CIs (ratios shown exponentiated)."""
        frame = self.to_frame()
        lab = MEASURE_NAMES.get(self.measure, self.measure)
        shown = self.measure if self.measure != "GEN" else "effect"
        if self.is_ratio:
            shown = {"OR": "OR", "RR": "RR", "PETO": "Peto OR", "ROM": "ratio of means"}.get(
                self.measure, "ratio"
            )
            est, lo, hi = (np.exp(frame[c].to_numpy()) for c in ("yi", "ci_lb", "ci_ub"))
        else:
            est, lo, hi = (frame[c].to_numpy() for c in ("yi", "ci_lb", "ci_ub"))
        width = max([len("Study")] + [len(s) for s in self.study])
        lines = [f"Effect sizes: {lab} ({self.measure}), k = {self.k}", ""]
        lines.append(f"{'Study':<{width}}  {shown + ' [95% CI]':>28}  {'yi':>9}  {'vi':>9}")
        for s, e, lb, ub, y, v in zip(self.study, est, lo, hi, self.yi, self.vi, strict=True):
            ci = f"{e:.3g} [{lb:.3g}, {ub:.3g}]"
            lines.append(f"{s:<{width}}  {ci:>28}  {y:>9.4f}  {v:>9.4g}")
        lines += ["", self.methods.get("text", "")]
        if self.excluded:
            lines.append("Excluded: " + ", ".join(self.excluded))
        return "\n".join(lines).rstrip()

    def subset(self, mask_or_labels: Any) -> EffectSizes:
        """The same effect sizes for some of the studies.

        Parameters
        ----------
        mask_or_labels
            A boolean mask of length k, a sequence of integer positions, or a sequence of
            study labels (every study with a listed label is kept, in the original order).

        Examples
        --------
        >>> df = pd.DataFrame({"study": ["A", "B"], "m_t": [5.0, 6.0], "sd_t": [1.0, 1.0],
        ...                    "n_t": [10, 10], "m_c": [4.0, 4.0], "sd_c": [1.0, 1.0],
        ...                    "n_c": [10, 10]})
        >>> effect_sizes(df, "MD").subset(["B"]).yi.tolist()
        [2.0]
        """
        idx = self._positions(mask_or_labels)
        return EffectSizes(
            measure=self.measure,
            yi=self.yi[idx].copy(),
            vi=self.vi[idx].copy(),
            study=tuple(self.study[i] for i in idx),
            data=self.data.iloc[idx].reset_index(drop=True),
            arms=None if self.arms is None else self.arms.iloc[idx].reset_index(drop=True),
            cc=self.cc,
            add_to=self.add_to,
            excluded=self.excluded,
            methods=dict(self.methods),
            keep=self.keep,
        )

    def _positions(self, sel: Any) -> np.ndarray:
        if isinstance(sel, str):
            sel = [sel]
        arr = np.asarray(list(sel) if not isinstance(sel, np.ndarray | pd.Series) else sel)
        if arr.dtype == bool:
            if arr.shape != (self.k,):
                raise ValueError(f"a boolean mask must have length k = {self.k}")
            return np.flatnonzero(arr)
        if arr.size == 0:
            return np.array([], dtype=int)
        if np.issubdtype(arr.dtype, np.integer):
            if arr.min() < -self.k or arr.max() >= self.k:
                raise IndexError(f"study position out of range for k = {self.k}")
            return arr % self.k
        labels = np.asarray(self.study, dtype=object)
        wanted = [str(x) for x in arr]
        known = set(self.study)
        missing = [w for w in wanted if w not in known]
        if missing:
            raise DataError("no such study among the effect sizes", study=missing[0])
        return np.flatnonzero(np.isin(labels, wanted))


# --------------------------------------------------------------------------------------
# The friendly entry point.
# --------------------------------------------------------------------------------------


def effect_sizes(
    data: pd.DataFrame,
    measure: str,
    *,
    study: str = "study",
    events: tuple[str, str] = ("e_t", "e_c"),
    totals: tuple[str, str] = ("n_t", "n_c"),
    means: tuple[str, str] = ("m_t", "m_c"),
    sds: tuple[str, str] = ("sd_t", "sd_c"),
    ns: tuple[str, str] = ("n_t", "n_c"),
    estimate: str = "yi",
    variance: str | None = None,
    se: str | None = None,
    ci: tuple[str, str] | None = None,
    pval: str | None = None,
    scale: Literal["identity", "log", "ratio"] = "identity",
    ci_level: float = 0.95,
    cc: float | None = None,
    add_to: Literal["only0", "all", "if0all", "none"] = "only0",
    drop00: bool | None = None,
    vtype: Literal["metafor", "unbiased", "revman"] = "metafor",
    smd: Literal["hedges", "cohen"] = "hedges",
    keep: Sequence[str] = (),
    year: str | None = None,
    incomplete: Literal["error", "drop"] = "error",
) -> EffectSizes:
    """Compute effect sizes and sampling variances for each study (like metafor's escalc).

    Parameters
    ----------
    data
        One row per study.
    measure
        Binary: "OR", "RR", "RD", "PETO", "AS"; continuous: "MD", "SMD", "ROM";
        generic: "GEN".
    study
        Column of study labels (must not be missing or blank; surrounding spaces are
        removed). Duplicated labels are allowed but warned about: several rows of one study
        (outcomes, time points) pooled together count its patients more than once.
    events, totals
        Binary: (treatment, control) columns of event counts and arm sizes.
    means, sds, ns
        Continuous: (treatment, control) columns of means, SDs and arm sizes.
    estimate, variance, se, ci, pval
        Generic: the estimate column and at least one of its variance, SE, (lower, upper)
        CI or two-sided p-value columns. If several are given, each study uses the first
        one it has, in that order.
    scale
        Generic only: "ratio" when estimate and CI are ratios (OR 0.5 [0.3, 0.9]); they
        are log-transformed (a variance or SE column must be on the log scale). "log" when
        they are already log ratios. "identity" otherwise.
    ci_level
        Generic only: level of the reported CIs.
    cc
        Continuity correction. None gives metafor's default: 0.5, or 0 for "AS".
    add_to
        Which studies get ``cc`` in all four cells: "only0" (those with a zero cell,
        metafor's and RevMan's default), "all", "if0all" (all studies if any has a zero
        cell), or "none".
    drop00
        Exclude studies with no events, or only events, in both arms. None gives the
        per-measure default: True for OR, RR and PETO (the ratio is undefined; as RevMan
        and R's meta), False for RD and AS (defined, RD = 0). metafor's escalc default is
        False for every measure; pass ``drop00=False`` to reproduce it.
    vtype
        SMD variance: "metafor" (escalc default, large-sample), "unbiased" (escalc "UB",
        R meta's default) or "revman" (RevMan 5, with its approximate J). MD, ROM and the
        binary measures have one variance formula.
    smd
        "hedges" (exact small-sample correction) or "cohen" (none).
    keep
        Columns carried into :meth:`EffectSizes.to_frame` (e.g. "year", "subgroup").
    year
        Column of years appended to the labels ("Smith 2003") where a label has no
        four-digit number yet; None (the default, as in ``metakit meta``) labels studies by
        ``study`` alone. The rule is :func:`metakit.stats.validate.study_labels`.
    incomplete
        A row missing a value the measure needs (an SD, an N, ...): "error" (the default)
        stops at it, naming it; "drop" leaves every such row out with one warning naming
        each dropped study and its missing columns (``--drop-incomplete`` in the CLI).

    Returns
    -------
    EffectSizes

    Raises
    ------
    DataError
        Bad input, naming the study, the column and the rule.

    Warns
    -----
    MetakitWarning
        When studies are excluded (double-zero, incomplete, or effect not estimable), when
        labels are duplicated, and when a generic CI looks like a ratio CI analysed on the
        identity scale; each names the studies.

    Examples
    --------
    >>> df = pd.DataFrame({"study": ["Aronson 1948", "Ferguson 1949"],
    ...                    "e_t": [4, 6], "n_t": [123, 306], "e_c": [11, 29], "n_c": [139, 303]})
    >>> es = effect_sizes(df, "RR")
    >>> np.round(es.yi, 4).tolist()
    [-0.8893, -1.5854]
    """
    measure = str(measure).upper()
    if measure not in BINARY_MEASURES + CONTINUOUS_MEASURES + ("GEN",):
        raise ValueError(
            f"unknown measure {measure!r}; use one of "
            f"{', '.join(BINARY_MEASURES + CONTINUOUS_MEASURES + ('GEN',))}"
        )
    if add_to not in ADD_TO:
        raise ValueError(f"add_to must be one of {ADD_TO}, not {add_to!r}")
    if vtype not in ("metafor", "unbiased", "revman"):
        raise ValueError(f"vtype must be 'metafor', 'unbiased' or 'revman', not {vtype!r}")
    if smd not in ("hedges", "cohen"):
        raise ValueError(f"smd must be 'hedges' or 'cohen', not {smd!r}")
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if incomplete not in ("error", "drop"):
        raise ValueError(f"incomplete must be 'error' or 'drop', not {incomplete!r}")
    if len(data) == 0:
        raise DataError("no studies in the data (k = 0)")
    data = data.reset_index(drop=True)
    labels = study_labels(data, study, year)
    keep = tuple(keep)
    require_columns(data, keep)
    if incomplete == "drop":
        data, labels = _drop_incomplete(data, labels, measure, events, totals, means, sds, ns,
                                        estimate, variance, se, ci, pval)
    _warn_duplicates(labels)

    cc_used = 0.0
    arms: pd.DataFrame | None
    drop = np.zeros(len(data), dtype=bool)
    notes: dict[str, Any] = {"measure": measure, "measure_name": MEASURE_NAMES[measure]}

    if measure in BINARY_MEASURES:
        cc_used = default_cc(measure) if cc is None else float(cc)
        if cc_used < 0:
            raise ValueError("cc must be >= 0")
        e1, n1, e2, n2 = _binary_columns(data, labels, events, totals)
        # one float block: much cheaper than a frame built column by column
        arms = pd.DataFrame(np.column_stack([e1, n1, e2, n2]), columns=["e1", "n1", "e2", "n2"])
        # an explicit drop00=False keeps double-zero tables in the heterogeneity of MH and
        # Peto fits too (metafor's rma.mh(drop00 = FALSE)); by default they stay out of it
        keep00_asked = drop00 is False
        if drop00 is None:
            drop00 = measure in ("OR", "RR", "PETO")
        if drop00:
            drop = double_zero(e1, n1, e2, n2)
        # Dropped studies enter the kernel as NaN so that they neither get nor trigger
        # a correction ("if0all"), as in metafor, which drops them before correcting.
        e1k, e2k = np.where(drop, np.nan, e1), np.where(drop, np.nan, e2)
        yi, vi = binary_effects(measure, e1k, n1, e2k, n2, cc=cc_used, add_to=add_to)
        zeros = ~drop & zero_cell(e1, n1, e2, n2)
        corrected = {
            "only0": zeros,
            "all": ~drop,
            "if0all": ~drop & zeros.any(),
            "none": np.zeros_like(zeros),
        }
        n_corrected = int(corrected[add_to].sum()) if cc_used > 0 else 0
        notes.update(cc=cc_used, add_to=add_to, drop00=bool(drop00), keep00=keep00_asked,
                     n_corrected=n_corrected)
        dropped00 = [lab for lab, x in zip(labels, drop, strict=True) if x]
        if dropped00:
            warnings.warn(
                f"{_studies(len(dropped00))} with no events "
                f"(or only events) in both arms excluded from {measure}: {', '.join(dropped00)}",
                MetakitWarning,
                stacklevel=2,
            )
    elif measure in CONTINUOUS_MEASURES:
        m1, s1, n1, m2, s2, n2 = _continuous_columns(data, labels, measure, means, sds, ns)
        yi, vi = continuous_effects(measure, m1, s1, n1, m2, s2, n2, vtype=vtype, smd=smd)
        arms = pd.DataFrame(np.column_stack([m1, s1, n1, m2, s2, n2]),
                            columns=["m1", "sd1", "n1", "m2", "sd2", "n2"])
        if measure == "SMD":
            notes.update(vtype=vtype, smd=smd)
    else:
        yi, vi, sources = _generic(data, labels, estimate, variance, se, ci, pval, scale, ci_level)
        arms = None
        notes.update(scale=scale, ci_level=ci_level, sources=sources)

    if measure in CONTINUOUS_MEASURES:
        # with validated arm data (SD > 0, N >= 2, ROM means > 0) only overflow or underflow
        # leaves an effect undefined: an out-of-range error, never a silent exclusion
        inputs = ", ".join((*means, *sds, *ns))
        yi_chk = np.where(np.isnan(yi), np.inf, yi)
        vi_chk = np.where(np.isnan(vi), np.inf, vi)
    else:
        inputs = ", ".join((*events, *totals) if measure in BINARY_MEASURES else
                           [c for c in (estimate, variance, se, *(ci or ()), pval) if c])
        yi_chk, vi_chk = np.where(drop, 0.0, yi), np.where(drop, 1.0, vi)
    check_effect_range(yi_chk, vi_chk, labels, inputs, measure)
    not_estimable = ~drop & ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))
    if not_estimable.any():
        names = [lab for lab, x in zip(labels, not_estimable, strict=True) if x]
        warnings.warn(
            f"{_studies(len(names))} with an effect or variance that "
            f"cannot be estimated ({measure}, add_to={add_to!r}) excluded: {', '.join(names)}",
            MetakitWarning,
            stacklevel=2,
        )
    excluded_mask = drop | not_estimable
    if excluded_mask.all():
        raise DataError(f"no study has an estimable {measure} effect size (all {len(data)} excluded)")
    kept = ~excluded_mask
    excluded = tuple(lab for lab, x in zip(labels, excluded_mask, strict=True) if x)
    notes["n_excluded"] = len(excluded)
    notes["text"] = _methods_text(measure, notes, excluded, drop, not_estimable, labels)
    return EffectSizes(
        measure=measure,
        yi=np.asarray(yi, dtype=float)[kept],
        vi=np.asarray(vi, dtype=float)[kept],
        study=tuple(lab for lab, x in zip(labels, kept, strict=True) if x),
        data=data if kept.all() else data.loc[kept].reset_index(drop=True),
        arms=arms if arms is None or kept.all() else arms.loc[kept].reset_index(drop=True),
        cc=cc_used,
        add_to=add_to if measure in BINARY_MEASURES else "none",
        excluded=excluded,
        methods=notes,
        keep=keep,
    )


def _binary_columns(
    data: pd.DataFrame, labels: tuple[str, ...], events: tuple[str, str], totals: tuple[str, str]
) -> tuple[np.ndarray, ...]:
    require_columns(data, [*events, *totals])
    e1, e2 = (numeric_column(data, c, labels) for c in events)
    n1, n2 = (numeric_column(data, c, labels) for c in totals)
    for ev, col in zip((e1, e2), events, strict=True):
        check_rule(ev < 0, labels, col, "event count must be >= 0")
    for tot, col in zip((n1, n2), totals, strict=True):
        check_rule(tot <= 0, labels, col, "arm total must be > 0")
    for ev, tot, col in zip((e1, e2), (n1, n2), events, strict=True):
        check_rule(ev > tot, labels, col, "events must not exceed the arm total")
    return e1, n1, e2, n2


def _continuous_columns(
    data: pd.DataFrame,
    labels: tuple[str, ...],
    measure: str,
    means: tuple[str, str],
    sds: tuple[str, str],
    ns: tuple[str, str],
) -> tuple[np.ndarray, ...]:
    require_columns(data, [*means, *sds, *ns])
    m1, m2 = (numeric_column(data, c, labels) for c in means)
    s1, s2 = (numeric_column(data, c, labels) for c in sds)
    n1, n2 = (numeric_column(data, c, labels) for c in ns)
    for sd, col in zip((s1, s2), sds, strict=True):
        check_rule(sd <= 0, labels, col, "SD must be > 0")
    for n, col in zip((n1, n2), ns, strict=True):
        check_rule(n < 2, labels, col, "arm size N must be >= 2 (an SD needs two observations)")
    if measure == "ROM":
        for m, col in zip((m1, m2), means, strict=True):
            check_rule(m <= 0, labels, col, "mean must be > 0 for the ratio of means (ROM)")
    return m1, s1, n1, m2, s2, n2


def _generic(
    data: pd.DataFrame,
    labels: tuple[str, ...],
    estimate: str,
    variance: str | None,
    se: str | None,
    ci: tuple[str, str] | None,
    pval: str | None,
    scale: str,
    ci_level: float,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    if variance is None and se is None and ci is None and pval is None:
        raise ValueError("measure 'GEN' needs one of variance=, se=, ci= or pval=")
    if scale not in ("identity", "log", "ratio"):
        raise ValueError(f"scale must be 'identity', 'log' or 'ratio', not {scale!r}")
    est = numeric_column(data, estimate, labels)
    if scale == "ratio":
        check_rule(est <= 0, labels, estimate, "a ratio estimate must be > 0 (scale='ratio')")
    cols = {"variance": variance, "se": se, "pval": pval}
    vals = {k: None if c is None else numeric_column(data, c, labels, allow_missing=True)
            for k, c in cols.items()}
    if vals["variance"] is not None:
        check_rule(vals["variance"] <= 0, labels, variance, "variance must be > 0")
    if vals["se"] is not None:
        check_rule(vals["se"] <= 0, labels, se, "SE must be > 0")
    lb = ub = None
    if ci is not None:
        lb, ub = (numeric_column(data, c, labels, allow_missing=True) for c in ci)
        check_rule(np.isnan(lb) & ~np.isnan(ub), labels, ci[0], "missing value (the CI needs both limits)")
        check_rule(np.isnan(ub) & ~np.isnan(lb), labels, ci[1], "missing value (the CI needs both limits)")
        check_rule(lb > ub, labels, ci[0], f"CI lower limit must not exceed the upper limit ({ci[1]})")
        check_rule(lb == ub, labels, ci[0], f"CI has zero width (equal to {ci[1]})")
        if scale == "ratio":
            check_rule(lb <= 0, labels, ci[0], "a ratio CI limit must be > 0 (scale='ratio')")
        outside = (est < lb) | (est > ub)
        if outside.any():
            names = [lab for lab, x in zip(labels, outside, strict=True) if x]
            warnings.warn(
                f"estimate ({estimate}) outside its own CI ({ci[0]}, {ci[1]}) in: "
                f"{', '.join(names)}; check the extraction",
                MetakitWarning,
                stacklevel=3,
            )
        if scale == "identity":
            _warn_ratio_ci(est, lb, ub, labels, estimate, ci)
    if vals["pval"] is not None:
        p = vals["pval"]
        check_rule((p <= 0) | (p > 1), labels, pval, "p-value must be in (0, 1]")
    # Which source each study uses, in priority order, to report it and to name gaps.
    have = [(name, ~np.isnan(v)) for name, v in (("variance", vals["variance"]), ("se", vals["se"]),
                                                  ("ci", lb), ("pval", vals["pval"]))
            if v is not None]
    used = np.zeros(len(data), dtype=bool)
    sources: dict[str, int] = {}
    source_of = np.full(len(data), "", dtype=object)
    for name, present in have:
        take = present & ~used
        sources[name] = int(take.sum())
        source_of[take] = name
        used |= take
    given = [c for c in (variance, se, *(ci or ()), pval) if c is not None]
    check_rule(~used, labels, ", ".join(given), "missing value: no variance, SE, CI or p-value")
    yi, vi = generic_effects(est, variance=vals["variance"], se=vals["se"],
                             ci_lb=lb, ci_ub=ub, pval=vals["pval"],
                             scale=scale, ci_level=ci_level)
    if pval is not None:
        from_p = source_of == "pval"
        check_rule(from_p & (vals["pval"] == 1), labels, pval,
                   "a SE cannot be derived from p = 1")
        check_rule(from_p & (yi == 0), labels, estimate,
                   "a SE cannot be derived from a p-value when the estimate is 0")
    return yi, vi, sources


def _warn_ratio_ci(est: np.ndarray, lb: np.ndarray, ub: np.ndarray, labels: tuple[str, ...],
                   estimate: str, ci: tuple[str, str]) -> None:
    """Warn when CIs given on the identity scale are symmetric on the log scale instead.

    A ratio's CI (OR 0.5 [0.3, 0.9]) is symmetric about log(estimate), not about the
    estimate; analysed as is, its SE and weight are wrong. A study is flagged when its CI is
    markedly asymmetric about the estimate (the two arms differ by more than 10% of the
    width) and at least twice as symmetric about it on the log scale.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        asym = np.abs((ub - est) - (est - lb)) / (ub - lb)
        lest, llb, lub = np.log(est), np.log(lb), np.log(ub)
        log_asym = np.abs((lub - lest) - (lest - llb)) / (lub - llb)
    flagged = (lb > 0) & (lb < est) & (est < ub) & (asym > 0.1) & (log_asym < asym / 2)
    if flagged.any():
        names = [lab for lab, x in zip(labels, flagged, strict=True) if x]
        shown = ", ".join(clip(n, 40) for n in names[:10]) + (" …" if len(names) > 10 else "")
        warnings.warn(
            f"the CIs ({ci[0]}, {ci[1]}) of {_studies(len(names))} are symmetric about the log "
            f"of the estimate ({estimate}), not about the estimate, as ratios' CIs are: {shown}. "
            f"If these are ratios (OR, RR, HR), analyse them with scale='ratio' "
            f"(--scale ratio); as given they are taken on the identity scale",
            MetakitWarning,
            stacklevel=4,
        )


def _warn_duplicates(labels: tuple[str, ...]) -> None:
    dups = duplicate_labels(labels)
    if dups:
        parts = [f"{clip(lab, 40)} (rows {', '.join(map(str, rows))})"
                 for lab, rows in list(dups.items())[:10]]
        more = f" and {len(dups) - 10} more" if len(dups) > 10 else ""
        warnings.warn(
            f"duplicate study labels, each row pooled as a separate study: {'; '.join(parts)}"
            f"{more}. If these rows are outcomes or time points of one study, its patients "
            f"are counted more than once: select one row per study (--outcome or --where in "
            f"the command line)",
            MetakitWarning,
            stacklevel=3,
        )


def _drop_incomplete(data: pd.DataFrame, labels: tuple[str, ...], measure: str,
                     events, totals, means, sds, ns, estimate, variance, se, ci, pval
                     ) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Leave out rows missing a value the measure needs, naming each study and column."""
    if measure in BINARY_MEASURES:
        need, alternatives = [*events, *totals], []
    elif measure in CONTINUOUS_MEASURES:
        need, alternatives = [*means, *sds, *ns], []
    else:
        need = [estimate]
        alternatives = [c for c in (variance, se, *(ci or ()), pval) if c is not None]
    miss = missing_cells(data, need)
    reasons = [[f"{c} missing" for c, m in zip(need, row, strict=True) if m] for row in miss]
    gone = miss.any(axis=1)
    if alternatives:
        alt = missing_cells(data, alternatives)
        if ci is not None:
            # a CI needs both limits; one limit alone is an extraction error, not a gap
            j = alternatives.index(ci[0])
            alt[:, j] = alt[:, j] | alt[:, j + 1]
            alt[:, j + 1] = alt[:, j]
        none = alt.all(axis=1)
        for i in np.flatnonzero(none):
            reasons[i].append(f"no {', '.join(alternatives)}")
        gone |= none
    if not gone.any():
        return data, labels
    if gone.all():
        raise DataError(f"every study lacks a value {measure} needs (e.g. "
                        f"{labels[0]}: {'; '.join(reasons[0])}); nothing left to analyse")
    named = [f"{clip(lab, 40)} ({', '.join(r)})"
             for lab, r, g in zip(labels, reasons, gone, strict=True) if g]
    warnings.warn(f"{_studies(len(named))} with missing data dropped: {'; '.join(named)}",
                  MetakitWarning, stacklevel=3)
    keep = ~gone
    return (data.loc[keep].reset_index(drop=True),
            tuple(lab for lab, k in zip(labels, keep, strict=True) if k))


def _studies(n: int) -> str:
    return f"{n} study" if n == 1 else f"{n} studies"


def _methods_text(
    measure: str,
    notes: dict[str, Any],
    excluded: tuple[str, ...],
    drop: np.ndarray,
    not_estimable: np.ndarray,
    labels: tuple[str, ...],
) -> str:
    from metakit.version import __version__

    name = MEASURE_NAMES[measure]
    parts = []
    if measure in BINARY_MEASURES:
        parts.append(f"Effect sizes were computed as {name}s ({measure}) from arm-level event counts.")
        if notes["n_corrected"] > 0:
            where = {"only0": "studies with a zero cell", "all": "all studies",
                     "if0all": "all studies (as at least one had a zero cell)"}[notes["add_to"]]
            parts.append(
                f"A continuity correction of {notes['cc']:g} was added to each cell of {where} "
                f"({notes['n_corrected']} of {len(labels)} studies)."
            )
        else:
            parts.append("No continuity correction was applied.")
        n00 = int(drop.sum())
        if n00:
            parts.append(f"{_studies(n00)} with no events (or only events) in both arms "
                         f"{'was' if n00 == 1 else 'were'} excluded.")
    elif measure in CONTINUOUS_MEASURES:
        if measure == "SMD":
            kind = "Hedges' g" if notes["smd"] == "hedges" else "Cohen's d"
            corr = {"metafor": " with the exact small-sample correction",
                    "unbiased": " with the exact small-sample correction",
                    "revman": " with RevMan 5's approximate small-sample correction"}[notes["vtype"]]
            var = {"metafor": "the large-sample variance (Hedges & Olkin 1985)",
                   "unbiased": "the unbiased variance estimate (Hedges 1983)",
                   "revman": "the variance formula of RevMan 5 (Deeks & Higgins 2010)"}[notes["vtype"]]
            if notes["smd"] == "cohen":
                corr = ""
            parts.append(f"Effect sizes were computed as standardised mean differences ({kind}{corr}), "
                         f"with {var}, from arm means, SDs and sizes.")
        else:
            parts.append(f"Effect sizes were computed as {name}s ({measure}) from arm means, SDs and sizes.")
    else:
        src = ", ".join(f"{v} from {k}" for k, v in notes["sources"].items() if v)
        scale = {"ratio": " (ratios, analysed on the log scale)", "log": " (log ratios)",
                 "identity": ""}[notes["scale"]]
        parts.append(f"Reported effect estimates{scale} were used with their sampling variances "
                     f"({src}).")
    n_bad = int(not_estimable.sum())
    if n_bad:
        parts.append(f"{_studies(n_bad)} whose effect could not be estimated "
                     f"{'was' if n_bad == 1 else 'were'} excluded.")
    parts.append(f"(metakit {__version__})")
    return " ".join(parts)
