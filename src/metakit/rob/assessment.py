"""One study's risk-of-bias assessment for one outcome, built from answers and/or judgements.

:func:`assess_rob2`, :func:`assess_robins_i` and :func:`assess_quadas2` validate their input and
return a frozen :class:`Assessment`. A reviewer may override an algorithm's judgement (of a
domain, or the overall rule's) only with a reason; the override and its reason are kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metakit.errors import DataError
from metakit.rob import quadas2 as _quadas2
from metakit.rob import rob2 as _rob2
from metakit.rob import robins_i as _robins_i
from metakit.rob.tools import QUADAS2, ROB2, ROBINS_I, Tool, get_tool, parse_answer

OVERALL = "Overall"


@dataclass(frozen=True)
class Override:
    """A reviewer's judgement that replaces the algorithm's (or the overall rule's), with a reason."""

    domain: str
    algorithm: str
    judgement: str
    reason: str


@dataclass(frozen=True)
class Assessment:
    """Risk of bias of one study for one outcome.

    Attributes
    ----------
    tool
        Tool key: "rob2", "robins-i" or "quadas2".
    study, outcome
        The study label and the outcome (``None`` when the sheet has no outcome column).
    domains
        Final judgement per domain ("D1" ...), after any reviewer override.
    algorithm
        RoB 2: the algorithm's judgement per domain (``None`` where only a reviewer judgement
        was given). Other tools: ``None`` everywhere (their domain judgements are the reviewer's).
    overall
        Final overall judgement.
    overall_rule
        What the overall rule gives from ``domains`` (differs from ``overall`` only under an
        override).
    overrides
        Every reviewer override of an algorithm or rule, with its reason.
    answers
        Signalling-question answers as given ("1.1" -> "Y").
    paths
        RoB 2: per domain, the (question, answer) steps the algorithm took.
    variant
        RoB 2 domain 2 variant ("assignment" / "adherence"); ``None`` for other tools.
    applicability
        QUADAS-2 applicability concerns ("A1".."A3"); empty for other tools.
    """

    tool: str
    study: str
    outcome: str | None
    domains: Mapping[str, str]
    algorithm: Mapping[str, str | None]
    overall: str
    overall_rule: str
    overrides: tuple[Override, ...] = ()
    answers: Mapping[str, str] = field(default_factory=dict)
    paths: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    variant: str | None = None
    applicability: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """"study" or "study (outcome)"."""
        return self.study if self.outcome is None else f"{self.study} ({self.outcome})"

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view (JSON-ready)."""
        return {
            "tool": self.tool, "study": self.study, "outcome": self.outcome, "variant": self.variant,
            "domains": dict(self.domains), "algorithm": dict(self.algorithm),
            "overall": self.overall, "overall_rule": self.overall_rule,
            "overrides": [vars(o).copy() for o in self.overrides],
            "answers": dict(self.answers),
            "paths": {d: [list(s) for s in p] for d, p in self.paths.items()},
            "applicability": dict(self.applicability),
        }


JudgementInput = str | tuple[str, str | None] | None


def _split(value: JudgementInput) -> tuple[str | None, str | None]:
    """A judgement given as "High" or ("High", "reason") -> (judgement, reason)."""
    if value is None:
        return None, None
    if isinstance(value, tuple):
        return value[0], value[1]
    return value, None


def _clean(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def _judgement(tool: Tool, value: object, study: str, column: str) -> str | None:
    text = _clean(value)
    return None if text is None else tool.parse_judgement(text, study=study, column=column)


def _apply_overall(tool: Tool, rule: str, given: JudgementInput, study: str,
                   overrides: list[Override]) -> str:
    value, reason = _split(given)
    final = _judgement(tool, value, study, "overall")
    if final is None or final == rule:
        return rule
    reason = _clean(reason)
    if reason is None:
        raise DataError(f"overall judgement {final!r} overrides the rule's {rule!r}: give a reason",
                        study=study, column="overall_reason")
    overrides.append(Override(OVERALL, rule, final, reason))
    return final


def assess_rob2(study: str, answers: Mapping[str, object] | None = None, *, outcome: str | None = None,
                variant: str = _rob2.ASSIGNMENT,
                judgements: Mapping[str, JudgementInput] | None = None,
                overall: JudgementInput = None, some_concerns_to_high: int | None = None) -> Assessment:
    """Assess one trial with RoB 2.

    Parameters
    ----------
    study
        Study label.
    answers
        Signalling question ("1.1" ... "5.3") -> answer (Y / PY / PN / N / NI / NA, or words).
        Questions off the algorithm's path may be left out or answered NA.
    outcome
        The outcome (result) assessed.
    variant
        Domain 2 variant: "assignment" (default) or "adherence".
    judgements
        Domain ("D1") -> reviewer judgement, or (judgement, reason). Where the domain has answers
        and the judgement differs from the algorithm's, the reason is required and the override
        kept; where the domain has no answers, the reviewer's judgement stands alone.
    overall
        Reviewer overall judgement (or (judgement, reason)); overriding the rule needs a reason.
    some_concerns_to_high
        See :func:`metakit.rob.rob2.overall`.

    Examples
    --------
    >>> a = assess_rob2("Trial A", {"1.1": "Y", "1.2": "Y", "1.3": "N", "2.1": "N", "2.2": "N",
    ...     "2.6": "Y", "3.1": "Y", "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N",
    ...     "5.3": "N"})
    >>> a.overall
    'Low'
    """
    study = str(study)
    answers = answers or {}
    judgements = judgements or {}
    unknown = set(judgements) - set(ROB2.domain_keys)
    if unknown:
        raise DataError(f"RoB 2 has no domain {sorted(unknown)[0]!r} (domains D1-D5)", study=study)
    if variant not in _rob2.VARIANTS:
        raise DataError(f"domain 2 variant {variant!r} is not one of {', '.join(_rob2.VARIANTS)}",
                        study=study, column="variant")
    questions = _rob2.QUESTIONS[variant]
    known = {q for qs in questions.values() for q in qs}
    parsed: dict[str, str] = {}
    for q, raw in answers.items():
        q = str(q)
        if _clean(raw) is None and not isinstance(raw, bool):
            continue  # an empty cell, e.g. d2_7 on an adherence-variant row of a mixed sheet
        if q not in known:
            raise DataError(f"RoB 2 ({variant}) has no signalling question {q}", study=study,
                            column=_rob2.question_column(q))
        code = parse_answer(raw, study=study, column=_rob2.question_column(q))
        if code is not None:
            parsed[q] = code

    domains: dict[str, str] = {}
    algorithm: dict[str, str | None] = {}
    paths: dict[str, tuple[tuple[str, str], ...]] = {}
    overrides: list[Override] = []
    for d in ROB2.domain_keys:
        value, reason = _split(judgements.get(d))
        given = _judgement(ROB2, value, study, d.lower())
        has_answers = any(q in parsed for q in questions[d])
        if not has_answers:
            if given is None:
                raise DataError(f"domain {d} ({ROB2.domain(d).name}) has neither answers nor a judgement",
                                study=study, column=d.lower())
            domains[d], algorithm[d] = given, None
            continue
        result = _rob2.judge_domain(d, parsed, variant, study=study)
        algorithm[d], paths[d] = result.judgement, result.path
        if given is None or given == result.judgement:
            domains[d] = result.judgement
            continue
        reason = _clean(reason)
        if reason is None:
            raise DataError(f"judgement {given!r} overrides the algorithm's {result.judgement!r} "
                            f"for {d}: give a reason", study=study, column=f"{d.lower()}_reason")
        overrides.append(Override(d, result.judgement, given, reason))
        domains[d] = given

    rule = _rob2.overall(list(domains.values()), some_concerns_to_high)
    final = _apply_overall(ROB2, rule, overall, study, overrides)
    return Assessment(tool=ROB2.key, study=study, outcome=outcome, domains=domains, algorithm=algorithm,
                      overall=final, overall_rule=rule, overrides=tuple(overrides), answers=parsed,
                      paths=paths, variant=variant)


def _reviewer_domains(tool: Tool, study: str, judgements: Mapping[str, JudgementInput],
                      keys: Sequence[str], required: bool = True) -> dict[str, str]:
    unknown = set(judgements) - set(keys) - set(tool.domain_keys) - {d.key for d in tool.applicability}
    if unknown:
        raise DataError(f"{tool.label} has no domain {sorted(unknown)[0]!r}", study=study)
    out: dict[str, str] = {}
    for d in keys:
        value = _judgement(tool, _split(judgements.get(d))[0], study, d.lower())
        if value is None:
            if required:
                raise DataError(f"domain {d} ({tool.domain(d).name}) has no judgement", study=study,
                                column=d.lower())
            continue
        out[d] = value
    return out


def assess_robins_i(study: str, judgements: Mapping[str, JudgementInput], *, outcome: str | None = None,
                    overall: JudgementInput = None,
                    key_domains: Sequence[str] | None = None) -> Assessment:
    """Assess one non-randomised study with ROBINS-I from the reviewer's seven domain judgements.

    Examples
    --------
    >>> a = assess_robins_i("Cohort A", {"D1": "Serious", "D2": "Low", "D3": "Low", "D4": "Moderate",
    ...                                  "D5": "Low", "D6": "Low", "D7": "Moderate"})
    >>> a.overall
    'Serious'
    """
    study = str(study)
    domains = _reviewer_domains(ROBINS_I, study, judgements, ROBINS_I.domain_keys)
    rule = _robins_i.overall(domains, key_domains)
    overrides: list[Override] = []
    final = _apply_overall(ROBINS_I, rule, overall, study, overrides)
    return Assessment(tool=ROBINS_I.key, study=study, outcome=outcome, domains=domains,
                      algorithm={d: None for d in domains}, overall=final, overall_rule=rule,
                      overrides=tuple(overrides))


def assess_quadas2(study: str, judgements: Mapping[str, JudgementInput], *, outcome: str | None = None,
                   overall: JudgementInput = None) -> Assessment:
    """Assess one diagnostic accuracy study with QUADAS-2 (risk of bias D1-D4, applicability A1-A3).

    Examples
    --------
    >>> assess_quadas2("Study A", {"D1": "Low", "D2": "Unclear", "D3": "Low", "D4": "Low"}).overall
    'Unclear'
    """
    study = str(study)
    domains = _reviewer_domains(QUADAS2, study, judgements, QUADAS2.domain_keys)
    applicability = _reviewer_domains(QUADAS2, study, judgements,
                                      [d.key for d in QUADAS2.applicability], required=False)
    rule = _quadas2.overall(list(domains.values()))
    overrides: list[Override] = []
    final = _apply_overall(QUADAS2, rule, overall, study, overrides)
    return Assessment(tool=QUADAS2.key, study=study, outcome=outcome, domains=domains,
                      algorithm={d: None for d in domains}, overall=final, overall_rule=rule,
                      overrides=tuple(overrides), applicability=applicability)


def tool_of(assessment: Assessment) -> Tool:
    """The :class:`Tool` an assessment was made with."""
    return get_tool(assessment.tool)
