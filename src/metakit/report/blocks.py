"""The pieces of a report and how each is written to disk, byte for byte the same on a re-run.

A section of the report is a list of blocks: paragraphs, figures (SVG + PNG), tables
(CSV + XLSX), guardrail warnings and failures. Figures are saved with matplotlib's SVG
hash salt fixed and without the date, PNGs without the software stamp, and XLSX files
with fixed document dates and zip entry times, so that unchanged inputs give unchanged
files.

>>> Paragraph("Ten trials were included.").text
'Ten trials were included.'
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: fixed time stamp written into XLSX files (and their zip entries) instead of "now"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Paragraph:
    """Text, one paragraph."""

    text: str


@dataclass(frozen=True)
class FigureBlock:
    """A figure written as ``svg`` and ``png``; ``alt`` is its text alternative."""

    stem: str
    alt: str
    caption: str
    svg: Path
    png: Path


@dataclass(frozen=True)
class TableBlock:
    """A table written as ``csv`` and ``xlsx``; ``frame`` is what the HTML shows."""

    stem: str
    caption: str
    frame: Any
    csv: Path
    xlsx: Path


@dataclass(frozen=True)
class Guardrail:
    """A warning about an analysis: what is wrong, why it matters and what to do."""

    code: str
    where: str
    title: str
    reason: str
    action: str

    def summary(self) -> str:
        """One line for the terminal."""
        return f"{self.where}: {self.title}. {self.reason} What to do: {self.action}"


@dataclass(frozen=True)
class Failure:
    """An analysis that failed: the report is built without it and says why."""

    what: str
    message: str


@dataclass
class Section:
    """One heading of the report with its blocks and sub-sections.

    ``available`` is False for sections this version of metakit cannot build yet; the
    report says so instead of leaving them out. ``numbers`` keeps the values the text
    quotes (for checks against the library's results).
    """

    id: str
    title: str
    blocks: list = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    available: bool = True
    methods: list[str] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)

    def walk(self):
        """This section and every sub-section, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


def save_figure(fig, out: Path, stem: str, alt: str, caption: str, dpi: float = 150) -> FigureBlock:
    """Write ``fig`` as ``out/stem.svg`` and ``out/stem.png``, reproducibly."""
    import matplotlib

    out.mkdir(parents=True, exist_ok=True)
    svg, png = out / f"{stem}.svg", out / f"{stem}.png"
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "metakit"}):
        fig.savefig(svg, format="svg", facecolor="white", metadata={"Date": None})
        fig.savefig(png, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return FigureBlock(stem, alt, caption, svg, png)


def _fixed_xlsx(data: bytes) -> bytes:
    """The XLSX ``data`` with document dates and zip entry times set to :data:`FIXED_TIME`."""
    stamp = "1980-01-01T00:00:00Z"
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              lambda m: m.group(1) + stamp.encode() + m.group(3), body)
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), body,
                         compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def save_table(frame, out: Path, stem: str, caption: str) -> TableBlock:
    """Write ``frame`` as ``out/stem.csv`` and ``out/stem.xlsx``, reproducibly."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    csv, xlsx = out / f"{stem}.csv", out / f"{stem}.xlsx"
    frame.to_csv(csv, index=False, lineterminator="\n")
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=stem[:31])
    xlsx.write_bytes(_fixed_xlsx(buf.getvalue()))
    return TableBlock(stem, caption, frame, csv, xlsx)
