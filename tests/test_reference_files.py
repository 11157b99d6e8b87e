"""The R reference files for meta-regression, defects and sensitivity load and carry the
keys that tests/reference/README.md documents (made by tests/reference/metafor_*.R)."""

import json
from pathlib import Path

import pytest

REF = Path(__file__).parent / "reference"
FILES = ["metafor_metareg.json", "metafor_defects.json", "metafor_sensitivity.json"]


def load(name: str) -> dict:
    return json.loads((REF / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", FILES)
def test_top_level(name: str) -> None:
    doc = load(name)
    assert doc["software"]["metafor"] == "3.8.1"
    names = [c["name"] for c in doc["cases"]]
    assert len(names) == len(set(names)) > 0
    for case in doc["cases"]:
        assert {"name", "data", "settings", "results"} <= case.keys()


def test_metareg_keys() -> None:
    cases = load("metafor_metareg.json")["cases"]
    assert {c["settings"]["kind"] for c in cases} == {"metareg", "permutest", "subgroups",
                                                        "adversarial"}
    fits = [c for c in cases if c["settings"]["kind"] == "metareg"]
    methods = {c["settings"]["method"] for c in fits}
    assert methods == {"FE", "REML", "ML", "DL", "PM", "SJ", "HE", "EB", "HS"}
    for c in fits:
        r = c["results"]
        stat = "zval" if c["settings"]["test"] == "z" else "tval"
        for key in ("coef_names", "beta", "se", stat, "pval", "ci_lb", "ci_ub", "vb", "tau2",
                    "QE", "QEp", "QM", "QMdf", "QMp", "I2", "H2", "k", "p", "X"):
            assert key in r, (c["name"], key)
        assert len(r["beta"]) == len(r["coef_names"]) == r["p"]
    perms = [c for c in cases if "permutest" in c["results"]]
    assert perms and all(c["results"]["permutest"]["iter"] >= 28 for c in perms)
    assert any("coef_dropped" in c["results"] for c in cases)


def test_defects_keys() -> None:
    cases = load("metafor_defects.json")["cases"]
    assert {c["settings"]["kind"] for c in cases} == {"likelihood", "mh", "se_tau2"}
    lik = [c for c in cases if c["settings"]["kind"] == "likelihood"]
    assert len(lik) == 5
    issue = lik[0]["results"]
    assert abs(issue["REML"]["tau2"] - 2.926857) < 1e-6
    assert abs(issue["ML"]["tau2"] - 2.269990) < 1e-6
    assert all(c["results"][m]["check"]["metafor_is_global"] for c in lik for m in ("REML", "ML"))
    mh = [c for c in cases if c["settings"]["kind"] == "mh"]
    rd = next(c for c in mh if c["name"] == "double zero MH RD drop00=TRUE correct=TRUE")
    assert rd["results"]["k"] == 4 and rd["results"]["k_yi"] == 3
    assert abs(rd["results"]["QE"] - 0.71665) < 1e-5


def test_sensitivity_keys() -> None:
    cases = load("metafor_sensitivity.json")["cases"]
    kinds = {c["settings"]["kind"] for c in cases}
    assert kinds == {"sensitivity", "metareg_influence", "gosh", "fsn", "peters_harbord"}
    for c in (c for c in cases if c["settings"]["kind"] == "sensitivity"):
        r = c["results"]
        k = r["fit"]["k"]
        assert len(r["leave1out"]["estimate"]) == k
        assert sorted(r["cumul"]["order"]) == list(range(k))
        assert len(r["influence"]["dfbetas"]) == k
        assert len(r["regtest"]) >= 12 and len(r["trimfill"]) == 9
    for c in (c for c in cases if c["settings"]["kind"] == "gosh"):
        r = c["results"]
        assert r["n_subsets"] == 2 ** r["k"] - 1 == len(r["incl"]) == len(r["estimate"])
