"""Risk-of-bias figures: content checked through matplotlib artists and the SVG they write."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from metakit.errors import DataError  # noqa: E402
from metakit.plots.rob import (  # noqa: E402
    ROB_STYLES,
    draw_rob_columns,
    draw_rob_dots,
    summary_plot,
    traffic_light,
)
from metakit.rob import from_records, read_assessments  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rob"
LEVELS = ["Low", "Some concerns", "High"]

# robvis-like default colours and Okabe-Ito colour-blind colours, written out independently.
DEFAULT = {"Low": "#02C100", "Some concerns": "#E2DF07", "High": "#BF0000", "Moderate": "#E2DF07",
           "Serious": "#BF0000", "Critical": "#820000", "No information": "#4EA1F7"}
OKABE_ITO = {"Low": "#009E73", "Some concerns": "#F0E442", "High": "#D55E00"}
SYMBOLS = {"Low": "+", "Some concerns": "\u2212", "High": "\u00d7", "Critical": "!", "No information": "?"}


def _dots(ax):
    return [c for c in ax.collections if c.get_gid() == "rob-dots"]


def _symbols(ax):
    return [t for t in ax.texts if t.get_gid() == "rob-symbol"]


@pytest.fixture(scope="module")
def seed():
    return read_assessments(EXAMPLES / "seed_rob2.csv")


def test_styles_table():
    for level, colour in DEFAULT.items():
        assert ROB_STYLES["default"][level][0] == colour
    for level, colour in OKABE_ITO.items():
        assert ROB_STYLES["colourblind"][level][0] == colour
    for level, symbol in SYMBOLS.items():
        assert ROB_STYLES["default"][level][1] == symbol


def test_draw_rob_dots_standalone():
    fig = Figure()
    ax = fig.add_subplot()
    dots, symbols = draw_rob_dots(ax, 2.0, [0, 1, 2, 3], ["Low", None, "High", "Some concerns"])
    assert len(dots.get_offsets()) == 3                      # None leaves no dot
    assert np.allclose(dots.get_offsets(), [[2, 0], [2, 2], [2, 3]])
    assert np.allclose(dots.get_facecolors(), [to_rgba(DEFAULT[j]) for j in ("Low", "High", "Some concerns")])
    assert [s.get_text() for s in symbols] == ["+", "\u00d7", "\u2212"]
    dots2, _ = draw_rob_dots(ax, [0, 1], 5, ["Low", "High"], palette="colourblind")
    assert np.allclose(dots2.get_facecolors(), [to_rgba(OKABE_ITO["Low"]), to_rgba(OKABE_ITO["High"])])
    with pytest.raises(ValueError, match="palette"):
        draw_rob_dots(ax, 0, [0], ["Low"], palette="neon")
    with pytest.raises(ValueError, match="no style"):
        draw_rob_dots(ax, 0, [0], ["Dubious"])


@pytest.mark.parametrize("palette", ["default", "colourblind"])
def test_traffic_light_shows_every_study_domain_and_colour(seed, palette):
    fig = traffic_light(seed, palette=palette)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == seed.studies
    assert [t.get_text() for t in ax.get_xticklabels()] == ["D1", "D2", "D3", "D4", "D5", "Overall"]
    colours = DEFAULT if palette == "default" else OKABE_ITO
    columns = _dots(ax)
    assert len(columns) == 6
    frame = seed.to_frame()
    for col, dots in zip(["D1", "D2", "D3", "D4", "D5", "Overall"], columns):
        offsets = dots.get_offsets()
        assert np.allclose(offsets[:, 1], np.arange(10))      # one dot per study, top to bottom
        expected = [to_rgba(colours[j]) for j in frame[col]]
        assert np.allclose(dots.get_facecolors(), expected), col
    # Trial B's D1 and overall are Some concerns: symbol "−" at (0, 1) and (5, 1).
    at = {(round(s.get_position()[0]), round(s.get_position()[1])): s.get_text() for s in _symbols(ax)}
    assert at[(0, 1)] == "\u2212" and at[(5, 1)] == "\u2212" and at[(1, 1)] == "+"
    legend_text = " ".join(t.get_text() for a in fig.axes for t in a.texts)
    for d in seed.tool.domains:
        assert f"{d.key}: {d.name}" in legend_text
    for level in LEVELS:
        assert level in legend_text


def test_traffic_light_robins_i_levels():
    t = read_assessments(EXAMPLES / "robins_i_example.csv", tool="robins-i")
    fig = traffic_light(t)
    ax = fig.axes[0]
    overall = _dots(ax)[-1]
    expected = ["Moderate", "Serious", "No information", "Critical", "Moderate", "Low", "Serious",
                "No information"]
    assert np.allclose(overall.get_facecolors(), [to_rgba(DEFAULT[j]) for j in expected])
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"D{i}" for i in range(1, 8)] + ["Overall"]


def _no_overlap(boxes):
    boxes = sorted(boxes, key=lambda b: b.y0)
    return all(b2.y0 >= b1.y1 - 0.5 for b1, b2 in zip(boxes, boxes[1:]))


@pytest.mark.parametrize("n", [3, 60])
def test_traffic_light_scales_without_overlap(n):
    rows = [{"study": f"Multicentre trial number {i:02d} et al. 2020",
             **{f"d{d}": LEVELS[(i + d) % 3] for d in range(1, 6)}} for i in range(n)]
    fig = traffic_light(from_records(rows))
    ax = fig.axes[0]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = [t.get_window_extent(renderer) for t in ax.get_yticklabels()]
    assert len(labels) == n and _no_overlap(labels)
    # Study labels stay inside the figure and left of the grid.
    grid = ax.get_window_extent(renderer)
    assert min(b.x0 for b in labels) >= 0 and max(b.x1 for b in labels) <= grid.x0 + 1
    # Legend text sits below the grid.
    legend = [t.get_window_extent(renderer) for t in fig.axes[1].texts]
    assert max(b.y1 for b in legend) < grid.y0
    # Row pitch in inches does not shrink below 0.28 in whatever the number of studies.
    assert fig.get_figheight() >= n * 0.28


def test_traffic_light_several_outcomes_labelled():
    rows = [{"study": "A", "outcome": o, **{f"d{i}": "Low" for i in range(1, 6)}} for o in ("HHS", "VAS")]
    t = from_records(rows)
    fig = traffic_light(t)
    assert [x.get_text() for x in fig.axes[0].get_yticklabels()] == ["A (HHS)", "A (VAS)"]
    fig = traffic_light(t, outcome="VAS")
    assert [x.get_text() for x in fig.axes[0].get_yticklabels()] == ["A"]


def test_traffic_light_saves_svg_pdf_png(seed, tmp_path):
    for ext in ("svg", "pdf", "png"):
        traffic_light(seed, tmp_path / f"tl.{ext}")
        assert (tmp_path / f"tl.{ext}").stat().st_size > 1000
    root = ET.parse(tmp_path / "tl.svg").getroot()
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    # Six grid columns and one legend column of dots.
    assert sum(i == "rob-dots" for i in ids) == 7
    with pytest.raises(ValueError, match="use .svg"):
        traffic_light(seed, tmp_path / "tl.jpg")


def _bars(fig):
    return {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}


def test_summary_plot_bars_are_the_proportions(seed):
    fig = summary_plot(seed)
    bars = _bars(fig)
    # Hand count from the seed example: D1 9 Low / 1 Some concerns; D2 and D3 all Low;
    # D4 9/1; D5 9/1; overall 7/3.
    expected = {"D1": [0.9, 0.1, 0], "D2": [1, 0, 0], "D3": [1, 0, 0], "D4": [0.9, 0.1, 0],
                "D5": [0.9, 0.1, 0], "Overall": [0.7, 0.3, 0]}
    for key, props in expected.items():
        widths = [bars[f"{key}|{lvl}"].get_width() for lvl in LEVELS]
        assert widths == pytest.approx(props), key
        lefts = [bars[f"{key}|{lvl}"].get_x() for lvl in LEVELS]
        assert lefts == pytest.approx([0, props[0], props[0] + props[1]])
        for lvl in LEVELS:
            assert to_rgba(bars[f"{key}|{lvl}"].get_facecolor()) == pytest.approx(to_rgba(DEFAULT[lvl]))
    names = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert names == [d.name for d in seed.tool.domains] + ["Overall risk of bias"]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "70%" in texts and "30%" in texts
    assert [t.get_text() for t in fig.legends[0].get_texts()] == LEVELS


def test_summary_plot_weighted(seed, tmp_path):
    weights = dict(zip(seed.studies, [10, 20, 10, 5, 10, 10, 10, 15, 5, 5]))
    fig = summary_plot(seed, weights=weights, palette="colourblind", path=tmp_path / "s.png")
    bars = _bars(fig)
    # Overall Some concerns: B 20 + D 5 + H 15 = 40 of 100.
    assert bars["Overall|Some concerns"].get_width() == pytest.approx(0.40)
    assert to_rgba(bars["Overall|Low"].get_facecolor()) == pytest.approx(to_rgba(OKABE_ITO["Low"]))
    assert "weighted" in fig.axes[0].get_xlabel()
    assert (tmp_path / "s.png").exists()


def test_draw_rob_columns_for_a_forest_plot(seed):
    fig = Figure()
    ax = fig.add_subplot()
    studies = ["Trial H (Iran)", "Trial A (China)"]
    out = draw_rob_columns(ax, [10, 11, 12, 13, 14, 15], [1.0, 2.0], studies, seed, header_y=0.2)
    assert list(out) == ["D1", "D2", "D3", "D4", "D5", "Overall"]
    # Trial H: D4 and overall Some concerns; Trial A: all Low.
    d4_dots, _ = out["D4"]
    assert np.allclose(d4_dots.get_facecolors(), [to_rgba(DEFAULT["Some concerns"]), to_rgba(DEFAULT["Low"])])
    assert np.allclose(out["Overall"][0].get_offsets(), [[15, 1], [15, 2]])
    assert [t.get_text() for t in ax.texts if t.get_gid() is None] == ["D1", "D2", "D3", "D4", "D5", "All"]
    with pytest.raises(DataError) as err:
        draw_rob_columns(ax, [0, 1, 2, 3, 4, 5], [0.0], ["Hernigou 2018"], seed)
    assert err.value.study == "Hernigou 2018"
    with pytest.raises(ValueError, match="need 6 x positions"):
        draw_rob_columns(ax, [0, 1], [0.0], ["Trial A (China)"], seed)


# ---- percentages: whole numbers summing to 100, every segment labelled ----------------------------

def _percent_texts(fig):
    return {t.get_gid()[len("pct:"):]: t for t in fig.axes[0].texts if (t.get_gid() or "").startswith("pct:")}


def test_whole_percentages_by_largest_remainder():
    from metakit.plots.rob import whole_percentages

    # 1, 4, 2, 1 of 8 = 12.5, 50, 25, 12.5: floors 12 + 50 + 25 + 12 = 99; the missing point goes
    # to the tied remainder listed later (the level of more concern).
    assert whole_percentages([1 / 8, 4 / 8, 2 / 8, 1 / 8]).tolist() == [12, 50, 25, 13]
    assert whole_percentages([[1 / 3] * 3, [0.0] * 3, [0.666, 0.334, 0.0]]).tolist() == [
        [33, 33, 34], [0, 0, 0], [67, 33, 0]]
    # 0.4/0.3/0.2/0.03/0.07 are exact in percent: no point moves.
    assert whole_percentages([0.4, 0.3, 0.2, 0.03, 0.07]).tolist() == [40, 30, 20, 3, 7]


def test_summary_plot_percentages_sum_to_100():
    t = read_assessments(EXAMPLES / "robins_i_example.csv", "robins-i")
    fig = summary_plot(t)
    texts = _percent_texts(fig)
    # Overall of the 8 cohorts, counted from the file: Low 1 (F), Moderate 2 (A, E), Serious 2
    # (B, G), Critical 1 (D), No information 2 (C, H) -> 12.5/25/25/12.5/25 -> 12/25/25/13/25.
    overall = {lvl: texts[f"Overall|{lvl}"].get_text() for lvl in t.tool.levels}
    assert overall == {"Low": "12%", "Moderate": "25%", "Serious": "25%", "Critical": "13%",
                       "No information": "25%"}
    for key in t.columns:
        shown = [int(texts[f"{key}|{lvl}"].get_text().rstrip("%")) for lvl in t.tool.levels
                 if f"{key}|{lvl}" in texts]
        assert sum(shown) == 100, key


def test_narrow_weighted_segments_are_labelled_outside_without_overlap(seed):
    # Trial A carries almost all the weight: every other study's segment is a sliver.
    weights = {s: (1000.0 if s == "Trial A (China)" else 1.0) for s in seed.studies}
    fig = summary_plot(seed, weights=weights)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    bars = _bars(fig)
    texts = _percent_texts(fig)
    leaders = {ln.get_gid()[len("leader:"):] for ln in ax.lines if (ln.get_gid() or "").startswith("leader:")}
    for gid, bar in bars.items():
        if bar.get_width() > 0:
            assert gid in texts, gid                     # every visible segment has its percentage
    # Overall Some concerns: B, D, H of weight 1 each, of 1009 -> 0.297%, shown as "<1%".
    assert texts["Overall|Some concerns"].get_text() == "<1%"
    assert "Overall|Some concerns" in leaders
    boxes = {g: t.get_window_extent(r) for g, t in texts.items()}
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not boxes[a].overlaps(boxes[b]), (a, b)
        bar_box = bars[a].get_window_extent(r)
        if a in leaders:                                  # outside: above its bar, inside the axes' width
            assert boxes[a].y0 >= bar_box.y1 - 0.5
            ax_box = ax.get_window_extent(r)
            assert ax_box.x0 - 0.5 <= boxes[a].x0 and boxes[a].x1 <= ax_box.x1 + 0.5
        else:                                             # inside: within its segment
            assert bar_box.x0 <= boxes[a].x0 and boxes[a].x1 <= bar_box.x1
    # And no percentage runs into another bar.
    for g, box in boxes.items():
        for gb, bar in bars.items():
            if gb != g and bar.get_width() > 0:
                assert not box.overlaps(bar.get_window_extent(r)), (g, gb)
