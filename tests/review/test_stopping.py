"""Stopping rules against hand calculations, and the status of a store."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metakit.errors import DataError
from metakit.review import screening as scr
from metakit.review.stopping import (
    consecutive_rule,
    knee_rule,
    random_sampling_test,
    screening_status,
    simulate_stopping,
)
from metakit.review.store import Project


def test_consecutive_rule_counts_the_run_since_the_last_inclusion():
    y = [1, 0, 0, 1] + [0] * 49
    assert consecutive_rule(y, n=50).stop is False      # 49 exclusions in a row
    assert consecutive_rule(y + [0], n=50).stop is True
    assert consecutive_rule(y + [0], n=50).estimate == 50
    with pytest.raises(DataError):
        consecutive_rule([1, 2], n=3)


def test_knee_rule_hand_calculation():
    # 10 inclusions in the first 10 records, then 190 exclusions: s = 200, r = 10.
    # The knee (farthest above the chord from (0,0) to (200,10)) is at (10, 10).
    # rho = (10/10) / ((10 - 10 + 1) / (200 - 10)) = 190; threshold 156 - 10 = 146
    v = knee_rule([1] * 10 + [0] * 190)
    assert v.estimate == pytest.approx(190.0) and v.threshold == 146 and v.stop
    # after 100 records rho = 90 < 146, and fewer than 150 were screened
    assert not knee_rule([1] * 10 + [0] * 90).stop
    # a steady rate of inclusions has no knee worth stopping at
    assert not knee_rule(([1] + [0] * 9) * 30).stop


def test_random_sampling_test_hand_calculation():
    # N = 1000 remaining, 40 found before sampling, 600 sampled with no inclusion,
    # target 0.9: K = floor(40 / 0.9 - 40) + 1 = 4 + 1 = 5 inclusions would remain if
    # recall were < 0.9. P(no inclusion in 600 draws) = C(995, 600) / C(1000, 600)
    N, n, K = 1000, 600, 5
    p = math.comb(N - K, n) / math.comb(N, n)
    v = random_sampling_test(N, 40, [0] * n, recall=0.9, confidence=0.95)
    assert v.estimate == pytest.approx(p, rel=1e-9)
    assert p < 0.05 and v.stop
    # 200 draws: p = C(995, 200) / C(1000, 200) = 0.327 -> keep screening
    v = random_sampling_test(N, 40, [0] * 200, recall=0.9, confidence=0.95)
    assert v.estimate == pytest.approx(math.comb(995, 200) / math.comb(1000, 200))
    assert not v.stop
    # one inclusion among 300 draws: seen 41, K = floor(41/0.9 - 40) + 1 = 6;
    # p = P(X <= 1), X ~ hypergeometric(N=1000, K=6, n=300)
    y = [0] * 299 + [1]
    p1 = sum(math.comb(6, x) * math.comb(994, 300 - x) for x in (0, 1)) / math.comb(1000, 300)
    v = random_sampling_test(N, 40, y, recall=0.9)
    assert v.estimate == pytest.approx(p1, rel=1e-9)
    # recall estimate: 41 / (41 + (1/300) * 700)
    assert v.recall_estimate == pytest.approx(41 / (41 + 700 / 300))


def test_simulated_stopping_reports_recall_and_work_saved():
    y = np.array([1] * 8 + [0] * 100 + [1] + [0] * 391)   # 9 inclusions in 500
    res = simulate_stopping(y, "consecutive", n=50)
    # the first run of 50 exclusions ends at record 8 + 50 = 58
    assert res.screened == 58 and res.recall == pytest.approx(8 / 9)
    assert res.work_saved == pytest.approx(1 - 58 / 500)
    res = simulate_stopping(y, "random-sampling", start="consecutive", n=50, recall=0.8,
                            seed=1)
    assert res.extra["sampling_started"] == 58 and res.screened > 58
    assert res.recall >= 8 / 9


def test_status_of_a_store_with_a_random_sample(database_url, tmp_path):
    with Project.open(database_url) as p:
        p.add_import([{"title": f"T{i}"} for i in range(300)], file="x.ris",
                     source_db="MEDLINE", format="ris")
        for rid in range(1, 11):
            scr.record_decision(p, rid, "title-abstract", "ann", "include")
        for rid in range(11, 161):
            scr.record_decision(p, rid, "title-abstract", "ann", "exclude")
        st = screening_status(p, "title-abstract", n=100)
        assert (st.pool, st.screened, st.included) == (300, 160, 10)
        rules = {v.rule: v for v in st.verdicts}
        assert rules["consecutive"].stop and rules["consecutive"].estimate == 150
        # knee at (10, 10): rho = 1 / (1 / 150) = 150 >= 146
        assert rules["knee"].stop
        assert "random-sampling" not in rules and "--random" in st.summary()
        for rid in range(161, 261):
            scr.record_decision(p, rid, "title-abstract", "ann", "exclude",
                                origin="random-sample")
        st = screening_status(p, "title-abstract", recall=0.9)
        v = {v.rule: v for v in st.verdicts}["random-sampling"]
        # N = 140 left when sampling began, 10 found, 100 sampled without inclusion
        # K = floor(10 / 0.9 - 10) + 1 = 2; p = C(138, 100) / C(140, 100)
        #   = (40 * 39) / (140 * 139) = 0.0802 > 0.05: keep sampling
        assert v.estimate == pytest.approx(40 * 39 / (140 * 139))
        assert not v.stop
        for rid in range(261, 281):
            scr.record_decision(p, rid, "title-abstract", "ann", "exclude",
                                origin="random-sample")
        v = {v.rule: v for v in screening_status(p, recall=0.9).verdicts}["random-sampling"]
        # 120 sampled: p = (20 * 19) / (140 * 139) = 0.0195 < 0.05: stop
        assert v.estimate == pytest.approx(20 * 19 / (140 * 139)) and v.stop
