"""League tables (content and CSV/XLSX export) and rankings on Senn 2013 (netmeta reference)."""

import numpy as np
import pandas as pd
import pytest

from metakit.network import nma
from reference_data import arr, close, load

SENN = load("netmeta/nma_senn2013_netmeta")


@pytest.fixture(scope="module")
def res():
    inp = SENN["inputs"]
    return nma({k: inp[k] for k in ("studlab", "treat1", "treat2", "TE", "seTE")}, measure="MD", reference="plac")


def test_league_lower_network_upper_direct(res, tmp_path):
    lg = res.league("random")
    ref = SENN["fits"]["DL"]["league_random"]["TE"]
    i, j = res.treatments.index("rosi"), res.treatments.index("acar")  # rosi below acar: lower triangle
    assert close(lg.TE[i, j], ref["values"][ref["rownames"].index("rosi")][ref["colnames"].index("acar")])
    # upper triangle: direct random-effects estimate; acar vs plac pools Costa1997 and Willms1999
    ns = SENN["fits"]["DL"]["netsplit"]["random"]
    k = ns["comparison"].index("acar:plac")
    a, p = res.treatments.index("acar"), res.treatments.index("plac")
    assert close(lg.TE[a, p], ns["direct"]["TE"][k]) and close(lg.ci_lb[a, p], ns["direct"]["lower"][k])
    assert np.isnan(lg.TE[res.treatments.index("acar"), res.treatments.index("benf")])  # no direct study
    assert lg.table.iloc[a, a] == "acar"
    csv = pd.read_csv(lg.to_csv(tmp_path / "league.csv"), header=None)
    assert csv.shape == (10, 10) and csv.iloc[a, p] == lg.table.iloc[a, p]
    xlsx = pd.read_excel(lg.to_excel(tmp_path / "league.xlsx"), header=None)
    assert xlsx.iloc[i, j] == lg.table.iloc[i, j]
    assert "row versus column" in lg.summary()


def test_league_upper_other_model(res):
    lg = res.league("common", upper="random")
    ref = SENN["fits"]["DL"]["league_random"]["TE"]
    a, b = res.treatments.index("acar"), res.treatments.index("benf")
    assert close(lg.TE[a, b], ref["values"][ref["rownames"].index("acar")][ref["colnames"].index("benf")])


def test_ranking_table(res):
    rk = res.ranking("random", nsim=2000, seed=3)
    frame = rk.to_frame()
    ps = SENN["fits"]["DL"]["Pscores"]["desirable"]
    best = ps["treatment"][int(np.argmax(arr(ps["Pscore.random"])))]
    assert frame.treatment.iloc[0] == best
    assert np.allclose(rk.rank_probs.sum(axis=0), 1) and np.allclose(rk.rank_probs.sum(axis=1), 1)
    assert np.allclose(rk.cumulative[:, -1], 1)
    assert close(rk.sucra, (10 - rk.mean_rank) / 9)
    again = res.ranking("random", nsim=2000, seed=3)
    assert np.array_equal(again.rank_probs, rk.rank_probs)  # seeded
    d = rk.to_dict()
    assert d["nsim"] == 2000 and len(d["rank_probs"]) == 10


def test_result_frame_dict_summary(res):
    frame = res.to_frame()
    ref = SENN["fits"]["DL"]["vs_reference"]["random"]
    rnd = frame[frame.model == "random"]
    assert close(rnd.TE, arr(ref["TE"])) and (rnd.reference == "plac").all()
    d = res.to_dict()
    assert d["tau2_method"] == "DL" and close(d["tau2"], SENN["fits"]["DL"]["heterogeneity"]["tau2"])
    text = res.summary()
    assert "Between designs" in text and "tau² = 0.1087" in text
    other = res.with_reference("metf")
    assert close(other.to_frame().query("model == 'common' and treatment == 'plac'").TE,
                 [-SENN["fits"]["DL"]["vs_reference"]["common"]["TE"][2]])
    pw = res.pairwise("random")
    assert len(pw) == 45 and {"lower_predict", "upper_predict"} <= set(pw.columns)
