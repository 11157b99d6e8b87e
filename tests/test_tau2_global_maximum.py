"""REML and ML return the global maximiser of the likelihood on tau² >= 0.

Two clusters: two precise studies that agree near 0 and four imprecise ones far away.
The score at tau² = 0 is negative (0 is a local maximum) but the likelihood is higher
inside. metafor 3.8 (rma, method REML/ML; values quoted in the issue that reported the
defect): REML tau² = 2.926857, estimate -1.762898, restricted log-likelihood -10.464 at
the optimum and -14.479 at tau² = 0; ML tau² = 2.269990.
"""

from __future__ import annotations

import numpy as np
import pytest

import metakit as mk
from metakit.stats.moments import make_batch
from metakit.stats.tau2 import log_likelihood

Y = np.array([0.0, 0.02, -3.0, -4.5, -2.0, -3.5])
V = np.array([0.01, 0.01, 2.0, 2.0, 2.0, 2.0])


@pytest.mark.parametrize("method, tau2", [("REML", 2.926857), ("ML", 2.269990)])
def test_interior_global_maximum_is_found(method, tau2):
    assert abs(float(mk.estimate_tau2(Y, V, method=method).tau2) - tau2) < 5e-7
    fit = mk.batch.meta(Y, V, tau2=method)
    assert abs(float(fit.tau2) - tau2) < 5e-7
    if method == "REML":
        assert abs(float(fit.estimate) - (-1.762898)) < 5e-7


def test_score_at_zero_is_negative_so_zero_is_a_local_maximum():
    """The rule this data set breaks: a non-positive score at 0 does not make 0 global."""
    b = make_batch(Y[None], V[None])
    from metakit.stats.moments import stats
    st = stats(b, np.zeros(1))
    assert float(st.yPPy - st.trP) < 0


def test_restricted_log_likelihood_matches_metafor_up_to_its_constant():
    """metafor's REML log-likelihood adds -(k - p)/2 log(2 pi) + log det(X'X)/2 to ours."""
    b = make_batch(Y[None], V[None])
    const = -(6 - 1) / 2 * np.log(2 * np.pi) + 0.5 * np.log(6.0)
    ll_opt = float(log_likelihood(b, np.array([2.926857]), "REML")[0]) + const
    ll_zero = float(log_likelihood(b, np.zeros(1), "REML")[0]) + const
    assert round(ll_opt, 3) == -10.464 and round(ll_zero, 3) == -14.479


def test_batch_rows_and_ragged_masks_get_the_same_answer():
    y = np.vstack([Y, np.r_[Y[:5], 0.0], Y[::-1]])
    v = np.vstack([V, np.r_[V[:5], 1.0], V[::-1]])
    mask = np.ones(y.shape, dtype=bool)
    mask[1, 5] = False
    fit = mk.batch.meta(y, v, mask, tau2="REML")
    single = [float(mk.batch.meta(y[i][mask[i]], v[i][mask[i]], tau2="REML").tau2) for i in range(3)]
    assert np.allclose(fit.tau2, single, rtol=1e-9)
    assert abs(fit.tau2[0] - 2.926857) < 5e-7 and abs(fit.tau2[2] - 2.926857) < 5e-7


def test_no_heterogeneity_keeps_zero():
    """Q below its df: the boundary stays the estimate (nothing to scan for)."""
    y = np.array([0.1, 0.12, 0.09, 0.11])
    v = np.array([0.01, 0.02, 0.015, 0.01])
    assert float(mk.estimate_tau2(y, v, method="REML").tau2) == 0.0
