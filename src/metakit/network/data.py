"""Network data: arm-level or contrast-level input turned into checked contrasts.

A network meta-analysis works on contrasts: for each study, the effect of every pair of its
arms (``TE`` = treat1 minus treat2 on the analysis scale) and its standard error. Arm-level
data (one row per study and arm) become contrasts through the core's effect sizes
(:func:`metakit.stats.effects.binary_effects` / ``continuous_effects``), every pair of arms
of a study, as R's ``meta::pairwise`` does.

Zero cells follow ``meta::pairwise`` and ``metabin`` (Schwarzer, Carpenter & Rücker 2015,
ch. 3): for OR, RR and RD, 0.5 is added to every cell of *every arm* of a study in which any
arm has no events (or only events), and a warning names those studies; for RD the increment
enters the variance only (the difference itself uses the observed proportions, Cooper &
Hedges 1994); a study with no events in every arm (or only events) carries no information on
a ratio and is dropped with a warning for OR and RR (kept for RD). The SMD is Hedges' g with
the unbiased variance (``vtype="unbiased"``, ``metacont``'s default).

Every rule of :mod:`metakit.network.checks` is applied before a fit: a study with one arm,
duplicated arms, a treatment compared with itself, a multi-arm study without all its
comparisons, a treatment spelled two ways, and a disconnected network are named errors.

Contrasts are stored canonically: treatments sorted, and within each contrast ``t1 < t2``
(codes), the sign of ``TE`` flipped where needed; multi-arm studies' contrasts are grouped by
number of arms so that the graph-theoretical fit handles them as batched blocks.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from metakit.errors import DataError, MetakitWarning
from metakit.network.checks import check_connected, check_spelling, check_study_arms
from metakit.stats.effects import binary_effects, continuous_effects
from metakit.stats.measures import BINARY_MEASURES, CONTINUOUS_MEASURES


@dataclass(frozen=True)
class MultiArmGroup:
    """The multi-arm studies with ``p`` arms: study codes (g,), their arms' treatment codes
    (g, p), sorted, and the contrast rows (g, p(p-1)/2) in :func:`pairs` order."""

    p: int
    studies: np.ndarray
    nodes: np.ndarray
    rows: np.ndarray


@dataclass(frozen=True)
class DesignGroup:
    """The designs with ``p`` treatments and the index arrays that fit them as a batch.

    ``designs`` (Dp,) design codes, ``nodes`` (Dp, p) their treatments, ``rows`` the
    contrasts of their studies, ``g`` each such contrast's position in ``designs``, ``a``/``b``
    its treatments' positions within the design, ``position`` (D,) a design's position in
    ``designs`` (-1 if it has another size).
    """

    p: int
    designs: np.ndarray
    nodes: np.ndarray
    rows: np.ndarray
    g: np.ndarray
    a: np.ndarray
    b: np.ndarray
    position: np.ndarray

    @cached_property
    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat indices of each contrast in the (Dp, p, p) Laplacians and the (Dp, p) vectors."""
        p = self.p
        return (self.g * p + self.a) * p + self.b, self.g * p + self.a, self.g * p + self.b


@dataclass(frozen=True)
class DesignLayout:
    """Designs of a network: each study's design code, labels ("A:B:C"), sizes, studies per
    design, the design-by-treatment df of each, and :class:`DesignGroup` batches."""

    design: np.ndarray
    labels: tuple[str, ...]
    size: np.ndarray
    studies: np.ndarray
    df: np.ndarray
    groups: tuple[DesignGroup, ...]


def design_layout(study: np.ndarray, t1: np.ndarray, t2: np.ndarray, k: int, treatments: tuple[str, ...]
                  ) -> DesignLayout:
    """Group studies by design (the set of treatments they compare), vectorised."""
    n = len(treatments)
    arms = np.zeros((k, n), dtype=bool)
    arms[study, t1] = True
    arms[study, t2] = True
    masks, code = np.unique(arms, axis=0, return_inverse=True)
    code = code.ravel()
    D = len(masks)
    size = masks.sum(axis=1)
    loc = np.cumsum(masks, axis=1) - 1
    cd = code[study]
    la, lb = loc[cd, t1], loc[cd, t2]
    count = np.bincount(code, minlength=D)
    names = np.array(treatments, dtype=object)
    labels = tuple(":".join(names[row]) for row in masks)
    groups = []
    for p in np.unique(size).tolist():
        ds = np.flatnonzero(size == p)
        position = np.full(D, -1)
        position[ds] = np.arange(len(ds))
        rows = np.flatnonzero(size[cd] == p)
        nodes = np.nonzero(masks[ds])[1].reshape(len(ds), p)
        groups.append(DesignGroup(p, ds, nodes, rows, position[cd[rows]], la[rows], lb[rows], position))
    return DesignLayout(code, labels, size, count, (count - 1) * (size - 1), tuple(groups))


@dataclass(frozen=True)
class NetworkData:
    """Checked contrasts of a network.

    Attributes
    ----------
    treatments
        Treatment labels, sorted; codes index this tuple.
    studies
        Study labels in order of first appearance; ``study`` codes index this tuple.
    study, t1, t2, TE, seTE
        One entry per contrast: study code, treatment codes (``t1 < t2``), the effect of
        ``t1`` versus ``t2`` and its standard error.
    narms
        Arms of each study.
    measure
        Effect measure code ("OR", "MD", ...; "GEN" for contrasts of unknown kind).
    patients
        Patients randomised to each treatment (NaN where arm sizes were not given).
    groups
        Multi-arm studies, one :class:`MultiArmGroup` per number of arms.
    notes
        What was done to the data (continuity corrections, dropped studies).
    """

    treatments: tuple[str, ...]
    studies: tuple[str, ...]
    study: np.ndarray
    t1: np.ndarray
    t2: np.ndarray
    TE: np.ndarray
    seTE: np.ndarray
    narms: np.ndarray
    measure: str = "GEN"
    patients: np.ndarray = field(default_factory=lambda: np.zeros(0))
    groups: tuple[MultiArmGroup, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        """Number of treatments."""
        return len(self.treatments)

    @property
    def k(self) -> int:
        """Number of studies."""
        return len(self.studies)

    @property
    def m(self) -> int:
        """Number of contrasts (pairwise comparisons within studies)."""
        return len(self.TE)

    @cached_property
    def two_arm(self) -> np.ndarray:
        """True for contrasts of two-arm studies."""
        return self.narms[self.study] == 2

    @cached_property
    def edge_index(self) -> np.ndarray:
        """``t1 * n + t2`` of each contrast (flat index into n x n matrices)."""
        return self.t1 * self.n + self.t2

    @cached_property
    def pair_counts(self) -> np.ndarray:
        """Number of studies comparing each pair (n x n, upper triangle)."""
        return np.bincount(self.edge_index, minlength=self.n * self.n).reshape(self.n, self.n)

    @cached_property
    def layout(self) -> DesignLayout:
        """The network's designs (:class:`DesignLayout`)."""
        return design_layout(self.study, self.t1, self.t2, self.k, self.treatments)

    def designs(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """Each study's design code and the design labels ("A:B:C", treatments sorted)."""
        return self.layout.design, self.layout.labels

    def comparison_labels(self) -> list[str]:
        """"t1:t2" for each contrast."""
        return [f"{self.treatments[a]}:{self.treatments[b]}" for a, b in zip(self.t1, self.t2)]


@lru_cache(maxsize=32)
def pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Local arm indices (a, b), a < b, of the p(p-1)/2 pairs of a p-arm study."""
    ab = np.array(list(itertools.combinations(range(p), 2)), dtype=int).reshape(-1, 2)
    return ab[:, 0], ab[:, 1]


def build(studies, treatments, study, t1, t2, TE, seTE, measure: str = "GEN",
          patients: np.ndarray | None = None, notes=(), check: bool = True) -> NetworkData:
    """Canonical :class:`NetworkData` from coded contrasts (checks the study rules)."""
    study = np.asarray(study, dtype=int)
    t1, t2 = np.asarray(t1, dtype=int), np.asarray(t2, dtype=int)
    TE, seTE = np.asarray(TE, dtype=float), np.asarray(seTE, dtype=float)
    flip = t1 > t2
    t1, t2 = np.where(flip, t2, t1), np.where(flip, t1, t2)
    TE = np.where(flip, -TE, TE)
    order = np.lexsort((t2, t1, study))
    study, t1, t2, TE, seTE = study[order], t1[order], t2[order], TE[order], seTE[order]
    k = len(studies)
    if check:
        check_study_arms(studies, treatments, study, t1, t2)
    per_study = np.bincount(study, minlength=k)
    # p(p-1)/2 contrasts per study (checked complete) give p
    narms = np.rint((1 + np.sqrt(1 + 8 * per_study)) / 2).astype(int)
    groups = []
    starts = np.concatenate(([0], np.cumsum(per_study)[:-1]))
    for p in sorted(set(narms.tolist()) - {2}):
        ss = np.flatnonzero(narms == p)
        npair = p * (p - 1) // 2
        rows = starts[ss][:, None] + np.arange(npair)[None, :]
        a, _ = pairs(p)
        # with rows sorted by (t1, t2) the first p-1 rows are arm 0 against the others
        nodes = np.concatenate([t1[rows[:, :1]], t2[rows[:, :p - 1]]], axis=1)
        groups.append(MultiArmGroup(p, ss, nodes, rows))
    if check:
        check_connected(treatments, studies, study, t1, t2)
    pat = np.full(len(treatments), np.nan) if patients is None else np.asarray(patients, float)
    return NetworkData(tuple(treatments), tuple(studies), study, t1, t2, TE, seTE, narms,
                       measure, pat, tuple(groups), tuple(notes))


def _frame(data: Any):
    import pandas as pd

    if isinstance(data, (str, Path)):
        return pd.read_csv(data)
    if isinstance(data, pd.DataFrame):
        return data
    return pd.DataFrame(data)


def _labels(frame, column: str) -> list[str]:
    if column not in frame.columns:
        raise DataError(f"column {column!r} not found (columns: {', '.join(map(str, frame.columns))})")
    values = frame[column].tolist()
    out = []
    for row, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
            raise DataError(f"row {row + 1}: missing value", column=column)
        out.append(str(v).strip())
    return out


def _numbers(frame, column: str, studies: list[str]) -> np.ndarray:
    if column not in frame.columns:
        raise DataError(f"column {column!r} not found (columns: {', '.join(map(str, frame.columns))})")
    import pandas as pd

    x = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        r = int(bad[0])
        raise DataError(f"row {r + 1}: {frame[column].iloc[r]!r} is not a number", study=studies[r],
                        column=column)
    return x


def _codes(labels: list[str], column: str, studies: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    check_spelling(labels, studies, column)
    treatments = tuple(sorted(set(labels)))
    index = {t: i for i, t in enumerate(treatments)}
    return treatments, np.array([index[t] for t in labels], dtype=int)


def _study_codes(studies: list[str]) -> tuple[list[str], np.ndarray]:
    index: dict[str, int] = {}
    codes = np.array([index.setdefault(s, len(index)) for s in studies], dtype=int)
    return list(index), codes


def from_contrasts(data: Any, *, study: str = "studlab", treat1: str = "treat1", treat2: str = "treat2",
                   TE: str = "TE", seTE: str = "seTE", measure: str = "GEN") -> NetworkData:
    """Network data from contrast-level rows (one row per pair of arms of a study).

    Parameters
    ----------
    data
        DataFrame, mapping of columns, or path of a CSV file.
    study, treat1, treat2, TE, seTE
        Columns: study label, the two treatments, the effect of treat1 versus treat2 on the
        analysis scale (log for ratios) and its standard error. A multi-arm study needs a row
        for every pair of its arms.
    measure
        Effect measure of ``TE`` (only labels the results; "GEN" if unknown).

    Returns
    -------
    NetworkData

    Examples
    --------
    >>> net = from_contrasts({"studlab": ["s1", "s2"], "treat1": ["A", "B"], "treat2": ["B", "C"],
    ...                       "TE": [0.5, 0.2], "seTE": [0.1, 0.2]})
    >>> net.treatments, net.k
    (('A', 'B', 'C'), 2)
    """
    frame = _frame(data)
    studies = _labels(frame, study)
    a, b = _labels(frame, treat1), _labels(frame, treat2)
    check_spelling(a + b, studies + studies, f"{treat1}/{treat2}")
    treatments = tuple(sorted(set(a) | set(b)))
    index = {t: i for i, t in enumerate(treatments)}
    te = _numbers(frame, TE, studies)
    se = _numbers(frame, seTE, studies)
    bad = np.flatnonzero(se <= 0)
    if bad.size:
        raise DataError(f"row {bad[0] + 1}: standard error {se[bad[0]]} must be > 0", study=studies[bad[0]],
                        column=seTE)
    labels, codes = _study_codes(studies)
    return build(labels, treatments, codes, [index[t] for t in a], [index[t] for t in b], te, se, measure)


def from_arms(data: Any, measure: str, *, study: str = "study", treatment: str = "treatment",
              events: str = "events", n: str = "n", mean: str = "mean", sd: str = "sd",
              cc: float = 0.5, vtype: str = "unbiased") -> NetworkData:
    """Network data from arm-level rows in long format (one row per study and arm).

    Every pair of arms of a study becomes a contrast, with the core's effect sizes
    (Viechtbauer 2010; ``meta::pairwise``'s zero-cell rule, see the module docstring).

    Parameters
    ----------
    data
        DataFrame, mapping of columns, or path of a CSV file.
    measure
        Binary "OR", "RR", "RD", "AS" (columns ``events``, ``n``) or continuous "MD", "SMD",
        "ROM" (columns ``mean``, ``sd``, ``n``).
    study, treatment, events, n, mean, sd
        Column names.
    cc
        Continuity correction added to every arm of a study with a zero cell (OR, RR; the
        variance of RD).
    vtype
        Variance of the SMD (see :func:`metakit.stats.effects.continuous_effects`); the
        default is meta's.

    Returns
    -------
    NetworkData

    Examples
    --------
    log(5/45) - log(9/41) = -0.6809 and log(7/33) - log(4/36) = 0.6466:

    >>> net = from_arms({"study": ["s1", "s1", "s2", "s2"], "treatment": ["A", "B", "B", "C"],
    ...                  "events": [5, 9, 7, 4], "n": [50, 50, 40, 40]}, "OR")
    >>> net.comparison_labels(), [round(float(x), 4) for x in net.TE]
    (['A:B', 'B:C'], [-0.6809, 0.6466])
    """
    if measure not in BINARY_MEASURES + CONTINUOUS_MEASURES or measure == "PETO":
        raise ValueError(f"measure must be one of OR, RR, RD, AS, MD, SMD, ROM, not {measure!r}")
    frame = _frame(data)
    studies = _labels(frame, study)
    treatments, node = _codes(_labels(frame, treatment), treatment, studies)
    binary = measure in BINARY_MEASURES
    size = _numbers(frame, n, studies)
    if binary:
        ev = _numbers(frame, events, studies)
        bad = np.flatnonzero((ev < 0) | (ev > size) | (size <= 0))
        if bad.size:
            r = int(bad[0])
            raise DataError(f"row {r + 1}: events {ev[r]:g} of {size[r]:g} must lie in [0, n] with n > 0",
                            study=studies[r], column=events)
    else:
        mu, sdv = _numbers(frame, mean, studies), _numbers(frame, sd, studies)
        bad = np.flatnonzero((sdv <= 0) | (size <= 1))
        if bad.size:
            r = int(bad[0])
            raise DataError(f"row {r + 1}: SD must be > 0 and n > 1", study=studies[r], column=sd)
    labels, scode = _study_codes(studies)
    k = len(labels)
    check_arm_rows(labels, treatments, scode, node)
    patients = np.bincount(node, weights=size, minlength=len(treatments))
    order = np.lexsort((node, scode))
    scode, node = scode[order], node[order]
    narms = np.bincount(scode, minlength=k)
    starts = np.concatenate(([0], np.cumsum(narms)[:-1]))
    notes: list[str] = []
    keep = np.ones(k, dtype=bool)
    if binary:
        ev_o, n_o = ev[order], size[order]
        zero_arm = (ev_o == 0) | (ev_o == n_o)
        zero_study = np.bincount(scode, weights=zero_arm, minlength=k) > 0
        all_zero = (np.bincount(scode, weights=ev_o == 0, minlength=k) == narms) | \
                   (np.bincount(scode, weights=ev_o == n_o, minlength=k) == narms)
        ratio = measure in ("OR", "RR")
        if ratio and all_zero.any():
            dropped = [labels[s] for s in np.flatnonzero(all_zero)]
            msg = (f"{len(dropped)} stud{'y' if len(dropped) == 1 else 'ies'} with no events (or only events) "
                   f"in every arm dropped: {', '.join(dropped)}")
            warnings.warn(msg, MetakitWarning, stacklevel=2)
            notes.append(msg)
            keep &= ~all_zero
        corrected = zero_study & keep if measure in ("OR", "RR", "RD") else np.zeros(k, dtype=bool)
        if corrected.any():
            names = [labels[s] for s in np.flatnonzero(corrected)]
            msg = (f"{cc} added to every cell of each arm of {len(names)} stud"
                   f"{'y' if len(names) == 1 else 'ies'} with a zero cell: {', '.join(names)}")
            warnings.warn(msg, MetakitWarning, stacklevel=2)
            notes.append(msg)
        add = np.where(corrected[scode], cc, 0.0)
        arm_a, arm_b = ev_o + add, n_o + 2 * add
    else:
        arm_a, arm_b, arm_n = mu[order], sdv[order], size[order]
    rows_s, rows_1, rows_2, te_l, se_l = [], [], [], [], []
    for p in sorted(set(narms[keep].tolist())):
        ss = np.flatnonzero((narms == p) & keep)
        a, b = pairs(p)
        i1, i2 = starts[ss][:, None] + a[None, :], starts[ss][:, None] + b[None, :]
        if binary:
            yi, vi = binary_effects(measure, arm_a[i1], arm_b[i1], arm_a[i2], arm_b[i2], cc=0.0, add_to="none")
            if measure == "RD":  # the increment enters the variance only
                yi, _ = binary_effects("RD", ev_o[i1], n_o[i1], ev_o[i2], n_o[i2], cc=0.0, add_to="none")
        else:
            yi, vi = continuous_effects(measure, arm_a[i1], arm_b[i1], arm_n[i1], arm_a[i2], arm_b[i2],
                                        arm_n[i2], vtype=vtype)
        rows_s.append(np.repeat(ss, len(a)))
        rows_1.append(node[i1].ravel())
        rows_2.append(node[i2].ravel())
        te_l.append(yi.ravel())
        se_l.append(np.sqrt(vi.ravel()))
    te_all, se_all = np.concatenate(te_l), np.concatenate(se_l)
    sc = np.concatenate(rows_s)
    bad = np.flatnonzero(~(np.isfinite(te_all) & np.isfinite(se_all) & (se_all > 0)))
    if bad.size:
        s = labels[sc[bad[0]]]
        raise DataError(f"the {measure} of {treatments[np.concatenate(rows_1)[bad[0]]]} versus "
                        f"{treatments[np.concatenate(rows_2)[bad[0]]]} is undefined (zero cells in two arms "
                        "of a multi-arm study, or a non-positive mean for ROM)", study=s)
    new_code = np.cumsum(keep) - 1
    kept = [labels[s] for s in np.flatnonzero(keep)]
    return build(kept, treatments, new_code[sc], np.concatenate(rows_1), np.concatenate(rows_2),
                 te_all, se_all, measure, patients, notes)


def check_arm_rows(studies: list[str], treatments: tuple[str, ...], study: np.ndarray, node: np.ndarray) -> None:
    """One-arm studies and duplicated arms in arm-level data are named errors."""
    k, n = len(studies), len(treatments)
    narms = np.bincount(study, minlength=k)
    one = np.flatnonzero(narms < 2)
    if one.size:
        raise DataError(f"a study needs at least two arms; {len(one)} stud{'y has' if len(one) == 1 else 'ies have'}"
                        f" one: {', '.join(studies[s] for s in one)}", study=studies[one[0]])
    pair_count = np.bincount(study * n + node, minlength=k * n)
    dup = np.flatnonzero(pair_count > 1)
    if dup.size:
        s, t = divmod(int(dup[0]), n)
        raise DataError(f"duplicated arm: treatment {treatments[t]!r} appears {pair_count[dup[0]]} times "
                        "(merge the arms or give them different treatment labels)", study=studies[s])
