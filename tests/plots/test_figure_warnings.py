"""matplotlib's own warnings never reach the user raw: layout warnings cannot occur, a missing
glyph becomes one MetakitWarning saying what to do, and a figure too small for its labels is a
clear error."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import metakit as mk
from metakit.errors import MetakitWarning
from metakit.plots.forest import forest
from metakit.plots.funnel import funnel
from metakit.plots.prisma import prisma_flow
from metakit.plots.rob import summary_plot, traffic_light
from metakit.rob import read_assessments

REF = json.loads((Path(__file__).parents[1] / "reference" / "metafor_pairwise.json")
                 .read_text(encoding="utf-8"))["datasets"]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rob"
LONG = "Randomised controlled trials with alternate allocation in three European countries (1950-1965)"


def _bcg(groups=None) -> pd.DataFrame:
    d = REF["bcg"]
    df = pd.DataFrame({"study": d["study"], "e_t": d["ai"], "n_t": d["n1i"], "e_c": d["ci"], "n_c": d["n2i"]})
    if groups is not None:
        df["g"] = groups
    return df


def _raw_matplotlib(caught) -> list[str]:
    return [str(w.message) for w in caught if not issubclass(w.category, MetakitWarning)]


def test_figures_with_long_names_raise_no_matplotlib_warning(tmp_path):
    es = mk.effect_sizes(_bcg([LONG, "b"] * 6 + [LONG]), "OR", keep=("g",))
    sub = mk.meta(es, by="g")
    rob = read_assessments(EXAMPLES / "robins_i_example.csv", "robins-i")
    from test_prisma import COUNTS

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        funnel(sub, tmp_path / "f.png", contours=True, title=LONG, dpi=50)
        funnel(sub, size=(2.5, 2.0))
        d = REF["normand1999"]
        md = pd.DataFrame({"study": d["study"], "m_t": d["m1i"], "sd_t": d["sd1i"], "n_t": d["n1i"],
                           "m_c": d["m2i"], "sd_c": d["sd2i"], "n_c": d["n2i"],
                           "g": [LONG, "General medical wards"] * 4 + [LONG]})
        # 9 studies: the one warning expected is metakit's own (fewer than 10).
        funnel(mk.meta(mk.effect_sizes(md, "MD", keep=("g",)), by="g"), contours=True, title="Stay")
        forest(sub, tmp_path / "forest.png", dpi=50)
        traffic_light(rob, tmp_path / "t.png", title=LONG)
        summary_plot(rob, path=tmp_path / "s.png", title=LONG)
        prisma_flow(COUNTS, tmp_path / "p.png", dpi=50)
    assert _raw_matplotlib(caught) == []
    ours = [str(w.message) for w in caught if issubclass(w.category, MetakitWarning)]
    assert len(ours) == 1 and ours[0].startswith("funnel plot of 9 studies")


def test_missing_glyphs_become_one_plain_warning(tmp_path):
    df = _bcg()
    df.loc[0, "study"] = "\u738b 1948"             # a Chinese surname; DejaVu Sans lacks it
    fit = mk.meta(mk.effect_sizes(df, "OR"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit.forest(tmp_path / "forest.png", dpi=50)
    assert _raw_matplotlib(caught) == []
    ours = [str(w.message) for w in caught if issubclass(w.category, MetakitWarning)]
    assert len(ours) == 1
    assert "no glyph for '\u738b'" in ours[0] and "font" in ours[0] and "empty boxes" in ours[0]


def test_a_funnel_too_small_for_its_labels_is_a_clear_error():
    fit = mk.meta(mk.effect_sizes(_bcg(), "OR"))
    with pytest.raises(ValueError, match=r"size 0.8 x 0.6 in leaves no room for the plot.*use at least"):
        funnel(fit, size=(0.8, 0.6))
