"""The report's tables as a Word document (python-docx, optional extra ``metakit[docx]``).

For journals that take tables as Word files: one ``report.docx`` with the title, the
summary of findings, the warnings, the methods paragraph, and every section of the report
under its own heading (Heading 1 for a section, 2 for an outcome, ...) with its text and
each of its tables as a real Word table under a numbered caption ("Table 3. ..."). Cells
hold the same text as the HTML's (:func:`metakit.report.html.cell`: four significant
digits, whole numbers as such, NaN blank); columns are as wide as their contents; header
rows repeat on every page. A table wider than a portrait page holds
(:func:`metakit.report.html.is_wide`) is on a landscape page, and one too wide even for
that is in parts, as in the PDF (:func:`metakit.report.html.print_parts`), each part
repeating the row labels. With ``figures=True`` the figures go in too (PNG, with their alt
text as the picture's description). Dates in the file are
:func:`metakit.report.blocks.fixed_time`, so a re-run writes the same bytes.

>>> write_docx(spec, sections, methods, "out/report.docx")  # doctest: +SKIP
PosixPath('out/report.docx')
"""

from __future__ import annotations

import io
import numbers
import struct
from pathlib import Path

from metakit.report.blocks import Failure, FigureBlock, Guardrail, Paragraph, Section, TableBlock, fixed_time, fixed_zip
from metakit.report.guardrails import RULES
from metakit.report.html import cell, column_widths, grouped, is_wide, print_parts
from metakit.report.optional import require


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height in pixels, from the PNG's IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def _header_row(row) -> None:
    """Mark ``row`` as a header row that Word repeats at the top of every page."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    tr_pr.append(flag)


def _narrow_margins(table) -> None:
    """Cell margins of 0.1 cm left and right (Word's default is 0.19 cm): more room for digits."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        m = OxmlElement(f"w:{side}")
        m.set(qn("w:w"), "57")  # twentieths of a point
        m.set(qn("w:type"), "dxa")
        margins.append(m)
    table._tbl.tblPr.append(margins)


def _orient(doc, landscape: bool) -> None:
    """Start a new section (page) in the given orientation."""
    from docx.enum.section import WD_ORIENT, WD_SECTION

    last = doc.sections[-1]
    if (last.orientation == WD_ORIENT.LANDSCAPE) == landscape:
        return
    new = doc.add_section(WD_SECTION.NEW_PAGE)
    width, height = last.page_width, last.page_height
    new.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    new.page_width, new.page_height = height, width


class _Writer:
    """Adds a report's blocks to a python-docx document, numbering tables and figures."""

    def __init__(self, doc, figures: bool):
        self.doc, self.figures = doc, figures
        self.tables = self.figure_count = 0

    def table(self, b: TableBlock) -> None:
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm, Pt

        frame = b.frame
        wide = is_wide(frame)
        _orient(self.doc, wide)
        self.tables += 1
        points = 7 if wide else 8
        size = Pt(points)
        page = 25.7 if wide else 17.0
        # a character of 8-point Calibri or Arial is at most about 0.17 cm wide, plus 0.2 cm of
        # cell margins; a table wider than the page shrinks to fit it
        widths = [(w - 2) * 0.17 * points / 8 + 0.2 for w in column_widths(frame)]
        parts = print_parts(frame)
        rows = [list(r) for r in frame.itertuples(index=False)]

        def put(c, text: str, *, bold: bool = False, right: bool = False) -> None:
            p = c.paragraphs[0]
            run = p.add_run(text)
            run.font.size, run.bold = size, bold
            if right:
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT

        for n, cols in enumerate(parts, start=1):
            part = f" (part {n} of {len(parts)})" if len(parts) > 1 else ""
            caption = self.doc.add_paragraph(f"Table {self.tables}. {b.caption}{part}", style="Caption")
            caption.paragraph_format.keep_with_next = True
            table = self.doc.add_table(rows=1, cols=len(cols), style="Table Grid")
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            table.autofit = False
            _narrow_margins(table)
            scale = min(1.0, page / sum(widths[i] for i in cols))
            for c, i in zip(table.rows[0].cells, cols):
                put(c, str(frame.columns[i]), bold=True)
            _header_row(table.rows[0])
            for record in rows:
                for c, i in zip(table.add_row().cells, cols):
                    v = record[i]
                    put(c, cell(v), right=isinstance(v, numbers.Real) and not isinstance(v, bool))
            for column, i in zip(table.columns, cols):
                column.width = Cm(widths[i] * scale)
                for c in column.cells:  # Word reads the cells' widths, LibreOffice the grid's
                    c.width = column.width
            self.doc.add_paragraph()
        if wide:
            _orient(self.doc, False)

    def figure(self, b: FigureBlock) -> None:
        from docx.shared import Cm

        _orient(self.doc, False)
        self.figure_count += 1
        width, height = _png_size(b.png)
        # 16 cm wide (A4 less margins) unless that makes it taller than 22 cm
        w = min(16.0, 22.0 * width / height)
        self.doc.add_picture(str(b.png), width=Cm(w))
        picture = self.doc.paragraphs[-1]
        picture.paragraph_format.keep_with_next = True
        self.doc.inline_shapes[-1]._inline.docPr.set("descr", b.alt)
        self.doc.add_paragraph(f"Figure {self.figure_count}. {b.caption.rstrip('.')}.", style="Caption")

    def warning(self, w: Guardrail) -> None:
        p = self.doc.add_paragraph()
        p.add_run(f"Warning ({w.where}): {w.title}. ").bold = True
        p.add_run(f"Why it matters: {w.reason} What to do: {w.action}")

    def failure(self, f: Failure) -> None:
        p = self.doc.add_paragraph()
        p.add_run(f"Failed: {f.what}. ").bold = True
        p.add_run(f.message)

    def section(self, s: Section, level: int) -> None:
        if s.available and s.blocks and isinstance(s.blocks[0], TableBlock) and is_wide(s.blocks[0].frame):
            _orient(self.doc, True)  # the heading goes on the wide table's landscape page
        self.doc.add_heading(s.title, min(level, 9))
        if not s.available:
            self.doc.add_paragraph(f"Not yet available in this version. {s.blocks[0].text}")
            return
        for b in s.blocks:
            if isinstance(b, Paragraph):
                self.doc.add_paragraph(b.text)
            elif isinstance(b, TableBlock):
                self.table(b)
            elif isinstance(b, FigureBlock) and self.figures:
                self.figure(b)
            elif isinstance(b, Guardrail):
                self.warning(b)
            elif isinstance(b, Failure):
                self.failure(b)
        for c in s.children:
            self.section(c, level + 1)


def build_docx(spec, sections: list[Section], methods: tuple[str, ...], *, figures: bool = False,
               failures: list[Failure] = ()) -> bytes:
    """The report as DOCX bytes (see the module's description).

    Raises
    ------
    MissingExtraError
        python-docx is not installed (extra ``metakit[docx]``).
    """
    docx = require("docx", "python-docx", "docx", "the DOCX report")
    from docx.shared import Cm, Pt

    from metakit.version import __version__

    doc = docx.Document()
    for s in doc.sections:
        s.page_width, s.page_height = Cm(21.0), Cm(29.7)
        s.left_margin = s.right_margin = s.top_margin = s.bottom_margin = Cm(2.0)
    # python-docx's template sets Cambria; Calibri is Word's own default and narrower
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(10)
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = spec.title, f"metakit {__version__}", ""
    props.comments, props.revision = "", 1
    props.created = props.modified = fixed_time().replace(tzinfo=None)

    doc.add_heading(spec.title, 0)
    for text in (spec.question, spec.note):
        if text:
            doc.add_paragraph(text)
    w = _Writer(doc, figures)
    all_blocks = [b for s in sections for x in s.walk() for b in x.blocks]
    outcomes = next((s for s in sections if s.id == "outcomes"), None)
    doc.add_heading("Summary of findings", 1)
    findings = [] if outcomes is None else [
        (c.title, c.numbers["sentence"]) for c in outcomes.children if "sentence" in c.numbers]
    for title, sentence in findings:
        p = doc.add_paragraph()
        p.add_run(f"{title}. ").bold = True
        p.add_run(sentence)
    if not findings:
        doc.add_paragraph("No outcome was analysed.")
    doc.add_heading("Warnings", 1)
    fails = [*(b for b in all_blocks if isinstance(b, Failure)), *failures]
    warnings = grouped([b for b in all_blocks if isinstance(b, Guardrail)])
    if not warnings and not fails:
        doc.add_paragraph("No guardrail fired and no analysis failed.")
    for f in fails:
        w.failure(f)
    for places, g in warnings:
        p = doc.add_paragraph()
        p.add_run(f"Warning: {g.title}" if len(places) == 1
                  else f"Warning: {RULES.get(g.code, g.title)}, in {len(places)} analyses: ").bold = True
        p.add_run(f" ({places[0][0]}). " if len(places) == 1
                  else "; ".join(f"{where}: {title}" for where, title in places) + ". ")
        p.add_run(f"Why it matters: {g.reason} What to do: {g.action}")
    doc.add_heading("Methods", 1)
    doc.add_paragraph(" ".join(methods))
    for s in sections:
        w.section(s, 1)
    doc.add_paragraph(f"Made with metakit {__version__}.")
    buf = io.BytesIO()
    doc.save(buf)
    return fixed_zip(buf.getvalue())


def write_docx(spec, sections: list[Section], methods: tuple[str, ...], path: str | Path, *,
               figures: bool = False, failures: list[Failure] = ()) -> Path:
    """Write the report as DOCX at ``path`` (see :func:`build_docx`); return it."""
    path = Path(path)
    path.write_bytes(build_docx(spec, sections, methods, figures=figures, failures=failures))
    return path
