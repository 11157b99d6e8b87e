"""The self-contained HTML report: figures embedded as SVG data URIs, tables as tables.

The page is one file with no external resource: it opens from an e-mail attachment and
prints to PDF from a browser. Headings go h1 > h2 > h3 > h4 without skipping a level,
every image has its alt text, and the layout reflows at 400% zoom (WCAG 1.4.10).

>>> import numpy as np
>>> cell(0.14477), cell(np.int64(3)), cell(float("nan")), cell("Ma 2014")
('0.1448', '3', '', 'Ma 2014')
"""

from __future__ import annotations

import base64
import math
import numbers
from pathlib import Path

from markupsafe import Markup, escape

from metakit.report.blocks import Failure, FigureBlock, Guardrail, Paragraph, Section, TableBlock
from metakit.report.guardrails import RULES


def cell(x) -> str:
    """A table cell: numbers with 4 significant digits, whole numbers as such, NaN blank."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return "" if x is None else str(x)
    x = float(x)
    if not math.isfinite(x):
        return ""
    if float(x).is_integer() and abs(x) < 1e9:
        return str(int(x))
    return f"{x:.4g}"


#: a table whose :func:`print_width` exceeds this many characters prints on a landscape page
#: (PDF, DOCX): an A4 portrait page holds about 130 characters of 7-point table text
WIDE = 130
#: a table wider than this is printed in parts (the landscape page holds about 200 characters
#: of 6-point text), each part repeating the table's leading text columns
SPLIT = 200
#: a table with more rows than this may break across pages in print (the header row repeats)
LONG = 25


def _text_width(text: str) -> int:
    # text longer than 16 characters wraps at its spaces
    return len(text) if len(text) <= 16 else max(16, *(len(w) for w in text.split()))


def column_widths(frame) -> list[int]:
    """Each column's printed width in characters (see :func:`print_width`)."""
    return [max([max(len(p) for p in str(c).split("_")), *(_text_width(cell(v)) for v in frame[c])]) + 2
            for c in frame.columns]


def print_width(frame) -> int:
    """The width of ``frame`` as printed, in characters: per column its longest cell text (text of
    more than 16 characters counted by its longest word, as it wraps) or the longest
    underscore-separated part of its name, plus 2 for the cell padding.

    >>> import pandas as pd
    >>> print_width(pd.DataFrame({"study": ["Ma 2014"], "nma_pval": [0.0123456]}))  # (7 + 2) + (7 + 2)
    18
    """
    return sum(column_widths(frame))


def is_wide(frame) -> bool:
    """Whether ``frame`` prints on a landscape page (see :data:`WIDE`)."""
    return print_width(frame) > WIDE


def print_parts(frame) -> list[list[int]]:
    """The column positions of each part ``frame`` is printed in: one part when it is at most
    :data:`SPLIT` characters wide, else parts of at most that width, each starting with the
    table's leading text columns (the row labels).

    >>> import pandas as pd
    >>> wide = pd.DataFrame({"treat1": ["CD"], **{f"direct_{i}": [0.123456] for i in range(30)}})
    >>> [len(p) for p in print_parts(wide)]
    [16, 16]
    """
    import pandas as pd

    widths = column_widths(frame)
    if sum(widths) <= SPLIT:
        return [list(range(len(widths)))]
    keys = []
    for i, c in enumerate(frame.columns):
        if pd.api.types.is_numeric_dtype(frame[c]) or sum(widths[j] for j in [*keys, i]) > SPLIT // 2:
            break
        keys.append(i)
    keys = keys or [0]
    rest = range(len(keys), len(widths))
    if not rest:  # one column wider than the page: nothing to split
        return [list(range(len(widths)))]
    total = sum(widths[i] for i in rest)
    room = max(SPLIT - sum(widths[k] for k in keys), SPLIT // 2)
    # parts of about equal width: a part ends where the next column's middle passes its share
    share = total / -(-total // room)
    parts: list[list[int]] = []
    done = 0
    for i in rest:
        if (not parts or done + widths[i] / 2 > share * len(parts)
                or sum(widths[j] for j in parts[-1]) + widths[i] > SPLIT):
            parts.append(list(keys))
        parts[-1].append(i)
        done += widths[i]
    return parts


def breakable(name) -> Markup:
    """A column name that may wrap after its underscores (``nma_pval``), HTML-escaped.

    >>> str(breakable("direct_TE<"))
    'direct_<wbr>TE&lt;'
    """
    return escape(str(name)).replace("_", Markup("_<wbr>"))


def data_uri(path: Path) -> str:
    """``path`` (SVG or PNG) as a base64 data URI."""
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _kind(block) -> str:
    for cls, name in ((Paragraph, "paragraph"), (FigureBlock, "figure"), (TableBlock, "table"),
                      (Guardrail, "guardrail"), (Failure, "failure")):
        if isinstance(block, cls):
            return name
    raise TypeError(f"unknown report block {type(block).__name__}")


def grouped(guardrails: list[Guardrail]) -> list[tuple[list[tuple[str, str]], Guardrail]]:
    """Guardrails with the same rule, reason and advice, shown once with every place they fired."""
    groups: dict[tuple[str, str, str], list[Guardrail]] = {}
    for w in guardrails:
        groups.setdefault((w.code, w.reason, w.action), []).append(w)
    return [([(w.where, w.title) for w in ws], ws[0]) for ws in groups.values()]


def render_html(spec, sections: list[Section], methods: tuple[str, ...], out: Path,
                failures: list[Failure] = ()) -> str:
    """The report as an HTML string (figure and table links relative to ``out``'s folder).

    ``failures`` are failures outside the sections (a report format that could not be
    written); they are listed with the others under Warnings.
    """
    import jinja2

    from metakit.version import __version__

    env = jinja2.Environment(loader=jinja2.PackageLoader("metakit.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["cell"] = cell
    env.filters["data_uri"] = data_uri
    env.filters["kind"] = _kind
    env.filters["breakable"] = breakable
    env.filters["wide"] = is_wide
    env.filters["parts"] = print_parts
    env.globals["long"] = LONG
    env.globals["rules"] = RULES
    env.filters["rel"] = lambda p: Path(p).relative_to(out.parent).as_posix()
    env.filters["records"] = lambda frame: [list(r) for r in frame.itertuples(index=False)]
    all_blocks = [b for s in sections for x in s.walk() for b in x.blocks]
    outcomes = next((s for s in sections if s.id == "outcomes"), None)
    findings = [] if outcomes is None else [
        (c.title, c.numbers["sentence"]) for c in outcomes.children if "sentence" in c.numbers]
    return env.get_template("report.html.j2").render(
        spec=spec, sections=sections, methods=methods, version=__version__, findings=findings,
        guardrails=grouped([b for b in all_blocks if isinstance(b, Guardrail)]),
        failures=[*(b for b in all_blocks if isinstance(b, Failure)), *failures])


def write_html(spec, sections: list[Section], methods: tuple[str, ...], path: Path,
               failures: list[Failure] = ()) -> Path:
    """Write the report to ``path``; return it."""
    path = Path(path)
    path.write_text(render_html(spec, sections, methods, path, failures), encoding="utf-8", newline="\n")
    return path
