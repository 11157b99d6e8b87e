"""Forest plots: the content of the figure, checked against metafor and the fit.

Numbers come from metafor 3.8.1 (tests/reference/metafor_pairwise.json: dat.bcg and
dat.normand1999, rma.uni fits with their weights in percent), formatted to the printed
precision with metakit.formatting. The figure is read back from its matplotlib artists
(text, squares, diamonds) and from the SVG it writes; no pixel comparisons.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Polygon
from matplotlib.text import Text

import metakit as mk
from metakit.errors import DataError, MetakitWarning
from metakit.formatting import fmt_ci, fmt_num, fmt_p, fmt_pct, fmt_weight
from metakit.plots.forest import ForestRow, ForestTable, draw_forest, forest, forest_table, write_figures

matplotlib.use("Agg")

REF = json.loads((Path(__file__).parents[1] / "reference" / "metafor_pairwise.json")
                 .read_text(encoding="utf-8"))["datasets"]
Z975 = 1.959963984540054


def _fit_ref(data: str, measure: str, method: str, test: str = "z") -> dict:
    return next(f for f in REF[data]["fits"] if f["measure"] == measure
                and f["method"] == method and f["test"] == test)


def bcg_frame() -> pd.DataFrame:
    d = REF["bcg"]
    years = [int(re.search(r"(\d{4})", s).group(1)) for s in d["study"]]
    return pd.DataFrame({"study": d["study"], "year": years, "e_t": d["ai"], "n_t": d["n1i"],
                         "e_c": d["ci"], "n_c": d["n2i"]})


def normand_frame() -> pd.DataFrame:
    d = REF["normand1999"]
    return pd.DataFrame({"study": d["study"], "m_t": d["m1i"], "sd_t": d["sd1i"],
                         "n_t": d["n1i"], "m_c": d["m2i"], "sd_c": d["sd2i"], "n_c": d["n2i"]})


def synthetic(k: int, seed: int = 20240611) -> pd.DataFrame:
    """k two-arm trials with binary outcomes, three subgroups, long and short labels."""
    rng = np.random.default_rng(seed)
    n_t = rng.integers(20, 400, k)
    n_c = rng.integers(20, 400, k)
    p_c = rng.uniform(0.05, 0.5, k)
    lor = rng.normal(-0.4, 0.5, k)
    odds = p_c / (1 - p_c) * np.exp(lor)
    p_t = odds / (1 + odds)
    e_t = np.maximum(1, rng.binomial(n_t, p_t))
    e_c = np.maximum(1, rng.binomial(n_c, p_c))
    names = ["Smith", "García-Fernández", "O'Neil", "Nguyen", "Abdel-Rahman", "Li", "Kowalczyk"]
    study = [f"{names[i % len(names)]} {'et al. ' if i % 3 == 0 else ''}{1980 + i % 40}"
             f"{chr(97 + i // 40) if k > 40 else ''}" for i in range(k)]
    return pd.DataFrame({"study": study, "year": 1980 + np.arange(k) % 40, "e_t": e_t,
                         "n_t": n_t, "e_c": e_c, "n_c": n_c,
                         "dose": rng.choice(["low", "high", "very high"], k),
                         "stage": np.array(["I-II", "III", "IV"])[np.arange(k) % 3]})


# ---- reading a figure back -------------------------------------------------------------

def table_axes(fig):
    return next(a for a in fig.axes if a.get_gid() == "forest-table")


def graph_axes(fig):
    return next(a for a in fig.axes if a.get_gid() == "forest-graph")


def visible_texts(fig) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and t.axes is not None or (t.get_visible() and t.get_text().strip()
                                       and t.figure is fig and t.axes is None)]


def row_texts(fig) -> dict[str, list[str]]:
    """Texts of the table grouped by row: first-column label -> the row's other cells."""
    ax = table_axes(fig)
    texts = [t for t in ax.texts if t.get_text()]
    out = {}
    for t in texts:
        if t.get_gid() and t.get_gid().startswith("label:"):
            y = t.get_position()[1]
            out[t.get_text()] = [u.get_text() for u in texts
                                 if abs(u.get_position()[1] - y) < 0.01 and u is not t]
    return out


def boxes(fig) -> tuple[list[str], np.ndarray]:
    renderer = fig.canvas.get_renderer()
    ts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    bb = np.array([[b.x0, b.y0, b.x1, b.y1] for b in
                   (t.get_window_extent(renderer) for t in ts)])
    return [t.get_text() for t in ts], bb


def overlapping_pairs(fig, tol: float = 0.5) -> list[tuple[str, str]]:
    labels, b = boxes(fig)
    x0, y0, x1, y1 = b.T
    ov = ((x0[:, None] < x1[None, :] - tol) & (x0[None, :] < x1[:, None] - tol)
          & (y0[:, None] < y1[None, :] - tol) & (y0[None, :] < y1[:, None] - tol))
    np.fill_diagonal(ov, False)
    i, j = np.nonzero(np.triu(ov))
    return [(labels[a], labels[c]) for a, c in zip(i, j)]


def outside_figure(fig, tol: float = 0.5) -> list[str]:
    labels, b = boxes(fig)
    W, H = fig.bbox.width, fig.bbox.height
    bad = (b[:, 0] < -tol) | (b[:, 1] < -tol) | (b[:, 2] > W + tol) | (b[:, 3] > H + tol)
    return [labels[i] for i in np.flatnonzero(bad)]


def diamonds(fig) -> list[np.ndarray]:
    return [p.get_xy() for p in graph_axes(fig).patches
            if isinstance(p, Polygon) and (p.get_gid() or "").startswith("diamond:")]


def squares(fig):
    coll = next(c for c in graph_axes(fig).collections if c.get_gid() == "squares")
    return coll.get_offsets(), coll.get_sizes()


# ---- fixtures --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bcg_fit():
    return mk.meta(mk.effect_sizes(bcg_frame(), "OR", keep=("year",)), tau2_method="REML")


@pytest.fixture(scope="module")
def bcg_fig(bcg_fit):
    fig = forest(bcg_fit)
    fig.canvas.draw()
    return fig


# ---- binary: bcg against metafor -------------------------------------------------------

def test_study_rows_match_metafor(bcg_fig):
    ref = _fit_ref("bcg", "OR", "REML")
    esc = REF["bcg"]["escalc"]["OR"]
    rows = row_texts(bcg_fig)
    d = REF["bcg"]
    for i, s in enumerate(d["study"]):
        yi, se = esc["yi"][i], math.sqrt(esc["vi"][i])
        ci = fmt_ci(math.exp(yi), math.exp(yi - Z975 * se), math.exp(yi + Z975 * se))
        cells = rows[s]
        assert fmt_weight(ref["weights_percent"][i]) in cells, s
        assert ci in cells, s
        # Arm data as printed by RevMan: events and totals per arm, in that order.
        assert [c for c in cells if c.isdigit()] == [str(d["ai"][i]), str(d["n1i"][i]),
                                                   str(d["ci"][i]), str(d["n2i"][i])]


def test_total_rows_and_lines_match_metafor(bcg_fig):
    ref = _fit_ref("bcg", "OR", "REML")
    d = REF["bcg"]
    rows = row_texts(bcg_fig)
    total = rows["Total (95% CI)"]
    assert fmt_ci(math.exp(ref["beta"]), math.exp(ref["ci_lb"]), math.exp(ref["ci_ub"])) in total
    assert "100.0%" in total
    assert str(sum(d["n1i"])) in total and str(sum(d["n2i"])) in total
    assert rows["Total events"] == [str(sum(d["ai"])), str(sum(d["ci"]))]
    lines = [t.get_text() for t in table_axes(bcg_fig).texts]
    het = (f"Heterogeneity: Tau² = {fmt_num(ref['tau2'])}; Chi² = {fmt_num(ref['QE'])}, "
           f"df = {ref['QEdf']} (P {fmt_p(ref['QEp'])}); I² = {fmt_pct(ref['I2'])}")
    assert het in lines
    assert f"Test for overall effect: Z = {fmt_num(abs(ref['zval']))} (P {fmt_p(ref['pval'])})" \
        in lines


def test_diamond_spans_the_ci_on_a_log_axis(bcg_fig):
    ref = _fit_ref("bcg", "OR", "REML")
    gax = graph_axes(bcg_fig)
    assert gax.get_xscale() == "log"
    (xy,) = diamonds(bcg_fig)
    assert xy[:, 0].min() == pytest.approx(math.exp(ref["ci_lb"]), rel=1e-6)
    assert xy[:, 0].max() == pytest.approx(math.exp(ref["ci_ub"]), rel=1e-6)
    # The top and bottom corners sit at the estimate.
    top = xy[np.argmin(xy[:, 1])]
    assert top[0] == pytest.approx(math.exp(ref["beta"]), rel=1e-6)
    # The line of no effect is at OR = 1.
    null = next(ln for ln in gax.lines if ln.get_gid() == "null-line")
    assert np.allclose(null.get_xdata(), 1.0)
    # Log ticks: a symmetric RevMan scale containing 1.
    ticks = gax.get_xticks()
    assert 1.0 in ticks and np.allclose(np.sort(ticks) * np.sort(ticks)[::-1], 1.0, rtol=0.3)


def test_squares_sized_by_weight_at_the_study_estimates(bcg_fig):
    ref = _fit_ref("bcg", "OR", "REML")
    esc = REF["bcg"]["escalc"]["OR"]
    off, size = squares(bcg_fig)
    # Rows run top to bottom in data order; points are drawn in the same order.
    assert np.allclose(off[:, 0], np.exp(esc["yi"]), rtol=1e-9)
    # Area (marker size in points²) is proportional to the weight.
    w = np.asarray(ref["weights_percent"])
    assert np.allclose(size / size.max(), w / w.max(), rtol=1e-6)


def test_axis_ticks_follow_the_data():
    # Estimates 0.5-2 and narrow CIs: the 0.5-2 scale.
    df = pd.DataFrame({"study": ["a", "b", "c"], "e_t": [400, 300, 500],
                       "n_t": [1000, 1000, 1000], "e_c": [300, 320, 400],
                       "n_c": [1000, 1000, 1000]})
    g = graph_axes(forest(mk.meta(mk.effect_sizes(df, "OR"))))
    assert list(g.get_xticks()) == pytest.approx([0.5, 0.7, 1, 1.5, 2])
    # Study d, 3/10 vs 1/12: OR = (3/7)/(1/11) = 4.714, log 1.551; var = 1/3 + 1/7 + 1 + 1/11
    # = 1.567, CI exp(1.551 +/- 1.96 x 1.252) = 0.41 to 54.7. The estimate needs the 0.2-5
    # scale; the CI may widen it one step, to 0.1-10, with an arrow at 10 for the CI's end.
    df.loc[3] = ["d", 3, 10, 1, 12]
    g = graph_axes(forest(mk.meta(mk.effect_sizes(df, "OR"))))
    assert g.get_xlim() == pytest.approx((0.1, 10))
    assert [t.get_text() for t in g.get_xticklabels()] == ["0.1", "0.2", "0.5", "1", "2", "5",
                                                          "10"]
    assert next(ln for ln in g.lines if ln.get_gid() == "arrows-right").get_xdata() \
        == pytest.approx([10])
    # Study d, 5/10 vs 1/8: OR = 1/(1/7) = 7, log 1.946 (the 0.1-10 scale); var = 1/5 + 1/5
    # + 1 + 1/7 = 1.543, upper CI exp(1.946 + 1.96 x 1.242) = 79.9: one step wider, 0.05-20.
    df.loc[3] = ["d", 5, 10, 1, 8]
    g = graph_axes(forest(mk.meta(mk.effect_sizes(df, "OR"))))
    assert [t.get_text() for t in g.get_xticklabels()] == ["0.05", "0.2", "1", "5", "20"]
    # Study d, 40/41 vs 1/41: OR = 40 x 40 = 1600 needs more than 0.001-1000: decades.
    df.loc[3] = ["d", 40, 41, 1, 41]
    g = graph_axes(forest(mk.meta(mk.effect_sizes(df, "OR"))))
    assert [t.get_text() for t in g.get_xticklabels()] == ["0.0001", "1", "10000"]


def test_arrows_where_a_ci_leaves_the_axis(bcg_fit):
    fig = forest(bcg_fit, xlim=(0.2, 5))
    gax = graph_axes(fig)
    esc = REF["bcg"]["escalc"]["OR"]
    lb = np.exp(np.array(esc["yi"]) - Z975 * np.sqrt(esc["vi"]))
    ub = np.exp(np.array(esc["yi"]) + Z975 * np.sqrt(esc["vi"]))
    left = next(ln for ln in gax.lines if ln.get_gid() == "arrows-left")
    right = next(ln for ln in gax.lines if ln.get_gid() == "arrows-right")
    assert len(left.get_xdata()) == int(((lb < 0.2) & (ub > 0.2)).sum())
    assert len(right.get_xdata()) == int(((ub > 5) & (lb < 5)).sum())
    assert np.allclose(left.get_xdata(), 0.2) and np.allclose(right.get_xdata(), 5)
    # Whiskers stop at the axis limits.
    segs = next(c for c in gax.collections if c.get_gid() == "ci-whiskers").get_segments()
    xs = np.concatenate([s[:, 0] for s in segs])
    assert xs.min() >= 0.2 * (1 - 1e-12) and xs.max() <= 5 * (1 + 1e-12)


# ---- continuous: normand1999 against metafor -------------------------------------------

def test_continuous_md_columns_and_linear_axis():
    d = REF["normand1999"]
    ref = _fit_ref("normand1999", "MD", "REML")
    fit = mk.meta(mk.effect_sizes(normand_frame(), "MD"))
    fig = forest(fit, label_e="Specialist care", label_c="Routine care")
    fig.canvas.draw()
    rows = row_texts(fig)
    esc = REF["normand1999"]["escalc"]["MD"]
    for i, s in enumerate(d["study"]):
        yi, se = esc["yi"][i], math.sqrt(esc["vi"][i])
        cells = rows[s]
        assert cells[:6] == [str(d[c][i]) for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")]
        assert fmt_weight(ref["weights_percent"][i]) in cells
        assert fmt_ci(yi, yi - Z975 * se, yi + Z975 * se) in cells
    assert fmt_ci(ref["beta"], ref["ci_lb"], ref["ci_ub"]) in rows["Total (95% CI)"]
    assert "Total events" not in rows
    heads = {t.get_text() for t in table_axes(fig).texts}
    assert {"Specialist care", "Routine care", "Mean", "SD", "Total", "Mean difference",
            "IV, Random, 95% CI"} <= heads
    gax = graph_axes(fig)
    assert gax.get_xscale() == "linear"
    (xy,) = diamonds(fig)
    assert (xy[:, 0].min(), xy[:, 0].max()) == pytest.approx((ref["ci_lb"], ref["ci_ub"]))
    lo, hi = gax.get_xlim()
    assert lo == -hi and 0.0 in gax.get_xticks()


# ---- subgroups ---------------------------------------------------------------------------

def test_subgroups_subtotals_weights_and_test_line(bcg_fit):
    es = mk.effect_sizes(bcg_frame().assign(era=lambda d: np.where(d.year < 1960, "before 1960",
                                                                    "1960 on")),
                         "OR", keep=("era",))
    sub = mk.meta(es, by="era")
    fig = forest(sub)
    fig.canvas.draw()
    table = forest_table(sub)
    ref = _fit_ref("bcg", "OR", "REML")
    years = bcg_frame().year.to_numpy()
    # Subtotal weights are sums of the overall analysis' study weights (metafor's percent).
    subtotal_w = [r.weights[0] for r in table.rows if r.kind == "subtotal"]
    w = np.asarray(ref["weights_percent"])
    expect = [fmt_weight(w[years < 1960].sum()), fmt_weight(w[years >= 1960].sum())]
    assert subtotal_w == expect
    texts = [t.get_text() for t in table_axes(fig).texts]
    assert sub.test_line() in texts
    assert texts.count("Subtotal (95% CI)") == 2
    for g, f in zip(sub.groups, sub.subgroups):
        assert g in texts
        assert f.heterogeneity_line() in texts and f.overall_line() in texts
    assert len(diamonds(fig)) == 3
    # Each diamond spans its own CI: subgroup fits then the overall fit.
    fits = list(sub.subgroups) + [sub.overall]
    for xy, f in zip(diamonds(fig), fits):
        assert xy[:, 0].min() == pytest.approx(math.exp(f.ci_lb))
        assert xy[:, 0].max() == pytest.approx(math.exp(f.ci_ub))
    # Subgroup summary totals agree with the text summary.
    for f in fits:
        ci = fmt_ci(*(float(math.exp(v)) for v in (f.estimate, f.ci_lb, f.ci_ub)))
        assert ci in texts and ci in sub.summary()


def test_show_both_models(bcg_fit):
    fe = _fit_ref("bcg", "OR", "FE")
    re_ = _fit_ref("bcg", "OR", "REML")
    fig = forest(bcg_fit, show="both")
    rows = row_texts(fig)
    c = rows["Total (95% CI), common effect"]
    r = rows["Total (95% CI), random effects"]
    assert fmt_ci(*np.exp([fe["beta"], fe["ci_lb"], fe["ci_ub"]])) in c
    assert fmt_ci(*np.exp([re_["beta"], re_["ci_lb"], re_["ci_ub"]])) in r
    first = rows[REF["bcg"]["study"][0]]
    assert fmt_weight(fe["weights_percent"][0]) in first
    assert fmt_weight(re_["weights_percent"][0]) in first
    heads = {t.get_text() for t in table_axes(fig).texts}
    assert {"Common", "Random", "Weight", "IV, Fixed + Random, 95% CI"} <= heads
    assert len(diamonds(fig)) == 2


def test_prediction_interval_bar(bcg_fit):
    fig = forest(bcg_fit, prediction=True)
    bar = next(p for p in graph_axes(fig).patches if (p.get_gid() or "").startswith("prediction"))
    x0, x1 = bar.get_x(), bar.get_x() + bar.get_width()
    pred = _fit_ref("bcg", "OR", "REML")["pred"]
    assert (x0, x1) == pytest.approx((math.exp(pred["pi_lb"]), math.exp(pred["pi_ub"])))
    rows = row_texts(fig)
    assert rows["Prediction interval"] == [
        f"[{fmt_num(math.exp(pred['pi_lb']))}, {fmt_num(math.exp(pred['pi_ub']))}]"]


# ---- options -------------------------------------------------------------------------------

def _study_order(fig) -> list[str]:
    ts = [t for t in table_axes(fig).texts if t.get_gid() == "label:study"]
    return [t.get_text() for t in sorted(ts, key=lambda t: t.get_position()[1])]


def test_sorting_and_labels_with_year(bcg_fit):
    df = bcg_frame()
    order = _study_order(forest(bcg_fit, sort="year"))
    assert order == list(df.sort_values("year", kind="stable").study)
    order = _study_order(forest(bcg_fit, sort="effect"))
    esc = np.asarray(REF["bcg"]["escalc"]["OR"]["yi"])
    assert order == [df.study[i] for i in np.argsort(esc, kind="stable")]
    w = np.asarray(_fit_ref("bcg", "OR", "REML")["weights_percent"])
    order = _study_order(forest(bcg_fit, sort="weight", descending=True))
    assert order == [df.study[i] for i in np.argsort(-w, kind="stable")]
    # authors alone repeat (two Rosenthal and two Comstock trials): the year tells them apart
    with pytest.warns(MetakitWarning, match="duplicate study labels"):
        es = mk.effect_sizes(df.assign(author=df.study.str.replace(r" \d{4}$", "", regex=True)),
                             "OR", study="author", keep=("year",))
    order = _study_order(forest(mk.meta(es), study_label="{study}, {year}"))
    assert order[0] == "Aronson, 1948"
    with pytest.raises(DataError, match="dose"):
        forest(bcg_fit, sort="dose")


def test_extra_columns_and_rob_dots():
    df = synthetic(6)
    es = mk.effect_sizes(df, "OR", keep=("dose",))
    rob = {s: {"Randomisation": "low", "Deviations": "some concerns", "Missing data": "high",
               "Measurement": "no information", "Overall": "high"} for s in es.study}
    rob[es.study[0]]["Randomisation"] = "Unclear"
    fig = forest(mk.meta(es), columns=[("Dose", "dose")], rob=rob)
    fig.canvas.draw()
    rows = row_texts(fig)
    for s, dose in zip(df.study, df.dose):
        assert dose in rows[s]
    from matplotlib.colors import to_hex

    from metakit.plots.rob import ROB_STYLES
    dots = [c for c in table_axes(fig).collections if c.get_gid() == "rob-dots"]
    assert len(dots) == 6 and all(len(c.get_offsets()) == 5 for c in dots)
    colours = [to_hex(fc).upper() for c in dots for fc in c.get_facecolors()]
    pal = ROB_STYLES["default"]
    # 6 studies x 5 domains: Randomisation low in 5 and "Unclear" in 1 (yellow, like some
    # concerns in robvis), Deviations some concerns (6), Missing data and Overall high (12),
    # Measurement no information (6)
    assert colours.count(pal["Low"][0].upper()) == 5
    assert colours.count(pal["Some concerns"][0].upper()) == 6 + 1
    assert colours.count(pal["High"][0].upper()) == 12
    assert colours.count(pal["No information"][0].upper()) == 6
    texts = [t.get_text() for t in table_axes(fig).texts]
    assert "(A) Randomisation" in texts and "(E) Overall" in texts
    assert not overlapping_pairs(fig) and not outside_figure(fig)
    with pytest.raises(DataError, match="judgement"):
        forest(mk.meta(es), rob={es.study[0]: {"D1": "fine"}})


def test_colours_font_and_title(bcg_fit):
    fig = forest(bcg_fit, title="BCG vaccine", colours={"square": "#ff0000", "diamond": "green"},
                 font="DejaVu Serif", font_size=11)
    off, _ = squares(fig)
    coll = next(c for c in graph_axes(fig).collections if c.get_gid() == "squares")
    assert np.allclose(coll.get_facecolor()[0], matplotlib.colors.to_rgba("#ff0000"))
    poly = next(p for p in graph_axes(fig).patches if (p.get_gid() or "").startswith("diamond"))
    assert np.allclose(poly.get_facecolor(), matplotlib.colors.to_rgba("green"))
    title = next(t for t in table_axes(fig).texts if t.get_gid() == "title")
    assert title.get_text() == "BCG vaccine"
    label = next(t for t in table_axes(fig).texts if t.get_text() == "Aronson 1948")
    assert label.get_fontsize() == 11 and "DejaVu Serif" in label.get_fontfamily()


def test_favours_labels_settable_and_either_side_of_the_null(bcg_fit):
    fig = forest(bcg_fit, favours=("Favours vaccine", "Favours no vaccine"))
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    gax = graph_axes(fig)
    null_px = gax.transData.transform((1.0, 0))[0]
    texts = {t.get_gid(): t for t in table_axes(fig).texts}
    left, right = texts["favours-left"], texts["favours-right"]
    assert (left.get_text(), right.get_text()) == ("Favours vaccine", "Favours no vaccine")
    assert left.get_window_extent(r).x1 < null_px < right.get_window_extent(r).x0


# ---- layout at scale --------------------------------------------------------------------

@pytest.mark.parametrize("k", [5, 40, 150])
def test_no_text_overlaps_or_clips(k):
    df = synthetic(k)
    es = mk.effect_sizes(df, "OR", keep=("stage", "dose", "year"))
    sub = mk.meta(es, by="stage")
    fig = forest(sub, columns={"Dose": "dose"}, study_label="{study}", prediction=True,
                 show="both")
    fig.canvas.draw()
    assert overlapping_pairs(fig) == []
    assert outside_figure(fig) == []
    labels = [t for t in table_axes(fig).texts if t.get_gid() == "label:study"]
    assert len(labels) == k
    # Squares never exceed a row: the figure grows with the rows instead.
    n_rows = len(forest_table(sub, prediction=True, show="both").rows)
    row_pt = fig.get_figheight() * 72 / n_rows
    _, size = squares(fig)
    assert np.sqrt(size.max()) < row_pt
    # Every row's label lies inside the figure, and spacing between study rows is constant.
    ys = np.sort([t.get_position()[1] for t in labels])
    steps = np.diff(ys) / np.diff(ys).min()
    assert np.allclose(steps, np.round(steps), atol=1e-6)


def test_height_proportional_to_rows():
    h = []
    for k in (10, 20, 40):
        h.append(forest(mk.meta(mk.effect_sizes(synthetic(k), "OR"))).get_figheight())
    assert h[2] - h[1] == pytest.approx(2 * (h[1] - h[0]), rel=1e-9)


# ---- files -------------------------------------------------------------------------------

def test_svg_pdf_png_keep_text(bcg_fit, tmp_path):
    svg, pdf, png = tmp_path / "f.svg", tmp_path / "f.pdf", tmp_path / "f.png"
    fig = forest(bcg_fit, svg)
    forest(bcg_fit, pdf)
    forest(bcg_fit, png, dpi=72)
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    strings = {"".join(t.itertext()) for t in root.iter(f"{ns}text")}
    for s in REF["bcg"]["study"]:
        assert s in strings
    ref = _fit_ref("bcg", "OR", "REML")
    assert fmt_ci(*np.exp([ref["beta"], ref["ci_lb"], ref["ci_ub"]])) in strings
    assert b"/FontFile2" in pdf.read_bytes()  # TrueType font embedded: text stays text
    from PIL import Image
    with Image.open(png) as im:
        size = np.array(im.size)
    assert np.abs(size - [fig.get_figwidth() * 72, fig.get_figheight() * 72]).max() <= 1
    with pytest.raises(ValueError, match="format"):
        forest(bcg_fit, tmp_path / "f.docx")


def test_write_figures(bcg_fit, tmp_path):
    out = write_figures(bcg_fit, tmp_path / "forest.svg", tmp_path / "funnel.png", dpi=50,
                        contours=True, sort="year")
    assert out["forest"].exists() and out["funnel"].exists()
    with pytest.raises(TypeError, match="bogus"):
        write_figures(bcg_fit, tmp_path / "x.svg", bogus=1)


def test_methods_on_results(bcg_fit, tmp_path):
    fig = bcg_fit.forest(tmp_path / "a.png", dpi=40)
    assert (tmp_path / "a.png").exists() and graph_axes(fig).get_xscale() == "log"
    es = mk.effect_sizes(bcg_frame().assign(g=["x", "y"] * 6 + ["x"]), "OR", keep=("g",))
    assert len(diamonds(mk.meta(es, by="g").forest())) == 3


def test_a_table_drawn_directly():
    # The neutral rows model: what a network comparison will feed in.
    rows = (ForestRow("study", "B vs A", estimate=math.log(0.5), ci_lb=math.log(0.3),
                      ci_ub=math.log(0.8), weight=50.0, effect="0.50 [0.30, 0.80]"),
            ForestRow("study", "C vs A", estimate=math.log(1.2), ci_lb=math.log(0.9),
                      ci_ub=math.log(1.6), weight=50.0, effect="1.20 [0.90, 1.60]"))
    t = ForestTable(rows=rows, arm_labels=(), arm_columns=(), extra_columns=(),
                    weight_columns=(), effect_title="Odds ratio", effect_method="95% CI",
                    is_ratio=True)
    fig = draw_forest(t)
    assert forest_table(t) is t
    assert graph_axes(fig).get_xscale() == "log"
    off, _ = squares(fig)
    assert np.allclose(off[:, 0], [0.5, 1.2])
    # Without weights every square has the same size.
    t2 = replace(t, rows=tuple(replace(r, weight=math.nan) for r in rows))
    _, size = squares(draw_forest(t2))
    assert size[0] == size[1] > 0
    with pytest.raises(ValueError, match="kind"):
        ForestRow("row")


def test_example_figures_script(tmp_path):
    """examples/figures/make_figures.py runs and writes every figure, text kept as text."""
    import importlib.util
    script = Path(__file__).parents[2] / "examples" / "figures" / "make_figures.py"
    spec = importlib.util.spec_from_file_location("make_figures", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    paths = module.make(tmp_path, formats=("svg",))
    assert {p.stem for p in paths} == {"onfh_tha_forest", "normand1999_md_forest",
                                       "normand1999_md_funnel", "synthetic150_forest",
                                       "synthetic150_funnel"}
    root = ET.parse(tmp_path / "onfh_tha_forest.svg").getroot()
    strings = {"".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")}
    tha = module.onfh_tha()
    sub = mk.meta(mk.effect_sizes(tha, "OR", keep=("allocation",)), by="allocation",
                  convention="revman")
    assert {"Hernigou 2018", "Mao 2015", "Hauzeur 2018", "Kang 2018", "Randomised trials",
            sub.test_line(), sub.overall.heterogeneity_line()} <= strings
    # Events as published (examples/data/README.md): Hernigou 30/125 vs 95/125.
    assert set(tha.loc[tha.study == "Hernigou", ["e_t", "n_t", "e_c", "n_c"]].iloc[0]) \
        == {30, 125, 95}


def test_hartung_knapp_line_uses_t():
    ref = _fit_ref("bcg", "OR", "REML", test="knha")
    fit = mk.meta(mk.effect_sizes(bcg_frame(), "OR"), ci="hk")
    texts = [t.get_text() for t in table_axes(forest(fit)).texts]
    line = (f"Test for overall effect: t = {fmt_num(abs(ref['zval']))}, df = {ref['ddf']:.0f} "
            f"(P {fmt_p(ref['pval'])})")
    assert line in texts
    assert fmt_ci(*np.exp([ref["beta"], ref["ci_lb"], ref["ci_ub"]])) in texts


def test_single_study_generic_data_and_odd_labels():
    # One study: its own estimate is the total; heterogeneity is not applicable.
    df = pd.DataFrame({"study": ["Only $x$ trial_1"], "yi": [0.5], "vi": [0.04]})
    with pytest.warns(mk.errors.MetakitWarning):
        fit = mk.meta(mk.effect_sizes(df, "GEN", estimate="yi", variance="vi"))
    fig = forest(fit, prediction=True)
    fig.canvas.draw()
    rows = row_texts(fig)
    # 0.5 +/- 1.96 x 0.2 = [0.108, 0.892]
    assert rows["Only $x$ trial_1"] == ["100.0%", "0.50 [0.11, 0.89]"]
    assert "Prediction interval" not in rows
    texts = [t.get_text() for t in table_axes(fig).texts]
    assert "Heterogeneity: Not applicable" in texts
    assert graph_axes(fig).get_xscale() == "linear"
    assert not overlapping_pairs(fig) and not outside_figure(fig)


@pytest.mark.parametrize("dpi", [72, 110, 300])
def test_short_labels_do_not_run_into_the_arm_columns(dpi):
    # Short study labels leave the header "Study or Subgroup" as the widest first-column
    # text; the layout must hold it at any resolution (font hinting varies with dpi).
    df = pd.DataFrame({"study": ["A", "B", "C"], "e_t": [4, 6, 3], "n_t": [123, 306, 231],
                       "e_c": [11, 29, 11], "n_c": [139, 303, 220]})
    rob = {s: {"Overall": "low"} for s in df.study}
    fig = forest(mk.meta(mk.effect_sizes(df, "OR"), tau2_method="DL"), rob=rob, dpi=dpi)
    fig.canvas.draw()
    assert overlapping_pairs(fig) == [] and outside_figure(fig) == []


def test_lopsided_axis_keeps_favours_labels_apart(bcg_fit):
    fig = forest(bcg_fit, xlim=(0.05, 2), ticks=(0.05, 0.1, 0.2, 0.5, 1, 2),
                 favours=("Favours BCG vaccination", "Favours no vaccination at all"))
    fig.canvas.draw()
    assert overlapping_pairs(fig) == [] and outside_figure(fig) == []
    assert list(graph_axes(fig).get_xticks()) == pytest.approx([0.05, 0.1, 0.2, 0.5, 1, 2])


def test_narrow_diamond_keeps_a_visible_width():
    # 150 studies: the common-effect CI (about 0.72-0.79) is a few per cent of a 0.02-50 axis.
    from metakit.plots.forest import MIN_DIAMOND_PT

    fit = mk.meta(mk.effect_sizes(synthetic(150), "OR"))
    fig = forest(fit, show="both")
    fig.canvas.draw()
    gax = graph_axes(fig)
    to_px = gax.transData.transform
    pt = 72 / fig.dpi
    widths = []
    for xy in diamonds(fig):
        px = to_px(xy)
        widths.append((px[:, 0].max() - px[:, 0].min()) * pt)
        heights = (px[:, 1].max() - px[:, 1].min()) * pt
        assert heights > 5.0                                      # and tall enough to see
    assert min(widths) >= MIN_DIAMOND_PT - 1e-6 and MIN_DIAMOND_PT >= 4.0
    # The widened diamond stays centred on its estimate: common-effect OR from the fit.
    common = diamonds(fig)[0]
    top = common[np.argmin(common[:, 1])]
    assert top[0] == pytest.approx(math.exp(fit.common.estimate), rel=1e-9)
    left, right = to_px([[common[:, 0].min(), 0]])[0, 0], to_px([[common[:, 0].max(), 0]])[0, 0]
    centre = to_px([[top[0], 0]])[0, 0]
    assert centre - left == pytest.approx(right - centre, abs=0.01)
