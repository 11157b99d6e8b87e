"""Funnel plots: study effects against their standard errors.

Each study is a point at (effect, SE) with SE increasing downwards (Sterne & Egger 2001,
J Clin Epidemiol 54:1046-55). Dashed lines are the pseudo 95% confidence limits
``mu +/- 1.96 SE`` around the summary ``mu`` for SE from 0 to the largest SE; with
``contours=True`` the background is shaded where a study would be statistically
significant at p = 0.10, 0.05 and 0.01 against the null (contour-enhanced funnel plot,
Peters et al. 2008, J Clin Epidemiol 61:991-6): a study at (y, SE) lies in the region
``|y - null| > z_{1-p/2} SE``. Studies imputed by trim-and-fill are drawn hollow.
Ratio measures are drawn on a log axis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, NullLocator
from scipy import special

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
_GROUP_COLOURS = ("#3b6aa0", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e",
                  "#e6ab02", "#a6761d")


def _filled_arrays(filled) -> tuple[np.ndarray, np.ndarray] | None:
    if filled is None:
        return None
    if isinstance(filled, Mapping):
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
        Studies imputed by trim-and-fill, drawn hollow: ``(yi, vi)`` arrays on the
        analysis scale, a mapping with ``yi`` and ``vi``, or an object with those attributes.
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
        Figure width and height in inches.
    dpi
        Resolution of raster output.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd, metakit as mk
    >>> df = pd.DataFrame({"study": ["A", "B", "C"], "e_t": [4, 6, 3], "n_t": [123, 306, 231],
    ...                    "e_c": [11, 29, 11], "n_c": [139, 303, 220]})
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
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot(gid="funnel")
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
    if handles:  # always: at least the summary line and the pseudo-CI
        # Outside the axes, so that it never hides a study.
        fig.legend(handles=handles, loc="outside right upper",
                   prop=_layout.font(font, font_size * 0.85), frameon=False)
    if title:
        ax.set_title(title, fontproperties=_layout.font(font, font_size * 1.1, weight="bold"),
                     loc="left")
    if path is not None:
        _layout.save(fig, path, dpi=dpi)
    return fig
