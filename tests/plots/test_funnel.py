"""Funnel plots: points, pseudo confidence limits and contours read back from the artists.

Study effects and the summary come from metafor 3.8.1 (tests/reference/metafor_pairwise.json,
dat.bcg OR and dat.normand1999 MD, REML fits); the funnel's lines are checked against
mu +/- 1.96 SE written out here, the contours against Peters et al. (2008):
|y| = z_{1-p/2} SE with z = 1.645, 1.960, 2.576 for p = 0.10, 0.05, 0.01.
"""

from __future__ import annotations

import json
import math
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

import metakit as mk
from metakit.errors import MetakitWarning
from metakit.plots.funnel import funnel, log_ticks

matplotlib.use("Agg")

REF = json.loads((Path(__file__).parents[1] / "reference" / "metafor_pairwise.json")
                 .read_text(encoding="utf-8"))["datasets"]


def _fit_ref(data: str, measure: str, method: str) -> dict:
    return next(f for f in REF[data]["fits"] if f["measure"] == measure
                and f["method"] == method and f["test"] == "z")


@pytest.fixture(scope="module")
def bcg():
    d = REF["bcg"]
    df = pd.DataFrame({"study": d["study"], "e_t": d["ai"], "n_t": d["n1i"], "e_c": d["ci"],
                       "n_c": d["n2i"], "g": ["a", "b"] * 6 + ["a"]})
    return mk.effect_sizes(df, "OR", keep=("g",))


def _ax(fig):
    return next(a for a in fig.axes if a.get_gid() == "funnel")


def _line(ax, gid):
    return next(ln for ln in ax.lines if ln.get_gid() == gid)


def test_points_limits_and_log_axis(bcg):
    fig = funnel(mk.meta(bcg))
    ax = _ax(fig)
    ref = _fit_ref("bcg", "OR", "REML")
    esc = REF["bcg"]["escalc"]["OR"]
    assert ax.get_xscale() == "log"
    assert ax.yaxis_inverted() and ax.get_ylim()[1] == 0
    pts = next(c for c in ax.collections if c.get_gid() == "studies").get_offsets()
    assert np.allclose(pts[:, 0], np.exp(esc["yi"])) and np.allclose(pts[:, 1],
                                                                       np.sqrt(esc["vi"]))
    summary = _line(ax, "summary")
    assert np.allclose(summary.get_xdata(), math.exp(ref["beta"]))
    left, right = _line(ax, "pseudo-ci-left"), _line(ax, "pseudo-ci-right")
    se = left.get_ydata()
    assert se[0] == 0 and se[-1] == pytest.approx(max(np.sqrt(esc["vi"])) * 1.08)
    assert np.allclose(np.log(left.get_xdata()), ref["beta"] - 1.959964 * se, atol=1e-5)
    assert np.allclose(np.log(right.get_xdata()), ref["beta"] + 1.959964 * se, atol=1e-5)
    assert all(ax.get_xlim()[0] <= x <= ax.get_xlim()[1] for x in pts[:, 0])


def test_contours_follow_peters_2008(bcg):
    ax = _ax(funnel(mk.meta(bcg), contours=True))
    for p, z in ((0.10, 1.644854), (0.05, 1.959964), (0.01, 2.575829)):
        region = next(c for c in ax.collections if c.get_gid() == f"contour:{p:g}")
        verts = region.get_paths()[0].vertices
        # Edges of the region: x = exp(+/- z SE) at every SE of the grid.
        inner = verts[np.isfinite(verts).all(axis=1) & (verts[:, 1] > 0.1)]
        ratio = np.abs(np.log(inner[:, 0])) / inner[:, 1]
        assert np.allclose(ratio, z, atol=1e-5)
    legend = [t.get_text() for t in _ax_fig_texts(ax)]
    for label in ("p > 0.10", "0.05 < p < 0.10", "0.01 < p < 0.05", "p < 0.01"):
        assert label in legend


def _ax_fig_texts(ax):
    return [t for t in ax.figure.findobj(Text) if t.get_text()]


def test_filled_studies_are_hollow(bcg):
    fit = mk.meta(bcg)
    fig = funnel(fit, filled=([0.8, 1.1], [0.2, 0.3]))
    ax = _ax(fig)
    filled = next(c for c in ax.collections if c.get_gid() == "filled")
    assert np.allclose(filled.get_offsets(), np.c_[np.exp([0.8, 1.1]), np.sqrt([0.2, 0.3])])
    assert np.allclose(filled.get_facecolor()[0], matplotlib.colors.to_rgba("white"))
    # The y axis reaches the largest SE, imputed studies included.
    assert ax.get_ylim()[0] >= max(np.sqrt(fit.vi).max(), np.sqrt(0.3))
    assert "Imputed (trim and fill)" in [t.get_text() for t in _ax_fig_texts(ax)]
    with pytest.raises(ValueError, match="variances"):
        funnel(fit, filled=([0.1, 0.2], [0.1]))


def test_continuous_linear_axis_and_subgroup_colours(bcg):
    d = REF["normand1999"]
    df = pd.DataFrame({"study": d["study"], "m_t": d["m1i"], "sd_t": d["sd1i"], "n_t": d["n1i"],
                       "m_c": d["m2i"], "sd_c": d["sd2i"], "n_c": d["n2i"]})
    with pytest.warns(MetakitWarning, match="9 studies"):
        ax = _ax(funnel(mk.meta(mk.effect_sizes(df, "MD")), centre="common"))
    assert ax.get_xscale() == "linear"
    assert np.allclose(_line(ax, "summary").get_xdata(), _fit_ref("normand1999", "MD", "FE")["beta"])
    sub = mk.meta(bcg, by="g")
    fig = funnel(sub)
    groups = [c for c in _ax(fig).collections if (c.get_gid() or "").startswith("studies:")]
    assert [c.get_gid() for c in groups] == ["studies:a", "studies:b"]
    assert [len(c.get_offsets()) for c in groups] == [7, 6]


def test_files_keep_text(bcg, tmp_path):
    fit = mk.meta(bcg)
    fit.funnel(tmp_path / "f.svg", contours=True, title="BCG")
    root = ET.parse(tmp_path / "f.svg").getroot()
    strings = {"".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"BCG", "Standard error", "Odds ratio (log scale)"} <= strings
    funnel(fit, tmp_path / "f.png", dpi=50)
    assert (tmp_path / "f.png").stat().st_size > 0


def test_no_text_overlaps_or_clips(bcg):
    fig = funnel(mk.meta(bcg, by="g"), contours=True, filled=([0.8], [0.2]), title="BCG")
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    b = np.array([[e.x0, e.y0, e.x1, e.y1] for e in (t.get_window_extent(r) for t in ts)])
    assert (b[:, 0] >= -0.5).all() and (b[:, 2] <= fig.bbox.width + 0.5).all()
    assert (b[:, 1] >= -0.5).all() and (b[:, 3] <= fig.bbox.height + 0.5).all()
    x0, y0, x1, y1 = b.T
    ov = ((x0[:, None] < x1[None, :] - 0.5) & (x0[None, :] < x1[:, None] - 0.5)
          & (y0[:, None] < y1[None, :] - 0.5) & (y0[None, :] < y1[:, None] - 0.5))
    np.fill_diagonal(ov, False)
    assert not ov.any()


def test_log_ticks():
    assert log_ticks(0.05, 8) == [0.05, 0.1, 0.2, 0.5, 1, 2, 5]
    assert log_ticks(0.003, 400) == [0.01, 0.1, 1, 10, 100]


# ---- layout: legend under the plot, long names, few studies ---------------------------------------

LONG = "Stroke units with early supported discharge and a multidisciplinary team (UK and Scandinavia)"


def _boxes(fig):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return r, ts, [t.get_window_extent(r) for t in ts]


@pytest.mark.parametrize("names", [("a", "b"), (LONG, "General medical wards")])
def test_legend_sits_under_the_plot_and_long_names_fit(bcg, names):
    es = bcg
    if names[0] != "a":
        d = REF["bcg"]
        df = pd.DataFrame({"study": d["study"], "e_t": d["ai"], "n_t": d["n1i"], "e_c": d["ci"],
                           "n_c": d["n2i"], "g": [names[0], names[1]] * 6 + [names[0]]})
        es = mk.effect_sizes(df, "OR", keep=("g",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # no layout warning may reach the user
        fig = funnel(mk.meta(es, by="g"), contours=True, title="BCG")
    r, texts, boxes = _boxes(fig)
    ax = _ax(fig)
    axes_box = ax.get_tightbbox(r)
    legend_box = fig.legends[0].get_window_extent(r)
    # Under the plot (axis label included), inside the figure, and the plot keeps the width.
    assert legend_box.y1 <= axes_box.y0 + 0.5
    assert legend_box.x0 >= -0.5 and legend_box.x1 <= fig.bbox.width + 0.5
    assert ax.get_window_extent(r).width >= 0.75 * fig.bbox.width
    # Every text (the long name wrapped onto two lines) inside the figure, none overlapping another.
    b = np.array([[e.x0, e.y0, e.x1, e.y1] for e in boxes])
    assert (b[:, 0] >= -0.5).all() and (b[:, 2] <= fig.bbox.width + 0.5).all()
    assert (b[:, 1] >= -0.5).all() and (b[:, 3] <= fig.bbox.height + 0.5).all()
    x0, y0, x1, y1 = b.T
    ov = ((x0[:, None] < x1[None, :] - 0.5) & (x0[None, :] < x1[:, None] - 0.5)
          & (y0[:, None] < y1[None, :] - 0.5) & (y0[None, :] < y1[:, None] - 0.5))
    np.fill_diagonal(ov, False)
    assert not ov.any(), [(texts[i].get_text(), texts[j].get_text()) for i, j in zip(*np.nonzero(ov))]
    # No legend text runs into the axes (the apex, the tick labels).
    for t, e in zip(texts, boxes):
        if t in fig.legends[0].get_texts():
            assert not e.overlaps(ax.get_window_extent(r))
    labels = [t.get_text().replace("\n", " ") for t in fig.legends[0].get_texts()]
    assert names[0] in labels and names[1] in labels


def test_fewer_than_ten_studies_warn(bcg):
    d = REF["bcg"]
    df = pd.DataFrame({"study": d["study"], "e_t": d["ai"], "n_t": d["n1i"], "e_c": d["ci"],
                       "n_c": d["n2i"]}).head(4)
    with pytest.warns(MetakitWarning, match=r"funnel plot of 4 studies.*Cochrane Handbook 10.4.3.1"):
        funnel(mk.meta(mk.effect_sizes(df, "OR")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # 13 studies: no warning
        funnel(mk.meta(bcg))


def test_contour_legend_fits_inside_the_figure():
    """Six legend entries at the default size: every entry lies inside the canvas (the
    column estimate once gave a legend wider than the figure, clipped on both sides)."""
    import pandas as pd

    import metakit as mk
    d = pd.DataFrame({"study": [f"S{i}" for i in range(12)],
                      "e_t": [4, 6, 3, 62, 33, 180, 8, 50, 29, 17, 18, 5],
                      "n_t": [123, 306, 231, 1360, 506, 1541, 254, 880, 750, 170, 190, 80],
                      "e_c": [11, 29, 11, 248, 47, 372, 10, 49, 45, 65, 30, 9],
                      "n_c": [139, 303, 220, 1287, 580, 1451, 63, 880, 727, 166, 200, 85]})
    fig = mk.meta(mk.effect_sizes(d, "RR")).funnel(contours=True)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0]
    box = legend.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width
    for text in legend.get_texts():
        t = text.get_window_extent(renderer)
        assert t.x0 >= 0 and t.x1 <= fig.bbox.width, text.get_text()
