"""The graph-theoretical fit equals generalised least squares with the full within-study
covariance, written out independently here (dense matrices, contrasts against each study's
first arm), for a network with a four-arm and a three-arm study (Rücker 2012, section 3)."""

import numpy as np
import pytest

from metakit.network import nma
from metakit.network.data import build


def network(seed=3):
    rng = np.random.default_rng(seed)
    studies = [[0, 1, 2, 3], [0, 1, 4], [0, 1], [1, 2], [2, 3], [0, 4], [3, 4], [0, 2], [1, 3]]
    truth = np.array([0.0, 0.3, -0.2, 0.5, 0.1])
    rows, arm_var = [], []
    for s, arms in enumerate(studies):
        var = rng.uniform(0.02, 0.2, len(arms))
        mean = truth[arms] + rng.normal(0, np.sqrt(var)) + rng.normal(0, 0.2, len(arms))
        arm_var.append(var)
        for i in range(len(arms)):
            for j in range(i + 1, len(arms)):
                rows.append((s, arms[i], arms[j], mean[i] - mean[j], np.sqrt(var[i] + var[j])))
        studies[s] = (arms, mean, var)
    s, a, b, y, se = map(np.array, zip(*rows))
    net = build([f"s{i}" for i in range(len(studies))], ("A", "B", "C", "D", "E"), s, a, b, y, se, "MD")
    return net, studies


def gls(studies, tau2, n=5):
    """Dense GLS on basis contrasts (arm j minus the study's first arm), reference A."""
    ys, Xs, Vs = [], [], []
    for arms, mean, var in studies:
        p = len(arms)
        for j in range(1, p):
            x = np.zeros(n)
            x[arms[j]] += 1
            x[arms[0]] -= 1
            Xs.append(x[1:])
            ys.append(mean[j] - mean[0])
        V = np.full((p - 1, p - 1), var[0]) + np.diag(var[1:]) + tau2 * (np.eye(p - 1) + 1) / 2
        Vs.append(V)
    X, y = np.array(Xs), np.array(ys)
    V = np.zeros((len(y), len(y)))
    k = 0
    for blk in Vs:
        V[k:k + len(blk), k:k + len(blk)] = blk
        k += len(blk)
    W = np.linalg.inv(V)
    cov = np.linalg.inv(X.T @ W @ X)
    beta = cov @ X.T @ W @ y
    r = y - X @ beta
    return beta, np.sqrt(np.diag(cov)), float(r @ W @ r)


@pytest.mark.parametrize("method", ["DL", "REML"])
def test_graph_fit_equals_dense_gls(method):
    net, studies = network()
    assert sorted(g.p for g in net.groups) == [3, 4]
    res = nma(net, reference="A", tau2_method=method)
    beta, se, Q = gls(studies, 0.0)
    v = res.common.versus("A")
    assert np.allclose(v["TE"][1:], beta, atol=1e-12) and np.allclose(v["seTE"][1:], se, atol=1e-12)
    assert res.Q.statistic == pytest.approx(Q, abs=1e-10)
    assert res.Q.df == (3 + 2 + 7 * 1) - (5 - 1)  # sum over studies of (arms - 1), minus (n - 1)
    beta, se, _ = gls(studies, res.tau2)
    v = res.random.versus("A")
    assert np.allclose(v["TE"][1:], beta, atol=1e-12) and np.allclose(v["seTE"][1:], se, atol=1e-12)


def test_reml_maximises_the_dense_restricted_likelihood():
    net, studies = network()
    res = nma(net, reference="A", tau2_method="REML")

    def restricted_loglik(tau2):
        ys, Xs, blocks = [], [], []
        for arms, mean, var in studies:
            p = len(arms)
            for j in range(1, p):
                x = np.zeros(5)
                x[arms[j]] += 1
                x[arms[0]] -= 1
                Xs.append(x[1:])
                ys.append(mean[j] - mean[0])
            blocks.append(np.full((p - 1, p - 1), var[0]) + np.diag(var[1:]) + tau2 * (np.eye(p - 1) + 1) / 2)
        X, y = np.array(Xs), np.array(ys)
        V = np.zeros((len(y), len(y)))
        k = 0
        for blk in blocks:
            V[k:k + len(blk), k:k + len(blk)] = blk
            k += len(blk)
        W = np.linalg.inv(V)
        XtWX = X.T @ W @ X
        beta = np.linalg.solve(XtWX, X.T @ W @ y)
        r = y - X @ beta
        return -0.5 * (np.linalg.slogdet(V)[1] + np.linalg.slogdet(XtWX)[1] + r @ W @ r)

    best = restricted_loglik(res.tau2)
    for t in (res.tau2 * 0.99, res.tau2 * 1.01, res.tau2 + 1e-4, max(res.tau2 - 1e-4, 0.0)):
        assert restricted_loglik(t) <= best + 1e-12
    assert res.tau2 > 0


def test_detached_designs_equal_refits_without_them():
    """Q between designs after detaching a design (Woodbury update) equals the between-designs Q
    of the network refitted without that design's studies; bridges are left out."""
    net, _ = network()
    dd = nma(net, reference="A").decomp_design()
    design, labels = net.designs()
    for label, q, df in zip(dd.detach_designs, dd.Q_detach, dd.df_detach):
        keep = design != labels.index(label)
        rows = keep[net.study]
        new = np.cumsum(keep) - 1
        sub = build([net.studies[i] for i in np.flatnonzero(keep)], net.treatments, new[net.study[rows]],
                    net.t1[rows], net.t2[rows], net.TE[rows], net.seTE[rows], "MD")
        ref = nma(sub, reference="A")
        assert q == pytest.approx(ref.Q_between.statistic, abs=1e-9), label
        assert df == ref.Q_between.df, label
    assert "A:B:C:D" in dd.detach_designs and "A:B:E" in dd.detach_designs
