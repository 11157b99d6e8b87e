"""When to stop screening: stopping rules for prioritised screening.

A reviewer who screens the most likely inclusions first wants to stop before the end.
Each rule here says what its verdict rests on.

Heuristic rules (no guarantee; they watch the gain curve)
---------------------------------------------------------
``consecutive``
    Stop after ``n`` consecutive exclusions (a common rule of thumb in tools such as
    ASReview; e.g. Ros R, Bjarnason E, Runeson P. A machine learning approach for
    semi-automated search and selection in literature studies. *EASE* 2017).
``knee``
    Cormack GV, Grossman MR. Engineering quality and reliability in technology-assisted
    review. *SIGIR* 2016:75-84. The knee of the gain curve (records screened vs
    inclusions found) is the point farthest from the straight line joining the origin
    to the current point (Satopää V et al. Finding a "kneedle" in a haystack. *ICDCS
    Workshops* 2011). With ``s`` records screened, ``r`` inclusions found, the knee at
    ``(s_k, r_k)``, the slope ratio is
    ``rho = (r_k / s_k) / ((r - r_k + 1) / (s - s_k))`` and the rule stops when
    ``rho >= 156 - min(r, 150)`` and ``s >= 150``.

Statistical rule (a stated recall target and confidence)
--------------------------------------------------------
``random-sampling``: Callaghan MW, Müller-Hansen F. Statistical stopping criteria for
automated screening in systematic reviews. *Syst Rev* 2020;9:273. After prioritised
screening has found ``r_AL`` inclusions, the reviewer screens records drawn at random
from the ``N`` remaining ones. After ``n`` draws with ``k`` inclusions, the null
hypothesis "recall < target tau" is tested: were it true, at least
``K = floor((r_AL + k) / tau - r_AL) + 1`` inclusions were among the ``N`` records when
sampling began, and the chance of seeing ``k`` or fewer of them in ``n`` draws is the
hypergeometric ``p = P(X <= k; N, K, n)``. Screening stops when ``p < 1 - confidence``:
recall is then at least tau with that confidence. The point estimate of recall is
``(r_AL + k) / (r_AL + k + (k / n) (N - n))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metakit.errors import DataError

__all__ = [
    "StopVerdict", "consecutive_rule", "knee_rule", "random_sampling_test",
    "StoppingSimulation", "simulate_stopping", "ScreeningStatus", "screening_status",
]


@dataclass(frozen=True)
class StopVerdict:
    """A stopping rule's verdict.

    Attributes
    ----------
    rule
        "consecutive", "knee" or "random-sampling".
    stop
        Whether the rule says screening may stop.
    estimate
        The quantity the verdict rests on (run of exclusions; slope ratio; p-value).
    threshold
        The value ``estimate`` is compared with.
    recall_estimate
        Estimated recall where the rule gives one (random sampling), else None.
    detail
        One line in words.
    """

    rule: str
    stop: bool
    estimate: float
    threshold: float
    recall_estimate: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """All fields."""
        return {"rule": self.rule, "stop": self.stop, "estimate": self.estimate,
                "threshold": self.threshold, "recall_estimate": self.recall_estimate,
                "detail": self.detail}

    def to_frame(self) -> pd.DataFrame:
        """One row."""
        return pd.DataFrame([self.to_dict()])

    def summary(self) -> str:
        """The rule, its verdict and why."""
        return f"{self.rule}: {'STOP' if self.stop else 'continue'} ({self.detail})"


def _labels(order_labels: Sequence[int] | np.ndarray) -> np.ndarray:
    y = np.asarray(order_labels, dtype=int)
    if y.ndim != 1 or np.any((y != 0) & (y != 1)):
        raise DataError("labels must be 0 (exclude) or 1 (include), in screening order",
                        column="labels")
    return y


def consecutive_rule(order_labels: Sequence[int] | np.ndarray, n: int = 100) -> StopVerdict:
    """Stop after ``n`` consecutive exclusions (a heuristic).

    Examples
    --------
    >>> consecutive_rule([1, 0, 1] + [0] * 5, n=5).stop
    True
    """
    if n < 1:
        raise DataError("n must be >= 1", column="n")
    y = _labels(order_labels)
    ones = np.flatnonzero(y == 1)
    run = len(y) - (int(ones[-1]) + 1 if len(ones) else 0)
    return StopVerdict("consecutive", run >= n, float(run), float(n), None,
                       f"{run} consecutive exclusions, rule stops at {n}")


def knee_rule(order_labels: Sequence[int] | np.ndarray, *, min_screened: int = 150
              ) -> StopVerdict:
    """Cormack & Grossman's (2016) knee method (a heuristic; see the module notes).

    Examples
    --------
    >>> knee_rule([1] * 20 + [0] * 300).stop
    True
    """
    y = _labels(order_labels)
    s, r = len(y), int(y.sum())
    if r == 0 or s < 2:
        return StopVerdict("knee", False, 0.0, 156.0, None,
                           f"{r} inclusions in {s} records: no knee yet")
    gain = np.cumsum(y)
    x = np.arange(1, s + 1)
    # distance (up to a constant) of each point above the chord from (0, 0) to (s, r)
    dist = gain * s - x * r
    k = int(np.argmax(dist))
    s_k, r_k = int(x[k]), int(gain[k])
    if s_k >= s:
        rho = 0.0
    else:
        rho = (r_k / s_k) / ((r - r_k + 1) / (s - s_k))
    threshold = 156.0 - min(r, 150)
    stop = bool(rho >= threshold and s >= min_screened)
    return StopVerdict("knee", stop, float(rho), threshold, None,
                       f"knee at {s_k} records ({r_k} inclusions); slope ratio {rho:.1f}, "
                       f"rule stops at {threshold:.0f} once {min_screened} are screened")


def random_sampling_test(n_remaining: int, found_before: int,
                         sample_labels: Sequence[int] | np.ndarray, *,
                         recall: float = 0.95, confidence: float = 0.95) -> StopVerdict:
    """Callaghan & Müller-Hansen's (2020) test of "recall < target" (see module notes).

    Parameters
    ----------
    n_remaining
        Records not yet screened when random sampling began (N).
    found_before
        Inclusions found before sampling began (r_AL).
    sample_labels
        Labels of the records drawn at random so far, in order.
    recall, confidence
        Recall target tau and confidence 1 - alpha.

    Examples
    --------
    >>> v = random_sampling_test(1000, 40, [0] * 600, recall=0.9, confidence=0.95)
    >>> v.stop, round(v.estimate, 4)
    (True, 0.0101)
    """
    from scipy.stats import hypergeom

    if not (0 < recall < 1) or not (0 < confidence < 1):
        raise DataError("recall and confidence must lie in (0, 1)", column="recall")
    y = _labels(sample_labels)
    n, k = len(y), int(y.sum())
    if n > n_remaining:
        raise DataError(f"{n} records sampled from {n_remaining}", column="sample")
    seen = found_before + k
    k_tar = math.floor(seen / recall - found_before) + 1
    if n == 0:
        p = 1.0
    elif k_tar > n_remaining:
        # so many inclusions cannot be left: recall >= target for certain
        p = 0.0
    else:
        p = float(hypergeom.cdf(k, n_remaining, k_tar, n))
    est_left = (k / n) * (n_remaining - n) if n else float("nan")
    rec = seen / (seen + est_left) if n and seen + est_left > 0 else None
    alpha = 1 - confidence
    shown = "n/a" if rec is None else f"{rec:.3f}"
    return StopVerdict("random-sampling", bool(p < alpha), p, alpha, rec,
                       f"{n} of {n_remaining} remaining records sampled, {k} inclusions; "
                       f"p = {p:.4f} for recall < {recall:g} (stop below {alpha:g}); "
                       f"estimated recall {shown}")


@dataclass(frozen=True)
class StoppingSimulation:
    """A stopping rule replayed on a labelled screening order.

    Attributes
    ----------
    rule
        The rule's name with its settings.
    screened
        Records screened when the rule stopped (N when it never did).
    recall
        Inclusions found by then, as a share of all.
    work_saved
        1 - screened / N.
    """

    rule: str
    screened: int
    n_records: int
    recall: float
    work_saved: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """All fields."""
        return {"rule": self.rule, "screened": self.screened, "n_records": self.n_records,
                "recall": self.recall, "work_saved": self.work_saved, **self.extra}

    def to_frame(self) -> pd.DataFrame:
        """One row."""
        return pd.DataFrame([self.to_dict()])

    def summary(self) -> str:
        """One line."""
        return (f"{self.rule}: stopped after {self.screened} of {self.n_records} records, "
                f"recall {self.recall:.3f}, work saved {self.work_saved:.3f}")


def _first_stop(y: np.ndarray, rule: str, n: int, step: int) -> int:
    """Records screened when a heuristic rule first fires (len(y) if it never does)."""
    if rule == "consecutive":
        ones = np.flatnonzero(y == 1)
        # the run of exclusions that reaches n first
        starts = np.concatenate([[0], ones + 1])
        ends = np.concatenate([ones, [len(y)]])
        long = np.flatnonzero(ends - starts >= n)
        return int(starts[long[0]] + n) if len(long) else len(y)
    for s in range(min(150, len(y)), len(y) + 1, step):
        if knee_rule(y[:s]).stop:
            return s
    return len(y)


def simulate_stopping(order_labels: Sequence[int] | np.ndarray, rule: str, *,
                      n: int = 100, recall: float = 0.95, confidence: float = 0.95,
                      start: str = "knee", seed: int = 0, step: int = 10
                      ) -> StoppingSimulation:
    """Replay a stopping rule on the labels of a screening order (e.g. a simulation).

    Parameters
    ----------
    order_labels
        True labels in the order the records would be screened.
    rule
        "consecutive", "knee" or "random-sampling".
    n
        Exclusions in a row for "consecutive".
    recall, confidence
        For "random-sampling".
    start
        For "random-sampling": when random sampling begins, "knee" or "consecutive"
        (the first time that heuristic fires); the remaining records are then screened
        in an order drawn with ``seed`` until the test stops.
    step
        The knee rule is checked every ``step`` records (as a reviewer would check now
        and then).

    Returns
    -------
    StoppingSimulation
    """
    y = _labels(order_labels)
    total = int(y.sum())
    if total == 0:
        raise DataError("the screening order has no inclusion", column="labels")
    if rule in ("consecutive", "knee"):
        s = _first_stop(y, rule, n, step)
        name = f"{n} consecutive exclusions" if rule == "consecutive" else "knee method"
        return StoppingSimulation(name, s, len(y), float(y[:s].sum() / total),
                                  1 - s / len(y))
    if rule != "random-sampling":
        raise DataError(f"unknown rule {rule!r}", column="rule")
    s0 = _first_stop(y, start, n, step)
    rest = np.random.default_rng(seed).permutation(y[s0:])
    found = int(y[:s0].sum())
    stop_at = len(rest)
    for m in range(1, len(rest) + 1):
        if random_sampling_test(len(rest), found, rest[:m], recall=recall,
                                confidence=confidence).stop:
            stop_at = m
            break
    s = s0 + stop_at
    got = found + int(rest[:stop_at].sum())
    return StoppingSimulation(f"random sampling from the {start} (recall {recall:g}, "
                              f"confidence {confidence:g})", s, len(y), got / total,
                              1 - s / len(y), {"sampling_started": s0})


@dataclass(frozen=True)
class ScreeningStatus:
    """Progress of a title/abstract screening and the stopping rules' verdicts.

    Attributes
    ----------
    pool
        Records to screen.
    screened
        Records with at least one decision.
    included
        Records forwarded (include or maybe) so far.
    verdicts
        One :class:`StopVerdict` per rule.
    """

    stage: str
    pool: int
    screened: int
    included: int
    verdicts: tuple[StopVerdict, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Counts and the verdicts."""
        return {"stage": self.stage, "pool": self.pool, "screened": self.screened,
                "included": self.included, "verdicts": [v.to_dict() for v in self.verdicts],
                "notes": list(self.notes)}

    def to_frame(self) -> pd.DataFrame:
        """One row per rule."""
        return pd.DataFrame([v.to_dict() for v in self.verdicts])

    def summary(self) -> str:
        """Progress, then one line per rule."""
        share = self.screened / self.pool if self.pool else 0.0
        lines = [f"{self.stage}: {self.screened} of {self.pool} records screened "
                 f"({100 * share:.1f}%), {self.included} included or maybe"]
        lines += ["  " + v.summary() for v in self.verdicts]
        lines += ["  note: " + n for n in self.notes]
        return "\n".join(lines)


def screening_status(project: Any, stage: str = "title-abstract", *, n: int = 100,
                     recall: float = 0.95, confidence: float = 0.95) -> ScreeningStatus:
    """Progress and stopping-rule verdicts for a review store.

    The screening order is the order of each record's first decision. Records decided
    in random-sampling mode (``origin = 'random-sample'``, see
    :func:`metakit.review.screening.record_decision`) form the sample of the
    statistical rule; ``N`` is the number of records not yet decided when the first of
    them was drawn.
    """
    from metakit.review import screening as scr

    stage = scr._stage(stage)
    pool = scr._screening_pool(project) if stage == "title-abstract" else \
        scr._full_text_pool(project)
    d = scr.decisions(project, stage)
    d = d[d.record_id.isin(pool) & (d.adjudication == 0)]
    first = d.sort_values("id").drop_duplicates("record_id")
    finals = scr.final_decisions(project, stage)
    positive = {"forward"} if stage == "title-abstract" else {"include"}
    fin = finals.final.reindex(first.record_id)
    # an unresolved conflict counts as an inclusion: it may still be one
    y = (fin.isin(positive) | fin.isna()).to_numpy().astype(int)
    sampled = (first.origin == "random-sample").to_numpy()
    verdicts = [consecutive_rule(y[~sampled], n), knee_rule(y[~sampled])]
    notes = []
    if sampled.any():
        k0 = int(np.argmax(sampled))
        if not sampled[k0:].all():
            notes.append("records were screened by priority after random sampling began; "
                         "the sample is no longer a random sample of what remained")
        verdicts.append(random_sampling_test(len(pool) - k0, int(y[:k0].sum()),
                                             y[sampled], recall=recall,
                                             confidence=confidence))
    else:
        notes.append("for the statistical rule, screen a random sample of the rest: "
                     "metakit screen --random")
    return ScreeningStatus(stage, len(pool), len(first), int(y.sum()), tuple(verdicts),
                           tuple(notes))
