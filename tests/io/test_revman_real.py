"""Real RevMan 5 files: read them and re-run every analysis to RevMan's own stored results.

Files (tests/io/data/README.md names their origin): Fleiss1993.rm5 (R package meta's
example, RevMan 5.0.23) and antibiotics-for-sore-throat.rm5 (Cochrane review CD000023,
RevMan 5.2.11: 21 MH risk-ratio analyses, random effects, subgroups, RoB 1).

Precision: an .rm5 file stores doubles, so estimates, CIs, Z, Q, I², tau² and weights must
agree to rounding (rtol 1e-12). RevMan's P values come from its own approximations of the
normal and chi² tails, accurate to about 1e-5 relative / 3e-7 absolute (the exact tail of
RevMan's own Q is checked with scipy, an independent implementation).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from metakit.io import RevManError, read_revman
from reference_data import close, load

DATA = Path(__file__).parent / "data"
FLEISS = DATA / "Fleiss1993.rm5"
ABX = DATA / "antibiotics-for-sore-throat.rm5"
SYN = load("revman_synthetic")

EXACT = ("estimate", "ci_lb", "ci_ub", "z", "Q", "I2", "tau2", "df")


@pytest.fixture(scope="module")
def fleiss():
    return read_revman(FLEISS)


@pytest.fixture(scope="module")
def abx():
    return read_revman(ABX)


def test_fleiss_structure(fleiss):
    assert fleiss.title == "Examples from Fleiss 1993"
    assert fleiss.version == "5.0.23"
    assert len(fleiss.studies) == 12
    assert [o.number for o in fleiss.outcomes] == ["1.1", "1.2"]
    o = fleiss.outcome("CMP-001.01")
    assert (o.type, o.method, o.measure, o.random, o.ratio) == ("DICH", "MH", "OR", False, True)
    assert o.labels == {"group_1": "Aspirin", "group_2": "Control", "graph_1": "Favours experimental",
                        "graph_2": "Favours control"}
    isis = o.data.set_index("study").loc["ISIS-2"]
    assert (isis.e_t, isis.n_t, isis.e_c, isis.n_c, isis.year) == (1570, 8587, 1720, 8600, "1988")
    assert list(o.data["study"]) == ["MRC-1", "CDP", "MRC-2", "GASP", "PARIS", "AMIS", "ISIS-2"]
    # RevMan's stored values, typed from the file's DICH_OUTCOME element
    s = o.stored
    assert (s.estimate, s.ci_lb, s.ci_ub, s.z) == (0.8968655609130709, 0.8405144008917793,
                                                   0.9569947088336491, 3.287633061337987)
    assert (s.Q, s.pval_Q, s.I2, s.df, s.k) == (9.946055983220074, 0.1269422521561745, 39.67458045558399, 6, 7)
    assert (s.events_1, s.total_1, s.events_2, s.total_2) == (2128, 14186, 2286, 13817)
    assert (o.data["e_t"].sum(), o.data["n_t"].sum(), o.data["e_c"].sum(), o.data["n_c"].sum()) == (
        2128, 14186, 2286, 13817)
    c = fleiss.outcome("1.2")
    assert (c.type, c.measure, c.method) == ("CONT", "SMD", "IV")
    assert not c.stored.computed  # RevMan left this analysis's results blank
    assert list(c.data["sd_c"]) == [3.8, 2.3, 10.65, 1.66, 1.41]


def test_fleiss_mh_or_equals_revman(fleiss):
    o = fleiss.outcome("1.1")
    res = o.meta()
    s = o.stored
    assert close([math.exp(res.estimate), math.exp(res.ci_lb), math.exp(res.ci_ub)],
                 [s.estimate, s.ci_lb, s.ci_ub], rtol=1e-12, atol=0)
    assert close(abs(res.common.stat), s.z, rtol=1e-12, atol=0)
    assert close([res.heterogeneity.Q, res.heterogeneity.I2], [s.Q, s.I2], rtol=1e-12, atol=0)
    assert res.heterogeneity.df == s.df
    assert close(res.weights, o.data["revman_weight"], rtol=1e-12, atol=0)
    assert close(res.pval, s.pval, rtol=1e-9, atol=0)
    assert close(res.heterogeneity.pval, stats.chi2.sf(s.Q, s.df), rtol=1e-12, atol=0)
    assert close(res.heterogeneity.pval, s.pval_Q, rtol=1e-5, atol=0)
    # study rows: log OR and its SE (RevMan's SE attribute), on the analysis scale
    assert close(res.yi, np.log(o.data["revman_effect"]), rtol=1e-12, atol=1e-15)
    assert close(np.sqrt(res.vi), o.data["revman_se"], rtol=1e-12, atol=0)


def test_fleiss_smd_left_blank_by_revman_equals_metafor(fleiss):
    """Outcome 1.2 has no stored results: RevMan's SMD formula by hand + metafor rma(method="FE")."""
    ref = SYN["fleiss_smd"]
    res = fleiss.outcome("1.2").meta()
    p = ref["pooled"]
    assert close([res.estimate, res.se, res.ci_lb, res.ci_ub], [p["estimate"], p["se"], p["ci_lb"], p["ci_ub"]],
                 rtol=1e-12, atol=1e-15)
    assert close([res.heterogeneity.Q, res.pval], [p["Q"], p["pval"]], rtol=1e-10, atol=0)
    assert close(res.yi, ref["yi"], rtol=1e-12, atol=0) and close(res.vi, ref["vi"], rtol=1e-12, atol=0)
    assert close(res.weights, ref["weight"], rtol=1e-12, atol=0)


def test_fleiss_rob_is_one_item_all_unclear(fleiss):
    # Only "Allocation concealment?" has data in this file, all RESULT="UNKNOWN".
    rob = fleiss.rob
    assert [d.name for d in rob.tool.domains] == ["Allocation concealment?"]
    assert len(rob.studies) == 12
    assert set(rob.to_frame()["Overall"]) == {"Unclear"}


def _pooled_checks(fit, stored, ratio):
    tr = math.exp if ratio else float
    p = fit.pooled
    ours = {"estimate": tr(p.estimate), "ci_lb": tr(p.ci_lb), "ci_ub": tr(p.ci_ub), "z": abs(p.stat),
            "Q": fit.heterogeneity.Q, "I2": fit.heterogeneity.I2, "tau2": fit.tau2,
            "df": fit.heterogeneity.df}
    for name in EXACT:
        assert close(ours[name], getattr(stored, name), rtol=1e-12, atol=1e-14), name
    assert close(p.pval, stored.pval, rtol=1e-5, atol=3e-7)
    assert close(fit.heterogeneity.pval, stored.pval_Q, rtol=1e-2, atol=3e-7)
    if stored.df > 0:
        assert close(fit.heterogeneity.pval, stats.chi2.sf(stored.Q, stored.df), rtol=1e-10, atol=1e-300)


ABX_ANALYSES = [f"1.{i}" for i in range(1, 8)] + ["2.1", "2.2", "2.3", "3.1", "3.2"] + \
    [f"4.{i}" for i in range(1, 9)]


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("number", ABX_ANALYSES)
def test_antibiotics_every_analysis_equals_revman(abx, number):
    o = abx.outcome(number)
    assert (o.type, o.method, o.measure, o.random) == ("DICH", "MH", "RR", True)
    res = o.meta()
    overall = res.overall if o.has_subgroups else res
    _pooled_checks(overall, o.stored, ratio=True)
    # RevMan's STUDIES counts distinct studies, estimable or not (a study may sit in two subgroups)
    assert o.stored.k == o.data["study_id"].nunique()
    assert overall.k == o.stored.df + 1
    if o.has_subgroups:
        pooled_groups = o.estimable["subgroup"].unique().tolist()
        assert list(res.groups) == [g for g in o.subgroups if g in pooled_groups]
        for g in res.groups:
            _pooled_checks(res[g], o.subgroups[g], ratio=True)
        if len(res.groups) > 1:
            assert close([res.test.statistic, res.test_I2], [o.test.Q, o.test.I2], rtol=1e-12, atol=1e-14)
            assert close(res.test.pval, stats.chi2.sf(o.test.Q, res.test.df), rtol=1e-10, atol=0)
            assert close(res.test.pval, o.test.pval, rtol=1e-5, atol=3e-7)
    # study rows: RevMan's weights (in the overall analysis), effects and CIs
    cmp = o.compare(res)
    st = cmp[cmp["kind"] == "study"].dropna(subset=["revman"])
    assert len(st) >= 4 * overall.k
    assert close(st["metakit"], st["revman"], rtol=1e-12, atol=1e-15)


def test_antibiotics_subgroup_test_p_is_revmans_approximation(abx):
    """Analysis 1.4: chi² on 2 df has the closed-form tail exp(-Q/2); RevMan's stored P is 6e-6 off."""
    o = abx.outcome("1.4")
    res = o.meta()
    assert res.test.df == 2
    assert close(res.test.pval, math.exp(-13.853972946994332 / 2), rtol=1e-13, atol=0)
    assert o.test.pval == 9.809584506433877e-4


def test_antibiotics_single_subgroup_and_empty_outcome(abx):
    # 4.3: only the "early" subgroup has studies; RevMan stores the test as Q = 0, P = 1.
    o = abx.outcome("4.3")
    res = o.meta()
    assert len(res.groups) == 1 and res.test.df == 0 and res.test.statistic == 0
    assert (o.test.Q, o.test.pval) == (0.0, 1.0)
    # 2.4: three studies, all ESTIMABLE="NO" (no events in either arm): read, nothing to pool.
    empty = abx.outcome("2.4")
    assert list(empty.data["study"]) == ["Brink 1951", "Denny 1950", "Landsman 1951"]
    assert not empty.data["estimable"].any() and empty.stored.df == 0
    with pytest.raises(RevManError, match=r"line \d+, element <DICH_OUTCOME>: analysis 2.4 .* no estimable study"):
        empty.meta()


def test_antibiotics_rob1_table(abx):
    rob = abx.rob
    assert rob.tool.key == "rob1"
    # QIT-07 and QIT-08 carry no judgement in the file: not domains of the review's table
    assert [d.name for d in rob.tool.domains] == [
        "Random sequence generation (selection bias)", "Allocation concealment (selection bias)",
        "Blinding (performance bias and detection bias)", "Incomplete outcome data (attrition bias)",
        "Selective reporting (reporting bias)", "Other bias"]
    assert len(rob.studies) == 27
    # Judgements read from the file: Bennike 1951 NO, NO, NO, YES, UNKNOWN, UNKNOWN
    a = rob.assessment("Bennike 1951")
    assert list(a.domains.values()) == ["High", "High", "High", "Low", "Unclear", "Unclear"]
    assert a.overall == "High"
    # Catanzaro 1954: UNKNOWN, NO, YES, YES, UNKNOWN, UNKNOWN
    assert list(rob.assessment("Catanzaro 1954").domains.values()) == [
        "Unclear", "High", "Low", "Low", "Unclear", "Unclear"]


def test_antibiotics_rob1_sentences_and_figures(abx, tmp_path):
    rob = abx.rob
    # overall judgements by the Handbook rule, counted from the table itself
    overall = rob.to_frame()["Overall"].value_counts().to_dict()
    assert sum(overall.values()) == 27 and "Low" not in overall
    assert rob.summary_sentence().startswith(
        f"None of the 27 studies was at low risk of bias, {overall['Unclear']} (")
    assert rob.methods_sentence().startswith("Risk of bias was assessed with the Cochrane risk-of-bias tool "
                                             "(RoB 1; Higgins et al. 2011) for 27 assessments")
    from metakit.plots.rob import traffic_light
    traffic_light(rob, tmp_path / "tl.png")
    assert (tmp_path / "tl.png").read_bytes()[:4] == b"\x89PNG"
