"""The ``metakit meta`` command: what a user types and sees."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from metakit.cli import app
from reference_data import close, load

runner = CliRunner()
BCG = load("metafor_pairwise")["datasets"]["bcg"]


def _bcg_csv(tmp_path: Path) -> Path:
    path = tmp_path / "bcg.csv"
    pd.DataFrame({"study": BCG["study"], "e_t": BCG["ai"], "n_t": BCG["n1i"],
                  "e_c": BCG["ci"], "n_c": BCG["n2i"]}).to_csv(path, index=False)
    return path


def _fit(fits, measure, method, test="z"):
    return next(f for f in fits if f["measure"] == measure and f["method"] == method
                and f["test"] == test)


def test_summary_printed(tmp_path):
    res = runner.invoke(app, ["meta", str(_bcg_csv(tmp_path)), "--measure", "RR", "--tau2", "REML"])
    assert res.exit_code == 0, res.output
    assert "Risk ratio" in res.output and "IV, Random, 95% CI" in res.output
    assert "Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001); I² = 92%" in res.output
    assert "Test for overall effect: Z = 3.97 (P < 0.0001)" in res.output


def test_json_equals_metafor(tmp_path):
    res = runner.invoke(app, ["meta", str(_bcg_csv(tmp_path)), "--measure", "OR", "--tau2", "PM",
                              "--hk", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    ref = _fit(BCG["fits"], "OR", "PM", "knha")
    assert close(out["random"]["estimate"], ref["beta"], atol=1e-8)
    assert close(out["random"]["se"], ref["se"], atol=1e-8)
    assert out["random"]["stat_name"] == "t" and out["random"]["df"] == 12


def test_subgroups_by_column(tmp_path):
    path = tmp_path / "sub.csv"
    df = pd.DataFrame({"study": BCG["study"], "e_t": BCG["ai"], "n_t": BCG["n1i"],
                       "e_c": BCG["ci"], "n_c": BCG["n2i"],
                       "era": ["early" if int(s[-4:]) < 1970 else "late" for s in BCG["study"]]})
    df.to_csv(path, index=False)
    res = runner.invoke(app, ["meta", str(path), "--measure", "RR", "--by", "era"])
    assert res.exit_code == 0, res.output
    assert "era = early" in res.output and "era = late" in res.output
    assert "Test for subgroup differences: Chi² = " in res.output


def test_bad_cell_is_named(tmp_path):
    path = _bcg_csv(tmp_path)
    df = pd.read_csv(path)
    df.loc[2, "e_t"] = 500      # more events than patients in Rosenthal et al 1960
    df.to_csv(path, index=False)
    res = runner.invoke(app, ["meta", str(path), "--measure", "OR"])
    assert res.exit_code == 1
    assert "Rosenthal et al 1960" in res.output and "e_t" in res.output


def test_year_column_joins_labels_when_asked(tmp_path):
    # One labelling rule for the API and the CLI: the study column as written, the year
    # appended only when a year column is named (--year / year=).
    path = tmp_path / "y.csv"
    pd.DataFrame({"study": ["Alpha", "Beta"], "year": [2001, 2003], "yi": [0.1, 0.3],
                  "vi": [0.04, 0.05]}).to_csv(path, index=False)
    args = ["meta", str(path), "--measure", "GEN", "--variance", "vi", "--model", "common"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "Alpha 2001" not in res.output and "Alpha " in res.output
    res = runner.invoke(app, [*args, "--year", "year"])
    assert res.exit_code == 0, res.output
    assert "Alpha 2001" in res.output and "Beta 2003" in res.output
