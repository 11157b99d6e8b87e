"""Assessments, tables, input files and analysis helpers of metakit.rob.

Expected judgements of the example files are worked out by hand from their answers with the
RoB 2 guidance's algorithms (written out per trial below), and the ROBINS-I overall rule of
Sterne et al. BMJ 2016;355:i4919 (Table 3).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from metakit.errors import DataError
from metakit.rob import (
    RobTable,
    add_rob_column,
    assess_quadas2,
    assess_rob2,
    assess_robins_i,
    from_records,
    overall_by_study,
    read_assessments,
    restrict_to_low,
)
from metakit.rob.robins_i import overall as robins_overall

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "rob"

LOW_ANSWERS = {"1.1": "Y", "1.2": "PY", "1.3": "N", "2.1": "Y", "2.2": "Y", "2.3": "N", "2.6": "Y",
               "3.1": "Y", "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}


# --- the seed-review example (examples/rob/seed_rob2.csv) -----------------------------------
# Every trial follows the low-risk template (1.2 PY, 1.1 Y, 1.3 N -> Low; 2.1/2.2 Y, 2.3 N and
# 2.6 Y -> Low; 3.1 Y -> Low; 4.1 N, 4.2 N, 4.3 N -> Low; 5.2 N, 5.3 N, 5.1 Y -> Low) except:
#   Trial B: 1.2 NI, 1.3 N                    -> D1 Some concerns
#   Trial C: 2.1 N, 2.2 PY -> 2.3 N -> Low; 3.1 PY -> Low
#   Trial D: 5.2 PN, 5.3 PN, 5.1 NI           -> D5 Some concerns
#   Trial E: 4.3 Y, 4.4 N                     -> D4 Low
#   Trial F: 3.1 N, 3.2 Y                     -> D3 Low
#   Trial G: 2.1 N, 2.2 N                     -> D2 Low (part 1), 2.6 Y (part 2)
#   Trial H: 4.3 Y, 4.4 PY, 4.5 PN            -> D4 Some concerns
#   Trial I, J: PY/Y variations               -> Low
SEED_EXPECTED = {
    "Trial A (China)": ["Low"] * 5 + ["Low"],
    "Trial B (China)": ["Some concerns", "Low", "Low", "Low", "Low", "Some concerns"],
    "Trial C (China)": ["Low"] * 5 + ["Low"],
    "Trial D (China)": ["Low", "Low", "Low", "Low", "Some concerns", "Some concerns"],
    "Trial E (France)": ["Low"] * 5 + ["Low"],
    "Trial F (South Korea)": ["Low"] * 5 + ["Low"],
    "Trial G (Australia)": ["Low"] * 5 + ["Low"],
    "Trial H (Iran)": ["Low", "Low", "Low", "Some concerns", "Low", "Some concerns"],
    "Trial I (India)": ["Low"] * 5 + ["Low"],
    "Trial J (Spain)": ["Low"] * 5 + ["Low"],
}


@pytest.fixture(scope="module")
def seed() -> RobTable:
    return read_assessments(EXAMPLES / "seed_rob2.csv")


def test_seed_example_judgements(seed):
    frame = seed.to_frame().set_index("study")
    for study, expected in SEED_EXPECTED.items():
        assert frame.loc[study, ["D1", "D2", "D3", "D4", "D5", "Overall"]].tolist() == expected, study


def test_seed_summary_sentence_matches_the_seed_review(seed):
    # The seed review: "70% of the RCTs ... low risk of bias, while 30% ... some concerns".
    assert seed.summary_sentence() == ("7 of 10 trials (70%) were at low risk of bias, 3 (30%) raised "
                                       "some concerns and none was at high risk.")


def test_seed_counts_unweighted(seed):
    counts = seed.counts()
    assert counts.loc["Overall"].tolist() == pytest.approx([0.7, 0.3, 0.0])
    assert counts.loc["D1"].tolist() == pytest.approx([0.9, 0.1, 0.0])
    assert counts.loc["D2"].tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_counts_weighted_by_hand(seed):
    weights = dict(zip(seed.studies, [10, 20, 10, 5, 10, 10, 10, 15, 5, 5]))
    # Some concerns overall: B (20) + D (5) + H (15) = 40 of 100.
    assert seed.counts(weights=weights).loc["Overall", "Some concerns"] == pytest.approx(0.40)
    # D4 Some concerns: H alone, 15 of 100.
    assert seed.counts(weights=pd.Series(weights)).loc["D4", "Some concerns"] == pytest.approx(0.15)


def test_counts_weights_must_cover_every_study(seed):
    with pytest.raises(DataError, match="no weight") as err:
        seed.counts(weights={"Trial A (China)": 1.0})
    assert err.value.study == "Trial B (China)"
    with pytest.raises(DataError, match=">= 0"):
        seed.counts(weights={s: -1.0 for s in seed.studies})


def test_low_risk_and_judgement_for(seed):
    assert seed.low_risk_studies() == ["Trial A (China)", "Trial C (China)", "Trial E (France)",
                                       "Trial F (South Korea)", "Trial G (Australia)",
                                       "Trial I (India)", "Trial J (Spain)"]
    assert seed.judgement_for("Trial H (Iran)") == "Some concerns"
    with pytest.raises(DataError, match="not in the risk-of-bias assessments") as err:
        seed.judgement_for("Trial Z")
    assert err.value.study == "Trial Z"


def test_na_cells_stay_answers_not_missing(seed):
    # pandas would read "NA" as missing; the reader keeps it as the answer NA.
    assert seed.assessment("Trial A (China)").answers["2.4"] == "NA"


def test_summary_and_dict(seed):
    text = seed.summary()
    assert "Trial J (Spain)" in text and "D5: Bias in selection of the reported result" in text
    d = seed.to_dict()
    assert d["tool"] == "rob2" and len(d["assessments"]) == 10
    assert d["assessments"][1]["paths"]["D1"] == [["1.2", "NI"], ["1.3", "N"]]


# --- overrides, reviewer judgements, errors ---------------------------------------------------

def test_override_needs_a_reason_and_is_kept():
    with pytest.raises(DataError, match="give a reason") as err:
        assess_rob2("Trial K", LOW_ANSWERS, judgements={"D4": "High"})
    assert err.value.column == "d4_reason"
    a = assess_rob2("Trial K", LOW_ANSWERS, judgements={"D4": ("High", "assessor knew the arm")})
    assert a.algorithm["D4"] == "Low" and a.domains["D4"] == "High" and a.overall == "High"
    assert [(o.domain, o.algorithm, o.judgement, o.reason) for o in a.overrides] == [
        ("D4", "Low", "High", "assessor knew the arm")]


def test_judgement_equal_to_algorithm_is_no_override():
    a = assess_rob2("Trial K", LOW_ANSWERS, judgements={"D1": "low risk"})
    assert a.overrides == () and a.domains["D1"] == "Low"


def test_overall_override_and_threshold():
    some = {**LOW_ANSWERS, "1.2": "NI", "5.1": "NI", "4.3": "Y", "4.4": "Y", "4.5": "N"}
    assert assess_rob2("T", some).overall == "Some concerns"           # D1, D4, D5 at Some concerns
    assert assess_rob2("T", some, some_concerns_to_high=3).overall == "High"
    a = assess_rob2("T", some, overall=("High", "three domains with concerns"))
    assert a.overall == "High" and a.overall_rule == "Some concerns"
    assert a.overrides[0].domain == "Overall"
    with pytest.raises(DataError, match="give a reason"):
        assess_rob2("T", some, overall="High")


def test_judgement_only_domain_and_missing_domain():
    answers = {k: v for k, v in LOW_ANSWERS.items() if not k.startswith("3.")}
    a = assess_rob2("T", answers, judgements={"D3": "Some concerns"})
    assert a.algorithm["D3"] is None and a.domains["D3"] == "Some concerns"
    with pytest.raises(DataError, match="domain D3 .* neither answers nor a judgement") as err:
        assess_rob2("T", answers)
    assert err.value.study == "T"


def test_answer_outside_allowed_set_names_study_column_and_set():
    with pytest.raises(DataError) as err:
        assess_rob2("Rastogi 2013", {**LOW_ANSWERS, "1.1": "maybe"})
    assert err.value.study == "Rastogi 2013" and err.value.column == "d1_1"
    assert "Y/PY/PN/N/NI/NA" in str(err.value)


def test_bad_judgement_and_unknown_question():
    with pytest.raises(DataError, match="Low, Some concerns, High"):
        assess_rob2("T", LOW_ANSWERS, judgements={"D2": ("Moderate", "x")})
    with pytest.raises(DataError, match="no signalling question 2.7"):
        assess_rob2("T", {**LOW_ANSWERS, "2.7": "N"}, variant="adherence")


def test_duplicate_study_outcome_rejected():
    a = assess_rob2("T", LOW_ANSWERS)
    with pytest.raises(DataError, match="assessed twice"):
        RobTable("rob2", (a, a))


def test_several_outcomes_need_a_choice():
    rows = [{"study": "A", "outcome": o, **{f"d{i}": "Low" for i in range(1, 6)}} for o in ("HHS", "VAS")]
    rows[1]["d3"] = "High"
    t = from_records(rows)
    with pytest.raises(DataError, match="several outcomes") as err:
        t.judgement_for("A")
    assert err.value.study == "A"
    assert t.judgement_for("A", outcome="VAS") == "High"
    assert t.for_outcome("HHS").low_risk_studies() == ["A"]


# --- ROBINS-I and QUADAS-2 ---------------------------------------------------------------------

ROBINS_CASES = [
    # D1..D7 judgements                                                    expected (Table 3)
    (["Low"] * 7, "Low"),
    (["Moderate", "Low", "Low", "Low", "Low", "Low", "Low"], "Moderate"),
    (["Serious", "Moderate", "Low", "Low", "Low", "Low", "Low"], "Serious"),
    (["Serious", "Critical", "Low", "Low", "Low", "Low", "Low"], "Critical"),
    (["Low", "Low", "No information", "Low", "Low", "Low", "Low"], "No information"),
    (["Serious", "Low", "No information", "Low", "Low", "Low", "Low"], "Serious"),
    (["Critical", "No information", "Low", "Low", "Low", "Low", "Low"], "Critical"),
]


@pytest.mark.parametrize(("domains", "expected"), ROBINS_CASES)
def test_robins_i_overall_rule(domains, expected):
    a = assess_robins_i("S", {f"D{i}": j for i, j in enumerate(domains, start=1)})
    assert a.overall == expected


def test_robins_i_key_domains():
    judgements = {f"D{i}": "Low" for i in range(1, 8)} | {"D7": "No information", "D1": "Moderate"}
    assert robins_overall(judgements) == "No information"
    assert robins_overall(judgements, key_domains=["D1", "D2", "D5"]) == "Moderate"


def test_robins_i_example_file():
    t = read_assessments(EXAMPLES / "robins_i_example.csv", tool="robins-i")
    # By Table 3: A Moderate; B Serious; C NI (D5 NI, nothing serious); D Critical; E Moderate;
    # F Low; G Serious; H NI (D7 NI).
    assert [a.overall for a in t.assessments] == ["Moderate", "Serious", "No information", "Critical",
                                                  "Moderate", "Low", "Serious", "No information"]
    assert t.summary_sentence() == ("1 of 8 studies (13%) was at low risk of bias, 2 (25%) were at "
                                    "moderate risk, 2 (25%) were at serious risk, 1 (13%) was at critical "
                                    "risk and 2 (25%) lacked the information to judge.")


def test_robins_i_missing_domain():
    with pytest.raises(DataError, match="D7 .* has no judgement") as err:
        assess_robins_i("Kang 2018", {f"D{i}": "Low" for i in range(1, 7)})
    assert err.value.study == "Kang 2018" and err.value.column == "d7"


def test_quadas2():
    a = assess_quadas2("Acc 1", {"D1": "Low", "D2": "Low", "D3": "Low", "D4": "Low", "A1": "High"})
    assert a.overall == "Low" and a.applicability == {"A1": "High"}
    assert assess_quadas2("Acc 2", {"D1": "Low", "D2": "Unclear", "D3": "High", "D4": "Low"}).overall == "High"
    t = from_records([{"study": "Acc 3", "d1": "low", "d2": "unclear", "d3": "Low", "d4": "Low"}], "quadas2")
    assert t.summary_sentence() == ("The one study was not at low risk of bias, 1 (100%) was at "
                                    "unclear risk and none was at high risk.")


# --- input files ---------------------------------------------------------------------------------

def test_yaml_example_with_overrides_and_adherence():
    t = read_assessments(EXAMPLES / "overrides_example.yaml")
    k, l_, m = t.assessments
    # K: 3.1 N, 3.2 N, 3.3 PY, 3.4 PN -> Some concerns, overridden to Low with a reason;
    #    4.2 N, 4.3 Y, 4.4 Y, 4.5 PN -> D4 Some concerns -> overall Some concerns.
    assert k.algorithm["D3"] == "Some concerns" and k.domains["D3"] == "Low"
    assert k.overall == "Some concerns"
    # L (adherence): 2.1 Y -> 2.3 Y -> 2.4 N, 2.5 PY -> 2.6 N -> High.
    assert l_.variant == "adherence" and l_.domains["D2"] == "High" and l_.overall == "High"
    # M: D1 (1.2 NI, 1.3 N), D2 (2.3 NI), D4 (4.5 N) Some concerns; rule gives Some concerns,
    #    reviewer's High is kept with its reason.
    assert m.overall_rule == "Some concerns" and m.overall == "High"


def test_yaml_booleans_and_list_form(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("- study: A\n  answers: {1.1: Yes, 1.2: Yes, 1.3: No}\n"
                 "  judgements: {D2: Low, D3: Low, D4: Low, D5: Low}\n")
    t = read_assessments(p)
    assert t.assessment("A").answers == {"1.1": "Y", "1.2": "Y", "1.3": "N"}
    assert t.judgement_for("A") == "Low"


def test_xlsx_round_trip(tmp_path, seed):
    frame = pd.read_csv(EXAMPLES / "seed_rob2.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "rob.xlsx"
    frame.to_excel(path, index=False)
    t = read_assessments(path)
    assert [a.overall for a in t.assessments] == [a.overall for a in seed.assessments]


def test_csv_errors_name_row_and_column(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("study,d1,d2,d3,d4,d5\nA,Low,Low,Low,Low,Bad\n")
    with pytest.raises(DataError) as err:
        read_assessments(p)
    assert err.value.study == "A" and err.value.column == "d5"
    p.write_text("study,d1,d2,d3,d4,d9\nA,Low,Low,Low,Low,Low\n")
    with pytest.raises(DataError, match="no domain D9"):
        read_assessments(p)
    p.write_text("study,d1,d2,d3,d4,d5\n,Low,Low,Low,Low,Low\n")
    with pytest.raises(DataError, match=r"study label is empty \(bad.csv, line 2\)"):
        read_assessments(p)
    with pytest.raises(DataError, match="use .csv"):
        read_assessments(tmp_path / "x.json")


# --- analysis helpers -----------------------------------------------------------------------------

def _data(studies):
    return pd.DataFrame({"study": studies, "yi": range(len(studies))})


def test_restrict_to_low(seed):
    data = _data(["Trial A (China)", "Trial B (China)", "Trial H (Iran)", "Trial J (Spain)"])
    assert restrict_to_low(data, seed)["study"].tolist() == ["Trial A (China)", "Trial J (Spain)"]


def test_restrict_to_low_names_unassessed_study(seed):
    with pytest.raises(DataError, match="not in the risk-of-bias assessments") as err:
        restrict_to_low(_data(["Trial A (China)", "Hernigou 2018"]), seed)
    assert err.value.study == "Hernigou 2018" and err.value.column == "study"


def test_add_rob_column_and_overall_by_study(seed):
    out = add_rob_column(_data(["Trial B (China)", "Trial A (China)"]), seed)
    assert out["rob_overall"].tolist() == ["Some concerns", "Low"]
    assert list(out["rob_overall"].cat.categories) == ["Low", "Some concerns", "High"]
    assert overall_by_study(seed)["Trial D (China)"] == "Some concerns"


def test_summary_sentence_edge_counts():
    low = {f"d{i}": "Low" for i in range(1, 6)}
    rows = [{"study": s, **low, "d2": "High"} for s in "ABC"]
    assert from_records(rows).summary_sentence() == (
        "None of the 3 trials was at low risk of bias, none raised some concerns and 3 (100%) were "
        "at high risk.")
    # 1 of 8 = 12.5% is written 13% (half up), 3 of 8 = 37.5% -> 38%.
    rows = [{"study": f"S{i}", **low, **({"d1": "Some concerns"} if i < 3 else {}),
             **({"d4": "High"} if i == 3 else {})} for i in range(8)]
    assert from_records(rows).summary_sentence(noun="RCTs") == (
        "4 of 8 RCTs (50%) were at low risk of bias, 3 (38%) raised some concerns and 1 (13%) was "
        "at high risk.")


def test_judgment_spelling_and_other_columns_ignored():
    t = from_records([{"study": "A", "d1_judgment": "Low", "d2": "Low", "d3": "Low", "d4": "Low",
                       "d5": "Low", "d1_support": "central randomisation", "notes": "x"}])
    assert t.judgement_for("A") == "Low"


def test_mixed_variant_sheet_with_blank_cells(tmp_path):
    cols = ["study", "variant", "d1_1", "d1_2", "d1_3", "d2_1", "d2_2", "d2_3", "d2_4", "d2_5", "d2_6",
            "d2_7", "d3", "d4", "d5"]
    p = tmp_path / "mixed.csv"
    p.write_text(",".join(cols) + "\n"
                 "A,assignment,Y,Y,N,N,N,,,,N,PN,Low,Low,Low\n"      # D2: part 1 Low, 2.6 N -> 2.7 PN -> Some
                 "B,adherence,Y,Y,N,N,N,,NA,N,Y,,Low,Low,Low\n")     # D2: both N/PN -> 2.4 NA, 2.5 N -> Low
    t = read_assessments(p)
    assert t.assessment("A").domains["D2"] == "Some concerns"
    assert t.assessment("B").domains["D2"] == "Low"


def test_methods_sentence(seed):
    assert seed.methods_sentence().startswith("Risk of bias was assessed with RoB 2 (Sterne et al. 2019) "
                                              "for 10 results")
    assert "no reviewer overrides" in seed.methods_sentence()
    t = read_assessments(EXAMPLES / "overrides_example.yaml")
    assert "2 reviewer overrides, each with its reason" in t.methods_sentence()


def test_csv_with_byte_order_mark(tmp_path):
    # Excel's "CSV UTF-8" export starts with a byte-order mark.
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbfstudy,d1,d2,d3,d4,d5\nA,Low,Low,Low,Low,Low\n")
    assert read_assessments(p).judgement_for("A") == "Low"
