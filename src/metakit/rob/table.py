"""A collection of risk-of-bias assessments made with one tool: tables, proportions, sentences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metakit.errors import DataError
from metakit.rob.assessment import OVERALL, Assessment
from metakit.rob.tools import (
    CRITICAL,
    HIGH,
    LOW,
    MODERATE,
    NO_INFO,
    SERIOUS,
    SOME_CONCERNS,
    UNCLEAR,
    Tool,
    get_tool,
)

Weights = Mapping[str, float] | pd.Series

# How each judgement reads in the report sentence: (plural verb phrase, singular verb phrase).
_PHRASES = {
    LOW: ("were at low risk of bias", "was at low risk of bias"),
    SOME_CONCERNS: ("raised some concerns", "raised some concerns"),
    HIGH: ("were at high risk", "was at high risk"),
    MODERATE: ("were at moderate risk", "was at moderate risk"),
    SERIOUS: ("were at serious risk", "was at serious risk"),
    CRITICAL: ("were at critical risk", "was at critical risk"),
    NO_INFO: ("lacked the information to judge", "lacked the information to judge"),
    UNCLEAR: ("were at unclear risk", "was at unclear risk"),
}
_NONE_PHRASES = {
    LOW: "none was at low risk of bias", SOME_CONCERNS: "none raised some concerns",
    HIGH: "none was at high risk", MODERATE: "none was at moderate risk",
    SERIOUS: "none was at serious risk", CRITICAL: "none was at critical risk",
    NO_INFO: "none lacked the information to judge", UNCLEAR: "none was at unclear risk",
}
_SINGULAR = {"trials": "trial", "studies": "study"}


def _percent(n: int, total: int) -> str:
    # Half-up rounding, as a reader rounds (Python's round() would turn 12.5 into 12).
    return f"{int(100 * n / total + 0.5)}%"


@dataclass(frozen=True)
class RobTable:
    """Risk-of-bias assessments of a review, one per study and outcome, made with one tool.

    Attributes
    ----------
    tool
        The :class:`~metakit.rob.tools.Tool` used.
    assessments
        One :class:`~metakit.rob.assessment.Assessment` per study and outcome, in input order.
    settings
        The rules applied (``some_concerns_to_high``, ``key_domains``), for the methods section.

    Examples
    --------
    >>> from metakit.rob import assess_robins_i
    >>> a = assess_robins_i("A", {f"D{i}": "Low" for i in range(1, 8)})
    >>> b = assess_robins_i("B", {**{f"D{i}": "Low" for i in range(1, 8)}, "D1": "Serious"})
    >>> RobTable("robins-i", (a, b)).summary_sentence()
    '1 of 2 studies (50%) was at low risk of bias, 1 (50%) was at serious risk and none was at critical risk.'
    """

    tool: Tool | str
    assessments: tuple[Assessment, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tool = get_tool(self.tool)
        object.__setattr__(self, "tool", tool)
        object.__setattr__(self, "assessments", tuple(self.assessments))
        seen: set[tuple[str, str | None]] = set()
        for a in self.assessments:
            if a.tool != tool.key:
                raise DataError(f"assessment made with {a.tool!r}, table is {tool.key!r}", study=a.study)
            if (a.study, a.outcome) in seen:
                what = "" if a.outcome is None else f" for outcome {a.outcome!r}"
                raise DataError(f"assessed twice{what}", study=a.study)
            seen.add((a.study, a.outcome))

    def __len__(self) -> int:
        return len(self.assessments)

    @property
    def studies(self) -> list[str]:
        """Study labels, in input order, each once."""
        return list(dict.fromkeys(a.study for a in self.assessments))

    @property
    def outcomes(self) -> list[str | None]:
        """Outcomes assessed, in input order, each once."""
        return list(dict.fromkeys(a.outcome for a in self.assessments))

    @property
    def columns(self) -> list[str]:
        """Domain keys then "Overall": the columns of the traffic-light plot."""
        return [*self.tool.domain_keys, OVERALL]

    def for_outcome(self, outcome: str | None) -> RobTable:
        """The assessments of one outcome."""
        if outcome not in self.outcomes:
            raise DataError(f"no assessment for outcome {outcome!r}; outcomes: "
                            f"{', '.join(map(str, self.outcomes))}", column="outcome")
        return RobTable(self.tool, tuple(a for a in self.assessments if a.outcome == outcome),
                        self.settings)

    def per_study(self, outcome: str | None = None) -> RobTable:
        """One assessment per study: those of ``outcome``, or all when each study has one.

        Raises :class:`DataError` naming a study assessed for several outcomes when
        ``outcome`` is not given.
        """
        if outcome is not None:
            return self.for_outcome(outcome)
        counts: dict[str, list[str | None]] = {}
        for a in self.assessments:
            counts.setdefault(a.study, []).append(a.outcome)
        for study, outs in counts.items():
            if len(outs) > 1:
                raise DataError(f"assessed for several outcomes ({', '.join(map(str, outs))}); "
                                "choose one with outcome=", study=study, column="outcome")
        return self

    def assessment(self, study: str, outcome: str | None = None) -> Assessment:
        """The assessment of ``study`` (for ``outcome`` when the study has several)."""
        found = [a for a in self.per_study(outcome).assessments if a.study == str(study)]
        if not found:
            raise DataError("not in the risk-of-bias assessments", study=study)
        return found[0]

    def judgement_for(self, study: str, outcome: str | None = None) -> str:
        """Overall judgement of ``study``; :class:`DataError` for an unknown study."""
        return self.assessment(study, outcome).overall

    def overall_by_study(self, outcome: str | None = None) -> dict[str, str]:
        """Study -> overall judgement."""
        return {a.study: a.overall for a in self.per_study(outcome).assessments}

    def by_domain(self, outcome: str | None = None) -> dict[str, dict[str, str]]:
        """Study -> {domain name: judgement}, domains in the tool's order then "Overall".

        The shape a forest plot's risk-of-bias column takes (``fit.forest(rob=table)``).
        """
        names = {d.key: d.name for d in self.tool.domains}
        return {a.study: {**{names[k]: a.domains[k] for k in self.tool.domain_keys},
                          "Overall": a.overall}
                for a in self.per_study(outcome).assessments}

    def low_risk_studies(self, outcome: str | None = None) -> list[str]:
        """Studies judged at low risk of bias overall, in input order."""
        return [a.study for a in self.per_study(outcome).assessments if a.overall == self.tool.low]

    def to_frame(self) -> pd.DataFrame:
        """One row per assessment: study, outcome, the domain judgements, overall, overrides."""
        rows = []
        for a in self.assessments:
            row: dict[str, Any] = {"study": a.study, "outcome": a.outcome}
            row.update({d: a.domains[d] for d in self.tool.domain_keys})
            row.update({d.key: a.applicability.get(d.key) for d in self.tool.applicability})
            row[OVERALL] = a.overall
            row["overrides"] = "; ".join(f"{o.domain}: {o.algorithm} -> {o.judgement} ({o.reason})"
                                         for o in a.overrides)
            rows.append(row)
        cols = ["study", "outcome", *self.tool.domain_keys, *(d.key for d in self.tool.applicability),
                OVERALL, "overrides"]
        return pd.DataFrame(rows, columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view (JSON-ready)."""
        return {"tool": self.tool.key, "settings": dict(self.settings),
                "domains": {d.key: d.name for d in self.tool.domains},
                "assessments": [a.to_dict() for a in self.assessments]}

    def counts(self, weights: Weights | None = None, outcome: str | None = None) -> pd.DataFrame:
        """Proportion of studies at each judgement, per domain and overall.

        Parameters
        ----------
        weights
            Study -> weight (e.g. the meta-analysis weights). ``None``: every study counts once.
            Every assessed study needs a finite weight >= 0, and they must not all be zero.
        outcome
            The outcome, when studies were assessed for several.

        Returns
        -------
        pandas.DataFrame
            Rows: domain keys and "Overall"; columns: the tool's judgement levels; each row
            sums to 1.
        """
        table = self.per_study(outcome)
        w = table._weights(weights)
        frame = pd.DataFrame([{**a.domains, OVERALL: a.overall} for a in table.assessments],
                             columns=self.columns)
        out = pd.DataFrame(0.0, index=self.columns, columns=list(self.tool.levels))
        for col in self.columns:
            for level in self.tool.levels:
                out.loc[col, level] = w[(frame[col] == level).to_numpy()].sum()
        return out / w.sum()

    def _weights(self, weights: Weights | None) -> np.ndarray:
        if weights is None:
            return np.ones(len(self.assessments))
        mapping = weights.to_dict() if isinstance(weights, pd.Series) else dict(weights)
        values = []
        for a in self.assessments:
            if a.study not in mapping:
                raise DataError("has no weight for the summary plot", study=a.study, column="weights")
            v = float(mapping[a.study])
            if not np.isfinite(v) or v < 0:
                raise DataError(f"weight {v} must be finite and >= 0", study=a.study, column="weights")
            values.append(v)
        w = np.asarray(values)
        if w.sum() <= 0:
            raise DataError("the weights sum to zero", column="weights")
        return w

    def summary_sentence(self, outcome: str | None = None, noun: str | None = None) -> str:
        """One sentence for the report on the overall judgements.

        Every level of a three-level scale is named; on longer scales (ROBINS-I) an empty
        level is named only when it is the lowest or the most severe.

        Examples
        --------
        "7 of 10 trials (70%) were at low risk of bias, 3 (30%) raised some concerns and none
        was at high risk."
        """
        table = self.per_study(outcome)
        total = len(table)
        if total == 0:
            raise DataError("no assessments to summarise")
        noun = noun or ("trials" if self.tool.key == "rob2" else "studies")
        counts = {lv: sum(a.overall == lv for a in table.assessments) for lv in self.tool.levels}
        clauses = []
        for i, level in enumerate(self.tool.levels):
            n = counts[level]
            # Short scales name every level; longer ones name empty levels only at the extremes.
            shown = n > 0 or i == 0 or level == self.tool.ordered[-1] or (
                len(self.tool.ordered) <= 3 and level in self.tool.ordered)
            if not shown:
                continue
            plural, singular = _PHRASES[level]
            verb = singular if n == 1 else plural
            if i == 0:
                if n == 0 and total == 1:
                    clauses.append(f"The one {_SINGULAR.get(noun, noun)} was not at low risk of bias")
                elif n == 0:
                    clauses.append(f"None of the {total} {noun} {singular}")
                elif total == 1:
                    clauses.append(f"1 of 1 {_SINGULAR.get(noun, noun)} (100%) {verb}")
                else:
                    clauses.append(f"{n} of {total} {noun} ({_percent(n, total)}) {verb}")
            elif n == 0:
                clauses.append(_NONE_PHRASES[level])
            else:
                clauses.append(f"{n} ({_percent(n, total)}) {verb}")
        return ", ".join(clauses[:-1]) + " and " + clauses[-1] + "."

    def methods_sentence(self) -> str:
        """What was done, for the report's methods section.

        Examples
        --------
        "Risk of bias was assessed with RoB 2 (Sterne et al. 2019) for 10 results; domain
        judgements followed the tool's algorithms from the signalling questions, with no
        reviewer overrides; the overall judgement was High if any domain was High, Low if all
        were Low, and Some concerns otherwise."
        """
        n = len(self)
        overrides = sum(len(a.overrides) for a in self.assessments)
        said = "no reviewer overrides" if overrides == 0 else (
            f"{overrides} reviewer override{'s' if overrides > 1 else ''}, each with its reason")
        if self.tool.key == "rob2":
            k = self.settings.get("some_concerns_to_high")
            escalate = "" if k is None else f" (or High where {k} or more domains raised some concerns)"
            return (f"Risk of bias was assessed with RoB 2 (Sterne et al. 2019) for {n} results; domain "
                    "judgements followed the tool's algorithms from the signalling questions, with "
                    f"{said}; the overall judgement was High if any domain was High{escalate}, Low if "
                    "all were Low, and Some concerns otherwise.")
        if self.tool.key == "robins-i":
            return (f"Risk of bias was assessed with ROBINS-I (Sterne et al. 2016) for {n} results; the "
                    "overall judgement followed the tool's rule (the most severe domain judgement; No "
                    f"information where a key domain lacked information and none was serious or critical), "
                    f"with {said}.")
        if self.tool.key == "rob1":
            return (f"Risk of bias was assessed with the Cochrane risk-of-bias tool (RoB 1; Higgins et al. "
                    f"2011) for {n} assessments; the overall judgement was Low if every domain was Low, High "
                    f"if any was High and Unclear otherwise (Cochrane Handbook 5.1, 8.7), with {said}.")
        return (f"Risk of bias was assessed with QUADAS-2 (Whiting et al. 2011) for {n} studies; the "
                "overall judgement was Low if every domain was Low, High if any was High and Unclear "
                f"otherwise, with {said}.")

    def summary(self) -> str:
        """Text table (study by domain, with overall) and the domain legend."""
        frame = self.to_frame().drop(columns=["overrides"])
        if all(o is None for o in frame["outcome"]):
            frame = frame.drop(columns=["outcome"])
        lines = [f"Risk of bias ({self.tool.label}), {len(self)} assessment(s)",
                 frame.to_string(index=False), ""]
        lines += [f"{d.key}: {d.name}" for d in self.tool.domains + self.tool.applicability]
        overrides = [(a, o) for a in self.assessments for o in a.overrides]
        if overrides:
            lines.append("Reviewer overrides:")
            lines += [f"  {a.label}, {o.domain}: {o.algorithm} -> {o.judgement} ({o.reason})"
                      for a, o in overrides]
        return "\n".join(lines)


def from_assessments(assessments: Iterable[Assessment], **settings: Any) -> RobTable:
    """A :class:`RobTable` from assessments made with one tool."""
    assessments = tuple(assessments)
    if not assessments:
        raise DataError("no assessments given")
    return RobTable(assessments[0].tool, assessments, settings)
