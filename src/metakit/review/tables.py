"""The review store's tables (records, deduplication, screening) and their migrations.

Each table is a SQLAlchemy Core :class:`sqlalchemy.Table` on the shared
:data:`metakit.review.database.metadata`, so SQLite and PostgreSQL each get their own DDL
from one definition. Column types are those the SQLite store has used since its first
release (list and object fields are JSON text, flags are 0/1 integers), so review files
written by earlier releases are read as they are.

Migrations (registered when this module is imported)
----------------------------------------------------
1
    ``imports``, ``records``, ``dedup_runs``, ``dedup_decisions`` and the view
    ``active_records`` (records not removed as duplicates).
2
    ``imports.sha256`` (the digest of each imported file, so one export is not imported
    twice).
100
    Screening: ``screening_decisions``, ``exclusion_reasons``, ``automation_flags``,
    ``reports``, ``source_kinds`` (see :mod:`metakit.review.screening`).
101
    ``screening_decisions.request_id``: nullable and unique, so a retried request (a
    browser sending a form twice) never records a decision twice.

A new store gets each table in its current shape from the migration that introduced it;
the later migrations then find their column present and only bring files written by
earlier releases up to date. The audit trail's table belongs to :mod:`metakit.review.audit`
(migration 200).

Example
-------
>>> from metakit.review.database import open_database
>>> db = open_database("sqlite://")
>>> [v for v in db.applied() if v in (1, 2, 100, 101)]
[1, 2, 100, 101]
>>> db.dispose()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from metakit.review.database import metadata, register_migration

__all__ = [
    "active_records", "automation_flags", "dedup_decisions", "dedup_runs", "exclusion_reasons",
    "imports", "records", "reports", "screening_decisions", "source_kinds", "upsert",
]

_STAGES = "stage IN ('title-abstract', 'full-text')"

imports = sa.Table(
    "imports", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("source_db", sa.Text, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("encoding", sa.Text),
    sa.Column("imported_at", sa.Text, nullable=False),
    sa.Column("n_records", sa.Integer, nullable=False),
    sa.Column("n_errors", sa.Integer, nullable=False),
    sa.Column("errors", sa.Text, nullable=False, server_default="[]"),
    sa.Column("sha256", sa.Text),
    sa.Index("imports_sha256", "sha256"),
)

records = sa.Table(
    "records", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
    sa.Column("source_db", sa.Text, nullable=False),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_line", sa.Integer),
    sa.Column("source_key", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("authors", sa.Text, nullable=False, server_default="[]"),
    sa.Column("year", sa.Integer),
    sa.Column("journal", sa.Text),
    sa.Column("volume", sa.Text),
    sa.Column("issue", sa.Text),
    sa.Column("pages", sa.Text),
    sa.Column("doi", sa.Text),
    sa.Column("pmid", sa.Text),
    sa.Column("abstract", sa.Text),
    sa.Column("keywords", sa.Text, nullable=False, server_default="[]"),
    sa.Column("pub_types", sa.Text, nullable=False, server_default="[]"),
    sa.Column("language", sa.Text),
    sa.Column("raw", sa.Text, nullable=False, server_default="{}"),
    sa.Index("records_import", "import_id"),
    sa.Index("records_source", "source_db"),
)

dedup_runs = sa.Table(
    "dedup_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started_at", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("n_candidates", sa.Integer),
    sa.Column("n_duplicates", sa.Integer),
)

dedup_decisions = sa.Table(
    "dedup_decisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("duplicate_of", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("kind", sa.Text, sa.CheckConstraint("kind IN ('duplicate', 'distinct')"),
              nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("method", sa.Text, sa.CheckConstraint("method IN ('auto', 'manual')"),
              nullable=False),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("dedup_runs.id")),
    sa.Column("decided_at", sa.Text, nullable=False),
    sa.Column("undone", sa.Integer, nullable=False, server_default="0"),
    sa.Column("undone_at", sa.Text),
    sa.Column("note", sa.Text),
    sa.Index("dedup_record", "record_id", "undone"),
    sa.Index("dedup_target", "duplicate_of", "undone"),
)

screening_decisions = sa.Table(
    "screening_decisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("stage", sa.Text, sa.CheckConstraint(_STAGES), nullable=False),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("decision", sa.Text,
              sa.CheckConstraint("decision IN ('include', 'exclude', 'maybe')"), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("decided_at", sa.Text, nullable=False),
    sa.Column("undone", sa.Integer, nullable=False, server_default="0"),
    sa.Column("undone_at", sa.Text),
    sa.Column("adjudication", sa.Integer, nullable=False, server_default="0"),
    sa.Column("origin", sa.Text, nullable=False, server_default="metakit"),
    sa.Column("request_id", sa.Text),
    sa.Index("screening_record", "stage", "record_id", "undone"),
    sa.Index("screening_reviewer", "stage", "reviewer", "undone"),
    sa.Index("screening_request", "request_id", unique=True),
)

exclusion_reasons = sa.Table(
    "exclusion_reasons", metadata,
    sa.Column("stage", sa.Text, sa.CheckConstraint(_STAGES), primary_key=True),
    sa.Column("reason", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)

automation_flags = sa.Table(
    "automation_flags", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("kind", sa.Text, sa.CheckConstraint("kind IN ('automation', 'other')"),
              nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text),
    sa.Column("flagged_at", sa.Text, nullable=False),
    sa.Column("undone", sa.Integer, nullable=False, server_default="0"),
    sa.Column("undone_at", sa.Text),
    sa.Index("automation_record", "record_id", "undone"),
)

reports = sa.Table(
    "reports", metadata,
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True,
              autoincrement=False),
    sa.Column("retrieved", sa.Integer, sa.CheckConstraint("retrieved IN (0, 1)"),
              nullable=False),
    sa.Column("study_id", sa.Text),
    sa.Column("location", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("updated_at", sa.Text, nullable=False),
)

source_kinds = sa.Table(
    "source_kinds", metadata,
    sa.Column("source_db", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, sa.CheckConstraint("kind IN ('database', 'register', 'other')"),
              nullable=False),
)

_removed = (sa.select(dedup_decisions.c.id)
            .where(dedup_decisions.c.record_id == records.c.id,
                   dedup_decisions.c.kind == "duplicate", dedup_decisions.c.undone == 0)
            .exists())

#: Records not removed as duplicates (the records that go on to screening), as an
#: expression; the view of the same name serves other readers of the file.
active_records = sa.select(records).where(~_removed).subquery("active_records")


def upsert(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
           keys: Sequence[str]) -> None:
    """Insert rows, or update the other columns of rows whose ``keys`` exist already.

    One statement on either server (``INSERT ... ON CONFLICT DO UPDATE``), so concurrent
    writers never see a unique-key error.
    """
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table)
    rows = [values] if isinstance(values, Mapping) else list(values)
    others = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=others), rows)


def _has_column(conn: sa.Connection, table: str, column: str) -> bool:
    return column in {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _has_index(conn: sa.Connection, table: str, name: str) -> bool:
    return name in {i["name"] for i in sa.inspect(conn).get_indexes(table)}


def _add_column(conn: sa.Connection, table: sa.Table, column: str) -> None:
    """Add ``column`` of ``table`` (as defined above) to a file that lacks it."""
    if not _has_column(conn, table.name, column):
        ddl = sa.schema.CreateColumn(table.c[column]).compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))


def _add_index(conn: sa.Connection, table: sa.Table, name: str) -> None:
    if not _has_index(conn, table.name, name):
        next(i for i in table.indexes if i.name == name).create(conn)


def _migration_1(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[imports, records, dedup_runs, dedup_decisions])
    create = ("CREATE VIEW IF NOT EXISTS" if conn.dialect.name == "sqlite"
              else "CREATE OR REPLACE VIEW")
    body = sa.select(records).where(~_removed).compile(
        dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    conn.execute(sa.text(f"{create} active_records AS {body}"))


def _migration_2(conn: sa.Connection) -> None:
    _add_column(conn, imports, "sha256")
    _add_index(conn, imports, "imports_sha256")


def _migration_100(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[screening_decisions, exclusion_reasons, automation_flags,
                                      reports, source_kinds])


def _migration_101(conn: sa.Connection) -> None:
    _add_column(conn, screening_decisions, "request_id")
    _add_index(conn, screening_decisions, "screening_request")


register_migration(1, _migration_1)
register_migration(2, _migration_2)
register_migration(100, _migration_100)
register_migration(101, _migration_101)
