"""Result sentences and guardrails, against numbers written out by hand."""

from __future__ import annotations

import numpy as np

from metakit.report import guardrails as g
from metakit.report.sentences import estimate_text, result_sentence


def test_the_seed_abstract_style():
    # the first seed review's abstract: OR = 0.15; 95% CI: 0.09-0.25; P < 0.00001; I² = 0%
    s = result_sentence("Cell therapy", "femoral head collapse", "OR", "lower", 0.15, 0.09, 0.25,
                        3e-12, 0.0, 10)
    assert s == ("Cell therapy reduced the risk of femoral head collapse "
                 "(OR = 0.15; 95% CI: 0.09-0.25; P < 0.00001; I² = 0%; 10 studies).")


def test_directions_in_words():
    assert "did not change the risk of x significantly" in result_sentence(
        "T", "x", "OR", "lower", 0.8, 0.5, 1.3, 0.3, 10.0, 3)
    assert "improved the score (higher scores)" in result_sentence(
        "T", "the score", "MD", "higher", 10.7, 9.7, 11.69, 1e-8, 51.0, 3)
    assert "improved pain (lower scores)" in result_sentence("T", "pain", "MD", "lower", -8.04, -8.66, -7.42,
                                                             1e-8, 99.0, 3)
    assert estimate_text("MD", -8.04, -8.66, -7.42, 0.0123, None) == "MD = -8.04; 95% CI: -8.66 to -7.42; P = 0.01"


def test_guardrails_fire_on_their_rule_only():
    assert g.common_effect_heterogeneity("o", "common", 50.0) is None  # "above 50%"
    assert g.common_effect_heterogeneity("o", "common", 50.1) is not None
    assert g.tau2_too_few("o", "random", 2) is not None and g.tau2_too_few("o", "random", 3) is None
    assert g.tau2_too_few("o", "common", 2) is None
    assert g.funnel_too_few("o", 9) is not None and g.funnel_too_few("o", 10) is None
    assert g.no_prediction_interval("o", "random", 80.0, False) is not None
    assert g.no_prediction_interval("o", "random", 80.0, True) is None
    assert g.no_prediction_interval("o", "random", 40.0, False) is None


def test_mixed_scales_a_vas_0_10_beside_0_100():
    means = np.array([[16.9, 26.5], [16.0, 32.1], [1.9, 3.1]])
    sds = np.array([[3.6, 2.6], [3.7, 4.1], [0.6, 0.7]])
    w = g.mixed_scales("VAS", "MD", ["Ma", "Tabatabaee", "Small"], means, sds)
    # SDs: 3.1, 3.9, 0.65 -> 6-fold; means: 21.7, 24.05, 2.5 -> 10-fold
    assert w is not None and "SDs differ 6-fold" in w.reason and "means differ 10-fold" in w.reason
    assert "SMD" in w.action
    assert g.mixed_scales("VAS", "SMD", ["a", "b", "c"], means, sds) is None
    assert g.mixed_scales("VAS", "MD", ["Ma", "Tabatabaee"], means[:2], sds[:2]) is None


def test_totals_disagree_names_the_study_and_both_numbers():
    w = g.totals_disagree("collapse", {"Zhao 2012": 97.0, "Ma 2014": 49.0},
                          {"Zhao 2012": 104.0, "Ma 2014": 49.0})
    assert w is not None and "Zhao 2012: 97 in the outcome, 104 in the characteristics" in w.reason
    assert "Ma 2014" not in w.reason
