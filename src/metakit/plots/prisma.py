"""PRISMA 2020 flow diagram, drawn with matplotlib from :class:`PrismaCounts`.

The layout follows the PRISMA 2020 template for new systematic reviews which included
searches of databases, registers and other sources (Page MJ et al. *BMJ*
2021;372:n71, figure 1): phase labels (Identification, Screening, Included) on the
left; the databases-and-registers column with its side boxes (records removed before
screening, records excluded, reports not retrieved, reports excluded with reasons);
and, when used, the "other methods" column on the right.

Box sizes are measured from the rendered text, so no count or reason overflows its box.
Each box's artists carry a ``gid`` ``prisma-<box>`` which survives into SVG output.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

from metakit.plots import _layout
from metakit.review.prisma_counts import Count, PrismaCounts

__all__ = ["prisma_flow", "box_texts"]

_FONT = 8.0          # points
_PAD = 0.08          # inches of padding inside a box
_COL_W = 2.55        # inches, width of a main box
_SIDE_W = 2.55       # inches, width of a side box
_GAP_X = 0.35        # inches between a main box and its side box
_GAP_Y = 0.28        # inches between rows
_LABEL_W = 0.32      # inches, phase label bar
_HEADER_COLOUR = "#f6c75b"
_OTHER_HEADER_COLOUR = "#d9d9d9"
_PHASE_COLOUR = "#a9c5e8"
_FOOTNOTE = ("* Records per database or register searched, where reported. "
             "** Records excluded by reviewers at title and abstract; records removed by "
             "automation tools are counted before screening. NR: not reported.")


_NBSP = "\u00a0"


def _n(value: Count) -> str:
    return "NR" if value is None else f"{value:,}"


def _items(mapping: Mapping[str, Count] | None, indent: str = "  ") -> list[str]:
    return [f"{indent}{name} (n = {_n(v)})" for name, v in (mapping or {}).items()]


def box_texts(counts: PrismaCounts) -> dict[str, str]:
    """The text of each box of the diagram, keyed by box name.

    Box names: identified, removed, screened, excluded, sought, not_retrieved,
    assessed, reports_excluded, included; and other_identified, other_sought,
    other_not_retrieved, other_assessed, other_reports_excluded when the other-methods
    column is used.
    """
    c = counts
    identified = ["Records identified from*:"]
    if c.databases:
        identified.append(f"Databases (n = {_n(_sum(c.databases))})")
        identified += _items(c.databases)
    if c.registers:
        identified.append(f"Registers (n = {_n(_sum(c.registers))})")
        identified += _items(c.registers)
    texts = {
        "identified": "\n".join(identified),
        "removed": "\n".join([
            "Records removed before screening:",
            f"  Duplicate records removed (n = {_n(c.duplicates_removed)})",
            "  Records marked as ineligible by",
            f"  automation tools (n = {_n(c.removed_by_automation)})",
            f"  Records removed for other reasons (n = {_n(c.removed_other)})",
        ]),
        "screened": f"Records screened\n(n = {_n(c.records_screened)})",
        "excluded": f"Records excluded**\n(n = {_n(c.records_excluded)})",
        "sought": f"Reports sought for retrieval\n(n = {_n(c.reports_sought)})",
        "not_retrieved": f"Reports not retrieved\n(n = {_n(c.reports_not_retrieved)})",
        "assessed": f"Reports assessed for eligibility\n(n = {_n(c.reports_assessed)})",
        "reports_excluded": _excluded_text(c.reports_excluded),
        "included": (f"Studies included in review\n(n = {_n(c.studies_included)})\n"
                     f"Reports of included studies\n(n = {_n(c.reports_included)})"),
    }
    if c.uses_other_methods:
        texts.update({
            "other_identified": "\n".join(["Records identified from:"]
                                          + _items(c.other_sources, indent="")),
            "other_sought": f"Reports sought for retrieval\n(n = {_n(c.other_reports_sought)})",
            "other_not_retrieved":
                f"Reports not retrieved\n(n = {_n(c.other_reports_not_retrieved)})",
            "other_assessed":
                f"Reports assessed for eligibility\n(n = {_n(c.other_reports_assessed)})",
            "other_reports_excluded": _excluded_text(c.other_reports_excluded),
        })
    return texts


def _excluded_text(reasons: Mapping[str, Count] | None) -> str:
    head = f"Reports excluded (n = {_n(_sum(reasons))})"
    return "\n".join([head + ":", *_items(reasons)]) if reasons else head


def _sum(mapping: Mapping[str, Count] | None) -> Count:
    if mapping is None:
        return None
    values = list(mapping.values())
    return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


@dataclass
class _Box:
    name: str
    text: Any            # matplotlib Text
    w: float
    h: float
    x: float = 0.0       # lower-left corner, inches
    y: float = 0.0


def _wrap(text: str, width_chars: int) -> str:
    """Wrap each line; "(n = 12)" is never split (no-break spaces while wrapping)."""
    text = text.replace("(n = ", f"(n{_NBSP}={_NBSP}")
    out = []
    for line in text.split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        out.extend(textwrap.wrap(line, width_chars, subsequent_indent=indent + "  ",
                                 break_long_words=True) or [""])
    return "\n".join(out).replace(_NBSP, " ")


@_layout.plain_warnings
def prisma_flow(counts: PrismaCounts, path: str | Path | None = None, *,
                title: str | None = None, dpi: int = 200) -> Any:
    """Draw the PRISMA 2020 flow diagram.

    Parameters
    ----------
    counts
        The box counts.
    path
        Where to save; the suffix picks the format (.svg, .pdf, .png). Text in SVG is
        kept as text (editable, searchable).
    title
        Optional title above the diagram.
    dpi
        Resolution of raster output.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; ``fig.metakit_boxes`` maps box name to its (x, y, w, h) in inches.

    Examples
    --------
    >>> c = PrismaCounts(databases={"MEDLINE": 5}, records_screened=5, records_excluded=5,
    ...                  reports_sought=0, reports_assessed=0, reports_included=0,
    ...                  studies_included=0)
    >>> fig = prisma_flow(c)
    >>> sorted(fig.metakit_boxes)[:3]
    ['assessed', 'excluded', 'identified']
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    texts = box_texts(counts)
    other = counts.uses_other_methods
    x_main = _LABEL_W + 0.15
    x_side = x_main + _COL_W + _GAP_X
    x_other = x_side + _SIDE_W + 0.45
    x_other_side = x_other + _COL_W + _GAP_X
    width = (x_other_side + _SIDE_W if other else x_side + _SIDE_W) + 0.1
    fig = Figure(figsize=(width, 8.0))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    renderer = fig.canvas.get_renderer()

    boxes: dict[str, _Box] = {}
    for name, raw in texts.items():
        box_w = _SIDE_W if name in ("removed", "excluded", "not_retrieved",
                                    "reports_excluded", "other_not_retrieved",
                                    "other_reports_excluded") else _COL_W
        centred = name in ("screened", "sought", "assessed", "included", "other_sought",
                           "other_assessed")
        chars = int((box_w - 2 * _PAD) / (_FONT * 0.55 / 72))
        while True:
            wrapped = _wrap(raw, chars)
            t = ax.text(0, 0, wrapped, fontsize=_FONT, ha="center" if centred else "left",
                        va="center", gid=f"prisma-{name}", linespacing=1.3)
            ext = t.get_window_extent(renderer)
            if ext.width / fig.dpi <= box_w - 2 * _PAD or chars < 10:
                break
            t.remove()
            chars -= 2
        h = ext.height / fig.dpi + 2 * _PAD
        boxes[name] = _Box(name, t, box_w, h)

    # rows, top to bottom; each row's height is its tallest box
    rows = [("identified", "removed", "other_identified", None),
            ("screened", "excluded", None, None),
            ("sought", "not_retrieved", "other_sought", "other_not_retrieved"),
            ("assessed", "reports_excluded", "other_assessed", "other_reports_excluded"),
            ("included", None, None, None)]
    xs = (x_main, x_side, x_other, x_other_side)
    header_h = 0.32
    top_margin = 0.15 + (0.35 if title else 0.0)
    y = -top_margin - header_h - _GAP_Y
    row_spans = []
    for row in rows:
        present = [boxes[n] for n in row if n is not None and n in boxes]
        row_h = max(b.h for b in present)
        # The boxes of the flow (databases, other methods) hang from the row's top, so the
        # two columns start level; a side box is centred on the arrow from its flow box
        # (the flow box's middle), kept inside the row.
        for k, (name, x) in enumerate(zip(row, xs)):
            if name is None or name not in boxes:
                continue
            b = boxes[name]
            if k % 2 == 0:
                b.x, b.y = x, y - b.h
            else:
                flow = boxes.get(row[k - 1]) if row[k - 1] is not None else None
                middle = flow.y + flow.h / 2 if flow is not None else y - row_h / 2
                b.x, b.y = x, min(max(middle - b.h / 2, y - row_h), y - b.h)
        row_spans.append((y - row_h, y))
        y -= row_h + _GAP_Y
    foot_chars = int((width - x_main - 0.1) / (_FONT * 0.5 / 72))
    foot = ax.text(x_main, 0, _wrap(_FOOTNOTE, foot_chars), fontsize=_FONT - 1,
                   ha="left", va="top", color="#333333", gid="prisma-footnote")
    foot_h = foot.get_window_extent(renderer).height / fig.dpi
    foot_top = y + _GAP_Y - 0.12
    bottom = foot_top - foot_h - 0.1
    height = -bottom
    # shift everything up so coordinates are positive
    for b in boxes.values():
        b.y += height
    row_spans = [(lo + height, hi + height) for lo, hi in row_spans]
    fig.set_size_inches(width, height)
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)

    foot.set_position((x_main, foot_top + height))
    for b in boxes.values():
        ax.add_patch(FancyBboxPatch((b.x, b.y), b.w, b.h, boxstyle="square,pad=0",
                                    fc="white", ec="black", lw=0.8, gid=f"prisma-{b.name}-box"))
        if b.text.get_ha() == "center":
            b.text.set_position((b.x + b.w / 2, b.y + b.h / 2))
        else:
            b.text.set_position((b.x + _PAD, b.y + b.h / 2))

    def header(x0: float, x1: float, label: str, colour: str) -> None:
        y0 = height - top_margin - header_h
        ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, header_h,
                                    boxstyle="round,pad=0,rounding_size=0.06",
                                    fc=colour, ec="black", lw=0.8))
        ax.text((x0 + x1) / 2, y0 + header_h / 2, label, ha="center", va="center",
                fontsize=_FONT + 1, fontweight="bold")

    header(x_main, x_side + _SIDE_W, "Identification of studies via databases and registers",
           _HEADER_COLOUR)
    if other:
        header(x_other, x_other_side + _SIDE_W, "Identification of studies via other methods",
               _OTHER_HEADER_COLOUR)
    if title:
        ax.text(width / 2, height - 0.25, title, ha="center", va="center",
                fontsize=_FONT + 3, fontweight="bold")

    phases = [("Identification", row_spans[0]), ("Screening", (row_spans[3][0], row_spans[1][1])),
              ("Included", row_spans[4])]
    for label, (lo, hi) in phases:
        ax.add_patch(FancyBboxPatch((0.08, lo), _LABEL_W - 0.04, hi - lo,
                                    boxstyle="round,pad=0,rounding_size=0.08",
                                    fc=_PHASE_COLOUR, ec="none"))
        ax.text(0.08 + (_LABEL_W - 0.04) / 2, (lo + hi) / 2, label, rotation=90,
                ha="center", va="center", fontsize=_FONT + 1, fontweight="bold")

    def arrow(p: tuple[float, float], q: tuple[float, float]) -> None:
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=9, lw=0.8,
                                     color="black", shrinkA=0, shrinkB=0))

    def below(a: str, b: str) -> None:
        A, B = boxes[a], boxes[b]
        arrow((A.x + A.w / 2, A.y), (B.x + B.w / 2, B.y + B.h))

    def right(a: str, b: str) -> None:
        A, B = boxes[a], boxes[b]
        arrow((A.x + A.w, A.y + A.h / 2), (B.x, A.y + A.h / 2))

    for a, b in (("identified", "screened"), ("screened", "sought"), ("sought", "assessed"),
                 ("assessed", "included")):
        below(a, b)
    for a, b in (("identified", "removed"), ("screened", "excluded"),
                 ("sought", "not_retrieved"), ("assessed", "reports_excluded")):
        right(a, b)
    if other:
        below("other_identified", "other_sought")
        below("other_sought", "other_assessed")
        right("other_sought", "other_not_retrieved")
        right("other_assessed", "other_reports_excluded")
        # elbow from the other column's assessed box into the included box
        A, B = boxes["other_assessed"], boxes["included"]
        elbow_y = B.y + B.h / 2
        ax.plot([A.x + A.w / 2, A.x + A.w / 2], [A.y, elbow_y], color="black", lw=0.8)
        arrow((A.x + A.w / 2, elbow_y), (B.x + B.w, elbow_y))

    fig.metakit_boxes = {n: (b.x, b.y, b.w, b.h) for n, b in boxes.items()}
    if path is not None:
        with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
            fig.savefig(path, dpi=dpi)
    return fig
