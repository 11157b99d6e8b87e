"""Bubble plots of a meta-regression, read back from the matplotlib artists.

Numbers come from metafor 3.8.1 (tests/reference/metafor/metareg_bcg_ablat.json: dat.bcg
log risk ratios on absolute latitude, and on latitude + year): the fitted line is checked
against b0 + b1 x written out from metafor's coefficients, the band against metafor's
predict() CIs at ablat = 20, 30, 40, 50, the circle areas against 1/(vi + tau²) with
metafor's tau².
"""

from __future__ import annotations

import math
import warnings
import xml.etree.ElementTree as ET

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection

import metakit as mk
from metakit.errors import MetakitWarning
from metakit.plots.bubble import bubble, moderators
from reference_data import close, load

matplotlib.use("Agg")

REF = load("metafor/metareg_bcg_ablat")
IN = REF["inputs"]
DATA = pd.DataFrame({"study": [f"{a} {y}" for a, y in zip(IN["author"], IN["year"])],
                     "e_t": IN["tpos"], "n_t": np.add(IN["tpos"], IN["tneg"]),
                     "e_c": IN["cpos"], "n_c": np.add(IN["cpos"], IN["cneg"]),
                     "ablat": IN["ablat"], "year": IN["year"], "alloc": IN["alloc"],
                     "yi": IN["yi"], "vi": IN["vi"]})


def _fit(mods: str, method: str = "REML"):
    es = mk.effect_sizes(DATA, "RR")
    assert close(es.yi, IN["yi"], rtol=1e-12) and close(es.vi, IN["vi"], rtol=1e-12)
    return mk.metareg(es, mods, tau2_method=method, tol=1e-13)


def _ax(fig, moderator):
    return next(a for a in fig.axes if a.get_gid() == f"bubble:{moderator}")


def _artist(ax, gid):
    return next(a for a in ax.get_children() if a.get_gid() == gid)


def _band_at(ax, xs, gid="ci"):
    v = _artist(ax, gid).get_paths()[0].vertices
    out = []
    for x in xs:
        ys = v[np.isclose(v[:, 0], x), 1]
        out.append((ys.min(), ys.max()))
    return np.array(out)


@pytest.fixture(scope="module")
def dl_fig():
    fit = _fit("~ ablat", "DL")
    # 43 grid points from 13 to 55: the integers 20, 30, 40, 50 are on the grid
    return fit, bubble(fit, pi=True, grid_points=43)


def test_one_circle_per_study_with_area_proportional_to_weight(dl_fig):
    fit, fig = dl_fig
    ax = _ax(fig, "ablat")
    circles = _artist(ax, "studies")
    assert isinstance(circles, PathCollection)
    xy = circles.get_offsets()
    assert len(xy) == 13
    tau2 = REF["fits"]["ablat_DL_z"]["tau2"]
    w = 1.0 / (DATA.vi.to_numpy() + tau2)
    # match each circle to its study by position
    idx = [int(np.flatnonzero(np.isclose(DATA.ablat, x) & np.isclose(DATA.yi, y))[0]) for x, y in xy]
    assert sorted(idx) == list(range(13))
    area = circles.get_sizes()
    ratio = area / w[idx]
    assert np.allclose(ratio, ratio[0], rtol=1e-6)
    # the heaviest study is drawn at max_area (260 square points by default)
    assert math.isclose(area.max(), 260.0, rel_tol=1e-12)


def test_line_equals_metafor_coefficients_written_out(dl_fig):
    _, fig = dl_fig
    line = _artist(_ax(fig, "ablat"), "fit")
    x, y = line.get_xdata(), line.get_ydata()
    b0, b1 = REF["fits"]["ablat_DL_z"]["coef"].values()
    for lat in (20.0, 50.0):
        assert close(np.interp(lat, x, y), b0 + b1 * lat, rtol=1e-7)
    # from the smallest to the largest observed latitude, no further
    assert x.min() == 13 and x.max() == 55


def test_band_covers_metafor_ci_and_pi_lines_follow_metafor_pi(dl_fig):
    _, fig = dl_fig
    ax = _ax(fig, "ablat")
    ref = REF["fits"]["ablat_DL_z"]["predict_at_ablat"]
    lats = [20, 30, 40, 50]
    sel = [ref["ablat"].index(x) for x in lats]
    band = _band_at(ax, lats)
    assert close(band[:, 0], [ref["ci.lb"][i] for i in sel], rtol=1e-7)
    assert close(band[:, 1], [ref["ci.ub"][i] for i in sel], rtol=1e-7)
    for gid, key in (("pi-lb", "pi.lb"), ("pi-ub", "pi.ub")):
        ln = _artist(ax, gid)
        got = np.interp(lats, ln.get_xdata(), ln.get_ydata())
        # the PI bound is curved: on this grid the points sit on grid nodes exactly
        assert close(got, [ref[key][i] for i in sel], rtol=1e-7)


def test_ratio_axis_labelled_with_back_transformed_ratios(dl_fig):
    _, fig = dl_fig
    ax = _ax(fig, "ablat")
    ticks = ax.get_yticks()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [float(s) for s in labels] == pytest.approx(np.exp(ticks), rel=1e-9)
    assert "1" in labels and "0.5" in labels
    assert ax.get_ylabel() == "Risk ratio (log scale)"


def test_two_continuous_moderators_and_a_factor_one_panel_each():
    fit = _fit("~ ablat + year + C(alloc)")
    assert moderators(fit) == {"ablat": "continuous", "year": "continuous", "alloc": "categorical"}
    fig = bubble(fit)
    assert [a.get_gid() for a in fig.axes] == ["bubble:ablat", "bubble:year", "bubble:alloc"]
    b = dict(zip(fit.names, fit.beta))
    # other moderators: continuous at the mean of the 13 studies, a factor at its
    # reference level (alternate, the first in sorted order: no dummy)
    mean_lat, mean_year = np.mean(REF["inputs"]["ablat"]), np.mean(REF["inputs"]["year"])
    line = _artist(_ax(fig, "ablat"), "fit")
    for lat in (20.0, 50.0):
        hand = b["intrcpt"] + b["ablat"] * lat + b["year"] * mean_year
        assert close(np.interp(lat, line.get_xdata(), line.get_ydata()), hand, rtol=1e-9)
    line = _artist(_ax(fig, "year"), "fit")
    for yr in (1950.0, 1975.0):
        hand = b["intrcpt"] + b["ablat"] * mean_lat + b["year"] * yr
        assert close(np.interp(yr, line.get_xdata(), line.get_ydata()), hand, rtol=1e-9)
    ax = _ax(fig, "alloc")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["alternate", "random", "systematic"]
    base = b["intrcpt"] + b["ablat"] * mean_lat + b["year"] * mean_year
    for i, (lev, dummy) in enumerate((("alternate", 0.0), ("random", b["C(alloc)[T.random]"]),
                                      ("systematic", b["C(alloc)[T.systematic]"]))):
        ln = _artist(ax, f"fit:{lev}")
        assert np.allclose(ln.get_ydata(), base + dummy, rtol=1e-9)
        assert ln.get_xdata()[0] < i < ln.get_xdata()[1]
    # grouped circles sit in their level's column, one per study
    xy = _artist(ax, "studies").get_offsets()
    assert len(xy) == 13
    level_of = {"alternate": 0, "random": 1, "systematic": 2}
    for x, y in xy:
        j = int(np.flatnonzero(np.isclose(DATA.yi, y))[0])
        assert abs(x - level_of[DATA.alloc[j]]) < 0.45
    # the factor's CI band around each group prediction is predict()'s
    pred = fit.predict(pd.DataFrame({"ablat": [mean_lat] * 3, "year": [mean_year] * 3,
                                     "alloc": ["alternate", "random", "systematic"]}))
    for lev, row in zip(level_of, pred.itertuples()):
        v = _artist(ax, f"ci:{lev}").get_paths()[0].vertices
        assert close([v[:, 1].min(), v[:, 1].max()], [row.ci_lb, row.ci_ub], rtol=1e-9)
    # the effect axis is shared
    assert len({a.get_ylim() for a in fig.axes}) == 1


def test_two_continuous_moderators_match_metafor_coefficients():
    """ablat + year against metafor's REML fit (default threshold: 2e-4 as in test_regression)."""
    fig = bubble(_fit("~ ablat + year"), "year")
    assert [a.get_gid() for a in fig.axes] == ["bubble:year"]
    b = REF["fits"]["ablat_year_REML_z"]["coef"]
    line = _artist(fig.axes[0], "fit")
    mean_lat = np.mean(REF["inputs"]["ablat"])
    for yr in (1950.0, 1975.0):
        hand = b["intrcpt"] + b["ablat"] * mean_lat + b["year"] * yr
        assert close(np.interp(yr, line.get_xdata(), line.get_ydata()), hand, rtol=2e-4)


def _boxes(fig):
    r = fig.canvas.get_renderer()
    return [(t, t.get_window_extent(r)) for ax in fig.axes for t in ax.texts
            if str(t.get_gid()).startswith("label:")]


def test_labels_present_inside_and_never_overlapping():
    fit = _fit("~ ablat + year + C(alloc)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MetakitWarning)
        fig = bubble(fit, labels=True)
    fig.canvas.draw()
    dropped = {s.strip() for w in caught for s in str(w.message).split(": ", 1)[1].split(", ")}
    boxes = _boxes(fig)
    for ax in fig.axes:
        mine = [t.get_text() for t, _ in boxes if t.axes is ax]
        assert set(mine) | dropped >= set(DATA.study)
        assert len(mine) >= 10  # at most a few dropped by the rule
        frame = ax.get_window_extent()
        circles = _artist(ax, "studies")
        centres = ax.transData.transform(circles.get_offsets())
        for t, bb in boxes:
            if t.axes is not ax:
                continue
            assert frame.x0 <= bb.x0 and bb.x1 <= frame.x1 and frame.y0 <= bb.y0 and bb.y1 <= frame.y1
            # no label covers the centre of a circle
            inside = ((centres[:, 0] > bb.x0) & (centres[:, 0] < bb.x1)
                      & (centres[:, 1] > bb.y0) & (centres[:, 1] < bb.y1))
            assert not inside.any(), t.get_text()
    for i, (t1, b1) in enumerate(boxes):
        for t2, b2 in boxes[i + 1:]:
            assert not b1.overlaps(b2), (t1.get_text(), t2.get_text())


def test_every_label_placed_when_there_is_room():
    d = pd.DataFrame({"yi": [0.1, 0.4, 0.2, 0.8, 0.5], "vi": [0.02, 0.05, 0.03, 0.04, 0.05],
                      "dose": [1.0, 2.0, 3.0, 4.0, 5.0]})
    fit = mk.metareg(yi=d.yi, vi=d.vi, data=d, mods="~ dose", study=list("ABCDE"), model="common")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetakitWarning)
        fig = bubble(fit, labels=True)
    assert sorted(t.get_text() for t, _ in _boxes(fig)) == list("ABCDE")
    # common-effect weights are 1/vi
    sizes = _artist(fig.axes[0], "studies").get_sizes()
    assert np.allclose(np.sort(sizes), np.sort(260.0 * (1 / d.vi) / (1 / d.vi).max()))


def test_design_matrix_model_and_errors(tmp_path):
    X = np.column_stack([np.ones(13), DATA.ablat, DATA.year])
    fit = mk.metareg(yi=DATA.yi, vi=DATA.vi, X=X, names=["intrcpt", "lat", "yr"], tau2_method="DL")
    fig = bubble(fit, "lat")
    line = _artist(fig.axes[0], "fit")
    b0, b1, b2 = fit.beta
    hand = b0 + b1 * 30.0 + b2 * DATA.year.mean()
    assert close(np.interp(30.0, line.get_xdata(), line.get_ydata()), hand, rtol=1e-9)
    with pytest.raises(ValueError, match="not a moderator.*lat, yr"):
        bubble(fit, "ablat")
    with pytest.raises(ValueError, match="labels: 2 given for 13"):
        bubble(fit, labels=["a", "b"])


@pytest.mark.filterwarnings("ignore:.*study label.*left out:metakit.errors.MetakitWarning")
@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_written_by_extension(tmp_path, suffix):
    fit = _fit("~ ablat", "DL")
    path = tmp_path / f"b{suffix}"
    fig = fit.bubble(path=path, labels=True, dpi=72)
    assert fig.axes and path.stat().st_size > 1000
    head = path.read_bytes()[:8]
    if suffix == ".png":
        assert head.startswith(b"\x89PNG")
    elif suffix == ".pdf":
        assert head.startswith(b"%PDF")
    else:
        texts = [e.text for e in ET.parse(path).iter() if e.text]
        assert any("Aronson 1948" in t for t in texts)


def test_no_matplotlib_backend_set_on_import():
    import subprocess
    import sys

    code = ("import matplotlib, metakit.plots.bubble, sys; "
            "sys.exit(0 if 'matplotlib.pyplot' not in sys.modules else 1)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_band_helper_reads_polygon():
    """The polygon helper above against fill_between of a known band."""
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    ax.fill_between([0, 1, 2], [0, 1, 2], [3, 4, 5], gid="ci")
    got = _band_at(ax, [0, 1, 2])
    assert np.allclose(got, [[0, 3], [1, 4], [2, 5]])
    assert isinstance(_artist(ax, "ci"), PolyCollection)


def test_factor_only_model_draws_each_group_at_its_coefficient():
    """Without an intercept, ~ C(alloc) - 1 has one coefficient per level: the level's
    mean effect, which is what the group's line must show."""
    fit = _fit("~ C(alloc) - 1")
    ax = bubble(fit).axes[0]
    for lev in ("alternate", "random", "systematic"):
        y = _artist(ax, f"fit:{lev}").get_ydata()
        assert np.allclose(y, fit.beta[fit.names.index(f"C(alloc)[{lev}]")], rtol=1e-12)
