"""The CLI twins of what the web app did alone: highlighted terms and private notes
(``metakit screen terms|note``), and the store writes it lacked: ``metakit records dedup
--threshold``, ``records merge`` and ``records source-kind``. Both backends.

The web app reads what the CLI writes through the same functions
(:mod:`metakit.web.decisions`), so each test reads back through those, not through the CLI.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from metakit.cli import app
from metakit.review import audit
from metakit.review import screening as scr
from metakit.review.store import Project

pytest.importorskip("markupsafe")


def _make(target: str, titles: list[str] | None = None) -> str:
    titles = titles or [f"Trial {i} of core decompression" for i in range(4)]
    with Project.open(target) as p:
        p.add_import([{"title": t, "year": 2020} for t in titles], file="m.ris", source_db="MEDLINE",
                     format="ris")
    return target


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_terms_set_show_and_clear(database_url):
    from metakit.web import decisions

    db = _make(database_url)
    shown = _run("screen", "terms", "-p", db)
    assert shown.exit_code == 0 and "include: (none)" in shown.output
    r = _run("screen", "terms", "--include", "femoral head", "--include", "core decompression",
             "--exclude", "rat", "--reviewer", "own", "-p", db)
    assert r.exit_code == 0, r.output
    assert "include: femoral head; core decompression" in r.output and "exclude: rat" in r.output
    with Project.open(db, create=False) as p:
        assert decisions.terms(p.db) == {"include": ["femoral head", "core decompression"], "exclude": ["rat"]}
        assert list(audit.trail(p.db, action="screening.terms").actor) == ["own"]
    clash = _run("screen", "terms", "--include", "Rat", "--exclude", "rat", "-p", db)
    assert clash.exit_code == 1 and "both include and exclude" in clash.output
    assert _run("screen", "terms", "wipe", "-p", db).exit_code == 2
    r = _run("screen", "terms", "clear", "-p", db)
    assert r.exit_code == 0 and "include: (none)" in r.output and "exclude: (none)" in r.output
    with Project.open(db, create=False) as p:
        assert decisions.terms(p.db) == {"include": [], "exclude": []}


def test_notes_are_the_reviewers_own(database_url):
    from metakit.web import decisions

    db = _make(database_url)
    r = _run("screen", "note", "2", "dose", "unclear", "--reviewer", "ann", "-p", db)
    assert r.exit_code == 0 and "record 2, title-abstract, ann: dose unclear" in r.output
    r = _run("screen", "note", "2", "ask the authors", "--reviewer", "ann", "--stage", "full-text", "-p", db)
    assert r.exit_code == 0
    # blind: another reviewer sees no note of ann's
    assert "record 2, title-abstract, bob: (no note)" in _run("screen", "note", "2", "--reviewer", "bob",
                                                              "-p", db).output
    assert "ann: dose unclear" in _run("screen", "note", "2", "--reviewer", "ann", "-p", db).output
    with Project.open(db, create=False) as p:
        assert decisions.note_for(p.db, 2, "title-abstract", "ann") == "dose unclear"
        assert decisions.note_for(p.db, 2, "full-text", "ann") == "ask the authors"
        assert list(audit.trail(p.db, action="screening.note").target) == ["record:2", "record:2"]
    missing = _run("screen", "note", "99", "x", "--reviewer", "ann", "-p", db)
    assert missing.exit_code == 1 and "'99'" in missing.output and "no such record" in missing.output
    assert _run("screen", "note", "2", "x", "-p", db).exit_code == 2  # no --reviewer


A = "Core decompression with bone marrow concentrate for osteonecrosis of the femoral head"
# rapidfuzz's ratio of the two lower-cased titles is 0.88: merged at a title_strong cut-off
# of 0.80, not at the default 0.95
B = "Core decompression and bone marrow aspirate concentrate in osteonecrosis of the femoral head"


def test_dedup_thresholds_and_merge(database_url):
    db = _make(database_url, [A, B, "Unrelated knee study of tendons", "Hip fracture in the elderly"])
    r = _run("records", "dedup", "-p", db)
    assert r.exit_code == 0 and r.output.startswith("0 duplicates removed")
    r = _run("records", "dedup", "--threshold", "title_strong=0.80", "-p", db)
    assert r.exit_code == 0 and r.output.startswith("1 duplicates removed")
    for bad, words in (("title_strong=2", "between 0 and 1"), ("colour=0.5", "no dedup threshold 'colour'")):
        r = _run("records", "dedup", "--threshold", bad, "-p", db)
        assert r.exit_code == 1 and words in r.output, r.output
    assert _run("records", "dedup", "--threshold", "title_strong", "-p", db).exit_code == 2
    r = _run("records", "merge", "4", "3", "--note", "same cohort", "-p", db)
    assert r.exit_code == 0 and "record 4 removed as a duplicate of record 3" in r.output
    with Project.open(db, create=False) as p:
        assert p.counts()["duplicates_removed"] == 2
        d = p.decisions(include_undone=False)
        assert d[(d.kind == "duplicate") & (d.method == "manual")].record_id.tolist() == [4]
    assert _run("records", "merge", "4", "99", "-p", db).exit_code == 1


def test_source_kind_lists_and_declares(database_url):
    db = _make(database_url)
    r = _run("records", "source-kind", "-p", db)
    assert r.exit_code == 0 and r.output == "MEDLINE\tdatabase (not declared)\t4 records\n"
    r = _run("records", "source-kind", "MEDLINE", "other", "-p", db)
    assert r.exit_code == 0 and r.output == "MEDLINE\tother\t4 records\n"
    with Project.open(db, create=False) as p:
        # records from other methods skip title/abstract screening
        assert scr.progress(p, "title-abstract", "ann").total == 0
        assert scr.progress(p, "full-text", "ann").total == 4
        assert list(audit.trail(p.db, action="screening.source_kind").target) == ["source:MEDLINE"]
    bad = _run("records", "source-kind", "MEDLINE", "web", "-p", db)
    assert bad.exit_code == 1 and "kind must be 'database', 'register' or 'other'" in bad.output
    assert _run("records", "source-kind", "MEDLINE", "-p", db).exit_code == 2


def test_flag_and_unflag(database_url):
    db = _make(database_url)
    r = _run("screen", "flag", "2", "3", "--reason", "retracted", "--reviewer", "own", "-p", db)
    assert r.exit_code == 0 and "2 record(s) removed before screening (retracted); 0 already removed" in r.output
    with Project.open(db, create=False) as p:
        assert scr.progress(p, "title-abstract", "ann").total == 2  # 4 records, 2 removed
        assert list(audit.trail(p.db, action="screening.flag").actor) == ["own", "own"]
    assert _run("screen", "flag", "2", "-p", db).exit_code == 2  # no --reason
    missing = _run("screen", "flag", "99", "--reason", "x", "-p", db)
    assert missing.exit_code == 1 and "no such record" in missing.output
    r = _run("screen", "unflag", "3", "-p", db)
    assert r.exit_code == 0 and "record 3: back to screening" in r.output
    with Project.open(db, create=False) as p:
        assert scr.progress(p, "title-abstract", "ann").total == 3
