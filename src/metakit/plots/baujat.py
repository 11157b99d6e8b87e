"""Baujat plots: each study's contribution to heterogeneity against its influence.

Baujat et al. (2002, Stat Med 21:2641-52): x is the study's contribution to Cochran's Q,
w_i (y_i - mu)², y the standardised squared change of the summary estimate when the study
is left out; studies in the upper right both drive heterogeneity and move the result.
The coordinates are metafor's ``baujat()`` values
(:func:`metakit.stats.sensitivity.baujat`); every point is labelled with its study.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from metakit.plots import _layout

__all__ = ["baujat", "BAUJAT_COLOURS"]

BAUJAT_COLOURS = {"point": "#3b6aa0", "label": "#222222", "highlight": "#d95f02"}


@_layout.plain_warnings
def baujat(values, path: str | Path | None = None, *, label: str | int | None = "all",
           title: str | None = None, font: str | None = None, font_size: float = 8.0,
           colours: Mapping | None = None, size: tuple[float, float] = (4.8, 4.2),
           dpi: float = 300) -> Figure:
    """Draw a Baujat plot.

    Parameters
    ----------
    values
        A :class:`~metakit.stats.sensitivity.Baujat` (``result.baujat()``), or a fitted
        result with a ``baujat()`` method.
    path
        File to write (SVG, PDF, PNG, ...).
    label
        ``"all"`` (every study), an integer ``n`` (the ``n`` studies farthest from the
        origin, in units of each axis' range) or None (no labels).
    title, font, font_size, colours, size, dpi
        Title; font family and size (points); overrides of :data:`BAUJAT_COLOURS`;
        width and height in inches; raster resolution.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from metakit.stats.sensitivity import baujat as values
    >>> from metakit.stats.kernel import Settings
    >>> b = values([0.1, 0.3, 0.35, 0.9], [0.01, 0.02, 0.015, 0.03], Settings(model="common"),
    ...            study=["A", "B", "C", "D"])
    >>> fig = baujat(b)
    >>> sorted(t.get_text() for t in fig.axes[0].texts)
    ['A', 'B', 'C', 'D']
    """
    if not hasattr(values, "x"):
        values = values.baujat()
    col = dict(BAUJAT_COLOURS, **(colours or {}))
    x, y = np.asarray(values.x, float), np.asarray(values.y, float)
    study = list(values.study)
    prop = _layout.font(font, font_size)
    fig = _layout.new_figure(size[0] * 72, size[1] * 72, dpi=dpi)
    ax = fig.add_axes((0.14, 0.12, 0.82, 0.8), gid="baujat")
    ax.scatter(x, y, s=20, color=col["point"], edgecolors="white", linewidths=0.4, zorder=3,
               gid="studies")
    xr = float(np.nanmax(x)) or 1.0
    yr = float(np.nanmax(y)) or 1.0
    ax.set_xlim(-0.04 * xr, 1.12 * xr)
    ax.set_ylim(-0.04 * yr, 1.12 * yr)
    if label is not None:
        dist = np.hypot(x / xr, y / yr)
        if label == "all":
            chosen = np.arange(x.size)
        elif isinstance(label, int) and not isinstance(label, bool):
            chosen = np.argsort(-dist, kind="stable")[:max(0, label)]
        else:
            raise ValueError(f"label must be 'all', an integer or None, got {label!r}")
        _place_labels(ax, x, y, [int(i) for i in chosen], study, prop, col["label"])
    ax.set_xlabel("Contribution to overall heterogeneity (Q)", fontproperties=prop)
    ax.set_ylabel("Influence on the overall result", fontproperties=prop)
    for lab in ax.get_xticklabels() + ax.get_yticklabels():
        lab.set_fontproperties(prop)
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontproperties=_layout.font(font, font_size * 1.15, weight="bold"),
                     loc="left")
    if path is not None:
        _layout.save(fig, path, dpi=dpi)
    return fig


#: candidate label offsets (points) from a point, nearest first; from the third ring on
#: a thin leader line joins label and point
_OFFSETS = tuple((dx, sy * r, ha, "bottom" if sy > 0 else "top")
                 for r in (2, 8, 14, 20)
                 for dx, ha in ((4, "left"), (-4, "right"))
                 for sy in (1, -1))


def _place_labels(ax, x, y, chosen, study, prop, colour) -> None:
    """Label points, each at the first candidate offset whose box overlaps no earlier label,
    no other point and stays inside the axes (the least overlapping one otherwise)."""
    fig = ax.figure
    to_pt = 72.0 / fig.dpi
    pts = ax.transData.transform(np.column_stack([x, y])) * to_pt
    box = ax.get_window_extent()
    frame = (box.x0 * to_pt, box.y0 * to_pt, box.x1 * to_pt, box.y1 * to_pt)
    height = prop.get_size_in_points() * 1.15
    placed: list[tuple[float, float, float, float]] = []
    for i in sorted(chosen, key=lambda j: -y[j]):
        w = _layout.text_width(study[i], prop)
        best, best_cost = _OFFSETS[0], np.inf
        for dx, dy, ha, va in _OFFSETS:
            x0 = pts[i, 0] + dx - {"left": 0.0, "right": w, "center": w / 2}[ha]
            y0 = pts[i, 1] + dy - (0.0 if va == "bottom" else height)
            rect = (x0, y0, x0 + w, y0 + height)
            cost = sum(_overlap(rect, r) for r in placed)
            # covering another study's point is worse than touching a label
            cost += 4.0 * sum(_overlap(rect, (px - 4.5, py - 4.5, px + 4.5, py + 4.5))
                              for j, (px, py) in enumerate(pts) if j != i)
            outside = (max(0.0, frame[0] - rect[0]) + max(0.0, rect[2] - frame[2])
                       + max(0.0, frame[1] - rect[1]) + max(0.0, rect[3] - frame[3]))
            cost += outside * height * 4
            if cost < best_cost:
                best, best_cost = (dx, dy, ha, va), cost
                best_rect = rect
            if cost == 0:
                break
        placed.append(best_rect)
        dx, dy, ha, va = best
        leader = {"arrowstyle": "-", "lw": 0.4, "color": "#999999",
                  "shrinkA": 0, "shrinkB": 2} if abs(dy) > 10 else None
        ax.annotate(study[i], (x[i], y[i]), xytext=(dx, dy), textcoords="offset points",
                    ha=ha, va=va, fontproperties=prop, color=colour, zorder=4,
                    arrowprops=leader, gid=f"label:{i}")


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0
