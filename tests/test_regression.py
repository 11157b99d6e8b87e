"""Meta-regression against metafor 3.8.1 (rma with mods) and hand calculations.

Reference: tests/reference/metafor/metareg_bcg_ablat.json (dat.bcg log RR on absolute
latitude, and on latitude + year; REML, DL, ML; Wald z and Knapp-Hartung; permutest).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import metakit as mk
from metakit.errors import DataError, MetakitWarning
from reference_data import close, load

REF = load("metafor/metareg_bcg_ablat")
DATA = pd.DataFrame({key: REF["inputs"][key] for key in ("yi", "vi", "ablat", "year", "alloc")})
DATA["study"] = REF["inputs"]["author"]

# metafor's default convergence threshold (1e-5) leaves REML/ML tau² accurate to ~1e-5;
# the *_tight fits used 1e-12 and are compared at 1e-6, the closed-form DL fits exactly.
CASES = [name for name, f in REF["fits"].items()
         if f["method"] == "DL" or name.endswith("_tight")
         or (f["method"] == "REML" and name.startswith("ablat_year"))]


def _fit(name: str):
    ref = REF["fits"][name]
    mods = "~ ablat + year" if name.startswith("ablat_year") else "~ ablat"
    return ref, mk.metareg(yi=DATA.yi, vi=DATA.vi, data=DATA, study=DATA.study, mods=mods,
                           tau2_method=ref["method"], ci="z" if ref["test"] == "z" else "hk",
                           tol=1e-13)


@pytest.mark.parametrize("name", CASES)
def test_coefficients_and_heterogeneity_equal_metafor(name):
    ref, fit = _fit(name)
    names = list(ref["coef"])
    assert fit.names == tuple(names)
    # the year model at metafor's default threshold: tau² to ~1e-5 (see CASES)
    rtol = 1e-6 if name in ("ablat_DL_z", "ablat_DL_knha") or name.endswith("_tight") else 2e-4
    for ours, key in ((fit.beta, "coef"), (fit.se, "se"), (fit.stat, "zval"), (fit.pval, "pval"),
                      (fit.ci_lb, "ci.lb"), (fit.ci_ub, "ci.ub")):
        assert close(ours, [ref[key][n] for n in names], rtol=rtol), key
    assert close(fit.vb, ref["vb"]["values"], rtol=rtol)
    assert close(fit.tau2, ref["tau2"], rtol=rtol)
    assert close(fit.se_tau2, ref["se.tau2"], rtol=rtol)
    assert close(fit.I2, ref["I2"], rtol=rtol) and close(fit.H2, ref["H2"], rtol=rtol)
    assert close(fit.R2, ref["R2"], rtol=rtol, atol=1e-6)
    assert close(fit.QE.statistic, ref["QE"]) and fit.QE.df == ref["QEdf"]
    assert close(fit.QE.pval, ref["QEp"])
    assert close(fit.QM.statistic, ref["QM"], rtol=rtol) and close(fit.QM.pval, ref["QMp"], rtol=rtol)
    if ref["test"] == "knha":
        assert fit.QM.distribution == "F" and list(fit.QM.df) == ref["QMdf"]
        assert fit.df == ref["ddf"][0]
    else:
        assert fit.QM.distribution == "chi2" and fit.QM.df == ref["QMdf"][0]


def test_weighted_least_squares_by_hand():
    """Common-effect meta-regression on three studies, solved by hand.

    y = (0, 1, 3), v = (1, 1, 0.5), x = (0, 1, 2): W = diag(1, 1, 2),
    X'WX = [[4, 5], [5, 9]] (det 11), X'Wy = (7, 13),
    beta = [[9, -5], [-5, 4]] (7, 13) / 11 = (-2/11, 17/11),
    residuals r = (2/11, -4/11, 1/11), QE = sum w r² = (4 + 16 + 2)/121 = 2/11,
    Var(slope) = 4/11.
    """
    fit = mk.metareg(yi=[0.0, 1.0, 3.0], vi=[1.0, 1.0, 0.5], X=np.column_stack([np.ones(3), [0, 1, 2]]),
                     model="common")
    assert np.allclose(fit.beta, [-2 / 11, 17 / 11], atol=1e-14)
    assert np.isclose(fit.QE.statistic, 2 / 11, atol=1e-14) and fit.QE.df == 1
    assert np.isclose(fit.se[1], np.sqrt(4 / 11), atol=1e-14)
    assert np.isclose(fit.QM.statistic, (17 / 11) ** 2 / (4 / 11), atol=1e-12)


def test_predictions_at_new_values_match_x0_beta():
    ref, fit = _fit("ablat_REML_z_tight")
    pred = fit.predict(pd.DataFrame({"ablat": [10.0, 50.0]}))
    b = [ref["coef"]["intrcpt"], ref["coef"]["ablat"]]
    vb = np.array(ref["vb"]["values"])
    for row, lat in zip(pred.itertuples(), (10.0, 50.0)):
        x0 = np.array([1.0, lat])
        se = float(np.sqrt(x0 @ vb @ x0))
        assert close(row.pred, x0 @ b) and close(row.se, se)
        assert close(row.ci_lb, x0 @ b - 1.959963984540054 * se)
        assert close(row.pi_ub, x0 @ b + 1.959963984540054 * np.sqrt(se ** 2 + ref["tau2"]))
    same = fit.predict([[10.0], [50.0]])
    assert np.allclose(same.to_numpy(), pred.to_numpy())


def test_permutation_p_values_within_monte_carlo_error_of_metafor():
    _, fit = _fit("ablat_REML_z_tight")
    perm = fit.permutation_test(iterations=1000, seed=1)
    ref = REF["permutest"]["REML_z"]
    # binomial SE of a p near 0.01 from 1,000 permutations is about 0.003; near 0.69 about 0.015
    assert abs(perm.pval[1] - ref["pval"]["ablat"]) < 4 * 0.0032
    assert abs(perm.pval[0] - ref["pval"]["intrcpt"]) < 4 * 0.015
    assert abs(perm.QM.pval - ref["QMp"]) < 4 * 0.0032


def test_exact_permutation_test_counts_every_permutation_by_hand():
    """k = 4 with x = (1, 2, 3, 4) and y increasing: the observed order has the largest
    slope statistic; its reversal the same |z|; so the exact p-value is 2/24."""
    y = [0.0, 0.2, 0.5, 0.9]
    fit = mk.metareg(yi=y, vi=[0.1] * 4, X=np.column_stack([np.ones(4), [1, 2, 3, 4]]), model="common")
    perm = fit.permutation_test()
    assert perm.exact and perm.iterations == 24
    assert np.isclose(perm.pval[1], 2 / 24)


def test_subgroups_with_common_tau2_equal_the_regression_on_the_factor():
    labelled = DATA.assign(study=[f"{a} {y}" for a, y in zip(DATA.study, REF["inputs"]["year"])])
    es = mk.effect_sizes(labelled, "GEN", estimate="yi", variance="vi")
    sub = mk.meta(es, by="alloc", common_tau2=True, tau2_method="REML")
    reg = mk.metareg(es, "~ C(alloc) - 1", tau2_method="REML")
    assert np.isclose(sub.subgroups[0].tau2, reg.tau2, rtol=1e-9)
    for g, fit in zip(sub.groups, sub.subgroups):
        j = reg.names.index(f"C(alloc)[{g}]")
        assert np.isclose(fit.estimate, reg.beta[j], rtol=1e-9)
        assert np.isclose(fit.se, reg.se[j], rtol=1e-9)


def test_collinear_moderators_are_named():
    d = DATA.assign(ablat2=2 * DATA.ablat + 1)
    with pytest.raises(DataError, match="ablat, ablat2 are collinear"):
        mk.metareg(yi=d.yi, vi=d.vi, data=d, mods="~ ablat + ablat2")


def test_more_coefficients_than_studies_is_an_error():
    d = DATA.head(2)
    with pytest.raises(DataError, match="3 coefficients .* only 2 studies"):
        mk.metareg(yi=d.yi, vi=d.vi, data=d, mods="~ ablat + year")


def test_missing_moderator_values_drop_named_studies_with_a_warning():
    d = DATA.copy()
    d.loc[[2, 5], "ablat"] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mk.metareg(yi=d.yi, vi=d.vi, data=d, study=d.study, mods="~ ablat", tau2_method="DL")
    msg = " ".join(str(w.message) for w in caught if issubclass(w.category, MetakitWarning))
    assert "Rosenthal et al" in msg and "Stein & Aronson" in msg and "ablat" in msg
    assert fit.k == 11 and fit.dropped == ("Rosenthal et al", "Stein & Aronson")


def test_unknown_moderator_names_the_column():
    with pytest.raises(DataError, match="column 'latitude'"):
        mk.metareg(yi=DATA.yi, vi=DATA.vi, data=DATA, mods="~ latitude")


def test_subset_of_coefficients_test_is_the_wald_test():
    _, fit = _fit("ablat_year_REML_z")
    t = fit.test(["year"])
    assert np.isclose(t.statistic, fit.stat[2] ** 2) and np.isclose(t.pval, fit.pval[2])


def test_result_verbs():
    _, fit = _fit("ablat_REML_z_tight")
    frame = fit.to_frame()
    assert list(frame.index) == ["intrcpt", "ablat"] and "pval" in frame.columns
    d = fit.to_dict()
    assert d["QM"]["distribution"] == "chi2" and d["coefficients"]["ablat"]["pval"] == fit.pval[1]
    text = fit.summary()
    assert "Test of moderators: QM(df = 1)" in text and "R²" in text
