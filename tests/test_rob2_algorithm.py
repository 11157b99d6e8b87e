"""RoB 2 domain algorithms, path by path.

Expected judgements are transcribed by hand from the decision-tree figures ("Algorithm for
suggested judgement of risk of bias ...") of the RoB 2 guidance (Higgins, Savović, Page,
Sterne; 22 August 2019) and Sterne et al. BMJ 2019;366:l4898, Table 2 (overall). Each row below
is one path of a figure; every answer in a path's answer group (e.g. "Y/PY") is tried.
"""

from __future__ import annotations

import itertools

import pytest

from metakit.errors import DataError
from metakit.rob.rob2 import judge_domain, overall

ALL = "Y/PY/PN/N/NI"
L, S, H = "Low", "Some concerns", "High"


def expand(spec: dict[str, str]) -> list[dict[str, str]]:
    """All answer sets of a path: each question's "Y/PY"-style group taken member by member."""
    keys = list(spec)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(spec[k].split("/") for k in keys))]


def pairs(group: str, rule: str, na: bool = False) -> list[tuple[str, str]]:
    """Answer pairs to two questions read together: "both" in group, or "either" in group
    (the other answered anything, NA included when ``na``)."""
    members = set(group.split("/"))
    grid = list(itertools.product(ALL.split("/") + ["NA"], repeat=2))
    if rule == "both":
        return [(a, b) for a, b in grid if a in members and b in members]
    return [(a, b) for a, b in grid if (a in members or b in members) and (na or "NA" not in (a, b))]


# Domain 1 (randomization process).
D1_PATHS = [
    ({"1.2": "Y/PY", "1.1": "Y/PY/NI", "1.3": "N/PN/NI"}, L),
    ({"1.2": "Y/PY", "1.1": "Y/PY/NI", "1.3": "Y/PY"}, S),
    ({"1.2": "Y/PY", "1.1": "N/PN", "1.3": ALL}, S),
    ({"1.2": "NI", "1.1": ALL, "1.3": "N/PN/NI"}, S),
    ({"1.2": "NI", "1.1": ALL, "1.3": "Y/PY"}, H),
    ({"1.2": "N/PN", "1.1": ALL, "1.3": ALL}, H),
]


@pytest.mark.parametrize(("spec", "expected"), D1_PATHS)
def test_domain1_paths(spec, expected):
    for answers in expand(spec):
        assert judge_domain("D1", answers).judgement == expected, answers


# Domain 2, effect of assignment: part 1 (2.1-2.5) with part 2 at Low (2.6 = Y) ...
D2_PART1_PATHS = [
    ("both N/PN", {}, L),
    ("either Y/PY/NI", {"2.3": "N/PN"}, L),
    ("either Y/PY/NI", {"2.3": "NI"}, S),
    ("either Y/PY/NI", {"2.3": "Y/PY", "2.4": "N/PN"}, S),
    ("either Y/PY/NI", {"2.3": "Y/PY", "2.4": "Y/PY/NI", "2.5": "Y/PY"}, S),
    ("either Y/PY/NI", {"2.3": "Y/PY", "2.4": "Y/PY/NI", "2.5": "N/PN/NI"}, H),
]


@pytest.mark.parametrize(("aware", "spec", "expected"), D2_PART1_PATHS)
def test_domain2_assignment_part1_paths(aware, spec, expected):
    rule, group = aware.split(" ")
    for a21, a22 in pairs(group, rule):
        for answers in expand(spec):
            answers = {"2.1": a21, "2.2": a22, **answers, "2.6": "Y"}
            assert judge_domain("D2", answers).judgement == expected, answers


# ... part 2 (2.6-2.7) with part 1 at Low (2.1 = 2.2 = N).
D2_PART2_PATHS = [
    ({"2.6": "Y/PY"}, L),
    ({"2.6": "N/PN/NI", "2.7": "N/PN"}, S),
    ({"2.6": "N/PN/NI", "2.7": "Y/PY/NI"}, H),
]


@pytest.mark.parametrize(("spec", "expected"), D2_PART2_PATHS)
def test_domain2_assignment_part2_paths(spec, expected):
    for answers in expand(spec):
        answers = {"2.1": "N", "2.2": "N", **answers}
        assert judge_domain("D2", answers).judgement == expected, answers


# The domain takes the worse part ("Criteria for the domain" box of the figure).
D2_COMBINED = [
    # part 1 answers                                        part 2 answers          expected
    ({"2.1": "Y", "2.2": "Y", "2.3": "NI"}, {"2.6": "N", "2.7": "N"}, S),     # Some + Some
    ({"2.1": "Y", "2.2": "Y", "2.3": "NI"}, {"2.6": "N", "2.7": "Y"}, H),     # Some + High
    ({"2.1": "Y", "2.2": "Y", "2.3": "Y", "2.4": "Y", "2.5": "N"}, {"2.6": "Y"}, H),  # High + Low
    ({"2.1": "N", "2.2": "N"}, {"2.6": "NI", "2.7": "PN"}, S),                # Low + Some
    ({"2.1": "PN", "2.2": "N"}, {"2.6": "PY"}, L),                            # Low + Low
]


@pytest.mark.parametrize(("part1", "part2", "expected"), D2_COMBINED)
def test_domain2_assignment_takes_worse_part(part1, part2, expected):
    assert judge_domain("D2", {**part1, **part2}).judgement == expected


# Domain 2, effect of adhering to intervention.
D2_ADHERENCE_PATHS = [
    ("both N/PN", {"2.6": ALL}, "both NA/N/PN", L),
    ("both N/PN", {"2.6": "Y/PY"}, "either Y/PY/NI", S),
    ("both N/PN", {"2.6": "N/PN/NI"}, "either Y/PY/NI", H),
    ("either Y/PY/NI", {"2.3": "NA/Y/PY", "2.6": ALL}, "both NA/N/PN", L),
    ("either Y/PY/NI", {"2.3": "NA/Y/PY", "2.6": "Y/PY"}, "either Y/PY/NI", S),
    ("either Y/PY/NI", {"2.3": "NA/Y/PY", "2.6": "N/PN/NI"}, "either Y/PY/NI", H),
    ("either Y/PY/NI", {"2.3": "N/PN/NI", "2.6": "Y/PY"}, "both NA/N/PN/Y/PY/NI", S),
    ("either Y/PY/NI", {"2.3": "N/PN/NI", "2.6": "N/PN/NI"}, "both NA/N/PN/Y/PY/NI", H),
]


@pytest.mark.parametrize(("aware", "spec", "implementation", "expected"), D2_ADHERENCE_PATHS)
def test_domain2_adherence_paths(aware, spec, implementation, expected):
    rule, group = aware.split(" ")
    irule, igroup = implementation.split(" ")
    aware_pairs = pairs(group, rule)[::3]  # every third pair keeps the run short and covers each answer
    for a21, a22 in aware_pairs:
        for a24, a25 in pairs(igroup, irule, na=True):
            for answers in expand(spec):
                answers = {"2.1": a21, "2.2": a22, "2.4": a24, "2.5": a25, **answers}
                got = judge_domain("D2", answers, variant="adherence").judgement
                assert got == expected, answers


# Domain 3 (missing outcome data).
D3_PATHS = [
    ({"3.1": "Y/PY"}, L),
    ({"3.1": "N/PN/NI", "3.2": "Y/PY"}, L),
    ({"3.1": "N/PN/NI", "3.2": "N/PN", "3.3": "N/PN"}, L),
    ({"3.1": "N/PN/NI", "3.2": "N/PN", "3.3": "Y/PY/NI", "3.4": "N/PN"}, S),
    ({"3.1": "N/PN/NI", "3.2": "N/PN", "3.3": "Y/PY/NI", "3.4": "Y/PY/NI"}, H),
]


@pytest.mark.parametrize(("spec", "expected"), D3_PATHS)
def test_domain3_paths(spec, expected):
    for answers in expand(spec):
        assert judge_domain("D3", answers).judgement == expected, answers


# Domain 4 (measurement of the outcome): two parallel branches after 4.2.
D4_PATHS = [
    ({"4.1": "Y/PY"}, H),
    ({"4.1": "N/PN/NI", "4.2": "Y/PY"}, H),
    ({"4.1": "N/PN/NI", "4.2": "N/PN", "4.3": "N/PN"}, L),
    ({"4.1": "N/PN/NI", "4.2": "N/PN", "4.3": "Y/PY/NI", "4.4": "N/PN"}, L),
    ({"4.1": "N/PN/NI", "4.2": "N/PN", "4.3": "Y/PY/NI", "4.4": "Y/PY/NI", "4.5": "N/PN"}, S),
    ({"4.1": "N/PN/NI", "4.2": "N/PN", "4.3": "Y/PY/NI", "4.4": "Y/PY/NI", "4.5": "Y/PY/NI"}, H),
    ({"4.1": "N/PN/NI", "4.2": "NI", "4.3": "N/PN"}, S),
    ({"4.1": "N/PN/NI", "4.2": "NI", "4.3": "Y/PY/NI", "4.4": "N/PN"}, S),
    ({"4.1": "N/PN/NI", "4.2": "NI", "4.3": "Y/PY/NI", "4.4": "Y/PY/NI", "4.5": "N/PN"}, S),
    ({"4.1": "N/PN/NI", "4.2": "NI", "4.3": "Y/PY/NI", "4.4": "Y/PY/NI", "4.5": "Y/PY/NI"}, H),
]


@pytest.mark.parametrize(("spec", "expected"), D4_PATHS)
def test_domain4_paths(spec, expected):
    for answers in expand(spec):
        assert judge_domain("D4", answers).judgement == expected, answers


# Domain 5 (selection of the reported result).
D5_PATHS = [
    ("either Y/PY", {"5.1": ALL}, H),
    ("both N/PN", {"5.1": "Y/PY"}, L),
    ("both N/PN", {"5.1": "N/PN/NI"}, S),
    ("one NI, neither Y/PY", {"5.1": ALL}, S),
]


@pytest.mark.parametrize(("selected", "spec", "expected"), D5_PATHS)
def test_domain5_paths(selected, spec, expected):
    if selected == "either Y/PY":
        combos = pairs("Y/PY", "either")
    elif selected == "both N/PN":
        combos = pairs("N/PN", "both")
    else:
        combos = [(a, b) for a, b in itertools.product("N PN NI".split(), repeat=2) if "NI" in (a, b)]
    for a52, a53 in combos:
        for answers in expand(spec):
            answers = {"5.2": a52, "5.3": a53, **answers}
            assert judge_domain("D5", answers).judgement == expected, answers


def test_path_records_questions_asked_in_order():
    result = judge_domain("D4", {"4.1": "N", "4.2": "NI", "4.3": "Y", "4.4": "PY", "4.5": "PN"})
    assert result.path == (("4.1", "N"), ("4.2", "NI"), ("4.3", "Y"), ("4.4", "PY"), ("4.5", "PN"))
    assert judge_domain("D1", {"1.2": "N"}).path == (("1.2", "N"),)


@pytest.mark.parametrize(("domain", "questions", "variant"), [
    ("D1", ["1.1", "1.2", "1.3"], "assignment"),
    ("D3", ["3.1", "3.2", "3.3", "3.4"], "assignment"),
    ("D4", ["4.1", "4.2", "4.3", "4.4", "4.5"], "assignment"),
    ("D5", ["5.1", "5.2", "5.3"], "assignment"),
])
def test_every_answer_combination_reaches_a_judgement(domain, questions, variant):
    # Totality: with every question answered Y/PY/PN/N/NI (3.2 has no NI option), the tree
    # never gets stuck.
    options = {q: ["Y", "PY", "PN", "N"] if q == "3.2" else ALL.split("/") for q in questions}
    seen = set()
    for combo in itertools.product(*(options[q] for q in questions)):
        seen.add(judge_domain(domain, dict(zip(questions, combo)), variant).judgement)
    assert seen == {L, S, H}


def test_unanswered_reached_question_is_named():
    with pytest.raises(DataError, match="1.3 must be answered") as err:
        judge_domain("D1", {"1.1": "Y", "1.2": "Y"}, study="Sen 2012")
    assert err.value.study == "Sen 2012" and err.value.column == "d1_3"


def test_na_on_the_path_is_refused():
    with pytest.raises(DataError, match="expected Y/PY/PN/N/NI") as err:
        judge_domain("D1", {"1.1": "Y", "1.2": "NA", "1.3": "N"}, study="Zhao 2012")
    assert err.value.column == "d1_2"
    # 3.2 offers no NI (guidance response options NA/Y/PY/PN/N).
    with pytest.raises(DataError, match="expected Y/PY/PN/N"):
        judge_domain("D3", {"3.1": "N", "3.2": "NI"})


def test_unknown_variant():
    with pytest.raises(DataError, match="variant"):
        judge_domain("D2", {}, variant="per-protocol")


OVERALL_CASES = [
    # domain judgements D1-D5,           some_concerns_to_high, expected (Sterne 2019, Table 2)
    ([L, L, L, L, L], None, L),
    ([L, S, L, L, L], None, S),
    ([S, S, S, S, S], None, S),
    ([L, L, H, L, L], None, H),
    ([S, S, L, L, H], None, H),
    ([S, S, L, L, L], 3, S),
    ([S, S, S, L, L], 3, H),
    ([S, S, L, L, L], 2, H),
    ([S, L, L, L, L], 1, H),
    ([L, L, L, L, L], 1, L),
]


@pytest.mark.parametrize(("domains", "k", "expected"), OVERALL_CASES)
def test_overall_rule(domains, k, expected):
    assert overall(domains, some_concerns_to_high=k) == expected


def test_overall_rejects_nonpositive_threshold():
    with pytest.raises(ValueError):
        overall([L] * 5, some_concerns_to_high=0)
