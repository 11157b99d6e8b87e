"""Baujat and GOSH figures: their content read back from the matplotlib artists.

Baujat coordinates are metafor 3.8.1's baujat() values for dat.bcg (REML; in
tests/reference/metafor_sensitivity.json); GOSH points are metafor's gosh() values for
dat.bcg trials 1-8 (DL), subset by subset.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

import metakit as mk
from metakit.plots.baujat import baujat
from metakit.plots.gosh import gosh as gosh_plot
from metakit.stats.gosh import gosh
from metakit.stats.kernel import Settings
from reference_data import load

matplotlib.use("Agg")
REF = {c["name"]: c for c in load("metafor_sensitivity")["cases"]}


@pytest.fixture(scope="module")
def bcg():
    case = REF["sensitivity/bcg/REML"]
    d = case["data"]
    frame = pd.DataFrame({"study": d["study"], "yi": d["yi"], "vi": d["vi"]})
    return case, mk.meta(mk.effect_sizes(frame, "GEN", estimate="yi", variance="vi"), tol=1e-12)


def test_baujat_points_and_labels(bcg, tmp_path):
    case, res = bcg
    ref = case["results"]["baujat"]
    fig = res.baujat(tmp_path / "baujat.png")
    assert (tmp_path / "baujat.png").stat().st_size > 0
    ax = fig.axes[0]
    pts = next(c for c in ax.collections if c.get_gid() == "studies").get_offsets()
    assert np.allclose(pts[:, 0], ref["x"], rtol=1e-6) and np.allclose(pts[:, 1], ref["y"],
                                                                        rtol=1e-6)
    labels = {t.get_gid(): t for t in ax.texts}
    assert sorted(t.get_text() for t in ax.texts) == sorted(ref["slab"])
    for i, name in enumerate(ref["slab"]):  # each label annotates its own point
        t = labels[f"label:{i}"]
        assert t.get_text() == name and np.allclose(t.xy, (ref["x"][i], ref["y"][i]))
    assert "heterogeneity" in ax.get_xlabel() and "Influence" in ax.get_ylabel()
    lo, hi = ax.get_xlim()
    assert lo < min(ref["x"]) and hi > max(ref["x"])


def test_baujat_labels_do_not_overlap(bcg):
    _, res = bcg
    fig = res.baujat(label="all")
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    # the text itself (an Annotation's own extent includes its leader line)
    boxes = [Text.get_window_extent(t, r) for t in fig.axes[0].texts]
    overlaps = sum(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert overlaps == 0


def test_baujat_top_n_labels(bcg):
    case, res = bcg
    ref = case["results"]["baujat"]
    fig = baujat(res.baujat(), label=2)
    shown = sorted(t.get_text() for t in fig.axes[0].texts)
    x, y = np.array(ref["x"]), np.array(ref["y"])
    far = np.argsort(-np.hypot(x / x.max(), y / y.max()))[:2]
    assert shown == sorted(ref["slab"][i] for i in far)
    with pytest.raises(ValueError, match="label"):
        baujat(res.baujat(), label="some")


def test_gosh_points_equal_metafor():
    case = REF["gosh bcg trials 1-8/DL"]
    d, r = case["data"], case["results"]
    g = gosh(d["yi"], d["vi"], Settings(tau2_method="DL"), study=d["study"])
    fig = g.plot()
    ax = next(a for a in fig.axes if a.get_gid() == "gosh")
    pts = next(c for c in ax.collections if c.get_gid() == "all").get_offsets()
    assert len(pts) == 255
    assert np.allclose(pts[:, 0], r["estimate"], rtol=1e-6, atol=1e-9)
    assert np.allclose(pts[:, 1], r["I2"], rtol=1e-6, atol=1e-9)
    top = next(a for a in fig.axes if a.get_gid() == "gosh:estimate")
    assert sum(p.get_height() for p in top.patches) == 255
    assert ax.get_ylabel() == "I² (%)"
    assert "255 subsets of 8 studies" in next(t for t in fig.texts if t.get_gid() == "title").get_text()


def test_gosh_highlight_splits_subsets():
    case = REF["gosh bcg trials 1-8/DL"]
    d, r = case["data"], case["results"]
    g = gosh(d["yi"], d["vi"], Settings(tau2_method="DL"), study=d["study"])
    fig = gosh_plot(g, highlight="Hart & Sutherland 1977")
    ax = fig.axes[0]
    j = d["study"].index("Hart & Sutherland 1977")
    incl = np.array(r["incl"], bool)[:, j]
    with_ = next(c for c in ax.collections if c.get_gid() == f"with:{j}").get_offsets()
    without = next(c for c in ax.collections if c.get_gid() == f"without:{j}").get_offsets()
    assert len(with_) == incl.sum() == 128 and len(without) == 127
    assert np.allclose(np.sort(with_[:, 0]), np.sort(np.array(r["estimate"])[incl]))
    with pytest.raises(ValueError, match="no study"):
        gosh_plot(g, highlight="Nobody 2020")


def test_gosh_many_subsets_as_density():
    rng = np.random.default_rng(3)
    g = gosh(rng.normal(0.2, 0.2, 16), rng.uniform(0.01, 0.1, 16), Settings(tau2_method="DL"))
    fig = gosh_plot(g, max_points=1000)
    ax = fig.axes[0]
    hexes = [c for c in ax.collections if c.get_gid() == "all"]
    assert len(hexes) == 1 and isinstance(hexes[0], matplotlib.collections.PolyCollection)
    # every subset is counted in some hexagon
    assert hexes[0].get_array().sum() == pytest.approx(2 ** 16 - 1)
