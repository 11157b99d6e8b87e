"""The review project store: one database per review (a SQLite file or PostgreSQL).

Everything a review does to its search records lives in its store: which files were
imported from which database, every record with its raw fields, every deduplication
decision with its reason and score, the screening decisions
(:mod:`metakit.review.screening`) and the audit trail (:mod:`metakit.review.audit`).
The PRISMA 2020 counts are queried from it, so the flow diagram can never disagree with
the work.

The store is a :class:`metakit.review.database.Database`: ``review.db`` (a SQLite file,
in WAL mode) for one reviewer, or ``postgresql://user@host/dbname`` for a team. The same
tables (:mod:`metakit.review.tables`), migrations and transaction rule apply to both.

Durability
----------
Every command that writes runs in one write transaction (:meth:`Project.transaction`,
which is :meth:`Database.write`): a process killed half way (``kill -9``) leaves the
store as it was before the command or as it is after it, never half-written.

Schema
------
``imports(id, file, source_db, format, encoding, imported_at, n_records, n_errors, errors,
sha256)``
    One row per imported file; ``errors`` is a JSON list of ``{file, line, message}``;
    ``sha256`` (migration 2) the file's digest, so one export is not imported twice.
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
``meta``, ``migrations``
    Kept by :mod:`metakit.review.database`.

API (stable)
------------
``Project.open(target="review.db", *, create=True) -> Project`` (a path or a URL; context
manager; ``close()``)
``Project.db``  the :class:`~metakit.review.database.Database`
``Project.transaction()``  ``db.write()``: one write transaction; nests
``Project.migrate() -> list[int]``  apply registered migrations still missing
``Project.schema_version -> int``
``Project.import_records(path, *, source=None, format=None, encoding=None, mapping=None,
allow_repeat=False, actor=None) -> ImportReport`` (:mod:`metakit.review.records`)
``Project.add_import(records, *, file, source_db, format, encoding=None, errors=(),
sha256=None, actor=None) -> int``
``Project.records(*, active_only=False, source=None, decode=True) -> DataFrame``
(index ``id``; all record columns plus ``duplicate_of``)
``Project.imports() -> DataFrame``, ``Project.decisions(*, include_undone=True) -> DataFrame``
``Project.dedup(*, thresholds=None, title_window=6, key_window=10, actor=None) -> DedupReport``
(matching by :mod:`metakit.review.dedup`, which knows nothing of the store)
``Project.undo_dedup(decision_id, *, note=None, actor=None)``
``Project.override(record_id, duplicate_of, *, note=None, actor=None)``
(``duplicate_of=None``: keep it)
``Project.counts() -> dict``  identification counts for PRISMA 2020
Other modules read the tables (:mod:`metakit.review.tables`) through ``project.db.read()``
and write only inside ``project.transaction()``; ``actor`` (None: ``cli:<login>``) is
written to the audit trail.

Extending the schema
--------------------
Other modules add tables by registering migrations with
:func:`metakit.review.database.register_migration` (version ranges there); opening a
project applies those still missing.

Example
-------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as d:
...     with Project.open(pathlib.Path(d) / "review.db") as p:
...         p.schema_version >= 2
True
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metakit.errors import DataError
from metakit.review import audit
from metakit.review.database import (
    MIGRATIONS,
    Database,
    DatabaseError,
    now,
    open_database,
    register_migration,
)
from metakit.review.tables import dedup_decisions, dedup_runs, imports, records

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

#: Bibliographic fields every record row carries (besides ids, provenance and ``raw``).
RECORD_FIELDS: tuple[str, ...] = (
    "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
    "abstract", "keywords", "pub_types", "language",
)
_JSON_FIELDS = ("authors", "keywords", "pub_types")


class ProjectFileError(DatabaseError):
    """The project is missing, or is not a database metakit can open (so not a review.db)."""


class Project:
    """A review project: its open review store.

    Open with :meth:`open` (creates a SQLite file and the schema when missing) and use
    as a context manager or call :meth:`close`. All writes go through :meth:`transaction`.

    Parameters
    ----------
    db
        The open database; use :meth:`open` rather than the constructor.
    path
        The SQLite file, or None for a PostgreSQL store.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with Project.open(pathlib.Path(d) / "review.db") as p:
    ...         p.counts()["identified"]
    0
    """

    def __init__(self, db: Database, path: Path | None = None):
        self.db = db
        self.path = path

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, target: str | Path = "review.db", *, create: bool = True) -> Project:
        """Open a store (a SQLite path or a ``postgresql://`` URL) and apply pending migrations.

        ``create`` makes a missing SQLite file; a PostgreSQL database must exist.
        """
        text = str(target)
        is_url = "://" in text
        if not is_url:
            path = Path(target)
            if not create and not path.exists():
                raise ProjectFileError(f"{path} does not exist; records are imported into a "
                                       f"project first (metakit records import FILE -p {path})")
            if path.is_dir():
                raise ProjectFileError(f"{path} is a folder, not a project file")
        try:
            db = open_database(target, create=create, migrate=False)
        except DatabaseError as exc:
            if is_url:
                raise
            raise ProjectFileError(f"{target} is not a metakit project: {exc}") from exc
        project = cls(db, None if is_url else Path(target))
        try:
            project.migrate()
        except BaseException:
            db.dispose()
            raise
        return project

    def close(self) -> None:
        """Release the store's connections."""
        self.db.dispose()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """One write transaction (:meth:`metakit.review.database.Database.write`).

        Commits when the block ends, rolls back on any exception; nested use joins the
        outer transaction, so a command built from several helpers commits once.
        """
        return self.db.write()

    def migrate(self) -> list[int]:
        """Apply registered migrations missing from this store; return their versions."""
        return self.db.migrate()

    @property
    def schema_version(self) -> int:
        """Highest migration version applied to this store."""
        return self.db.schema_version

    # -------------------------------------------------------------------- writing
    def add_import(self, records: Iterable[Mapping[str, Any]], *, file: str, source_db: str,
                   format: str, encoding: str | None = None,
                   errors: Sequence[Mapping[str, Any]] = (), sha256: str | None = None,
                   actor: str | None = None) -> int:
        """Insert one import and its records in one transaction; return the import id.

        Each record is a mapping with any of :data:`RECORD_FIELDS` plus ``source_line``,
        ``source_key`` and ``raw`` (list fields as Python lists, ``raw`` as a dict).
        Most callers want :meth:`import_records`, which parses a file first.
        """
        rows = [_record_row(r) for r in records]
        with self.transaction() as c:
            import_id = int(c.execute(sa.insert(imports).values(
                file=file, source_db=source_db, format=format, encoding=encoding,
                imported_at=now(), n_records=len(rows), n_errors=len(errors),
                errors=json.dumps([dict(e) for e in errors], ensure_ascii=False),
                sha256=sha256)).inserted_primary_key[0])
            _insert_rows(c, import_id, source_db, file, rows)
            audit.record(c, actor, "records.import", f"import:{import_id}",
                         {"file": file, "source_db": source_db, "n_records": len(rows),
                          "n_errors": len(errors)})
        return import_id

    def import_records(self, path: str | Path, *, source: str | None = None,
                       format: str | None = None, encoding: str | None = None,
                       mapping: Mapping[str, str] | None = None,
                       allow_repeat: bool = False, actor: str | None = None) -> ImportReport:
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
        with self.db.read() as c:
            seen = c.execute(sa.select(imports.c.id, imports.c.file)
                             .where(imports.c.sha256 == digest).order_by(imports.c.id)).first()
        if seen is not None and not allow_repeat:
            raise DataError(f"{path} has the same content as import {seen.id} "
                            f"({seen.file}); pass allow_repeat=True to import it again",
                            column="file")
        parsed = read_records(path, source=source, format=format, encoding=encoding,
                              mapping=mapping)
        import_id = self.add_import(
            parsed.records, file=str(path), source_db=parsed.source, format=parsed.format,
            encoding=parsed.encoding, errors=[e.to_dict() for e in parsed.errors],
            sha256=digest, actor=actor)
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

        d = dedup_decisions
        query = (sa.select(records, d.c.duplicate_of)
                 .outerjoin(d, (d.c.record_id == records.c.id) & (d.c.kind == "duplicate")
                            & (d.c.undone == 0))
                 .order_by(records.c.id))
        if active_only:
            query = query.where(d.c.id.is_(None))
        if source is not None:
            query = query.where(records.c.source_db == source)
        with self.db.read() as c:
            frame = pd.read_sql_query(query, c, index_col="id")
        frame["year"] = frame["year"].astype("Int64")
        frame["duplicate_of"] = frame["duplicate_of"].astype("Int64")
        if decode:
            for col in (*_JSON_FIELDS, "raw"):
                frame[col] = [json.loads(v) for v in frame[col]]
        return frame

    def imports(self) -> pd.DataFrame:
        """The imports table as a frame indexed by ``id`` (``errors`` decoded)."""
        import pandas as pd

        with self.db.read() as c:
            frame = pd.read_sql_query(sa.select(imports).order_by(imports.c.id), c,
                                      index_col="id")
        frame["errors"] = [json.loads(v) for v in frame["errors"]]
        return frame

    def decisions(self, *, include_undone: bool = True) -> pd.DataFrame:
        """Deduplication decisions as a frame indexed by ``id``."""
        import pandas as pd

        query = sa.select(dedup_decisions).order_by(dedup_decisions.c.id)
        if not include_undone:
            query = query.where(dedup_decisions.c.undone == 0)
        with self.db.read() as c:
            return pd.read_sql_query(query, c, index_col="id")

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
        d = dedup_decisions
        with self.db.read() as c:
            by_source = dict(c.execute(
                sa.select(records.c.source_db, sa.func.count())
                .group_by(records.c.source_db)
                .order_by(sa.func.min(records.c.import_id))).all())
            removed = c.execute(
                sa.select(sa.func.count(sa.distinct(d.c.record_id)))
                .where(d.c.kind == "duplicate", d.c.undone == 0)).scalar_one()
            n_imports, n_errors = c.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(imports.c.n_errors), 0))
            ).one()
        identified = sum(by_source.values())
        return {
            "identified": identified,
            "identified_by_source": by_source,
            "duplicates_removed": removed,
            "after_duplicates": identified - removed,
            "imports": n_imports,
            "import_errors": int(n_errors),
        }

    # ---------------------------------------------------------------------- dedup
    def dedup(self, *, thresholds: Thresholds | None = None, title_window: int = 6,
              key_window: int = 10, actor: str | None = None) -> DedupReport:
        """Deduplicate the active records and store the decisions (one transaction).

        Matching is :func:`metakit.review.dedup.find_duplicates` (options as there);
        this method reads its input from and writes its decisions to the project.
        Records already removed stay removed; pairs marked distinct (by undo or by
        hand) are never merged again.
        """
        import pandas as pd

        from metakit.review.dedup import DedupReport, Thresholds, find_duplicates
        from metakit.review.tables import active_records as a

        thresholds = thresholds or Thresholds()
        d = dedup_decisions
        # Only what matching needs: the authors' JSON text (matching reads the first
        # author from it) and the abstract's length.
        query = (sa.select(a.c.id, a.c.title, a.c.authors, a.c.year, a.c.journal, a.c.volume,
                           a.c.issue, a.c.pages, a.c.doi, a.c.pmid,
                           sa.func.length(a.c.abstract).label("abstract_len"), a.c.pub_types)
                 .order_by(a.c.id))
        with self.db.read() as c:
            frame = pd.read_sql_query(query, c, index_col="id")
            distinct = [(int(x), int(y)) for x, y in c.execute(
                sa.select(d.c.record_id, d.c.duplicate_of)
                .where(d.c.kind == "distinct", d.c.undone == 0))]
        result = find_duplicates(frame, distinct=distinct, thresholds=thresholds,
                                 title_window=title_window, key_window=key_window)
        params = {"thresholds": thresholds.__dict__, "title_window": title_window,
                  "key_window": key_window}
        dec = result.decisions
        with self.transaction() as c:
            at = now()
            run_id = int(c.execute(sa.insert(dedup_runs).values(
                started_at=at, params=json.dumps(params), n_candidates=result.n_candidates,
                n_duplicates=len(dec))).inserted_primary_key[0])
            via = dec["matched"].to_numpy() != dec["duplicate_of"].to_numpy()
            reason = dec["reason"].astype(str).to_numpy(dtype=object)
            reason[via] = (reason[via] + " (via "
                           + dec["matched"].astype(str).to_numpy()[via] + ")")
            if len(dec):
                c.execute(sa.insert(d), [
                    {"record_id": r, "duplicate_of": k, "kind": "duplicate", "reason": why,
                     "score": s, "method": "auto", "run_id": run_id, "decided_at": at}
                    for r, k, why, s in zip(dec["record_id"].astype(int).tolist(),
                                            dec["duplicate_of"].astype(int).tolist(),
                                            reason.tolist(), dec["score"].astype(float).tolist())])
            _follow_new_keepers(c, run_id)
            audit.record(c, actor, "dedup.run", f"dedup_run:{run_id}",
                         {**params, "n_duplicates": len(dec)})
        n_groups = dec["duplicate_of"].nunique() if len(dec) else 0
        return DedupReport(run_id, result.n_records, result.n_candidates, len(dec),
                           int(n_groups), result.seconds, dec)

    def undo_dedup(self, decision_id: int, *, note: str | None = None,
                   actor: str | None = None) -> None:
        """Undo an active duplicate decision: the record is kept again.

        A manual ``distinct`` decision is written for the pair so that later
        deduplication runs do not merge it again.
        """
        d = dedup_decisions
        with self.transaction() as c:
            row = c.execute(sa.select(d.c.record_id, d.c.duplicate_of, d.c.kind, d.c.undone)
                            .where(d.c.id == decision_id)).first()
            if row is None:
                raise DataError(f"no deduplication decision {decision_id}",
                                column="decision_id")
            if row.undone:
                raise DataError(f"decision {decision_id} is already undone",
                                column="decision_id")
            c.execute(sa.update(d).where(d.c.id == decision_id).values(
                undone=1, undone_at=now(), **({} if note is None else {"note": note})))
            if row.kind == "duplicate":
                self._write_decision(c, row.record_id, row.duplicate_of, "distinct",
                                     f"undo of decision {decision_id}", None, "manual",
                                     None, note)
            audit.record(c, actor, "dedup.undo", f"record:{row.record_id}",
                         {"decision_id": int(decision_id), "duplicate_of": row.duplicate_of,
                          "note": note})

    def override(self, record_id: int, duplicate_of: int | None, *,
                 note: str | None = None, actor: str | None = None) -> None:
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
        actor
            Who decided, for the audit trail (None: ``cli:<login>``).
        """
        d = dedup_decisions
        active_dup = (d.c.kind == "duplicate") & (d.c.undone == 0)
        with self.transaction() as c:
            self._require_record(c, record_id)
            active = c.execute(sa.select(d.c.id, d.c.duplicate_of)
                               .where(d.c.record_id == record_id, active_dup)).all()
            self._undo(c, [x.id for x in active])
            audit.record(c, actor, "dedup.override", f"record:{int(record_id)}",
                         {"duplicate_of": duplicate_of, "note": note})
            if duplicate_of is None:
                for x in active:
                    self._write_decision(c, record_id, x.duplicate_of, "distinct",
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
            followers = c.execute(sa.select(d.c.id, d.c.record_id)
                                  .where(d.c.duplicate_of == record_id, active_dup)).all()
            self._undo(c, [x.id for x in followers])
            for x in followers:
                self._write_decision(c, x.record_id, keeper, "duplicate",
                                     f"manual: its kept record {record_id} merged into "
                                     f"{keeper}", None, "manual", None, note)

    # ------------------------------------------------------------------- helpers
    @staticmethod
    def _undo(c: sa.Connection, ids: Sequence[int]) -> None:
        if ids:
            c.execute(sa.update(dedup_decisions).where(dedup_decisions.c.id.in_(ids))
                      .values(undone=1, undone_at=now()))

    @staticmethod
    def _require_record(c: sa.Connection, record_id: int) -> None:
        if c.execute(sa.select(records.c.id).where(records.c.id == int(record_id))).first() is None:
            raise DataError(f"no record {record_id}", column="record_id")

    @staticmethod
    def _keeper(c: sa.Connection, record_id: int) -> int:
        d = dedup_decisions
        keeper = c.execute(sa.select(d.c.duplicate_of).where(
            d.c.record_id == int(record_id), d.c.kind == "duplicate", d.c.undone == 0)).scalar()
        return int(keeper) if keeper is not None else int(record_id)

    @staticmethod
    def _write_decision(c: sa.Connection, record_id: int, duplicate_of: int, kind: str,
                        reason: str, score: float | None, method: str, run_id: int | None,
                        note: str | None) -> int:
        return int(c.execute(sa.insert(dedup_decisions).values(
            record_id=int(record_id), duplicate_of=int(duplicate_of), kind=kind, reason=reason,
            score=score, method=method, run_id=run_id, decided_at=now(), note=note,
        )).inserted_primary_key[0])


def _follow_new_keepers(c: sa.Connection, run_id: int) -> None:
    """Earlier duplicates of a record this run removed now point at its new keeper.

    A record imported later can be more complete than the kept record of an existing
    group; it then becomes the keeper, and every duplicate must still point at a kept
    record. The old decisions are marked undone, not deleted.
    """
    d = dedup_decisions
    n = d.alias("n")
    moved = c.execute(
        sa.select(d.c.id, d.c.record_id, d.c.duplicate_of, n.c.duplicate_of.label("keeper"),
                  d.c.score)
        .join(n, (n.c.record_id == d.c.duplicate_of) & (n.c.run_id == run_id)
              & (n.c.kind == "duplicate") & (n.c.undone == 0))
        .where(d.c.kind == "duplicate", d.c.undone == 0, d.c.run_id.is_distinct_from(run_id))
    ).all()
    if not moved:
        return
    at = now()
    c.execute(sa.update(d).where(d.c.id.in_([m.id for m in moved]))
              .values(undone=1, undone_at=at))
    c.execute(sa.insert(d), [
        {"record_id": m.record_id, "duplicate_of": m.keeper, "kind": "duplicate",
         "reason": f"its kept record {m.duplicate_of} is a duplicate of {m.keeper}",
         "score": m.score, "method": "auto", "run_id": run_id, "decided_at": at}
        for m in moved])


# One encoder for all rows: json.dumps(..., ensure_ascii=False) builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_ROW_COLUMNS = ("source_line", "source_key", "title", "authors", "year", "journal", "volume",
                "issue", "pages", "doi", "pmid", "abstract", "keywords", "pub_types",
                "language", "raw")


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


_INSERT_COLUMNS = ("import_id", "source_db", "source_file", *_ROW_COLUMNS)


def _insert_rows(c: sa.Connection, import_id: int, source_db: str, file: str,
                 rows: Sequence[tuple]) -> None:
    """Insert record rows in chunks (all inside the caller's transaction).

    The INSERT is compiled once for the server and its rows go to the driver's
    ``executemany`` as they are: SQLAlchemy's per-row parameter processing would be most
    of an import's time in the store.
    """
    compiled = (sa.insert(records).values({k: sa.bindparam(k) for k in _INSERT_COLUMNS})
                .compile(dialect=c.dialect))
    head = (import_id, source_db, file)
    order = ([_INSERT_COLUMNS.index(k) for k in compiled.positiontup]
             if compiled.positional else None)
    in_place = order == list(range(len(_INSERT_COLUMNS)))
    for start in range(0, len(rows), _CHUNK):
        chunk: list[Any] = [head + row for row in rows[start:start + _CHUNK]]
        if order is None:
            chunk = [dict(zip(_INSERT_COLUMNS, row)) for row in chunk]
        elif not in_place:
            chunk = [tuple(row[i] for i in order) for row in chunk]
        _insert_chunk(c, compiled.string, chunk)


def _insert_chunk(c: sa.Connection, sql: str, rows: list[Any]) -> None:
    c.exec_driver_sql(sql, rows)
