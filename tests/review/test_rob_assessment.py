"""RoB 2 assessments in the store: blind answers, the algorithm's judgements, reconciliation, export.

The answers are the ILLUSTRATIVE rows of Mao 2015 and Hauzeur 2018 in
examples/stem-cell-onfh/rob2.csv. The expected judgements are walked by hand through the
decision figures of the RoB 2 guidance (22 August 2019) in the comments below, and the
exported file is read back with :func:`metakit.rob.read_assessments`, the reader of
``metakit rob`` and the report.
"""

from __future__ import annotations

import pytest

from metakit.errors import DataError
from metakit.review import rob_assessment as ra
from metakit.review.audit import trail
from metakit.review.database import open_database
from metakit.review.dual_entry import BlindError
from metakit.review.studies import add_study
from metakit.rob import read_assessments

_COLUMNS = "d1_1,d1_2,d1_3,d2_1,d2_2,d2_3,d2_4,d2_5,d2_6,d2_7,d3_1,d3_2,d3_3,d3_4,d4_1,d4_2,d4_3,d4_4,d4_5," \
           "d5_1,d5_2,d5_3".split(",")


def _row(text: str) -> dict[str, str]:
    return {c[1:].replace("_", "."): a for c, a in zip(_COLUMNS, text.split(","))}


MAO = _row("Y,NI,N,Y,Y,N,NA,NA,Y,NA,Y,NA,NA,NA,N,N,N,NA,NA,Y,N,N")
HAUZEUR = _row("Y,PY,N,N,PY,N,NA,NA,Y,NA,PY,NA,NA,NA,N,N,N,NA,NA,Y,N,N")

# By hand. Mao: D1 1.2=NI -> 1.3=N after NI -> Some concerns; D2 2.1/2.2=Y -> 2.3=N -> Low,
# part 2 2.6=Y -> Low; D3 3.1=Y -> Low; D4 4.1=N, 4.2=N, 4.3=N -> Low; D5 5.2/5.3=N -> 5.1=Y
# -> Low; overall Some concerns. Hauzeur: D1 1.2=PY -> 1.1=Y -> 1.3=N -> Low; the other
# domains as Mao's (3.1=PY -> Low); overall Low. With 1.2=Y (ben's slip) Mao's D1 is Low.
MAO_EXPECTED = {"D1": "Some concerns", "D2": "Low", "D3": "Low", "D4": "Low", "D5": "Low",
                "Overall": "Some concerns"}
HAUZEUR_EXPECTED = {"D1": "Low", "D2": "Low", "D3": "Low", "D4": "Low", "D5": "Low", "Overall": "Low"}


@pytest.fixture
def db(database_url):
    database = open_database(database_url)
    add_study(database, "Mao 2015", actor="owner")
    add_study(database, "Hauzeur 2018", actor="owner")
    yield database
    database.dispose()


def _assess(db, who, study, answers, outcome="THA"):
    assert ra.answer(db, study, outcome, who, answers)
    assert ra.submit_assessment(db, study, outcome, who)


def test_form_is_the_packages_questions():
    form = ra.questions()
    assert [d for d, _name, _qs in form] == ["D1", "D2", "D3", "D4", "D5"]
    assert [q for _d, _n, qs in form for q, _t in qs] == [c[1:].replace("_", ".") for c in _COLUMNS]
    assert [q for q, _ in ra.questions("adherence")[1][2]] == ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6"]


def test_live_judgements_from_partial_answers():
    partial = {k: v for k, v in MAO.items() if k.startswith("1.")}
    live = ra.judgements(partial)
    assert live["D1"] == "Some concerns"
    assert live["D2"] is None and live["Overall"] is None
    assert ra.judgements(MAO) == MAO_EXPECTED
    with pytest.raises(DataError, match="column 'd1_2': answer 'NA' to question 1.2 does not fit"):
        ra.judgements({"1.2": "NA"})


def test_blind_answers_comparison_and_reconciliation(db, tmp_path):
    with pytest.raises(DataError, match="does not fit the algorithm"):
        ra.answer(db, "Mao 2015", "THA", "ana", {"1.2": "NA"})
    assert ra.answer(db, "Mao 2015", "THA", "ana", {"1.1": "yes", "1.2": "no information"})
    assert ra.assessor_answers(db, "Mao 2015", "THA", "ana", reader="ana") == {
        "1.1": "Y", "1.2": "NI", "variant": "assignment"}
    with pytest.raises(DataError, match="signalling question 1.3 must be answered"):
        ra.submit_assessment(db, "Mao 2015", "THA", "ana")
    ra.answer(db, "Mao 2015", "THA", "ana", MAO, request_id="a-1")
    assert not ra.answer(db, "Mao 2015", "THA", "ana", MAO, request_id="a-1")
    assert ra.submit_assessment(db, "Mao 2015", "THA", "ana")
    with pytest.raises(BlindError):
        ra.assessor_answers(db, "Mao 2015", "THA", "ana", reader="ben")
    with pytest.raises(BlindError):
        ra.compare_assessments(db, "Mao 2015", "THA", reader="carla")
    _assess(db, "ben", "Mao 2015", {**MAO, "1.2": "Y"})

    cmp = ra.compare_assessments(db, "Mao 2015", "THA", reader="carla")
    assert cmp.discrepancies == ("1.2",)
    assert cmp.domains[0] == ("D1", "Some concerns", "Low", False)
    assert cmp.domains[-1] == ("Overall", "Some concerns", "Low", False)
    assert all(agree for _d, _a, _b, agree in cmp.domains[1:5])
    assert "question 1.2: NI / Y" in cmp.summary()

    with pytest.raises(DataError, match="1 discrepancy not settled: 1.2"):
        ra.reconcile_assessment(db, "Mao 2015", "THA", "carla")
    agreed = ra.reconcile_assessment(db, "Mao 2015", "THA", "carla", choices={"1.2": "NI"},
                                     notes={"1.2": "concealment not reported"})
    assert {**agreed.domains, "Overall": agreed.overall} == MAO_EXPECTED

    _assess(db, "ana", "Hauzeur 2018", HAUZEUR)
    _assess(db, "ben", "Hauzeur 2018", HAUZEUR)
    ra.reconcile_assessment(db, "Hauzeur 2018", "THA", "ben")

    path = tmp_path / "rob2.csv"
    assert ra.export_assessments(db, path) == 2
    table = read_assessments(path)
    assert table.studies == ["Hauzeur 2018", "Mao 2015"]
    for study, expected in (("Mao 2015", MAO_EXPECTED), ("Hauzeur 2018", HAUZEUR_EXPECTED)):
        a = table.assessment(study, "THA")
        assert {**a.domains, "Overall": a.overall} == expected
        assert a.overrides == ()
    store = ra.agreed_table(db)
    assert store.to_frame().equals(table.to_frame())
    assert read_assessments(path).assessment("Mao 2015", "THA").answers["1.2"] == "NI"

    xlsx = tmp_path / "rob2.xlsx"
    ra.export_assessments(db, xlsx)
    assert read_assessments(xlsx).overall_by_study("THA") == {"Hauzeur 2018": "Low", "Mao 2015": "Some concerns"}
    assert len(trail(db, action="rob.reconcile")) == 2
    assert len(trail(db, action="rob.submit")) == 4


def test_variants_must_agree(db):
    adherence = {k: v for k, v in HAUZEUR.items() if k != "2.7"}
    assert ra.answer(db, "Hauzeur 2018", "", "ana", adherence, variant="adherence")
    assert ra.submit_assessment(db, "Hauzeur 2018", "", "ana")
    _assess(db, "ben", "Hauzeur 2018", HAUZEUR, outcome="")
    with pytest.raises(DataError, match="different domain 2 variants"):
        ra.reconcile_assessment(db, "Hauzeur 2018", "", "carla", choices={"2.7": None})


def test_overrides_need_a_reason_and_survive_the_round_trip(db, tmp_path):
    why = "outcome assessors knew the allocation and the outcome is subjective"
    assert ra.answer(db, "Hauzeur 2018", "THA", "ana", {**HAUZEUR, "D4": "high"})
    assert ra.judgements(ra.assessor_answers(db, "Hauzeur 2018", "THA", "ana", reader="ana"))["D4"] == "High"
    with pytest.raises(DataError, match="judgement 'High' overrides the algorithm's 'Low' for D4: give a reason"):
        ra.submit_assessment(db, "Hauzeur 2018", "THA", "ana")
    ra.answer(db, "Hauzeur 2018", "THA", "ana", {"D4_reason": why})
    assert ra.submit_assessment(db, "Hauzeur 2018", "THA", "ana")
    _assess(db, "ben", "Hauzeur 2018", HAUZEUR)
    cmp = ra.compare_assessments(db, "Hauzeur 2018", "THA", reader="carla")
    assert cmp.discrepancies == ("D4", "D4_reason")
    assert cmp.domains[3] == ("D4", "High", "Low", False)
    # any domain at High makes the overall High (Sterne et al. 2019, Table 2)
    assert cmp.domains[-1] == ("Overall", "High", "Low", False)
    agreed = ra.reconcile_assessment(db, "Hauzeur 2018", "THA", "carla", choices={"D4": "High", "D4_reason": why})
    assert (agreed.domains["D4"], agreed.algorithm["D4"], agreed.overall) == ("High", "Low", "High")
    ra.export_assessments(db, tmp_path / "rob2.csv")
    a = read_assessments(tmp_path / "rob2.csv").assessment("Hauzeur 2018", "THA")
    assert (a.domains["D4"], a.algorithm["D4"], a.overall) == ("High", "Low", "High")
    assert [(o.domain, o.algorithm, o.judgement, o.reason) for o in a.overrides] == [("D4", "Low", "High", why)]
