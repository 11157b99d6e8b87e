"""``metakit meta --sensitivity / --baujat / --gosh`` on dat.bcg (log RR, REML).

Numbers in the printed tables are metafor 3.8.1's (tests/reference/metafor_sensitivity.json,
sensitivity/bcg/REML), rounded as printed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from metakit.cli import app
from reference_data import close, load

runner = CliRunner()
CASE = next(c for c in load("metafor_sensitivity")["cases"]
            if c["name"] == "sensitivity/bcg/REML")


def _csv(tmp_path: Path) -> Path:
    d, raw = CASE["data"], CASE["data"]["raw"]
    path = tmp_path / "bcg.csv"
    pd.DataFrame({"study": d["study"], "e_t": raw["ai"],
                  "n_t": [a + b for a, b in zip(raw["ai"], raw["bi"])], "e_c": raw["ci"],
                  "n_c": [c + d_ for c, d_ in zip(raw["ci"], raw["di"])]}).to_csv(path,
                                                                                 index=False)
    return path


def test_sensitivity_tables_printed(tmp_path):
    res = runner.invoke(app, ["meta", str(_csv(tmp_path)), "--measure", "RR", "--sensitivity"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Leave-one-out analysis" in out and "Influence diagnostics" in out
    assert "Egger's test" in out and "Rank correlation test" in out
    assert "Trim-and-fill (L0)" in out
    l1o = CASE["results"]["leave1out"]
    section = out[out.index("Leave-one-out analysis"):out.index("Influence diagnostics")]
    line = next(ln for ln in section.splitlines() if ln.startswith("TPT Madras 1980"))
    assert f"{l1o['estimate'][7]:.4f}" in line   # the estimate without TPT Madras
    reg = next(e for e in CASE["results"]["regtest"]
               if e["model"] == "rma" and e["predictor"] == "sei" and "test" not in e)
    assert f"z = {reg['stat']:.4f}, p = {reg['pval']:.4f}" in out


def test_sensitivity_json(tmp_path):
    res = runner.invoke(app, ["meta", str(_csv(tmp_path)), "--measure", "RR", "--sensitivity",
                              "--json"])
    assert res.exit_code == 0, res.output
    sens = json.loads(res.stdout)["sensitivity"]
    ref = CASE["results"]
    assert close(sens["leave_one_out"]["estimate"], ref["leave1out"]["estimate"])
    assert close(sens["influence"]["cook_d"], ref["influence"]["cook_d"])
    assert sens["trimfill"]["k0"] == ref["trimfill"][0]["k0"]


def test_baujat_and_gosh_written(tmp_path):
    b, g = tmp_path / "baujat.png", tmp_path / "gosh.svg"
    res = runner.invoke(app, ["meta", str(_csv(tmp_path)), "--measure", "RR", "--baujat", str(b),
                              "--gosh", str(g)])
    assert res.exit_code == 0, res.output
    assert b.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in g.read_text(encoding="utf-8")[:500]
    assert f"wrote {b}" in res.output and f"wrote {g}" in res.output


def test_few_studies_warn_and_subgroups_refused(tmp_path):
    path = tmp_path / "few.csv"
    pd.DataFrame({"study": list("ABCDEF"), "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.9],
                  "vi": [0.01, 0.02, 0.015, 0.04, 0.03, 0.08],
                  "g": list("xxxyyy")}).to_csv(path, index=False)
    res = runner.invoke(app, ["meta", str(path), "--measure", "GEN", "--variance", "vi",
                              "--sensitivity"])
    assert res.exit_code == 0, res.output
    assert "underpowered with fewer than 10 studies" in res.output
    res = runner.invoke(app, ["meta", str(path), "--measure", "GEN", "--variance", "vi",
                              "--by", "g", "--sensitivity"])
    assert res.exit_code == 1 and "drop --by" in res.output
