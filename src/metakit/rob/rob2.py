"""RoB 2: from signalling-question answers to domain and overall judgements.

Each domain's algorithm is written out below as a decision table transcribed from the
decision-tree figures of the RoB 2 guidance (Higgins JPT, Savović J, Page MJ, Sterne JAC,
"Revised Cochrane risk-of-bias tool for randomized trials (RoB 2)", 22 August 2019) for
individually randomised parallel-group trials, and from Sterne et al. 2019 (BMJ 366:l4898).

A table maps a node to the signalling question(s) it asks and, per group of answers, either
the next node or a judgement. Questions not reached on the path need no answer (the guidance
has them answered "NA"); a reached question must be answered from the groups its node lists,
otherwise a :class:`~metakit.errors.DataError` names the study and the question's column.

Overall judgement (Sterne et al. 2019, Table 2): Low if every domain is Low; High if any domain
is High; otherwise Some concerns -- unless ``some_concerns_to_high`` is set, when that many or
more domains at Some concerns make the overall judgement High (the guidance lets reviewers
judge that "some concerns in multiple domains ... substantially lowers confidence").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from metakit.errors import DataError
from metakit.rob.tools import (
    HIGH,
    LOW,
    NO,
    NO_INFORMATION,
    NOT_APPLICABLE,
    PROBABLY_NO,
    PROBABLY_YES,
    SOME_CONCERNS,
    YES,
)

_YPY = frozenset({YES, PROBABLY_YES})
_NPN = frozenset({NO, PROBABLY_NO})
_NI = frozenset({NO_INFORMATION})
_NA = frozenset({NOT_APPLICABLE})
_JUDGEMENTS = frozenset({LOW, SOME_CONCERNS, HIGH})

ASSIGNMENT = "assignment"
ADHERENCE = "adherence"
VARIANTS = (ASSIGNMENT, ADHERENCE)


@dataclass(frozen=True)
class Branch:
    """One arm of a node: ``mode`` "any"/"all" of the node's questions answered from
    ``answers`` (or "else" for the remaining cases) leads to ``target`` (a node or a judgement)."""

    mode: str
    answers: frozenset[str]
    target: str


@dataclass(frozen=True)
class Node:
    """A node of a decision tree: the signalling question(s) it asks and its branches, tried in order."""

    questions: tuple[str, ...]
    branches: tuple[Branch, ...]


def _node(questions: str | tuple[str, ...], *branches: tuple[str, frozenset[str], str]) -> Node:
    qs = (questions,) if isinstance(questions, str) else questions
    return Node(qs, tuple(Branch(m, a, t) for m, a, t in branches))


# Domain 1, randomisation process (guidance figure for domain 1).
D1_TREE: dict[str, Node] = {
    "start": _node("1.2", ("any", _YPY, "random"), ("any", _NI, "baseline_after_ni"), ("any", _NPN, HIGH)),
    "random": _node("1.1", ("any", _YPY | _NI, "baseline"), ("any", _NPN, SOME_CONCERNS)),
    "baseline": _node("1.3", ("any", _NPN | _NI, LOW), ("any", _YPY, SOME_CONCERNS)),
    "baseline_after_ni": _node("1.3", ("any", _NPN | _NI, SOME_CONCERNS), ("any", _YPY, HIGH)),
}

# Domain 2, effect of assignment to intervention: part 1 (questions 2.1-2.5) ...
D2_ASSIGNMENT_PART1: dict[str, Node] = {
    "start": _node(("2.1", "2.2"), ("all", _NPN, LOW), ("any", _YPY | _NI, "context")),
    "context": _node("2.3", ("any", _NPN, LOW), ("any", _NI, SOME_CONCERNS), ("any", _YPY, "affect")),
    "affect": _node("2.4", ("any", _NPN, SOME_CONCERNS), ("any", _YPY | _NI, "balanced")),
    "balanced": _node("2.5", ("any", _YPY, SOME_CONCERNS), ("any", _NPN | _NI, HIGH)),
}
# ... and part 2 (questions 2.6-2.7); the domain takes the worse of the two parts.
D2_ASSIGNMENT_PART2: dict[str, Node] = {
    "start": _node("2.6", ("any", _YPY, LOW), ("any", _NPN | _NI, "impact")),
    "impact": _node("2.7", ("any", _NPN, SOME_CONCERNS), ("any", _YPY | _NI, HIGH)),
}

# Domain 2, effect of adhering to intervention.
D2_ADHERENCE_TREE: dict[str, Node] = {
    "start": _node(("2.1", "2.2"), ("all", _NPN, "implementation"), ("any", _YPY | _NI, "non_protocol")),
    "non_protocol": _node("2.3", ("any", _NA | _YPY, "implementation"), ("any", _NPN | _NI, "analysis")),
    "implementation": _node(("2.4", "2.5"), ("all", _NA | _NPN, LOW), ("any", _YPY | _NI, "analysis")),
    "analysis": _node("2.6", ("any", _YPY, SOME_CONCERNS), ("any", _NPN | _NI, HIGH)),
}

# Domain 3, missing outcome data.
D3_TREE: dict[str, Node] = {
    "start": _node("3.1", ("any", _YPY, LOW), ("any", _NPN | _NI, "evidence")),
    "evidence": _node("3.2", ("any", _YPY, LOW), ("any", _NPN, "could_depend")),
    "could_depend": _node("3.3", ("any", _NPN, LOW), ("any", _YPY | _NI, "likely_depend")),
    "likely_depend": _node("3.4", ("any", _NPN, SOME_CONCERNS), ("any", _YPY | _NI, HIGH)),
}

# Domain 4, measurement of the outcome: two parallel branches after 4.2 (N/PN or NI).
D4_TREE: dict[str, Node] = {
    "start": _node("4.1", ("any", _YPY, HIGH), ("any", _NPN | _NI, "differ")),
    "differ": _node("4.2", ("any", _YPY, HIGH), ("any", _NPN, "aware"), ("any", _NI, "aware_after_ni")),
    "aware": _node("4.3", ("any", _NPN, LOW), ("any", _YPY | _NI, "could_influence")),
    "could_influence": _node("4.4", ("any", _NPN, LOW), ("any", _YPY | _NI, "likely_influenced")),
    "likely_influenced": _node("4.5", ("any", _NPN, SOME_CONCERNS), ("any", _YPY | _NI, HIGH)),
    "aware_after_ni": _node("4.3", ("any", _NPN, SOME_CONCERNS), ("any", _YPY | _NI, "could_after_ni")),
    "could_after_ni": _node("4.4", ("any", _NPN, SOME_CONCERNS), ("any", _YPY | _NI, "likely_after_ni")),
    "likely_after_ni": _node("4.5", ("any", _NPN, SOME_CONCERNS), ("any", _YPY | _NI, HIGH)),
}

# Domain 5, selection of the reported result.
D5_TREE: dict[str, Node] = {
    "start": _node(("5.2", "5.3"), ("any", _YPY, HIGH), ("all", _NPN, "plan"),
                   ("else", _NI, SOME_CONCERNS)),
    "plan": _node("5.1", ("any", _YPY, LOW), ("any", _NPN | _NI, SOME_CONCERNS)),
}

#: Signalling questions of each domain, per variant of domain 2.
QUESTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    ASSIGNMENT: {"D1": ("1.1", "1.2", "1.3"), "D2": tuple(f"2.{i}" for i in range(1, 8)),
                 "D3": ("3.1", "3.2", "3.3", "3.4"), "D4": tuple(f"4.{i}" for i in range(1, 6)),
                 "D5": ("5.1", "5.2", "5.3")},
    ADHERENCE: {"D1": ("1.1", "1.2", "1.3"), "D2": tuple(f"2.{i}" for i in range(1, 7)),
                "D3": ("3.1", "3.2", "3.3", "3.4"), "D4": tuple(f"4.{i}" for i in range(1, 6)),
                "D5": ("5.1", "5.2", "5.3")},
}

#: What each signalling question asks, in short (paraphrased from the RoB 2 guidance of
#: 22 August 2019, individually randomised parallel-group trials), per variant of domain 2.
_SHARED_TEXT = {
    "1.1": "Was the allocation sequence random?",
    "1.2": "Was the allocation sequence concealed until participants were enrolled and assigned?",
    "1.3": "Do baseline differences between the groups suggest a problem with the randomisation?",
    "2.1": "Were participants aware of their assigned intervention during the trial?",
    "2.2": "Were carers and people delivering the interventions aware of the assigned intervention?",
    "3.1": "Were outcome data available for all, or nearly all, randomised participants?",
    "3.2": "Is there evidence that the result was not biased by missing outcome data?",
    "3.3": "Could missingness in the outcome depend on its true value?",
    "3.4": "Is it likely that missingness in the outcome depended on its true value?",
    "4.1": "Was the method of measuring the outcome inappropriate?",
    "4.2": "Could measurement or ascertainment of the outcome have differed between groups?",
    "4.3": "Were outcome assessors aware of the intervention received?",
    "4.4": "Could assessment of the outcome have been influenced by knowledge of the intervention?",
    "4.5": "Is it likely that assessment of the outcome was influenced by knowledge of the intervention?",
    "5.1": "Was the result analysed by a pre-specified plan finalised before unblinded data were available?",
    "5.2": "Was the result likely selected, on the basis of the results, from several eligible outcome "
           "measurements (scales, definitions, time points)?",
    "5.3": "Was the result likely selected, on the basis of the results, from several eligible analyses?",
}
QUESTION_TEXT: dict[str, dict[str, str]] = {
    ASSIGNMENT: {**_SHARED_TEXT,
                 "2.3": "Were there deviations from the intended intervention that arose because of the "
                        "trial context?",
                 "2.4": "Were these deviations likely to have affected the outcome?",
                 "2.5": "Were these deviations from the intended intervention balanced between groups?",
                 "2.6": "Was an appropriate analysis used to estimate the effect of assignment?",
                 "2.7": "Could failing to analyse participants in their randomised group have had a "
                        "substantial impact on the result?"},
    ADHERENCE: {**_SHARED_TEXT,
                "2.3": "Were important non-protocol interventions balanced across groups?",
                "2.4": "Were there failures in implementing the intervention that could have affected "
                       "the outcome?",
                "2.5": "Was there non-adherence to the assigned regimen that could have affected outcomes?",
                "2.6": "Was an appropriate analysis used to estimate the effect of adhering to the "
                       "intervention?"},
}

_TREES: dict[str, dict[str, tuple[dict[str, Node], ...]]] = {
    ASSIGNMENT: {"D1": (D1_TREE,), "D2": (D2_ASSIGNMENT_PART1, D2_ASSIGNMENT_PART2), "D3": (D3_TREE,),
                 "D4": (D4_TREE,), "D5": (D5_TREE,)},
    ADHERENCE: {"D1": (D1_TREE,), "D2": (D2_ADHERENCE_TREE,), "D3": (D3_TREE,), "D4": (D4_TREE,),
                "D5": (D5_TREE,)},
}

_ORDER = {LOW: 0, SOME_CONCERNS: 1, HIGH: 2}


def question_column(question: str) -> str:
    """Sheet column of a signalling question: "2.3" -> "d2_3"."""
    return "d" + question.replace(".", "_")


@dataclass(frozen=True)
class DomainResult:
    """The algorithm's judgement of one domain and the path of (question, answer) that led to it."""

    judgement: str
    path: tuple[tuple[str, str], ...]


def _matches(branch: Branch, given: Sequence[str]) -> bool:
    if branch.mode == "all":
        return all(a in branch.answers for a in given)
    if branch.mode == "any":
        return any(a in branch.answers for a in given)
    return True


def _walk(tree: Mapping[str, Node], answers: Mapping[str, str | None], study: object) -> DomainResult:
    node_key, path = "start", []
    while True:
        node = tree[node_key]
        expected = frozenset().union(*(b.answers for b in node.branches))
        given = []
        for q in node.questions:
            a = answers.get(q)
            if a is None:
                raise DataError(f"signalling question {q} must be answered: the algorithm reaches it "
                                f"(path so far: {_describe(path) or 'start'})",
                                study=study, column=question_column(q))
            if a not in expected:
                raise DataError(f"answer {a!r} to question {q} does not fit the algorithm at this point "
                                f"(path so far: {_describe(path) or 'start'}); expected "
                                f"{'/'.join(sorted(expected, key=_answer_rank))}",
                                study=study, column=question_column(q))
            given.append(a)
            path.append((q, a))
        target = next(b.target for b in node.branches if _matches(b, given))
        if target in _JUDGEMENTS:
            return DomainResult(target, tuple(path))
        node_key = target


def _answer_rank(a: str) -> int:
    return (YES, PROBABLY_YES, PROBABLY_NO, NO, NO_INFORMATION, NOT_APPLICABLE).index(a)


def _describe(path: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{q}={a}" for q, a in path)


def judge_domain(domain: str, answers: Mapping[str, str | None], variant: str = ASSIGNMENT,
                 study: object = None) -> DomainResult:
    """Judge one RoB 2 domain from its signalling-question answers.

    Parameters
    ----------
    domain
        "D1" to "D5".
    answers
        Question ("1.1") -> answer code (Y, PY, PN, N, NI, NA) or None when unanswered.
    variant
        Domain 2 variant: "assignment" (effect of assignment, questions 2.1-2.7) or
        "adherence" (effect of adhering, questions 2.1-2.6).
    study
        Named in errors.

    Returns
    -------
    DomainResult
        The judgement (Low / Some concerns / High) and the path taken.

    Examples
    --------
    >>> judge_domain("D1", {"1.1": "Y", "1.2": "PY", "1.3": "N"}).judgement
    'Low'
    >>> judge_domain("D5", {"5.1": "NI", "5.2": "N", "5.3": "PN"}).judgement
    'Some concerns'
    """
    if variant not in _TREES:
        raise DataError(f"domain 2 variant {variant!r} is not one of {', '.join(VARIANTS)}",
                        study=study, column="variant")
    if domain not in _TREES[variant]:
        raise KeyError(f"RoB 2 has no domain {domain!r}")
    parts = [_walk(tree, answers, study) for tree in _TREES[variant][domain]]
    worst = max(parts, key=lambda r: _ORDER[r.judgement]).judgement
    return DomainResult(worst, tuple(step for r in parts for step in r.path))


def overall(judgements: Sequence[str], some_concerns_to_high: int | None = None) -> str:
    """Overall RoB 2 judgement from the five domain judgements (Sterne et al. 2019, Table 2).

    Parameters
    ----------
    judgements
        Domain judgements, each Low / Some concerns / High.
    some_concerns_to_high
        ``None`` (default): Some concerns never escalate. ``k``: k or more domains at Some
        concerns make the result High.

    Examples
    --------
    >>> overall(["Low", "Some concerns", "Low", "Low", "Low"])
    'Some concerns'
    >>> overall(["Low", "Some concerns", "Some concerns", "Some concerns", "Low"], some_concerns_to_high=3)
    'High'
    """
    if some_concerns_to_high is not None and some_concerns_to_high < 1:
        raise ValueError("some_concerns_to_high must be a positive integer or None")
    if any(j == HIGH for j in judgements):
        return HIGH
    n_some = sum(j == SOME_CONCERNS for j in judgements)
    if some_concerns_to_high is not None and n_some >= some_concerns_to_high:
        return HIGH
    return SOME_CONCERNS if n_some else LOW
