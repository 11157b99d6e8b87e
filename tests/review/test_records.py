"""Reading search exports. Expected values are read off the test files by eye."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metakit.cli import app
from metakit.errors import DataError
from metakit.review.records import decode_bytes, detect_format, read_records
from metakit.review.store import Project

DATA = Path(__file__).parent / "data"


def _by_line(parsed):
    return {r["source_line"]: r for r in parsed.records}


def _errors(parsed):
    return [(Path(e.file).name, e.line, e.message) for e in parsed.errors]


# ------------------------------------------------------------------------------ RIS
def test_embase_ris_with_bom_and_crlf():
    p = read_records(DATA / "embase_bom_crlf.ris")
    assert (p.format, p.encoding, p.source) == ("ris", "utf-8-sig", "Embase")
    assert len(p.records) == 4
    # the fourth entry (line 57) has no title, DOI or PMID: reported, not stored
    assert _errors(p) == [("embase_bom_crlf.ris", 57, "entry has no title, DOI or PMID")]
    r = _by_line(p)
    art = r[1]
    assert art["title"] == "Effect of aspirin on recurrent stroke: A randomized controlled trial"
    assert art["authors"] == ["Smith, J.", "Müller, K.", "O'Brien, T."]
    assert art["year"] == 2019 and art["journal"] == "The Lancet Neurology"
    assert (art["volume"], art["issue"], art["pages"]) == ("18", "4", "345-352")
    assert art["doi"] == "10.1016/S1474-4422(19)30012-3"
    assert art["source_key"] == "L2001234567"
    assert art["pub_types"] == ["Article"] and art["language"] == "English"
    assert art["keywords"] == ["aspirin", "stroke", "randomized controlled trial"]
    # the abstract's untagged continuation lines belong to N2; no CR survives
    assert art["abstract"].startswith("Background: Aspirin is widely used")
    assert "Recurrent stroke occurred in 8.1% vs 11.4%." in art["abstract"]
    assert "\r" not in art["abstract"]
    assert art["raw"]["DB"] == ["Embase"] and art["raw"]["U2"] == ["L2001234567"]
    assert r[27]["pub_types"] == ["Erratum"] and r[27]["pages"] == "e5"
    assert r[41]["doi"] == "10.1136/bmj.m512"  # https://doi.org/ prefix taken off
    assert r[65]["year"] == 2021  # "2021/03/15"


def test_scopus_ris_stray_text_and_missing_er():
    p = read_records(DATA / "scopus.ris")
    assert p.source == "Scopus" and len(p.records) == 5
    # Untagged junk between entries is a warning (issue 11: errors count records).
    assert _errors(p) == []
    assert [(w.line, w.message[:23]) for w in p.warnings] == [(62, "text outside any RIS en"),
                                                             (63, "entry has no ER line; r")]
    r = _by_line(p)
    assert r[1]["pmid"] == "30878104"  # C2
    assert r[1]["authors"][1] == "Muller, K."
    assert r[37]["title"].startswith("Comment on:") and r[37]["pub_types"] == ["Letter"]
    last = r[63]  # imported although its ER line is missing
    assert last["doi"] == "10.1186/s13018-018-0760-2" and last["pages"] == "55"


def test_wos_and_cnki_ris():
    wos = read_records(DATA / "wos.ris")
    assert wos.source == "Web of Science"  # from AN - WOS:...
    r = _by_line(wos)
    assert r[1]["title"].isupper() and r[1]["pages"] == "55"  # C7 article number
    assert r[1]["source_key"] == "WOS:000427000100001"
    assert "doi" not in r[16]
    cnki = read_records(DATA / "cnki.ris")
    assert cnki.source == "CNKI" and cnki.encoding == "utf-8"
    c = _by_line(cnki)
    assert c[1]["title"] == "髓芯减压与保守治疗股骨头坏死的比较研究"
    assert c[1]["authors"] == ["王宇", "李辉"] and c[1]["journal"] == "中华骨科杂志"
    assert c[1]["keywords"] == ["股骨头坏死", "髓芯减压", "保守治疗"]
    assert c[16]["doi"] == "10.1111/OS.12901"


@pytest.mark.parametrize("enc, bom", [("latin-1", b""), ("cp1252", b""), ("utf-16", b""),
                                      ("utf-8", codecs.BOM_UTF8)])
@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_ris_encodings_and_line_endings(tmp_path, enc, bom, eol):
    text = eol.join(["TY  - JOUR", "TI  - Hüftkopfnekrose – Therapie", "AU  - Müller, K.",
                     "PY  - 2018", "ER  - ", "", "TY  - JOUR", "TI  - Second", "ER  - ", ""])
    if enc == "latin-1":
        text = text.replace("–", "-")  # no en dash in Latin-1
    f = tmp_path / "x.ris"
    f.write_bytes(bom + text.encode(enc))
    p = read_records(f, source="Embase")
    assert [r["title"] for r in p.records][1] == "Second"
    assert p.records[0]["title"].startswith("Hüftkopfnekrose")
    assert p.records[0]["authors"] == ["Müller, K."]
    assert [r["source_line"] for r in p.records] == [1, 7]
    assert p.errors == ()


def test_decode_bytes_fallbacks():
    assert decode_bytes("Ærø – x".encode("cp1252")) == ("Ærø – x", "cp1252")
    assert decode_bytes(codecs.BOM_UTF16_LE + "ü\r\n".encode("utf-16-le")) == ("ü\n", "utf-16")
    assert decode_bytes(b"caf\xc3\xa9") == ("café", "utf-8")
    # decomposed accents are composed (NFC), so they compare equal later
    assert decode_bytes("Mu\u0308ller".encode())[0] == "Müller"


def test_detect_format():
    assert detect_format("a.txt", "TY  - JOUR\n") == "ris"
    assert detect_format("a.txt", "PMID- 123\nTI  - x") == "medline"
    assert detect_format("a.txt", "% c\n@article{x,\n}") == "bibtex"
    assert detect_format("a.xml", '<?xml version="1.0"?><xml><records>') == "endnote_xml"
    assert detect_format("a.csv", "Title,Year\n") == "csv"
    with pytest.raises(DataError):
        detect_format("a.txt", "nothing we know")


# -------------------------------------------------------------------------- MEDLINE
def test_pubmed_medline():
    p = read_records(DATA / "pubmed.nbib")
    assert (p.format, p.source) == ("medline", "PubMed")
    assert len(p.records) == 5
    # record at line 65 has an untagged, unindented line (79): a warning, record kept
    assert _errors(p) == []
    assert [(w.line, w.message) for w in p.warnings] == [
        (79, "line is neither a tag nor a continuation; ignored")]
    assert _by_line(p)[65]["volume"] == "47"
    r = _by_line(p)
    a = r[1]
    assert a["pmid"] == "30878104" and a["doi"] == "10.1016/S1474-4422(19)30012-3"
    assert a["title"] == "Effect of aspirin on recurrent stroke: a randomized controlled trial."
    assert a["authors"] == ["Smith, John", "Müller, Karl", "O'Brien, Thomas"]  # FAU over AU
    assert (a["year"], a["volume"], a["issue"], a["pages"]) == (2019, "18", "4", "345-352")
    assert a["journal"] == "The Lancet. Neurology" and a["language"] == "eng"
    assert a["pub_types"] == ["Journal Article", "Randomized Controlled Trial"]
    # 6-space continuation joined to the abstract
    assert a["abstract"].endswith("assigned 1204 patients with ischaemic stroke to aspirin "
                                  "or placebo.")
    assert a["raw"]["MH"] == ["Aspirin/*therapeutic use", "Humans"]
    assert r[50]["pub_types"] == ["Comment", "Letter"]
    assert r[80]["pub_types"] == ["Published Erratum"] and r[80]["pages"] == "e10"


# --------------------------------------------------------------------------- BibTeX
def test_bibtex():
    p = read_records(DATA / "refs.bib")
    assert p.format == "bibtex" and len(p.records) == 4
    assert _errors(p) == [("refs.bib", 25, "unbalanced braces; entry skipped")]
    assert [(w.line, w.message) for w in p.warnings] == [
        (40, "year 'in press' not understood; left empty")]
    r = {x["source_key"]: x for x in p.records}
    s = r["smith2019aspirin"]
    assert s["title"] == "Effect of Aspirin on Recurrent Stroke: A Randomized Controlled Trial"
    assert s["authors"] == ["Smith, John", "Müller, Karl", "O'Brien, Thomas"]
    assert s["journal"] == "The Lancet Neurology"  # @string macro expanded
    assert (s["pages"], s["pmid"], s["year"]) == ("345-352", "30878104", 2019)
    assert r["garcia2020"]["authors"] == ["García-López, María", "Chen, Li"]
    assert r["hernandez2017"]["authors"] == ["Hernández, Pablo"]  # "and others" dropped
    assert r["hernandez2017"]["journal"] == "The Bone & Joint Journal"
    assert "year" not in r["noyear"]


def test_bibtex_field_name_with_no_break_space_keeps_the_entry(tmp_path):
    # Issue 11: Scopus writes "funding_text 1" with a no-break space; the entry was lost.
    text = (DATA / "refs.bib").read_text(encoding="utf-8")
    text = text.replace("  pmid = {30878104},", "  pmid = {30878104},\n  funding_text\u00a01 = {Funded by the MRC},")
    f = tmp_path / "scopus.bib"
    f.write_text(text, encoding="utf-8")
    p = read_records(f)
    before = read_records(DATA / "refs.bib")
    assert len(p.records) == len(before.records)
    assert p.records[0]["pmid"] == "30878104"
    assert [e.message for e in p.errors] == [e.message for e in before.errors]
    assert [(w.line, w.message) for w in p.warnings][0] == (
        4, "field name 'funding_text 1' holds a no-break space; field skipped")
    assert len(p.warnings) == len(before.warnings) + 1


# ------------------------------------------------------------------------------ CSV
def test_scopus_csv_latin1_with_bad_row():
    p = read_records(DATA / "scopus_latin1.csv")
    assert (p.format, p.encoding) == ("csv", "cp1252")
    assert len(p.records) == 3
    # the record on line 2 has a quoted two-line abstract, so the next starts at line 4
    assert [r["source_line"] for r in p.records] == [2, 4, 5]
    assert _errors(p) == [("scopus_latin1.csv", 6, "row has 3 fields, header has 15")]
    a = p.records[0]
    assert a["authors"] == ["Smith, John", "Müller, Karl", "O'Brien, Thomas"]  # full names
    assert (a["pages"], a["pmid"], a["source_key"]) == ("345-352", "30878104",
                                                        "2-s2.0-85062000001")
    assert a["abstract"] == "Background: Aspirin is widely used,\nacross two lines."
    assert p.records[1]["authors"] == ["Hernández, Pablo"] and "doi" not in p.records[1]


@pytest.mark.parametrize("cell, names", [
    # Scopus "Authors" before 2023: one comma-separated string, suffixes after a comma
    ("Smith J.A., Brown K.L., III, Lee-Park T.", ["Smith J.A.", "Brown K.L., III", "Lee-Park T."]),
    ("Smith J, Doe AB", ["Smith J", "Doe AB"]),  # PubMed CSV
    ("Anderson R.C.; Mansi S.A.; Reeb D.M.", ["Anderson R.C.", "Mansi S.A.", "Reeb D.M."]),
    # Scopus "Author full names": the Scopus author id dropped
    ("Anderson, Ronald C. (1); Mansi, Sattar A. (2)", ["Anderson, Ronald C.", "Mansi, Sattar A."]),
    ("World Health Organization", ["World Health Organization"]),
])
def test_csv_author_cells(tmp_path, cell, names):
    f = tmp_path / "scopus.csv"
    f.write_text(f'Authors,Title,Year\n"{cell}",A trial,2020\n', encoding="utf-8")
    assert read_records(f).records[0]["authors"] == names


def test_csv_column_mapping(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text("Headline;Writers;When;Identifier\n"
                 "Aspirin trial;Smith J; Doe A;2019;10.1/abc\n"
                 ";;;\n", encoding="utf-8")
    with pytest.raises(DataError, match="no title, DOI or PMID column"):
        read_records(f)
    p = read_records(f, mapping={"title": "Headline", "authors": "Writers", "year": "When",
                                 "doi": "Identifier"})
    # the semicolon inside "Smith J; Doe A" is a field separator in this file: 5 fields
    assert _errors(p) == [("export.csv", 2, "row has 5 fields, header has 4")]
    f.write_text('Headline;Writers;When;Identifier\n"Aspirin trial";"Smith J; Doe A";2019;'
                 "10.1000/abc\n", encoding="utf-8")
    p = read_records(f, mapping={"title": "Headline", "authors": "Writers", "year": "When",
                                 "doi": "Identifier"})
    assert p.records[0]["authors"] == ["Smith J", "Doe A"] and p.records[0]["doi"] == "10.1000/abc"
    with pytest.raises(DataError, match="not in the file"):
        read_records(f, mapping={"title": "Nope"})


def test_csv_field_over_the_csv_module_limit(tmp_path):
    # Issue 13: "field larger than field limit (131072)" stopped the import.
    f = tmp_path / "scopus.csv"
    long_refs = "Smith J, 2001, Lancet; " * 8000  # 184,000 characters
    f.write_text(f'Title,Year,References\n"A trial",2020,"{long_refs}"\n"Another",2021,x\n',
                 encoding="utf-8")
    p = read_records(f)
    assert [r["title"] for r in p.records] == ["A trial", "Another"]
    assert len(p.records[0]["raw"]["References"]) == 184_000
    import csv

    assert csv.field_size_limit() == 131_072  # left as it was


# ---------------------------------------------------------------------- EndNote XML
def test_endnote_xml():
    p = read_records(DATA / "endnote.xml")
    assert p.format == "endnote_xml" and len(p.records) == 2
    # line 13: </contributors> closes <authors>
    assert [(e.line, e.message[:20]) for e in p.errors] == [(13, "malformed XML (misma")]
    a, b = p.records
    assert a["source_line"] == 3 and b["source_line"] == 16
    assert a["title"] == "Effect of aspirin on recurrent stroke: a randomized controlled trial"
    assert a["authors"] == ["Smith, J.", "Müller, K."] and a["journal"] == "Lancet Neurol"
    assert (a["pmid"], a["pages"], a["year"]) == ("30878104", "345-52", 2019)
    assert a["pub_types"] == ["Journal Article"]
    assert b["doi"] == "10.1186/s13018-018-0760-2" and b["title"].endswith("& hip")
    assert b["keywords"] == ["osteonecrosis", "core decompression"]


def test_endnote_truncated_file(tmp_path):
    text = (DATA / "endnote.xml").read_text(encoding="utf-8")
    f = tmp_path / "cut.xml"
    f.write_text(text[: text.rindex("<pages>55")], encoding="utf-8")
    p = read_records(f)
    assert len(p.records) == 1
    assert [(e.line, e.message) for e in p.errors][-1] == (
        16, "record is not closed (</record> missing); skipped")


def test_endnote_unclosed_record_costs_only_itself(tmp_path):
    # Issue 13: a <record> without </record> swallowed the record after it, unreported.
    text = (DATA / "endnote.xml").read_text(encoding="utf-8")
    first_close = text.index("</record>")
    f = tmp_path / "unclosed.xml"
    f.write_text(text[:first_close] + text[first_close + len("</record>"):], encoding="utf-8")
    p = read_records(f)
    assert [(e.line, e.message) for e in p.errors] == [
        (3, "record is not closed before the next <record>; skipped"),
        (13, "malformed XML (mismatched tag)")]
    assert [r["source_line"] for r in p.records] == [16]
    assert p.records[0]["doi"] == "10.1186/s13018-018-0760-2"


# ---------------------------------------------------------------- project + CLI
def test_import_into_project_is_reported_and_stored(database_url, tmp_path):
    with Project.open(database_url) as proj:
        rep = proj.import_records(DATA / "pubmed.nbib")
        assert (rep.n_imported, len(rep.errors), rep.import_id) == (5, 0, 1)
        assert rep.to_frame()["level"].tolist() == ["warning"]  # the junk line 79
        stored = proj.records()
        assert stored["pmid"].tolist() == ["30878104", "32071101", "32100000", "29999999",
                                           "31111111"]
        assert stored["source_line"].tolist() == [1, 33, 50, 65, 80]
        rep = proj.import_records(DATA / "endnote.xml")
        assert (rep.n_imported, len(rep.errors), rep.import_id) == (2, 1, 2)
        assert proj.imports().loc[2, "errors"][0]["line"] == 13
        assert proj.counts()["import_errors"] == 1


def test_cli_import_prints_count(database_url):
    db = database_url
    res = CliRunner().invoke(app, ["records", "import", str(DATA / "embase_bom_crlf.ris"),
                                   "--source", "Embase", "--project", str(db)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("4 records imported from")
    assert "embase_bom_crlf.ris:57: entry has no title, DOI or PMID" in res.output
    res = CliRunner().invoke(app, ["records", "counts", "--project", str(db)])
    assert "Embase: 4" in res.output and "identified: 4" in res.output
    res = CliRunner().invoke(app, ["records", "import", str(DATA / "embase_bom_crlf.ris"),
                                   "--project", str(db)])
    assert res.exit_code == 1 and "same content as import 1" in res.output


def test_bibtex_garbage_entry_reported_rest_read(tmp_path):
    f = tmp_path / "x.bib"
    f.write_text("@article{ok1, title = {First} # { part}, year = 2001, month = mar}\n"
                 "@article{bad, this is not bibtex}\n"
                 "@misc(ok2, title = \"Second {B}ook\", author = {Doe, J. and Roe, R.})\n",
                 encoding="utf-8")
    p = read_records(f)
    assert [r["title"] for r in p.records] == ["First part", "Second Book"]
    assert p.records[0]["raw"]["month"] == "Mar"  # month macro expanded
    assert p.records[1]["authors"] == ["Doe, J.", "Roe, R."]
    assert [(e.line, e.message[:25]) for e in p.errors] == [(2, "entry could not be parsed")]


def test_forced_encoding_keeps_first_entry_despite_bom():
    p = read_records(DATA / "embase_bom_crlf.ris", encoding="utf-8")
    assert p.encoding == "utf-8" and p.records[0]["source_line"] == 1
    assert len(p.records) == 4


def test_import_report_summary_and_dict():
    rep = read_records(DATA / "endnote.xml").report(7)
    d = rep.to_dict()
    assert (d["import_id"], d["n_imported"], d["source"], d["format"]) == (
        7, 2, "endnote", "endnote_xml")
    assert d["errors"] == [{"file": str(DATA / "endnote.xml"), "line": 13,
                            "message": "malformed XML (mismatched tag)"}]
    lines = rep.summary().splitlines()
    assert lines[0].startswith("2 records imported from") and lines[1] == "1 entry skipped:"
    rep = read_records(DATA / "scopus.ris").report(8)
    assert rep.summary().splitlines()[1:] == [
        "2 warnings:",
        f"  {DATA / 'scopus.ris'}:62: text outside any RIS entry (no TY line before it); ignored",
        f"  {DATA / 'scopus.ris'}:63: entry has no ER line; read up to the end of the file"]


def test_same_file_is_not_imported_twice(database_url, tmp_path):
    copy = tmp_path / "again.ris"
    copy.write_bytes((DATA / "wos.ris").read_bytes())
    with Project.open(database_url) as proj:
        proj.import_records(DATA / "wos.ris")
        with pytest.raises(DataError, match="same content as import 1"):
            proj.import_records(copy)  # another name, same bytes
        assert proj.counts()["identified"] == 3
        proj.import_records(copy, allow_repeat=True)
        assert proj.counts()["identified"] == 6


def test_gbk_cnki_export_and_latin1_export_are_told_apart(tmp_path):
    cnki = (DATA / "cnki.ris").read_text(encoding="utf-8")
    f = tmp_path / "cnki_gbk.ris"
    f.write_bytes(cnki.encode("gbk"))
    p = read_records(f)
    assert p.encoding == "gb18030"
    assert p.records[0]["title"] == "髓芯减压与保守治疗股骨头坏死的比较研究"
    # European names in Latin-1: single high bytes between ASCII letters
    g = tmp_path / "latin1.ris"
    g.write_bytes("TY  - JOUR\nTI  - Hüftkopfnekrose bei Kindern\nAU  - Müller, K.\n"
                  "AU  - Gómez, Ñ.\nER  - \n".encode("latin-1"))
    q = read_records(g)
    assert q.encoding == "cp1252" and q.records[0]["authors"] == ["Müller, K.", "Gómez, Ñ."]


@pytest.mark.parametrize("name, text", [
    ("central.ris", "TY  - JOUR\nTI  - Artesunate versus quinine for severe malaria\nPY  - 2005\n"
     "UR  - https://www.cochranelibrary.com/central/doi/10.1002/central/CN-00569384/full\n"
     "ER  - \n"),
    ("central.bib", "@article{x,\n title = {Artesunate versus quinine for severe malaria},\n"
     " year = {2005},\n url = {https://www.cochranelibrary.com/central/doi/10.1002/central/"
     "CN-00569384/full}\n}\n"),
    ("central.csv", "Title,Year,Link\nArtesunate versus quinine for severe malaria,2005,"
     "https://www.cochranelibrary.com/central/doi/10.1002/central/CN-00569384/full\n"),
])
def test_central_address_is_an_accession_not_a_doi(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    rec = read_records(f).records[0]
    assert "doi" not in rec
    assert rec["source_key"] == "CN-00569384"


def test_embase_csv_without_year_column_takes_it_from_source(tmp_path):
    # Issue 11: Embase CSV exports without a year column lost every year.
    f = tmp_path / "embase.csv"
    f.write_text('Title,Author Names,Source,Embase Accession ID\n'
                 '"Effect of aspirin on recurrent stroke","Smith J., Muller K.",'
                 '"Lancet Neurology (2019) 18:4 (345-352). Date of Publication: 1 Apr 2019",'
                 '626123456\n', encoding="utf-8")
    r = read_records(f).records[0]
    assert (r["journal"], r["year"], r["volume"], r["issue"], r["pages"]) == (
        "Lancet Neurology", 2019, "18", "4", "345-352")
    assert r["authors"] == ["Smith J.", "Muller K."] and r["source_key"] == "626123456"


def test_lens_csv():
    # lens.csv: header and first 5 rows of lab-5/lens-topology.csv in
    # github.com/spicy-adobo/LIS-4-5693 (a Lens.org scholarly export).
    import csv

    with open(DATA / "lens.csv", encoding="utf-8-sig", newline="") as fh:
        n = sum(1 for _ in csv.reader(fh)) - 1
    p = read_records(DATA / "lens.csv")
    assert (p.source, len(p.records), n, p.errors) == ("Lens", 5, 5, ())
    r = p.records[1]
    assert r["authors"] == ["Denis Blackmore", "Thomas J. Peters"]  # "Author/s"
    assert (r["year"], r["pages"], r["source_key"]) == (2007, "493-545", "000-161-288-122-274")
    assert p.records[3]["issue"] == "14"  # "Issue Number"
