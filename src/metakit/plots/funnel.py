"""Funnel plots: study effects against their standard errors.

Each study is a point at (effect, SE) with SE increasing downwards (Sterne & Egger 2001,
J Clin Epidemiol 54:1046-55). Dashed lines are the pseudo 95% confidence limits
``mu +/- 1.96 SE`` around the summary ``mu`` for SE from 0 to the largest SE; with
``contours=True`` the background is shaded where a study would be statistically
significant at p = 0.10, 0.05 and 0.01 against the null (contour-enhanced funnel plot,
Peters et al. 2008, J Clin Epidemiol 61:991-6): a study at (y, SE) lies in the region
``|y - null| > z_{1-p/2} SE``. Studies imputed by trim-and-fill are drawn hollow.
Ratio measures are drawn on a log axis.

The legend sits under the plot, in as many columns as the width holds, long names wrapped
between words, so that it neither hides a study nor leaves a blank margin. A funnel of
fewer than 10 studies is drawn with a :class:`~metakit.errors.MetakitWarning`: the
Cochrane Handbook (section 10.4.3.1) advises against judging asymmetry with so few.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, NullLocator
from scipy import special

from metakit.errors import MetakitWarning
from metakit.plots import _layout
from metakit.stats.measures import NAMES as MEASURE_NAMES

__all__ = ["funnel", "FUNNEL_COLOURS"]

FUNNEL_COLOURS = {
    "point": "#3b6aa0",
    "filled": "#3b6aa0",
    "summary": "black",
    "limits": "#555555",
    "null": "#999999",
    # contour shading, from "not significant" outwards
    "p>0.10": "white",
    "0.05<p<0.10": "#a3a3a3",
    "0.01<p<0.05": "#cccccc",
    "p<0.01": "#ededed",
}
#: Fewer studies than this: asymmetry cannot be judged (Cochrane Handbook 10.4.3.1).
MIN_STUDIES = 10
_PAD = 6.0           # points around the figure's content
_LEGEND_GAP = 4.0    # points between the axis label and the legend
_MIN_PLOT_PT = 72.0  # the smallest plot area, in points, worth drawing

_GROUP_COLOURS = ("#3b6aa0", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e",
                  "#e6ab02", "#a6761d")


def _filled_arrays(filled) -> tuple[np.ndarray, np.ndarray] | None:
    if filled is None:
        return None
    if hasattr(filled, "imputed"):  # a trim-and-fill result: only its imputed studies
        yi, vi = filled.imputed["yi"], filled.imputed["vi"]
    elif isinstance(filled, Mapping):
        yi, vi = filled["yi"], filled["vi"]
    elif hasattr(filled, "yi") and hasattr(filled, "vi"):
        yi, vi = filled.yi, filled.vi
    else:
        yi, vi = filled
    yi, vi = np.asarray(yi, float).ravel(), np.asarray(vi, float).ravel()
    if yi.shape != vi.shape:
        raise ValueError("filled studies need as many variances as estimates")
    return yi, vi


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ratio-scale ticks between ``lo`` and ``hi`` (ratios): 1-2-5 steps, or decades."""
    for mult in ((1, 2, 5), (1, 5), (1, 3), (1,)):
        out = [m * 10.0 ** e for e in range(math.floor(math.log10(lo)) - 1,
                                            math.ceil(math.log10(hi)) + 1) for m in mult]
        out = [float(f"{t:.6g}") for t in out if lo <= t <= hi]
        if 2 <= len(out) <= 7:
            return out
    return out


@_layout.plain_warnings
def funnel(result, path: str | Path | None = None, *, contours: bool = False,
           filled=None, centre: str = "primary", levels: Sequence[float] = (0.10, 0.05, 0.01),
           title: str | None = None, xlabel: str | None = None, font: str | None = None,
           font_size: float = 9.0, colours: Mapping | None = None,
           size: tuple[float, float] = (4.8, 3.9), dpi: float = 300) -> Figure:
    """Funnel plot of a fit (a :class:`~metakit.stats.pairwise.MetaResult` or the overall
    fit of a :class:`~metakit.stats.subgroups.SubgroupResult`, points coloured by subgroup).

    Parameters
    ----------
    result
        The fit.
    path
        File to write (SVG, PDF, PNG, ...; text stays text in SVG and PDF).
    contours
        Shade the regions of significance at ``levels`` against the null (Peters 2008).
    filled
        Studies imputed by trim-and-fill, drawn hollow: a
        :class:`~metakit.stats.bias.TrimFill` (its imputed studies), ``(yi, vi)`` arrays
        on the analysis scale, a mapping with ``yi`` and ``vi``, or an object with those
        attributes.
    centre
        Summary the pseudo confidence limits are centred on: ``"primary"`` (the fit's
        model), ``"common"`` or ``"random"``.
    levels
        Significance levels of the contours (two-sided p).
    title, xlabel
        Title; x-axis label (default: the measure's name, with "(log scale)" for ratios).
    font, font_size
        Font family (None: matplotlib's default) and size in points.
    colours
        Overrides of :data:`FUNNEL_COLOURS`.
    size
        Width of the figure and height of the plot in inches; the legend under the plot
        adds its own height.
    dpi
        Resolution of raster output.

    Returns
    -------
    matplotlib.figure.Figure

    Warns
    -----
    MetakitWarning
        When fewer than 10 studies are plotted (Cochrane Handbook 10.4.3.1: tests for funnel
        plot asymmetry should be used only with at least 10 studies, and below that the
        plot cannot tell chance from asymmetry).

    Examples
    --------
    >>> import pandas as pd, metakit as mk
    >>> df = pd.DataFrame({"study": list("ABCDEFGHIJ"), "e_t": [4, 6, 3, 62, 33, 180, 8, 50, 29, 17],
    ...                    "n_t": [123, 306, 231, 1360, 506, 1541, 254, 880, 750, 170],
    ...                    "e_c": [11, 29, 11, 248, 47, 372, 10, 49, 45, 65],
    ...                    "n_c": [139, 303, 220, 1287, 580, 1451, 63, 880, 727, 166]})
    >>> fig = funnel(mk.meta(mk.effect_sizes(df, "OR"), tau2_method="DL"), contours=True)
    >>> fig.axes[0].get_xscale(), bool(fig.axes[0].yaxis_inverted())
    ('log', True)
    """
    col = dict(FUNNEL_COLOURS, **(colours or {}))
    groups = None
    fit = result
    if hasattr(result, "subgroups"):
        fit = result.overall
        groups = fit.effects.data[result.by].astype(str).to_numpy()
    if centre not in ("primary", "common", "random"):
        raise ValueError(f"centre must be 'primary', 'common' or 'random', got {centre!r}")
    mu = fit.estimate if centre == "primary" else getattr(fit, centre).estimate
    yi, se = np.asarray(fit.yi, float), np.sqrt(np.asarray(fit.vi, float))
    fill = _filled_arrays(filled)
    all_y, all_se = yi, se
    if fill is not None:
        all_y, all_se = np.r_[yi, fill[0]], np.r_[se, np.sqrt(fill[1])]
    ok = np.isfinite(all_y) & np.isfinite(all_se)
    k = int(np.sum(np.isfinite(yi) & np.isfinite(se)))
    if k < MIN_STUDIES:
        warnings.warn(f"funnel plot of {k} {'study' if k == 1 else 'studies'}: with fewer than "
                      f"{MIN_STUDIES}, asymmetry cannot be told from chance (Cochrane Handbook "
                      "10.4.3.1); read it with caution and do not test it", MetakitWarning,
                      stacklevel=3)
    se_max = float(np.max(all_se[ok])) * 1.08 if ok.any() else 1.0
    ratio = bool(fit.is_ratio)
    f = np.exp if ratio else (lambda v: np.asarray(v, float))
    z95 = special.ndtri(0.975)
    span = np.r_[all_y[ok], mu - z95 * se_max, mu + z95 * se_max]
    if contours:
        # Show the significance funnel around the null as well as the pseudo-CI funnel.
        span = np.r_[span, -z95 * se_max, z95 * se_max]
    lo, hi = float(span.min()), float(span.max())
    pad = 0.06 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad

    prop = _layout.font(font, font_size)
    fig = _layout.new_figure(size[0] * 72, size[1] * 72, dpi=dpi)
    ax = fig.add_axes((0.15, 0.15, 0.8, 0.75), gid="funnel")
    if ratio:
        ax.set_xscale("log")
    grid = np.linspace(0.0, se_max, 200)
    handles = []
    if contours:
        null = 0.0
        ax.set_facecolor(col["p<0.01"])
        lv = sorted(levels)  # e.g. 0.01, 0.05, 0.10: the widest region is drawn first
        names = {0.01: "0.01<p<0.05", 0.05: "0.05<p<0.10", 0.10: "p>0.10"}
        bands = [Patch(facecolor=col["p<0.01"], edgecolor="#bbbbbb", label=f"p < {lv[0]:.2f}")]
        for i, p in enumerate(lv):
            z = special.ndtri(1 - p / 2)
            colour = col.get(names.get(round(p, 4), ""), col["0.01<p<0.05"])
            ax.fill_betweenx(grid, f(null - z * grid), f(null + z * grid), color=colour, lw=0,
                             zorder=0, gid=f"contour:{p:g}")
            upper = lv[i + 1] if i + 1 < len(lv) else None
            label = f"{p:.2f} < p < {upper:.2f}" if upper is not None else f"p > {p:.2f}"
            bands.append(Patch(facecolor=colour, edgecolor="#bbbbbb", label=label))
        handles += bands[::-1]
    ax.plot(f(mu - z95 * grid), grid, ls="--", lw=0.8, color=col["limits"], zorder=2,
            gid="pseudo-ci-left")
    ax.plot(f(mu + z95 * grid), grid, ls="--", lw=0.8, color=col["limits"], zorder=2,
            gid="pseudo-ci-right")
    ax.plot([f(mu), f(mu)], [0, se_max], lw=0.9, color=col["summary"], zorder=2, gid="summary")
    handles += [Line2D([], [], color=col["summary"], lw=0.9, label="Summary estimate"),
                Line2D([], [], color=col["limits"], lw=0.8, ls="--", label="Pseudo 95% CI")]
    if groups is None:
        ax.scatter(f(yi), se, s=22, color=col["point"], edgecolors="white", linewidths=0.4,
                   zorder=3, gid="studies")
    else:
        for j, g in enumerate(result.groups):
            sel = groups == g
            c = _GROUP_COLOURS[j % len(_GROUP_COLOURS)]
            ax.scatter(f(yi[sel]), se[sel], s=22, color=c, edgecolors="white", linewidths=0.4,
                       zorder=3, gid=f"studies:{g}")
            handles.append(Line2D([], [], marker="o", ls="none", color=c, label=str(g)))
    if fill is not None:
        ax.scatter(f(fill[0]), np.sqrt(fill[1]), s=22, facecolors="white",
                   edgecolors=col["filled"], linewidths=0.9, zorder=3, gid="filled")
        handles.append(Line2D([], [], marker="o", ls="none", markerfacecolor="white",
                              markeredgecolor=col["filled"], label="Imputed (trim and fill)"))
    ax.set_xlim(float(f(lo)), float(f(hi)))
    ax.set_ylim(se_max, 0)
    if ratio:
        tk = log_ticks(float(f(lo)), float(f(hi)))
        ax.xaxis.set_major_locator(FixedLocator(tk))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([_layout.tick_label(math.log(t), True) for t in tk])
    name = MEASURE_NAMES.get(fit.measure, fit.measure)
    ax.set_xlabel(xlabel or (f"{name} (log scale)" if ratio else name), fontproperties=prop)
    ax.set_ylabel("Standard error", fontproperties=prop)
    for lab in ax.get_xticklabels() + ax.get_yticklabels():
        lab.set_fontproperties(prop)
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    if title:
        title_prop = _layout.font(font, font_size * 1.1, weight="bold")
        # Aligned with the axes, right of the tick labels: wrapped to 80% of the width.
        ax.set_title(_wrap(title, title_prop, 0.8 * size[0] * 72), fontproperties=title_prop,
                     loc="left")
    legend_prop = _layout.font(font, font_size * 0.85)
    legend = _legend(fig, handles, legend_prop, size[0] * 72)
    _place(fig, ax, legend, size[0] * 72, size[1] * 72)
    if path is not None:
        _layout.save(fig, path, dpi=dpi)
    return fig


def _wrap(text: str, prop, width_pt: float) -> str:
    """``text`` wrapped between words to lines no wider than ``width_pt``."""
    w = _layout.text_width(text, prop)
    if w <= width_pt:
        return text
    chars = max(12, int(len(text) * width_pt / w) - 1)
    return "\n".join(textwrap.wrap(text, chars, break_long_words=True))


def _legend(fig: Figure, handles: list, prop, width_pt: float):
    """The legend under the plot: as many columns as the width holds, long labels wrapped."""
    fs = prop.get_size_in_points()
    # Legend geometry in font sizes (matplotlib's defaults): handle 2.0, gap 0.8, columns 2.0.
    entry_extra, spacing = (2.0 + 0.8) * fs, 2.0 * fs
    avail = width_pt - 2 * _PAD - 2 * 0.5 * fs
    most = avail - entry_extra
    for h in handles:
        h.set_label(_wrap(h.get_label(), prop, most))
    widths = [max(_layout.text_width(line, prop) for line in h.get_label().split("\n")) + entry_extra
              for h in handles]
    ncol = 1
    for cols in range(len(handles), 0, -1):
        rows = -(-len(handles) // cols)
        # matplotlib fills the legend column by column.
        total = sum(max(widths[c * rows:(c + 1) * rows], default=0.0) for c in range(cols))
        if total + spacing * (cols - 1) <= avail:
            ncol = cols
            break
    # the estimate above can be short of what matplotlib draws: measure, and use fewer
    # columns until the legend fits the figure's width
    renderer = fig.canvas.get_renderer()
    while True:
        legend = fig.legend(handles=handles, loc="lower center", ncol=ncol, prop=prop,
                            frameon=False, borderaxespad=0.0)
        drawn = legend.get_window_extent(renderer).width * 72 / fig.dpi
        if drawn <= width_pt - 2 * _PAD or ncol == 1:
            return legend
        legend.remove()
        ncol -= 1


def _place(fig: Figure, ax, legend, width_pt: float, plot_h_pt: float) -> None:
    """Size the figure to the plot and the legend, and fit the axes' decorations inside.

    The axes' labels and ticks are measured with the renderer and the axes placed so that
    they sit ``_PAD`` points inside the figure (no layout engine, so no layout warnings).
    """
    dpi = fig.dpi
    renderer = fig.canvas.get_renderer()
    legend_h = legend.get_window_extent(renderer).height * 72 / dpi
    height = plot_h_pt + legend_h + _LEGEND_GAP
    fig.set_size_inches(width_pt / 72, height / 72)
    legend.set_bbox_to_anchor((0.5, _PAD / height), transform=fig.transFigure)
    bottom_of_plot = _PAD + legend_h + _LEGEND_GAP
    for _ in range(2):  # tick labels change a little with the axes' size: measure twice
        renderer = fig.canvas.get_renderer()
        box = ax.get_window_extent(renderer)
        tight = ax.get_tightbbox(renderer)
        left = (box.x0 - tight.x0) * 72 / dpi
        right = (tight.x1 - box.x1) * 72 / dpi
        below = (box.y0 - tight.y0) * 72 / dpi
        above = (tight.y1 - box.y1) * 72 / dpi
        x0, x1 = _PAD + left, width_pt - _PAD - right
        y0, y1 = bottom_of_plot + below, height - _PAD - above
        if x1 - x0 < _MIN_PLOT_PT or y1 - y0 < _MIN_PLOT_PT:
            need_w = (left + right + 2 * _PAD + _MIN_PLOT_PT) / 72
            need_h = (below + above + 2 * _PAD + _MIN_PLOT_PT) / 72
            raise ValueError(f"size {width_pt / 72:g} x {plot_h_pt / 72:g} in leaves no room for the plot "
                             f"inside its labels: use at least {need_w:.1f} x {need_h:.1f} in")
        ax.set_position((x0 / width_pt, y0 / height, (x1 - x0) / width_pt, (y1 - y0) / height))
