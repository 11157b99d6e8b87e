"""The ``metakit metareg`` command against metafor 3.8.1.

Reference: tests/reference/metafor/metareg_bcg_ablat.json (dat.bcg, log risk ratio on
absolute latitude: rma(yi, vi, mods = ~ ablat) with REML and DL, z and Knapp-Hartung,
and permutest with 1,000 permutations).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from metakit.cli import app
from reference_data import close, load

runner = CliRunner()
REF = load("metafor/metareg_bcg_ablat")
IN = REF["inputs"]


def _csv(tmp_path: Path, **changes) -> Path:
    df = pd.DataFrame({"study": IN["author"], "year": IN["year"],
                       "e_t": IN["tpos"], "n_t": np.add(IN["tpos"], IN["tneg"]),
                       "e_c": IN["cpos"], "n_c": np.add(IN["cpos"], IN["cneg"]),
                       "ablat": IN["ablat"], "alloc": IN["alloc"],
                       "yi": IN["yi"], "vi": IN["vi"]})
    for col, values in changes.items():
        df[col] = values
    path = tmp_path / "bcg.csv"
    df.to_csv(path, index=False)
    return path


def _run(*args):
    # dat.bcg's authors repeat (Rosenthal et al 1960 and 1961): label by author and year
    return runner.invoke(app, ["metareg", *map(str, args), "--year", "year"])


def test_summary_shows_metafor_coefficients(tmp_path):
    res = _run(_csv(tmp_path), "--mods", "~ ablat", "--measure", "RR")
    assert res.exit_code == 0, res.output
    ref = REF["fits"]["ablat_REML_z"]
    assert "Outcome: log risk ratio" in res.output
    assert "Mixed-effects meta-regression (k = 13; tau² estimator: REML)" in res.output
    row = next(line.split() for line in res.output.splitlines() if line.startswith("ablat "))
    assert row[1:3] == [f"{ref['coef']['ablat']:.4f}", f"{ref['se']['ablat']:.4f}"]  # -0.0291 0.0072
    row = next(line.split() for line in res.output.splitlines() if line.startswith("intrcpt "))
    assert row[1] == f"{ref['coef']['intrcpt']:.4f}"  # 0.2515
    # metafor's default threshold (1e-5) stops tau² early; its 1e-12 fit gives QM 16.3582
    assert f"QM(df = 1) = {REF['fits']['ablat_REML_z_tight']['QM']:.4f}" in res.output
    assert f"QE(df = 11) = {ref['QE']:.4f}" in res.output


@pytest.mark.parametrize("name, args", [
    ("ablat_REML_z_tight", ["--measure", "RR"]),
    ("ablat_DL_knha", ["--measure", "RR", "--tau2", "DL", "--hk"]),
    ("ablat_REML_knha_tight", ["--measure", "GEN", "--variance", "vi", "--scale", "log", "--hk"]),
])
def test_json_equals_metafor(tmp_path, name, args):
    res = _run(_csv(tmp_path), "--mods", "~ ablat", "--json", *args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    ref = REF["fits"][name]
    assert out["k"] == 13 and out["tau2_method"] == ref["method"]
    for coef in ("intrcpt", "ablat"):
        got = out["coefficients"][coef]
        for key, rkey in (("estimate", "coef"), ("se", "se"), ("stat", "zval"), ("pval", "pval"),
                          ("ci_lb", "ci.lb"), ("ci_ub", "ci.ub")):
            assert close(got[key], ref[rkey][coef], rtol=1e-6), (coef, key)
    assert close(out["tau2"], ref["tau2"], rtol=1e-6)
    assert close(out["R2"], ref["R2"], rtol=1e-6)
    assert close(out["QE"]["statistic"], ref["QE"]) and close(out["QM"]["pval"], ref["QMp"])
    if ref["test"] == "knha":
        assert out["QM"]["distribution"] == "F" and list(out["QM"]["df"]) == ref["QMdf"]


def test_permutation_test_within_monte_carlo_error_of_metafor(tmp_path):
    res = _run(_csv(tmp_path), "--mods", "~ ablat", "--measure", "RR", "--permutations", 1000,
               "--seed", 3, "--json")
    assert res.exit_code == 0, res.output
    perm = json.loads(res.output)["permutation"]
    ref = REF["permutest"]["REML_z"]
    assert perm["iterations"] == 1000 and not perm["exact"]
    # binomial SE at p = 0.011 from 1,000 permutations: 0.0033
    assert abs(perm["pval"][1] - ref["pval"]["ablat"]) < 4 * 0.0033
    assert abs(perm["QM"]["pval"] - ref["QMp"]) < 4 * 0.0033
    text = _run(_csv(tmp_path), "--mods", "~ ablat", "--measure", "RR", "--permutations", 200)
    assert "Permutation test (200 random permutations):" in text.output


def test_bubble_written_and_categorical_moderator(tmp_path):
    out = tmp_path / "bubble.png"
    res = _run(_csv(tmp_path), "--mods", "~ ablat + C(alloc)", "--measure", "RR", "--bubble", out,
               "--labels", "--pi")
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert f"wrote {out}" in res.output
    assert "C(alloc)[T.random]" in res.output and "C(alloc)[T.systematic]" in res.output


def test_missing_moderator_values_name_the_studies(tmp_path):
    ablat = list(IN["ablat"])
    ablat[2] = None
    res = _run(_csv(tmp_path, ablat=ablat), "--mods", "~ ablat", "--measure", "RR")
    assert res.exit_code == 0, res.output
    assert "warning: 1 study left out" in res.output and "Rosenthal et al 1960" in res.output
    assert "k = 12" in res.output


@pytest.mark.parametrize("mods, message", [
    ("~ ablat + latitude", "column 'latitude': moderator not found in the data"),
    ("~ ablat + I(2 * ablat)", "the design matrix is singular: ablat, I(2 * ablat) are collinear"),
])
def test_errors_are_clear_without_traceback(tmp_path, mods, message):
    res = _run(_csv(tmp_path), "--mods", mods, "--measure", "RR")
    assert res.exit_code == 1
    assert message in res.output and "Traceback" not in res.output


def test_mods_is_required(tmp_path):
    res = _run(_csv(tmp_path), "--measure", "RR")
    assert res.exit_code == 2 and "--mods" in res.output
