"""The data layer: one transaction rule and one migration path on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from metakit.review import database as dbm
from metakit.review.database import DatabaseError, open_database, register_migration, to_url

_items = sa.Table(
    "test_items", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("batch", sa.Integer, nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.UniqueConstraint("batch", "label"),
)


def _create_items(conn: sa.Connection) -> None:
    _items.create(conn, checkfirst=True)


@pytest.fixture
def items_migration():
    register_migration(9_001, _create_items)
    yield
    dbm.MIGRATIONS.remove((9_001, _create_items))


def test_migration_applied_once_and_recorded(database_url, items_migration):
    db = open_database(database_url)
    try:
        assert 9_001 in db.applied()
        assert db.schema_version >= 9_001
        assert db.migrate() == []
        with db.read() as conn:
            assert sa.inspect(conn).has_table("test_items")
    finally:
        db.dispose()
    again = open_database(database_url)
    try:
        assert again.migrate() == []
        assert again.applied().count(9_001) == 1
    finally:
        again.dispose()


def test_write_commits_whole_or_not_at_all(database_url, items_migration):
    db = open_database(database_url)
    try:
        with db.write() as conn:
            conn.execute(sa.insert(_items), [{"batch": 1, "label": "a"}, {"batch": 1, "label": "b"}])
        with pytest.raises(RuntimeError), db.write() as conn:
            conn.execute(sa.insert(_items).values(batch=2, label="a"))
            raise RuntimeError("fails half way")
        with pytest.raises(sa.exc.IntegrityError), db.write() as conn:
            conn.execute(sa.insert(_items).values(batch=3, label="a"))
            conn.execute(sa.insert(_items).values(batch=1, label="a"))  # violates the unique rule
        with db.read() as conn:
            batches = sorted(conn.execute(sa.select(_items.c.batch)).scalars())
        assert batches == [1, 1]
    finally:
        db.dispose()


def test_nested_write_joins_the_outer_transaction(database_url, items_migration):
    db = open_database(database_url)
    try:
        with pytest.raises(RuntimeError), db.write() as outer:
            with db.write() as inner:
                assert inner is outer
                inner.execute(sa.insert(_items).values(batch=1, label="inner"))
            raise RuntimeError("the outer block fails after the inner one ended")
        with db.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(_items)).scalar_one() == 0
    finally:
        db.dispose()


def test_failing_migration_names_itself_and_changes_nothing(tmp_path):
    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("CREATE TABLE half_done (x INTEGER)"))
        conn.execute(sa.text("SELECT * FROM no_such_table"))

    register_migration(9_002, broken)
    try:
        with pytest.raises(DatabaseError, match="migration 9002 failed"):
            open_database(tmp_path / "review.db")
    finally:
        dbm.MIGRATIONS.remove((9_002, broken))
    db = open_database(tmp_path / "review.db")
    try:
        assert 9_002 not in db.applied()
        with db.read() as conn:
            assert not sa.inspect(conn).has_table("half_done")
    finally:
        db.dispose()


def test_sqlite_writers_are_serialised(tmp_path, items_migration):
    """Read-then-write inside write() loses no update with 8 threads (BEGIN IMMEDIATE)."""
    db = open_database(tmp_path / "review.db")
    counter = sa.Table("test_counter", sa.MetaData(), sa.Column("n", sa.Integer))
    with db.write() as conn:
        counter.create(conn)
        conn.execute(sa.insert(counter).values(n=0))

    def bump() -> None:
        for _ in range(25):
            with db.write() as conn:
                n = conn.execute(sa.select(counter.c.n)).scalar_one()
                conn.execute(sa.update(counter).values(n=n + 1))

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.read() as conn:
        assert conn.execute(sa.select(counter.c.n)).scalar_one() == 8 * 25
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
    db.dispose()


def test_kill_9_during_writes_leaves_sqlite_intact(tmp_path):
    """A writer killed at a random moment leaves only whole transactions (pairs of rows)."""
    path = tmp_path / "review.db"
    script = textwrap.dedent(f"""
        import sqlalchemy as sa, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_database import _items, _create_items
        from metakit.review.database import open_database, register_migration
        register_migration(9_001, _create_items)
        db = open_database({str(path)!r})
        print("ready", flush=True)
        batch = 0
        while True:
            batch += 1
            with db.write() as conn:
                conn.execute(sa.insert(_items).values(batch=batch, label="first"))
                conn.execute(sa.insert(_items).values(batch=batch, label="second"))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    assert proc.stdout.readline().strip() == b"ready"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    register_migration(9_001, _create_items)
    try:
        db = open_database(path)
        with db.read() as conn:
            assert conn.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
            rows = conn.execute(sa.select(_items.c.batch, sa.func.count()).group_by(_items.c.batch)).all()
        db.dispose()
    finally:
        dbm.MIGRATIONS.remove((9_001, _create_items))
    assert len(rows) > 5, "the writer committed some transactions before it was killed"
    assert {n for _, n in rows} == {2}
    assert sorted(b for b, _ in rows) == list(range(1, len(rows) + 1))


def test_urls_and_refusals(tmp_path):
    assert to_url(tmp_path / "r.db").get_backend_name() == "sqlite"
    assert to_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(DatabaseError, match="SQLite files or PostgreSQL"):
        to_url("mysql://u@h/db")
    with pytest.raises(DatabaseError, match="does not exist"):
        open_database(tmp_path / "missing.db", create=False)
    with pytest.raises(DatabaseError, match="is a folder"):
        open_database(tmp_path)
    junk = tmp_path / "notes.db"
    junk.write_text("these are my notes, not a database\n" * 200)
    with pytest.raises(DatabaseError, match="cannot be opened"):
        open_database(junk)
