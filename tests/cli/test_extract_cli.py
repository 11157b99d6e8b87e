"""``metakit extract``: the dual extraction and RoB 2 workflow from the command line, both backends.

Figures: THA counts of Mao 2015 and Hauzeur 2018 (examples/data/onfh_tha.csv); the exported
sheet is meta-analysed and the common-effect log odds ratio checked against the
inverse-variance average worked by hand (Borenstein et al. 2009, eq. 5.8-5.10 and 11.3).
RoB 2 answers: the ILLUSTRATIVE Mao 2015 row of examples/stem-cell-onfh/rob2.csv.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metakit.cli import app
from metakit.rob import read_assessments

FORM = Path(__file__).parents[1] / "review" / "data" / "extraction_form.yaml"
runner = CliRunner()


def _ok(args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


def _fails(args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    return res.output


@pytest.fixture
def store(database_url):
    _ok(["extract", "form", str(FORM), "-p", database_url])
    for study, label in (("Mao 2015", "Mao"), ("Hauzeur 2018", "Hauzeur")):
        _ok(["extract", "studies", "-p", database_url, "--add", study, "--label", label, "--records", "1,2"])
    return database_url


THA = {"Mao 2015": (3, 48, 9, 41), "Hauzeur 2018": (15, 23, 15, 23)}


def test_extraction_round_trip(store, tmp_path):
    p = ["-p", store]
    assert "THA:e_t: hips converted - integer, required" in _ok(["extract", "form", "--show", *p])
    for who in ("ana", "ben"):
        for study, (et, nt, ec, nc) in THA.items():
            if who == "ben" and study == "Mao 2015":
                ec = 8
            sets = [f"year={study[-4:]}", f"THA:e_t={et}", f"THA:n_t={nt}", f"THA:e_c={ec}", f"THA:n_c={nc}",
                    "allocation=Randomised"]
            args = ["extract", "enter", "--study", study, "--as", who, *p]
            for s in sets:
                args += ["--set", s]
            if who == "ben":
                out = _fails(["extract", "show", "--study", study, "--as", who, "--extractor", "ana", *p])
                assert "cannot read ana's entry" in out
            assert "submitted" in _ok([*args, "--submit"])
    out = _ok(["extract", "compare", "--study", "Mao 2015", "--as", "carla", *p])
    assert "ana and ben agree on 5 of 6 values" in out and "THA:e_c: ana 9, ben 8" in out
    assert "1 discrepancy not settled: THA:e_c" in _fails(["extract", "reconcile", "--study", "Mao 2015",
                                                           "--as", "carla", *p])
    _ok(["extract", "reconcile", "--study", "Mao 2015", "--as", "carla", "--set", "THA:e_c=9",
         "--why", "THA:e_c=table 2", *p])
    res = runner.invoke(app, ["extract", "export", "binary", "-o", str(tmp_path / "b.csv"), *p])
    assert "warning: 1 study is not reconciled and left out of the sheet: Hauzeur 2018" in res.output
    _ok(["extract", "reconcile", "--study", "Hauzeur 2018", "--as", "carla", *p])
    assert "(2 rows)" in _ok(["extract", "export", "binary", "-o", str(tmp_path / "b.csv"), *p])
    status = _ok(["extract", "studies", *p])
    assert status.count("carla") == 2

    out = json.loads(_ok(["meta", str(tmp_path / "b.csv"), "--model", "common", "--json"]))
    yi = {"Mao": math.log(3 * 32 / (45 * 9)), "Hauzeur": 0.0}
    vi = {"Mao": 1 / 3 + 1 / 45 + 1 / 9 + 1 / 32, "Hauzeur": 2 / 15 + 2 / 8}
    w = {s: 1 / v for s, v in vi.items()}
    assert out["common"]["estimate"] == pytest.approx(sum(w[s] * yi[s] for s in w) / sum(w.values()), rel=1e-10)


def test_rob_round_trip(store, tmp_path):
    p = ["-p", store]
    answers = dict(zip("1.1 1.2 1.3 2.1 2.2 2.3 2.6 3.1 4.1 4.2 4.3 5.1 5.2 5.3".split(),
                       "Y NI N Y Y N Y Y N N N Y N N".split()))
    assert "1.1 Was the allocation sequence random?" in _ok(["extract", "rob", "questions"])
    first = _ok(["extract", "rob", "answer", "--study", "Mao 2015", "--outcome", "THA", "--as", "ana",
                 "--set", "1.1=Y", "--set", "1.2=NI", "--set", "1.3=N", *p])
    assert first.strip().startswith("D1 Some concerns, D2 pending")
    for who, a12 in (("ana", "NI"), ("ben", "Y")):
        args = ["extract", "rob", "answer", "--study", "Mao 2015", "--outcome", "THA", "--as", who, *p]
        for q, a in {**answers, "1.2": a12}.items():
            args += ["--set", f"{q}={a}"]
        _ok([*args, "--submit"])
    out = _ok(["extract", "rob", "compare", "--study", "Mao 2015", "--outcome", "THA", "--as", "carla", *p])
    assert "D1: Some concerns / Low  <- differs" in out
    assert "ana ben" in _ok(["extract", "rob", "status", *p])
    out = _ok(["extract", "rob", "reconcile", "--study", "Mao 2015", "--outcome", "THA", "--as", "carla",
               "--set", "1.2=NI", *p])
    assert out.strip() == "D1 Some concerns, D2 Low, D3 Low, D4 Low, D5 Low, Overall Some concerns"
    _ok(["extract", "rob", "export", "-o", str(tmp_path / "rob.csv"), *p])
    assert read_assessments(tmp_path / "rob.csv").overall_by_study("THA") == {"Mao": "Some concerns"}
    summary = " ".join(_ok(["rob", "summarise", str(tmp_path / "rob.csv")]).split())
    assert "1 (100%) raised some concerns and none was at high risk." in summary


@pytest.mark.parametrize("args", [["extract", "--help"], ["extract", "rob", "--help"], ["extract", "enter", "--help"]])
def test_help_imports_no_heavy_library(args):
    import os
    import subprocess
    import sys

    probe = ("import json, sys\nfrom metakit.cli import main\nsys.argv = ['metakit', *json.loads(sys.argv[1])]\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'pandas', 'scipy', 'matplotlib', 'sklearn', 'sqlalchemy'})))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    out = subprocess.run([sys.executable, "-c", probe, json.dumps(args)], capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
