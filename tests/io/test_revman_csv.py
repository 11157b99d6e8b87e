"""RevMan 5's CSV data export: the Fleiss 1993 export shipped with R's meta (Fleiss1993_CR.csv).

RevMan writes the results in the CSV rounded to 8 decimal places, so metakit's re-run must
agree within 5e-9 (plus RevMan's own P-value approximation error, about 3e-7).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from metakit.io import RevManError, read_revman, read_revman_csv
from reference_data import close

DATA = Path(__file__).parent / "data"
ROUNDING = 5e-9 * 1.0000001


@pytest.fixture(scope="module")
def export():
    return read_revman(DATA / "Fleiss1993_CR.csv")


def test_structure(export):
    assert [o.number for o in export.outcomes] == ["1.1", "1.2"]
    o, c = export.outcomes
    assert o.comparison == "Examples from Fleiss (1993)"
    assert (o.type, o.method, o.measure, o.random) == ("DICH", "MH", "OR", False)
    assert (c.type, c.method, c.measure, c.random) == ("CONT", "IV", "MD", False)
    assert list(o.data["study"]) == ["MRC-1", "CDP", "MRC-2", "GASP", "PARIS", "AMIS", "ISIS-2"]
    assert list(o.data["e_t"]) == [49, 44, 102, 32, 85, 246, 1570]
    assert list(c.data["m_c"]) == [6.5, 6.1, 24.9, 12.3, 7.38]
    assert o.labels["group_1"] == "Aspirin" and c.labels["group_1"] == "Mental Health Treatment"
    assert list(c.data["year"]) == ["1973", "1971", "1975", "1975", "1977"]


def test_csv_results_are_the_rm5_results_rounded():
    """Two exports of one review: the CSV's stored values are the .rm5's to 8 decimals."""
    rm5 = read_revman(DATA / "Fleiss1993.rm5").outcome("1.1")
    csv = read_revman_csv(DATA / "Fleiss1993_CR.csv").outcome("1.1")
    for name in ("estimate", "ci_lb", "ci_ub", "z", "pval", "Q", "pval_Q", "I2"):
        assert abs(getattr(csv.stored, name) - getattr(rm5.stored, name)) <= ROUNDING, name
    assert close(csv.data["revman_weight"], rm5.data["revman_weight"], rtol=0, atol=ROUNDING)


@pytest.mark.parametrize("number", ["1.1", "1.2"])
def test_rerun_equals_revman_to_csv_precision(export, number):
    o = export.outcome(number)
    cmp = o.compare()
    exact = cmp[~cmp["statistic"].isin(["pval", "pval_Q", "se"])].dropna(subset=["revman"])
    assert len(exact) > 20
    assert close(exact["metakit"], exact["revman"], rtol=0, atol=ROUNDING)
    p = cmp[cmp["statistic"].isin(["pval", "pval_Q"])]
    assert close(p["metakit"], p["revman"], rtol=0, atol=3e-7)
    # study SEs: RevMan's SE column is on the log scale for ratios, 8 decimals
    se = cmp[cmp["statistic"] == "se"]
    assert close(se["metakit"], se["revman"], rtol=0, atol=ROUNDING)


def test_md_pooled_by_hand(export):
    """Inverse-variance MD, written out: w = 1/(sd1²/n1 + sd2²/n2)."""
    c = export.outcome("1.2").data
    v = c.sd_t ** 2 / c.n_t + c.sd_c ** 2 / c.n_c
    w = 1 / v
    md = float((w * (c.m_t - c.m_c)).sum() / w.sum())
    res = export.outcome("1.2").meta()
    assert close(res.estimate, md, rtol=1e-14)
    assert close(res.se, math.sqrt(1 / w.sum()), rtol=1e-14)
    assert abs(md - (-0.70938839)) <= ROUNDING  # RevMan's stored value in the CSV


def test_missing_mandatory_fields(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Comparison Number,Name\n1,A\n", encoding="utf-8")
    with pytest.raises(RevManError, match="line 1: .*Outcome Number, Subgroup Number"):
        read_revman_csv(p)


def test_bad_number_names_line_and_field(tmp_path):
    text = (DATA / "Fleiss1993_CR.csv").read_text(encoding="utf-8").splitlines()
    text[5] = text[5].replace(",102,", ",1o2,", 1)  # MRC-2 events, line 6 of the file
    p = tmp_path / "bad.csv"
    p.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(RevManError, match=r"line 6, attribute Events 1, study 'MRC-2': not a number: '1o2'"):
        read_revman_csv(p)


def test_extra_fields_named(tmp_path):
    text = (DATA / "Fleiss1993_CR.csv").read_text(encoding="utf-8").splitlines()
    text[3] += ",Low risk,High risk"
    p = tmp_path / "rob.csv"
    p.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(RevManError, match=r"line 4: 39 fields where the header has 37"):
        read_revman_csv(p)


def test_subgroup_rows_told_apart_by_data_type():
    """A CSV export with subgroups (layout as meta::read.rm5() reads it: the first row of a new
    Subgroup Number carrying a Data Type is the subgroup's result row). Data: the synthetic
    review's analysis 1.3 (RR, inverse variance, random), expected values from metafor."""
    from reference_data import load
    ref = load("revman_synthetic")["1.3"]
    head = ("Comparison Number,Outcome Number,Subgroup Number,Name,Data Type,Statistical Method,"
            "Effect Measure,Analysis Model,Events 1,Total 1,Events 2,Total 2,Year of study\n")
    rows = ["1,0,0,Synthetic checks,,,,,,,,,",
            "1,3,0,\"Risk ratio, by dose\",DIC,IV,RR,Random,,,,,",
            "1,3,1,Low dose,DIC,IV,RR,Random,,,,,",
            "1,3,1,Adams 1999,,,,,10,60,16,62,1999", "1,3,1,Baker 2004,,,,,30,75,20,70,2004",
            "1,3,1,Chen 2005,,,,,6,40,19,41,2005",
            "1,3,2,High dose,DIC,IV,RR,Random,,,,,",
            "1,3,2,Diaz 2006,,,,,5,55,12,57,2006", "1,3,2,Hughes 2010,,,,,22,110,30,108,2010",
            "1,3,2,Ito 2011,,,,,11,70,19,69,2011", "1,3,2,Jones 2012,,,,,0,35,3,36,2012"]
    review = read_revman_csv((head + "\n".join(rows) + "\n").encode("utf-8"))
    o = review.outcome("1.3")
    assert list(o.subgroups) == ["Low dose", "High dose"]
    assert o.data.groupby("subgroup").size().to_dict() == {"High dose": 4, "Low dose": 3}
    res = o.meta()
    for g in res.groups:
        want = ref["subgroups"][g]
        assert close([math.exp(res[g].estimate), res[g].tau2], [want["estimate"], want["tau2"]], rtol=1e-12)
    assert close(res.test.statistic, ref["test"]["Q"], rtol=1e-10)
