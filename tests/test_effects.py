"""Tests of metakit.stats.effects against R (metafor 3.8.1, meta 8.3-0) and hand calculations.

Reference files:
- tests/reference/metafor_pairwise.json (branch rref; script tests/reference/metafor_pairwise.R):
  escalc on five binary metadat data sets under to = only0/all/if0all/none, and on
  dat.normand1999 (MD, SMD, SMD_UB, ROM, hand-computed Cohen's d).
- tests/reference/metafor/{mh_peto_bcg,continuous_normand1999}.json and
  tests/reference/meta/meta_pkg_crosscheck.json: verbatim copies of /work/shared/reference
  (made by /work/shared/reference/make_reference.R).
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakit.errors import DataError, MetakitWarning
from metakit.stats.effects import (
    EffectSizes,
    binary_effects,
    continuous_effects,
    effect_sizes,
    generic_effects,
    hedges_j,
)

REF = Path(__file__).parent / "reference"
PAIRWISE = json.loads((REF / "metafor_pairwise.json").read_text())
BCG = json.loads((REF / "metafor" / "mh_peto_bcg.json").read_text())
NORMAND = json.loads((REF / "metafor" / "continuous_normand1999.json").read_text())
META = json.loads((REF / "meta" / "meta_pkg_crosscheck.json").read_text())
Z975 = 1.959963984540054  # qnorm(0.975) in R

RTOL, ATOL = 1e-10, 1e-12


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol)


def as_float(values):
    return np.array([np.nan if v is None else float(v) for v in values])


def binary_frame(ds):
    return pd.DataFrame(
        {"study": ds["study"], "e_t": ds["ai"], "n_t": ds["n1i"], "e_c": ds["ci"], "n_c": ds["n2i"]}
    )


def normand_frame():
    i = NORMAND["inputs"]
    return pd.DataFrame(
        {"study": i["source"], "m_t": i["m1i"], "sd_t": i["sd1i"], "n_t": i["n1i"],
         "m_c": i["m2i"], "sd_c": i["sd2i"], "n_c": i["n2i"]}
    )


def bcg_frame():
    i = BCG["inputs"]
    return pd.DataFrame(
        {"study": [f"{a} {y}" for a, y in zip(i["author"], i["year"], strict=True)],
         "e_t": i["tpos"], "n_t": np.add(i["tpos"], i["tneg"]),
         "e_c": i["cpos"], "n_c": np.add(i["cpos"], i["cneg"]),
         "year": i["year"], "ablat": i["ablat"]}
    )


# --------------------------------------------------------------------------------------
# metafor escalc, every binary entry of metafor_pairwise.json
# --------------------------------------------------------------------------------------

BINARY_CASES = [
    (name, key)
    for name, ds in PAIRWISE["datasets"].items()
    if ds["kind"] == "binary"
    for key in ds["escalc"]
]


@pytest.mark.parametrize(("dataset", "key"), BINARY_CASES)
def test_binary_escalc_matches_metafor(dataset, key):
    ds = PAIRWISE["datasets"][dataset]
    measure, _, to = key.partition("_")
    ref_yi, ref_vi = as_float(ds["escalc"][key]["yi"]), as_float(ds["escalc"][key]["vi"])
    estimable = ~np.isnan(ref_yi)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # metafor's escalc defaults: add = 1/2 (0 for AS), to = "only0", drop00 = FALSE.
        es = effect_sizes(binary_frame(ds), measure, add_to=to or "only0", drop00=False)
    labels = np.array(ds["study"])
    assert es.study == tuple(labels[estimable])
    assert es.excluded == tuple(labels[~estimable])
    assert any(issubclass(w.category, MetakitWarning) for w in caught) == (not estimable.all())
    close(es.yi, ref_yi[estimable])
    close(es.vi, ref_vi[estimable])


def test_binary_cases_cover_zero_cells_and_all_corrections():
    # the parametrised test above is only meaningful if the data hold zero cells
    assert len(BINARY_CASES) == 5 * 5 * 4
    la = PAIRWISE["datasets"]["laopaiboon2015"]
    assert any(a == 0 for a in la["ai"])
    dag = PAIRWISE["datasets"]["dagostino1998"]
    assert any(a == n for a, n in zip(dag["ai"], dag["n1i"], strict=True))


@pytest.mark.parametrize(
    ("key", "kwargs"),
    [
        ("MD", {"measure": "MD"}),
        ("SMD", {"measure": "SMD"}),
        ("SMD_UB", {"measure": "SMD", "vtype": "unbiased"}),
        ("ROM", {"measure": "ROM"}),
        ("SMD_cohen", {"measure": "SMD", "smd": "cohen"}),
    ],
)
def test_continuous_escalc_matches_metafor(key, kwargs):
    ds = PAIRWISE["datasets"]["normand1999"]
    df = pd.DataFrame({"study": ds["study"], "m_t": ds["m1i"], "sd_t": ds["sd1i"], "n_t": ds["n1i"],
                       "m_c": ds["m2i"], "sd_c": ds["sd2i"], "n_c": ds["n2i"]})
    es = effect_sizes(df, **kwargs)
    close(es.yi, ds["escalc"][key]["yi"])
    close(es.vi, ds["escalc"][key]["vi"])


@pytest.mark.parametrize("measure", ["OR", "RR", "RD", "PETO"])
def test_bcg_escalc_matches_shared_reference(measure):
    es = effect_sizes(bcg_frame(), measure)
    close(es.yi, BCG["escalc"][measure]["yi"])
    close(es.vi, BCG["escalc"][measure]["vi"])
    assert es.excluded == ()


@pytest.mark.parametrize(("key", "vtype"), [("MD", "metafor"), ("SMD", "metafor"), ("SMD_vtype_UB", "unbiased")])
def test_normand_escalc_matches_shared_reference(key, vtype):
    es = effect_sizes(normand_frame(), key.split("_")[0], vtype=vtype)
    close(es.yi, NORMAND["escalc"][key]["yi"])
    close(es.vi, NORMAND["escalc"][key]["vi"])


# --------------------------------------------------------------------------------------
# R's meta package
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("entry", "measure"), [("metabin_OR_Inverse", "OR"), ("metabin_RR_Inverse", "RR"),
                                                 ("metabin_RD_Inverse", "RD"), ("metabin_OR_Peto", "PETO")])
def test_bcg_matches_meta_metabin(entry, measure):
    res = META["results"][entry]
    es = effect_sizes(bcg_frame(), measure)
    close(es.yi, res["TE"])
    close(es.sei, res["seTE"])


def test_meta_metacont_smd_is_exact_g_with_unbiased_variance():
    # meta 8.3's metacont(sm = "SMD") gives Hedges' g with the exact J and metafor's "UB"
    # variance (not RevMan's formula): vtype="unbiased" reproduces it.
    res = META["results"]["metacont_SMD_REML"]
    es = effect_sizes(normand_frame(), "SMD", vtype="unbiased")
    close(es.yi, res["TE"])
    close(es.sei, res["seTE"])
    md = effect_sizes(normand_frame(), "MD")
    close(md.sei, META["results"]["metacont_MD_REML"]["seTE"])


# --------------------------------------------------------------------------------------
# hand calculations
# --------------------------------------------------------------------------------------


def test_hedges_j_exact_values():
    # m = 2: Gamma(1) / (sqrt(1) Gamma(1/2)) = 1/sqrt(pi)
    close(hedges_j(2), 1 / math.sqrt(math.pi))
    # m = 10: Gamma(5) / (sqrt(5) Gamma(4.5)); Gamma(5) = 24, Gamma(4.5) = 3.5*2.5*1.5*0.5*sqrt(pi)
    close(hedges_j(10), 24 / (math.sqrt(5) * 3.5 * 2.5 * 1.5 * 0.5 * math.sqrt(math.pi)))
    # large m, where gamma() overflows: J = 1 - 3/(4m - 1) + O(m^-2) (Hedges 1981)
    m = 1e6
    assert abs(float(hedges_j(m)) - (1 - 3 / (4 * m - 1))) < 1e-11


def test_smd_revman_hand_calculation():
    # Montreal-Home (normand1999): n1 = 8, m1 = 14, sd1 = 8; n2 = 13, m2 = 18, sd2 = 11.
    # pooled SD s = sqrt((7*64 + 12*121)/19) = sqrt(1900/19) = sqrt(100) = 10
    # d = (14 - 18)/10 = -0.4; N = 21; RevMan J = 1 - 3/(4*21 - 9) = 1 - 3/75 = 0.96
    # g = -0.384; SE^2 = N/(n1 n2) + g^2/(2(N - 3.94)) = 21/104 + 0.147456/34.12
    g = -0.384
    v = 21 / 104 + 0.147456 / 34.12
    yi, vi = continuous_effects("SMD", 14, 8, 8, 18, 11, 13, vtype="revman")
    close(yi, g)
    close(vi, v)
    # metafor's default on the same study: exact J(19), variance 1/8 + 1/13 + g^2/42
    j19 = math.exp(math.lgamma(9.5) - 0.5 * math.log(9.5) - math.lgamma(9.0))
    yi, vi = continuous_effects("SMD", 14, 8, 8, 18, 11, 13)
    close(yi, -0.4 * j19)
    close(vi, 1 / 8 + 1 / 13 + (0.4 * j19) ** 2 / 42)
    # Cohen's d with RevMan's variance: no correction, d = -0.4
    yi, vi = continuous_effects("SMD", 14, 8, 8, 18, 11, 13, vtype="revman", smd="cohen")
    close(yi, -0.4)
    close(vi, 21 / 104 + 0.16 / 34.12)


def test_zero_cell_gets_half_added_to_all_four_cells():
    # 0/10 vs 5/10: cells a=0, b=10, c=5, d=5 -> +0.5 each -> 0.5, 10.5, 5.5, 5.5
    df = pd.DataFrame({"study": ["Z"], "e_t": [0], "n_t": [10], "e_c": [5], "n_c": [10]})
    es = effect_sizes(df, "OR")
    close(es.yi, [math.log(0.5 * 5.5 / (10.5 * 5.5))])
    close(es.vi, [1 / 0.5 + 1 / 10.5 + 1 / 5.5 + 1 / 5.5])
    rr = effect_sizes(df, "RR")  # p1 = 0.5/11, p2 = 5.5/11
    close(rr.yi, [math.log(0.5 / 5.5)])
    close(rr.vi, [1 / 0.5 - 1 / 11 + 1 / 5.5 - 1 / 11])
    # the raw arm data stay uncorrected
    assert es.arms.to_dict(orient="list") == {"e1": [0.0], "n1": [10.0], "e2": [5.0], "n2": [10.0]}
    assert es.cc == 0.5 and es.add_to == "only0"
    assert "0.5" in es.methods["text"] and es.methods["n_corrected"] == 1


def test_cc_and_add_to_options():
    df = pd.DataFrame({"study": ["A", "B"], "e_t": [0, 3], "n_t": [10, 10], "e_c": [5, 4], "n_c": [10, 10]})
    # "all": B gets 0.1 too: 3.1/7.1 vs 4.1/6.1
    es = effect_sizes(df, "OR", cc=0.1, add_to="all")
    close(es.yi[1], math.log(3.1 * 6.1 / (7.1 * 4.1)))
    # "only0": B unchanged: log(3*6/(7*4))
    es = effect_sizes(df, "OR", cc=0.1)
    close(es.yi[1], math.log(3 * 6 / (7 * 4)))
    close(es.yi[0], math.log(0.1 * 5.1 / (10.1 * 5.1)))
    # "none": the log OR of A is infinite -> excluded with a warning naming it
    with pytest.warns(MetakitWarning, match="A"):
        es = effect_sizes(df, "OR", add_to="none")
    assert es.study == ("B",) and es.excluded == ("A",)
    # RD needs no correction to be defined: with "none", A has RD = 0 - 0.5
    es = effect_sizes(df, "RD", add_to="none")
    close(es.yi[0], -0.5)
    close(es.vi[0], 0 + 0.25 / 10)


def test_double_zero_studies_excluded_from_ratios_with_warning():
    df = pd.DataFrame({"study": ["A", "B", "C"], "e_t": [0, 2, 10], "n_t": [20, 20, 10],
                       "e_c": [0, 4, 12], "n_c": [25, 20, 12], "year": [2001, 2002, 2003]})
    for measure in ("OR", "RR", "PETO"):
        with pytest.warns(MetakitWarning, match=r"A, C"):
            es = effect_sizes(df, measure, keep=["year"])
        assert es.excluded == ("A", "C") and es.study == ("B",)
        assert es.data["year"].tolist() == [2002] and es.data.index.tolist() == [0]
        assert es.arms["e1"].tolist() == [2.0]
    # RD: defined (0) and kept, as in metafor, meta and RevMan; only0 correction applies
    es = effect_sizes(df, "RD")
    assert es.excluded == ()
    close(es.yi[0], 0.5 / 21 - 0.5 / 26)
    # metafor's escalc default drop00 = FALSE keeps them for OR: yi = log(0.5*25.5/(20.5*0.5))
    es = effect_sizes(df, "OR", drop00=False)
    close(es.yi[0], math.log(25.5 / 20.5))


def test_if0all_ignores_dropped_double_zero_studies():
    # only A (double zero) has a zero cell; with drop00 it is dropped first, so no
    # study gets a correction under "if0all" (metafor drops before correcting)
    df = pd.DataFrame({"study": ["A", "B"], "e_t": [0, 3], "n_t": [10, 10], "e_c": [0, 4], "n_c": [10, 10]})
    with pytest.warns(MetakitWarning):
        es = effect_sizes(df, "OR", add_to="if0all")
    close(es.yi, [math.log(3 * 6 / (7 * 4))])
    es = effect_sizes(df, "OR", add_to="if0all", drop00=False)
    close(es.yi[1], math.log(3.5 * 6.5 / (7.5 * 4.5)))


def test_as_default_has_no_correction():
    # metafor sets add = 0 for AS: 0/10 vs 5/10 -> asin(0) - asin(sqrt(0.5)) = -pi/4
    df = pd.DataFrame({"study": ["Z"], "e_t": [0], "n_t": [10], "e_c": [5], "n_c": [10]})
    es = effect_sizes(df, "AS")
    close(es.yi, [-math.pi / 4])
    close(es.vi, [1 / 40 + 1 / 40])
    assert es.cc == 0.0


def test_rom_and_md_hand_calculation():
    df = pd.DataFrame({"study": ["A"], "m_t": [12.0], "sd_t": [3.0], "n_t": [20],
                       "m_c": [10.0], "sd_c": [2.0], "n_c": [25]})
    rom = effect_sizes(df, "ROM")
    close(rom.yi, [math.log(1.2)])
    close(rom.vi, [9 / (20 * 144) + 4 / (25 * 100)])
    assert rom.is_ratio
    md = effect_sizes(df, "MD")
    close(md.yi, [2.0])
    close(md.vi, [9 / 20 + 4 / 25])
    assert not md.is_ratio


# --------------------------------------------------------------------------------------
# generic input
# --------------------------------------------------------------------------------------


def test_generic_from_ratio_ci():
    # OR 0.5 (95% CI 0.3 to 0.9): log OR = log 0.5, SE = (log 0.9 - log 0.3)/(2*1.959964) = log 3 / 3.919928
    df = pd.DataFrame({"study": ["A"], "or": [0.5], "lo": [0.3], "hi": [0.9]})
    es = effect_sizes(df, "GEN", estimate="or", ci=("lo", "hi"), scale="ratio")
    close(es.yi, [math.log(0.5)])
    close(es.sei, [math.log(3) / (2 * Z975)])
    assert es.is_ratio and es.arms is None


def test_generic_sources_in_priority_order():
    # A: variance 0.04; B: SE 0.3; C: CI -0.2 to 0.6 -> SE 0.8/3.919928; D: p = 0.05, est 0.4 -> SE 0.4/1.959964
    df = pd.DataFrame({
        "study": ["A", "B", "C", "D"],
        "yi": [0.1, 0.2, 0.2, 0.4],
        "v": [0.04, None, None, None],
        "se": [0.5, 0.3, None, None],
        "lo": [None, None, -0.2, None],
        "hi": [None, None, 0.6, None],
        "p": [None, None, None, 0.05],
    })
    es = effect_sizes(df, "GEN", variance="v", se="se", ci=("lo", "hi"), pval="p")
    close(es.vi, [0.04, 0.09, (0.8 / (2 * Z975)) ** 2, (0.4 / Z975) ** 2])
    assert es.methods["sources"] == {"variance": 1, "se": 1, "ci": 1, "pval": 1}
    assert not es.is_ratio


def test_generic_90_percent_ci_and_log_scale():
    # 90% CI: z = 1.6448536269514722
    yi, vi = generic_effects([1.0], ci_lb=[0.5], ci_ub=[1.5], ci_level=0.90)
    close(np.sqrt(vi), [1.0 / (2 * 1.6448536269514722)])
    df = pd.DataFrame({"study": ["A"], "yi": [-0.3], "se": [0.2]})
    es = effect_sizes(df, "GEN", se="se", scale="log")
    assert es.is_ratio
    close(es.yi, [-0.3])


def test_generic_estimate_outside_ci_warns():
    df = pd.DataFrame({"study": ["A"], "yi": [2.0], "lo": [0.1], "hi": [0.9]})
    with pytest.warns(MetakitWarning, match="outside its own CI"):
        effect_sizes(df, "GEN", ci=("lo", "hi"))


# --------------------------------------------------------------------------------------
# vectorised kernels
# --------------------------------------------------------------------------------------


def test_binary_kernel_batched_equals_row_by_row():
    rng = np.random.default_rng(1)
    n1 = rng.integers(5, 50, size=(4, 7))
    n2 = rng.integers(5, 50, size=(4, 7))
    e1 = rng.integers(0, 5, size=(4, 7))
    e2 = rng.integers(0, 5, size=(4, 7))
    for measure in ("OR", "RR", "RD", "PETO", "AS"):
        yi, vi = binary_effects(measure, e1, n1, e2, n2, add_to="if0all")
        assert yi.shape == (4, 7)
        for r in range(4):
            yr, vr = binary_effects(measure, e1[r], n1[r], e2[r], n2[r], add_to="if0all")
            np.testing.assert_array_equal(yi[r], yr)
            np.testing.assert_array_equal(vi[r], vr)


def test_continuous_kernel_broadcasts():
    yi, vi = continuous_effects("SMD", np.array([[1.0], [2.0]]), 1.0, 10, 0.0, 1.0, 10)
    assert yi.shape == (2, 1)
    close(yi[1, 0], 2 * yi[0, 0])


def test_unbiased_variance_needs_hedges():
    with pytest.raises(ValueError, match="hedges"):
        continuous_effects("SMD", 1, 1, 10, 0, 1, 10, vtype="unbiased", smd="cohen")


# --------------------------------------------------------------------------------------
# the EffectSizes object
# --------------------------------------------------------------------------------------


def test_effect_sizes_object_api():
    es = effect_sizes(bcg_frame(), "RR", keep=["year", "ablat"])
    assert isinstance(es, EffectSizes) and len(es) == es.k == 13
    with pytest.raises(dataclasses.FrozenInstanceError):
        es.measure = "OR"
    with pytest.raises(ValueError, match="read-only"):
        es.yi[0] = 1.0
    frame = es.to_frame()
    assert list(frame.columns) == ["study", "yi", "vi", "sei", "ci_lb", "ci_ub",
                                   "e1", "n1", "e2", "n2", "year", "ablat"]
    close(frame["ci_lb"], es.yi - Z975 * np.sqrt(es.vi))
    d = es.to_dict()
    json.dumps(d)
    assert d["measure"] == "RR" and d["is_ratio"] and d["k"] == 13
    text = es.summary()
    assert "Aronson 1948" in text and "RR [95% CI]" in text
    # Aronson: RR = exp(-0.8893) = 0.411
    assert "0.411" in text
    assert "log risk ratio" in es.methods["text"]


def test_subset_by_mask_labels_and_positions():
    es = effect_sizes(bcg_frame(), "OR", keep=["year"])
    by_label = es.subset(["Aronson 1948", "TPT Madras 1980"])
    assert by_label.study == ("Aronson 1948", "TPT Madras 1980")
    close(by_label.yi, np.array(BCG["escalc"]["OR"]["yi"])[[0, 7]])
    assert by_label.data["year"].tolist() == [1948, 1980]
    assert by_label.arms.index.tolist() == [0, 1]
    mask = np.arange(13) != 3
    loo = es.subset(mask)
    assert loo.k == 12 and "Hart & Sutherland 1977" not in loo.study
    assert es.subset([0, -1]).study == (es.study[0], es.study[-1])
    with pytest.raises(DataError, match="Nobody"):
        es.subset(["Nobody"])


def test_duplicate_labels_allowed_and_numbers_as_text_accepted():
    df = pd.DataFrame({"study": ["A", "A"], "e_t": ["3", 4], "n_t": [10, "12 "], "e_c": [5, 6], "n_c": [10, 12]})
    with pytest.warns(MetakitWarning, match=r"duplicate study labels.*'A' \(rows 1, 2\)"):
        es = effect_sizes(df, "RR")
    assert es.study == ("A", "A")
    close(es.yi[0], math.log(0.3 / 0.5))
    assert es.subset(["A"]).k == 2


# --------------------------------------------------------------------------------------
# bad input: each rule names the study, the column and the rule
# --------------------------------------------------------------------------------------


def _binary(**over):
    base = {"study": ["S1", "S2"], "e_t": [3, 4], "n_t": [10, 12], "e_c": [5, 6], "n_c": [10, 12]}
    base.update(over)
    return pd.DataFrame(base)


def _cont(**over):
    base = {"study": ["S1", "S2"], "m_t": [5.0, 6.0], "sd_t": [1.0, 2.0], "n_t": [10, 12],
            "m_c": [4.0, 5.0], "sd_c": [1.5, 2.5], "n_c": [10, 12]}
    base.update(over)
    return pd.DataFrame(base)


def _gen(**over):
    base = {"study": ["S1", "S2"], "yi": [0.2, 0.3], "v": [0.1, 0.2], "se": [0.3, 0.4],
            "lo": [0.1, 0.2], "hi": [0.5, 0.6], "p": [0.2, 0.3]}
    base.update(over)
    return pd.DataFrame(base)


BAD = [
    ("missing", lambda: effect_sizes(_binary(e_t=[3, None]), "OR"), "S2", "e_t", "missing value"),
    ("text", lambda: effect_sizes(_binary(n_c=[10, "12a"]), "OR"), "S2", "n_c", "not a number: '12a'"),
    ("negative", lambda: effect_sizes(_binary(e_c=[-1, 6]), "RR"), "S1", "e_c", "event count must be >= 0"),
    ("events>total", lambda: effect_sizes(_binary(e_t=[3, 13]), "RD"), "S2", "e_t", "events must not exceed"),
    ("total<=0", lambda: effect_sizes(_binary(e_t=[0, 4], n_t=[0, 12]), "OR"), "S1", "n_t", "arm total must be > 0"),
    ("infinite", lambda: effect_sizes(_binary(n_t=[np.inf, 12]), "OR"), "S1", "n_t", "must be finite"),
    ("sd<=0", lambda: effect_sizes(_cont(sd_c=[1.5, 0.0]), "MD"), "S2", "sd_c", "SD must be > 0"),
    ("n<2", lambda: effect_sizes(_cont(n_t=[1, 12]), "SMD"), "S1", "n_t", "arm size N must be >= 2"),
    ("rom mean", lambda: effect_sizes(_cont(m_c=[4.0, -1.0]), "ROM"), "S2", "m_c", "mean must be > 0"),
    ("sd missing", lambda: effect_sizes(_cont(sd_t=[1.0, np.nan]), "SMD"), "S2", "sd_t", "missing value"),
    ("neg variance", lambda: effect_sizes(_gen(v=[0.1, -0.2]), "GEN", variance="v"), "S2", "v", "variance must be > 0"),
    ("neg se", lambda: effect_sizes(_gen(se=[-0.3, 0.4]), "GEN", se="se"), "S1", "se", "SE must be > 0"),
    ("ci order", lambda: effect_sizes(_gen(lo=[0.1, 0.7]), "GEN", ci=("lo", "hi")), "S2", "lo",
     "CI lower limit must not exceed the upper limit"),
    ("ci half", lambda: effect_sizes(_gen(hi=[0.5, None]), "GEN", ci=("lo", "hi")), "S2", "hi", "needs both limits"),
    ("p range", lambda: effect_sizes(_gen(p=[0.2, 1.5]), "GEN", pval="p"), "S2", "p", "p-value must be in (0, 1]"),
    ("p zero", lambda: effect_sizes(_gen(p=[0.0, 0.3]), "GEN", pval="p"), "S1", "p", "p-value must be in (0, 1]"),
    ("p one", lambda: effect_sizes(_gen(p=[0.2, 1.0]), "GEN", pval="p"), "S2", "p", "cannot be derived from p = 1"),
    ("no source", lambda: effect_sizes(_gen(se=[0.3, None]), "GEN", se="se"), "S2", "se", "no variance, SE, CI"),
    ("ratio <= 0", lambda: effect_sizes(_gen(yi=[0.2, 0.0]), "GEN", se="se", scale="ratio"), "S2", "yi",
     "ratio estimate must be > 0"),
    ("gen text", lambda: effect_sizes(_gen(yi=[0.2, "0.3x"]), "GEN", se="se"), "S2", "yi", "not a number"),
]


@pytest.mark.parametrize(("case", "call", "study", "column", "rule"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_study_column_rule(case, call, study, column, rule):
    with pytest.raises(DataError) as info:
        call()
    err = info.value
    assert err.study == study and err.column == column
    msg = str(err)
    assert f"'{study}'" in msg and f"'{column}'" in msg and rule in msg


def test_bad_input_without_a_study():
    with pytest.raises(DataError, match="k = 0"):
        effect_sizes(_binary().iloc[:0], "OR")
    with pytest.raises(DataError, match="study label is missing") as info:
        effect_sizes(_binary(study=["S1", None]), "OR")
    assert info.value.column == "study"
    with pytest.raises(DataError, match="column not found") as info:
        effect_sizes(_binary(), "OR", events=("ev_t", "e_c"))
    assert info.value.column == "ev_t"
    with pytest.raises(DataError, match="column not found"):
        effect_sizes(_binary(), "OR", keep=["year"])
    with pytest.raises(DataError, match="no study has an estimable"):
        with pytest.warns(MetakitWarning):
            effect_sizes(_binary(e_t=[0, 0], e_c=[0, 0]), "OR")


def test_bad_input_reports_how_many_other_studies():
    with pytest.raises(DataError, match=r"study 'S1'.*\(and 1 other study\)"):
        effect_sizes(_cont(sd_t=[0.0, -1.0]), "MD")


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="unknown measure"):
        effect_sizes(_binary(), "HR")
    with pytest.raises(ValueError, match="add_to"):
        effect_sizes(_binary(), "OR", add_to="some")
    with pytest.raises(ValueError, match="needs one of"):
        effect_sizes(_gen(), "GEN")
    with pytest.raises(ValueError, match="vtype"):
        effect_sizes(_cont(), "SMD", vtype="LS")
    with pytest.raises(ValueError, match="smd"):
        effect_sizes(_cont(), "SMD", smd="glass")


def test_methods_text_says_what_was_done():
    df = pd.DataFrame({"study": ["A", "B", "C"], "e_t": [0, 3, 0], "n_t": [10, 10, 10],
                       "e_c": [0, 4, 2], "n_c": [10, 10, 10]})
    with pytest.warns(MetakitWarning, match="1 study with no events"):
        es = effect_sizes(df, "OR")
    text = es.methods["text"]
    assert "log odds ratios" in text
    assert "continuity correction of 0.5" in text and "(1 of 3 studies)" in text
    assert "1 study with no events (or only events) in both arms was excluded" in text
    assert es.methods["drop00"] is True and es.methods["n_corrected"] == 1
    smd = effect_sizes(normand_frame(), "SMD", vtype="revman")
    assert "RevMan 5" in smd.methods["text"] and smd.methods["vtype"] == "revman"
    none = effect_sizes(bcg_frame(), "RR", add_to="none")
    assert "No continuity correction" in none.methods["text"]
