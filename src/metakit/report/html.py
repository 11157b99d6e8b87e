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


def render_html(spec, sections: list[Section], methods: tuple[str, ...], out: Path) -> str:
    """The report as an HTML string (figure and table links relative to ``out``'s folder)."""
    import jinja2

    from metakit.version import __version__

    env = jinja2.Environment(loader=jinja2.PackageLoader("metakit.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["cell"] = cell
    env.filters["data_uri"] = data_uri
    env.filters["kind"] = _kind
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
        failures=[b for b in all_blocks if isinstance(b, Failure)])


def write_html(spec, sections: list[Section], methods: tuple[str, ...], path: Path) -> Path:
    """Write the report to ``path``; return it."""
    path = Path(path)
    path.write_text(render_html(spec, sections, methods, path), encoding="utf-8", newline="\n")
    return path
