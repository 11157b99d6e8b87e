"""The report as a PDF: the HTML report laid out by weasyprint (optional extra ``metakit[pdf]``).

The PDF is the HTML page under its print stylesheet (``@media print`` in the template: A4,
page numbers, figures and short tables kept whole, header rows repeated, wide tables on
landscape pages), with the figures as vector graphics and tags for screen readers. It is
written byte for byte the same on a re-run: weasyprint writes no date of its own, and the
creation date is set only when ``SOURCE_DATE_EPOCH`` is (then to that time). An image
weasyprint cannot load is an error, not a PDF with a hole in it.

>>> write_pdf("<p>Ten trials.</p>", "out/report.pdf", ".")  # doctest: +SKIP
PosixPath('out/report.pdf')
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from metakit.report.blocks import fixed_time
from metakit.report.optional import require


class PdfError(RuntimeError):
    """weasyprint could not lay out the report as it is (an image it cannot load)."""


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def render_pdf(html: str, base: str | Path):
    """Lay out ``html`` (links relative to ``base``) as weasyprint pages.

    Returns
    -------
    weasyprint.document.Document
        The laid-out pages (``.pages``), ready for ``write_pdf``.

    Raises
    ------
    MissingExtraError
        weasyprint is not installed (extra ``metakit[pdf]``).
    PdfError
        an image could not be loaded: the PDF would miss a figure.
    """
    weasyprint = require("weasyprint", "weasyprint", "pdf", "the PDF report")
    log = logging.getLogger("weasyprint")
    collect = _Collect()
    # weasyprint's CSS notes (screen-only properties it ignores) are not the user's concern;
    # its errors are collected and raised
    propagate = log.propagate
    log.addHandler(collect)
    log.propagate = False
    try:
        document = weasyprint.HTML(string=html, base_url=str(Path(base).resolve()) + os.sep).render()
    finally:
        log.removeHandler(collect)
        log.propagate = propagate
    if collect.messages:
        raise PdfError("; ".join(collect.messages))
    if os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        stamp = fixed_time().strftime("%Y-%m-%dT%H:%M:%SZ")
        document.metadata.created = document.metadata.modified = stamp
    return document


def write_pdf(html: str, path: str | Path, base: str | Path) -> Path:
    """Write the report ``html`` (links relative to ``base``) as a tagged PDF at ``path``; return it."""
    path = Path(path)
    path.write_bytes(render_pdf(html, base).write_pdf(pdf_tags=True))
    return path
