"""One data layer for the review store: SQLite or PostgreSQL through SQLAlchemy Core.

A review lives in one database. For one reviewer on a laptop that is a SQLite file
(``review.db``); for a team it may be a PostgreSQL database on their server. Every module
that keeps state in the review (records and deduplication, screening, extraction, risk of
bias, the web app's accounts) reaches it through this module: the same SQLAlchemy Core
tables, the same migrations, the same transaction rule, whichever server holds it.

Transaction rule
----------------
Every write is one transaction (:meth:`Database.write`): it commits whole or not at all,
so ``kill -9`` of a process at any point leaves the review as it was before the write or
as it is after it. On SQLite the write transaction starts with ``BEGIN IMMEDIATE`` (the
write lock is taken before anything is read, so two writers never deadlock on a lock
upgrade) in WAL mode with ``synchronous=FULL`` (readers never wait for a writer, and a
commit survives power loss). On PostgreSQL a write runs at READ COMMITTED; rules that
must hold across concurrent writers (one decision per reviewer and record, say) are
table constraints, not read-then-write checks. Writes nest: a write inside a write joins
the outer transaction, so a command built from several helpers commits once.

Migrations
----------
Modules register numbered migrations (:func:`register_migration`): a callable that
receives the open :class:`sqlalchemy.Connection` inside the migration's transaction and
creates or alters tables, usually with ``metadata.create_all(conn, tables=[...])`` so that
SQLAlchemy writes each server's DDL. Version numbers are namespaced: 1-99 records and
deduplication, 100-199 screening and automation, 200-299 extraction and risk of bias,
300-399 the web app. :meth:`Database.migrate` applies the missing ones in order, all in one
transaction (a failing migration leaves the database as it was), and records them in the
``migrations`` table. Concurrent openers are
serialised (SQLite's write lock; a PostgreSQL advisory lock).

Example
-------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as d:
...     db = open_database(pathlib.Path(d) / "review.db")
...     with db.write() as conn:
...         _ = conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
...     with db.read() as conn:
...         conn.execute(sa.text("SELECT COUNT(*) FROM t")).scalar_one()
...     db.dispose()
0
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa

from metakit.errors import DataError, MetakitError

__all__ = [
    "Database",
    "DatabaseError",
    "MIGRATIONS",
    "Migration",
    "metadata",
    "open_database",
    "register_migration",
    "to_url",
]

#: The tables of every module that keeps state in a review.
metadata = sa.MetaData()

Migration = Callable[[sa.Connection], None]

#: Registered migrations as ``(version, migration)``, sorted by version.
MIGRATIONS: list[tuple[int, Migration]] = []

_meta_table = sa.Table(
    "meta", sa.MetaData(),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text),
)
_migrations_table = sa.Table(
    "migrations", sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.Text, nullable=False),
)

# Arbitrary constant naming metakit's migration lock among PostgreSQL advisory locks.
_PG_MIGRATION_LOCK = 0x6D6B6974


class DatabaseError(MetakitError):
    """The review database cannot be opened: missing file, not a database, server refused."""


def now() -> str:
    """The current UTC time as the store writes it (ISO 8601, seconds)."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def register_migration(version: int, migration: Migration) -> None:
    """Register a schema migration that :meth:`Database.migrate` applies when missing.

    Parameters
    ----------
    version
        A positive integer unique across modules (see the module docstring for the
        ranges). Registering the same migration again is a no-op (modules may be
        re-imported); another migration under a taken version is an error.
    migration
        A callable ``f(conn)`` run inside the migration's transaction; it must not
        commit or begin transactions itself.

    Examples
    --------
    >>> def add_notes(conn):
    ...     conn.execute(sa.text("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY)"))
    >>> register_migration(9_999, add_notes)
    >>> register_migration(9_999, add_notes)  # again: no-op
    >>> MIGRATIONS.remove((9_999, add_notes))
    """
    if not isinstance(version, int) or version < 1:
        raise DataError("migration version must be a positive integer", column="version")
    for v, m in MIGRATIONS:
        if v == version:
            if m is migration or getattr(m, "__qualname__", None) == getattr(migration, "__qualname__", ""):
                return
            raise DataError(f"migration version {version} is already registered", column="version")
    MIGRATIONS.append((version, migration))
    MIGRATIONS.sort(key=lambda vm: vm[0])


def to_url(target: str | Path) -> sa.URL:
    """The SQLAlchemy URL for a file path or a database URL.

    A path (or ``sqlite:///path``) is a SQLite file; ``postgresql://user@host/db`` (with
    or without ``+psycopg``) is PostgreSQL through psycopg 3. Other servers are refused.

    Examples
    --------
    >>> to_url("review.db").render_as_string()
    'sqlite:///review.db'
    >>> to_url("postgresql://team@db.example.org/onfh").drivername
    'postgresql+psycopg'
    """
    text = str(target)
    if "://" not in text:
        return sa.URL.create("sqlite", database=text)
    url = sa.make_url(text)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    raise DatabaseError(f"{url.render_as_string(hide_password=True)}: metakit stores reviews in SQLite "
                        "files or PostgreSQL databases (postgresql://...)")


_active: contextvars.ContextVar[dict[int, sa.Connection]] = contextvars.ContextVar("metakit_write")


class Database:
    """An open review database: an engine, the transaction rule and the migrations.

    Use :func:`open_database` rather than the constructor.

    Parameters
    ----------
    engine
        A SQLAlchemy engine made by :func:`open_database`.

    Examples
    --------
    >>> db = open_database("sqlite://")  # in memory
    >>> db.dialect
    'sqlite'
    >>> db.dispose()
    """

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    @property
    def dialect(self) -> str:
        """``'sqlite'`` or ``'postgresql'``."""
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        """Where the review lives, with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction; a write inside a write joins the outer one.

        Commits when the block ends, rolls back on any exception.
        """
        open_writes = _active.get({})
        joined = open_writes.get(id(self))
        if joined is not None:
            yield joined
            return
        with self.engine.connect().execution_options(metakit_write=True) as conn:
            token = _active.set({**open_writes, id(self): conn})
            try:
                with conn.begin():
                    yield conn
            finally:
                _active.reset(token)

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only view: one consistent snapshot for the block (inside a write, that write)."""
        joined = _active.get({}).get(id(self))
        if joined is not None:
            yield joined
            return
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def migrate(self) -> list[int]:
        """Apply registered migrations missing from this database; return their versions."""
        with self.write() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            _meta_table.create(conn, checkfirst=True)
            _migrations_table.create(conn, checkfirst=True)
            done = set(conn.execute(sa.select(_migrations_table.c.version)).scalars())
            applied = []
            for version, migration in list(MIGRATIONS):
                if version in done:
                    continue
                try:
                    migration(conn)
                except sa.exc.SQLAlchemyError as exc:
                    raise DatabaseError(f"migration {version} failed on {self.url}: {exc}") from exc
                conn.execute(sa.insert(_migrations_table).values(version=version, applied_at=now()))
                done.add(version)
                self._set_meta(conn, "schema_version", str(max(done)))
                applied.append(version)
            if self._get_meta(conn, "created_at") is None:
                self._set_meta(conn, "created_at", now())
        return applied

    @property
    def schema_version(self) -> int:
        """Highest migration version applied (0 for an empty database)."""
        with self.read() as conn:
            value = self._get_meta(conn, "schema_version")
        return int(value) if value is not None else 0

    def applied(self) -> list[int]:
        """The versions of every migration applied, in order."""
        with self.read() as conn:
            return sorted(conn.execute(sa.select(_migrations_table.c.version)).scalars())

    def dispose(self) -> None:
        """Close every pooled connection (the file can then be moved or deleted)."""
        self.engine.dispose()

    @staticmethod
    def _get_meta(conn: sa.Connection, key: str) -> str | None:
        if not sa.inspect(conn).has_table("meta"):
            return None
        return conn.execute(sa.select(_meta_table.c.value).where(_meta_table.c.key == key)).scalar_one_or_none()

    @staticmethod
    def _set_meta(conn: sa.Connection, key: str, value: str) -> None:
        updated = conn.execute(sa.update(_meta_table).where(_meta_table.c.key == key).values(value=value))
        if updated.rowcount == 0:
            conn.execute(sa.insert(_meta_table).values(key=key, value=value))


def _sqlite_engine(url: sa.URL, create: bool) -> sa.Engine:
    path = url.database
    in_memory = path in (None, "", ":memory:")
    if not in_memory:
        file = Path(path)
        if file.is_dir():
            raise DatabaseError(f"{file} is a folder, not a review database file")
        if not create and not file.exists():
            raise DatabaseError(f"{file} does not exist; records are imported into a review first "
                                f"(metakit records import FILE -p {file})")
    engine = sa.create_engine(url, connect_args={"timeout": 30.0})

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API types
        # pysqlite's own transaction handling would BEGIN lazily (deferred); metakit
        # issues BEGIN itself so that a write takes the write lock first.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not in_memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("metakit_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def open_database(target: str | Path, *, create: bool = True, migrate: bool = True) -> Database:
    """Open a review database (a SQLite file path or a PostgreSQL URL) and apply migrations.

    Parameters
    ----------
    target
        ``review.db``, ``sqlite:///review.db`` or ``postgresql://user@host/db``.
    create
        Create a missing SQLite file (PostgreSQL databases must exist already).
    migrate
        Apply the registered migrations missing from the database.

    Returns
    -------
    Database

    Examples
    --------
    >>> db = open_database("sqlite://")
    >>> db.schema_version >= 0
    True
    >>> db.dispose()
    """
    url = to_url(target)
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, create)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)
    db = Database(engine)
    try:
        with db.read() as conn:
            conn.execute(sa.text("SELECT 1")).scalar_one()
            if db.dialect == "sqlite":
                conn.execute(sa.text("SELECT COUNT(*) FROM sqlite_master")).scalar_one()
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise DatabaseError(f"{db.url} cannot be opened as a review database: {exc.orig}") from exc
    if migrate:
        db.migrate()
    return db
