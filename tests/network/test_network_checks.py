"""Every rule of metakit.network.checks reproduced by a named error; zero-cell notes."""

import numpy as np
import pandas as pd
import pytest

from metakit.errors import DataError, MetakitWarning
from metakit.network import from_arms, from_contrasts, nma


def arms(rows):
    return pd.DataFrame(rows, columns=["study", "treatment", "events", "n"])


def test_disconnected_network_lists_subnetworks():
    data = {"studlab": ["s1", "s2", "s3"], "treat1": ["A", "C", "A"], "treat2": ["B", "D", "B"],
            "TE": [0.1, 0.2, 0.3], "seTE": [0.1, 0.1, 0.1]}
    with pytest.raises(DataError) as err:
        from_contrasts(data)
    msg = str(err.value)
    assert "disconnected: 2 sub-networks" in msg
    assert "{A, B} (studies s1, s3)" in msg and "{C, D} (study s2)" in msg


def test_treatment_spelled_two_ways_is_reported():
    data = arms([("s1", "CD", 3, 20), ("s1", "CD + low", 1, 20), ("s2", "cd ", 4, 30), ("s2", "CD + low", 2, 30)])
    with pytest.raises(DataError) as err:
        from_arms(data, "OR")
    msg = str(err.value)
    assert "spelled 2 ways" in msg and "'CD' (study s1)" in msg and "'cd' (study s2)" in msg


def test_one_arm_study_is_named():
    data = arms([("s1", "A", 3, 20), ("s1", "B", 1, 20), ("s2", "A", 4, 30)])
    with pytest.raises(DataError, match=r"study 's2'.*at least two arms.*one: s2"):
        from_arms(data, "OR")


def test_duplicated_arm_is_named():
    data = arms([("s1", "A", 3, 20), ("s1", "B", 1, 20), ("s2", "A", 4, 30), ("s2", "A", 5, 30)])
    with pytest.raises(DataError, match=r"study 's2'.*duplicated arm: treatment 'A' appears 2 times"):
        from_arms(data, "OR")


def test_duplicated_contrast_is_named():
    data = {"studlab": ["s1", "s1"], "treat1": ["A", "B"], "treat2": ["B", "A"], "TE": [0.1, -0.1],
            "seTE": [0.1, 0.1]}
    with pytest.raises(DataError, match=r"study 's1'.*A vs B appears twice"):
        from_contrasts(data)


def test_treatment_compared_with_itself():
    data = {"studlab": ["s1", "s2"], "treat1": ["A", "B"], "treat2": ["B", "B"], "TE": [0.1, 0.2],
            "seTE": [0.1, 0.1]}
    with pytest.raises(DataError, match=r"study 's2'.*'B' is compared with itself"):
        from_contrasts(data)


def test_incomplete_multi_arm_study():
    data = {"studlab": ["s1", "s1"], "treat1": ["A", "A"], "treat2": ["B", "C"], "TE": [0.1, 0.2],
            "seTE": [0.1, 0.1]}
    with pytest.raises(DataError, match=r"study 's1'.*arms A, B, C needs all 3 pairwise comparisons, 2 given"):
        from_contrasts(data)


def test_bad_standard_error_and_missing_label():
    data = {"studlab": ["s1", "s2"], "treat1": ["A", "B"], "treat2": ["B", "C"], "TE": [0.1, 0.2],
            "seTE": [0.1, 0.0]}
    with pytest.raises(DataError, match=r"study 's2', column 'seTE': row 2: standard error 0.0 must be > 0"):
        from_contrasts(data)
    data["seTE"] = [0.1, 0.2]
    data["treat2"] = ["B", None]
    with pytest.raises(DataError, match=r"column 'treat2': row 2: missing value"):
        from_contrasts(data)


def test_unknown_reference():
    data = {"studlab": ["s1"], "treat1": ["A"], "treat2": ["B"], "TE": [0.1], "seTE": [0.1]}
    with pytest.raises(KeyError, match="reference 'X' is not a treatment"):
        nma(data, reference="X")


def test_zero_cells_corrected_in_every_arm_with_a_note():
    # s2 is three-armed with a zero in arm C: 0.5 goes to every arm of s2 (meta::pairwise)
    data = arms([("s1", "A", 3, 20), ("s1", "B", 5, 20), ("s2", "A", 4, 30), ("s2", "B", 6, 30),
                 ("s2", "C", 0, 30), ("s3", "B", 2, 25), ("s3", "C", 1, 25)])
    with pytest.warns(MetakitWarning, match="0.5 added to every cell of each arm of 1 study with a zero cell: s2"):
        net = from_arms(data, "OR")
    assert any("s2" in note for note in net.notes)
    # hand calculation: A (4/30) vs B (6/30) in s2 with 0.5 added: log((4.5/26.5)/(6.5/24.5))
    row = [i for i in range(net.m) if net.studies[net.study[i]] == "s2" and net.t1[i] == 0 and net.t2[i] == 1][0]
    assert net.TE[row] == pytest.approx(np.log(4.5 / 26.5) - np.log(6.5 / 24.5), abs=1e-12)
    assert net.seTE[row] == pytest.approx(np.sqrt(1 / 4.5 + 1 / 26.5 + 1 / 6.5 + 1 / 24.5), abs=1e-12)
    # untouched study s1: no correction
    row = [i for i in range(net.m) if net.studies[net.study[i]] == "s1"][0]
    assert net.TE[row] == pytest.approx(np.log(3 / 17) - np.log(5 / 15), abs=1e-12)


def test_double_zero_two_arm_study_dropped_with_warning():
    data = arms([("s1", "A", 3, 20), ("s1", "B", 5, 20), ("s2", "A", 0, 30), ("s2", "B", 0, 30),
                 ("s3", "A", 2, 25), ("s3", "B", 1, 25)])
    with pytest.warns(MetakitWarning, match="no events .* in every arm dropped: s2"):
        net = from_arms(data, "OR")
    assert net.studies == ("s1", "s3")


def test_two_arm_network_equals_pairwise_common_effect():
    """With two-arm studies only, the network's common-effect estimate is the weighted least
    squares solution; for a single comparison it is the inverse-variance mean (hand check)."""
    te, se = np.array([0.2, 0.5, -0.1]), np.array([0.1, 0.2, 0.3])
    res = nma({"studlab": ["a", "b", "c"], "treat1": ["T"] * 3, "treat2": ["C"] * 3, "TE": te, "seTE": se},
              reference="C")
    w = 1 / se**2
    assert res.common.versus("C")["TE"][1] == pytest.approx(np.sum(w * te) / w.sum(), abs=1e-12)
    assert res.Q.statistic == pytest.approx(np.sum(w * (te - np.sum(w * te) / w.sum()) ** 2), abs=1e-12)


def test_risk_difference_zero_cell_increments_the_variance_only():
    data = arms([("s1", "A", 0, 20), ("s1", "B", 3, 20), ("s2", "A", 2, 25), ("s2", "B", 5, 25),
                 ("s3", "A", 0, 10), ("s3", "B", 0, 10)])
    with pytest.warns(MetakitWarning, match="0.5 added .* s1, s3"):
        net = from_arms(data, "RD")
    assert net.studies == ("s1", "s2", "s3")  # a double-zero study is kept for RD (meta's allstudies rule)
    # metabin (Cooper & Hedges 1994): TE from the observed proportions, variance with 0.5 added
    assert net.TE[0] == pytest.approx(0 / 20 - 3 / 20, abs=1e-15)
    assert net.seTE[0] ** 2 == pytest.approx(0.5 * 20.5 / 21**3 + 3.5 * 17.5 / 21**3, abs=1e-15)
    assert net.TE[2] == 0.0 and net.seTE[2] ** 2 == pytest.approx(2 * 0.5 * 10.5 / 11**3, abs=1e-15)
