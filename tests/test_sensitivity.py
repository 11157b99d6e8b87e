"""Leave-one-out, cumulative, influence, residuals and Baujat against metafor 3.8.1.

Reference: tests/reference/metafor_sensitivity.json (made by metafor_sensitivity.R):
dat.bcg, dat.hackshaw1998, dat.normand1999, dat.pritz1997 and dat.li2007, each with FE,
DL and REML (REML at the tight convergence control recorded in each case), and
dat.bcg ~ ablat for the meta-regression diagnostics. Every number within 1e-6
(relative, or 1e-8 absolute near zero).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metakit as mk
from metakit.stats import sensitivity
from metakit.stats.kernel import Settings
from reference_data import arr, close, load

REF = load("metafor_sensitivity")
CASES = [c for c in REF["cases"] if c["settings"]["kind"] == "sensitivity"]
METAREG = [c for c in REF["cases"] if c["settings"]["kind"] == "metareg_influence"]
TOL = 1e-12


def _meta(case):
    d, m = case["data"], case["settings"]["method"]
    frame = pd.DataFrame({"study": d["study"], "yi": d["yi"], "vi": d["vi"]})
    if "year" in d:
        frame["year"] = d["year"]
    es = mk.effect_sizes(frame, "GEN", estimate="yi", variance="vi")
    if m == "FE":
        return mk.meta(es, model="common")
    return mk.meta(es, tau2_method=m, tol=TOL, maxiter=1000)


def _frame_matches(frame, ref, pairs):
    for ours, theirs in pairs:
        if ref[theirs] is None:  # tau² of a common-effect model
            assert np.allclose(frame[ours], 0.0)
            continue
        assert close(frame[ours], arr(ref[theirs])), ours


COLUMNS = [("estimate", "estimate"), ("se", "se"), ("stat", "zval"), ("pval", "pval"),
           ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub"), ("Q", "Q"), ("Q_pval", "Qp"),
           ("tau2", "tau2"), ("I2", "I2"), ("H2", "H2")]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_leave_one_out(case):
    res = _meta(case)
    loo = res.leave_one_out()
    frame = loo.to_frame()
    assert list(frame["study"]) == case["data"]["study"]
    assert (frame["k"] == len(case["data"]["yi"]) - 1).all()
    _frame_matches(frame, case["results"]["leave1out"], COLUMNS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_cumulative(case):
    res = _meta(case)
    ref = case["results"]["cumul"]
    cum = res.cumulative(order=ref["key"])
    assert [int(i) for i in cum.order] == ref["order"]
    frame = cum.to_frame()
    assert list(frame["study"]) == ref["slab"]
    assert list(frame["k"]) == list(range(1, len(ref["order"]) + 1))
    _frame_matches(frame, ref, COLUMNS)


def test_cumulative_by_column_name():
    case = next(c for c in CASES if c["name"] == "sensitivity/bcg/REML")
    ref = case["results"]["cumul"]
    cum = _meta(case).cumulative(order="year")
    assert list(cum.to_frame()["study"]) == ref["slab"]
    with pytest.raises(KeyError, match="no such column"):
        _meta(case).cumulative(order="publication")


INFLUENCE = ["rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight"]


def _check_influence(inf, ref):
    for name in INFLUENCE:
        assert close(getattr(inf, name), arr(ref[name])), name
    assert close(inf.dfbetas, np.array(ref["dfbetas"], float))
    assert list(inf.influential) == ref["inf"]
    frame = inf.to_frame()
    assert [c for c in frame.columns if c.startswith("dfbetas_")] == \
        [f"dfbetas_{n}" for n in ref["dfbetas_names"]]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_influence(case):
    _check_influence(_meta(case).influence(), case["results"]["influence"])


@pytest.mark.parametrize("case", CASES + METAREG, ids=lambda c: c["name"])
def test_residuals(case):
    res = _metareg(case) if case in METAREG else _meta(case)
    for kind in ("rstandard", "rstudent"):
        r = getattr(res, kind)()
        ref = case["results"][kind]
        for name in ("resid", "se", "z"):
            assert close(getattr(r, name), arr(ref[name])), (kind, name)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_baujat(case):
    b = _meta(case).baujat()
    ref = case["results"]["baujat"]
    assert close(b.x, arr(ref["x"])) and close(b.y, arr(ref["y"]))
    assert list(b.study) == ref["slab"]


def _metareg(case):
    d, m = case["data"], case["settings"]["method"]
    X = np.column_stack([np.ones(len(d["yi"])), d["mods"]["ablat"]])
    kw = {"model": "common"} if m == "FE" else {"tau2_method": m, "tol": TOL}
    return mk.metareg(yi=np.array(d["yi"]), vi=np.array(d["vi"]), X=X,
                      names=("intrcpt", "ablat"), **kw)


@pytest.mark.parametrize("case", METAREG, ids=lambda c: c["name"])
def test_metareg_influence(case):
    res = _metareg(case)
    _check_influence(res.influence(), case["results"]["influence"])
    # metafor: "Method only applicable to models without moderators."
    assert "error" in case["results"]["leave1out"]
    with pytest.raises(ValueError, match="without moderators"):
        res.leave_one_out()


def test_cumulative_first_row_is_the_single_study():
    """By hand: the first cumulative row is study 1 alone (estimate y1, se sqrt(v1))."""
    r = sensitivity.cumulative([0.2, 0.5, 0.1], [0.04, 0.09, 0.01], Settings(model="common"))
    f = r.to_frame()
    assert f["estimate"][0] == pytest.approx(0.2) and f["se"][0] == pytest.approx(0.2)
    # the first two: weights 25 and 11.11 -> (25*0.2 + 11.11*0.5)/36.11
    assert f["estimate"][1] == pytest.approx((0.2 / 0.04 + 0.5 / 0.09) / (1 / 0.04 + 1 / 0.09))


def test_mantel_haenszel_result_is_refused():
    frame = pd.DataFrame({"study": list("ABC"), "e_t": [3, 5, 2], "n_t": [20, 30, 25],
                          "e_c": [6, 9, 4], "n_c": [20, 30, 25]})
    res = mk.meta(mk.effect_sizes(frame, "OR"), method="MH")
    with pytest.raises(ValueError, match="inverse-variance"):
        res.leave_one_out()


def test_one_kernel_call_for_all_refits(monkeypatch):
    """Leave-one-out is one batched fit of k rows, not k fits."""
    calls = []
    real = sensitivity.fit

    def spy(b, *a, **kw):
        calls.append(b.n)
        return real(b, *a, **kw)

    monkeypatch.setattr(sensitivity, "fit", spy)
    sensitivity.leave_one_out(np.linspace(0, 1, 50), np.full(50, 0.1), Settings())
    assert calls == [50]


def test_leave_one_out_forest_plot():
    """Drawn as a forest plot: one row per refit at metafor's estimate and CI (RR scale)."""
    case = next(c for c in CASES if c["name"] == "sensitivity/bcg/REML")
    d, raw = case["data"], case["data"]["raw"]
    frame = pd.DataFrame({"study": d["study"], "e_t": raw["ai"],
                          "n_t": np.add(raw["ai"], raw["bi"]), "e_c": raw["ci"],
                          "n_c": np.add(raw["ci"], raw["di"])})
    res = mk.meta(mk.effect_sizes(frame, "RR"), tol=TOL)
    loo = res.leave_one_out()
    table = loo.forest_table()
    ref = case["results"]["leave1out"]
    assert table.is_ratio and table.effect_title == "Risk ratio"
    assert [r.label for r in table.rows] == [f"Omitting {s}" for s in d["study"]]
    assert close([r.estimate for r in table.rows], arr(ref["estimate"]))
    assert table.rows[7].effect == \
        f"{np.exp(ref['estimate'][7]):.2f} [{np.exp(ref['ci_lb'][7]):.2f}, {np.exp(ref['ci_ub'][7]):.2f}]"
    fig = loo.forest()
    graph = next(a for a in fig.axes if a.get_gid() == "forest-graph")
    assert graph.get_xscale() == "log"


BAUJAT_METAREG = {c["name"]: c for c in load("metafor_metareg_baujat")["cases"]}


@pytest.mark.parametrize("case", METAREG, ids=lambda c: c["name"])
def test_metareg_baujat(case):
    """metafor's baujat() of rma(mods = ~ ablat) (tests/reference/metafor_metareg_baujat.json)."""
    ref = BAUJAT_METAREG[case["name"]]
    b = _metareg(case).baujat()
    assert close(b.x, arr(ref["x"])) and close(b.y, arr(ref["y"]))
