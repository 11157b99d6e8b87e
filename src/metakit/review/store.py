"""The review project store: one SQLite file (``review.db``) per review.

Everything a review does to its search records lives in this file: which files were
imported from which database, every record with its raw fields, every deduplication
decision with its reason and score, and (added by :mod:`metakit.review.screening`)
the screening decisions. The PRISMA 2020 counts are queried from it, so the flow
diagram can never disagree with the work.

Durability
----------
Every command that writes runs in one ``BEGIN IMMEDIATE`` transaction
(:meth:`Project.transaction`), with the rollback journal and ``synchronous=FULL``:
a process killed half way (``kill -9``) leaves the file as it was before the command
or as it is after it, never half-written. SQLite rolls a hot journal back when the
file is next opened.

Schema (versions 1-2, owned by this module)
----------------------------------------
``meta(key TEXT PRIMARY KEY, value TEXT)``
    ``schema_version`` (highest applied migration) and ``created_at``.
``migrations(version INTEGER PRIMARY KEY, applied_at TEXT)``
    One row per applied migration.
``imports(id, file, source_db, format, encoding, imported_at, n_records, n_errors, errors,
sha256)``
    One row per imported file; ``errors`` is a JSON list of ``{file, line, message}``;
    ``sha256`` (schema version 2) the file's digest, so one export is not imported twice.
``records(id, import_id, source_db, source_file, source_line, source_key, title, authors,
year, journal, volume, issue, pages, doi, pmid, abstract, keywords, pub_types, language,
raw)``
    One row per imported record. ``authors``, ``keywords``, ``pub_types`` are JSON lists
    of strings; ``raw`` is a JSON object of every original field (tag -> value or list).
    ``year`` is an INTEGER or NULL; ``source_line`` is the 1-based line where the entry
    starts in its file; ``source_key`` is the database's own id (accession number,
    BibTeX key), when there is one.
``dedup_decisions(id, record_id, duplicate_of, kind, reason, score, method, run_id,
decided_at, undone, undone_at, note)``
    ``kind='duplicate'``: ``record_id`` is removed as a duplicate of ``duplicate_of``
    (always a record that is itself kept). ``kind='distinct'``: the pair must never be
    merged (written by undo and by manual overrides; dedup runs respect it).
    ``method`` is ``'auto'`` or ``'manual'``; ``undone=1`` retracts a decision (rows are
    never deleted, so the history stays complete).
``dedup_runs(id, started_at, params, n_candidates, n_duplicates)``
    One row per deduplication run; ``params`` is JSON.
View ``active_records``
    Records not removed as duplicates (no active ``duplicate`` decision): the records
    that go on to screening.

API (stable)
------------
``Project.open(path="review.db", *, create=True) -> Project`` (context manager; ``close()``)
``Project.transaction()``  context manager: BEGIN IMMEDIATE ... COMMIT/ROLLBACK; nests
``Project.migrate() -> list[int]``  apply registered migrations still missing
``Project.schema_version -> int``
``Project.import_records(path, *, source=None, format=None, encoding=None, mapping=None,
allow_repeat=False) -> ImportReport`` (:mod:`metakit.review.records`)
``Project.add_import(records, *, file, source_db, format, encoding=None, errors=(),
sha256=None) -> int``
``Project.records(*, active_only=False, source=None, decode=True) -> DataFrame``
(index ``id``; all record columns plus ``duplicate_of``)
``Project.imports() -> DataFrame``, ``Project.decisions(*, include_undone=True) -> DataFrame``
``Project.dedup(*, thresholds=None, title_window=6, key_window=10) -> DedupReport``
(matching by :mod:`metakit.review.dedup`, which knows nothing of the store)
``Project.undo_dedup(decision_id, *, note=None)``
``Project.override(record_id, duplicate_of, *, note=None)`` (``duplicate_of=None``: keep it)
``Project.counts() -> dict``  identification counts for PRISMA 2020
``register_migration(version, sql_or_callable)``
Other modules may read the tables directly through ``Project.conn`` (``sqlite3.Row``
rows) and must write only inside ``Project.transaction()``.

Extending the schema
--------------------
Other modules add tables by registering migrations with :func:`register_migration`
before opening a project (or calling :meth:`Project.migrate` afterwards). Version
numbers are namespaced to avoid clashes between modules: 1-99 records/dedup (this
module), 100-199 automation and screening, 200+ others. Migrations are applied in
version order, each in its own transaction, and recorded in ``migrations``; a
migration is a SQL script or a callable taking the connection.

Example
-------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as d:
...     with Project.open(pathlib.Path(d) / "review.db") as p:
...         p.schema_version >= 1
True
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metakit.errors import DataError, MetakitError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from metakit.review.dedup import DedupReport, Thresholds
    from metakit.review.records import ImportReport

__all__ = [
    "MIGRATIONS",
    "Project",
    "ProjectFileError",
    "RECORD_FIELDS",
    "register_migration",
]

Migration = str | Callable[[sqlite3.Connection], None]

#: Bibliographic fields every record row carries (besides ids, provenance and ``raw``).
RECORD_FIELDS: tuple[str, ...] = (
    "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
    "abstract", "keywords", "pub_types", "language",
)
_JSON_FIELDS = ("authors", "keywords", "pub_types")

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS imports (
    id          INTEGER PRIMARY KEY,
    file        TEXT NOT NULL,
    source_db   TEXT NOT NULL,
    format      TEXT NOT NULL,
    encoding    TEXT,
    imported_at TEXT NOT NULL,
    n_records   INTEGER NOT NULL,
    n_errors    INTEGER NOT NULL,
    errors      TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS records (
    id          INTEGER PRIMARY KEY,
    import_id   INTEGER NOT NULL REFERENCES imports(id),
    source_db   TEXT NOT NULL,
    source_file TEXT NOT NULL,
    source_line INTEGER,
    source_key  TEXT,
    title       TEXT,
    authors     TEXT NOT NULL DEFAULT '[]',
    year        INTEGER,
    journal     TEXT,
    volume      TEXT,
    issue       TEXT,
    pages       TEXT,
    doi         TEXT,
    pmid        TEXT,
    abstract    TEXT,
    keywords    TEXT NOT NULL DEFAULT '[]',
    pub_types   TEXT NOT NULL DEFAULT '[]',
    language    TEXT,
    raw         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS records_import ON records(import_id);
CREATE INDEX IF NOT EXISTS records_source ON records(source_db);
CREATE TABLE IF NOT EXISTS dedup_runs (
    id           INTEGER PRIMARY KEY,
    started_at   TEXT NOT NULL,
    params       TEXT NOT NULL DEFAULT '{}',
    n_candidates INTEGER,
    n_duplicates INTEGER
);
CREATE TABLE IF NOT EXISTS dedup_decisions (
    id           INTEGER PRIMARY KEY,
    record_id    INTEGER NOT NULL REFERENCES records(id),
    duplicate_of INTEGER NOT NULL REFERENCES records(id),
    kind         TEXT NOT NULL CHECK (kind IN ('duplicate', 'distinct')),
    reason       TEXT NOT NULL,
    score        REAL,
    method       TEXT NOT NULL CHECK (method IN ('auto', 'manual')),
    run_id       INTEGER REFERENCES dedup_runs(id),
    decided_at   TEXT NOT NULL,
    undone       INTEGER NOT NULL DEFAULT 0,
    undone_at    TEXT,
    note         TEXT
);
CREATE INDEX IF NOT EXISTS dedup_record ON dedup_decisions(record_id, undone);
CREATE INDEX IF NOT EXISTS dedup_target ON dedup_decisions(duplicate_of, undone);
CREATE VIEW IF NOT EXISTS active_records AS
    SELECT r.* FROM records r
    WHERE NOT EXISTS (SELECT 1 FROM dedup_decisions d
                      WHERE d.record_id = r.id AND d.kind = 'duplicate' AND d.undone = 0);
"""

#: Registered migrations as ``(version, migration)``; append with :func:`register_migration`.
# Version 2: the SHA-256 of each imported file, so the same export is not counted twice.
_SCHEMA_V2 = """
ALTER TABLE imports ADD COLUMN sha256 TEXT;
CREATE INDEX IF NOT EXISTS imports_sha256 ON imports(sha256);
"""

MIGRATIONS: list[tuple[int, Migration]] = [(1, _SCHEMA_V1), (2, _SCHEMA_V2)]


class ProjectFileError(MetakitError):
    """The project file is missing, or is not a SQLite database (so not a review.db)."""


def register_migration(version: int, migration: Migration) -> None:
    """Register a schema migration that :meth:`Project.open` applies when missing.

    Parameters
    ----------
    version
        A positive integer unique across modules (1-99 records, 100-199 screening and
        automation, 200+ others). Registering the same version twice with the same
        migration is a no-op (modules may be re-imported); with another, an error.
    migration
        A SQL script (run with ``executescript`` semantics inside the transaction) or a
        callable ``f(conn)``. It must not commit or begin transactions itself.

    Examples
    --------
    >>> register_migration(1, MIGRATIONS[0][1])  # already registered: no-op
    """
    if not isinstance(version, int) or version < 1:
        raise DataError("migration version must be a positive integer", column="version")
    for v, m in MIGRATIONS:
        if v == version:
            if m is migration or m == migration:
                return
            raise DataError(f"migration version {version} is already registered",
                            column="version")
    MIGRATIONS.append((version, migration))
    MIGRATIONS.sort(key=lambda vm: vm[0])


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _split_sql(script: str) -> list[str]:
    """Split a SQL script into complete statements (``executescript`` would commit)."""
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf)
            buf = ""
    if buf.strip():
        raise DataError("incomplete SQL statement in migration", column="migration")
    return statements


class Project:
    """A review project: an open connection to its ``review.db``.

    Open with :meth:`open` (creates the file and schema when missing) and use as a
    context manager or call :meth:`close`. All writes go through :meth:`transaction`.

    Parameters
    ----------
    conn
        An open connection in autocommit mode (``isolation_level=None``); use
        :meth:`open` rather than the constructor.
    path
        Where the database lives.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with Project.open(pathlib.Path(d) / "review.db") as p:
    ...         p.counts()["identified"]
    0
    """

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, path: str | Path = "review.db", *, create: bool = True) -> Project:
        """Open (and, with ``create``, create) a project file and apply pending migrations."""
        path = Path(path)
        if not create and not path.exists():
            raise ProjectFileError(f"{path} does not exist; records are imported into a "
                                   "project first (metakit records import FILE -p "
                                   f"{path})")
        if path.is_dir():
            raise ProjectFileError(f"{path} is a folder, not a project file")
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            conn.row_factory = sqlite3.Row
            # Rollback journal keeps the review a single file; FULL sync makes a commit
            # survive power loss, not only a killed process.
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ProjectFileError(f"{path} is not a metakit project: SQLite cannot open "
                                   f"it ({exc})") from exc
        project = cls(conn, path)
        project.migrate()
        return project

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception).

        Nested use joins the outer transaction, so a command built from several
        helpers still commits once.
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # ----------------------------------------------------------------- migrations
    def migrate(self) -> list[int]:
        """Apply registered migrations missing from this file; return their versions."""
        with self.transaction() as c:
            c.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            c.execute("CREATE TABLE IF NOT EXISTS migrations "
                      "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {r[0] for r in c.execute("SELECT version FROM migrations")}
        applied = []
        for version, migration in list(MIGRATIONS):
            if version in done:
                continue
            with self.transaction() as c:
                if isinstance(migration, str):
                    for stmt in _split_sql(migration):
                        c.execute(stmt)
                else:
                    migration(c)
                c.execute("INSERT INTO migrations VALUES (?, ?)", (version, _now()))
                c.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT(key) "
                          "DO UPDATE SET value = excluded.value",
                          (str(max(done | {version})),))
                c.execute("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", (_now(),))
            done.add(version)
            applied.append(version)
        return applied

    @property
    def schema_version(self) -> int:
        """Highest migration version applied to this file."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    # -------------------------------------------------------------------- writing
    def add_import(self, records: Iterable[Mapping[str, Any]], *, file: str, source_db: str,
                   format: str, encoding: str | None = None,
                   errors: Sequence[Mapping[str, Any]] = (), sha256: str | None = None) -> int:
        """Insert one import and its records in one transaction; return the import id.

        Each record is a mapping with any of :data:`RECORD_FIELDS` plus ``source_line``,
        ``source_key`` and ``raw`` (list fields as Python lists, ``raw`` as a dict).
        Most callers want :meth:`import_records`, which parses a file first.
        """
        rows = [_record_row(r) for r in records]
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO imports (file, source_db, format, encoding, imported_at, "
                "n_records, n_errors, errors, sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (file, source_db, format, encoding, _now(), len(rows), len(errors),
                 json.dumps([dict(e) for e in errors], ensure_ascii=False), sha256))
            import_id = int(cur.lastrowid)
            _insert_rows(c, import_id, source_db, file, rows)
        return import_id

    def import_records(self, path: str | Path, *, source: str | None = None,
                       format: str | None = None, encoding: str | None = None,
                       mapping: Mapping[str, str] | None = None,
                       allow_repeat: bool = False) -> ImportReport:
        """Parse a search export and store its records in one transaction.

        See :func:`metakit.review.records.read_records` for the formats and arguments;
        ``source`` names the database (``"Embase"``), guessed from the file when None.
        Entries that cannot be read are reported (file, line, message) and skipped.
        A file whose bytes were imported before is refused (its records would be
        counted twice in the PRISMA diagram) unless ``allow_repeat``.
        """
        import hashlib

        from metakit.review.records import read_records

        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        seen = self.conn.execute("SELECT id, file FROM imports WHERE sha256 = ?",
                                 (digest,)).fetchone()
        if seen is not None and not allow_repeat:
            raise DataError(f"{path} has the same content as import {seen['id']} "
                            f"({seen['file']}); pass allow_repeat=True to import it again",
                            column="file")
        parsed = read_records(path, source=source, format=format, encoding=encoding,
                              mapping=mapping)
        import_id = self.add_import(
            parsed.records, file=str(path), source_db=parsed.source, format=parsed.format,
            encoding=parsed.encoding, errors=[e.to_dict() for e in parsed.errors],
            sha256=digest)
        return parsed.report(import_id)

    # -------------------------------------------------------------------- reading
    def records(self, *, active_only: bool = False, source: str | None = None,
                decode: bool = True) -> pd.DataFrame:
        """All records as a frame indexed by ``id``, with ``duplicate_of`` (or NA).

        Parameters
        ----------
        active_only
            Only records not removed as duplicates.
        source
            Only records from this source database.
        decode
            Decode the JSON columns (authors, keywords, pub_types, raw) to Python objects.
        """
        import pandas as pd

        sql = ("SELECT r.*, d.duplicate_of FROM records r LEFT JOIN dedup_decisions d "
               "ON d.record_id = r.id AND d.kind = 'duplicate' AND d.undone = 0")
        where, args = [], []
        if active_only:
            where.append("d.id IS NULL")
        if source is not None:
            where.append("r.source_db = ?")
            args.append(source)
        if where:
            sql += " WHERE " + " AND ".join(where)
        frame = pd.read_sql_query(sql + " ORDER BY r.id", self.conn, params=args,
                                  index_col="id")
        frame["year"] = frame["year"].astype("Int64")
        frame["duplicate_of"] = frame["duplicate_of"].astype("Int64")
        if decode:
            for col in (*_JSON_FIELDS, "raw"):
                frame[col] = [json.loads(v) for v in frame[col]]
        return frame

    def imports(self) -> pd.DataFrame:
        """The imports table as a frame indexed by ``id`` (``errors`` decoded)."""
        import pandas as pd

        frame = pd.read_sql_query("SELECT * FROM imports ORDER BY id", self.conn,
                                  index_col="id")
        frame["errors"] = [json.loads(v) for v in frame["errors"]]
        return frame

    def decisions(self, *, include_undone: bool = True) -> pd.DataFrame:
        """Deduplication decisions as a frame indexed by ``id``."""
        import pandas as pd

        sql = "SELECT * FROM dedup_decisions"
        if not include_undone:
            sql += " WHERE undone = 0"
        return pd.read_sql_query(sql + " ORDER BY id", self.conn, index_col="id")

    def counts(self) -> dict[str, Any]:
        """Counts for the identification part of a PRISMA 2020 flow diagram.

        Returns
        -------
        dict
            ``identified`` (all records imported), ``identified_by_source``
            (``{source_db: n}``, in first-import order), ``duplicates_removed``
            (records with an active duplicate decision), ``after_duplicates``
            (``identified - duplicates_removed``), ``imports`` (number of files),
            ``import_errors`` (entries that could not be read, not in ``identified``).
        """
        c = self.conn
        by_source = {r[0]: r[1] for r in c.execute(
            "SELECT source_db, COUNT(*) FROM records GROUP BY source_db "
            "ORDER BY MIN(import_id)")}
        identified = sum(by_source.values())
        removed = c.execute("SELECT COUNT(DISTINCT record_id) FROM dedup_decisions "
                            "WHERE kind = 'duplicate' AND undone = 0").fetchone()[0]
        n_imports, n_errors = c.execute(
            "SELECT COUNT(*), COALESCE(SUM(n_errors), 0) FROM imports").fetchone()
        return {
            "identified": identified,
            "identified_by_source": by_source,
            "duplicates_removed": removed,
            "after_duplicates": identified - removed,
            "imports": n_imports,
            "import_errors": n_errors,
        }

    # ---------------------------------------------------------------------- dedup
    def dedup(self, *, thresholds: Thresholds | None = None, title_window: int = 6,
              key_window: int = 10) -> DedupReport:
        """Deduplicate the active records and store the decisions (one transaction).

        Matching is :func:`metakit.review.dedup.find_duplicates` (options as there);
        this method reads its input from and writes its decisions to the project.
        Records already removed stay removed; pairs marked distinct (by undo or by
        hand) are never merged again.
        """
        import pandas as pd

        from metakit.review.dedup import DedupReport, Thresholds, find_duplicates

        thresholds = thresholds or Thresholds()
        # Only what matching needs: the first author and the abstract's length.
        frame = pd.read_sql_query(
            "SELECT id, title, CASE WHEN authors = '[]' THEN '[]' ELSE "
            "json_array(json_extract(authors, '$[0]')) END AS authors, year, journal, volume, "
            "issue, pages, doi, pmid, length(abstract) AS abstract_len, pub_types "
            "FROM active_records ORDER BY id", self.conn, index_col="id")
        distinct = [(int(a), int(b)) for a, b in self.conn.execute(
            "SELECT record_id, duplicate_of FROM dedup_decisions "
            "WHERE kind = 'distinct' AND undone = 0")]
        result = find_duplicates(frame, distinct=distinct, thresholds=thresholds,
                                 title_window=title_window, key_window=key_window)
        params = {"thresholds": thresholds.__dict__, "title_window": title_window,
                  "key_window": key_window}
        dec = result.decisions
        with self.transaction() as c:
            now = _now()
            run_id = int(c.execute(
                "INSERT INTO dedup_runs (started_at, params, n_candidates, n_duplicates) "
                "VALUES (?, ?, ?, ?)", (now, json.dumps(params), result.n_candidates,
                                        len(dec))).lastrowid)
            via = dec["matched"].to_numpy() != dec["duplicate_of"].to_numpy()
            reason = dec["reason"].astype(str).to_numpy(dtype=object)
            reason[via] = (reason[via] + " (via "
                           + dec["matched"].astype(str).to_numpy()[via] + ")")
            c.executemany(
                "INSERT INTO dedup_decisions (record_id, duplicate_of, kind, reason, score, "
                "method, run_id, decided_at) VALUES (?, ?, 'duplicate', ?, ?, 'auto', ?, ?)",
                zip(dec["record_id"].astype(int).tolist(),
                    dec["duplicate_of"].astype(int).tolist(), reason.tolist(),
                    dec["score"].astype(float).tolist(), [run_id] * len(dec),
                    [now] * len(dec)))
            _follow_new_keepers(c, run_id)
        n_groups = dec["duplicate_of"].nunique() if len(dec) else 0
        return DedupReport(run_id, result.n_records, result.n_candidates, len(dec),
                           int(n_groups), result.seconds, dec)

    def undo_dedup(self, decision_id: int, *, note: str | None = None) -> None:
        """Undo an active duplicate decision: the record is kept again.

        A manual ``distinct`` decision is written for the pair so that later
        deduplication runs do not merge it again.
        """
        with self.transaction() as c:
            row = c.execute("SELECT record_id, duplicate_of, kind, undone FROM "
                            "dedup_decisions WHERE id = ?", (decision_id,)).fetchone()
            if row is None:
                raise DataError(f"no deduplication decision {decision_id}",
                                column="decision_id")
            if row["undone"]:
                raise DataError(f"decision {decision_id} is already undone",
                                column="decision_id")
            c.execute("UPDATE dedup_decisions SET undone = 1, undone_at = ?, note = "
                      "COALESCE(?, note) WHERE id = ?", (_now(), note, decision_id))
            if row["kind"] == "duplicate":
                self._write_decision(c, row["record_id"], row["duplicate_of"], "distinct",
                                     f"undo of decision {decision_id}", None, "manual",
                                     None, note)

    def override(self, record_id: int, duplicate_of: int | None, *,
                 note: str | None = None) -> None:
        """Set by hand whether ``record_id`` is a duplicate.

        Parameters
        ----------
        record_id
            The record the decision is about.
        duplicate_of
            The record it duplicates (if that one is itself a removed duplicate, its
            kept record is used), or None: ``record_id`` is not a duplicate of anything
            it is now merged with, and is kept.
        note
            Free text stored with the decision.
        """
        with self.transaction() as c:
            self._require_record(c, record_id)
            active = c.execute("SELECT id, duplicate_of FROM dedup_decisions WHERE "
                               "record_id = ? AND kind = 'duplicate' AND undone = 0",
                               (record_id,)).fetchall()
            for d in active:
                c.execute("UPDATE dedup_decisions SET undone = 1, undone_at = ? WHERE id = ?",
                          (_now(), d["id"]))
            if duplicate_of is None:
                for d in active:
                    self._write_decision(c, record_id, d["duplicate_of"], "distinct",
                                         "manual: not a duplicate", None, "manual", None, note)
                return
            self._require_record(c, duplicate_of)
            keeper = self._keeper(c, duplicate_of)
            if keeper == record_id:
                raise DataError("a record cannot be a duplicate of itself",
                                column="duplicate_of")
            self._write_decision(c, record_id, keeper, "duplicate", "manual", 1.0,
                                 "manual", None, note)
            # Records merged into record_id now follow it to its keeper, so every
            # duplicate points at a kept record.
            for d in c.execute("SELECT id, record_id FROM dedup_decisions WHERE "
                               "duplicate_of = ? AND kind = 'duplicate' AND undone = 0",
                               (record_id,)).fetchall():
                c.execute("UPDATE dedup_decisions SET undone = 1, undone_at = ? WHERE id = ?",
                          (_now(), d["id"]))
                self._write_decision(c, d["record_id"], keeper, "duplicate",
                                     f"manual: its kept record {record_id} merged into "
                                     f"{keeper}", None, "manual", None, note)

    # ------------------------------------------------------------------- helpers
    @staticmethod
    def _require_record(c: sqlite3.Connection, record_id: int) -> None:
        if c.execute("SELECT 1 FROM records WHERE id = ?", (record_id,)).fetchone() is None:
            raise DataError(f"no record {record_id}", column="record_id")

    @staticmethod
    def _keeper(c: sqlite3.Connection, record_id: int) -> int:
        row = c.execute("SELECT duplicate_of FROM dedup_decisions WHERE record_id = ? AND "
                        "kind = 'duplicate' AND undone = 0", (record_id,)).fetchone()
        return int(row[0]) if row else int(record_id)

    @staticmethod
    def _write_decision(c: sqlite3.Connection, record_id: int, duplicate_of: int, kind: str,
                        reason: str, score: float | None, method: str, run_id: int | None,
                        note: str | None) -> int:
        cur = c.execute(
            "INSERT INTO dedup_decisions (record_id, duplicate_of, kind, reason, score, "
            "method, run_id, decided_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (int(record_id), int(duplicate_of), kind, reason, score, method, run_id, _now(),
             note))
        return int(cur.lastrowid)


def _follow_new_keepers(c: sqlite3.Connection, run_id: int) -> None:
    """Earlier duplicates of a record this run removed now point at its new keeper.

    A record imported later can be more complete than the kept record of an existing
    group; it then becomes the keeper, and every duplicate must still point at a kept
    record. The old decisions are marked undone, not deleted.
    """
    moved = c.execute(
        "SELECT d.id, d.record_id, d.duplicate_of, n.duplicate_of, d.score "
        "FROM dedup_decisions d JOIN dedup_decisions n ON n.record_id = d.duplicate_of "
        "AND n.run_id = ? AND n.kind = 'duplicate' AND n.undone = 0 "
        "WHERE d.kind = 'duplicate' AND d.undone = 0 AND d.run_id IS NOT ?",
        (run_id, run_id)).fetchall()
    now = _now()
    c.executemany("UPDATE dedup_decisions SET undone = 1, undone_at = ? WHERE id = ?",
                  [(now, m[0]) for m in moved])
    c.executemany(
        "INSERT INTO dedup_decisions (record_id, duplicate_of, kind, reason, score, method, "
        "run_id, decided_at) VALUES (?, ?, 'duplicate', ?, ?, 'auto', ?, ?)",
        [(m[1], m[3], f"its kept record {m[2]} is a duplicate of {m[3]}", m[4], run_id, now)
         for m in moved])


# One encoder for all rows: json.dumps(..., ensure_ascii=False) builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _record_row(r: Mapping[str, Any]) -> tuple:
    get = r.get
    year = get("year")
    return (
        get("source_line"), get("source_key"), get("title"),
        _encode(list(get("authors") or ())),
        int(year) if year is not None else None,
        get("journal"), get("volume"), get("issue"), get("pages"), get("doi"),
        get("pmid"), get("abstract"),
        _encode(list(get("keywords") or ())),
        _encode(list(get("pub_types") or ())),
        get("language"),
        _encode(dict(get("raw") or {})),
    )


_CHUNK = 2000


def _insert_rows(c: sqlite3.Connection, import_id: int, source_db: str, file: str,
                 rows: Sequence[tuple]) -> None:
    """Insert record rows in chunks (all inside the caller's transaction)."""
    sql = ("INSERT INTO records (import_id, source_db, source_file, source_line, source_key, "
           "title, authors, year, journal, volume, issue, pages, doi, pmid, abstract, "
           "keywords, pub_types, language, raw) VALUES "
           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    head = (import_id, source_db, file)
    for start in range(0, len(rows), _CHUNK):
        _insert_chunk(c, sql, [head + row for row in rows[start:start + _CHUNK]])


def _insert_chunk(c: sqlite3.Connection, sql: str, rows: list[tuple]) -> None:
    c.executemany(sql, rows)
