"""mk.meta end to end (arm data -> effect sizes -> fit) against metafor, RevMan 5 and hand calculations."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import metakit as mk
from metakit.errors import DataError, MetakitWarning
from reference_data import arr, close, load

REF = load("metafor_pairwise")
CI = {"z": "z", "knha": "hk", "adhoc": "hk-adhoc"}


def _frame(ds) -> pd.DataFrame:
    if ds["kind"] == "binary":
        return pd.DataFrame({"study": ds["study"], "e_t": ds["ai"], "n_t": ds["n1i"],
                             "e_c": ds["ci"], "n_c": ds["n2i"]})
    return pd.DataFrame({"study": ds["study"], "m_t": ds["m1i"], "sd_t": ds["sd1i"],
                         "n_t": ds["n1i"], "m_c": ds["m2i"], "sd_c": ds["sd2i"],
                         "n_c": ds["n2i"]})


def _binary():
    return [n for n, ds in REF["datasets"].items() if ds["kind"] == "binary"]


def _fits():
    for name, ds in REF["datasets"].items():
        if ds["kind"] == "generic":
            continue
        for fit in ds["fits"]:
            if fit["test"] == "z" or fit["method"] in ("DL", "REML"):
                yield pytest.param(name, fit, id=f"{name}-{fit['measure']}-{fit['method']}-{fit['test']}")


@pytest.mark.parametrize("name, fit", list(_fits()))
def test_meta_from_arm_data_equals_metafor(name, fit):
    ds = REF["datasets"][name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetakitWarning)
        es = mk.effect_sizes(_frame(ds), fit["measure"], drop00=False)
    common = fit["method"] == "FE"
    res = mk.meta(es, model="common" if common else "random",
                  tau2_method=None if common else fit["method"], ci=CI[fit["test"]])
    atol = 1e-8 if fit["tau2"] > 1e-10 or fit["tau2"] == 0 else 1e-6
    assert close(res.tau2, fit["tau2"] if fit["tau2"] > 1e-10 else 0.0, atol=1e-9)
    assert close(res.estimate, fit["beta"], atol=atol)
    assert close([res.ci_lb, res.ci_ub], [fit["ci_lb"], fit["ci_ub"]], atol=atol)
    assert close(res.pval, fit["pval"], atol=1e-10)
    assert close(res.heterogeneity.Q, fit["QE"])
    assert close(res.heterogeneity.I2, fit["I2"], atol=1e-6)
    assert close(res.weights, fit["weights_percent"], atol=1e-7)
    if not common:
        assert close([res.pi_lb, res.pi_ub], [fit["pred"]["pi_lb"], fit["pred"]["pi_ub"]], atol=atol)
        if fit.get("confint") and fit["test"] == "z":
            ci = res.confint()
            ref_ci = fit["confint"]["tau2"]
            # metafor searches the upper bound only up to max(100, 10 tau²) and returns
            # that cap when the root lies beyond it; ours is the root itself
            capped = math.isclose(ref_ci[2], max(100.0, 10 * ref_ci[0]), rel_tol=1e-9)
            for key in ("tau2", "I2", "H2"):
                ours, ref = getattr(ci, key), fit["confint"][key]
                assert close(ours[1], ref[1], atol=1e-7), key
                if capped:
                    assert ours[2] > ref[2], key
                else:
                    assert close(ours[2], ref[2], atol=1e-7), key


@pytest.mark.parametrize("name", _binary())
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_mantel_haenszel_equals_metafor(name, measure):
    ds = REF["datasets"][name]
    ref = ds["mh"][measure]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetakitWarning)
        es = mk.effect_sizes(_frame(ds), measure)
    res = mk.meta_mh(es, model="common")
    assert close(res.estimate, ref["beta"], atol=1e-10)
    assert close(res.se, ref["se"], atol=1e-10)
    assert close([res.ci_lb, res.ci_ub], [ref["ci_lb"], ref["ci_ub"]], atol=1e-10)
    assert close(res.pval, ref["pval"], atol=1e-12)
    assert close(res.heterogeneity.Q, ref["QE"], atol=1e-9)
    assert close(res.heterogeneity.pval, ref["QEp"], atol=1e-12)
    assert close(res.heterogeneity.I2, ref["I2"], atol=1e-8)


@pytest.mark.parametrize("name", _binary())
def test_peto_equals_metafor(name):
    ds = REF["datasets"][name]
    ref = ds["peto"]
    res = mk.meta_peto(mk.effect_sizes(_frame(ds), "OR", drop00=False), model="common")
    assert res.measure == "PETO"
    assert close(res.estimate, ref["beta"], atol=1e-10)
    assert close(res.se, ref["se"], atol=1e-10)
    assert close(res.pval, ref["pval"], atol=1e-12)
    assert close(res.heterogeneity.Q, ref["QE"], atol=1e-9)
    assert close(res.heterogeneity.I2, ref["I2"], atol=1e-8)


# RevMan 5's own results, stored in the real RevMan file ../shared/data/revman/Fleiss1993.rm5
# (outcome CMP-001.01, aspirin after myocardial infarction, MH odds ratio, fixed effect).
FLEISS = pd.DataFrame({
    "study": ["MRC-1", "CDP", "MRC-2", "GASP", "PARIS", "AMIS", "ISIS-2"],
    "e_t": [49, 44, 102, 32, 85, 246, 1570], "n_t": [615, 758, 832, 317, 810, 2267, 8587],
    "e_c": [67, 64, 126, 38, 52, 219, 1720], "n_c": [624, 771, 850, 309, 406, 2257, 8600]})
FLEISS_REVMAN = {"EFFECT_SIZE": 0.8968655609130709, "CI_START": 0.8405144008917793,
                 "CI_END": 0.9569947088336491, "Z": 3.287633061337987,
                 "P_Z": 0.0010103343130005407, "CHI2": 9.946055983220074,
                 "P_CHI2": 0.1269422521561745, "I2": 39.67458045558399,
                 "WEIGHT": [3.176490004091248, 3.1016891143394365, 5.675380442715663,
                            1.795484618258711, 3.2176243566716805, 10.153491219997628,
                            72.87984024392564]}


def test_revman_mode_reproduces_revman_file():
    res = mk.meta(mk.effect_sizes(FLEISS, "OR"), convention="revman", model="common")
    r = FLEISS_REVMAN
    assert close(math.exp(res.estimate), r["EFFECT_SIZE"], rtol=1e-12)
    assert close(math.exp(res.ci_lb), r["CI_START"], rtol=1e-12)
    assert close(math.exp(res.ci_ub), r["CI_END"], rtol=1e-12)
    assert close(abs(res.common.stat), r["Z"], rtol=1e-12)
    assert close(res.pval, r["P_Z"], rtol=1e-10)
    assert close(res.heterogeneity.Q, r["CHI2"], rtol=1e-12)
    # RevMan's own chi² tail is accurate to ~6e-7 here; R's pchisq(9.946055983220074, 6,
    # lower.tail = FALSE) = 0.1269421779062949 is the exact value
    assert close(res.heterogeneity.pval, 0.1269421779062949, rtol=1e-10)
    assert close(res.heterogeneity.pval, r["P_CHI2"], rtol=1e-5)
    assert close(res.heterogeneity.I2, r["I2"], rtol=1e-10)
    assert close(res.weights, r["WEIGHT"], rtol=1e-10)
    assert "Chi² = 9.95, df = 6 (P = 0.13); I² = 40%" in res.summary()
    assert "Test for overall effect: Z = 3.29 (P = 0.001)" in res.summary()


def test_revman_random_effects_is_dl_from_mh_heterogeneity():
    """Deeks & Higgins (RevMan 5): tau² = (Q_MH - df)/(sum w - sum w²/sum w), w = 1/v."""
    ds = REF["datasets"]["bcg"]
    es = mk.effect_sizes(_frame(ds), "OR")
    res = mk.meta(es, convention="revman")
    y, v = arr(ds["escalc"]["OR"]["yi"]), arr(ds["escalc"]["OR"]["vi"])
    w = 1 / v
    q_mh = ds["mh"]["OR"]["QE"]                       # metafor's Q about the MH estimate
    tau2 = (q_mh - 12) / (w.sum() - (w * w).sum() / w.sum())
    wr = 1 / (v + tau2)
    mu = (wr * y).sum() / wr.sum()
    se = 1 / math.sqrt(wr.sum())
    t11 = 2.2009851600916388                          # qt(0.975, 11): t(k - 2) prediction interval
    assert close(res.tau2, tau2, rtol=1e-10)
    assert close([res.estimate, res.se], [mu, se], rtol=1e-10)
    assert close(res.pi_lb, mu - t11 * math.sqrt(se**2 + tau2), rtol=1e-10)
    assert close(res.heterogeneity.I2, 100 * (q_mh - 12) / q_mh, rtol=1e-10)


SUB = load("metafor_subgroups")


def _sub_es():
    df = pd.DataFrame({"study": SUB["study"], "alloc": SUB["alloc"], "e_t": SUB["ai"],
                       "n_t": SUB["n1i"], "e_c": SUB["ci"], "n_c": SUB["n2i"]})
    return mk.effect_sizes(df, "RR", keep=("alloc",))


@pytest.mark.parametrize("method", ["DL", "REML"])
def test_subgroups_separate_tau2_equal_metafor(method):
    ref = SUB["fits"][f"separate_{method}"]
    res = mk.meta(_sub_es(), tau2_method=method, by="alloc")
    assert res.groups == tuple(SUB["groups"])
    for g, fit in zip(res.groups, res.subgroups):
        r = ref["subgroups"][g]
        assert fit.k == r["k"]
        assert close([fit.estimate, fit.se, fit.tau2], [r["beta"], r["se"], r["tau2"]], atol=1e-8)
        assert close(fit.heterogeneity.Q, r["QE"])
    assert close([res.test.statistic, res.test.pval], [ref["Q_between"], ref["p"]], atol=1e-8)
    assert res.test.df == ref["df"]
    assert "Test for subgroup differences: Chi² = " in res.summary()


@pytest.mark.parametrize("method", ["DL", "REML"])
def test_subgroups_common_tau2_equal_metafor_moderator_model(method):
    ref = SUB["fits"][f"common_{method}"]
    res = mk.meta(_sub_es(), tau2_method=method, by="alloc", common_tau2=True)
    for g, fit in zip(res.groups, res.subgroups):
        assert close(fit.tau2, ref["tau2"], atol=1e-9)
        assert close([fit.estimate, fit.se], [ref["beta"][g], ref["se"][g]], atol=1e-8)
    assert close([res.test.statistic, res.test.pval], [ref["QM"], ref["QMp"]], atol=1e-8)


def test_k1_gives_study_estimate_with_warning():
    df = FLEISS.iloc[:1]
    with pytest.warns(MetakitWarning, match="only one study"):
        res = mk.meta(mk.effect_sizes(df, "OR"))
    a, b, c, d = 49, 615 - 49, 67, 624 - 67
    assert close(res.estimate, math.log(a * d / (b * c)), rtol=1e-12)
    assert close(res.se, math.sqrt(1 / a + 1 / b + 1 / c + 1 / d), rtol=1e-12)
    assert res.tau2 == 0 and res.heterogeneity.df == 0
    with pytest.raises(ValueError, match="two studies"):
        res.confint()


def test_tau2_below_zero_is_truncated():
    # hine1989: DL's moment estimate is negative; metafor reports 0
    ds = REF["datasets"]["hine1989"]
    res = mk.meta(mk.effect_sizes(_frame(ds), "RD"), tau2_method="DL")
    assert res.tau2 == 0.0


def test_summary_lines_are_revman_style():
    res = mk.meta(mk.effect_sizes(_frame(REF["datasets"]["bcg"]), "RR"), tau2_method="REML")
    text = res.summary()
    assert "Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001); I² = 92%" in text
    assert "Test for overall effect: Z = 3.97 (P < 0.0001)" in text
    assert "0.49 [0.34, 0.70]" in text       # exp(-0.7145) and its CI
    hk = mk.meta(mk.effect_sizes(_frame(REF["datasets"]["bcg"]), "RR"), ci="hk")
    assert "Test for overall effect: t = " in hk.summary() and ", df = 12 (P " in hk.summary()


def test_results_serialise():
    import json
    res = mk.meta(mk.effect_sizes(_frame(REF["datasets"]["bcg"]), "RR"))
    d = json.loads(json.dumps(res.to_dict()))
    assert d["tau2_method"] == "REML" and d["k"] == 13
    frame = res.to_frame()
    assert list(frame["study"][:2]) == ["Aronson 1948", "Ferguson & Simes 1949"]
    assert close(frame["weight_random"][:13].sum(), 100.0)
    assert "restricted maximum likelihood" in res.methods_text


def test_bad_settings_are_named():
    es = mk.effect_sizes(_frame(REF["datasets"]["normand1999"]), "MD")
    with pytest.raises(ValueError, match="Mantel-Haenszel pools OR, RR or RD"):
        mk.meta(es, method="MH")
    with pytest.raises(ValueError, match="unknown tau² estimator"):
        mk.meta(es, tau2_method="XYZ")
    with pytest.raises(DataError, match="column 'nope'"):
        mk.meta(es, by="nope")


def test_common_summary_keeps_the_wald_interval_under_hartung_knapp():
    """RevMan and R's meta print a z-based common-effect summary beside a Hartung-Knapp
    random-effects one. By hand: w = 1/v, mu = sum(w y)/sum(w), SE = 1/sqrt(sum w)."""
    d = pd.DataFrame({"study": list("ABCDE"), "yi": [0.1, 0.5, 0.3, 0.9, -0.2],
                      "vi": [0.04, 0.05, 0.02, 0.08, 0.03]})
    fit = mk.meta(mk.effect_sizes(d, "GEN", variance="vi"), ci="hk")
    w = 1 / d.vi
    mu, se = (w * d.yi).sum() / w.sum(), (1 / w.sum()) ** 0.5
    assert np.isclose(fit.common.ci_lb, mu - 1.959963984540054 * se, rtol=1e-12)
    assert np.isnan(fit.common.df) and fit.random.stat_name == "t"
