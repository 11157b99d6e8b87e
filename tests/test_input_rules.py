"""Issue 13: input rules of the API (out-of-range numbers, labels, duplicates, incomplete
rows, ratio-scale CIs), the common-effect prediction interval, I² formatting and the SD of
change from baseline. Each value asserted is worked out by hand in the test."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import metakit as mk
from metakit.errors import DataError, MetakitWarning
from metakit.formatting import fmt_pct


def _md(**changes) -> pd.DataFrame:
    df = pd.DataFrame({"study": ["A", "B", "C"], "m_t": [5.0, 6.0, 7.0], "sd_t": [1.0, 2.0, 1.5],
                       "n_t": [10, 20, 15], "m_c": [4.0, 4.5, 6.0], "sd_c": [1.0, 2.0, 1.5],
                       "n_c": [10, 20, 15]})
    for col, values in changes.items():
        df[col] = values
    return df


# -- out-of-range numbers are named errors --------------------------------------------

def test_mean_of_1e308_with_md_is_a_named_error():
    with pytest.raises(DataError, match=r"study 'A', column 'm_t': out of range"):
        mk.effect_sizes(_md(m_t=[1e308, 6.0, 7.0]), "MD")


def test_variance_of_1e_300_with_gen_is_a_named_error():
    df = pd.DataFrame({"study": ["A", "B", "C"], "yi": [1.0, 2.0, 1.0], "vi": [1e-300, 1e-300, 1.0]})
    with pytest.raises(DataError, match=r"study 'A'.*sampling variance 1e-300 is out of range"):
        mk.effect_sizes(df, "GEN", variance="vi")


@pytest.mark.parametrize("measure, frame, column", [
    ("PETO", pd.DataFrame({"study": ["A", "B"], "e_t": [1e200, 2], "n_t": [1e300, 10],
                           "e_c": [1e200, 3], "n_c": [1e300, 10]}), "e_t"),
    ("ROM", _md(sd_t=[1e200, 2.0, 1.5]), "sd_t"),
    ("GEN", pd.DataFrame({"study": ["A", "B"], "yi": [1e200, -1e200], "vi": [1.0, 1.0]}), "yi"),
])
def test_huge_inputs_are_named_errors_not_na(measure, frame, column):
    kw = {"variance": "vi"} if measure == "GEN" else {}
    with pytest.raises(DataError, match=rf"study 'A', column '{column}': out of range"):
        mk.effect_sizes(frame, measure, **kw)


def test_underflowing_sd_is_a_named_error_not_an_exclusion():
    # SD 1e-30 is a legal number but its variance 1e-61 / 10 underflows the computable range
    with pytest.raises(DataError, match=r"study 'A'.*sampling variance .* out of range"):
        mk.effect_sizes(_md(sd_t=[1e-30, 2.0, 1.5], sd_c=[1e-30, 2.0, 1.5]), "MD")


# -- labels ----------------------------------------------------------------------------

def test_whitespace_only_label_is_refused_and_labels_are_stripped():
    with pytest.raises(DataError, match="study label is missing or blank"):
        mk.effect_sizes(_md(study=["   ", "B", "C"]), "MD")
    assert mk.effect_sizes(_md(study=[" A ", "B", "C"]), "MD").study[0] == "A"


def test_year_appended_only_when_asked_and_checked():
    df = _md(study=["Smith", "Lee 1999", "Chan"], year=[2003.0, 1999, np.nan])
    assert mk.effect_sizes(df, "MD").study == ("Smith", "Lee 1999", "Chan")
    assert mk.effect_sizes(df, "MD", year="year").study == ("Smith 2003", "Lee 1999", "Chan")
    bad = _md(year=[12345678901234567890, np.nan, 2001])
    with pytest.raises(DataError, match=r"study 'A', column 'year': a year must be a whole number"):
        mk.effect_sizes(bad, "MD", year="year")


def test_duplicate_labels_warn_naming_rows():
    with pytest.warns(MetakitWarning, match=r"'A' \(rows 1, 3\)"):
        mk.effect_sizes(_md(study=["A", "B", "A"]), "MD")


# -- incomplete rows -------------------------------------------------------------------

def test_incomplete_rows_dropped_with_every_study_named():
    df = _md(sd_t=[np.nan, 2.0, 1.5], n_c=[10, " ", 15])
    df["sd_t"] = df["sd_t"].astype(object)
    with pytest.raises(DataError, match="study 'A', column 'sd_t': missing value"):
        mk.effect_sizes(df, "MD")
    with pytest.warns(MetakitWarning) as rec:
        es = mk.effect_sizes(df, "MD", incomplete="drop")
    text = " ".join(str(w.message) for w in rec)
    assert "2 studies with missing data dropped: 'A' (sd_t missing); 'B' (n_c missing)" in text
    assert es.study == ("C",) and es.yi.tolist() == [1.0]


def test_incomplete_generic_needs_some_variance_source():
    df = pd.DataFrame({"study": ["A", "B", "C"], "yi": [0.1, 0.2, 0.3],
                       "vi": [np.nan, 0.04, np.nan], "se": [0.2, np.nan, np.nan]})
    with pytest.warns(MetakitWarning, match=r"1 study with missing data dropped: 'C' \(no vi, se\)"):
        es = mk.effect_sizes(df, "GEN", variance="vi", se="se", incomplete="drop")
    assert es.study == ("A", "B")
    np.testing.assert_allclose(es.vi, [0.04, 0.04])


# -- a ratio CI given on the identity scale --------------------------------------------

def test_ratio_ci_without_scale_ratio_warns():
    # OR 0.5 [0.3, 0.9]: arms 0.2 and 0.4 about 0.5, but 0.51 and 0.59 about log(0.5)
    df = pd.DataFrame({"study": ["A", "B"], "or": [0.5, 0.8], "lo": [0.3, 0.5], "hi": [0.9, 1.3]})
    with pytest.warns(MetakitWarning, match=r"symmetric about the log.*scale='ratio'"):
        mk.effect_sizes(df, "GEN", estimate="or", ci=("lo", "hi"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mk.effect_sizes(df, "GEN", estimate="or", ci=("lo", "hi"), scale="ratio")
        # a mean difference with a symmetric CI raises nothing
        md = pd.DataFrame({"study": ["A", "B"], "yi": [2.0, -1.0], "lo": [1.0, -3.0], "hi": [3.0, 1.0]})
        mk.effect_sizes(md, "GEN", ci=("lo", "hi"))


# -- prediction interval of a common-effect fit ----------------------------------------

def test_predict_of_common_effect_fit_is_its_ci():
    es = mk.effect_sizes(pd.DataFrame({"study": list("ABCD"), "yi": [0.1, 0.9, -0.4, 0.6],
                                       "vi": [0.04, 0.05, 0.03, 0.06]}), "GEN", variance="vi")
    fit = mk.meta(es, model="common")
    p = fit.predict()
    # common effect by hand: weights 1/vi
    w = 1 / np.array([0.04, 0.05, 0.03, 0.06])
    mu = float((w * [0.1, 0.9, -0.4, 0.6]).sum() / w.sum())
    half = 1.959963984540054 / math.sqrt(w.sum())
    assert p["pred"] == pytest.approx(mu, abs=1e-12)
    assert (p["pi_lb"], p["pi_ub"]) == pytest.approx((mu - half, mu + half), abs=1e-12)
    assert mk.meta(es, model="random").predict()["pi_lb"] < mu - half  # tau² > 0 here


# -- I² never prints as -0% ------------------------------------------------------------

def test_i2_rounding_to_zero_prints_without_sign():
    assert fmt_pct(-1e-12) == "0%" and fmt_pct(-0.4) == "0%" and fmt_pct(49.5) == "50%"


# -- SD of change from baseline (Cochrane Handbook 6.5.2.8) ----------------------------

def test_sd_change_from_correlation_by_hand():
    from metakit.stats.conversions import correlation_from_sds, sd_change

    # SD_change = sqrt(SD_b² + SD_f² - 2 r SD_b SD_f)
    #   = sqrt(4.42² + 4.23² - 2 x 0.53 x 4.42 x 4.23) = sqrt(19.5364 + 17.8929 - 19.818396)
    assert float(sd_change(4.42, 4.23, 0.53)) == pytest.approx(math.sqrt(17.610904), abs=1e-12)
    assert float(sd_change(10, 12, 0.6)) == pytest.approx(10.0)  # sqrt(244 - 144)
    # Corr = (SD_b² + SD_f² - SD_change²) / (2 SD_b SD_f) = 19.7052 / 37.3932
    assert float(correlation_from_sds(4.42, 4.23, 4.21)) == pytest.approx(19.7052 / 37.3932, abs=1e-12)
    with pytest.raises(DataError, match=r"\[-1, 1\]"):
        sd_change(1.0, 1.0, 1.5)
    with pytest.raises(DataError, match="correlation outside"):
        correlation_from_sds(1.0, 1.0, 3.0)


# -- "Favours" sides when higher is better ---------------------------------------------

def test_forest_higher_is_better_swaps_the_default_favours():
    from metakit.plots.forest import forest

    es = mk.effect_sizes(pd.DataFrame({"study": list("ABC"), "yi": [0.1, 0.4, 0.3],
                                       "vi": [0.04, 0.05, 0.03]}), "GEN", variance="vi")
    fit = mk.meta(es)

    def sides(fig):
        texts = {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts}
        return texts["favours-left"], texts["favours-right"]

    assert sides(forest(fit)) == ("Favours [experimental]", "Favours [control]")
    assert sides(forest(fit, higher_is_better=True)) == ("Favours [control]", "Favours [experimental]")
    assert sides(forest(fit, favours=("Worse", "Better"), higher_is_better=True)) == ("Worse", "Better")


def test_subgroup_order_in_the_api():
    df = pd.DataFrame({"study": list("ABCD"), "yi": [0.5, 0.3, 0.4, 0.1], "vi": [0.1, 0.2, 0.1, 0.2],
                       "era": ["late", "early", "late", "early"]})
    es = mk.effect_sizes(df, "GEN", variance="vi", keep=["era"])
    assert mk.meta(es, by="era").groups == ("late", "early")
    res = mk.meta(es, by="era", subgroup_order=["early"])
    assert res.groups == ("early", "late")
    assert res.subgroups[0].study == ("B", "D")  # the fits follow the order too
    with pytest.raises(DataError, match="'mid', which is not a subgroup"):
        mk.meta(es, by="era", subgroup_order=["mid"])
