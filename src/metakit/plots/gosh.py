"""GOSH plots: I² against the summary estimate of every subset of the studies.

Olkin, Dahabreh & Trikalinos (2012, Res Synth Methods 3:214-23): one point per subset
(:func:`metakit.stats.gosh.gosh`), the estimate on the x axis and I² on the y axis, with
the marginal distributions of both above and beside the plot (as metafor's
``plot.gosh``). Up to ``max_points`` subsets are drawn as translucent points; more are
drawn as a hexagonal-bin density (log counts), which keeps a million subsets legible.
``highlight=`` a study colours the subsets that hold it apart from those that do not:
a study behind a separate cluster shows as its own colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from metakit.plots import _layout

__all__ = ["gosh", "GOSH_COLOURS"]

GOSH_COLOURS = {"point": "#3b6aa0", "with": "#d95f02", "without": "#3b6aa0",
                "hist": "#9fb6d1", "density": "Blues"}


@_layout.plain_warnings
def gosh(values, path: str | Path | None = None, *, highlight: str | int | None = None,
         max_points: int = 20000, xlabel: str = "Summary estimate", title: str | None = None,
         font: str | None = None, font_size: float = 8.0, colours: Mapping | None = None,
         size: tuple[float, float] = (5.0, 4.6), dpi: float = 300) -> Figure:
    """Draw a GOSH plot.

    Parameters
    ----------
    values
        A :class:`~metakit.stats.gosh.Gosh` (``result.gosh()``).
    path
        File to write (SVG, PDF, PNG, ...).
    highlight
        A study (label or 0-based index): subsets with it in one colour, without it in
        another (points, or two density layers' contours), histograms split likewise.
    max_points
        Above this many subsets the main panel is a hexbin density.
    xlabel, title, font, font_size, colours, size, dpi
        Labels; font; overrides of :data:`GOSH_COLOURS`; size in inches; resolution.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from metakit.stats.gosh import gosh as fit_all
    >>> from metakit.stats.kernel import Settings
    >>> g = fit_all([0.1, 0.3, 0.35, 0.9, 0.2], [0.01, 0.02, 0.015, 0.03, 0.02], Settings())
    >>> fig = gosh(g, highlight=3)
    >>> [c.get_gid() for c in fig.axes[0].collections]
    ['without:3', 'with:3']
    """
    col = dict(GOSH_COLOURS, **(colours or {}))
    est, i2 = np.asarray(values.estimate, float), np.asarray(values.I2, float)
    study = list(values.study)
    sel = None
    tag = name_j = ""
    if highlight is not None:
        j = highlight if isinstance(highlight, (int, np.integer)) else (
            study.index(str(highlight)) if str(highlight) in study else None)
        if j is None or not 0 <= j < len(study):
            raise ValueError(f"highlight: no study {highlight!r} among {len(study)} studies")
        sel = np.asarray(values.incl[:, j], bool)
        name_j = study[j]
        tag = f":{j}"
    prop = _layout.font(font, font_size)
    fig = _layout.new_figure(size[0] * 72, size[1] * 72, dpi=dpi)
    ax = fig.add_axes((0.13, 0.11, 0.62, 0.62), gid="gosh")
    top = fig.add_axes((0.13, 0.75, 0.62, 0.14), sharex=ax, gid="gosh:estimate")
    side = fig.add_axes((0.77, 0.11, 0.18, 0.62), sharey=ax, gid="gosh:I2")
    ok = np.isfinite(est) & np.isfinite(i2)
    dense = int(ok.sum()) > max_points
    groups = ([("all", ok, col["point"])] if sel is None else
              [("without", ok & ~sel, col["without"]), ("with", ok & sel, col["with"])])
    alpha = float(np.clip(200.0 / max(1, ok.sum()) ** 0.5, 0.05, 0.8))
    for name, m, colour in groups:
        gid = name + tag
        if dense and sel is None:
            ax.hexbin(est[m], i2[m], gridsize=60, bins="log", cmap=col["density"], mincnt=1,
                      linewidths=0, gid=gid)
        elif dense:
            ax.hexbin(est[m], i2[m], gridsize=60, bins="log", mincnt=1, linewidths=0,
                      cmap=_single_colour_map(colour), alpha=0.6, gid=gid)
        else:
            ax.scatter(est[m], i2[m], s=6, color=colour, alpha=alpha, linewidths=0, gid=gid)
        bins_x = np.histogram_bin_edges(est[ok], bins=40)
        bins_y = np.histogram_bin_edges(i2[ok], bins=40)
        hist_colour = col["hist"] if sel is None else colour
        top.hist(est[m], bins=bins_x, color=hist_colour, alpha=0.7 if sel is not None else 1.0,
                 gid=f"hist-estimate:{gid}")
        side.hist(i2[m], bins=bins_y, orientation="horizontal", color=hist_colour,
                  alpha=0.7 if sel is not None else 1.0, gid=f"hist-I2:{gid}")
    ax.set_xlabel(xlabel, fontproperties=prop)
    ax.set_ylabel("I² (%)", fontproperties=prop)
    for a in (top, side):
        a.tick_params(labelbottom=False, labelleft=False, left=False, bottom=False)
        for s in ("right", "top", "left", "bottom"):
            a.spines[s].set_visible(False)
    for lab in ax.get_xticklabels() + ax.get_yticklabels():
        lab.set_fontproperties(prop)
    for s in ("right", "top"):
        ax.spines[s].set_visible(False)
    if sel is not None:
        from matplotlib.lines import Line2D
        handles = [Line2D([], [], marker="o", ls="none", color=col["with"], label="with"),
                   Line2D([], [], marker="o", ls="none", color=col["without"], label="without")]
        # the empty corner right of the estimate histogram, clear of every point
        fig.legend(handles=handles, prop=prop, frameon=False, loc="center",
                   bbox_to_anchor=(0.86, 0.82))
    heading = title or (f"GOSH: {values.n:,} subsets of {len(study)} studies"
                        + ("" if values.exhaustive else " (random sample)")
                        + (f"\nhighlighted: {name_j}" if sel is not None else ""))
    fig.text(0.13, 0.975, heading, fontproperties=_layout.font(font, font_size * 1.1,
                                                               weight="bold"),
             va="top", ha="left", gid="title")
    if path is not None:
        _layout.save(fig, path, dpi=dpi)
    return fig


def _single_colour_map(colour: str):
    from matplotlib.colors import LinearSegmentedColormap
    return LinearSegmentedColormap.from_list("one", ["#ffffff", colour])
