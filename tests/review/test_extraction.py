"""Dual extraction in the store: form rules, blinding, comparison, reconciliation, export.

The exported sheets are checked by running them through ``metakit meta`` and
``effect_sizes`` and comparing with log odds ratios and mean differences worked by hand
below (Borenstein et al. 2009, Introduction to Meta-Analysis, eq. 5.8-5.10 and 4.1-4.5).
The study figures are those of Mao 2015 and Hauzeur 2018 in examples/data/onfh_tha.csv and
of Sen 2012 and Mao 2015 in examples/stem-cell-onfh/continuous.csv.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from metakit.errors import DataError, MetakitWarning
from metakit.report.spec import SpecError
from metakit.report.starter import TEMPLATES
from metakit.review import extraction as ex
from metakit.review.audit import trail
from metakit.review.database import open_database
from metakit.review.dual_entry import BlindError
from metakit.review.extraction_form import parse_form, read_form
from metakit.review.studies import add_study, list_studies

FORM = Path(__file__).parent / "data" / "extraction_form.yaml"

# What two extractors read from the reports; ben mistypes Mao's control events (8 for 9)
# and leaves Hauzeur's mean age empty.
ANA = {
    "Mao 2015": {"year": 2015, "allocation": "Randomised", "source": "PMC4376653", "certainty": "exact",
                 "THA:e_t": 3, "THA:n_t": 48, "THA:e_c": 9, "THA:n_c": 41,
                 "function:m_t": 88.1, "function:sd_t": 3.3, "function:n_t": 48,
                 "function:m_c": 78.5, "function:sd_c": 8.7, "function:n_c": 41,
                 "function:scale_note": "Harris hip score 0-100"},
    "Hauzeur 2018": {"year": 2018, "allocation": "randomised", "mean_age": 47.5, "certainty": "exact",
                     "THA:e_t": 15, "THA:n_t": 23, "THA:e_c": 15, "THA:n_c": 23},
    "Sen 2012": {"year": 2012, "allocation": "Randomised", "certainty": "exact",
                 "function:m_t": 82.4, "function:sd_t": 9.2, "function:n_t": 26,
                 "function:m_c": 77.4, "function:sd_c": 17.0, "function:n_c": 25},
}


def _ben() -> dict[str, dict[str, object]]:
    ben = {s: dict(v) for s, v in ANA.items()}
    ben["Mao 2015"]["THA:e_c"] = 8
    del ben["Hauzeur 2018"]["mean_age"]
    return ben


@pytest.fixture
def db(database_url):
    database = open_database(database_url)
    ex.save_form(database, FORM.read_text(encoding="utf-8"), actor="owner")
    for study in ANA:
        add_study(database, study, actor="owner", label=study.split()[0])
    yield database
    database.dispose()


def _extract(db, who: str, data: dict[str, dict[str, object]]) -> None:
    for study, values in data.items():
        assert ex.enter(db, study, who, values)
        assert ex.submit_entry(db, study, who)


# ---- the form -------------------------------------------------------------------------------


def test_form_sheets_have_the_columns_of_the_init_templates():
    form = read_form(FORM)
    for sheet in ("binary", "continuous"):
        header = TEMPLATES[f"{sheet}.csv"].splitlines()[0].split(",")
        assert list(form.sheets[sheet]) == header


@pytest.mark.parametrize("text, line, words", [
    ("form: F\nstudy_fields:\n  - {name: age, type: numbr}\n", 3, "must be one of number"),
    ("form: F\nstudy_fields:\n  - {name: x, type: choice}\n", 3, "needs 'choices'"),
    ("form: F\nstudy_fields:\n  - {name: x, type: text, min: 0}\n", 3, "min/max bound numbers"),
    ("form: F\nstudy_fields:\n  - {name: x, type: integer}\ncolour: red\n", 4, "unknown key 'colour'"),
    ("form: F\noutcomes:\n  - name: A\n    sheet: s\n    arm_fields:\n"
     "      - {name: e, type: integer, at_most: total}\n", 6, "at_most names 'total'"),
    ("form: F\noutcomes:\n  - name: A\n    sheet: s\n    arm_fields: [{name: e, type: integer}]\n"
     "sheets:\n  s: [study, outcome]\n", 7, "leaves out column 'e_t'"),
    ("form: F\noutcomes:\n  - name: A\n    sheet: s\n    arm_fields: [{name: e, type: integer}]\n"
     "  - name: A\n    sheet: s\n", 6, "two outcomes are named 'A'"),
    ("form: F\nstudy_fields:\n  - {name: study, type: text}\n", 3, "must be letters"),
])
def test_form_errors_name_the_line_and_the_rule(text, line, words):
    with pytest.raises(SpecError) as err:
        parse_form(text, "form.yaml")
    assert err.value.line == line
    assert words in str(err.value)
    assert str(err.value).startswith(f"form.yaml, line {line}:")


def test_arms_named_per_study():
    form = parse_form("form: F\narms: {t: Cells, c: Control}\narm_names: {t: intervention, c: control}\n"
                      "outcomes:\n  - name: THA\n    sheet: binary\n    arm_fields: [{name: e, type: integer}]\n")
    assert [s.key for s in form.slots] == ["intervention", "control", "THA:e_t", "THA:e_c"]
    assert form.sheets["binary"] == ("study", "intervention", "control", "outcome", "e_t", "e_c")
    assert form.slot("intervention").field.label == "Cells: as this study names it"
    with pytest.raises(SpecError, match="line 1: arm_names: 'x' is not an arm"):
        parse_form("form: F\narms: {t: T}\narm_names: {x: name_x}\nstudy_fields: [{name: year, type: integer}]\n")


def test_values_are_typed_and_checked_against_the_form():
    form = read_form(FORM)
    assert form.parse_value("year", "2015") == "2015"
    assert form.parse_value("mean_age", "47.50") == "47.5"
    assert form.parse_value("allocation", "not RANDOMISED") == "Not randomised"
    assert form.parse_value("year", " ") is None
    with pytest.raises(DataError, match=r"study 'Mao', column 'year': '2015.5' is not a whole number"):
        form.parse_value("year", "2015.5", study="Mao")
    with pytest.raises(DataError, match="column 'mean_age': 130 years is above the largest allowed value 120"):
        form.parse_value("mean_age", 130)
    with pytest.raises(DataError, match="'1,5' is not a number"):
        form.parse_value("mean_age", "1,5")
    with pytest.raises(DataError, match="is not one of the choices: Randomised, Not randomised"):
        form.parse_value("allocation", "quasi")
    with pytest.raises(DataError, match="the form has no value 'THA:e_x'"):
        form.parse_value("THA:e_x", 1)


# ---- entries, blinding ------------------------------------------------------------------------


def test_entry_rules_and_blinding(db):
    with pytest.raises(DataError, match=r"column 'THA:e_t': 50 is more than n_t = 48"):
        ex.enter(db, "Mao 2015", "ana", {"THA:e_t": 50, "THA:n_t": 48})
    assert ex.enter(db, "Mao 2015", "ana", {"year": 2015, "THA:e_t": 3})
    assert ex.entry(db, "Mao 2015", "ana", reader="ana") == {"year": "2015", "THA:e_t": "3"}
    with pytest.raises(DataError, match="required values missing: THA:n_t, THA:e_c, THA:n_c"):
        ex.submit_entry(db, "Mao 2015", "ana")
    assert ex.enter(db, "Mao 2015", "ben", {"year": 2016})
    with pytest.raises(BlindError):
        ex.entry(db, "Mao 2015", "ana", reader="ben")
    with pytest.raises(BlindError):
        ex.compare(db, "Mao 2015", reader="carla")
    with pytest.raises(BlindError, match="written by its extractor only"):
        ex.dual.write_values(db, ex._target("Mao 2015"), "ana", {"year": "1999"}, actor="ben")
    ex.enter(db, "Mao 2015", "ana", {"THA:n_t": 48, "THA:e_c": 9, "THA:n_c": 41})
    assert ex.submit_entry(db, "Mao 2015", "ana")
    with pytest.raises(DataError, match="was submitted"):
        ex.enter(db, "Mao 2015", "ana", {"year": 2014})
    with pytest.raises(BlindError):  # one submitted entry does not open the comparison
        ex.entry(db, "Mao 2015", "ana", reader="ben")
    assert ex.submit_entry(db, "Mao 2015", "ben")
    assert ex.entry(db, "Mao 2015", "ana", reader="ben")["THA:e_c"] == "9"
    with pytest.raises(DataError, match="the review has no such study"):
        ex.enter(db, "Nobody 2020", "ana", {"year": 2020})


def test_request_id_makes_a_retry_a_no_op(db):
    assert ex.enter(db, "Mao 2015", "ana", {"year": 2015}, request_id="r-1")
    assert not ex.enter(db, "Mao 2015", "ana", {"year": 2015}, request_id="r-1")
    assert not ex.enter(db, "Mao 2015", "ana", {"year": 2020}, request_id="r-1")
    assert ex.entry(db, "Mao 2015", "ana", reader="ana") == {"year": "2015"}
    assert len(trail(db, action="extraction.enter")) == 1


# ---- compare, reconcile, export ---------------------------------------------------------------


def test_comparison_lists_the_discrepancies(db):
    _extract(db, "ana", ANA)
    _extract(db, "ben", _ben())
    mao = ex.compare(db, "Mao 2015", reader="carla")
    assert mao.discrepancies == ("THA:e_c",)
    # ana and ben filled 15 values of Mao 2015 (4 study fields, 4 of THA, 7 of function);
    # 14 agree.
    assert len(mao.compared) == 15
    assert mao.agreement == pytest.approx(14 / 15)
    row = mao.to_frame().set_index("key").loc["THA:e_c"]
    assert (row["ana"], row["ben"], row["agree"]) == ("9", "8", False)
    assert "THA:e_c: ana 9, ben 8" in mao.summary()
    hauzeur = ex.compare(db, "Hauzeur 2018", reader="ana")
    assert hauzeur.discrepancies == ("mean_age",)
    assert json.loads(json.dumps(hauzeur.to_dict()))["discrepancies"] == ["mean_age"]


def test_reconcile_export_and_meta_on_the_agreed_sheet(db, tmp_path):
    _extract(db, "ana", ANA)
    _extract(db, "ben", _ben())
    with pytest.raises(DataError, match="1 discrepancy not settled: THA:e_c"):
        ex.reconcile(db, "Mao 2015", "carla")
    agreed = ex.reconcile(db, "Mao 2015", "carla", choices={"THA:e_c": 9},
                          notes={"THA:e_c": "table 3 of the report"}, request_id="rec-1")
    assert agreed["THA:e_c"] == "9" and agreed["year"] == "2015"
    ex.reconcile(db, "Hauzeur 2018", "carla", choices={"mean_age": 47.5})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        binary = ex.agreed_sheet(db, "binary")
    assert any("1 study is not reconciled and left out of the sheet: Sen 2012" in str(w.message)
               for w in caught if issubclass(w.category, MetakitWarning))
    ex.reconcile(db, "Sen 2012", "carla")
    path = tmp_path / "binary.csv"
    assert ex.export_sheet(db, "binary", path) == 2
    text = path.read_text(encoding="utf-8").splitlines()
    assert text[0] == TEMPLATES["binary.csv"].splitlines()[0]
    assert text[1:] == ["Hauzeur,2018,THA,15,23,15,23,Randomised,47.5,,exact",
                        "Mao,2015,THA,3,48,9,41,Randomised,,PMC4376653,exact"]
    assert len(binary) == 2

    from metakit.stats.effects import effect_sizes

    # log odds ratio and its variance by hand (Borenstein 2009, eq. 5.8-5.10)
    lor_mao = math.log((3 * (41 - 9)) / ((48 - 3) * 9))
    v_mao = 1 / 3 + 1 / 45 + 1 / 9 + 1 / 32
    lor_hau = math.log((15 * 8) / (8 * 15))
    v_hau = 1 / 15 + 1 / 8 + 1 / 15 + 1 / 8
    es = effect_sizes(pd.read_csv(path), "OR")
    assert es.yi.tolist() == pytest.approx([lor_hau, lor_mao], rel=1e-12)
    assert es.vi.tolist() == pytest.approx([v_hau, v_mao], rel=1e-12)

    from metakit.cli import app

    res = CliRunner().invoke(app, ["meta", str(path), "--measure", "OR", "--model", "common", "--json"])
    assert res.exit_code == 0, res.output
    pooled = (lor_mao / v_mao + lor_hau / v_hau) / (1 / v_mao + 1 / v_hau)
    out = json.loads(res.output)
    assert out["study"] == ["Hauzeur", "Mao"]
    assert out["common"]["estimate"] == pytest.approx(pooled, rel=1e-10)
    assert out["common"]["se"] == pytest.approx(math.sqrt(1 / (1 / v_mao + 1 / v_hau)), rel=1e-10)

    cont = tmp_path / "continuous.xlsx"
    assert ex.export_sheet(db, "continuous", cont) == 2
    es = effect_sizes(pd.read_excel(cont), "MD")
    # mean difference and variance sd_t²/n_t + sd_c²/n_c (Borenstein 2009, eq. 4.1-4.5)
    assert es.yi.tolist() == pytest.approx([88.1 - 78.5, 82.4 - 77.4], rel=1e-12)
    assert es.vi.tolist() == pytest.approx([3.3**2 / 48 + 8.7**2 / 41, 9.2**2 / 26 + 17.0**2 / 25], rel=1e-12)

    rec = trail(db, action="extraction.reconcile")
    assert rec.actor.tolist() == ["carla"] * 3
    detail = rec.detail.iloc[0]
    assert detail["values"]["THA:e_c"] == ["9", "chosen", "table 3 of the report"]
    assert detail["values"]["year"] == ["2015", "agreed", None]
    # ana and ben may read each other's entries now; the reconciliation can be retried safely
    assert ex.entry(db, "Mao 2015", "ben", reader="ana")["THA:e_c"] == "8"
    ex.reconcile(db, "Mao 2015", "carla", choices={"THA:e_c": 9}, request_id="rec-1")
    assert len(trail(db, action="extraction.reconcile")) == 3


def test_typed_value_and_status(db):
    _extract(db, "ana", {"Sen 2012": ANA["Sen 2012"]})
    _extract(db, "ben", {"Sen 2012": {**ANA["Sen 2012"], "function:sd_c": 71.0}})
    with pytest.raises(DataError, match="-17 points is below the smallest allowed value 0"):
        ex.reconcile(db, "Sen 2012", "carla", choices={"function:sd_c": -17})
    ex.reconcile(db, "Sen 2012", "carla", choices={"function:sd_c": "17.1"}, notes={"function:sd_c": "typo"})
    with db.read() as conn:
        source = conn.execute(sa.text("SELECT source FROM dual_agreed WHERE slot = 'function:sd_c'")).scalar_one()
    assert source == "typed"
    st = ex.status(db).set_index("study_id")
    assert st.loc["Sen 2012", "submitted"] == "ana ben"
    assert st.loc["Sen 2012", "reconciled_by"] == "carla"
    assert pd.isna(st.loc["Mao 2015", "reconciled_by"])
    assert list_studies(db).label.tolist() == ["Hauzeur", "Mao", "Sen"]


def test_form_versions(db):
    assert ex.save_form(db, FORM.read_text(encoding="utf-8"), actor="owner") == 1
    _extract(db, "ana", {"Sen 2012": ANA["Sen 2012"]})
    _extract(db, "ben", {"Sen 2012": ANA["Sen 2012"]})
    ex.reconcile(db, "Sen 2012", "carla")
    assert ex.save_form(db, "form: F\nstudy_fields:\n  - {name: year, type: integer}\n", actor="owner") == 2
    assert [s.key for s in ex.current_form(db).slots] == ["year"]
    with pytest.warns(MetakitWarning, match="2 studies are not reconciled and left out of the sheet: "
                                            "Hauzeur 2018, Mao 2015"):
        assert ex.agreed_sheet(db, None).values.tolist() == [["Sen", 2012]]
    # a form whose year may not be before 2015 makes the agreed 2012 an error, not a silent row
    ex.save_form(db, "form: F\nstudy_fields:\n  - {name: year, type: integer, min: 2015}\n", actor="owner")
    with pytest.raises(DataError, match="study 'Sen 2012', column 'year': 2012 is below the smallest allowed"), \
            pytest.warns(MetakitWarning):
        ex.agreed_sheet(db, None)


def test_studies_from_screening_group_included_records_by_study_id(tmp_path, monkeypatch):
    from metakit.review import screening as scr
    from metakit.review import store
    from metakit.review.store import Project
    from metakit.review.studies import studies_from_screening

    # screening registers its migration on first use; keep the global list as it was
    monkeypatch.setattr(store, "MIGRATIONS", list(store.MIGRATIONS))

    path = tmp_path / "review.db"
    p = Project.open(path)
    p.add_import([{"title": f"Report {i}", "year": 2015} for i in range(1, 6)], file="s.ris", source_db="MEDLINE",
                 format="ris")
    scr.define_reasons(p, "full-text", ["wrong design"])
    # records 1 and 2 report one trial; 3 is included without a study id; 4 is excluded;
    # 5 is a conflict (one include, one exclude) and so not included yet
    for rid, (a, b) in {1: ("include", "include"), 2: ("include", "include"), 3: ("include", "include"),
                        4: ("exclude", "exclude"), 5: ("include", "exclude")}.items():
        for who, d in (("ana", a), ("ben", b)):
            scr.record_decision(p, rid, "full-text", who, d, "wrong design" if d == "exclude" else None)
    scr.set_report(p, 1, retrieved=True, study_id="Mao 2015")
    scr.set_report(p, 2, retrieved=True, study_id="Mao 2015")
    db = open_database(path)
    try:
        assert studies_from_screening(db, p, actor="owner") == ["Mao 2015", "record 3"]
        assert list_studies(db)[["study_id", "records"]].values.tolist() == [["Mao 2015", "1 2"], ["record 3", "3"]]
        assert studies_from_screening(db, p, actor="owner") == []
    finally:
        db.dispose()
        p.close()


def test_a_request_id_retried_concurrently_writes_once(db):
    import threading

    results, barrier = [], threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        results.append(ex.enter(db, "Mao 2015", "ana", {"year": 2015}, request_id="same"))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert len(trail(db, action="extraction.enter")) == 1


def test_concurrent_first_writes_of_one_extractor_both_land(db):
    import threading

    barrier = threading.Barrier(2)

    def post(key: str, value: object) -> None:
        barrier.wait()
        ex.enter(db, "Mao 2015", "ana", {key: value})

    threads = [threading.Thread(target=post, args=a) for a in (("year", 2015), ("THA:e_t", 3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ex.entry(db, "Mao 2015", "ana", reader="ana") == {"year": "2015", "THA:e_t": "3"}


def test_metakit_run_reads_the_exported_sheets_and_rob_file(db, tmp_path):
    from metakit.cli import app
    from metakit.review import rob_assessment as ra

    _extract(db, "ana", ANA)
    _extract(db, "ben", ANA)
    for study in ANA:
        ex.reconcile(db, study, "carla")
    # RoB 2 answers: the ILLUSTRATIVE Mao 2015 row of examples/stem-cell-onfh/rob2.csv (D1 Some
    # concerns by 1.2 = NI, the rest Low; see tests/review/test_rob_assessment.py)
    answers = dict(zip("1.1 1.2 1.3 2.1 2.2 2.3 2.6 3.1 4.1 4.2 4.3 5.1 5.2 5.3".split(),
                       "Y NI N Y Y N Y Y N N N Y N N".split()))
    for study in ("Mao 2015", "Hauzeur 2018"):
        for who in ("ana", "ben"):
            ra.answer(db, study, "THA", who, {**answers, "1.2": "NI" if study == "Mao 2015" else "Y"})
            ra.submit_assessment(db, study, "THA", who)
        ra.reconcile_assessment(db, study, "THA", "carla")
    ex.export_sheet(db, "binary", tmp_path / "binary.csv")
    ex.export_sheet(db, "continuous", tmp_path / "continuous.csv")
    ra.export_assessments(db, tmp_path / "rob2.csv")
    (tmp_path / "review.yaml").write_text(
        "title: Exported from the store\nsheets: {binary: binary.csv, continuous: continuous.csv}\n"
        "outcomes:\n  - {id: tha, name: THA, sheet: binary, where: {outcome: THA}, measure: OR, model: common}\n"
        "  - {id: hhs, name: HHS, sheet: continuous, where: {outcome: function}, measure: MD, model: common}\n"
        "rob: {file: rob2.csv}\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["run", str(tmp_path / "review.yaml"), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    tha = pd.read_csv(tmp_path / "out" / "tables" / "tha_studies.csv").set_index("Study")
    assert tha.loc["Mao 2015", "yi"] == pytest.approx(math.log(3 * 32 / (45 * 9)), rel=1e-12)
    assert tha.loc["Hauzeur 2018", "vi"] == pytest.approx(2 / 15 + 2 / 8, rel=1e-12)
    hhs = pd.read_csv(tmp_path / "out" / "tables" / "hhs_studies.csv").set_index("Study")
    assert hhs.loc["Sen 2012", "yi"] == pytest.approx(82.4 - 77.4, rel=1e-12)
    # the RoB sheet names the studies as the analysis does, so the judgements link to the effects
    from metakit.rob import read_assessments

    rob = read_assessments(tmp_path / "rob2.csv")
    assert set(rob.studies) <= set(tha.index)
    assert rob.overall_by_study("THA") == {"Hauzeur 2018": "Low", "Mao 2015": "Some concerns"}
    assert "Some concerns" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
