"""The project store: schema, migrations, transactions, decisions, counts, kill -9.

Store tests run on SQLite and PostgreSQL (``database_url``); the file-level ones (a file
that is not a database, kill -9 and SQLite's integrity check) on SQLite.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa

from metakit.errors import DataError
from metakit.review import database, store
from metakit.review.database import DatabaseError, register_migration
from metakit.review.store import Project, ProjectFileError

STORE_TABLES = {"meta", "migrations", "imports", "records", "dedup_decisions", "dedup_runs",
                "screening_decisions", "exclusion_reasons", "automation_flags", "reports",
                "source_kinds", "audit"}


def _recs(n: int, prefix: str = "Trial") -> list[dict]:
    return [{"title": f"{prefix} {i}", "authors": [f"Smith, A{i}"], "year": 2000 + i % 20,
             "doi": f"10.1000/x{i}", "source_line": 1 + 10 * i, "raw": {"TI": f"{prefix} {i}"}}
            for i in range(n)]


def _integrity(p: Project) -> str:
    with p.db.read() as c:
        return c.execute(sa.text("PRAGMA integrity_check")).scalar_one()


def test_new_store_has_schema_and_version(database_url):
    with Project.open(database_url) as p:
        with p.db.read() as c:
            inspector = sa.inspect(c)
            tables = set(inspector.get_table_names())
            views = set(inspector.get_view_names())
        assert STORE_TABLES <= tables
        assert "active_records" in views
        assert {1, 2, 100, 101, 200} <= set(p.db.applied())
        assert p.schema_version == max(p.db.applied())
        assert p.migrate() == []
        assert p.counts() == {"identified": 0, "identified_by_source": {},
                              "duplicates_removed": 0, "after_duplicates": 0, "imports": 0,
                              "import_errors": 0}


def test_open_without_create_needs_the_file(tmp_path):
    with pytest.raises(ProjectFileError, match="missing.db does not exist"):
        Project.open(tmp_path / "missing.db", create=False)


def test_a_file_that_is_not_sqlite_is_named_and_left_alone(tmp_path):
    path = tmp_path / "refs.ris"
    path.write_text("TY  - JOUR\nTI  - Not a database\nER  - \n")
    with pytest.raises(ProjectFileError, match="refs.ris is not a metakit project"):
        Project.open(path)
    assert path.read_text().startswith("TY  - JOUR")


def _screening_test(conn):
    conn.execute(sa.text("CREATE TABLE screening_test (id INTEGER PRIMARY KEY, x TEXT)"))


def test_registered_migration_applies_once(database_url, monkeypatch):
    monkeypatch.setattr(database, "MIGRATIONS", list(database.MIGRATIONS))
    Project.open(database_url).close()
    register_migration(150, _screening_test)
    register_migration(150, _screening_test)
    with pytest.raises(DataError):
        register_migration(150, lambda conn: None)
    with Project.open(database_url) as p:
        assert 150 in p.db.applied()
        assert p.migrate() == []  # nothing pending the second time
        with p.transaction() as c:
            c.execute(sa.text("INSERT INTO screening_test (id, x) VALUES (1, 'a')"))
        assert [v for v in p.db.applied() if v < 200] == [1, 2, 100, 101, 150]


def _half(conn):
    conn.execute(sa.text("CREATE TABLE half (id INTEGER)"))
    conn.execute(sa.text("SELECT * FROM no_such_table"))


def test_failing_migration_leaves_store_unchanged(database_url, monkeypatch):
    monkeypatch.setattr(database, "MIGRATIONS", list(database.MIGRATIONS))
    with Project.open(database_url) as p:
        before = p.db.applied()
    register_migration(9_151, _half)
    with pytest.raises(DatabaseError, match="migration 9151 failed"):
        Project.open(database_url)
    monkeypatch.undo()
    with Project.open(database_url) as p:
        with p.db.read() as c:
            assert not sa.inspect(c).has_table("half")
        assert p.db.applied() == before


def test_add_import_stores_records_and_provenance(database_url):
    with Project.open(database_url) as p:
        iid = p.add_import(_recs(3), file="embase.ris", source_db="Embase", format="ris",
                           errors=[{"file": "embase.ris", "line": 40, "message": "no TY"}])
        frame = p.records()
        assert list(frame.index) == [1, 2, 3]
        assert frame.loc[2, "title"] == "Trial 1"
        assert frame.loc[2, "authors"] == ["Smith, A1"]
        assert frame.loc[2, "raw"] == {"TI": "Trial 1"}
        assert frame.loc[3, "source_line"] == 21
        assert set(frame["source_db"]) == {"Embase"}
        assert (frame["import_id"] == iid).all()
        imp = p.imports()
        assert imp.loc[iid, "n_records"] == 3 and imp.loc[iid, "n_errors"] == 1
        assert imp.loc[iid, "errors"][0]["line"] == 40
        assert p.counts()["import_errors"] == 1


def test_error_inside_transaction_rolls_back(database_url):
    with Project.open(database_url) as p:
        p.add_import(_recs(2), file="a.ris", source_db="A", format="ris")
        bad = _recs(3) + [{"title": "x", "year": "not a year"}]
        with pytest.raises(ValueError):
            p.add_import(bad, file="b.ris", source_db="B", format="ris")
        assert p.counts()["identified"] == 2
        assert p.counts()["imports"] == 1


def _two_groups(p: Project) -> None:
    p.add_import(_recs(4), file="a.ris", source_db="Embase", format="ris")
    p.add_import(_recs(2, "Other"), file="b.nbib", source_db="PubMed", format="medline")


def test_counts_override_and_undo(database_url):
    with Project.open(database_url) as p:
        _two_groups(p)
        # record 5 duplicates 1, record 6 duplicates 2 (by hand)
        p.override(5, 1, note="same trial")
        p.override(6, 2)
        c = p.counts()
        assert c["identified_by_source"] == {"Embase": 4, "PubMed": 2}
        assert (c["identified"], c["duplicates_removed"], c["after_duplicates"]) == (6, 2, 4)
        assert list(p.records(active_only=True).index) == [1, 2, 3, 4]
        assert p.records().loc[5, "duplicate_of"] == 1
        # merging record 1 (a kept record) into 3 moves its duplicate 5 to 3 as well
        p.override(1, 3)
        frame = p.records()
        assert frame.loc[1, "duplicate_of"] == 3 and frame.loc[5, "duplicate_of"] == 3
        # a duplicate of a removed record points at its kept record
        p.override(4, 5)
        assert p.records().loc[4, "duplicate_of"] == 3
        assert p.counts()["duplicates_removed"] == 4
        # undo: record 6 is kept again and a 'distinct' decision guards the pair
        dec = p.decisions()
        d6 = dec[(dec.record_id == 6) & (dec.kind == "duplicate")].index[0]
        p.undo_dedup(int(d6))
        assert p.counts()["duplicates_removed"] == 3
        dec = p.decisions(include_undone=False)
        guard = dec[(dec.record_id == 6) & (dec.kind == "distinct")]
        assert list(guard["duplicate_of"]) == [2]
        with pytest.raises(DataError):
            p.undo_dedup(int(d6))
        # override(None): record 1 is kept again
        p.override(1, None)
        assert pd_isna(p.records().loc[1, "duplicate_of"])
        with pytest.raises(DataError):
            p.override(3, 3)
        with pytest.raises(DataError):
            p.override(99, 1)


def pd_isna(x) -> bool:
    import pandas as pd

    return bool(pd.isna(x))


# ------------------------------------------------------------------ kill -9 mid-import
_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from metakit.review import store
    marker = Path(sys.argv[2])
    def mark(text):
        # write-then-rename: a kill mid-write never leaves the marker empty
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(marker)
    original = store._insert_chunk
    def slow(c, sql, rows):
        original(c, sql, rows)
        mark("writing")   # at least one chunk is inside the open transaction
        time.sleep(0.05)
    store._insert_chunk = slow
    n = int(sys.argv[3])
    recs = [{"title": f"Record {i}", "authors": ["Doe, J"], "year": 2001} for i in range(n)]
    with store.Project.open(sys.argv[1]) as p:
        p.add_import(recs, file="big.ris", source_db="Scopus", format="ris")
    mark("done")
""")


@pytest.mark.parametrize("delay", [0.0, 0.3])
def test_kill_9_mid_import_leaves_before_state(database_url, tmp_path, delay):
    path = database_url
    with Project.open(path) as p:
        p.add_import(_recs(5), file="a.ris", source_db="Embase", format="ris")
    marker = tmp_path / "marker"
    n = 40 * store._CHUNK  # 40 chunks, >= 2 s of slowed writes: killed well before the end
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(marker), str(n)])
    deadline = time.time() + 60
    while not (marker.exists() and marker.read_text() == "writing"):
        assert proc.poll() is None, "import finished or died before it was killed"
        assert time.time() < deadline
        time.sleep(0.01)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert marker.read_text() == "writing"
    # SQLite: the killed transaction's pages in the WAL were never committed, opening
    # ignores them; PostgreSQL: the server rolls back a transaction whose client is gone
    with Project.open(path) as p:
        if p.db.dialect == "sqlite":
            assert _integrity(p) == "ok"
        assert p.counts()["identified"] == 5
        assert p.counts()["imports"] == 1


def test_kill_9_at_random_points_gives_before_or_after(tmp_path):
    """A real RIS import killed after growing delays: always all or nothing."""
    n = 30_000
    big = tmp_path / "big.ris"
    big.write_text("".join(f"TY  - JOUR\nTI  - Record {i}\nAU  - Doe, J\nPY  - 2001\n"
                           f"AB  - {'x' * 200}\nER  - \n\n" for i in range(n)))
    child = textwrap.dedent("""
        import sys
        from metakit.review.store import Project
        with Project.open(sys.argv[1]) as p:
            p.import_records(sys.argv[2], source="Scopus")
    """)
    seen = set()
    for i, delay in enumerate([0.5, 1.0, 1.5, 2.5, 60.0]):
        path = tmp_path / f"review{i}.db"
        Project.open(path).close()
        proc = subprocess.Popen([sys.executable, "-c", child, str(path), str(big)])
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        with Project.open(path) as p:
            assert _integrity(p) == "ok"
            got = p.counts()["identified"]
            assert p.counts()["imports"] == (1 if got else 0)
        assert got in {0, n}
        seen.add(got)
    assert n in seen  # the 60 s run completes


# The schema of version 1 as the first release wrote it (store.py at commit 353438e).
_V1 = """
CREATE TABLE imports (id INTEGER PRIMARY KEY, file TEXT NOT NULL, source_db TEXT NOT NULL,
    format TEXT NOT NULL, encoding TEXT, imported_at TEXT NOT NULL, n_records INTEGER NOT NULL,
    n_errors INTEGER NOT NULL, errors TEXT NOT NULL DEFAULT '[]');
CREATE TABLE records (id INTEGER PRIMARY KEY, import_id INTEGER NOT NULL REFERENCES imports(id),
    source_db TEXT NOT NULL, source_file TEXT NOT NULL, source_line INTEGER, source_key TEXT,
    title TEXT, authors TEXT NOT NULL DEFAULT '[]', year INTEGER, journal TEXT, volume TEXT,
    issue TEXT, pages TEXT, doi TEXT, pmid TEXT, abstract TEXT,
    keywords TEXT NOT NULL DEFAULT '[]', pub_types TEXT NOT NULL DEFAULT '[]', language TEXT,
    raw TEXT NOT NULL DEFAULT '{}');
CREATE TABLE dedup_runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}', n_candidates INTEGER, n_duplicates INTEGER);
CREATE TABLE dedup_decisions (id INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL REFERENCES records(id),
    duplicate_of INTEGER NOT NULL REFERENCES records(id),
    kind TEXT NOT NULL CHECK (kind IN ('duplicate', 'distinct')), reason TEXT NOT NULL,
    score REAL, method TEXT NOT NULL CHECK (method IN ('auto', 'manual')),
    run_id INTEGER REFERENCES dedup_runs(id), decided_at TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0, undone_at TEXT, note TEXT);
CREATE VIEW active_records AS SELECT r.* FROM records r WHERE NOT EXISTS (SELECT 1 FROM
    dedup_decisions d WHERE d.record_id = r.id AND d.kind = 'duplicate' AND d.undone = 0);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
INSERT INTO migrations VALUES (1, '2026-01-01');
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO imports (file, source_db, format, imported_at, n_records, n_errors)
    VALUES ('a.ris', 'A', 'ris', '2026-01-01', 2, 0);
INSERT INTO records (import_id, source_db, source_file, title) VALUES (1, 'A', 'a.ris', 'x');
INSERT INTO records (import_id, source_db, source_file, title) VALUES (1, 'A', 'a.ris', 'y');
"""


def test_version_1_file_is_migrated(tmp_path):
    path = tmp_path / "review.db"
    con = sqlite3.connect(path)
    con.executescript(_V1)
    con.close()
    with Project.open(path) as p:
        assert {1, 2, 100, 101, 200} <= set(p.db.applied())
        assert p.imports().loc[1, "sha256"] is None
        p.add_import(_recs(1), file="b.ris", source_db="B", format="ris", sha256="ab")
        assert p.imports()["sha256"].isna().tolist() == [True, False]
        assert p.counts()["identified"] == 3
