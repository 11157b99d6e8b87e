"""Figures of a network meta-analysis: network graph, league table, rankograms and SUCRA
curves, comparison-adjusted funnel plot, and a forest plot of every treatment against the
reference (through :mod:`metakit.plots.forest`).

The network graph follows netmeta's ``netgraph`` (Rücker & Schwarzer 2016): treatments on a
circle, node area proportional to the number of patients (or of studies), edge width
proportional to the number of studies comparing the pair, each multi-arm design shaded as a
polygon over its treatments. Labels sit outside the circle, aligned away from it; any two
labels whose boxes would overlap are pushed outwards until none do, and the canvas grows to
hold them. Geometry is in points (1/72 inch) from measured text, as the other figures.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Polygon, Rectangle

from metakit.plots import _layout

SHADES = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#999999")
EDGE = "#4a4a4a"
NODE = "#3b6aa0"


def _overlap(a, b, pad: float = 1.0) -> bool:
    return not (a[2] + pad <= b[0] or b[2] + pad <= a[0] or a[3] + pad <= b[1] or b[3] + pad <= a[1])


def label_boxes(angles: np.ndarray, base: np.ndarray, widths: np.ndarray, height: float,
                max_iter: int = 2000) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """Radii for labels at ``angles`` (starting at ``base``) so that no two boxes overlap.

    Each label's anchor is on its ray; the box extends away from the circle (left-aligned on
    the right side, right-aligned on the left, centred at top and bottom). Overlapping pairs
    push the label farther from the centre outwards in 2-point steps. Returns the radii and
    the boxes (x0, y0, x1, y1), centre at the origin.
    """
    r = base.astype(float).copy()

    def box(i):
        c, s = math.cos(angles[i]), math.sin(angles[i])
        x, y = r[i] * c, r[i] * s
        x0 = x if c > 0.2 else (x - widths[i] if c < -0.2 else x - widths[i] / 2)
        y0 = y if s > 0.2 else (y - height if s < -0.2 else y - height / 2)
        return (x0, y0, x0 + widths[i], y0 + height)

    boxes = [box(i) for i in range(len(r))]
    for _ in range(max_iter):
        moved = False
        for i in range(len(r)):
            for j in range(i + 1, len(r)):
                if _overlap(boxes[i], boxes[j]):
                    k = j if r[j] >= r[i] else i
                    r[k] += 2.0
                    boxes[k] = box(k)
                    moved = True
        if not moved:
            break
    return r, boxes


@_layout.plain_warnings
def network_graph(result, path: str | Path | None = None, *, size: str = "patients", order=None,
                  font: str | None = None, font_size: float = 10.0, radius: float = 140.0, dpi: float = 200,
                  show_counts: bool = True) -> Figure:
    """Draw the network (see the module docstring); saved to ``path`` if given.

    Parameters
    ----------
    result
        A :class:`~metakit.network.model.NetworkResult` or :class:`~metakit.network.data.NetworkData`.
    size
        Node area by "patients" (needs arm sizes; falls back to studies) or "studies".
    order
        Treatments clockwise from the top (default: sorted).
    font, font_size
        Label font.
    radius
        Radius of the circle of treatments, in points (grown for many treatments, so that
        nodes do not overlap).
    dpi
        Resolution of raster output.
    show_counts
        Write the number of studies on each edge.

    Returns
    -------
    matplotlib.figure.Figure
        Axes ``gid="network-graph"``; nodes, edges, polygons and leader lines (to labels
        pushed outwards) carry gids ``node:<t>``, ``edge:<a>:<b>``, ``multiarm:<design>`` and
        ``leader:<t>``; labels are its texts.
    """
    net = getattr(result, "data", result)
    n = net.n
    # room on the circle for the largest nodes and one label line each
    radius = max(radius, n * max(2 * 18.0 + 6.0, 1.4 * font_size) / (2 * np.pi))
    position = np.arange(n)
    if order is not None:
        if sorted(order) != sorted(net.treatments):
            raise ValueError(f"order must list every treatment once: {', '.join(net.treatments)}")
        position = np.array([list(order).index(t) for t in net.treatments])
    angles = np.pi / 2 - 2 * np.pi * position / n
    xy = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    per_study = np.zeros((net.k, n), dtype=bool)
    per_study[net.study, net.t1] = True
    per_study[net.study, net.t2] = True
    studies = per_study.sum(axis=0)
    use_patients = size == "patients" and np.all(np.isfinite(net.patients)) and len(net.patients) == n
    weight = net.patients if use_patients else studies.astype(float)
    node_r = 5.0 + 13.0 * np.sqrt(weight / weight.max())
    pair_k = np.bincount(net.t1 * n + net.t2, minlength=n * n).reshape(n, n)
    kmax = pair_k.max()
    prop = _layout.font(font, font_size)
    widths = np.array([_layout.text_width(t, prop) for t in net.treatments])
    height = 1.2 * font_size
    base = radius + node_r + 4.0
    radii, boxes = label_boxes(angles, base, widths, height)
    boxes_arr = np.array(boxes)
    lo = np.minimum(boxes_arr[:, :2].min(axis=0), -radius - node_r.max()) - 12
    hi = np.maximum(boxes_arr[:, 2:].max(axis=0), radius + node_r.max()) + 12
    title_h = 2.2 * font_size
    w_pt, h_pt = hi[0] - lo[0], hi[1] - lo[1] + title_h
    fig = _layout.new_figure(w_pt, h_pt, dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1), gid="network-graph")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1] + title_h)
    ax.set_axis_off()
    lay = net.layout
    shaded = [g for g in lay.groups if g.p > 2]
    c = 0
    for grp in shaded:
        for d, nodes in zip(grp.designs, grp.nodes):
            order = nodes[np.argsort(-angles[nodes])]
            ax.add_patch(Polygon(xy[order], closed=True, facecolor=SHADES[c % len(SHADES)], alpha=0.22,
                                 edgecolor="none", zorder=1, gid=f"multiarm:{lay.labels[d]}"))
            c += 1
    ia, ib = np.nonzero(np.triu(pair_k, 1))
    placed: list[np.ndarray] = []
    for a, b in zip(ia, ib):
        lw = 1.0 + 7.0 * pair_k[a, b] / kmax
        ax.plot(*xy[[a, b]].T, color=EDGE, lw=lw * 0.75, solid_capstyle="butt", zorder=2,
                gid=f"edge:{net.treatments[a]}:{net.treatments[b]}")
        if show_counts:
            # midpoint, or the nearest point along the edge clear of the counts already placed
            for frac in (0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75):
                at = xy[a] + frac * (xy[b] - xy[a])
                if all(np.hypot(*(at - q)) > 1.6 * font_size for q in placed):
                    break
            placed.append(at)
            ax.text(*at, str(pair_k[a, b]), ha="center", va="center", fontsize=0.75 * font_size, zorder=4,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9},
                    gid=f"count:{net.treatments[a]}:{net.treatments[b]}")
    for i, t in enumerate(net.treatments):
        ax.add_patch(Circle(xy[i], node_r[i], facecolor=NODE, edgecolor="white", lw=1.0, zorder=3, gid=f"node:{t}"))
        x0, y0, x1, y1 = boxes[i]
        ax.text(x0, (y0 + y1) / 2, t, ha="left", va="center", fontproperties=prop, zorder=5)
        if radii[i] > base[i] + 4:  # a label pushed outwards gets a leader line to its node
            direction = np.array([math.cos(angles[i]), math.sin(angles[i])])
            ax.plot(*np.column_stack([xy[i] + direction * node_r[i], direction * (radii[i] - 1)]), color="#aaaaaa",
                    lw=0.5, zorder=2, gid=f"leader:{t}")
    what = "patients" if use_patients else "studies"
    ax.text((lo[0] + hi[0]) / 2, hi[1] + title_h / 2,
            f"Node area: {what}; edge width: number of studies" + ("; shaded: multi-arm studies" if shaded else ""),
            ha="center", va="center", fontsize=0.8 * font_size, color="#333333")
    if path is not None:
        _layout.save(fig, path)
    return fig


@_layout.plain_warnings
def league_figure(league, path: str | Path | None = None, *, font: str | None = None, font_size: float = 8.0,
                  dpi: float = 200) -> Figure:
    """Draw a :class:`~metakit.network.league.League` as a grid: the diagonal names the
    treatments, the lower triangle (network) and upper triangle (direct or other model) are
    tinted differently, and cells whose interval excludes the null are bold."""
    table = league.table
    n = len(league.treatments)
    prop = _layout.font(font, font_size)
    bold = _layout.font(font, font_size, weight="bold")
    cells = table.to_numpy()
    cw = max(_layout.max_width([str(v) for v in cells.ravel()], bold), 40.0) + 10.0
    ch = 2.2 * font_size
    head = 2.4 * font_size
    fig = _layout.new_figure(n * cw, n * ch + head, dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1), gid="league-figure")
    ax.set_xlim(0, n * cw)
    ax.set_ylim(n * ch + head, 0)
    ax.set_axis_off()
    null = 1.0 if league.is_ratio else 0.0
    for i in range(n):
        for j in range(n):
            colour = "#d9d9d9" if i == j else ("#deebf7" if i > j else "#fdebd0")
            ax.add_patch(Rectangle((j * cw, head + i * ch), cw, ch, facecolor=colour, edgecolor="white", lw=1.5))
            text = str(cells[i, j])
            lo, hi = league.ci_lb[i, j], league.ci_ub[i, j]
            strong = i == j or (np.isfinite(lo) and (lo > null or hi < null))
            ax.text(j * cw + cw / 2, head + i * ch + ch / 2, text, ha="center", va="center",
                    fontproperties=bold if strong else prop)
    ax.text(n * cw / 2, head / 2, f"Row versus column. Lower: {league.lower}; upper: {league.upper}",
            ha="center", va="center", fontproperties=prop)
    if path is not None:
        _layout.save(fig, path)
    return fig


def _panel_title(name: str, extra: str | None = None) -> str:
    """A panel title that fits its panel: the name wrapped at 22 characters, then ``extra``."""
    lines = textwrap.wrap(name, 22) or [name]
    return "\n".join(lines + ([extra] if extra else []))


def _panels(n: int, ncols: int, w: float, h: float, dpi: float):
    nrows = math.ceil(n / ncols)
    fig = _layout.new_figure(ncols * w, nrows * h, dpi=dpi)
    axes = []
    for i in range(n):
        r, c = divmod(i, ncols)
        axes.append(fig.add_axes(((c + 0.27) / ncols, 1 - (r + 0.8) / nrows, 0.66 / ncols, 0.58 / nrows)))
    return fig, axes


@_layout.plain_warnings
def rankogram(ranking, path: str | Path | None = None, *, ncols: int = 4, dpi: float = 200) -> Figure:
    """Rankograms: for each treatment, the probability of each rank (1 = best), one panel each."""
    n = len(ranking.treatments)
    fig, axes = _panels(n, min(ncols, n), 170.0, 150.0, dpi)
    for i, ax in enumerate(axes):
        ax.bar(np.arange(1, n + 1), ranking.rank_probs[i], color=NODE, gid=f"rankogram:{ranking.treatments[i]}")
        ax.set_ylim(0, 1)
        ax.set_xticks(np.arange(1, n + 1))
        ax.tick_params(labelsize=7)
        ax.set_title(_panel_title(ranking.treatments[i]), fontsize=9)
        ax.set_xlabel("Rank", fontsize=7)
        ax.set_ylabel("Probability", fontsize=7)
    if path is not None:
        _layout.save(fig, path)
    return fig


@_layout.plain_warnings
def sucra_curves(ranking, path: str | Path | None = None, *, ncols: int = 4, dpi: float = 200) -> Figure:
    """Cumulative ranking curves: P(rank <= r) for each treatment, with its SUCRA (Salanti 2011)."""
    n = len(ranking.treatments)
    cum = ranking.cumulative
    fig, axes = _panels(n, min(ncols, n), 170.0, 150.0, dpi)
    for i, ax in enumerate(axes):
        ax.plot(np.arange(1, n + 1), cum[i], color=NODE, marker="o", ms=3, gid=f"sucra:{ranking.treatments[i]}")
        ax.fill_between(np.arange(1, n + 1), cum[i], color=NODE, alpha=0.15)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(1, n)
        ax.set_xticks(np.arange(1, n + 1))
        ax.tick_params(labelsize=7)
        ax.set_title(_panel_title(ranking.treatments[i], f"SUCRA {100 * ranking.sucra[i]:.1f}%"),
                     fontsize=9)
        ax.set_xlabel("Rank", fontsize=7)
        ax.set_ylabel("Cumulative probability", fontsize=7)
    if path is not None:
        _layout.save(fig, path)
    return fig


@_layout.plain_warnings
def adjusted_funnel_plot(funnel, path: str | Path | None = None, *, dpi: float = 200, level: float = 0.95) -> Figure:
    """Comparison-adjusted funnel plot (Chaimani & Salanti 2012): centred contrasts against
    their SE (axis inverted), pseudo-confidence limits around 0, one colour per comparison,
    and Egger's test in the caption."""
    from scipy import special

    comps = sorted(set(funnel.comparison))
    names = [c.replace(":", " vs ") for c in comps]
    legend_w = max(_layout.max_width(names, _layout.font(None, 6.5)),
                   _layout.text_width("Comparison", _layout.font(None, 7)))
    left, plot_w, plot_h, bottom, top_pad = 48.0, 300.0, 240.0, 62.0, 12.0
    w_pt = left + plot_w + 14.0 + legend_w + 34.0
    h_pt = bottom + plot_h + top_pad
    fig = _layout.new_figure(w_pt, h_pt, dpi=dpi)
    ax = fig.add_axes((left / w_pt, bottom / h_pt, plot_w / w_pt, plot_h / h_pt), gid="adjusted-funnel")
    z = float(special.ndtri(1 - (1 - level) / 2))
    top = float(funnel.se.max()) * 1.08
    se = np.linspace(0, top, 50)
    ax.plot(z * se, se, ls="--", color="#777777", lw=0.8)
    ax.plot(-z * se, se, ls="--", color="#777777", lw=0.8)
    ax.axvline(0, color="#555555", lw=0.8)
    for c_i, (comp, name) in enumerate(zip(comps, names)):
        mask = np.array([c == comp for c in funnel.comparison])
        ax.scatter(funnel.x[mask], funnel.se[mask], s=18, color=SHADES[c_i % len(SHADES)],
                   marker="os^Dv<>p"[(c_i // len(SHADES)) % 8], label=name, zorder=3, gid=f"funnel:{comp}")
    ax.set_ylim(top, 0)
    ax.set_xlabel("Centred at comparison-specific effect", fontsize=8)
    ax.set_ylabel("Standard error", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.0 + 10.0 / plot_w, 1.0), frameon=False,
              title="Comparison", title_fontsize=7, alignment="left")
    t = funnel.test
    fig.text(8.0 / w_pt, 10.0 / h_pt, f"Egger's test: intercept {funnel.intercept:.3f} (SE {funnel.intercept_se:.3f}), "
             f"t = {t.statistic:.2f}, df = {int(t.df)}, p = {t.pval:.3g}", fontsize=7)
    if path is not None:
        _layout.save(fig, path)
    return fig


def forest_versus_reference(result, model: str = "random", digits: int = 2, prediction: bool = True):
    """A :class:`~metakit.plots.forest.ForestTable` of every treatment against the reference.

    Rows are the treatments other than the reference (equal squares: a network estimate has
    no study weight); with random effects and ``prediction``, a prediction interval row
    follows each. Draw it with :func:`metakit.plots.forest.forest`.
    """
    from metakit.formatting import fmt_ci
    from metakit.plots.forest import ForestRow, ForestTable
    from metakit.stats.measures import NAMES, is_ratio

    est = result.estimates(model).versus(result.reference)
    ratio = is_ratio(result.data.measure)
    back = np.exp if ratio else (lambda v: v)
    rows = [ForestRow("heading", f"Versus {result.reference}")]
    for i, t in enumerate(result.treatments):
        if t == result.reference:
            continue
        rows.append(ForestRow("study", t, weight=10.0, estimate=float(est["TE"][i]), ci_lb=float(est["lower"][i]),
                              ci_ub=float(est["upper"][i]),
                              effect=fmt_ci(back(est["TE"][i]), back(est["lower"][i]), back(est["upper"][i]), digits),
                              study=t))
        if prediction and model == "random":
            lo, hi = back(est["lower_predict"][i]), back(est["upper_predict"][i])
            rows.append(ForestRow("prediction", "  Prediction interval", estimate=float(est["TE"][i]),
                                  ci_lb=float(est["lower_predict"][i]), ci_ub=float(est["upper_predict"][i]),
                                  effect=f"[{lo:.{digits}f}, {hi:.{digits}f}]"))
    title = NAMES.get(result.data.measure, result.data.measure)
    tau = f", tau² = {result.tau2:.4f}" if model == "random" else ""
    rows.append(ForestRow("text", f"Network meta-analysis, {'random' if model == 'random' else 'common'} "
                                  f"effects{tau}; I² = {result.I2:.0f}%"))
    return ForestTable(tuple(rows), (), (), (), (), title,
                       f"Network, {'Random' if model == 'random' else 'Fixed'}, {int(result.level * 100)}% CI",
                       ratio)
