"""Issue 11's deduplication categories, each on records from the real test exports.

Base records are read from the real files in ``data/`` (see ``test_wos_ovid.py`` for
their origin). The second version of a record applies what the category is about
(a second DOI, the online-first paging, a volume notation ...) to the real record:
the pairs are labelled by construction, the bibliographic details are real.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from metakit.review.dedup import find_duplicates
from metakit.review.records import read_records

DATA = Path(__file__).parent / "data"
FIELDS = ("title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
          "pub_types")


def _real(name: str, k: int) -> dict:
    rec = read_records(DATA / name).records[k]
    return {f: rec.get(f) for f in FIELDS}


def _result(rows):
    frame = pd.DataFrame(rows, index=range(1, len(rows) + 1))
    return find_duplicates(frame)


def _pairs(rows):
    return _result(rows).duplicate_pairs()


ZHOU = _real("wos_tagged_bom.txt", 0)          # Mar Freshw Res 60(12):1298-1308, 10.1071/MF09022
OSEI = _real("wos_core_2023.ciw", 2)           # Constr Innov, Early Access 2022, no pages
BEHAN, DYSK = _real("ovid_embase.cgi", 0), _real("ovid_embase.cgi", 1)  # BMC Proc 12 Suppl 3


def test_same_article_under_two_dois():
    sici = dict(ZHOU, doi="10.1071/MF09022", journal="Marine and Freshwater Research")
    jstor_like = dict(ZHOU, doi="10.2307/MF09022-jstor", authors=["Zhou S", "Punt AE"])
    res = _result([sici, jstor_like])
    assert res.duplicate_pairs() == {(1, 2)}
    assert res.decisions["reason"].tolist() == ["title+author+journal+year+page (two DOIs)"]
    # another first page: two DOIs stay two articles
    assert _pairs([sici, dict(jstor_like, pages="1309-1320")]) == set()


def test_online_first_and_issue_version():
    # Web of Science Early Access record (no volume, no pages) and the issue version
    # (the DOI would match them anyway: the issue version here comes without one)
    issue = dict(OSEI, doi=None, year=2024, volume="24", issue="2", pages="455-466")
    assert _pairs([OSEI, issue]) == {(1, 2)}
    # its own paging 1-12 while online first, 455-466 in the issue
    early = dict(OSEI, pages="1-12")
    res = _result([early, issue])
    assert res.duplicate_pairs() == {(1, 2)}
    assert res.decisions["reason"].tolist() == [
        "title+author+journal (online-first and issue version)"]
    # three years apart, or pages of another length: not the same
    assert _pairs([early, dict(issue, year=2025)]) == set()
    assert _pairs([early, dict(issue, pages="455-470")]) == set()


@pytest.mark.parametrize("a, b", [
    (dict(volume="35"), dict(volume="35 (Pt 1)")),
    (dict(pages="63"), dict(pages="P63 [tp 104]")),
    (dict(pages="108"), dict(pages="viii108")),
    (dict(pages="1-9"), dict(pages="01-Sep")),             # Excel date, day-month locale
    (dict(pages="12-14, 455-466"), dict(pages="455-466, 12-14")),
])
def test_volume_and_page_notations(a, b):
    one = {**ZHOU, **a}
    other = {**ZHOU, "title": ZHOU["title"].upper(), "authors": ["ZHOU S"], "doi": None, **b}
    assert _pairs([one, other]) == {(1, 2)}


def test_translated_title_same_script():
    # MEDLINE's bracketed English title and the original German title (pubmed.nbib, PMID
    # 29999999): same author, journal, year and page range, no volume in one record
    rec = _real("pubmed.nbib", 3)
    assert rec["title"] == "[Core decompression in femoral head necrosis]."
    german = dict(rec, title="Kernbohrung bei Hüftkopfnekrose", authors=["Schröder H"],
                  journal="Orthopäde", volume=None, pages="120-126", pmid=None)
    assert _pairs([rec, german]) == {(1, 2)}


def test_conference_abstracts_of_one_supplement_never_merge():
    # The real pair: two abstracts in BMC Proceedings 12 (Supplement 3), one DOI
    assert BEHAN["doi"] == DYSK["doi"] and BEHAN["title"] != DYSK["title"]
    assert _pairs([BEHAN, DYSK]) == set()
    # Same first author and the same page too
    same_author = dict(DYSK, authors=BEHAN["authors"][:1] + ["Server E.A."])
    assert _pairs([dict(BEHAN, pages="S45"), dict(same_author, pages="S45")]) == set()
    # ... and without publication types, the supplement issue alone tells
    bare = [dict(r, pub_types=None) for r in (dict(BEHAN, pages="S45"),
                                               dict(same_author, pages="S45"))]
    assert _pairs(bare) == set()
    # The same abstract from two databases still merges
    assert _pairs([BEHAN, dict(BEHAN, title=BEHAN["title"].upper(), doi=None)]) == {(1, 2)}
