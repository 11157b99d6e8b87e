"""Network figures: content checks (what is drawn where), label overlap, Egger against metafor."""

import itertools

import numpy as np
import pytest
from matplotlib.patches import Circle, Polygon

from metakit.network import nma
from metakit.network.data import build
from metakit.network.funnel import adjusted_funnel
from metakit.plots import network as pn
from metakit.plots.forest import forest
from reference_data import close, load

SENN = load("netmeta/nma_senn2013_netmeta")
ORDER = ["plac", "benf", "migl", "acar", "sulf", "metf", "piog", "rosi", "sita", "vild"]


@pytest.fixture(scope="module")
def res():
    inp = SENN["inputs"]
    return nma({k: inp[k] for k in ("studlab", "treat1", "treat2", "TE", "seTE")}, measure="MD", reference="plac")


def _label_extents(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    return {t.get_text(): t.get_window_extent(renderer) for t in ax.texts}


def test_network_graph_content(res, tmp_path):
    fig = pn.network_graph(res, tmp_path / "net.png")
    assert (tmp_path / "net.png").stat().st_size > 0
    ax = fig.axes[0]
    nodes = {p.get_gid(): p for p in ax.patches if isinstance(p, Circle)}
    assert set(nodes) == {f"node:{t}" for t in res.treatments}
    # node area by studies (no arm sizes): placebo is in 19 of 26 studies, sita in 1
    assert nodes["node:plac"].get_radius() > nodes["node:sita"].get_radius()
    edges = {line.get_gid(): line.get_linewidth() for line in ax.lines if line.get_gid().startswith("edge:")}
    pairs = {(a, b) for a, b in zip(res.data.t1, res.data.t2)}
    # 14 two-arm designs plus acar:metf from the three-arm Willms1999 (its other two pairs are designs too)
    assert len(edges) == len(pairs) == 15
    assert edges["edge:plac:rosi"] > edges["edge:metf:plac"] > edges["edge:acar:plac"] > edges["edge:acar:sulf"]
    shaded = [p.get_gid() for p in ax.patches if isinstance(p, Polygon)]
    assert shaded == ["multiarm:acar:metf:plac"]
    boxes = {k: v for k, v in _label_extents(fig).items() if k in res.treatments}
    assert set(boxes) == set(res.treatments)
    for a, b in itertools.combinations(boxes.values(), 2):
        assert not a.overlaps(b)


def test_labels_never_overlap_in_a_crowded_network():
    n = 36
    names = [f"Treatment number {i} (long label)" if i % 3 else f"T{i}" for i in range(n)]
    t1 = np.arange(n - 1)
    t2 = np.arange(1, n)
    net = build([f"s{i}" for i in range(n - 1)], sorted(names), np.arange(n - 1), t1, t2,
                np.zeros(n - 1), np.full(n - 1, 0.2))
    fig = pn.network_graph(net, font_size=11)
    boxes = [v for k, v in _label_extents(fig).items() if k in net.treatments]
    assert len(boxes) == n
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    w, h = fig.get_size_inches() * fig.dpi
    for b in boxes:  # every label inside the canvas
        assert b.x0 >= 0 and b.y0 >= 0 and b.x1 <= w + 1 and b.y1 <= h + 1


def test_league_figure_cells(res, tmp_path):
    lg = res.league("random")
    fig = pn.league_figure(lg, tmp_path / "league.png")
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert lg.table.iloc[5, 0] in texts and "plac" in texts
    bold = {t.get_text() for t in fig.axes[0].texts if t.get_fontweight() == "bold"}
    # plac vs acar excludes 0 (netmeta random: 0.36 to 1.32) -> bold; acar vs benf does not
    assert lg.table.iloc[5, 0] in bold and lg.table.iloc[1, 0] not in bold


def test_rankogram_and_sucra_curves(res, tmp_path):
    rk = res.ranking("random", nsim=4000, seed=11)
    fig = pn.rankogram(rk, tmp_path / "rankogram.png")
    assert len(fig.axes) == 10
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert close(heights, rk.rank_probs[0])
    fig = pn.sucra_curves(rk, tmp_path / "sucra.png")
    assert close(fig.axes[6].lines[0].get_ydata(), rk.cumulative[6])
    assert fig.axes[6].get_title() == f"rosi\nSUCRA {100 * rk.sucra[6]:.1f}%"
    # every panel title fits its panel (the titles of long names wrap)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        title = ax.title.get_window_extent(renderer)
        assert title.x0 >= 0 and title.x1 <= fig.bbox.width


def test_adjusted_funnel_and_egger_equal_metafor(res, tmp_path):
    f = adjusted_funnel(res, order=ORDER)
    ref = load("netmeta/egger_senn2013")
    assert close(f.intercept, ref["intercept"]) and close(f.intercept_se, ref["intercept_se"])
    assert close(f.test.statistic, ref["zval"]) and close(f.test.pval, ref["pval"]) and f.test.df == ref["dfs"]
    # the R reference was computed on egger_input.json: pin that input to today's deviations
    inp = load("netmeta/egger_input")
    assert close(f.x, inp["x"])
    # hand check of one deviation: DeFronzo1995 metf vs plac -1.9, network common -1.11411
    i = f.study.index("DeFronzo1995")
    assert f.comparison[i] == "metf:plac"
    assert f.x[i] == pytest.approx(-1.9 - SENN["fits"]["DL"]["vs_reference"]["common"]["TE"][2], abs=1e-12)
    fig = pn.adjusted_funnel_plot(f, tmp_path / "funnel.png")
    ax = fig.axes[0]
    pts = np.concatenate([c.get_offsets() for c in ax.collections if (c.get_gid() or "").startswith("funnel:")])
    assert len(pts) == res.data.m
    assert close(np.sort(pts[:, 0]), np.sort(f.x))
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    w, h = fig.get_size_inches() * fig.dpi
    assert legend.x1 <= w and legend.y0 >= 0  # the legend is not clipped
    assert len(ax.get_legend().get_texts()) == len(set(f.comparison)) == 15
    with pytest.raises(ValueError, match="order must list every treatment"):
        adjusted_funnel(res, order=ORDER[:-1])


def test_forest_of_every_treatment_against_reference(res, tmp_path):
    table = pn.forest_versus_reference(res)
    studies = [r for r in table.rows if r.kind == "study"]
    assert [r.label for r in studies] == [t for t in res.treatments if t != "plac"]
    ref = SENN["fits"]["DL"]["vs_reference"]["random"]
    assert close([r.estimate for r in studies], [v for t, v in zip(ref["treatment"], ref["TE"]) if t != "plac"])
    assert studies[0].effect == "-0.84 [-1.32, -0.36]"
    fig = forest(table, tmp_path / "forest.png", dpi=100)
    assert (tmp_path / "forest.png").stat().st_size > 0 and fig is not None
    # the result itself goes through forest()'s forest_table hook
    fig = forest(res, show="common", prediction=False)
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    common = SENN["fits"]["DL"]["vs_reference"]["common"]
    assert f"{common['TE'][0]:.2f} [{common['lower'][0]:.2f}, {common['upper'][0]:.2f}]" in texts
