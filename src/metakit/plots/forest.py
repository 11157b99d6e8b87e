"""Forest plots in RevMan 5's layout, sized to their content.

Two steps, so that any result with studies and a total can be drawn:

1. :func:`forest_table` turns a :class:`~metakit.stats.pairwise.MetaResult` or a
   :class:`~metakit.stats.subgroups.SubgroupResult` into a :class:`ForestTable`: a neutral list
   of :class:`ForestRow` records (heading, study, subtotal, total, prediction, events,
   text, blank) with their cells already formatted. A network comparison against a
   reference can build the same table itself.
2. :func:`draw_forest` lays the table out in points from measured text (each column as
   wide as its widest entry, each row the same height) and draws it.

:func:`forest` does both and saves the figure; :func:`write_figures` writes a forest and
a funnel plot for the command line.

Layout (RevMan 5; Deeks & Higgins, *Statistical algorithms in Review Manager 5*, 2010,
and the Cochrane Handbook, ch. 10): Study or Subgroup | arm data per group (Events,
Total or Mean, SD, Total) | Weight | effect [95% CI] as text | the graphical column,
squares with area proportional to weight, whiskers for the 95% CI (arrows where a CI
leaves the axis), a diamond for each subtotal and total, the line of no effect, and
"Favours ..." labels under the axis. Under each total: Total events (binary data),
the heterogeneity line, the test for overall effect and, for subgroups, the test for
subgroup differences, worded exactly as :meth:`~metakit.stats.pairwise.MetaResult.summary`.
In a subgroup analysis the study weights are those of the overall analysis, and a
subtotal's weight is the sum of its studies' weights (as RevMan and R's meta).

A diamond is never drawn narrower than :data:`MIN_DIAMOND_PT` points: a CI too narrow for
the axis (a common-effect total over 150 studies on an axis of 0.02 to 50) is drawn that
wide around its estimate, so that it stays visible; the exact limits are in the text column.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import FixedLocator, NullLocator
from scipy import special

from metakit.errors import DataError
from metakit.formatting import fmt_ci, fmt_num, fmt_weight
from metakit.plots import _layout
from metakit.plots.rob import draw_rob_dots
from metakit.rob.tools import CRITICAL, HIGH, LOW, MODERATE, NO_INFO, SERIOUS, SOME_CONCERNS, UNCLEAR
from metakit.stats.measures import NAMES as MEASURE_NAMES

__all__ = ["ForestRow", "ForestTable", "forest", "forest_table", "draw_forest", "write_figures",
           "DEFAULT_COLOURS"]

ROB_TITLE = "Risk of bias"
BOLD_KINDS = ("heading", "subtotal", "total")
ROW_KINDS = ("heading", "study", "subtotal", "total", "prediction", "events", "text", "blank")
METHOD_ABBR = {"inverse": "IV", "MH": "M-H", "Peto": "Peto"}
MODEL_WORD = {"common": "Fixed", "random": "Random"}
SUMMARY_SUFFIX = {"common": "common effect", "random": "random effects"}

DEFAULT_COLOURS = {
    "text": "black",
    "square": "#3b6aa0",
    "ci": "black",
    "diamond": "black",
    "diamond_common": "#8c8c8c",
    "prediction": "#b2182b",
    "null": "#555555",
    "rule": "#9a9a9a",
}

# RoB judgements -> (fill colour, symbol); keys are normalised judgement words.
_ROB_ALIASES = {
    "low": LOW, "low risk": LOW, "+": LOW,
    "some concerns": SOME_CONCERNS, "some": SOME_CONCERNS, "!": SOME_CONCERNS,
    "unclear": UNCLEAR, "moderate": MODERATE, "serious": SERIOUS,
    "high": HIGH, "high risk": HIGH, "-": HIGH, "\u2212": HIGH, "x": HIGH,
    "no information": NO_INFO, "ni": NO_INFO, "?": NO_INFO,
    "critical": CRITICAL,
}


@dataclass(frozen=True)
class ForestRow:
    """One row of a forest plot.

    Attributes
    ----------
    kind
        ``"heading"`` (subgroup name), ``"study"``, ``"subtotal"``, ``"total"``,
        ``"prediction"`` (prediction interval bar), ``"events"`` (Total events),
        ``"text"`` (a line spanning the table, e.g. heterogeneity) or ``"blank"``.
    label
        First-column text.
    arms
        Arm cells, ``len(table.arm_labels) * len(table.arm_columns)`` strings (or empty).
    extra
        Cells of the extra data columns (or empty).
    weights
        Formatted weights, one per weight column (or empty).
    weight
        Numeric weight (percent) that sizes a study's square.
    estimate, ci_lb, ci_ub
        Estimate and interval on the analysis scale (log for ratios); for a
        ``"prediction"`` row the interval is the prediction interval.
    effect
        The effect column text, e.g. ``"0.15 [0.09, 0.25]"``.
    model
        ``"common"`` or ``"random"`` for summary rows.
    study
        Study label (the key for risk-of-bias judgements).
    """

    kind: str
    label: str = ""
    arms: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    weights: tuple[str, ...] = ()
    weight: float = math.nan
    estimate: float = math.nan
    ci_lb: float = math.nan
    ci_ub: float = math.nan
    effect: str = ""
    model: str = ""
    study: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ROW_KINDS:
            raise ValueError(f"row kind must be one of {', '.join(ROW_KINDS)}, got {self.kind!r}")


@dataclass(frozen=True)
class ForestTable:
    """Everything a forest plot shows, formatted, independent of how it is drawn.

    Attributes
    ----------
    rows
        The rows, top to bottom.
    arm_labels
        Group header per arm, e.g. ``("Experimental", "Control")``; empty without arm data.
    arm_columns
        Sub-columns of each arm, e.g. ``("Events", "Total")`` or ``("Mean", "SD", "Total")``.
    extra_columns
        Headers of extra data columns (shown after the study label).
    weight_columns
        ``("Weight",)`` or, with both models, ``("Common", "Random")`` under "Weight".
    effect_title, effect_method
        The two header lines of the effect columns, e.g. ``"Odds ratio"`` and
        ``"M-H, Random, 95% CI"``.
    is_ratio
        Estimates are logs of ratios: drawn on a log axis, back-transformed in text.
    null
        The value of no effect on the analysis scale (0).
    """

    rows: tuple[ForestRow, ...]
    arm_labels: tuple[str, ...]
    arm_columns: tuple[str, ...]
    extra_columns: tuple[str, ...]
    weight_columns: tuple[str, ...]
    effect_title: str
    effect_method: str
    is_ratio: bool
    null: float = 0.0

    def labels(self, kind: str) -> list[str]:
        """Labels of the rows of one kind, in order."""
        return [r.label for r in self.rows if r.kind == kind]

    def to_frame(self):
        """The rows as a data frame (one column per field)."""
        import pandas as pd
        return pd.DataFrame([r.__dict__ for r in self.rows])


# ------------------------------------------------------------------------------------
# Result -> table
# ------------------------------------------------------------------------------------

def _models(result, show: str) -> tuple[str, ...]:
    primary = result.settings.model
    table = {"primary": (primary,), "common": ("common",), "random": ("random",),
             "both": ("common", "random")}
    if show not in table:
        raise ValueError(f"show must be one of {', '.join(table)}, got {show!r}")
    return table[show]


def _as_model(fit, model: str):
    """The same fit with ``model`` as its primary model (for its text lines)."""
    if fit.settings.model == model:
        return fit
    return replace(fit, settings=replace(fit.settings, model=model))


def _cell(x, digits: int | None) -> str:
    """A data cell: integers without decimals, others as given (up to 4 decimals)."""
    if x is None:
        return ""
    if isinstance(x, str):
        return x
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return ""
    if digits is not None:
        return fmt_num(v, digits)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return np.format_float_positional(v, precision=4, unique=True, trim="-")


def _arm_layout(effects) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...] | None]:
    """Arm sub-columns and the arms frame columns that fill them."""
    layout = getattr(effects, "arm_columns", None)
    if layout is None:
        return (), None
    names = {"e1": "Events", "m1": "Mean", "sd1": "SD", "n1": "Total"}
    return tuple(names[c] for c in layout[0]), layout


def _study_labels(effects, study_label) -> list[str]:
    study = list(effects.study)
    if study_label is None:
        return study
    data = effects.data
    if callable(study_label):
        return [str(study_label(data.iloc[i])) for i in range(len(study))]
    out = []
    for i, s in enumerate(study):
        values = {c: _cell(v, None) for c, v in data.iloc[i].items()}
        values["study"] = s
        try:
            out.append(study_label.format(**values))
        except KeyError as exc:
            raise DataError(f"study_label {study_label!r} names a column the data do not have",
                            column=str(exc.args[0])) from None
    return out


def _extra_spec(columns) -> list[tuple[str, str]]:
    if isinstance(columns, Mapping):
        return [(str(h), str(c)) for h, c in columns.items()]
    out = []
    for c in columns:
        out.append((str(c[0]), str(c[1])) if isinstance(c, tuple) else (str(c), str(c)))
    return out


def _order(fit, keys: np.ndarray, sort, descending: bool, weights: np.ndarray,
           labels: list[str]) -> np.ndarray:
    k = len(keys)
    if sort is None:
        return np.arange(k)
    if sort == "effect":
        key = np.asarray(fit.yi, float)
    elif sort == "weight":
        key = np.asarray(weights, float)
    elif sort in ("study", "label"):
        key = np.asarray(labels, dtype=object)
    else:
        data = fit.effects.data
        if sort not in data.columns:
            raise DataError("no such column to sort by (sort= takes 'effect', 'weight', "
                            "'study' or a data column)", column=str(sort))
        key = data[sort].to_numpy()
    import pandas as pd
    s = pd.Series(key)
    idx = s.sort_values(ascending=not descending, kind="stable", na_position="last").index
    return np.asarray(idx, dtype=int)


class _Builder:
    """Collects the rows of one table."""

    def __init__(self, result, models, sort, descending, study_label, columns, prediction,
                 digits, arm_digits):
        self.result = result
        self.models = models
        self.square_model = result.settings.model if result.settings.model in models \
            else models[0]
        self.sort, self.descending = sort, descending
        self.study_label = study_label
        self.extra = _extra_spec(columns)
        self.prediction = prediction
        self.digits, self.arm_digits = digits, arm_digits
        self.rows: list[ForestRow] = []
        effects = getattr(result, "overall", result).effects
        self.arm_columns, self.arm_fields = _arm_layout(effects)
        self.binary = self.arm_columns == ("Events", "Total")

    def _txt(self, fit, est, lb, ub) -> str:
        t = fit.transform
        return fmt_ci(float(t(est)), float(t(lb)), float(t(ub)), self.digits)

    def studies(self, fit, weights: dict[str, np.ndarray]) -> None:
        """Study rows of ``fit``; ``weights`` are percent weights per model shown."""
        crit = special.ndtri(1 - (1 - fit.settings.level) / 2)
        yi, se = np.asarray(fit.yi, float), np.sqrt(np.asarray(fit.vi, float))
        lb, ub = yi - crit * se, yi + crit * se
        labels = _study_labels(fit.effects, self.study_label)
        order = _order(fit, yi, self.sort, self.descending, weights[self.square_model], labels)
        arms = fit.effects.arms
        data = fit.effects.data
        for c in (c for _, c in self.extra):
            if c not in data.columns:
                raise DataError("no such column for an extra forest-plot column", column=c)
        for i in order:
            cells = ()
            if self.arm_fields is not None:
                cells = tuple(_cell(arms[f].iloc[i], None if f.startswith("n") or
                                    f.startswith("e") else self.arm_digits)
                              for group in self.arm_fields for f in group)
            self.rows.append(ForestRow(
                kind="study", label=labels[i], arms=cells,
                extra=tuple(_cell(data[c].iloc[i], None) for _, c in self.extra),
                weights=tuple(fmt_weight(weights[m][i]) for m in self.models),
                weight=float(weights[self.square_model][i]), estimate=float(yi[i]),
                ci_lb=float(lb[i]), ci_ub=float(ub[i]),
                effect=self._txt(fit, yi[i], lb[i], ub[i]), study=fit.study[i]))

    def _sums(self, fit, which: str) -> tuple[str, ...]:
        """Arm cells of a summary row: totals of N ('n') or of events ('e')."""
        if self.arm_fields is None:
            return ()
        arms = fit.effects.arms
        out = []
        for group in self.arm_fields:
            for f in group:
                out.append(_cell(arms[f].sum(), None) if f[0] == which else "")
        return tuple(out)

    def summary(self, fit, label: str, kind: str, weights: dict[str, np.ndarray],
                test_lines: Sequence[str] = ()) -> None:
        """Summary row(s), prediction bar, total events and the text lines of ``fit``."""
        n = len(self.models)
        for m in self.models:
            p = getattr(fit, m)
            lab = label if n == 1 else f"{label}, {SUMMARY_SUFFIX[m]}"
            w = tuple(fmt_weight(float(np.sum(weights[mm]))) if mm == m else ""
                      for mm in self.models)
            self.rows.append(ForestRow(
                kind=kind, label=lab, arms=self._sums(fit, "n"), weights=w,
                estimate=p.estimate, ci_lb=p.ci_lb, ci_ub=p.ci_ub,
                effect=self._txt(fit, p.estimate, p.ci_lb, p.ci_ub), model=m))
        if (self.prediction and "random" in self.models and fit.k >= 2
                and math.isfinite(fit.pi_lb) and math.isfinite(fit.pi_ub)):
            t = fit.transform
            self.rows.append(ForestRow(
                kind="prediction", label="Prediction interval", estimate=fit.random.estimate,
                ci_lb=fit.pi_lb, ci_ub=fit.pi_ub, model="random",
                effect=f"[{fmt_num(float(t(fit.pi_lb)), self.digits)}, "
                       f"{fmt_num(float(t(fit.pi_ub)), self.digits)}]"))
        if self.binary:
            self.rows.append(ForestRow(kind="events", label="Total events",
                                       arms=self._sums(fit, "e")))
        main = self.result.settings.model if self.result.settings.model in self.models \
            else self.models[0]
        self.rows.append(ForestRow(kind="text",
                                   label=_as_model(fit, main).heterogeneity_line()))
        for m in self.models:
            line = _as_model(fit, m).overall_line()
            if n > 1:
                line = line.replace("Test for overall effect:",
                                    f"Test for overall effect ({SUMMARY_SUFFIX[m]}):")
            self.rows.append(ForestRow(kind="text", label=line))
        for line in test_lines:
            self.rows.append(ForestRow(kind="text", label=line))


def forest_table(result, *, sort: str | None = None, descending: bool = False,
                 study_label: str | Callable | None = None, columns=(),
                 show: str = "primary", prediction: bool = False,
                 label_e: str = "Experimental", label_c: str = "Control",
                 digits: int = 2, arm_digits: int | None = None) -> ForestTable:
    """Build the rows of a forest plot from a fit.

    Parameters
    ----------
    result
        A :class:`~metakit.stats.pairwise.MetaResult`, a :class:`~metakit.stats.subgroups.SubgroupResult`,
        an object with a ``forest_table(**options)`` method, or a :class:`ForestTable`
        (returned as is).
    sort
        Order of studies (within each subgroup): ``"effect"``, ``"weight"``, ``"study"``,
        or a data column such as ``"year"``; None keeps the data order.
    descending
        Sort in descending order.
    study_label
        Format string over the data columns, e.g. ``"{study} {year}"``, or a function of
        a study's data row; None shows the study labels.
    columns
        Extra data columns after the study label: names, ``(header, column)`` pairs, or a
        mapping header -> column.
    show
        ``"primary"`` (the fit's model), ``"common"``, ``"random"`` or ``"both"``.
    prediction
        Add the prediction interval under each random-effects summary.
    label_e, label_c
        Names of the experimental and control groups (arm headers).
    digits
        Decimals of effects and CIs (RevMan: 2).
    arm_digits
        Decimals of means and SDs; None prints them as given (up to 4 decimals).

    Returns
    -------
    ForestTable

    Examples
    --------
    >>> import pandas as pd, metakit as mk
    >>> df = pd.DataFrame({"study": ["A", "B", "C"], "e_t": [4, 6, 3], "n_t": [123, 306, 231],
    ...                    "e_c": [11, 29, 11], "n_c": [139, 303, 220]})
    >>> t = forest_table(mk.meta(mk.effect_sizes(df, "OR"), tau2_method="DL"))
    >>> [r.kind for r in t.rows][:5]
    ['study', 'study', 'study', 'total', 'events']
    """
    if isinstance(result, ForestTable):
        return result
    if hasattr(result, "forest_table"):
        return result.forest_table(sort=sort, descending=descending, study_label=study_label,
                                   columns=columns, show=show, prediction=prediction,
                                   label_e=label_e, label_c=label_c, digits=digits)
    models = _models(result, show)
    b = _Builder(result, models, sort, descending, study_label, columns, prediction, digits,
                 arm_digits)
    if hasattr(result, "subgroups"):
        overall = result.overall
        codes = overall.effects.data[result.by].astype(str).to_numpy()
        for g, fit in zip(result.groups, result.subgroups):
            sel = codes == g
            w = {m: getattr(overall, m).weights[sel] for m in models}
            b.rows.append(ForestRow(kind="heading", label=str(g)))
            b.studies(fit, w)
            b.summary(fit, "Subtotal (95% CI)", "subtotal", w)
            b.rows.append(ForestRow(kind="blank"))
        w = {m: getattr(overall, m).weights for m in models}
        b.summary(overall, "Total (95% CI)", "total", w, test_lines=(result.test_line(),))
    else:
        overall = result
        w = {m: getattr(result, m).weights for m in models}
        b.studies(result, w)
        b.summary(result, "Total (95% CI)", "total", w)
    s = overall.settings
    title = MEASURE_NAMES.get(overall.measure, overall.measure)
    model_words = " + ".join(MODEL_WORD[m] for m in models)
    method = f"{METHOD_ABBR.get(s.method, s.method)}, {model_words}, {s.level * 100:g}% CI"
    return ForestTable(
        rows=tuple(b.rows), arm_labels=(label_e, label_c) if b.arm_fields else (),
        arm_columns=b.arm_columns, extra_columns=tuple(h for h, _ in b.extra),
        weight_columns=("Weight",) if len(models) == 1 else ("Common", "Random"),
        effect_title=title, effect_method=method, is_ratio=bool(overall.is_ratio))


# ------------------------------------------------------------------------------------
# Risk of bias dots
# ------------------------------------------------------------------------------------

def _rob_key(judgement) -> str | None:
    """The risk-of-bias tools' judgement for a cell (case and common synonyms allowed)."""
    if judgement is None or (isinstance(judgement, float) and math.isnan(judgement)):
        return None
    key = _ROB_ALIASES.get(str(judgement).strip().lower())
    if key is None:
        raise DataError(f"unknown risk-of-bias judgement {judgement!r}; use one of "
                        + ", ".join(dict.fromkeys(_ROB_ALIASES.values())), column="rob")
    return key


# ------------------------------------------------------------------------------------
# Table -> figure
# ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Col:
    key: str
    width: float
    align: str  # "left", "right", "center"


def _graph_rows(rows) -> list[int]:
    return [i for i, r in enumerate(rows)
            if r.kind in ("study", "subtotal", "total", "prediction")]


def _columns(table: ForestTable, p_norm, p_bold, gap: float):
    """Table columns left of the graph, each as wide as its widest text.

    Returns the columns, the column indices of each arm, and of the weight columns.
    Group headers (arm names, "Weight" over two models) widen their columns if needed.
    """
    rows = table.rows
    tw = _layout.text_width
    bold_kinds = BOLD_KINDS
    label_w = max([tw("Study or Subgroup", p_bold)] +
                  [tw(r.label, p_bold if r.kind in bold_kinds else p_norm)
                   for r in rows if r.kind != "text"])
    cols: list[_Col] = [_Col("label", label_w, "left")]
    for j, h in enumerate(table.extra_columns):
        w = max([tw(h, p_bold)] + [tw(r.extra[j], p_norm) for r in rows if r.extra])
        cols.append(_Col(f"extra{j}", w, "center"))
    n_sub = len(table.arm_columns)
    arm_cols: list[list[int]] = []
    for a, lab in enumerate(table.arm_labels):
        idx = []
        for s_, h in enumerate(table.arm_columns):
            j = a * n_sub + s_
            w = max([tw(h, p_bold)] + [tw(r.arms[j], p_bold if r.kind in bold_kinds
                                          else p_norm) for r in rows if r.arms])
            idx.append(len(cols))
            cols.append(_Col(f"arm{j}", w, "right"))
        span = sum(cols[i].width for i in idx) + gap * (len(idx) - 1)
        need = tw(lab, p_bold)
        if need > span:
            extra = (need - span) / len(idx)
            for i in idx:
                cols[i] = replace(cols[i], width=cols[i].width + extra)
        arm_cols.append(idx)
    weight_idx = []
    for j, h in enumerate(table.weight_columns):
        w = max([tw(h, p_bold)] + [tw(r.weights[j], p_bold if r.kind in bold_kinds else p_norm)
                                   for r in rows if r.weights])
        weight_idx.append(len(cols))
        cols.append(_Col(f"weight{j}", w, "right"))
    if len(weight_idx) > 1:
        span = sum(cols[i].width for i in weight_idx) + gap * (len(weight_idx) - 1)
        if tw("Weight", p_bold) > span:
            cols[weight_idx[0]] = replace(cols[weight_idx[0]], width=cols[weight_idx[0]].width
                                          + tw("Weight", p_bold) - span)
    eff_w = max([tw(table.effect_title, p_bold), tw(table.effect_method, p_bold)] +
                [tw(r.effect, p_bold if r.kind in bold_kinds else p_norm) for r in rows])
    cols.append(_Col("effect", eff_w, "right"))
    return cols, arm_cols, weight_idx


@_layout.plain_warnings
def draw_forest(table: ForestTable, *, rob: Mapping | None = None,
                rob_domains: Sequence[str] | None = None, rob_palette: str = "default",
                favours: tuple[str, str] = ("Favours [experimental]", "Favours [control]"),
                title: str | None = None, font: str | None = None, font_size: float = 9.0,
                colours: Mapping | None = None, xlim: tuple[float, float] | None = None,
                ticks: Sequence[float] | None = None, graph_width: float = 170.0,
                dpi: float = 300) -> Figure:
    """Draw a :class:`ForestTable`; see :func:`forest` for the parameters.

    The figure is laid out in points: columns as wide as their widest text plus a gap,
    rows ``1.55 x font_size`` high, the graph column ``graph_width`` points wide or
    wider if its headers or the "Favours" labels need it. The returned figure has two
    axes: the table (``gid="forest-table"``, data coordinates in points from the top
    left) and the graph (``gid="forest-graph"``, x on the effect scale, log for ratios).
    """
    col = dict(DEFAULT_COLOURS, **(colours or {}))
    fs = float(font_size)
    p_norm = _layout.font(font, fs)
    p_bold = _layout.font(font, fs, weight="bold")
    gap = 0.9 * fs
    rh = 1.55 * fs
    rows = table.rows
    tw = _layout.text_width
    bold_kinds = BOLD_KINDS
    cols, arm_cols, weight_idx = _columns(table, p_norm, p_bold, gap)
    n_sub = len(table.arm_columns)
    # Spanning text lines (heterogeneity, tests) must end before the graph column.
    left_w = sum(c.width for c in cols) + gap * (len(cols) - 1)
    text_w = max([tw(r.label, p_norm) for r in rows if r.kind == "text"], default=0.0)
    if text_w > left_w:
        cols[0] = replace(cols[0], width=cols[0].width + text_w - left_w)
        left_w = text_w
    # The "Favours" labels sit in the parts of the axis either side of the null (kept
    # between 15% and 85% of the width when the axis is lopsided or misses the null).
    scale = _scale(table, xlim, ticks)
    lo, hi, tk = scale
    null_frac = min(max((table.null - lo) / (hi - lo), 0.15), 0.85)
    g_w = max(graph_width, tw(table.effect_title, p_bold), tw(table.effect_method, p_bold),
              (tw(favours[0], p_norm) + gap / 2) / null_frac,
              (tw(favours[1], p_norm) + gap / 2) / (1 - null_frac))
    domains: list[str] = []
    if rob:
        domains = list(rob_domains) if rob_domains else list(
            dict.fromkeys(d for v in rob.values() for d in v))
    letters = [chr(ord("A") + i) if i < 26 else str(i + 1) for i in range(len(domains))]
    dot = 0.95 * rh
    rob_w = max([dot] + [tw(x, p_bold) for x in letters]) if domains else 0.0

    # Tick labels at the axis ends reach half their width beyond the graph column.
    ends = [t for t in tk if abs(t - lo) < 1e-9 * max(1.0, abs(lo))], \
        [t for t in tk if abs(t - hi) < 1e-9 * max(1.0, abs(hi))]
    over = [max((tw(_layout.tick_label(t, table.is_ratio), p_norm) / 2 for t in e),
                default=0.0) for e in ends]

    margin = 0.8 * fs
    x = margin
    xs = []
    for c in cols:
        xs.append(x)
        x += c.width + gap
    g_x0 = x - gap + max(1.5 * gap, over[0] + 0.5 * gap)
    g_x1 = g_x0 + g_w
    rob_x = [g_x1 + max(gap, over[1] + 0.3 * gap) + (i + 0.5) * (rob_w + 0.35 * gap)
             for i in range(len(domains))]
    width = (rob_x[-1] + rob_w / 2 + margin) if domains else g_x1 + max(margin, over[1] + 2)
    legend = [f"({a}) {d}" for a, d in zip(letters, domains)]
    if domains:
        legend.append("Risk of bias: + low, \u2212 some concerns, \u00d7 high, ? no information")
    legend_w = max([tw(s, p_norm) for s in legend], default=0.0)
    if domains:
        width = max(width, (rob_x[0] + rob_x[-1]) / 2 + tw(ROB_TITLE, p_bold) / 2 + margin)
    title_p = _layout.font(font, 1.2 * fs, weight="bold")
    width = max(width, legend_w + 2 * margin, tw(title or "", title_p) + 2 * margin)

    # ---- vertical layout -----------------------------------------------------------
    y = margin
    title_y = None
    if title:
        title_y = y + 0.75 * rh
        y += 1.6 * rh
    head1 = y + 0.5 * rh
    head2 = y + 1.5 * rh
    rule_y = y + 2.15 * rh
    y = rule_y + 0.25 * rh
    centres = [y + (i + 0.5) * rh for i in range(len(rows))]
    rows_bottom = y + len(rows) * rh
    gr = _graph_rows(rows)
    g_top = y
    g_bottom = (centres[gr[-1]] + 0.5 * rh) if gr else y + rh
    axis_y = g_bottom + 0.2 * rh
    tick_zone = 3.5 + 3.0 + 1.25 * fs
    fav_y = axis_y + tick_zone + 0.6 * rh
    bottom = max(rows_bottom, fav_y + 0.6 * rh)
    legend_y = bottom + 0.4 * rh
    height = legend_y + len(legend) * rh + margin

    fig = _layout.new_figure(width, height, dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1), gid="forest-table")
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()

    def put(xc, yc, s, align, bold=False, **kw):
        if not s:
            return None
        return ax.text(xc, yc, s, ha=align, va="center_baseline", color=kw.pop("color",
                       col["text"]), fontproperties=p_bold if bold else p_norm,
                       parse_math=False, **kw)

    def cell(i, s, yc, bold=False, **kw):
        c = cols[i]
        xc = {"left": xs[i], "right": xs[i] + c.width, "center": xs[i] + c.width / 2}[c.align]
        return put(xc, yc, s, c.align, bold, **kw)

    if title_y is not None:
        ax.text(margin, title_y, title, ha="left", va="center_baseline", color=col["text"],
                fontproperties=title_p, parse_math=False, gid="title")
    # Headers: group labels on line 1, column names on line 2.
    for a, idx in enumerate(arm_cols):
        x0, x1 = xs[idx[0]], xs[idx[-1]] + cols[idx[-1]].width
        put((x0 + x1) / 2, head1, table.arm_labels[a], "center", True)
        for s_, i in enumerate(idx):
            cell(i, table.arm_columns[s_], head2, True)
    if len(weight_idx) > 1:
        x0, x1 = xs[weight_idx[0]], xs[weight_idx[-1]] + cols[weight_idx[-1]].width
        put((x0 + x1) / 2, head1, "Weight", "center", True)
    for j, i in enumerate(weight_idx):
        cell(i, table.weight_columns[j], head2, True)
    cell(0, "Study or Subgroup", head2, True)
    for j, h in enumerate(table.extra_columns):
        cell(1 + j, h, head2, True)
    ie = len(cols) - 1
    put(xs[ie] + cols[ie].width / 2, head1, table.effect_title, "center", True)
    put(xs[ie] + cols[ie].width / 2, head2, table.effect_method, "center", True)
    put((g_x0 + g_x1) / 2, head1, table.effect_title, "center", True)
    put((g_x0 + g_x1) / 2, head2, table.effect_method, "center", True)
    for a, xr in zip(letters, rob_x):
        put(xr, head2, a, "center", True)
    if domains:
        put((rob_x[0] + rob_x[-1]) / 2, head1, ROB_TITLE, "center", True)
    ax.plot([margin, width - margin], [rule_y, rule_y], color=col["rule"], lw=0.6)

    # Body.
    for r, yc in zip(rows, centres):
        bold = r.kind in bold_kinds
        if r.kind == "text":
            put(xs[0], yc, r.label, "left")
            continue
        cell(0, r.label, yc, bold, gid=f"label:{r.kind}")
        for j, s in enumerate(r.extra):
            cell(1 + j, s, yc)
        for j, s in enumerate(r.arms):
            cell(arm_cols[j // n_sub][j % n_sub], s, yc, bold)
        for j, s in enumerate(r.weights):
            cell(weight_idx[j], s, yc, bold)
        cell(ie, r.effect, yc, bold)
        if rob and r.kind == "study" and r.study in rob:
            draw_rob_dots(ax, rob_x, yc, [_rob_key(rob[r.study].get(d)) for d in domains],
                          palette=rob_palette, size=dot * 0.9)
    for i, s in enumerate(legend):
        put(margin, legend_y + (i + 0.5) * rh, s, "left")

    # ---- graph ---------------------------------------------------------------------
    gax = fig.add_axes((g_x0 / width, 1 - axis_y / height, g_w / width,
                        (axis_y - g_top) / height), gid="forest-graph")
    gax.set_ylim(axis_y, g_top)
    _draw_graph(gax, table, rows, centres, rh, col, p_norm, scale)
    null_x = g_x0 + null_frac * g_w
    put((g_x0 + null_x) / 2, fav_y, favours[0], "center", gid="favours-left")
    put((null_x + g_x1) / 2, fav_y, favours[1], "center", gid="favours-right")
    return fig


def _scale(table, xlim, ticks) -> tuple[float, float, tuple[float, ...]]:
    """Axis limits and ticks on the analysis scale (data-driven unless given)."""
    rows = table.rows
    need = [r.estimate for r in rows if r.kind == "study"]
    need += [v for r in rows if r.kind in ("subtotal", "total") for v in (r.ci_lb, r.ci_ub)]
    # A wide prediction interval gets arrows rather than squeezing every study.
    want = [v for r in rows if r.kind in ("study", "prediction") for v in (r.ci_lb, r.ci_ub)]
    lo, hi, tk = _layout.axis_scale(need, want, table.is_ratio, table.null)
    if xlim is not None:
        lo, hi = (math.log(v) for v in xlim) if table.is_ratio else map(float, xlim)
        if ticks is None:
            tk = tuple(t for t in tk if lo <= t <= hi) or (lo, table.null, hi)
    if ticks is not None:
        tk = tuple(math.log(t) for t in ticks) if table.is_ratio else tuple(map(float, ticks))
    return lo, hi, tk


#: Narrowest diamond drawn, in points (a narrower CI is widened around its estimate).
MIN_DIAMOND_PT = 6.0


def _draw_graph(ax, table, rows, centres, rh, col, prop, scale) -> None:
    gr = _graph_rows(rows)
    lo, hi, tk = scale
    f = (lambda v: np.exp(v)) if table.is_ratio else (lambda v: np.asarray(v, float))
    if table.is_ratio:
        ax.set_xscale("log")
    ax.set_xlim(float(f(lo)), float(f(hi)))
    ax.xaxis.set_major_locator(FixedLocator([float(f(t)) for t in tk]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([_layout.tick_label(t, table.is_ratio) for t in tk])
    for lab in ax.get_xticklabels():
        lab.set_fontproperties(prop)
    ax.tick_params(axis="x", length=3.5, width=0.6, pad=3.0, colors=col["text"])
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_linewidth(0.6)
    ax.patch.set_alpha(0)
    ax.axvline(float(f(table.null)), color=col["null"], lw=0.7, zorder=1, gid="null-line")
    width_pt = ax.get_position().width * ax.figure.get_figwidth() * 72

    study = [i for i in gr if rows[i].kind == "study"]
    est = np.array([rows[i].estimate for i in study], float)
    lb = np.array([rows[i].ci_lb for i in study], float)
    ub = np.array([rows[i].ci_ub for i in study], float)
    yy = np.array([centres[i] for i in study], float)
    w = np.array([rows[i].weight for i in study], float)
    ok = np.isfinite(est) & np.isfinite(lb) & np.isfinite(ub)
    # Whiskers clipped to the axis; arrows where the CI leaves it.
    segs = [((float(f(max(a, lo))), y_), (float(f(min(b, hi))), y_))
            for a, b, y_, o in zip(lb, ub, yy, ok) if o and b > lo and a < hi]
    ax.add_collection(LineCollection(segs, colors=col["ci"], linewidths=0.8, zorder=2,
                                     gid="ci-whiskers"))
    left = ok & (lb < lo) & (ub > lo)
    right = ok & (ub > hi) & (lb < hi)
    arrow = 0.45 * rh
    if left.any():
        ax.plot(np.full(left.sum(), f(lo)), yy[left], marker="<", ls="none", ms=arrow,
                color=col["ci"], clip_on=False, zorder=3, gid="arrows-left")
    if right.any():
        ax.plot(np.full(right.sum(), f(hi)), yy[right], marker=">", ls="none", ms=arrow,
                color=col["ci"], clip_on=False, zorder=3, gid="arrows-right")
    # Squares: area proportional to weight, the heaviest 0.85 row high (Cochrane Handbook).
    if ok.any() and np.isfinite(w[ok]).any():
        wmax = np.nanmax(w[ok])
        side = np.maximum(0.85 * rh * np.sqrt(np.where(np.isfinite(w), w, 0.0) / wmax),
                          0.22 * rh)
    else:
        # No weights (e.g. network comparisons): one middling size for every square.
        side = np.full(w.shape, 0.5 * rh)
    inside = ok & (est >= lo) & (est <= hi)
    ax.scatter(f(est[inside]), yy[inside], s=side[inside] ** 2, marker="s", color=col["square"],
               edgecolors="none", zorder=3, gid="squares")
    # Diamonds and prediction bars.
    for i in gr:
        r = rows[i]
        if r.kind == "study" or not (math.isfinite(r.ci_lb) and math.isfinite(r.ci_ub)):
            continue
        yc = centres[i]
        a, b = max(r.ci_lb, lo), min(r.ci_ub, hi)
        if r.kind == "prediction":
            ax.add_patch(Rectangle((float(f(a)), yc - 0.1 * rh), float(f(b)) - float(f(a)),
                                   0.2 * rh, color=col["prediction"], lw=0, zorder=3,
                                   gid=f"prediction:{i}"))
            for end, lim, mk in ((r.ci_lb, lo, "<"), (r.ci_ub, hi, ">")):
                if (end < lim) if mk == "<" else (end > lim):
                    ax.plot([float(f(lim))], [yc], marker=mk, ls="none", ms=arrow,
                            color=col["prediction"], clip_on=False, zorder=3,
                            gid=f"prediction-arrow:{i}")
            continue
        m = min(max(r.estimate, a), b)
        # At least MIN_DIAMOND_PT wide: axis units per point from the axes' width.
        half = MIN_DIAMOND_PT / 2 * (hi - lo) / width_pt
        if b - a < 2 * half:
            a, b = max(m - half, lo), min(m + half, hi)
        h = 0.36 * rh
        colour = col["diamond_common"] if (r.model == "common" and any(
            q.model == "random" for q in rows if q.kind == r.kind)) else col["diamond"]
        ax.add_patch(Polygon([(float(f(a)), yc), (float(f(m)), yc - h), (float(f(b)), yc),
                              (float(f(m)), yc + h)], closed=True, color=colour, lw=0,
                             zorder=3, gid=f"diamond:{i}"))


@_layout.plain_warnings
def forest(result, path: str | Path | None = None, *, sort: str | None = None,
           descending: bool = False, study_label: str | Callable | None = None, columns=(),
           rob: Mapping[str, Mapping[str, str]] | None = None,
           rob_domains: Sequence[str] | None = None, rob_palette: str = "default",
           show: str = "primary",
           prediction: bool = False, label_e: str = "Experimental", label_c: str = "Control",
           favours: tuple[str, str] | None = None, higher_is_better: bool = False,
           title: str | None = None, font: str | None = None, font_size: float = 9.0,
           colours: Mapping | None = None, xlim: tuple[float, float] | None = None,
           ticks: Sequence[float] | None = None, graph_width: float = 170.0,
           digits: int = 2, arm_digits: int | None = None, dpi: float = 300) -> Figure:
    """Forest plot in RevMan 5's layout; saved to ``path`` if given.

    Parameters
    ----------
    result
        A :class:`~metakit.stats.pairwise.MetaResult`, a :class:`~metakit.stats.subgroups.SubgroupResult`,
        or a :class:`ForestTable` (e.g. built for network comparisons).
    path
        File to write; the suffix picks the format (``.svg``, ``.pdf``, ``.png``, ...).
        Text stays text in SVG and PDF.
    sort, descending, study_label, columns, show, prediction, label_e, label_c, digits, arm_digits
        What the rows show: see :func:`forest_table`.
    rob
        A :class:`~metakit.rob.RobTable`, or study label -> {domain: judgement}, judgements
        "low", "some concerns", "high", "no information" (also "unclear", "serious",
        "critical", "+", "-", "?"). Drawn as coloured dots right of the graph, one
        column per domain, lettered A, B, ... with a legend under the plot.
    rob_domains
        Order of the domains (default: order of first appearance).
    rob_palette
        ``"default"`` (robvis colours) or ``"colourblind"`` (Okabe-Ito), as in
        :mod:`metakit.plots.rob`, which draws the dots.
    favours
        Labels under the left and right halves of the axis, left first. None gives
        ("Favours [experimental]", "Favours [control]"): effects below the null favour the
        experimental group, as for events or symptoms.
    higher_is_better
        Higher values are good (response, function scores): the default labels swap sides,
        "Favours [control]" on the left. Ignored when ``favours`` is given.
    title
        A title above the table.
    font, font_size
        Font family (None: matplotlib's default sans-serif) and size in points.
    colours
        Overrides of :data:`DEFAULT_COLOURS` (text, square, ci, diamond, diamond_common,
        prediction, null, rule).
    xlim, ticks
        Axis limits and ticks on the reporting scale (ratios as ratios); default: a
        symmetric scale around the null chosen from the data (see
        :func:`metakit.plots._layout.axis_scale`).
    graph_width
        Minimum width of the graphical column in points.
    dpi
        Resolution of raster output (PNG, JPG, TIFF).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd, metakit as mk
    >>> df = pd.DataFrame({"study": ["A", "B", "C"], "e_t": [4, 6, 3], "n_t": [123, 306, 231],
    ...                    "e_c": [11, 29, 11], "n_c": [139, 303, 220]})
    >>> fig = forest(mk.meta(mk.effect_sizes(df, "OR"), tau2_method="DL"))
    >>> fig.axes[1].get_xscale()
    'log'
    """
    table = forest_table(result, sort=sort, descending=descending, study_label=study_label,
                         columns=columns, show=show, prediction=prediction, label_e=label_e,
                         label_c=label_c, digits=digits, arm_digits=arm_digits)
    if hasattr(rob, "by_domain"):
        rob = rob.by_domain()
    if favours is None:
        favours = ("Favours [experimental]", "Favours [control]")
        if higher_is_better:
            favours = favours[::-1]
    fig = draw_forest(table, rob=rob, rob_domains=rob_domains, rob_palette=rob_palette,
                      favours=tuple(favours), title=title,
                      font=font, font_size=font_size, colours=colours, xlim=xlim, ticks=ticks,
                      graph_width=graph_width, dpi=dpi)
    if path is not None:
        _layout.save(fig, path, dpi=dpi)
    return fig


def write_figures(result, forest_path: str | Path | None = None,
                  funnel_path: str | Path | None = None, **options) -> dict[str, Path]:
    """Write a forest and/or a funnel plot of ``result`` (used by ``metakit meta``).

    Each option goes to whichever of :func:`forest` and
    :func:`~metakit.plots.funnel.funnel` accepts it (``dpi``, ``title``, ``font`` ...
    go to both); an option neither accepts raises ``TypeError``.

    Returns
    -------
    dict
        ``{"forest": path, "funnel": path}`` for the figures written.
    """
    from metakit.plots.funnel import funnel

    def accepted(fn):
        return {n for n, p in inspect.signature(fn).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}

    fo, fu = accepted(forest), accepted(funnel)
    unknown = set(options) - fo - fu
    if unknown:
        raise TypeError(f"unknown figure option(s): {', '.join(sorted(unknown))}")
    out = {}
    if forest_path is not None:
        forest(result, forest_path, **{k: v for k, v in options.items() if k in fo})
        out["forest"] = Path(forest_path)
    if funnel_path is not None:
        funnel(result, funnel_path, **{k: v for k, v in options.items() if k in fu})
        out["funnel"] = Path(funnel_path)
    return out
