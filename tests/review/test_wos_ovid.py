"""Web of Science (tagged, tab-delimited) and Ovid exports, on real files.

The files are trimmed real exports from public repositories (whole records kept):

- ``wos_tagged_bom.txt``: first 3 records of ``data/savedrecs(10).txt`` in
  github.com/oliviergimenez/capture-recapture-review (UTF-8 with BOM, WoS Core
  Collection tagged export, 2019).
- ``wos_core_2023.ciw``: first 3 records of ``savedrecs.txt`` in
  github.com/tonyhungry/Umbrella-Review (2023 export with Early Access fields),
  renamed ``.ciw``.
- ``wos_tab_utf16.txt``: header and first 4 rows of ``data/savedrecs.txt`` in
  github.com/egouldo/EcolModellingQRPs (tab-delimited, UTF-16 LE with BOM, CR line
  ends, a trailing tab on every row).
- ``ovid_embase.cgi``: ``test/data/Embase_endnote_r3001-3002.cgi`` of
  github.com/knh11545/commandline4expertsearchers (Embase on Ovid, "EndNote" download).

Record counts are counted from the bytes here by the delimiters of each format; field
values were read off the files by eye.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metakit.review.records import detect_format, read_records
from metakit.review.store import Project

DATA = Path(__file__).parent / "data"


def _delimited_count(name: str) -> int:
    raw = (DATA / name).read_bytes()
    if name == "wos_tab_utf16.txt":
        return raw.decode("utf-16").count("\r") - 1  # rows minus the header
    text = raw.decode("utf-8-sig")
    if name.endswith(".cgi"):
        return len(re.findall(r"^<\d+\. >$", text, re.M))
    return len(re.findall(r"^ER$", text, re.M))


@pytest.mark.parametrize("name, fmt, n", [("wos_tagged_bom.txt", "wos", 3),
                                          ("wos_core_2023.ciw", "wos", 3),
                                          ("wos_tab_utf16.txt", "wos_tab", 4),
                                          ("ovid_embase.cgi", "ovid", 2)])
def test_every_record_read(name, fmt, n):
    assert _delimited_count(name) == n
    p = read_records(DATA / name)
    assert p.format == fmt
    assert len(p.records) == n
    assert p.errors == () and p.warnings == ()


def test_wos_tagged_fields_and_continuation_lines():
    p = read_records(DATA / "wos_tagged_bom.txt")
    assert (p.encoding, p.source) == ("utf-8-sig", "Web of Science")
    r = p.records[0]
    assert r["title"] == ("Modified hierarchical Bayesian biomass dynamics models for "
                          "assessment of short-lived invertebrates: a comparison for tropical "
                          "tiger prawns")
    assert r["authors"][:3] == ["Zhou, Shijie", "Punt, Andre E.", "Deng, Roy"]
    assert len(r["authors"]) == 6
    assert (r["journal"], r["year"], r["volume"], r["issue"], r["pages"]) == (
        "MARINE AND FRESHWATER RESEARCH", 2009, "60", "12", "1298-1308")
    assert (r["doi"], r["source_key"]) == ("10.1071/MF09022", "WOS:000272871200010")
    assert p.records[1]["source_line"] == 96


def test_wos_early_access_and_article_number():
    recs = read_records(DATA / "wos_core_2023.ciw").records
    assert recs[0]["pub_types"] == ["Review", "Early Access"]
    assert recs[0]["year"] == 2023 and "volume" not in recs[0]
    assert recs[1]["pages"] == "100443"  # AR: article number, no BP/EP
    assert recs[1]["title"] == ("Climate and disaster resilience measurement: Persistent gaps in "
                                "multiple hazards, methods, and practicability")


def test_wos_tab_delimited_utf16_trailing_tab():
    p = read_records(DATA / "wos_tab_utf16.txt")
    assert p.encoding == "utf-16"
    r = p.records[0]
    assert r["title"] == "Essential coastal habitats for fish in the Baltic Sea"
    assert len(r["authors"]) == 30 and r["authors"][0] == "Kraufvelin, Patrik"
    assert (r["year"], r["volume"], r["pages"], r["doi"]) == (
        2018, "204", "14-30", "10.1016/j.ecss.2018.02.014")
    assert p.records[3]["issue"] == "4"


def test_ovid_embase_tagged():
    p = read_records(DATA / "ovid_embase.cgi")
    assert p.source == "Embase"
    a, b = p.records
    assert a["title"] == ("Quality of life in patients with primary ciliary dyskinesia: "
                          "A systematic review")
    assert a["authors"] == ["Behan L.", "Rubbo B.", "Lucas J.S.", "Galvin A.D."]
    assert (a["journal"], a["volume"], a["issue"], a["year"]) == (
        "BMC Proceedings", "12", "Supplement 3", 2018)
    assert "pages" not in a  # "(no pagination)"
    assert a["doi"] == "10.1186/s12919-018-0099-8" and a["source_key"] == "621381829"
    # Unindented abstract paragraphs continue the abstract.
    assert " Conclusion(s): Health-related quality of life decreases" in a["abstract"]
    assert a["abstract"].endswith("Interventions that ameliorate these issues need investigation.")
    assert len(a["raw"]["IN"]) == 2  # the indented second address is a second value
    assert b["source_line"] == 75 and b["source_key"] == "621381823"


@pytest.mark.parametrize("text, fmt", [
    ("\ufeffFN Clarivate Analytics Web of Science\nVR 1.0\nPT J\n", "wos"),
    ("PT J\nAU Smith, J\nTI A\nER\n", "wos"),
    ("PT\tAU\tBA\tBE\tGP\tAF\tBF\tCA\tTI\tSO\tSE\n", "wos_tab"),
    ("<1. >\nVN  - Ovid Technologies\nDB  - Embase\n", "ovid"),
    ("TY  - JOUR\nTI  - A\nER  - \n", "ris"),
    ("PMID- 123\nTI  - A\n", "medline"),
])
def test_format_told_by_content_not_extension(text, fmt):
    assert detect_format("savedrecs.txt", text) == fmt


def test_junk_line_in_a_wos_record_is_a_warning(tmp_path):
    f = tmp_path / "savedrecs.txt"
    f.write_text("FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nAU Smith, J\n"
                 "TI Aspirin after stroke\n<<copied from the screen>>\nPY 2019\nER\n\nEF\n")
    p = read_records(f)
    assert len(p.records) == 1 and p.errors == ()
    assert [(w.line, w.message) for w in p.warnings] == [
        (6, "line is neither a field tag nor a continuation; ignored")]
    assert p.records[0]["year"] == 2019


def test_imported_into_a_project(database_url, tmp_path):
    with Project.open(database_url) as proj:
        for name in ("wos_tagged_bom.txt", "wos_tab_utf16.txt", "ovid_embase.cgi"):
            proj.import_records(DATA / name)
        c = proj.counts()
    assert c["identified_by_source"] == {"Web of Science": 7, "Embase": 2}
    assert c["import_errors"] == 0


@pytest.mark.parametrize("ut, source", [("WOS:000272871200010", "Web of Science"),
                                        ("MEDLINE:30878104", "MEDLINE (Web of Science)"),
                                        ("ZOOREC:ZOOR14503012345", "Zoological Record (Web of Science)")])
def test_other_web_of_science_databases_named_by_accession_prefix(tmp_path, ut, source):
    # Same tagged layout, the database told by the UT prefix (no real MEDLINE-on-WoS or
    # Zoological Record file was found to test on; the layout is the Core Collection's).
    f = tmp_path / "savedrecs.txt"
    f.write_text(f"FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nAU Zhou, S\n"
                 f"TI Modified hierarchical Bayesian biomass dynamics models\nPY 2009\n"
                 f"UT {ut}\nER\n\nEF\n", encoding="utf-8")
    p = read_records(f)
    assert p.source == source and p.records[0]["source_key"] == ut


def test_wos_export_saved_as_csv():
    # wos_columns.csv: header and first 2 rows of data/bayesian/savedrecs-search_2019-02-13.csv
    # in github.com/egouldo/EcolModellingQRPs (a WoS export with its tag names as columns).
    import csv

    with open(DATA / "wos_columns.csv", encoding="utf-8", newline="") as fh:
        n = sum(1 for _ in csv.reader(fh)) - 1
    p = read_records(DATA / "wos_columns.csv")
    assert (p.format, p.source, len(p.records), n) == ("csv", "Web of Science", 2, 2)
    assert all(r["source_key"].startswith("WOS:") for r in p.records)
    assert all(r["title"] and r["year"] and r["journal"] for r in p.records)


def test_medline_on_web_of_science_isi_format():
    # wos_medline.isi: src/test/resources/org/jabref/logic/importer/fileformat/
    # IsiImporterTestMedline.isi of github.com/JabRef/jabref (MEDLINE records from the
    # Web of Science, older "ISI Export Format": authors on one line, PS page span).
    text = (DATA / "wos_medline.isi").read_text(encoding="utf-8")
    assert len(re.findall(r"^ER$", text, re.M)) == 2
    p = read_records(DATA / "wos_medline.isi")
    assert (p.format, p.source, len(p.records)) == ("wos", "MEDLINE (Web of Science)", 2)
    a, b = p.records
    assert (a["pmid"], a["pages"], a["volume"], a["issue"], a["year"]) == (
        "16842170", "2457-71", "12", "20", 2006)
    assert b["authors"][:2] == ["Joffe, Hadine", "Hall, Janet E"] and len(b["authors"]) == 7
    assert b["journal"] == "Menopause" and b["pages"] == "411-22"


def test_inspec_on_web_of_science():
    # wos_inspec.isi: first record (DE field left out) of src/test/resources/org/jabref/
    # logic/importer/fileformat/IsiImporterTestInspec.isi, github.com/JabRef/jabref.
    p = read_records(DATA / "wos_inspec.isi")
    assert (p.source, len(p.records)) == ("Inspec (Web of Science)", 1)
    r = p.records[0]
    assert r["doi"] == "10.1063/1.2234275"  # from ID, among other identifiers
    assert r["authors"] == ["Degl'Innocenti, R.", "Guarino, A.", "Poberaj, G.", "Gunter, P."]
    assert r["title"].startswith("Second harmonic generation of continuous wave ultraviolet "
                                 "light and production of beta")


def test_ovid_labelled_layout():
    # ovid_labelled.txt: OvidImporterTest6.txt then OvidImporterTest3.txt of
    # src/test/resources/org/jabref/logic/importer/fileformat/, github.com/JabRef/jabref
    # (Journals@Ovid records; JabRef replaced the abstracts with a placeholder).
    text = (DATA / "ovid_labelled.txt").read_text(encoding="utf-8")
    assert len(re.findall(r"^<\d+>$", text, re.M)) == 2
    p = read_records(DATA / "ovid_labelled.txt")
    assert (p.format, p.source, len(p.records), p.errors, p.warnings) == (
        "ovid", "Ovid", 2, (), ())
    a, b = p.records
    assert a["authors"] == ["Verbeek, Jan", "Hermans, Erik", "van Vugt, Arie",
                            "Frolke, Jan Paul"]  # degrees and affiliation marks dropped
    assert a["title"].endswith("in traumatic pelvic ring fractures")  # "[Article]" dropped
    assert (a["journal"], a["year"], a["doi"], a["source_key"]) == (
        "Journal of Orthopaedic Trauma", 2015, "10.1097/BOT.0000000000000502",
        "00005131-900000000-99049")
    assert b["authors"] == ["Holstiege, Jakob", "Mathes, Tim", "Pieper, Dawid"]
    assert b["source_line"] == 36 and b["year"] == 2014
