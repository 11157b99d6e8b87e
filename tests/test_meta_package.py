"""Cross-check against R's meta package (values in tests/reference/meta/, copied from
../shared/reference/meta/meta_pkg_crosscheck.json, made by meta 8.3-0).

meta's conventions that metakit reproduces: Mantel-Haenszel, inverse-variance and Peto
common-effect estimates; the Greenland-Robins RD variance (convention="revman"); tau²
estimators; Hartung-Knapp; the Higgins-Thompson-Spiegelhalter prediction interval
(t(k-2) with the Wald SE: pi="t"). meta's iterative estimators stop at its default
tolerance, so REML/ML/EB agree to about 1e-7 and PM to about 3e-5 only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metakit as mk
from reference_data import close, load

META = load("meta/meta_pkg_crosscheck")
B = META["inputs"]["bcg"]
BCG = pd.DataFrame({"study": [str(t) for t in B["trial"]], "e_t": B["tpos"],
                    "n_t": np.add(B["tpos"], B["tneg"]), "e_c": B["cpos"],
                    "n_c": np.add(B["cpos"], B["cneg"])})
METHOD = {"MH": "MH", "Inverse": "inverse", "Peto": "Peto"}


@pytest.mark.parametrize("key", [k for k in META["results"] if k.startswith("metabin")])
def test_metabin_common_effect(key):
    r = META["results"][key]
    es = mk.effect_sizes(BCG, r["sm"])
    fit = mk.meta(es, method=METHOD[r["method"]], convention="revman", tau2_method="DL")
    assert close(fit.common.estimate, r["TE.common"], rtol=1e-12, atol=1e-14)
    assert close(fit.common.se, r["seTE.common"], rtol=1e-12)
    assert close([fit.common.ci_lb, fit.common.ci_ub], [r["lower.common"], r["upper.common"]],
                 rtol=1e-12)
    assert close(fit.common.pval, r["pval.common"], rtol=1e-9)


TAU2_TOL = {"DL": 1e-12, "HE": 1e-12, "SJ": 1e-12, "REML": 3e-7, "ML": 3e-7, "EB": 3e-7,
            "PM": 1e-4}


@pytest.mark.parametrize("key", [k for k in META["results"] if k.startswith("metagen")])
def test_metagen_random_effects(key):
    r = META["results"][key]
    hk = r["method.random.ci"] == "HK"
    hts = r["method.predict"] == "HTS"
    fit = mk.meta(mk.effect_sizes(BCG, "RR"), tau2_method=r["method.tau"], ci="hk" if hk else "z",
                  pi="t" if hts else "z")
    tol = TAU2_TOL[r["method.tau"]]
    assert close(fit.tau2, r["tau2"], rtol=tol)
    assert close(fit.random.estimate, r["TE.random"], rtol=tol)
    assert close(fit.random.se, r["seTE.random"], rtol=tol)
    assert close([fit.random.ci_lb, fit.random.ci_ub], [r["lower.random"], r["upper.random"]],
                 rtol=tol)
    if hts:
        assert close([fit.pi_lb, fit.pi_ub], [r["lower.predict"], r["upper.predict"]], rtol=tol)
