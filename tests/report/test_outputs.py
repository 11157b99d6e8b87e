"""The report as PDF (weasyprint) and DOCX (python-docx): content, reproducibility, failures.

The example review (examples/stem-cell-onfh) is built once with both formats. The PDF is
checked in the file itself (its page tree, decompressed from the PDF's streams, against the
laid-out pages) and in weasyprint's layout of it (every figure laid out as an image with a
size, the key numbers as text); with pypdf installed (the ``test`` extra) its text is also
extracted from the file. The DOCX is read back with python-docx: every table of the run is
there as a Word table whose cells are the CSV's values formatted as in the HTML, and the
Hernigou 2018 odds ratio is checked against the hand calculation (35 x 35) / (90 x 90).
"""

from __future__ import annotations

import re
import shutil
import sys
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import metakit as mk
from metakit.cli import app
from metakit.report.blocks import TableBlock
from metakit.report.html import cell, print_parts
from metakit.report.optional import MissingExtraError, require
from metakit.report.runner import run_review

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "stem-cell-onfh"

weasyprint = pytest.importorskip("weasyprint")
docx = pytest.importorskip("docx")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("formats")
    return run_review(EXAMPLE / "review.yaml", out, formats=("pdf", "docx")), out


def _small_review(folder: Path) -> Path:
    shutil.copy(EXAMPLE / "binary.csv", folder / "binary.csv")
    (folder / "review.yaml").write_text(
        "title: Small\nsheets:\n  b: binary.csv\noutcomes:\n"
        "  - {id: tha, name: THA, sheet: b, where: {outcome: THA}, measure: OR, funnel: false}\n",
        encoding="utf-8")
    return folder / "review.yaml"


def _pdf_objects(data: bytes) -> bytes:
    """The PDF's bytes with every Flate stream decompressed (object streams hold the page tree)."""
    parts = [data]
    for m in re.finditer(rb"stream\r?\n", data):
        try:
            parts.append(zlib.decompressobj().decompress(data[m.end():]))
        except zlib.error:
            continue
    return b"\n".join(parts)


def _layout(result):
    """weasyprint's pages of the report: (images laid out, text of every text box)."""
    from weasyprint.formatting_structure import boxes

    from metakit.report.html import render_html
    from metakit.report.pdf import render_pdf

    html = render_html(result.spec, list(result.sections), result.methods, result.html)
    document = render_pdf(html, result.html.parent)
    images, text = [], []
    for page in document.pages:
        for box in page._page_box.descendants():
            if isinstance(box, boxes.ReplacedBox):
                images.append((box.element.get("alt"), box.width, box.height))
            elif isinstance(box, boxes.TextBox):
                text.append(box.text)
    return document, images, " ".join(text)


def _collapse_sentence() -> str:
    rows = pd.read_csv(EXAMPLE / "binary.csv")
    rows = rows[rows.outcome == "collapse"].assign(label=lambda d: d.study + " " + d.year.astype(str))
    fit = mk.meta(mk.effect_sizes(rows, "OR", study="label"), method="MH", tau2_method="DL",
                  convention="revman")
    want = fit.predict()
    return f"OR = {want['pred']:.2f}; 95% CI: {want['ci_lb']:.2f}-{want['ci_ub']:.2f}"


def test_pdf_has_its_pages_every_figure_and_the_key_numbers(built):
    result, out = built
    pdf = out / "report.pdf"
    assert result.files["pdf"] == pdf and result.failures == []
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    objects = _pdf_objects(data)
    pages = len(re.findall(rb"/Type\s*/Page(?![a-z])", objects))
    document, images, text = _layout(result)
    assert pages == len(document.pages) > 10
    # every figure of the run is laid out as an image (a broken one would be its alt text)
    figures = sorted((out / "figures").glob("*.svg"))
    assert len(images) == len(figures) >= 17
    assert all(alt and w > 50 and h > 50 for alt, w, h in images)
    assert _collapse_sentence() in text
    assert f"{1225 / 8100:.4g}" == "0.1512" and "0.1512" in text  # Hernigou 2018 collapse OR
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text


def test_pdf_text_extracted_from_the_file(built):
    """Runs where pypdf is installed (the ``test`` extra): the text is in the PDF file itself,
    the figures' own words included (the forest plot's "Favours" labels are SVG text)."""
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(built[1] / "report.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    assert _collapse_sentence() in flat
    assert "Page 1 of" in flat and "Favours" in flat and "Hernigou 2018" in flat


def test_docx_tables_equal_the_csv_tables(built):
    """Every table of the run, read back from the DOCX, holds the CSV's cells formatted as in the
    HTML; a table printed in parts is put back together by its column names."""
    result, out = built
    document = docx.Document(str(out / "report.docx"))
    blocks = [b for s in result.sections for x in s.walk() for b in x.blocks if isinstance(b, TableBlock)]
    assert len(blocks) == len(list((out / "tables").glob("*.csv")))
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    tables = iter(document.tables)
    for i, block in enumerate(blocks, start=1):
        csv = pd.read_csv(block.csv, keep_default_na=False, na_values=[""])
        seen: set[str] = set()
        while seen != set(csv.columns):
            table = next(tables)
            cells = [[c.text for c in row.cells] for row in table.rows]
            header = cells[0]
            assert set(header) <= set(csv.columns), block.stem
            want = [[cell(v) for v in row] for row in csv[header].itertuples(index=False)]
            assert cells[1:] == want, block.stem
            assert table.rows[0]._tr.trPr.xpath("./w:tblHeader"), "the header row does not repeat"
            seen |= set(header)
        title = f"Table {i}. {block.caption}"
        assert title in captions or f"{title} (part 1 of 2)" in captions, title
    assert next(tables, None) is None
    # the 28-column netsplit table is the one in two parts, each led by the two treatments
    parts = [c for c in captions if "(part " in c]
    assert len(parts) == 2 and all("direct and indirect evidence" in c for c in parts)
    # tables before the split netsplit table are at their own position
    at = [b.stem for b in blocks].index("collapse_studies")
    assert at < [b.stem for b in blocks].index("dose_netsplit")
    studies = document.tables[at]
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in studies.rows}
    assert rows["Hernigou 2018"][1] == "0.1512"  # (35 x 35) / (90 x 90) = 0.15123
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    for title in ("Summary of findings", "Warnings", "Methods", "Study selection",
                  "Characteristics of included studies", "Risk of bias", "Results by outcome",
                  "Sensitivity analyses", "Network meta-analysis", "Harris hip score"):
        assert title in headings, title
    assert any(_collapse_sentence() in p.text for p in document.paragraphs)
    assert len(document.inline_shapes) == 0  # figures only with output.docx_figures


def test_wide_tables_print_on_landscape_pages(built):
    from docx.enum.section import WD_ORIENT

    result, out = built
    document = docx.Document(str(out / "report.docx"))
    assert [s.orientation for s in document.sections].count(WD_ORIENT.LANDSCAPE) == 2  # characteristics, netsplit
    netsplit = pd.read_csv(out / "tables" / "dose_netsplit.csv")
    parts = print_parts(netsplit)
    # the 28 columns print in two parts, each led by the two treatment columns, all columns once
    assert len(parts) == 2 and all(p[:2] == [0, 1] for p in parts)
    assert sorted(i for p in parts for i in p[2:]) == list(range(2, 28))


def test_docx_with_figures_and_a_rerun_writes_the_same_bytes(built, tmp_path, monkeypatch):
    _, first = built
    result = run_review(EXAMPLE / "review.yaml", tmp_path, formats=("pdf", "docx"))
    for name in ("report.pdf", "report.docx", "report.html"):
        assert (first / name).read_bytes() == (tmp_path / name).read_bytes(), name
    with zipfile.ZipFile(tmp_path / "report.docx") as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"<dcterms:created xsi:type=\"dcterms:W3CDTF\">1980-01-01T00:00:00Z" in z.read("docProps/core.xml")
    from metakit.report.word import write_docx

    path = write_docx(result.spec, list(result.sections), result.methods, tmp_path / "figures.docx",
                      figures=True)
    document = docx.Document(str(path))
    assert len(document.inline_shapes) == len(list((first / "figures").glob("*.png")))
    descr = document.inline_shapes[0]._inline.docPr.get("descr")
    assert descr.startswith("PRISMA 2020 flow diagram")


def test_source_date_epoch_sets_the_dates_of_pdf_and_docx(tmp_path, monkeypatch):
    from metakit.report.pdf import write_pdf

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    html = "<html lang='en'><head><title>T</title></head><body><h1>T</h1><p>Ten trials.</p></body></html>"
    a = write_pdf(html, tmp_path / "a.pdf", tmp_path).read_bytes()
    b = write_pdf(html, tmp_path / "b.pdf", tmp_path).read_bytes()
    assert a == b and b"D:20231114221320" in _pdf_objects(a)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert b"CreationDate" not in _pdf_objects(write_pdf(html, tmp_path / "c.pdf", tmp_path).read_bytes())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    result = run_review(_small_review(tmp_path), tmp_path / "out", formats=("docx",))
    with zipfile.ZipFile(result.files["docx"]) as z:
        assert {i.date_time for i in z.infolist()} == {(2023, 11, 14, 22, 13, 20)}
        assert b">2023-11-14T22:13:20Z</dcterms:modified>" in z.read("docProps/core.xml")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    res = CliRunner().invoke(app, ["run", str(tmp_path / "review.yaml"), "-o", str(tmp_path / "o2"), "--quiet"])
    assert res.exit_code == 2 and "SOURCE_DATE_EPOCH must be whole seconds since 1970, got 'yesterday'" in res.output
    assert not (tmp_path / "o2").exists()


def test_a_broken_image_is_a_pdf_error_not_a_hole(tmp_path):
    from metakit.report.pdf import PdfError, write_pdf

    with pytest.raises(PdfError, match="Failed to load image"):
        write_pdf("<p>x</p><img src='missing.svg' alt='forest plot'>", tmp_path / "x.pdf", tmp_path)
    assert not (tmp_path / "x.pdf").exists()


def test_a_missing_extra_names_it_and_the_other_files_are_still_written(tmp_path, monkeypatch):
    review = _small_review(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.pdf").write_bytes(b"%PDF- an old report")
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint now fails
    res = CliRunner().invoke(app, ["run", str(review), "-o", str(tmp_path / "out"), "--quiet", "--pdf", "--docx"])
    assert res.exit_code == 1
    assert "failed: PDF report: MissingExtraError: the PDF report needs weasyprint" in res.output
    assert "pip install 'metakit[pdf]'" in res.output
    assert not (tmp_path / "out" / "report.pdf").exists()  # not left from the earlier run
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Failed: PDF report." in html and "metakit[pdf]" in html and 'id="tha"' in html
    # the DOCX is written, and was written before the PDF failed
    assert docx.Document(str(tmp_path / "out" / "report.docx")).tables
    monkeypatch.setitem(sys.modules, "docx", None)
    result = run_review(review, tmp_path / "out2", formats=("docx",))
    assert [f.what for f in result.failures] == ["DOCX report"]
    assert "pip install 'metakit[docx]'" in result.failures[0].message
    assert result.files.keys() == {"html"} and "Failed: DOCX report." in result.html.read_text(encoding="utf-8")


def test_require_raises_an_import_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(ImportError) as info:
        require("weasyprint", "weasyprint", "pdf", "the PDF report")
    assert isinstance(info.value, MissingExtraError) and info.value.extra == "pdf"
    assert str(info.value) == "the PDF report needs weasyprint, which is not installed: pip install 'metakit[pdf]'"


def test_an_unknown_format_argument_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown report format 'rtf'"):
        run_review(_small_review(tmp_path), tmp_path / "out", formats=("rtf",))


def test_print_parts_cover_every_column_once_and_fit_the_page():
    from metakit.report.html import SPLIT, column_widths

    narrow = pd.DataFrame({"study": ["Ma 2014"], "yi": [0.5]})
    assert print_parts(narrow) == [[0, 1]]
    # 3 text columns of 12 characters (+2 padding) lead; 40 numeric columns of 9 (+2) follow
    wide = pd.DataFrame({**{f"label{i}": ["x" * 12] for i in range(3)},
                         **{f"v{i}": [-0.1234567] for i in range(40)}})
    parts = print_parts(wide)
    widths = column_widths(wide)
    assert widths[:4] == [14, 14, 14, 9]  # cell() keeps 4 significant digits: "-0.1235"
    assert all(p[:3] == [0, 1, 2] for p in parts)
    assert sorted(i for p in parts for i in p[3:]) == list(range(3, 43))
    assert all(sum(widths[i] for i in p) <= SPLIT for p in parts)
    # 42 + 40 x 9 = 402 characters: the 360 of numbers in parts of at most 158, so 3 parts
    assert len(parts) == 3
    # a single column wider than the page cannot be split
    assert print_parts(pd.DataFrame({"url": ["x" * 300]})) == [[0]]


def test_a_long_table_breaks_across_pages_with_its_header_row_repeated(tmp_path):
    """120 rows do not fit one A4 page: the table breaks (it is not kept whole) and every page
    it spans starts with its header row (thead repeats in print)."""
    from metakit.report.blocks import Section, save_table
    from metakit.report.html import render_html
    from metakit.report.pdf import render_pdf
    from metakit.report.spec import parse_spec

    frame = pd.DataFrame({"study": [f"Trial {i:03d}" for i in range(120)], "yi_value": [0.5] * 120})
    table = save_table(frame, tmp_path / "tables", "long", "A long table")
    spec = parse_spec("title: Long\nsheets: {s: s.csv}\noutcomes:\n  - {id: a, name: A, sheet: s, measure: OR}\n")
    html = render_html(spec, [Section("long", "Long", blocks=[table])], ("Methods.",), tmp_path / "report.html")
    assert 'class="table-wrap long"' in html
    pages = [" ".join(b.text for b in p._page_box.descendants() if hasattr(b, "text") and isinstance(b.text, str))
             for p in render_pdf(html, tmp_path).pages]
    spanned = [t for t in pages if "Trial " in t]
    assert len(spanned) >= 2
    # the header cells ("yi_value" may wrap after its underscore) on every page the table spans
    assert all("study" in t and "yi_" in t for t in spanned)
    assert "Trial 000" in spanned[0] and "Trial 119" in spanned[-1]
