"""Deduplication: normalisers, rules, guards, decisions in the store, precision/recall."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from metakit.review import normalise as nz
from metakit.review.dedup import find_duplicates
from metakit.review.store import Project

DATA = Path(__file__).parent / "data"


# --------------------------------------------------------------------- normalisers
@pytest.mark.parametrize("raw, expected", [
    ("10.1136/bmj.m512", "10.1136/bmj.m512"),
    ("https://doi.org/10.1136/BMJ.M512", "10.1136/bmj.m512"),
    ("http://dx.doi.org/10.1136%2Fbmj.m512", "10.1136/bmj.m512"),
    ("doi:10.1136/bmj.m512.", "10.1136/bmj.m512"),
    ("DOI 10.1016/S1474-4422(19)30012-3", "10.1016/s1474-4422(19)30012-3"),
    ("(10.1016/j.x.2019.01.001)", ""),          # not starting with 10. after cleaning
    ("10.1016/j.x.2019.01.001)", "10.1016/j.x.2019.01.001"),  # unbalanced ) dropped
    ("not a doi", ""), (None, ""),
])
def test_norm_doi(raw, expected):
    assert nz.norm_doi(raw) == expected


def test_norm_pmid_and_pages():
    assert [nz.norm_pmid(x) for x in ["30878104", "PMID: 030878104", "abc", "", None,
                                      "1234567890"]] == ["30878104", "30878104", "", "", "",
                                                         ""]
    # Excel shows pages "3-12" as the date 12-Mar or Mar-12: the first page is 3
    assert [nz.first_page(x) for x in ["345-352", "345-52", "345–352", "12-Mar", "Mar-12",
                                       "e0012", "m512", "S12-S14", "", None]] == [
        "345", "345", "345", "3", "3", "e12", "m512", "s12", "", ""]


def test_norm_title_variants_agree():
    forms = ["Effect of aspirin on recurrent stroke: a randomized controlled trial",
             "EFFECT OF ASPIRIN ON RECURRENT STROKE - A RANDOMISED CONTROLLED TRIAL.",
             "[Effect of aspirin on recurrent stroke: a randomized controlled trial].",
             "Effect of <i>aspirin</i> on recurrent stroke: a randomized controlled trial",
             "RETRACTED: Effect of aspirin on recurrent stroke: a randomized controlled trial"]
    assert {nz.norm_title(f) for f in forms} == {
        "effect of aspirin on recurrent stroke a randomized controlled trial"}
    assert nz.norm_title("Tumour necrosis factor-α in paediatric anaemia") == \
        nz.norm_title("Tumor necrosis factor alpha in pediatric anemia")
    assert nz.norm_title("Hüftkopfnekrose & Kernbohrung") == "huftkopfnekrose and kernbohrung"


def test_first_author_surname_forms():
    for authors in (["Smith, John"], ["Smith J"], ["John Smith"], ["SMITH JA"],
                    ["Smith J. et al."], ["J. Smith"]):
        assert nz.first_author_surname(authors) == "smith", authors
    assert nz.first_author_surname(["García-López, M."]) == "garcialopez"
    assert nz.first_author_surname(["Garcia Lopez M"]) == "garcialopez"
    assert nz.first_author_surname(["王宇"]) == "王宇"
    assert nz.first_author_surname([]) == ""


def test_publication_kind():
    A, E, R, C, P = (nz.KIND_ARTICLE, nz.KIND_ERRATUM, nz.KIND_RETRACTION, nz.KIND_COMMENT,
                     nz.KIND_REPLY)
    cases = [("Erratum: X", [], E), ("Correction to: X", [], E), ("Corrigendum to X", [], E),
             ("Correction of hallux valgus by osteotomy", [], A),
             ("Retraction notice to X", [], R), ("Notice of Retraction: X", [], R),
             ("RETRACTED: X", [], A), ("Comment on: X", [], C), ("Re: X", [], C),
             ("Reply to the letter by Smith", [], P),
             ("Reply to the letter by Smith", ["Comment"], P), ("Authors' reply", [], P),
             ("Response to neoadjuvant therapy", [], A),
             ("X", ["Published Erratum"], E), ("X", ["Retraction of Publication"], R),
             ("X", ["Comment", "Letter"], C), ("X", ["Letter"], A),
             ("X", ["Journal Article"], A)]
    assert [nz.publication_kind(t, p) for t, p, _ in cases] == [k for _, _, k in cases]


# ----------------------------------------------------------- rules on small frames
def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=range(1, len(rows) + 1))


def _pairs(rows):
    return find_duplicates(_frame(rows)).duplicate_pairs()


ART = dict(title="Effect of aspirin on recurrent stroke: a randomized controlled trial",
           authors=["Smith, J."], year=2019, journal="Lancet Neurol", volume="18", pages="345-52")


def test_errata_comments_retractions_never_merge_with_article():
    rows = [ART,
            dict(ART, title="Erratum: " + ART["title"], pages="e5"),
            dict(ART, pub_types=["Published Erratum"], pages="e7"),  # same title, erratum
            dict(ART, title="Retraction notice to: " + ART["title"]),
            dict(ART, title="Comment on: " + ART["title"], authors=["Jones, A."]),
            dict(ART, pub_types=["Comment"], pages="1003"),
            dict(ART, title="Reply to: " + ART["title"])]
    assert _pairs(rows) == set()


def test_untyped_copy_of_an_erratum_matches_it_only_at_the_same_page():
    err = dict(ART, pub_types=["Published Erratum"], pages="e5")  # titled like the article
    # a database that exports no types: same volume and page, so the same item
    assert _pairs([err, dict(err, pub_types=[]), dict(ART, pub_types=["Article"])]) == {(1, 2)}
    # an untyped record on the article's page stays with the article, not the erratum
    assert _pairs([err, dict(ART, pub_types=[])]) == set()


def test_errata_of_the_same_article_are_duplicates_of_each_other():
    err = dict(ART, title="Erratum: " + ART["title"], pages="e5")
    rows = [err, dict(err, title=err["title"].upper(), pub_types=["Erratum"]), ART]
    assert _pairs(rows) == {(1, 2)}


def test_conflicting_identifiers_and_details_block_merges():
    # DOIs differ and the pages cannot confirm the rest (issue 11: with title, authors,
    # year, journal and pages all agreeing, two DOIs do not veto a match)
    rows = [dict(ART, doi="10.1/a.1"), dict(ART, doi="10.1/a.2", pages=None),
            dict(ART, title="Another trial of aspirin in stroke prevention", pmid="1",
                 pages="500-9"),
            dict(ART, title="Another trial of aspirin in stroke prevention", pmid="2",
                 pages="500-9")]                                                 # PMIDs differ
    assert _pairs(rows) == set()
    # same title, author and year, but first pages differ: a different paper
    assert _pairs([ART, dict(ART, pages="401-9")]) == set()
    # same title and author, years 3 apart: different
    assert _pairs([ART, dict(ART, year=2022, volume=None, pages=None)]) == set()


def test_chain_through_a_record_without_doi_cannot_join_two_dois():
    rows = [dict(ART, doi="10.1000/one"), dict(ART), dict(ART, doi="10.1000/two", pages=None)]
    pairs = _pairs(rows)
    assert len(pairs) == 1 and (1, 3) not in pairs


def test_corruptions_still_match():
    rows = [ART,
            dict(ART, title=ART["title"].upper(), authors=["SMITH J"]),          # case
            dict(ART, title=ART["title"][:48], journal="The Lancet Neurology"),  # truncated
            dict(ART, pages="345-352", doi=None, authors=["Smith J et al."]),    # et al.
            dict(ART, pages=None, year=2020),                                     # epub year
            dict(ART, title="Effect of aspirin on recurrent stroke. A randomised controlled"
                            " trial", volume=None)]
    pairs = _pairs(rows)
    assert pairs == {(a, b) for a in range(1, 7) for b in range(a + 1, 7)}


def test_translated_title_matches_by_doi_or_bibliographic_details():
    zh = dict(title="干细胞治疗股骨头坏死的荟萃分析", authors=["Zhang, W."], year=2021,
              journal="Orthopaedic Surgery", volume="13", pages="400-410")
    en = dict(zh, title="Stem cell therapy for femoral head necrosis: a meta-analysis")
    assert _pairs([zh, en]) == {(1, 2)}  # author, year, volume, page and journal agree
    assert _pairs([dict(zh, authors=["张伟"], doi="10.1111/os.12901"),
                   dict(en, doi="10.1111/OS.12901")]) == {(1, 2)}
    # identical details but another journal: not merged
    assert _pairs([zh, dict(en, journal="Journal of Bone Research")]) == set()


def test_short_generic_titles_need_more_than_a_title():
    rows = [dict(title="Editorial", authors=["Smith, J."], year=2019, journal="BMJ"),
            dict(title="Editorial", authors=["Smith, J."], year=2019, journal="Lancet"),
            dict(title="Editorial", authors=["Jones, K."], year=2019, journal="BMJ")]
    assert _pairs(rows) == set()


# --------------------------------------------------------- realistic files, end to end
# Groups in the test files, written out by reading them: (file, line of entry start).
EXPECTED_GROUPS = [
    {("embase_bom_crlf.ris", 1), ("scopus.ris", 1), ("pubmed.nbib", 1), ("refs.bib", 4),
     ("scopus_latin1.csv", 2), ("endnote.xml", 3)},                 # Smith 2019 trial
    {("embase_bom_crlf.ris", 41), ("scopus.ris", 24), ("pubmed.nbib", 33),
     ("refs.bib", 16)},                                              # García-López 2020
    {("scopus.ris", 37), ("pubmed.nbib", 50)},                       # comment on it
    {("scopus.ris", 63), ("wos.ris", 1), ("endnote.xml", 16)},       # Wang 2018
    {("embase_bom_crlf.ris", 65), ("wos.ris", 16), ("scopus_latin1.csv", 5),
     ("cnki.ris", 16)},                                              # Zhang 2021 (+ Chinese)
    {("wos.ris", 29), ("scopus_latin1.csv", 4), ("refs.bib", 30)},   # Hernández 2017
]
SINGLETONS = {("cnki.ris", 1), ("embase_bom_crlf.ris", 27), ("pubmed.nbib", 80),
              ("pubmed.nbib", 65),  # German-language record with a junk line (a warning)
              ("scopus.ris", 49), ("refs.bib", 40)}


REALISTIC_FILES = ("cnki.ris", "embase_bom_crlf.ris", "endnote.xml", "pubmed.nbib", "refs.bib",
                   "scopus.ris", "scopus_latin1.csv", "wos.ris")


def _imported_project(database_url) -> Project:
    p = Project.open(database_url)
    for f in REALISTIC_FILES:
        p.import_records(DATA / f)
    return p


def _groups(p: Project) -> list[set]:
    fr = p.records()
    fr["key"] = [(Path(f).name, line) for f, line in zip(fr["source_file"], fr["source_line"])]
    keeper = fr["duplicate_of"].fillna(pd.Series(fr.index, index=fr.index)).astype(int)
    return [set(g["key"]) for _, g in fr.groupby(keeper)]


def test_project_dedup_on_realistic_files(database_url, tmp_path):
    with _imported_project(database_url) as p:
        rep = p.dedup()
        assert rep.n_records == 28
        got = sorted(_groups(p), key=lambda g: sorted(g))
        want = sorted(EXPECTED_GROUPS + [{s} for s in SINGLETONS], key=lambda g: sorted(g))
        assert got == want
        assert rep.n_duplicates == sum(len(g) - 1 for g in EXPECTED_GROUPS) == 16
        c = p.counts()
        assert (c["identified"], c["duplicates_removed"], c["after_duplicates"]) == (28, 16, 12)
        # every decision has a reason and a score; running again finds nothing new
        dec = p.decisions()
        assert dec["reason"].str.len().min() > 0 and dec["score"].between(0, 1).all()
        assert (dec["method"] == "auto").all()
        assert p.dedup().n_duplicates == 0


def test_undo_is_respected_by_later_runs(database_url, tmp_path):
    with _imported_project(database_url) as p:
        p.dedup()
        dec = p.decisions()
        first = int(dec.index[0])
        rid = int(dec.loc[first, "record_id"])
        p.undo_dedup(first)
        assert p.counts()["duplicates_removed"] == 15
        assert p.dedup().n_duplicates == 0  # the distinct pair is not merged again
        assert rid in p.records(active_only=True).index


def test_keeper_is_most_complete_record():
    rows = [dict(ART), dict(ART, doi="10.1000/x", abstract="Background ...", pmid="123",
                            issue="4")]
    res = find_duplicates(_frame(rows))
    assert res.decisions[["record_id", "duplicate_of"]].values.tolist() == [[1, 2]]


# ------------------------------------------------------ precision/recall, labelled
def test_precision_recall_on_small_labelled_set():
    """18 records of 13 publications; the true duplicate pairs written out by hand."""
    T = {
        "a": dict(title="Core decompression with bone marrow concentrate for osteonecrosis of "
                        "the femoral head", authors=["Hernigou, P."], year=2018,
                  journal="International Orthopaedics", volume="42", pages="1639-1649",
                  doi="10.1007/s00264-018-3941-8"),
        "b": dict(title="Autologous bone marrow buffy coat grafting in femoral head "
                        "osteonecrosis", authors=["Pepke, W."], year=2016,
                  journal="Orthopade", volume="45", pages="2-10"),
    }
    rows = [
        T["a"],                                                                        # 1
        dict(T["a"], title=T["a"]["title"].upper(), doi=None),                         # 2
        dict(T["a"], doi="https://doi.org/10.1007/S00264-018-3941-8", pages="1639-49"),  # 3
        T["b"],                                                                        # 4
        dict(T["b"], title="[Autologous bone marrow buffy coat grafting in femoral head "
                           "osteonecrosis].", authors=["Pepke W"]),                   # 5
        dict(T["b"], pages="10-Feb"),        # Excel ate "2-10"                          6
        dict(T["b"], title="Erratum: Autologous bone marrow buffy coat grafting in "
                           "femoral head osteonecrosis", pages="200"),                 # 7
        dict(T["b"], title="Erratum to: Autologous bone marrow buffy coat grafting in "
                           "femoral head osteonecrosis", pages="200"),                 # 8
        dict(T["a"], title="Core decompression with bone marrow concentrate for "
                           "osteonecrosis of the knee", pages="2001-2008", doi=None),  # 9
    ]
    for k in range(9):  # nine unrelated singletons on similar topics
        rows.append(dict(title=f"Outcome number {k} of hip preservation surgery in young "
                               f"adults with avascular necrosis", authors=[f"Author{k}, A."],
                         year=2010 + k, journal="Hip Int", volume=str(20 + k),
                         pages=f"{100 + k}-{110 + k}"))
    truth = {(1, 2), (1, 3), (2, 3), (4, 5), (4, 6), (5, 6), (7, 8)}
    res = find_duplicates(_frame(rows))
    found = res.duplicate_pairs()
    tp = len(found & truth)
    precision = tp / len(found)
    recall = tp / len(truth)
    assert (precision, recall) == (1.0, 1.0), (found - truth, truth - found)


def test_cli_dedup_and_undo(database_url):
    from typer.testing import CliRunner

    from metakit.cli import app

    db = database_url
    run = CliRunner().invoke
    for f in ("pubmed.nbib", "scopus.ris"):
        assert run(app, ["records", "import", str(DATA / f), "-p", db]).exit_code == 0
    res = run(app, ["records", "dedup", "-p", db])
    # Smith 2019, García-López 2020 and the comment on it are in both files
    assert res.exit_code == 0 and res.output.startswith("3 duplicates removed in 3 groups")
    res = run(app, ["records", "undo", "1", "-p", db])
    assert res.exit_code == 0
    res = run(app, ["records", "counts", "-p", db])
    assert "duplicates removed: 2" in res.output and "identified: 10" in res.output


def test_chain_through_a_record_without_pages_cannot_join_two_pages():
    # an article, a copy missing volume and pages, and an erratum titled like the
    # article whose type was lost: 1-2 and 2-3 each look fine, 1-3 conflict on pages
    rows = [dict(ART), dict(ART, volume=None, pages=None),
            dict(ART, volume=None, pages="e5", year=2020)]
    pairs = _pairs(rows)
    assert len(pairs) == 1 and (1, 3) not in pairs


def test_more_complete_record_imported_later_becomes_keeper(database_url, tmp_path):
    base = dict(title=ART["title"], authors=["Smith, J."], year=2019,
                journal="Lancet Neurol", pages="345-52")
    with Project.open(database_url) as p:
        p.add_import([dict(base, volume="18"), dict(base)], file="a.ris", source_db="A",
                     format="ris")
        p.dedup()
        fr = p.records()
        assert pd.isna(fr.loc[1, "duplicate_of"]) and fr.loc[2, "duplicate_of"] == 1
        p.add_import([dict(base, volume="18", issue="4", doi="10.1016/x", pmid="123",
                           abstract="Background")], file="b.nbib", source_db="B",
                     format="medline")
        p.dedup()
        fr = p.records()
        # record 3 is the most complete: 1 now points at it, and so does 1's duplicate 2
        assert fr.loc[1, "duplicate_of"] == 3 and fr.loc[2, "duplicate_of"] == 3
        assert pd.isna(fr.loc[3, "duplicate_of"])
        assert p.counts()["duplicates_removed"] == 2
        undone = p.decisions().query("undone == 1")
        assert undone["record_id"].tolist() == [2]


def test_central_address_stored_as_doi_is_no_doi():
    assert nz.norm_doi("10.1002/central/CN-00569384/full") == ""
    assert nz.norm_doi("https://www.cochranelibrary.com/central/doi/10.1002/central/CN-00569384/full") == ""
