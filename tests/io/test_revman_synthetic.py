"""A RevMan review written for the tests: every outcome type against metafor / hand formulas.

tests/io/data/synthetic.rm5 and tests/reference/revman_synthetic.json are both written by
tests/reference/revman_synthetic.R (metafor 3.8.1 and the formulas of Deeks & Higgins 2010;
see its header for what each analysis covers). The file is encoded in Windows-1252 while
declaring ISO-8859-1, leaves optional attributes out in analysis 1.10, marks non-estimable
studies, and has an empty analysis and RoB 1 items with outcome groups.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from metakit.errors import MetakitWarning
from metakit.io import RevManError, read_revman
from reference_data import arr, close, load

DATA = Path(__file__).parent / "data"
REF = load("revman_synthetic")
ANALYSES = ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.10"]


@pytest.fixture(scope="module")
def review():
    with pytest.warns(MetakitWarning, match="2 risk-of-bias judgement"):
        return read_revman(DATA / "synthetic.rm5")


def _check(fit, ref, ratio):
    tr = math.exp if ratio else float
    p = fit.pooled
    assert close([tr(p.estimate), tr(p.ci_lb), tr(p.ci_ub)], [ref["estimate"], ref["ci_lb"], ref["ci_ub"]],
                 rtol=1e-12, atol=1e-15)
    assert close([p.se, abs(p.stat), p.pval], [ref["se"], ref["z"], ref["pval"]], rtol=1e-10, atol=1e-15)
    h = fit.heterogeneity
    assert close([h.Q, h.pval, h.I2, fit.tau2], [ref["Q"], ref["pval_Q"], ref["I2"], ref["tau2"]],
                 rtol=1e-10, atol=1e-14)
    assert h.df == ref["df"]


@pytest.mark.parametrize("number", ANALYSES)
def test_each_analysis_equals_metafor(review, number):
    o = review.outcome(number)
    ref = REF[number]
    res = o.meta()
    overall = res.overall if o.has_subgroups else res
    _check(overall, ref["pooled"], o.ratio)
    assert close(overall.yi, arr(ref["yi"]), rtol=1e-12, atol=1e-15)
    assert close(overall.vi, arr(ref["vi"]), rtol=1e-12, atol=1e-15)
    assert close(overall.weights, arr(ref["weight"]), rtol=1e-12, atol=1e-13)
    # and compare() sets metakit beside the stored values R wrote into the file
    cmp = o.compare(res)
    assert close(cmp["metakit"], cmp["revman"], rtol=1e-12, atol=1e-14)


def test_settings_read(review):
    got = {o.number: (o.type, o.method, o.measure, o.ratio, o.random) for o in review.outcomes}
    assert got == {
        "1.1": ("DICH", "MH", "RD", False, True), "1.2": ("DICH", "PETO", "PETO", True, False),
        "1.3": ("DICH", "IV", "RR", True, True), "1.4": ("CONT", "IV", "MD", False, True),
        "1.5": ("CONT", "IV", "SMD", False, True), "1.6": ("IV", "IV", "Hazard Ratio", True, False),
        "1.7": ("IV", "IV", "Mean Difference", False, True), "1.8": ("IPD", "PETO", "PETO", True, False),
        "1.9": ("DICH", "MH", "RR", True, False), "1.10": ("DICH", "MH", "OR", True, False)}
    assert review.outcome("1.7").ci_total == 90 and review.outcome("1.7").ci_study == 90


def test_subgroups_and_their_test_equal_metafor(review):
    o = review.outcome("1.3")
    ref = REF["1.3"]
    res = o.meta()
    assert res.groups == ("Low dose", "High dose")
    for g in res.groups:
        _check(res[g], ref["subgroups"][g], ratio=True)
    assert close([res.test.statistic, res.test.pval, res.test_I2],
                 [ref["test"]["Q"], ref["test"]["pval"], ref["test"]["I2"]], rtol=1e-10, atol=1e-14)
    assert res.test.df == 1


def test_ninety_percent_interval_equals_metafor_level_90(review):
    res = review.outcome("1.7").meta()
    assert close([res.ci_lb, res.ci_ub], REF["1.7"]["metafor_ci"], rtol=1e-12)


def test_non_estimable_rows_are_kept_but_not_pooled(review):
    peto = review.outcome("1.2")
    assert len(peto.data) == 5 and list(peto.data["estimable"]) == [True, True, True, False, True]
    assert peto.meta().k == 4
    hr = review.outcome("1.6")
    assert hr.data["estimable"].tolist() == [True] * 5 + [False]
    assert np.isnan(hr.data["estimate"].iloc[5])
    # LOG_DATA="YES": the stored ratios are analysed as logs
    assert close(hr.data["estimate"].iloc[:5], np.log([0.75, 0.82, 0.60, 0.95, 0.70]), rtol=1e-15)


def test_windows_1252_names_and_missing_optional_attributes(review):
    names = review.studies.set_index("study_id")["study"]
    assert names["STD-S02"] == "O\u2019Brien 2001"            # byte 0x92
    assert names["STD-S03"] == "M\u00fcller\u2013Schmidt 2003"  # bytes 0xFC, 0x96
    swapped = review.outcome("1.10")
    assert swapped.swap_events and swapped.ci_study == 95 and swapped.ci_total == 95
    assert swapped.data["order"].isna().all()


def test_empty_analysis_is_read_and_named_when_pooled(review):
    o = review.outcome("1.9")
    assert o.data.empty and not o.stored.computed
    with pytest.raises(RevManError, match=r"line \d+, element <DICH_OUTCOME>: analysis 1.9"):
        o.meta()


def test_rob1_judgements_per_outcome_group(review):
    rob = review.rob
    assert [d.name for d in rob.tool.domains] == [
        "Random sequence generation (selection bias)", "Allocation concealment (selection bias)",
        "Blinding of outcome assessment (detection bias)"]  # "Other bias" has no judgement
    assert rob.outcomes == ["Objective outcomes", "Subjective outcomes"]
    to = {"YES": "Low", "NO": "High", "UNKNOWN": "Unclear", None: "Unclear"}
    r = REF["rob"]
    names = {s["id"]: s["name"] for s in REF["studies"]}
    for i, sid in enumerate(r["ids"]):
        study = names[sid]
        for group, item3 in (("Objective outcomes", r["item3_objective"]),
                             ("Subjective outcomes", r["item3_subjective"])):
            a = rob.assessment(study, group)
            judged = [to[r["item1"][i]], to[r["item2"][i]], to[item3[i]]]
            assert list(a.domains.values()) == judged
            # RoB 1 overall (Handbook 8.7): High if any High, Low if all Low, else Unclear
            want = "High" if "High" in judged else "Low" if set(judged) == {"Low"} else "Unclear"
            assert a.overall == want
    assert review.rob.assessment("Adams 1999", "Subjective outcomes").overall == "High"


def test_analyses_table_and_tidy_data(review):
    a = review.analyses.set_index("number")
    assert list(a.index) == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10"]
    assert a.loc["1.3", "subgroups"] == 2 and a.loc["1.7", "ci_total"] == 90 and a.loc["1.10", "swap_events"]
    assert a.loc["1.2", "studies"] == 4  # the double-zero study is not estimable
    assert a.loc["1.4", "revman_tau2"] == REF["1.4"]["pooled"]["tau2"]
    data = review.data
    # one row per study and outcome: 6 + 5 + 7 + 5 + 4 + 6 + 5 + 4 + 0 + 3 rows written by the R script
    assert len(data) == 45
    assert data.groupby("outcome_id").size().to_dict()["CMP-001.03"] == 7
