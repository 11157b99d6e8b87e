"""Risk-of-bias figures: traffic-light plot, summary (stacked bar) plot, and the dots of a
forest plot's risk-of-bias column.

The layouts follow the figures journals know from robvis (McGuinness LA, Higgins JPT.
Risk-of-bias VISualization (robvis). Res Synth Methods 2021;12:55-61): one coloured circle
with a symbol per study and domain, and bars of the proportion of studies per judgement.
Sizes are set in inches from the number of studies and the longest label, so 3 or 60+
studies give the same dot size and no overlapping text.

Colours and symbols live in :data:`ROB_STYLES`: ``"default"`` (robvis-like: green / yellow /
red / dark red, blue for no information) and ``"colourblind"`` (Okabe & Ito's palette). The
symbol carries the judgement too (+ low, − some concerns / moderate, × high / serious,
! critical, ? no information / unclear), so the figure reads in greyscale.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.textpath import TextToPath

from metakit.plots import _layout
from metakit.rob.assessment import OVERALL
from metakit.rob.table import RobTable, Weights
from metakit.rob.tools import (
    CRITICAL,
    HIGH,
    LOW,
    MODERATE,
    NO_INFO,
    SERIOUS,
    SOME_CONCERNS,
    UNCLEAR,
    Tool,
    get_tool,
)

#: Palette name -> judgement -> (colour, symbol). One judgement has one style across tools.
ROB_STYLES: dict[str, dict[str, tuple[str, str]]] = {
    "default": {
        LOW: ("#02C100", "+"),
        SOME_CONCERNS: ("#E2DF07", "\u2212"),
        MODERATE: ("#E2DF07", "\u2212"),
        UNCLEAR: ("#E2DF07", "?"),
        HIGH: ("#BF0000", "\u00d7"),
        SERIOUS: ("#BF0000", "\u00d7"),
        CRITICAL: ("#820000", "!"),
        NO_INFO: ("#4EA1F7", "?"),
    },
    # Okabe M, Ito K. Color Universal Design (2008): bluish green, yellow, vermillion,
    # reddish purple, sky blue -- distinct under the common colour-vision deficiencies.
    "colourblind": {
        LOW: ("#009E73", "+"),
        SOME_CONCERNS: ("#F0E442", "\u2212"),
        MODERATE: ("#F0E442", "\u2212"),
        UNCLEAR: ("#F0E442", "?"),
        HIGH: ("#D55E00", "\u00d7"),
        SERIOUS: ("#D55E00", "\u00d7"),
        CRITICAL: ("#CC79A7", "!"),
        NO_INFO: ("#56B4E9", "?"),
    },
}
ROB_STYLES["colorblind"] = ROB_STYLES["colourblind"]

_FONT_SIZE = 9.0
_SYMBOL_GID = "rob-symbol"
_DOT_GID = "rob-dots"


def style(judgement: str, palette: str = "default") -> tuple[str, str]:
    """(colour, symbol) of a judgement in a palette."""
    if palette not in ROB_STYLES:
        raise ValueError(f"unknown palette {palette!r}; use one of {', '.join(sorted(ROB_STYLES))}")
    try:
        return ROB_STYLES[palette][judgement]
    except KeyError:
        raise ValueError(f"no style for judgement {judgement!r}") from None


def _ink(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (WCAG relative luminance)."""
    rgb = np.array(to_rgb(colour))
    lin = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    luminance = float(lin @ np.array([0.2126, 0.7152, 0.0722]))
    return "black" if luminance > 0.18 else "white"


def draw_rob_dots(ax: Axes, x: float | Sequence[float], y: float | Sequence[float],
                  judgements: Sequence[str | None], palette: str = "default",
                  size: float = 14.0) -> tuple[PathCollection, list[Text]]:
    """Draw risk-of-bias circles with their symbols at data positions (e.g. a forest plot column).

    Parameters
    ----------
    ax
        Axes to draw on.
    x, y
        Positions in data coordinates; a scalar is repeated for every judgement.
    judgements
        One judgement per dot ("Low", "Some concerns", ...); ``None`` or "" leaves no dot.
    palette
        A key of :data:`ROB_STYLES`.
    size
        Circle diameter in points (circles stay round whatever the axes' aspect).

    Returns
    -------
    (PathCollection, list of Text)
        The circles (face colours in judgement order, empty entries left out) and the symbols.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> dots, symbols = draw_rob_dots(ax, 0, [0, 1], ["Low", "High"])
    >>> [s.get_text() for s in symbols]
    ['+', '×']
    """
    n = len(judgements)
    xs = np.broadcast_to(np.asarray(x, dtype=float), (n,))
    ys = np.broadcast_to(np.asarray(y, dtype=float), (n,))
    keep = [i for i, j in enumerate(judgements) if j]
    styles = [style(str(judgements[i]), palette) for i in keep]
    dots = ax.scatter(xs[keep], ys[keep], s=size ** 2, c=[c for c, _ in styles] or None,
                      edgecolors="#333333", linewidths=0.6, zorder=3, clip_on=False)
    dots.set_gid(_DOT_GID)
    symbols = []
    for i, (colour, symbol) in zip(keep, styles):
        t = ax.text(xs[i], ys[i], symbol, ha="center", va="center_baseline", fontsize=size * 0.72,
                    fontweight="bold", color=_ink(colour), zorder=4, clip_on=False)
        t.set_gid(_SYMBOL_GID)
        symbols.append(t)
    return dots, symbols


def draw_rob_columns(ax: Axes, x: Sequence[float], y: Sequence[float], studies: Sequence[str],
                     table: RobTable, palette: str = "default", *, outcome: str | None = None,
                     header_y: float | None = None, size: float = 10.0,
                     fontsize: float = 8.0) -> dict[str, tuple[PathCollection, list[Text]]]:
    """Draw a forest plot's risk-of-bias block: one column of dots per domain plus overall.

    Parameters
    ----------
    ax
        The forest plot's axes.
    x
        x position of each column (domains then "Overall"), in data coordinates.
    y
        y position of each study's row.
    studies
        Study labels in row order; each must be in ``table`` (else :class:`DataError`).
    table
        The assessments.
    header_y
        Where to write the column headers ("D1" ... "Overall"); ``None`` writes none.

    Returns
    -------
    dict
        Column key -> what :func:`draw_rob_dots` returned for it.
    """
    columns = table.columns
    if len(x) != len(columns):
        raise ValueError(f"need {len(columns)} x positions ({', '.join(columns)}), got {len(x)}")
    rows = [table.assessment(s, outcome) for s in studies]
    out = {}
    for xc, col in zip(x, columns):
        values = [a.overall if col == OVERALL else a.domains[col] for a in rows]
        out[col] = draw_rob_dots(ax, xc, y, values, palette=palette, size=size)
        if header_y is not None:
            ax.text(xc, header_y, col if col != OVERALL else "All", ha="center", va="bottom",
                    fontsize=fontsize, fontweight="bold")
    return out


def legend_handles(tool: str | Tool, palette: str = "default", size: float = 9.0) -> list[Line2D]:
    """Legend entries (coloured circle per judgement of ``tool``) for a figure's legend."""
    tool = get_tool(tool)
    return [Line2D([], [], linestyle="none", marker="o", markersize=size,
                   markerfacecolor=style(level, palette)[0], markeredgecolor="#333333", label=level)
            for level in tool.levels]


def _text_width_in(texts: Sequence[str], fontsize: float) -> float:
    """Width in inches of the widest text, from the font's metrics (no renderer needed)."""
    prop = FontProperties(size=fontsize)
    measure = TextToPath().get_text_width_height_descent
    widths = [measure(t, prop, ismath=False)[0] for t in texts if t]
    return max(widths, default=0.0) / 72.0


def save_figure(fig: Figure, path: str | Path) -> None:
    """Save ``fig`` as SVG, PDF or PNG (by the file's extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".pdf", ".png"):
        raise ValueError(f"cannot save a figure as {path.name}: use .svg, .pdf or .png")
    fig.savefig(path, dpi=200 if suffix == ".png" else None, facecolor="white")


def _rows(table: RobTable, outcome: str | None) -> tuple[list[str], list[Any]]:
    if outcome is not None:
        table = table.for_outcome(outcome)
    several = len(table.outcomes) > 1
    labels = [a.label if several else a.study for a in table.assessments]
    return labels, list(table.assessments)


@_layout.plain_warnings
def traffic_light(table: RobTable, path: str | Path | None = None, palette: str = "default", *,
                  outcome: str | None = None, title: str | None = None,
                  fontsize: float = _FONT_SIZE) -> Figure:
    """Traffic-light plot: one row per study, one column per domain plus the overall judgement.

    Parameters
    ----------
    table
        The assessments.
    path
        Where to save (.svg, .pdf or .png); ``None`` only returns the figure.
    palette
        ``"default"`` or ``"colourblind"`` (see :data:`ROB_STYLES`).
    outcome
        Plot one outcome's assessments; by default all, labelled "study (outcome)" when there
        are several outcomes.
    title
        Optional title above the grid.
    fontsize
        Text size in points.

    Returns
    -------
    matplotlib.figure.Figure
        Axes ``fig.axes[0]`` holds the grid (x: columns, y: rows top to bottom).

    Examples
    --------
    >>> from metakit.rob import from_records
    >>> t = from_records([{"study": "A", "d1": "Low", "d2": "Low", "d3": "High", "d4": "Low", "d5": "Low"}])
    >>> fig = traffic_light(t)
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['D1', 'D2', 'D3', 'D4', 'D5', 'Overall']
    """
    tool = table.tool
    labels, assessments = _rows(table, outcome)
    columns = table.columns
    n_rows, n_cols = len(labels), len(columns)

    row_h = 0.34 if n_rows <= 30 else 0.28
    col_w = 0.5
    dot = min(row_h, col_w) * 72 * 0.8
    label_w = _text_width_in(labels, fontsize) + 0.25
    grid_w, grid_h = n_cols * col_w, n_rows * row_h
    header_h = 0.45 + (0.3 if title else 0.0)
    domain_lines = [f"{d.key}: {d.name}" for d in tool.domains]
    legend_fs = fontsize * 0.9
    line_h = legend_fs * 1.45 / 72
    judge_w = _text_width_in(["Judgement", *tool.levels], legend_fs) + 0.45
    domains_w = _text_width_in(["Domains:", *domain_lines], legend_fs) + 0.2
    legend_h = (max(len(domain_lines), len(tool.levels)) + 1) * line_h + 0.2
    margin = 0.15
    # The "Overall" header is wider than a column: leave it room on the right.
    width = max(label_w + grid_w + 2 * margin + 0.15, domains_w + judge_w + 2 * margin + 0.3)
    height = header_h + grid_h + legend_h + margin

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    left = margin + label_w
    ax = fig.add_axes((left / width, (legend_h + margin) / height, grid_w / width, grid_h / height))
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0, labelsize=fontsize, top=True, labeltop=True, bottom=False, labelbottom=False)
    ax.set_xticks(range(n_cols), columns)
    ax.set_yticks(range(n_rows), labels)
    for lab in ax.get_xticklabels():
        lab.set_fontweight("bold")
    # Header of the label column, level with the domain headers (offsets in inches -> data units).
    ax.text(-0.5 - 0.12 / col_w, -0.5 - 0.05 / row_h, "Study", ha="right", va="bottom", fontsize=fontsize,
            fontweight="bold")
    # Light tiles per row and a frame around the overall column, as reviewers expect.
    for r in range(n_rows):
        ax.add_patch(Rectangle((-0.5, r - 0.5), n_cols, 1, facecolor="#F2F2F2" if r % 2 == 0 else "white",
                               edgecolor="none", zorder=0))
    ax.add_patch(Rectangle((n_cols - 1.5, -0.5), 1, n_rows, facecolor="none", edgecolor="#999999",
                           linewidth=0.8, zorder=1))
    for c, col in enumerate(columns):
        values = [a.overall if col == OVERALL else a.domains[col] for a in assessments]
        draw_rob_dots(ax, c, np.arange(n_rows), values, palette=palette, size=dot)
    if title:
        fig.text(0.5, 1 - 0.12 / height, title, ha="center", va="top", fontsize=fontsize * 1.15,
                 fontweight="bold")

    # Legend area in inches (x right, y down from its top): domain names left, judgements right.
    lax = fig.add_axes((0, margin / height, 1, (legend_h - margin) / height))
    lax.set_axis_off()
    lax.set_xlim(0, width)
    lax.set_ylim(legend_h - margin, 0)
    y0 = 0.15
    lax.text(margin, y0, "Domains:", ha="left", va="center", fontsize=legend_fs, fontweight="bold")
    for i, line in enumerate(domain_lines, start=1):
        lax.text(margin, y0 + i * line_h, line, ha="left", va="center", fontsize=legend_fs)
    jx = width - margin - judge_w
    lax.text(jx, y0, "Judgement", ha="left", va="center", fontsize=legend_fs, fontweight="bold")
    ys = y0 + np.arange(1, len(tool.levels) + 1) * line_h
    draw_rob_dots(lax, jx + 0.1, ys, list(tool.levels), palette=palette, size=legend_fs * 1.4)
    for yv, level in zip(ys, tool.levels):
        lax.text(jx + 0.28, yv, level, ha="left", va="center", fontsize=legend_fs)
    if path is not None:
        save_figure(fig, path)
    return fig


def whole_percentages(shares: Sequence[float] | np.ndarray) -> np.ndarray:
    """Whole percentages that sum to 100 (per row), by largest remainder.

    Each share is rounded down, and the points still missing go to the largest remainders
    (Hamilton's method; Balinski & Young, Fair Representation, 1982). Ties go to the later
    entry, which in a judgement scale is the one of more concern. Rounding each share on its
    own can print 13 + 50 + 25 + 13 = 101 for 1, 4, 2, 1 studies of 8.

    Parameters
    ----------
    shares
        Proportions (one row or a 2-D array of rows), each row summing to 1 (or all 0).

    Returns
    -------
    numpy.ndarray
        Integer percentages of the same shape.

    Examples
    --------
    >>> whole_percentages([1 / 8, 4 / 8, 2 / 8, 1 / 8]).tolist()
    [12, 50, 25, 13]
    """
    p = np.asarray(shares, dtype=float)
    rows = np.atleast_2d(p) * 100.0
    floor = np.floor(rows + 1e-9)
    remainder = np.round(rows - floor, 9)
    missing = np.where(rows.sum(axis=1) > 0, np.rint(100.0 - floor.sum(axis=1)), 0).astype(int)
    k = rows.shape[1]
    # Rank within each row: largest remainder first, the later column first among ties.
    order = np.lexsort((-np.broadcast_to(np.arange(k), rows.shape), -remainder), axis=-1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(k), rows.shape), axis=-1)
    out = (floor + (rank < missing[:, None])).astype(int)
    return out.reshape(p.shape)


def _spread(centres: list[float], widths: list[float], gap: float) -> list[float]:
    """Label centres on [0, 1] as close to ``centres`` as possible without overlapping."""
    order = sorted(range(len(centres)), key=lambda i: centres[i])
    xs = [0.0] * len(centres)
    edge = 0.0
    for i in order:
        xs[i] = max(centres[i], edge + widths[i] / 2)
        edge = xs[i] + widths[i] / 2 + gap
    # Pushed past the right end: push back from the right, keeping the order.
    edge = 1.0
    for i in reversed(order):
        xs[i] = min(xs[i], edge - widths[i] / 2)
        edge = xs[i] - widths[i] / 2 - gap
    return xs


@_layout.plain_warnings
def summary_plot(table: RobTable, weights: Weights | None = None, path: str | Path | None = None,
                 palette: str = "default", *, outcome: str | None = None, title: str | None = None,
                 show_percent: bool = True, fontsize: float = _FONT_SIZE) -> Figure:
    """Summary plot: per domain (and overall), a bar of the proportion of studies per judgement.

    Parameters
    ----------
    table
        The assessments.
    weights
        Study -> weight (e.g. the meta-analysis weights); ``None`` counts each study once.
    path
        Where to save (.svg, .pdf or .png).
    palette
        ``"default"`` or ``"colourblind"``.
    outcome
        The outcome, when studies were assessed for several.
    title
        Optional title.
    show_percent
        Label every segment with its percentage: inside when the segment is wide enough,
        otherwise just above the bar, boxed in the segment's colour, with a leader line to
        the segment. The percentages of a
        bar are whole numbers summing to 100 (:func:`whole_percentages`); a segment that
        rounds to 0 reads "<1%".
    fontsize
        Text size in points.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` holds the bars: one ``Rectangle`` per domain and judgement, with
        ``gid`` "<domain>|<judgement>" and width the proportion (0-1); each percentage is a
        ``Text`` with ``gid`` "pct:<domain>|<judgement>" (leader lines: "leader:...").
    """
    tool = table.tool
    props = table.counts(weights=weights, outcome=outcome)
    keys = [*tool.domain_keys, OVERALL]
    shares = props.loc[keys, list(tool.levels)].to_numpy()
    percents = whole_percentages(shares)
    names = [f"{d.name}" for d in tool.domains] + ["Overall risk of bias"]
    n = len(names)
    label_fs = fontsize * 0.85
    plot_w = 4.8
    pad_in = 0.06
    labels = [[(f"{pc}%" if pc > 0 else "<1%") if sh > 0 else "" for sh, pc in zip(srow, prow)]
              for srow, prow in zip(shares, percents)]
    text_w = [[_text_width_in([t], label_fs) for t in row] for row in labels]
    outside = [[bool(t) and (w + 2 * pad_in > sh * plot_w) for t, w, sh in zip(lrow, wrow, srow)]
               for lrow, wrow, srow in zip(labels, text_w, shares)]
    lane = 0.26 if show_percent and any(map(any, outside)) else 0.0
    bar_thick, gap = 0.30, 0.12
    bar_h = bar_thick + gap + lane
    half = bar_thick / 2 / bar_h
    label_w = _text_width_in(names, fontsize) + 0.2
    legend_h = 0.3
    header_h = 0.15 + (0.3 if title else 0.0)
    axis_h = 0.6
    margin = 0.1
    width = label_w + plot_w + 2 * margin + 0.2
    height = header_h + n * bar_h + axis_h + legend_h + margin

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes(((margin + label_w) / width, (legend_h + axis_h + margin) / height,
                       plot_w / width, n * bar_h / height))
    ax.set_xlim(0, 1)
    # The lane for outside labels sits above each bar: shift the bars down by half of it.
    shift = lane / 2 / bar_h
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_yticks([r + shift for r in range(n)], names)
    ax.get_yticklabels()[-1].set_fontweight("bold")
    ax.set_xticks(np.linspace(0, 1, 5), [f"{p}%" for p in range(0, 101, 25)])
    ax.tick_params(labelsize=fontsize, left=False)
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    ax.set_xlabel("Proportion of studies" + (" (weighted)" if weights is not None else ""),
                  fontsize=fontsize)
    for r, key in enumerate(keys):
        y = r + shift
        start = 0.0
        lane_items = []
        for j, level in enumerate(tool.levels):
            p = float(shares[r, j])
            colour = style(level, palette)[0]
            bar = Rectangle((start, y - half), p, 2 * half, facecolor=colour, edgecolor="white",
                            linewidth=0.6)
            bar.set_gid(f"{key}|{level}")
            ax.add_patch(bar)
            if show_percent and labels[r][j] and not outside[r][j]:
                t = ax.text(start + p / 2, y, labels[r][j], ha="center", va="center",
                            fontsize=label_fs, color=_ink(colour))
                t.set_gid(f"pct:{key}|{level}")
            elif show_percent and labels[r][j]:
                lane_items.append((j, start + p / 2, (text_w[r][j] + 0.04) / plot_w))
            start += p
        if lane_items:
            xs = _spread([c for _, c, _ in lane_items], [w for _, _, w in lane_items], 0.03 / plot_w)
            top = y - half
            text_y = top - 0.1 / bar_h
            for (j, centre, _), x in zip(lane_items, xs):
                level = tool.levels[j]
                colour = style(level, palette)[0]
                # Boxed in the judgement's colour: two slivers side by side stay told apart.
                t = ax.text(x, text_y, labels[r][j], ha="center", va="bottom", fontsize=label_fs,
                            color=_ink(colour), bbox={"boxstyle": "round,pad=0.15", "facecolor": colour,
                                                      "edgecolor": "#333333", "linewidth": 0.4})
                t.set_gid(f"pct:{key}|{level}")
                leader = Line2D([centre, centre, x], [top, top - 0.03 / bar_h, text_y - 0.015 / bar_h],
                                color="#555555", linewidth=0.6)
                leader.set_gid(f"leader:{key}|{level}")
                ax.add_line(leader)
    ax.axhline(n - 1.5 + shift - (lane / 2) / bar_h, color="#999999", linewidth=0.8)
    if title:
        fig.text(0.5, 1 - 0.12 / height, title, ha="center", va="top", fontsize=fontsize * 1.15,
                 fontweight="bold")
    handles = [Rectangle((0, 0), 1, 1, facecolor=style(level, palette)[0], edgecolor="#333333",
                         linewidth=0.5, label=level) for level in tool.levels]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=fontsize,
               bbox_to_anchor=((margin + label_w + plot_w / 2) / width, margin / height), handlelength=1.2,
               columnspacing=1.2)
    if path is not None:
        save_figure(fig, path)
    return fig
