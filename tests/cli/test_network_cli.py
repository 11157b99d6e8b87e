"""``metakit network`` on the illustrative example and on Senn 2013 (netmeta reference)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from metakit.cli import app
from reference_data import close, load

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "network_onfh_illustrative.csv"
SENN = load("netmeta/nma_senn2013_netmeta")


def test_example_prints_fit_league_and_ranks(tmp_path):
    out = runner.invoke(app, ["network", str(EXAMPLE), "--measure", "OR", "--reference", "CD",
                              "--figures", str(tmp_path / "fig"), "--league", str(tmp_path / "league.csv")])
    assert out.exit_code == 0, out.output
    text = out.stdout
    assert "18 studies" in text and "4 treatments" in text and "Reference: CD" in text
    assert "League table" in text and "Ranking" in text and "P-score" in text and "Egger" in text
    for name in ("network", "forest", "league", "rankogram", "sucra", "funnel"):
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 0
    league = pd.read_csv(tmp_path / "league.csv", header=None)
    assert list(league.iloc[i, i] for i in range(4)) == ["CD", "CD + high dose", "CD + low dose", "CD + medium dose"]


def test_json_equals_netmeta_on_senn(tmp_path):
    inp = SENN["inputs"]
    path = tmp_path / "senn.csv"
    pd.DataFrame({k: inp[k] for k in ("studlab", "treat1", "treat2", "TE", "seTE")}).to_csv(path, index=False)
    out = runner.invoke(app, ["network", str(path), "--measure", "MD", "--reference", "plac", "--json",
                              "--nsim", "2000"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    ref = SENN["fits"]["DL"]
    assert close(doc["fit"]["tau2"], ref["heterogeneity"]["tau2"])
    assert close(doc["fit"]["random"]["TE"], ref["vs_reference"]["random"]["TE"])
    assert close([r["Q"] for r in doc["decomposition"]["Q_decomp"]], ref["decomp_design"]["Q.decomp"]["Q"])
    assert len(doc["netsplit"]["comparisons"]) == 45 and len(doc["ranking"]["pscore"]) == 10


def test_errors_are_named(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"study": ["s1", "s1", "s2", "s2"], "treatment": ["CD", "CD + low dose", "cd ", "CD + low dose"],
                  "events": [3, 1, 4, 2], "n": [20, 20, 30, 30]}).to_csv(path, index=False)
    out = runner.invoke(app, ["network", str(path), "--measure", "OR"])
    assert out.exit_code == 1
    assert "spelled 2 ways" in out.stderr


def test_reml_covariance_option(tmp_path):
    inp = SENN["inputs"]
    path = tmp_path / "senn.csv"
    pd.DataFrame({k: inp[k] for k in ("studlab", "treat1", "treat2", "TE", "seTE")}).to_csv(path, index=False)
    out = runner.invoke(app, ["network", str(path), "--measure", "MD", "--reference", "plac", "--json",
                              "--tau2", "REML", "--reml-covariance", "netmeta", "--nsim", "500"])
    assert out.exit_code == 0, out.output
    assert close(json.loads(out.stdout)["fit"]["tau2"], SENN["fits"]["REML"]["heterogeneity"]["tau2"])
