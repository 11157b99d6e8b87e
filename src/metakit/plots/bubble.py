"""Bubble plots of a meta-regression: study effects against a moderator.

Each study is a circle at (moderator value, effect) whose *area* is proportional to its
weight in the fitted model, w_i = 1/(v_i + tau²) (1/v_i for a common-effect model), as
in Thompson & Higgins (2002, Stat Med 21:1559-73, figure 1) and metafor's ``regplot``
(circle radius proportional to the square root of the weight). Effects are drawn on the
analysis scale (log for ratio measures), with the tick labels of a ratio measure
back-transformed (0.5, 1, 2, ...) as on the forest and funnel plots.

The regression line and its confidence band (and, on request, the prediction interval)
come from :meth:`~metakit.stats.regression.MetaRegResult.predict` on a grid of the
plotted moderator from its smallest to its largest observed value (no extrapolation).
**Other moderators are held fixed**: a continuous one at its (unweighted) mean over the
studies in the model, as metafor's ``regplot``; a categorical one at its reference level
(the first level: the first category of a pandas categorical, otherwise the smallest
value, which is the level formulaic leaves out of the treatment contrasts). metafor holds
dummy variables at their means instead, which draws a line for no real group of studies;
here the line is the one of the reference group, named in the panel.

A categorical moderator is drawn as groups of circles side by side, one column per
level, with the group's prediction (line) and its confidence interval (shaded) across
the column. Inside a column the heaviest study sits in the middle and lighter ones
alternate right and left of it (a deterministic spread, not random jitter).

Study labels (``labels=True``) never overlap: they are placed in order of decreasing
weight, among sixteen positions around its circle (right, left, above, below, then the
diagonals; the same eight again half a line further out). A position must stay inside
the axes and overlap no label already placed and no circle; of those, the one crossing
the least of the fitted line (and, less, of the PI lines) wins, the first in that order
on ties. If none is free of circles, a label may cover a circle's rim but never the inner
half of a circle (so that it never sits on another study's centre and reads as its label).
Failing all, the label is left out, with a :class:`~metakit.errors.MetakitWarning` naming it.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, NullLocator

from metakit.errors import MetakitWarning
from metakit.plots import _layout
from metakit.plots.funnel import log_ticks
from metakit.stats.measures import NAMES as MEASURE_NAMES

__all__ = ["bubble", "BUBBLE_COLOURS", "moderators"]

BUBBLE_COLOURS = {
    "point": "#3b6aa0",
    "edge": "#1f3f66",
    "line": "black",
    "ci": "#9ab3d1",
    "pi": "#555555",
    "null": "#999999",
}
_GAP = 1.5  # points between a circle and its label
_LABEL_POSITIONS = (  # unit direction, horizontal and vertical alignment of the text
    ((1.0, 0.0), "left", "center"), ((-1.0, 0.0), "right", "center"),
    ((0.0, 1.0), "center", "bottom"), ((0.0, -1.0), "center", "top"),
    ((0.71, 0.71), "left", "bottom"), ((0.71, -0.71), "left", "top"),
    ((-0.71, 0.71), "right", "bottom"), ((-0.71, -0.71), "right", "top"),
)


def moderators(result) -> dict[str, str]:
    """The moderators of a meta-regression and their kind, in formula order.

    A moderator is ``"categorical"`` when the formula wraps it in ``C()`` or its column
    is not numeric (text, boolean, pandas categorical), else ``"continuous"``. A model
    given as a design matrix has one continuous moderator per column but the intercept.

    Examples
    --------
    >>> import pandas as pd, metakit as mk
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.6, 0.5], "vi": [0.05] * 5,
    ...                   "dose": [1, 2, 3, 4, 5], "arm": list("aabbb")})
    >>> moderators(mk.metareg(yi=d.yi, vi=d.vi, data=d, mods="~ dose + C(arm)"))
    {'dose': 'continuous', 'arm': 'categorical'}
    """
    if result.formula is None:
        return {n: "continuous" for n in result.names if n != "intrcpt"}
    import formulaic

    names = formulaic.Formula(result.formula).required_variables
    text = result.formula
    order = sorted(names, key=lambda n: (m.start() if (m := re.search(rf"\b{re.escape(n)}\b", text))
                                         else len(text), n))
    out = {}
    for n in order:
        col = result.data[n]
        wrapped = re.search(rf"\bC\(\s*{re.escape(n)}\b", text) is not None
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        out[n] = "categorical" if wrapped or not numeric else "continuous"
    return out


def _levels(col: pd.Series) -> list:
    """Levels in formulaic's order: categories of a categorical, else sorted values."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        present = set(col.dropna())
        return [c for c in col.cat.categories if c in present]
    return sorted(col.dropna().unique().tolist())


def _held_values(result, kinds: Mapping[str, str]) -> dict:
    """Values at which the moderators not plotted are held (see the module docstring)."""
    if result.formula is None:
        return {n: float(result.X[:, i].mean()) for i, n in enumerate(result.names)
                if n != "intrcpt"}
    return {n: (_levels(result.data[n])[0] if kind == "categorical"
                else float(pd.to_numeric(result.data[n]).mean()))
            for n, kind in kinds.items()}


def _predict(result, moderator: str, values: Sequence, held: Mapping) -> pd.DataFrame:
    """Predictions with ``moderator`` at ``values`` and the others at ``held``."""
    n = len(values)
    if result.formula is None:
        rows = np.tile([1.0 if c == "intrcpt" else held[c] for c in result.names], (n, 1))
        rows[:, result.names.index(moderator)] = np.asarray(values, float)
        return result.predict(rows)
    frame = pd.DataFrame({c: [v] * n for c, v in held.items() if c != moderator})
    frame[moderator] = list(values)
    return result.predict(frame)


def _moderator_values(result, moderator: str) -> pd.Series:
    if result.formula is None:
        return pd.Series(result.X[:, result.names.index(moderator)])
    return result.data[moderator].reset_index(drop=True)


def _spread(group_weights: np.ndarray, step: float) -> np.ndarray:
    """Offsets inside a column: heaviest in the middle, then alternately right and left."""
    order = np.argsort(-group_weights, kind="stable")
    rank = np.arange(len(order))
    slot = np.where(rank % 2 == 1, (rank + 1) // 2, -(rank // 2)).astype(float)
    out = np.empty(len(order))
    out[order] = slot * step
    return out


def _panel_data(result, moderator: str, kind: str, held: Mapping, n_grid: int) -> dict:
    """Everything one panel draws, in data coordinates (x, y on the analysis scale)."""
    col = _moderator_values(result, moderator)
    yi = np.asarray(result.yi, float)
    w = 1.0 / (np.asarray(result.vi, float) + result.tau2)
    if kind == "continuous":
        x = pd.to_numeric(col).to_numpy(float)
        grid = np.linspace(x.min(), x.max(), n_grid)
        return {"kind": kind, "x": x, "y": yi, "w": w, "grid": grid,
                "pred": _predict(result, moderator, grid, held)}
    levels = _levels(col)
    pos = np.array([levels.index(v) for v in col], dtype=float)
    counts = np.bincount(pos.astype(int), minlength=len(levels))
    step = min(0.12, 0.7 / max(1, counts.max() - 1))
    x = pos.copy()
    for g in range(len(levels)):
        sel = pos == g
        x[sel] += _spread(w[sel], step)
    return {"kind": kind, "x": x, "y": yi, "w": w, "levels": levels,
            "half": max(0.3, min(0.45, step * (counts.max() - 1) / 2 + 0.12)),
            "pred": _predict(result, moderator, levels, held)}


def _label_texts(result, labels) -> list[str] | None:
    if labels is False or labels is None:
        return None
    if labels is True:
        return list(result.study)
    if isinstance(labels, str):
        if result.data is None or labels not in result.data.columns:
            raise ValueError(f"labels: no column {labels!r} in the model's data")
        return result.data[labels].astype(str).tolist()
    out = [str(s) for s in labels]
    if len(out) != result.k:
        raise ValueError(f"labels: {len(out)} given for {result.k} studies")
    return out


def bubble(result, moderator: str | Sequence[str] | None = None,
           path: str | Path | None = None, *, pi: bool = False,
           labels: bool | str | Sequence[str] = False, ratio_axis: bool | None = None,
           null_line: bool = True, ncols: int | None = None, max_area: float = 260.0,
           moderator_labels: Mapping[str, str] | None = None, ylabel: str | None = None,
           title: str | None = None, font: str | None = None, font_size: float = 9.0,
           colours: Mapping | None = None, panel_size: tuple[float, float] = (3.6, 3.0),
           grid_points: int = 101, dpi: float = 300) -> Figure:
    """Bubble plot of a meta-regression: one panel per moderator.

    Parameters
    ----------
    result
        A :class:`~metakit.stats.regression.MetaRegResult`.
    moderator
        The moderator to plot (a variable of the formula, or a column name of the design
        matrix), several of them, or None for every moderator, one panel each in a grid.
    path
        File to write (SVG, PDF, PNG, ... by extension; text stays text in SVG and PDF).
    pi
        Draw the prediction interval (dashed) around the line.
    labels
        True for the study labels, the name of a column of the model's data, or one
        label per study; placed without overlap (see the module docstring).
    ratio_axis
        Label the effect axis with back-transformed ratios; default: the measure is a
        ratio (OR, RR, ROM, ...).
    null_line
        Draw the line of no effect where it falls inside the axis.
    ncols
        Panels per row (default: all in one row up to 3, else the ceiling of the square
        root of their number).
    max_area
        Area, in square points, of the circle of the heaviest study.
    moderator_labels
        Axis titles of the moderators (default: their names).
    ylabel, title
        Effect-axis title (default: the measure's name, "(log scale)" for ratios);
        figure title.
    font, font_size
        Font family (None: matplotlib's default) and size in points.
    colours
        Overrides of :data:`BUBBLE_COLOURS`.
    panel_size
        Width and height of one panel in inches.
    grid_points
        Number of moderator values at which the line and bands are evaluated.
    dpi
        Resolution of raster output.

    Returns
    -------
    matplotlib.figure.Figure
        Axes ``gid="bubble:<moderator>"``; in each, the circles (``gid="studies"``), the
        line (``"fit"``), the CI band (``"ci"``), the PI lines (``"pi-lb"``, ``"pi-ub"``);
        for a categorical moderator ``"fit:<level>"``, ``"ci:<level>"``, ...; labels are
        texts with ``gid="label:<study>"``.

    Examples
    --------
    >>> import pandas as pd, metakit as mk
    >>> d = pd.DataFrame({"yi": [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79],
    ...                   "vi": [0.33, 0.19, 0.42, 0.02, 0.05, 0.007],
    ...                   "ablat": [44, 55, 42, 52, 13, 44], "alloc": list("rrrras")})
    >>> fit = mk.metareg(yi=d.yi, vi=d.vi, data=d, mods="~ ablat + C(alloc)", tau2_method="DL")
    >>> fig = bubble(fit)
    >>> [ax.get_gid() for ax in fig.axes]
    ['bubble:ablat', 'bubble:alloc']
    """
    col = dict(BUBBLE_COLOURS, **(colours or {}))
    kinds = moderators(result)
    if not kinds:
        raise ValueError("the model has no moderators to plot")
    wanted = list(kinds) if moderator is None else (
        [moderator] if isinstance(moderator, str) else list(moderator))
    for m in wanted:
        if m not in kinds:
            raise ValueError(f"{m!r} is not a moderator of the model; its moderators are "
                             + ", ".join(kinds))
    held = _held_values(result, kinds)
    panels = [(m, _panel_data(result, m, kinds[m], held, grid_points)) for m in wanted]
    ratio = bool(result.is_ratio) if ratio_axis is None else bool(ratio_axis)
    names = dict(moderator_labels or {})

    n = len(panels)
    nc = ncols or (n if n <= 3 else math.ceil(math.sqrt(n)))
    nr = math.ceil(n / nc)
    prop = _layout.font(font, font_size)
    small = _layout.font(font, font_size * 0.8)
    fig = _layout.new_figure(panel_size[0] * 72 * nc, panel_size[1] * 72 * nr + 28, dpi=dpi)
    fig.set_layout_engine("constrained")
    grid = fig.add_gridspec(nr, nc)
    axes = [fig.add_subplot(grid[i // nc, i % nc], gid=f"bubble:{m}") for i, (m, _) in enumerate(panels)]

    w_max = max(float(p["w"].max()) for _, p in panels)
    level = int(round(100 * result.settings.level))
    for ax, (m, p) in zip(axes, panels):
        _draw_panel(ax, m, p, pi, col, max_area / w_max)
        others = [f"{o} = {_fmt_held(held[o])}"
                  + (" (reference)" if kinds[o] == "categorical" else " (mean)")
                  for o in kinds if o != m]
        ax.set_xlabel(names.get(m, m), fontproperties=prop)
        if others:
            ax.set_title("held at " + ", ".join(others), fontproperties=small, loc="left",
                         color="#444444")
    name = MEASURE_NAMES.get(result.measure, result.measure)
    ytitle = ylabel or (f"{name} (log scale)" if ratio else name)
    lo, hi = _y_limits(panels, pi)
    for i, ax in enumerate(axes):
        ax.set_ylim(lo, hi)
        if i % nc == 0:
            ax.set_ylabel(ytitle, fontproperties=prop)
        if ratio:
            tk = log_ticks(math.exp(lo), math.exp(hi))
            ax.yaxis.set_major_locator(FixedLocator([math.log(t) for t in tk]))
            ax.yaxis.set_minor_locator(NullLocator())
            ax.set_yticklabels([_layout.tick_label(math.log(t), True) for t in tk])
        if null_line and lo < 0.0 < hi:
            ax.axhline(0.0, color=col["null"], lw=0.7, ls=(0, (4, 3)), zorder=1, gid="null-line")
        for lab in ax.get_xticklabels() + ax.get_yticklabels():
            lab.set_fontproperties(prop)
        for side in ("right", "top"):
            ax.spines[side].set_visible(False)
    handles = [Line2D([], [], marker="o", ls="none", markerfacecolor=col["point"], alpha=0.7,
                      markeredgecolor=col["edge"], label="Study (area ∝ weight)"),
               Line2D([], [], color=col["line"], lw=1.2, label="Meta-regression"),
               Patch(facecolor=col["ci"], alpha=0.6, label=f"{level}% CI")]
    if pi:
        handles.append(Line2D([], [], color=col["pi"], lw=0.9, ls="--", label=f"{level}% PI"))
    fig.legend(handles=handles, loc="outside lower center",
               ncols=len(handles) if nc > 1 else 2, frameon=False,
               prop=_layout.font(font, font_size * 0.85))
    if title:
        fig.suptitle(title, fontproperties=_layout.font(font, font_size * 1.1, weight="bold"))
    _fit_circles(fig, axes, panels, max_area / w_max)
    texts = _label_texts(result, labels)
    if texts is not None:
        # Labels are placed in display coordinates: fix the layout first.
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
        dropped = []
        for ax, (_, p) in zip(axes, panels):
            dropped += _place_labels(fig, ax, p, texts, max_area / w_max, small)
        if dropped:
            warnings.warn(f"{len(dropped)} study label(s) left out where no position around "
                          f"the circle was free of other labels and circles: {', '.join(sorted(set(dropped)))}",
                          MetakitWarning, stacklevel=2)
    if path is not None:
        _layout.save(fig, path, dpi=dpi)
    return fig


def _fmt_held(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _draw_panel(ax, moderator: str, p: dict, pi: bool, col: Mapping, area_per_w: float) -> None:
    pred = p["pred"]
    order = np.argsort(-p["w"], kind="stable")  # heavy circles first, light ones on top
    ax.scatter(p["x"][order], p["y"][order], s=area_per_w * p["w"][order], color=col["point"],
               alpha=0.6, edgecolors=col["edge"], linewidths=0.6, zorder=3, gid="studies")
    if p["kind"] == "continuous":
        g = p["grid"]
        ax.fill_between(g, pred["ci_lb"], pred["ci_ub"], color=col["ci"], alpha=0.6, lw=0,
                        zorder=1, gid="ci")
        ax.plot(g, pred["pred"], color=col["line"], lw=1.2, zorder=4, gid="fit")
        if pi:
            ax.plot(g, pred["pi_lb"], color=col["pi"], lw=0.9, ls="--", zorder=2, gid="pi-lb")
            ax.plot(g, pred["pi_ub"], color=col["pi"], lw=0.9, ls="--", zorder=2, gid="pi-ub")
        return
    h = p["half"]
    for i, lev in enumerate(p["levels"]):
        row = pred.iloc[i]
        xs = [i - h, i + h]
        ax.fill_between(xs, [row.ci_lb] * 2, [row.ci_ub] * 2, color=col["ci"], alpha=0.6, lw=0,
                        zorder=1, gid=f"ci:{lev}")
        ax.plot(xs, [row.pred] * 2, color=col["line"], lw=1.2, zorder=4, gid=f"fit:{lev}")
        if pi:
            ax.plot(xs, [row.pi_lb] * 2, color=col["pi"], lw=0.9, ls="--", zorder=2,
                    gid=f"pi-lb:{lev}")
            ax.plot(xs, [row.pi_ub] * 2, color=col["pi"], lw=0.9, ls="--", zorder=2,
                    gid=f"pi-ub:{lev}")
    ax.xaxis.set_major_locator(FixedLocator(range(len(p["levels"]))))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([str(v) for v in p["levels"]])
    ax.set_xlim(-0.5 - h / 2, len(p["levels"]) - 0.5 + h / 2)


def _y_limits(panels, pi: bool) -> tuple[float, float]:
    """Shared effect-axis limits: every study, line and band, plus 4% margins."""
    ys = [np.r_[p["y"], p["pred"]["ci_lb"], p["pred"]["ci_ub"]] for _, p in panels]
    if pi:
        ys += [np.r_[p["pred"]["pi_lb"], p["pred"]["pi_ub"]] for _, p in panels]
    allv = np.concatenate(ys)
    lo, hi = float(allv.min()), float(allv.max())
    pad = 0.04 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _fit_circles(fig, axes, panels, area_per_w: float) -> None:
    """Widen the limits so that no circle is cut by the axes (radii are in points).

    A circle of radius r (points) at v fits in limits (lo, hi) of an axis ``size`` points
    long if lo <= v - r (hi - lo)/size and hi >= v + r (hi - lo)/size; the span grows with
    the limits, so the fixed point is iterated. The effect axis stays shared by all panels.
    """
    fig.draw_without_rendering()
    y_lo, y_hi = axes[0].get_ylim()
    for ax, (_, p) in zip(axes, panels):
        r = np.sqrt(area_per_w * p["w"] / math.pi) + 1.0
        bb = ax.get_window_extent()
        wpt, hpt = bb.width * 72 / fig.dpi, bb.height * 72 / fig.dpi
        if p["kind"] == "continuous":
            lo, hi = float(p["x"].min()), float(p["x"].max())
            span = hi - lo or 1.0
            ax.set_xlim(*_widen(lo - 0.03 * span, hi + 0.03 * span, p["x"], r, wpt))
        lo, hi = _widen(*axes[0].get_ylim(), p["y"], r, hpt)
        y_lo, y_hi = min(y_lo, lo), max(y_hi, hi)
    for ax in axes:
        ax.set_ylim(y_lo, y_hi)


def _widen(lo: float, hi: float, vals: np.ndarray, r: np.ndarray, size: float):
    for _ in range(4):
        span = hi - lo
        lo = min(lo, float((vals - r * span / size).min()))
        hi = max(hi, float((vals + r * span / size).max()))
    return lo, hi


def _place_labels(fig, ax, p: dict, texts: list[str], area_per_w: float, prop) -> list[str]:
    """Put each label at the best free position around its circle; return those dropped."""
    renderer = fig.canvas.get_renderer()
    px = fig.dpi / 72.0
    centres = ax.transData.transform(np.column_stack([p["x"], p["y"]]))
    radii = np.sqrt(area_per_w * p["w"] / math.pi) * px
    frame = ax.get_window_extent(renderer)
    line = _line_points(ax, fig.dpi)
    placed: list[tuple[float, float, float, float]] = []
    dropped = []
    for i in np.argsort(-p["w"], kind="stable"):
        t = ax.annotate(texts[i], (p["x"][i], p["y"][i]), xytext=(0, 0), textcoords="offset points",
                        fontproperties=prop, zorder=5, gid=f"label:{texts[i]}", annotation_clip=False)
        r_pt = radii[i] / px + _GAP
        far = 0.5 * prop.get_size_in_points()
        # every candidate box: two rings of eight positions, the second half a line out
        boxes = []
        for extra in (0.0, far):
            for (ux, uy), ha, va in _LABEL_POSITIONS:
                t.xyann = (ux * (r_pt + extra), uy * (r_pt + extra))
                t.set_ha(ha)
                t.set_va(va)
                bb = t.get_window_extent(renderer)
                box = (bb.x0, bb.y0, bb.x1, bb.y1)
                if (frame.x0 <= box[0] and box[2] <= frame.x1 and frame.y0 <= box[1]
                        and box[3] <= frame.y1 and not any(_overlap(box, q) for q in placed)):
                    boxes.append((box, t.xyann, ha, va))
        # free of every circle, crossing as little of the lines as possible (the first
        # such position wins ties); then free of the inner half of every circle
        ok = [c for c in boxes if not _hits_circle(c[0], centres, radii)] or [
            c for c in boxes if not _hits_circle(c[0], centres, radii * 0.5)]
        if not ok:
            t.remove()
            dropped.append(texts[i])
            continue
        box, t.xyann, ha, va = min(ok, key=lambda c: _line_cover(c[0], line))
        t.set_ha(ha)
        t.set_va(va)
        placed.append(box)
    return dropped


def _line_points(ax, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ~1 point along the fitted line(s) and PI lines of a panel (display units)."""
    pts, weight = [], []
    for ln in ax.lines:
        gid = str(ln.get_gid())
        if not gid.startswith(("fit", "pi")):
            continue
        xy = ax.transData.transform(np.column_stack([ln.get_xdata(), ln.get_ydata()]))
        seg = np.hypot(*np.diff(xy, axis=0).T)
        t = np.r_[0.0, np.cumsum(seg)]
        at = np.linspace(0.0, t[-1], max(2, int(t[-1] / (dpi / 72.0)) + 1))
        pts.append(np.column_stack([np.interp(at, t, xy[:, 0]), np.interp(at, t, xy[:, 1])]))
        weight.append(np.full(len(at), 3.0 if gid.startswith("fit") else 1.0))
    if not pts:
        return np.empty((0, 2)), np.empty(0)
    return np.vstack(pts), np.concatenate(weight)


def _line_cover(box, line: tuple[np.ndarray, np.ndarray], pad: float = 1.0) -> float:
    """How much line a box covers: points of the fitted line count 3, of a PI line 1."""
    pts, weight = line
    inside = ((pts[:, 0] > box[0] - pad) & (pts[:, 0] < box[2] + pad)
              & (pts[:, 1] > box[1] - pad) & (pts[:, 1] < box[3] + pad))
    return float(weight[inside].sum())


def _overlap(a, b, pad: float = 1.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def _hits_circle(box, centres: np.ndarray, radii: np.ndarray) -> bool:
    dx = np.maximum.reduce([box[0] - centres[:, 0], np.zeros(len(centres)), centres[:, 0] - box[2]])
    dy = np.maximum.reduce([box[1] - centres[:, 1], np.zeros(len(centres)), centres[:, 1] - box[3]])
    return bool((dx ** 2 + dy ** 2 < radii ** 2).any())
