"""Shared figure helpers: text measurement, axis scales, saving.

Figures are laid out in points (1/72 inch) from measured text, so that a column is
exactly as wide as its widest entry and nothing clips or overlaps whatever the number
of rows. Text is measured with the Agg renderer (see :func:`text_width`).
"""

from __future__ import annotations

import contextvars
import functools
import math
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from metakit.errors import MetakitWarning

FORMATS = {".svg": "svg", ".pdf": "pdf", ".png": "png", ".eps": "eps", ".jpg": "jpg",
           ".jpeg": "jpg", ".tif": "tiff", ".tiff": "tiff"}


# Text is measured at a high resolution, where font hinting no longer rounds glyph
# advances (at 72 dpi DejaVu Sans Bold comes out ~7% narrower than its outlines), and
# padded a little so that a raster at a low dpi, hinted wider, still fits.
_MEASURE_DPI = 720.0
_PAD = 1.03


@lru_cache(maxsize=4)
def _renderer() -> RendererAgg:
    return RendererAgg(10, 10, _MEASURE_DPI)


def font(family: str | None, size: float, weight: str = "normal",
         style: str = "normal") -> FontProperties:
    """A :class:`~matplotlib.font_manager.FontProperties` (family None: rcParams)."""
    return FontProperties(family=family or None, size=size, weight=weight, style=style)


def text_width(text: str, prop: FontProperties) -> float:
    """Width of ``text`` in points (outline metrics plus 3%; no mathtext)."""
    if not text:
        return 0.0
    w, _, _ = _renderer().get_text_width_height_descent(text, prop, ismath=False)
    return float(w) * 72.0 / _MEASURE_DPI * _PAD


def max_width(texts: Iterable[str], prop: FontProperties) -> float:
    """Widest of ``texts`` in points (0 for none)."""
    return max((text_width(t, prop) for t in texts), default=0.0)


def new_figure(width_pt: float, height_pt: float, dpi: float = 100) -> Figure:
    """A figure of the given size in points, on an Agg canvas (no pyplot state)."""
    fig = Figure(figsize=(width_pt / 72.0, height_pt / 72.0), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: str | Path, dpi: float | None = None) -> Path:
    """Save ``fig``; the format follows the suffix (SVG, PDF, PNG, EPS, JPG, TIFF).

    Text stays text in SVG (``svg.fonttype = none``) and PDF/EPS (TrueType fonts, type 42),
    so a journal's editor can search and edit it.
    """
    import matplotlib

    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the figure format from {path.name!r}; use one of "
                         + ", ".join(sorted(FORMATS)))
    with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42,
                                "ps.fonttype": 42}):
        fig.savefig(path, format=fmt, dpi=dpi or fig.dpi, facecolor="white")
    return path


# ------------------------------------------------------------------------------------
# matplotlib's warnings, said in the user's terms
# ------------------------------------------------------------------------------------

_GLYPH = re.compile(r"Glyph (\d+) .*missing from font\(s\) (.+?)\.?$")
_F = TypeVar("_F", bound=Callable)
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("metakit_figure_depth", default=0)


def plain_warnings(func: _F) -> _F:
    """Run a figure function, turning matplotlib's warnings into ones a reviewer can act on.

    A missing glyph (a study label in Chinese with a Latin-only font) becomes one
    :class:`~metakit.errors.MetakitWarning` naming the characters and what to do; a layout
    warning ("... layout not applied") says the figure is too small for its text. Every
    other warning passes unchanged. Warnings are collected while the figure is drawn and
    said once each afterwards.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if _depth.get():  # inside another figure function: the outermost one reports
            return func(*args, **kwargs)
        token = _depth.set(1)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = func(*args, **kwargs)
        finally:
            _depth.reset(token)
        _reissue(caught, func.__name__)
        return result

    return wrapper  # type: ignore[return-value]


def _reissue(caught: list[warnings.WarningMessage], figure: str) -> None:
    glyphs: dict[str, set[str]] = {}
    layout = False
    seen = set()
    for w in caught:
        text = str(w.message)
        m = _GLYPH.search(text)
        if m is not None:
            glyphs.setdefault(m.group(2), set()).add(chr(int(m.group(1))))
            continue
        if "layout not applied" in text.lower():
            layout = True
            continue
        key = (w.category, text)
        if key not in seen:
            seen.add(key)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for fonts, chars in glyphs.items():
        shown = "".join(sorted(chars))
        warnings.warn(f"{figure}: the font ({fonts}) has no glyph for {shown[:20]!r}"
                      f"{' and more' if len(shown) > 20 else ''}, so these characters are drawn as "
                      "empty boxes; choose a font that has them (font= where the figure takes one, "
                      "else matplotlib's rcParams['font.family'], e.g. 'Noto Sans CJK SC' for Chinese)",
                      MetakitWarning, stacklevel=3)
    if layout:
        warnings.warn(f"{figure}: the figure is too small for its text; make it larger",
                      MetakitWarning, stacklevel=3)


# ------------------------------------------------------------------------------------
# Axis scales
# ------------------------------------------------------------------------------------

# Symmetric log scales around 1 with RevMan-like ticks: upper limit -> ticks.
_RATIO_SCALES = (
    (2.0, (0.5, 0.7, 1, 1.5, 2)),
    (5.0, (0.2, 0.5, 1, 2, 5)),
    (10.0, (0.1, 0.2, 0.5, 1, 2, 5, 10)),
    (20.0, (0.05, 0.2, 1, 5, 20)),
    (50.0, (0.02, 0.1, 1, 10, 50)),
    (100.0, (0.01, 0.1, 1, 10, 100)),
    (200.0, (0.005, 0.1, 1, 10, 200)),
    (500.0, (0.002, 0.1, 1, 10, 500)),
    (1000.0, (0.001, 0.1, 1, 10, 1000)),
)


def _nice_linear(x: float) -> float:
    """Smallest of 1, 2, 4, 5 x 10^k that is >= x."""
    if not x > 0:
        return 1.0
    e = math.floor(math.log10(x))
    for m in (1, 2, 4, 5, 10):
        if m * 10.0 ** e >= x * (1 - 1e-12):
            return m * 10.0 ** e
    return 10.0 ** (e + 1)


def axis_scale(need: Sequence[float], want: Sequence[float], is_ratio: bool,
               null: float = 0.0) -> tuple[float, float, tuple[float, ...]]:
    """Symmetric axis limits and ticks around the null, on the analysis scale.

    ``need`` (point estimates, summary CIs) are always inside the axis; ``want`` (study
    CI bounds, prediction intervals) widen it by at most one step of the ratio scales
    (a factor of 3 on a linear one); beyond that they get arrows. Ratio measures use
    RevMan's symmetric scales 0.5-2, 0.2-5, 0.1-10, 0.05-20, 0.02-50, 0.01-100, ...,
    0.001-1000; linear measures use -L, -L/2, 0, L/2, L with L one of 1, 2, 4, 5 x 10^k.

    Returns
    -------
    (lo, hi, ticks)
        Limits and ticks on the analysis scale (logs for ratio measures).
    """
    dev_need = np.abs(np.asarray([v for v in need if np.isfinite(v)], float) - null)
    dev_want = np.abs(np.asarray([v for v in want if np.isfinite(v)], float) - null)
    n = float(dev_need.max()) if dev_need.size else 0.0
    w = float(dev_want.max()) if dev_want.size else 0.0
    if is_ratio:
        logs = [math.log(u) for u, _ in _RATIO_SCALES]
        first = next((i for i, v in enumerate(logs) if v >= n * (1 - 1e-9)), None)
        if first is None:
            upper = 10.0 ** math.ceil(n / math.log(10.0))
            ticks = (1.0 / upper, 1.0, upper)
        else:
            # One scale step beyond what the estimates need, if the CIs want it.
            pick = first + 1 if w > logs[first] * (1 + 1e-9) and first + 1 < len(logs) \
                else first
            upper, ticks = _RATIO_SCALES[pick]
        lt = tuple(math.log(t) for t in ticks)
        return -math.log(upper), math.log(upper), lt
    target = max(n, min(w, 3.0 * n)) if n > 0 else w
    L = _nice_linear(target)
    return null - L, null + L, (null - L, null - L / 2, null, null + L / 2, null + L)


def tick_label(x: float, is_ratio: bool) -> str:
    """A tick label: ratios back-transformed, shortest exact decimal form."""
    v = math.exp(x) if is_ratio else x
    if is_ratio:
        v = float(f"{v:.6g}")
    if abs(v) < 1e-12:
        return "0"
    return np.format_float_positional(v, precision=6, unique=True, trim="-")
