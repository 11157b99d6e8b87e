"""The project store: schema, migrations, transactions, decisions, counts, kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from metakit.errors import DataError
from metakit.review import store
from metakit.review.store import MIGRATIONS, Project, ProjectFileError, register_migration


def _recs(n: int, prefix: str = "Trial") -> list[dict]:
    return [{"title": f"{prefix} {i}", "authors": [f"Smith, A{i}"], "year": 2000 + i % 20,
             "doi": f"10.1000/x{i}", "source_line": 1 + 10 * i, "raw": {"TI": f"{prefix} {i}"}}
            for i in range(n)]


def test_new_file_has_schema_and_version(tmp_path):
    with Project.open(tmp_path / "review.db") as p:
        tables = {r[0] for r in p.conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        assert {"meta", "migrations", "imports", "records", "dedup_decisions", "dedup_runs",
                "active_records"} <= tables
        assert p.schema_version == 2
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


def test_registered_migration_applies_once(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "MIGRATIONS", list(MIGRATIONS))
    path = tmp_path / "review.db"
    Project.open(path).close()
    register_migration(150, "CREATE TABLE screening_test (id INTEGER PRIMARY KEY, x TEXT);")
    register_migration(150, "CREATE TABLE screening_test (id INTEGER PRIMARY KEY, x TEXT);")
    with pytest.raises(DataError):
        register_migration(150, "CREATE TABLE other (id INTEGER);")
    with Project.open(path) as p:
        assert p.schema_version == 150
        assert p.migrate() == []  # nothing pending the second time
        p.conn.execute("INSERT INTO screening_test (x) VALUES ('a')")
        versions = [r[0] for r in p.conn.execute("SELECT version FROM migrations ORDER BY 1")]
        assert versions == [1, 2, 150]


def test_failing_migration_leaves_file_unchanged(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "MIGRATIONS", list(MIGRATIONS))
    path = tmp_path / "review.db"
    Project.open(path).close()
    register_migration(151, "CREATE TABLE half (id INTEGER);\nSELECT * FROM no_such_table;")
    with pytest.raises(sqlite3.OperationalError):
        Project.open(path)
    con = sqlite3.connect(path)
    assert con.execute("SELECT name FROM sqlite_master WHERE name='half'").fetchone() is None
    assert con.execute("SELECT MAX(version) FROM migrations").fetchone()[0] == 2


def test_add_import_stores_records_and_provenance(tmp_path):
    with Project.open(tmp_path / "review.db") as p:
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


def test_error_inside_transaction_rolls_back(tmp_path):
    with Project.open(tmp_path / "review.db") as p:
        p.add_import(_recs(2), file="a.ris", source_db="A", format="ris")
        bad = _recs(3) + [{"title": "x", "year": "not a year"}]
        with pytest.raises(ValueError):
            p.add_import(bad, file="b.ris", source_db="B", format="ris")
        assert p.counts()["identified"] == 2
        assert p.counts()["imports"] == 1


def _two_groups(p: Project) -> None:
    p.add_import(_recs(4), file="a.ris", source_db="Embase", format="ris")
    p.add_import(_recs(2, "Other"), file="b.nbib", source_db="PubMed", format="medline")


def test_counts_override_and_undo(tmp_path):
    with Project.open(tmp_path / "review.db") as p:
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
    original = store._insert_chunk
    def slow(c, sql, rows):
        original(c, sql, rows)
        marker.write_text("writing")   # at least one chunk is inside the open transaction
        time.sleep(0.05)
    store._insert_chunk = slow
    n = int(sys.argv[3])
    recs = [{"title": f"Record {i}", "authors": ["Doe, J"], "year": 2001} for i in range(n)]
    with store.Project.open(sys.argv[1]) as p:
        p.add_import(recs, file="big.ris", source_db="Scopus", format="ris")
    marker.write_text("done")
""")


@pytest.mark.parametrize("delay", [0.0, 0.3])
def test_kill_9_mid_import_leaves_before_state(tmp_path, delay):
    path = tmp_path / "review.db"
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
    # a hot journal is left behind; opening rolls it back
    with Project.open(path) as p:
        assert p.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
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
            assert p.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            got = p.counts()["identified"]
            assert p.counts()["imports"] == (1 if got else 0)
        assert got in {0, n}
        seen.add(got)
    assert n in seen  # the 60 s run completes


def test_version_1_file_is_migrated_to_version_2(tmp_path, monkeypatch):
    path = tmp_path / "review.db"
    monkeypatch.setattr(store, "MIGRATIONS", [m for m in MIGRATIONS if m[0] == 1])
    with Project.open(path) as p:  # a file as the first release wrote it
        assert p.schema_version == 1
        with p.transaction() as c:
            c.execute("INSERT INTO imports (file, source_db, format, imported_at, n_records, "
                      "n_errors) VALUES ('a.ris', 'A', 'ris', '2026-01-01', 2, 0)")
            c.executemany("INSERT INTO records (import_id, source_db, source_file, title) "
                          "VALUES (1, 'A', 'a.ris', ?)", [("x",), ("y",)])
    monkeypatch.undo()
    with Project.open(path) as p:
        assert p.schema_version == 2
        assert p.imports().loc[1, "sha256"] is None
        p.add_import(_recs(1), file="b.ris", source_db="B", format="ris", sha256="ab")
        assert p.imports()["sha256"].isna().tolist() == [True, False]
        assert p.counts()["identified"] == 3
