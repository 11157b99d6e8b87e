"""RevMan 5 reviews: read a ``.rm5`` file or RevMan's CSV data export, and re-run its analyses.

:func:`metakit.io.read_revman` (in :mod:`metakit.io.revman_read`) returns a
:class:`RevManReview`: the included studies, every outcome (dichotomous, continuous,
generic inverse variance, O-E and variance) with the settings RevMan used, the study data
as tidy frames (one row per study and outcome, arm columns), RevMan's own stored results
per outcome and subgroup, and the RoB 1 judgements as a :class:`~metakit.rob.RobTable`.
:meth:`RevManOutcome.meta` re-runs an outcome with ``convention="revman"`` and
:meth:`RevManOutcome.compare` sets metakit's numbers beside RevMan's.

Which elements and attributes are read follows R's ``meta::read.rm5()`` (Schwarzer), the
reference reader: whatever it reads, this reads. Rules where RevMan files are ambiguous:

* Study rows with ``ESTIMABLE="NO"`` are kept in :attr:`RevManOutcome.data` and left out
  of the re-analysis, as RevMan leaves them out ("Not estimable").
* Generic inverse variance outcomes: ``LOG_DATA="YES"`` ("entered data are on log scale")
  makes the outcome a ratio measure, shown exponentiated; the stored ``EFFECT_SIZE`` of each
  study is then the ratio and is analysed as its logarithm, as ``meta::read.rm5()`` does.
  ``SE`` is always on the analysis scale. Without the attribute, a measure whose name says
  "ratio" (or OR, RR, HR) is taken as a ratio.
* O-E and variance outcomes are pooled as Peto's one-step estimates: ``O_E / VAR`` with
  variance ``1 / VAR`` (Yusuf et al. 1985), shown as ratios.
* ``SWAP_EVENTS="YES"`` (RevMan's "swap event and non-event") analyses non-events.

References
----------
Deeks JJ, Higgins JPT. Statistical algorithms in Review Manager 5. Cochrane Collaboration, 2010.
Schwarzer G. meta: General Package for Meta-Analysis, ``read.rm5()`` and ``metacr()``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from metakit.io.revman_xml import RevManError

OUTCOME_TYPES = {"DICH": "dichotomous", "CONT": "continuous", "IV": "generic inverse variance",
                 "IPD": "O-E and variance"}
# A generic-outcome measure whose name says it is a ratio (when the file does not say).
RATIO_NAME = re.compile(r"ratio|\bOR\b|\bRR\b|\bHR\b", re.IGNORECASE)

__all__ = ["RevManError", "RevManOutcome", "RevManReview", "StoredResult", "StoredTest"]


@dataclass(frozen=True)
class StoredResult:
    """RevMan's stored pooled result of an outcome or subgroup (NaN where left blank).

    ``estimate``, ``ci_lb`` and ``ci_ub`` are on the reporting scale (ratios for ratio
    measures), as RevMan stores them; ``z`` is RevMan's (unsigned) Z; ``Q``, ``pval_Q``,
    ``I2`` and ``df`` are the heterogeneity chi², its p-value, I² (%) and degrees of freedom;
    ``k`` the number of distinct studies; ``weight`` the total weight (%); ``events_*`` and
    ``total_*`` the summed events and participants per group.
    """

    estimate: float
    ci_lb: float
    ci_ub: float
    z: float
    pval: float
    Q: float
    pval_Q: float
    I2: float
    tau2: float
    df: float
    k: float
    weight: float
    events_1: float = float("nan")
    total_1: float = float("nan")
    events_2: float = float("nan")
    total_2: float = float("nan")

    @property
    def computed(self) -> bool:
        """Whether RevMan stored a pooled estimate at all."""
        return not math.isnan(self.estimate)

    def to_dict(self) -> dict[str, float | None]:
        """Plain values; ``None`` for blanks."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class StoredTest:
    """RevMan's stored test for subgroup differences (chi², p-value, I² in %)."""

    Q: float
    pval: float
    I2: float

    def to_dict(self) -> dict[str, float | None]:
        """Plain values; ``None`` for blanks."""
        return {k: (None if math.isnan(v) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True, eq=False)
class RevManOutcome:
    """One analysis (outcome) of a RevMan review, with its settings, data and stored results.

    Attributes
    ----------
    id
        RevMan's analysis id, e.g. ``"CMP-001.01"``; :attr:`number` gives ``"1.1"``.
    comparison_no, comparison, outcome_no, name
        Numbers and names of the comparison and the outcome.
    type
        ``"DICH"``, ``"CONT"``, ``"IV"`` or ``"IPD"`` (O-E and variance).
    method
        ``"MH"``, ``"IV"``, ``"PETO"`` (``"PETO"`` also for O-E outcomes).
    measure
        metakit's measure code: OR, RR, RD, MD, SMD, PETO (Peto odds ratio), or for generic
        outcomes the name RevMan shows (e.g. "Hazard Ratio").
    ratio
        Whether estimates are ratios analysed on the log scale.
    random
        Random-effects model (RevMan's ``RANDOM="YES"``).
    totals, subgroup_test
        RevMan's ``TOTALS`` (YES, NO or SUB: subtotals only) and whether it tests subgroup
        differences.
    ci_study, ci_total
        Confidence levels (%) of the study and total CIs.
    swap_events
        Events and non-events swapped.
    labels
        ``group_1``, ``group_2`` (arm names) and ``graph_1``, ``graph_2`` (favours labels).
    data
        One row per study (see :func:`read_revman` for the columns).
    stored
        RevMan's overall result; ``subgroups`` its result per subgroup; ``test`` its test
        for subgroup differences (``None`` without subgroups).
    line
        Line of the outcome element in the file (``None`` for CSV).
    """

    id: str
    comparison_no: int
    comparison: str
    outcome_no: int
    name: str
    type: str
    method: str
    measure: str
    ratio: bool
    random: bool
    totals: str
    subgroup_test: bool
    ci_study: float
    ci_total: float
    swap_events: bool
    labels: Mapping[str, str]
    data: pd.DataFrame = field(repr=False)
    stored: StoredResult = field(repr=False)
    subgroups: Mapping[str, StoredResult] = field(default_factory=dict, repr=False)
    test: StoredTest | None = field(default=None, repr=False)
    line: int | None = None

    @property
    def number(self) -> str:
        """RevMan's analysis number, e.g. ``"1.1"``."""
        return f"{self.comparison_no}.{self.outcome_no}"

    @property
    def has_subgroups(self) -> bool:
        """Whether the outcome is split into subgroups."""
        return bool(self.subgroups)

    @property
    def model(self) -> str:
        """``"random"`` or ``"common"``."""
        return "random" if self.random else "common"

    @property
    def estimable(self) -> pd.DataFrame:
        """The study rows RevMan pools (those not marked ``ESTIMABLE="NO"``)."""
        return self.data[self.data["estimable"]].reset_index(drop=True)

    def effect_sizes(self):
        """The outcome's studies as :class:`~metakit.EffectSizes` with RevMan's settings."""
        from metakit.io.revman_rerun import effect_sizes
        return effect_sizes(self)

    def meta(self):
        """Re-run the analysis as RevMan did (``convention="revman"``).

        Returns a :class:`~metakit.MetaResult`, or a :class:`~metakit.SubgroupResult` when
        the outcome has subgroups.
        """
        from metakit.io.revman_rerun import rerun
        return rerun(self)

    def compare(self, result=None) -> pd.DataFrame:
        """metakit's result beside RevMan's stored one, statistic by statistic.

        Columns: ``kind`` ("pooled", "test" or "study"), ``level`` ("overall", a subgroup
        name, "subgroup test" or a study),
        ``statistic``, ``metakit``, ``revman``, ``difference`` (metakit - RevMan).
        """
        from metakit.io.revman_rerun import compare
        return compare(self, self.meta() if result is None else result)

    def to_frame(self) -> pd.DataFrame:
        """The study rows (a copy of :attr:`data`)."""
        return self.data.copy()

    def to_dict(self) -> dict[str, Any]:
        """Settings, stored results and study rows as plain values."""
        rows = self.data.astype(object).where(self.data.notna(), None).to_dict(orient="records")
        return {"id": self.id, "number": self.number, "comparison": self.comparison,
                "name": self.name, "type": self.type, "method": self.method,
                "measure": self.measure, "ratio": self.ratio, "model": self.model,
                "totals": self.totals, "subgroup_test": self.subgroup_test,
                "ci_study": self.ci_study, "ci_total": self.ci_total,
                "swap_events": self.swap_events, "labels": dict(self.labels),
                "stored": self.stored.to_dict(),
                "subgroups": {k: v.to_dict() for k, v in self.subgroups.items()},
                "test": None if self.test is None else self.test.to_dict(), "data": rows}

    def summary(self) -> str:
        """One line: number, name, type, method, measure, model, number of studies."""
        return (f"Analysis {self.number} {self.name} ({OUTCOME_TYPES[self.type]}; {self.method}, "
                f"{self.measure}, {'random' if self.random else 'fixed'} effect; "
                f"{int(self.data['estimable'].sum())} studies)")

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, eq=False)
class RevManReview:
    """A RevMan 5 review read by :func:`read_revman`.

    Attributes
    ----------
    title
        The review's title.
    studies
        Included studies: ``study_id``, ``study`` (RevMan's name), ``year``.
    outcomes
        Every analysis, in file order.
    rob
        RoB 1 judgements (``QUALITY_ITEM_DATA``) as a :class:`~metakit.rob.RobTable`, or
        ``None`` when the review has none (always ``None`` for CSV exports).
    source
        The file read.
    version
        RevMan version that wrote the file (``REVMAN_SUB_VERSION``), if stated.
    """

    title: str
    studies: pd.DataFrame = field(repr=False)
    outcomes: tuple[RevManOutcome, ...]
    rob: Any = None
    source: str = ""
    version: str = ""

    def outcome(self, key: str) -> RevManOutcome:
        """The outcome with RevMan id ``key`` (``"CMP-001.01"``) or number (``"1.1"``)."""
        for o in self.outcomes:
            if key in (o.id, o.number):
                return o
        raise KeyError(f"no outcome {key!r}; outcomes: {', '.join(o.number for o in self.outcomes)}")

    @property
    def data(self) -> pd.DataFrame:
        """Study rows of every outcome, one row per study and outcome."""
        frames = [o.data for o in self.outcomes if len(o.data)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @property
    def analyses(self) -> pd.DataFrame:
        """One row per outcome: its settings and RevMan's stored overall result."""
        rows = []
        for o in self.outcomes:
            row = {"number": o.number, "id": o.id, "comparison": o.comparison, "outcome": o.name,
                   "type": o.type, "method": o.method, "measure": o.measure, "ratio": o.ratio,
                   "model": o.model, "totals": o.totals, "subgroups": len(o.subgroups),
                   "subgroup_test": o.subgroup_test, "ci_study": o.ci_study, "ci_total": o.ci_total,
                   "swap_events": o.swap_events, "studies": int(o.data["estimable"].sum())}
            row.update({f"revman_{k}": v for k, v in o.stored.__dict__.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """Same as :attr:`data`."""
        return self.data

    def compare(self) -> pd.DataFrame:
        """:meth:`RevManOutcome.compare` of every outcome with studies, stacked."""
        parts = []
        for o in self.outcomes:
            if o.data["estimable"].any():
                c = o.compare()
                c.insert(0, "outcome", o.number)
                parts.append(c)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain values."""
        return {"title": self.title, "source": self.source, "version": self.version,
                "studies": self.studies.astype(object).where(self.studies.notna(), None)
                .to_dict(orient="records"),
                "outcomes": [o.to_dict() for o in self.outcomes],
                "rob": None if self.rob is None else self.rob.to_dict()}

    def summary(self) -> str:
        """Title, number of studies, and one line per outcome."""
        lines = [f"{self.title} ({len(self.studies)} included studies, {len(self.outcomes)} analyses)"]
        lines += ["  " + o.summary() for o in self.outcomes]
        if self.rob is not None:
            lines.append(f"  Risk of bias (RoB 1): {len(self.rob.studies)} studies, "
                         f"{len(self.rob.tool.domains)} domains")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
