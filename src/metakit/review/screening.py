"""Screening decisions in the review store, conflicts, agreement and PRISMA counts.

Two stages, ``title-abstract`` and ``full-text``. Each reviewer records include,
exclude (with a reason from the list the review defines for the stage) or maybe, one
decision per transaction, so a session killed at any point loses nothing that was
confirmed. Decisions are never deleted: an undo marks the row ``undone``.

Resolution rule (documented, used for the flow and the full-text queue)
------------------------------------------------------------------------
For each record and stage, take each reviewer's latest active decision.

* If an adjudication exists (a decision written by :func:`resolve`), the latest one is
  final.
* Otherwise at title/abstract: all reviewers exclude -> excluded; all include or maybe
  -> goes on to full text (a "maybe" is resolved by reading the report); a mix of
  exclude with include/maybe -> conflict.
* Otherwise at full text: all include -> included; all exclude with the same reason ->
  excluded for that reason; anything else (maybe, mixed decisions, different reasons)
  -> conflict, which must be resolved before the flow diagram can be drawn.

Tables (migration 100 of :mod:`metakit.review.store`, applied on first use)
----------------------------------------------------------------------------
``screening_decisions(id, record_id, stage, reviewer, decision, reason, decided_at,
undone, undone_at, adjudication, origin)``
``exclusion_reasons(stage, reason, position)``: the review's list of reasons.
``automation_flags(id, record_id, kind, rule, evidence, flagged_at, undone, undone_at)``:
records removed before screening, ``kind`` 'automation' or 'other'.
``reports(record_id, retrieved, study_id, location, note, updated_at)``: full-text
retrieval; ``study_id`` groups several reports of one study.
``source_kinds(source_db, kind)``: 'database' (default), 'register' or 'other'
(other methods: citation searching, websites...; these skip title/abstract screening,
as in the PRISMA 2020 template).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from metakit.errors import DataError
from metakit.review.agreement import FleissResult, KappaResult, cohen_kappa, fleiss_kappa
from metakit.review.prisma_counts import PrismaCounts
from metakit.review.store import Project, _now, register_migration

__all__ = [
    "STAGES", "DECISIONS", "SCHEMA_VERSION",
    "define_reasons", "reasons", "record_decision", "undo_last", "resolve",
    "decisions", "final_decisions", "conflicts", "agreement", "fleiss_agreement", "queue", "progress", "Progress",
    "flag_records", "apply_design_filter", "undo_flag", "set_report", "set_source_kind",
    "export_csv", "import_csv", "ImportResult", "pending", "export_pending",
    "prisma_counts_from_store", "unfinished", "CSV_COLUMNS", "PENDING_COLUMNS",
]

STAGES = ("title-abstract", "full-text")
DECISIONS = ("include", "exclude", "maybe")
SCHEMA_VERSION = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS screening_decisions (
    id           INTEGER PRIMARY KEY,
    record_id    INTEGER NOT NULL REFERENCES records(id),
    stage        TEXT NOT NULL CHECK (stage IN ('title-abstract', 'full-text')),
    reviewer     TEXT NOT NULL,
    decision     TEXT NOT NULL CHECK (decision IN ('include', 'exclude', 'maybe')),
    reason       TEXT,
    decided_at   TEXT NOT NULL,
    undone       INTEGER NOT NULL DEFAULT 0,
    undone_at    TEXT,
    adjudication INTEGER NOT NULL DEFAULT 0,
    origin       TEXT NOT NULL DEFAULT 'metakit'
);
CREATE INDEX IF NOT EXISTS screening_record ON screening_decisions(stage, record_id, undone);
CREATE INDEX IF NOT EXISTS screening_reviewer ON screening_decisions(stage, reviewer, undone);
CREATE TABLE IF NOT EXISTS exclusion_reasons (
    stage    TEXT NOT NULL CHECK (stage IN ('title-abstract', 'full-text')),
    reason   TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (stage, reason)
);
CREATE TABLE IF NOT EXISTS automation_flags (
    id         INTEGER PRIMARY KEY,
    record_id  INTEGER NOT NULL REFERENCES records(id),
    kind       TEXT NOT NULL CHECK (kind IN ('automation', 'other')),
    rule       TEXT NOT NULL,
    evidence   TEXT,
    flagged_at TEXT NOT NULL,
    undone     INTEGER NOT NULL DEFAULT 0,
    undone_at  TEXT
);
CREATE INDEX IF NOT EXISTS automation_record ON automation_flags(record_id, undone);
CREATE TABLE IF NOT EXISTS reports (
    record_id  INTEGER PRIMARY KEY REFERENCES records(id),
    retrieved  INTEGER NOT NULL CHECK (retrieved IN (0, 1)),
    study_id   TEXT,
    location   TEXT,
    note       TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS source_kinds (
    source_db TEXT PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind IN ('database', 'register', 'other'))
);
"""


def _ready(project: Project) -> None:
    """Register this module's migration (first use) and apply it if the file lacks it.

    Registration is lazy, so that importing the module does not change the schema of
    stores that never screen.
    """
    register_migration(SCHEMA_VERSION, _SCHEMA)
    if project.conn.execute("SELECT 1 FROM migrations WHERE version = ?",
                            (SCHEMA_VERSION,)).fetchone() is None:
        project.migrate()


def _stage(stage: str) -> str:
    s = stage.replace("_", "-").lower()
    aliases = {"ta": "title-abstract", "title": "title-abstract", "abstract":
               "title-abstract", "ft": "full-text", "fulltext": "full-text"}
    s = aliases.get(s, s)
    if s not in STAGES:
        raise DataError(f"stage must be one of {STAGES}, got {stage!r}", column="stage")
    return s


# ------------------------------------------------------------------------ reasons
def define_reasons(project: Project, stage: str, reasons_: Sequence[str]) -> None:
    """Set the review's list of exclusion reasons for a stage (replaces the old list)."""
    stage = _stage(stage)
    clean = [r.strip() for r in reasons_]
    if any(not r for r in clean) or len(set(clean)) != len(clean):
        raise DataError("reasons must be non-empty and distinct", column="reason")
    _ready(project)
    with project.transaction() as c:
        c.execute("DELETE FROM exclusion_reasons WHERE stage = ?", (stage,))
        c.executemany("INSERT INTO exclusion_reasons VALUES (?, ?, ?)",
                      [(stage, r, i) for i, r in enumerate(clean)])


def reasons(project: Project, stage: str) -> list[str]:
    """The exclusion reasons defined for a stage, in their order."""
    _ready(project)
    return [r[0] for r in project.conn.execute(
        "SELECT reason FROM exclusion_reasons WHERE stage = ? ORDER BY position",
        (_stage(stage),))]


# ---------------------------------------------------------------------- decisions
def _removal(c: Any, record_id: int) -> str | None:
    """Why a record is out of screening (a duplicate, or flagged), or None."""
    dup = c.execute("SELECT duplicate_of FROM dedup_decisions WHERE record_id = ? AND "
                    "kind = 'duplicate' AND undone = 0", (record_id,)).fetchone()
    if dup is not None:
        return (f"removed as a duplicate of record {dup[0]} (metakit records undo "
                "brings it back)")
    flag = c.execute("SELECT kind, rule FROM automation_flags WHERE record_id = ? AND "
                     "undone = 0", (record_id,)).fetchone()
    if flag is not None:
        by = "by automation" if flag[0] == "automation" else "for another reason"
        return (f"removed before screening {by} (rule {flag[1]}; metakit screen unflag "
                "brings it back)")
    return None


def _check_decision(c: Any, record_id: int, stage: str, reviewer: str, decision: str,
                    reason: str | None, where: str = "") -> tuple[str, str | None]:
    at = f"{where}record {record_id}: " if where or record_id is not None else ""
    if decision not in DECISIONS:
        raise DataError(f"{at}decision must be one of {DECISIONS}, got {decision!r}",
                        study=record_id, column="decision")
    if not reviewer or not str(reviewer).strip():
        raise DataError(f"{at}reviewer must be named", study=record_id, column="reviewer")
    if c.execute("SELECT 1 FROM records WHERE id = ?", (record_id,)).fetchone() is None:
        raise DataError(f"{at}no such record", study=record_id, column="record_id")
    removed = _removal(c, record_id)
    if removed is not None:
        raise DataError(f"{at}{removed}; it is not screened", study=record_id,
                        column="record_id")
    reason = (reason or "").strip() or None
    if decision != "exclude":
        return decision, None
    allowed = [r[0] for r in c.execute(
        "SELECT reason FROM exclusion_reasons WHERE stage = ? ORDER BY position", (stage,))]
    if stage == "full-text" and reason is None:
        raise DataError(f"{at}a full-text exclusion needs a reason", study=record_id,
                        column="reason")
    if reason is not None and allowed and reason not in allowed:
        raise DataError(f"{at}reason {reason!r} is not in the review's list {allowed}",
                        study=record_id, column="reason")
    return decision, reason


def record_decision(project: Project, record_id: int, stage: str, reviewer: str,
                    decision: str, reason: str | None = None, *,
                    decided_at: str | None = None, origin: str = "metakit") -> int:
    """Record one reviewer's decision on one record, in its own transaction.

    Parameters
    ----------
    project
        The open review store.
    record_id
        The record.
    stage
        "title-abstract" or "full-text".
    reviewer
        Who decided.
    decision
        "include", "exclude" or "maybe".
    reason
        For exclusions: one of the reasons defined with :func:`define_reasons` (required
        at full text).
    decided_at
        ISO time stamp; now when None.
    origin
        "metakit", or "random-sample" for a record drawn at random for the statistical
        stopping rule (:mod:`metakit.review.stopping`).

    Returns
    -------
    int
        The decision's id.
    """
    stage = _stage(stage)
    if origin not in ("metakit", "random-sample"):
        raise DataError(f"origin must be 'metakit' or 'random-sample', got {origin!r}",
                        study=record_id, column="origin")
    _ready(project)
    with project.transaction() as c:
        decision, reason = _check_decision(c, int(record_id), stage, reviewer, decision,
                                           reason)
        cur = c.execute(
            "INSERT INTO screening_decisions (record_id, stage, reviewer, decision, reason, "
            "decided_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (int(record_id), stage, reviewer, decision, reason, decided_at or _now(),
             origin))
        return int(cur.lastrowid)


def resolve(project: Project, record_id: int, stage: str, decision: str,
            reason: str | None = None, *, reviewer: str = "adjudicator") -> int:
    """Record the final decision on a conflict (an adjudication); it overrides reviewers."""
    stage = _stage(stage)
    _ready(project)
    with project.transaction() as c:
        decision, reason = _check_decision(c, int(record_id), stage, reviewer, decision,
                                           reason)
        if stage == "full-text" and decision == "maybe":
            raise DataError("an adjudication at full text must include or exclude",
                            study=record_id, column="decision")
        cur = c.execute(
            "INSERT INTO screening_decisions (record_id, stage, reviewer, decision, reason, "
            "decided_at, adjudication) VALUES (?, ?, ?, ?, ?, ?, 1)",
            (int(record_id), stage, reviewer, decision, reason, _now()))
        return int(cur.lastrowid)


def undo_last(project: Project, stage: str, reviewer: str) -> int | None:
    """Undo the reviewer's latest active decision at a stage; return its record id."""
    stage = _stage(stage)
    _ready(project)
    with project.transaction() as c:
        row = c.execute("SELECT id, record_id FROM screening_decisions WHERE stage = ? AND "
                        "reviewer = ? AND undone = 0 ORDER BY id DESC LIMIT 1",
                        (stage, reviewer)).fetchone()
        if row is None:
            return None
        c.execute("UPDATE screening_decisions SET undone = 1, undone_at = ? WHERE id = ?",
                  (_now(), row[0]))
        return int(row[1])


def decisions(project: Project, stage: str | None = None, *,
              include_undone: bool = False) -> pd.DataFrame:
    """Screening decisions as a frame (one row per decision, oldest first)."""
    _ready(project)
    sql = "SELECT * FROM screening_decisions"
    where, args = [], []
    if stage is not None:
        where.append("stage = ?")
        args.append(_stage(stage))
    if not include_undone:
        where.append("undone = 0")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return pd.read_sql_query(sql + " ORDER BY id", project.conn, params=args)


def _latest(project: Project, stage: str) -> pd.DataFrame:
    """Each reviewer's latest active decision per record (adjudications apart)."""
    d = decisions(project, stage)
    # drop_duplicates, not groupby().last(): last() would fill a missing reason from an
    # older decision
    return d.sort_values("id").drop_duplicates(["record_id", "reviewer", "adjudication"],
                                               keep="last")


def final_decisions(project: Project, stage: str) -> pd.DataFrame:
    """The resolved decision of every record decided at a stage (see the module rule).

    Returns
    -------
    pandas.DataFrame
        Indexed by record_id with ``final`` ("include", "exclude", "forward" at
        title/abstract for include/maybe, or None for a conflict), ``reason``,
        ``n_reviewers`` and ``adjudicated``.
    """
    stage = _stage(stage)
    latest = _latest(project, stage)
    rows = []
    for record_id, group in latest.groupby("record_id"):
        adj = group[group.adjudication == 1]
        revs = group[group.adjudication == 0]
        if len(adj):
            last = adj.sort_values("id").iloc[-1]
            final = last.decision
            if stage == "title-abstract" and final in ("include", "maybe"):
                final = "forward"
            rows.append((record_id, final, last.reason, len(revs), True))
            continue
        ds = set(revs.decision)
        reasons_ = set(revs.reason.dropna())
        if stage == "title-abstract":
            final = ("exclude" if ds == {"exclude"} else
                     "forward" if "exclude" not in ds else None)
        else:
            final = ("include" if ds == {"include"} else
                     "exclude" if ds == {"exclude"} and len(reasons_) == 1 else None)
        reason = next(iter(reasons_)) if final == "exclude" and reasons_ else None
        rows.append((record_id, final, reason, len(revs), False))
    return pd.DataFrame(rows, columns=["record_id", "final", "reason", "n_reviewers",
                                       "adjudicated"]).set_index("record_id")


def conflicts(project: Project, stage: str) -> pd.DataFrame:
    """Records on which reviewers disagree (decision or reason), not yet adjudicated.

    Returns
    -------
    pandas.DataFrame
        One row per record in conflict: record_id, title, and one column per reviewer
        with "decision" or "decision: reason".
    """
    stage = _stage(stage)
    latest = _latest(project, stage)
    finals = final_decisions(project, stage)
    revs = latest[latest.adjudication == 0].copy()
    revs["shown"] = [d if r is None or pd.isna(r) else f"{d}: {r}"
                     for d, r in zip(revs.decision, revs.reason)]
    wide = revs.pivot(index="record_id", columns="reviewer", values="shown")
    disagree = wide.nunique(axis=1, dropna=True) > 1
    unresolved = finals.final.isna() & (finals.n_reviewers > 0)
    ids = sorted(set(wide.index[disagree]) - set(finals.index[finals.adjudicated])
                 | set(finals.index[unresolved]))
    titles = dict(project.conn.execute(
        f"SELECT id, title FROM records WHERE id IN ({','.join('?' * len(ids))})", ids)
    ) if ids else {}
    out = wide.loc[ids].copy()
    out.insert(0, "title", [titles.get(i) for i in ids])
    out.columns.name = None
    return out


def agreement(project: Project, stage: str, reviewers: Sequence[str] | None = None
              ) -> dict[tuple[str, str], KappaResult]:
    """Cohen's kappa for each pair of reviewers over the records both decided.

    At title/abstract, the categories are include, exclude and maybe.
    """
    stage = _stage(stage)
    latest = _latest(project, stage)
    revs = latest[latest.adjudication == 0]
    wide = revs.pivot(index="record_id", columns="reviewer", values="decision")
    names = list(reviewers) if reviewers is not None else sorted(wide.columns)
    out = {}
    for a, b in itertools.combinations(names, 2):
        both = wide[[a, b]].dropna()
        if len(both):
            out[(a, b)] = cohen_kappa(both[a].tolist(), both[b].tolist(),
                                      categories=list(DECISIONS))
    return out


def fleiss_agreement(project: Project, stage: str,
                     reviewers: Sequence[str] | None = None) -> FleissResult | None:
    """Fleiss' kappa over the records decided by every one of three or more reviewers.

    Returns None with fewer than three reviewers or no record decided by all of them.
    """
    stage = _stage(stage)
    latest = _latest(project, stage)
    revs = latest[latest.adjudication == 0]
    wide = revs.pivot(index="record_id", columns="reviewer", values="decision")
    names = list(reviewers) if reviewers is not None else sorted(wide.columns)
    if len(names) < 3:
        return None
    complete = wide[names].dropna()
    if complete.empty:
        return None
    return fleiss_kappa(complete, categories=list(DECISIONS))


# ---------------------------------------------------------------------- the queue
def _source_kind_sql() -> str:
    return "COALESCE((SELECT kind FROM source_kinds k WHERE k.source_db = r.source_db), " \
           "'database')"


def _screening_pool(project: Project) -> list[int]:
    """Records that go to title/abstract screening: not duplicates, not flagged, and
    from a database or register."""
    _ready(project)
    sql = (f"SELECT r.id FROM active_records r WHERE {_source_kind_sql()} != 'other' "
           "AND NOT EXISTS (SELECT 1 FROM automation_flags f WHERE f.record_id = r.id "
           "AND f.undone = 0) ORDER BY r.id")
    return [row[0] for row in project.conn.execute(sql)]


def _full_text_pool(project: Project) -> list[int]:
    """Records whose reports are assessed: forwarded at title/abstract (or from other
    methods) and not recorded as not retrieved."""
    forwarded = final_decisions(project, "title-abstract")
    ids = set(forwarded.index[forwarded.final == "forward"]) & set(_screening_pool(project))
    other = [row[0] for row in project.conn.execute(
        f"SELECT r.id FROM active_records r WHERE {_source_kind_sql()} = 'other'")]
    missing = {row[0] for row in project.conn.execute(
        "SELECT record_id FROM reports WHERE retrieved = 0")}
    return sorted((ids | set(other)) - missing)


def queue(project: Project, stage: str, reviewer: str, *, prioritise: bool = True,
          model: str | None = None, cache: dict[Any, Any] | None = None) -> list[int]:
    """Record ids the reviewer has still to decide at this stage, in screening order.

    With ``prioritise`` (and scikit-learn installed) title/abstract records are ranked
    by :func:`metakit.review.automation.rank_records`, trained on the resolved decisions
    made so far by anyone; until one inclusion and one exclusion are known, or without
    scikit-learn, records come in id order. ``cache`` (a dict kept by the caller, e.g.
    a screening session) holds the TF-IDF matrix of the pool between calls.
    """
    stage = _stage(stage)
    pool = _screening_pool(project) if stage == "title-abstract" else _full_text_pool(project)
    done = {row[0] for row in project.conn.execute(
        "SELECT record_id FROM screening_decisions WHERE stage = ? AND reviewer = ? AND "
        "undone = 0", (stage, reviewer))}
    todo = [i for i in pool if i not in done]
    if not (prioritise and stage == "title-abstract" and len(todo) > 1):
        return todo
    finals = final_decisions(project, stage)
    known = finals[finals.final.isin(["forward", "exclude"])]
    if known.final.nunique() < 2:
        return todo
    try:
        import sklearn  # noqa: F401

        from metakit.review.automation import (
            DEFAULT_MODEL,
            _features,
            rank_records,
            record_texts,
        )
    except ImportError:
        return todo
    cache = {} if cache is None else cache
    key = ("tfidf", tuple(pool))
    if key not in cache:
        recs = project.records().loc[pool]
        texts = record_texts(recs.title, recs.abstract)
        cache.clear()
        cache[key] = (_features(texts), {rid: k for k, rid in enumerate(pool)})
    X, row_of = cache[key]
    todo_set = set(todo)
    ids = sorted(todo_set | (set(known.index) & set(row_of)))
    label_of = {i: int(f == "forward") for i, f in known.final.items()}
    labels = [None if i in todo_set else label_of[i] for i in ids]
    if len(set(v for v in labels if v is not None)) < 2:
        return todo
    order = rank_records(None, labels, model=model or DEFAULT_MODEL,
                         features=X[[row_of[i] for i in ids]])
    return [ids[k] for k in order]


@dataclass(frozen=True)
class Progress:
    """How far a reviewer has got at a stage."""

    done: int
    total: int

    def __str__(self) -> str:
        return f"{self.done}/{self.total}"


def progress(project: Project, stage: str, reviewer: str) -> Progress:
    """Records the reviewer has decided out of those to screen at this stage."""
    stage = _stage(stage)
    pool = _screening_pool(project) if stage == "title-abstract" else _full_text_pool(project)
    done = {row[0] for row in project.conn.execute(
        "SELECT record_id FROM screening_decisions WHERE stage = ? AND reviewer = ? AND "
        "undone = 0", (stage, reviewer))}
    return Progress(len(done & set(pool)), len(pool))


# -------------------------------------------------------- automation and other removals
def flag_records(project: Project, flags: Iterable[tuple[int, str, str | None]], *,
                 kind: str = "automation") -> int:
    """Mark records as removed before screening; return how many were flagged.

    ``flags`` yields (record_id, rule, evidence). Records with an active flag are
    skipped (a record is removed once).
    """
    if kind not in ("automation", "other"):
        raise DataError("kind must be 'automation' or 'other'", column="kind")
    _ready(project)
    n = 0
    with project.transaction() as c:
        for record_id, rule, evidence in flags:
            if c.execute("SELECT 1 FROM records WHERE id = ?", (int(record_id),)
                         ).fetchone() is None:
                raise DataError("no such record", study=record_id, column="record_id")
            if c.execute("SELECT 1 FROM automation_flags WHERE record_id = ? AND undone = 0",
                         (int(record_id),)).fetchone():
                continue
            c.execute("INSERT INTO automation_flags (record_id, kind, rule, evidence, "
                      "flagged_at) VALUES (?, ?, ?, ?, ?)",
                      (int(record_id), kind, rule, evidence, _now()))
            n += 1
    return n


def apply_design_filter(project: Project) -> Any:
    """Run :func:`metakit.review.automation.design_filter` on the records that would go to
    screening and flag those it removes (kind 'automation', the rule recorded).

    Returns the :class:`~metakit.review.automation.DesignFilterResult`.
    """
    from metakit.review.automation import design_filter

    ids = _screening_pool(project)
    recs = project.records().loc[ids].reset_index()
    # MeSH headings: the store's keywords may hold author keywords instead, so the
    # MEDLINE "MH" field of the raw record is added
    headings = [list(k or []) + list((raw or {}).get("MH") or [])
                for k, raw in zip(recs["keywords"], recs["raw"])]
    frame = pd.DataFrame({"record_id": recs["id"], "title": recs["title"],
                          "abstract": recs["abstract"],
                          "publication_types": recs["pub_types"],
                          "keywords": headings})
    result = design_filter(frame)
    flag_records(project, [(r, rule, ev) for r, rule, ev in
                           zip(result.record_ids, result.rules, result.evidence)
                           if rule is not None])
    return result


def undo_flag(project: Project, record_id: int) -> bool:
    """Undo the active removal flag of a record (it goes back to screening)."""
    _ready(project)
    with project.transaction() as c:
        cur = c.execute("UPDATE automation_flags SET undone = 1, undone_at = ? WHERE "
                        "record_id = ? AND undone = 0", (_now(), int(record_id)))
        return cur.rowcount > 0


def set_report(project: Project, record_id: int, *, retrieved: bool,
               study_id: str | None = None, location: str | None = None,
               note: str | None = None) -> None:
    """Record whether a record's full text was retrieved, and which study it reports."""
    _ready(project)
    with project.transaction() as c:
        c.execute("INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(record_id) DO "
                  "UPDATE SET retrieved = excluded.retrieved, study_id = excluded.study_id, "
                  "location = excluded.location, note = excluded.note, "
                  "updated_at = excluded.updated_at",
                  (int(record_id), int(bool(retrieved)), study_id, location, note, _now()))


def set_source_kind(project: Project, source_db: str, kind: str) -> None:
    """Declare a source a 'database', a 'register' or 'other' (methods)."""
    if kind not in ("database", "register", "other"):
        raise DataError("kind must be 'database', 'register' or 'other'", column="kind")
    _ready(project)
    with project.transaction() as c:
        c.execute("INSERT INTO source_kinds VALUES (?, ?) ON CONFLICT(source_db) DO UPDATE "
                  "SET kind = excluded.kind", (source_db, kind))


# --------------------------------------------------------------------------- CSV
CSV_COLUMNS = ("record_id", "stage", "reviewer", "decision", "reason", "decided_at")

#: Columns of the worksheet of records awaiting a decision (:func:`export_pending`).
PENDING_COLUMNS = ("record_id", "stage", "reviewer", "decision", "reason", "title",
                   "abstract", "authors", "year", "journal")


def export_csv(project: Project, path: str | Path, stage: str | None = None) -> int:
    """Write active decisions to CSV (columns :data:`CSV_COLUMNS` plus title); return n."""
    d = decisions(project, stage)
    d = d[d.adjudication == 0]
    titles = dict(project.conn.execute("SELECT id, title FROM records"))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*CSV_COLUMNS, "title"])
        for row in d.itertuples():
            w.writerow([row.record_id, row.stage, row.reviewer, row.decision,
                        "" if pd.isna(row.reason) else row.reason, row.decided_at,
                        titles.get(row.record_id) or ""])
    return len(d)


def pending(project: Project, stage: str = "title-abstract",
            reviewer: str | None = None) -> list[int]:
    """Records awaiting a decision at a stage, in id order.

    With ``reviewer``: those this reviewer has not decided; without: those nobody has
    decided.
    """
    stage = _stage(stage)
    _ready(project)
    pool = _screening_pool(project) if stage == "title-abstract" else _full_text_pool(project)
    sql = ("SELECT DISTINCT record_id FROM screening_decisions WHERE stage = ? AND "
           "undone = 0")
    args: list[Any] = [stage]
    if reviewer is not None:
        sql += " AND reviewer = ?"
        args.append(reviewer)
    done = {row[0] for row in project.conn.execute(sql, args)}
    return [i for i in pool if i not in done]


def export_pending(project: Project, path: str | Path, stage: str = "title-abstract",
                   reviewer: str | None = None) -> int:
    """Write the records awaiting a decision as a worksheet to fill in; return n.

    Columns :data:`PENDING_COLUMNS`: the decision, reason (and reviewer, when not
    given) are left blank for the team to fill in a spreadsheet; the file is read back
    by :func:`import_csv`, which skips rows still without a decision.
    """
    stage = _stage(stage)
    ids = pending(project, stage, reviewer)
    recs = project.records().reindex(ids)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(PENDING_COLUMNS)
        for rid, rec in recs.iterrows():
            authors = rec["authors"] if isinstance(rec["authors"], list) else []
            w.writerow([rid, stage, reviewer or "", "", "", _cell(rec["title"]),
                        _cell(rec["abstract"]), "; ".join(authors), _cell(rec["year"]),
                        _cell(rec["journal"])])
    return len(ids)


def _cell(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_csv` did with each row.

    Attributes
    ----------
    imported
        Decisions added.
    unchanged
        Rows equal to the reviewer's current decision (a file imported again): skipped.
    undecided
        Rows with an empty decision (a worksheet not filled in yet): skipped.
    conflicts
        ``(line, record_id, reviewer, in store, in file)`` for rows that contradict the
        reviewer's current decision: not imported.
    """

    imported: int
    unchanged: int
    undecided: int
    conflicts: tuple[tuple[int, int, str, str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        """The counts and the conflicting rows."""
        return {"imported": self.imported, "unchanged": self.unchanged,
                "undecided": self.undecided, "conflicts": [list(c) for c in self.conflicts]}

    def to_frame(self) -> pd.DataFrame:
        """One row per conflicting line."""
        return pd.DataFrame(list(self.conflicts), columns=["line", "record_id", "reviewer",
                                                           "in_store", "in_file"])

    def summary(self) -> str:
        """A few lines: counts, then each conflict with its line."""
        lines = [f"{self.imported} decisions imported; {self.unchanged} already in the "
                 f"store (skipped); {self.undecided} rows without a decision (skipped); "
                 f"{len(self.conflicts)} conflicting (not imported)"]
        lines += [f"  line {ln}: record {rid}, {rev}: store says {old!r}, file says {new!r}"
                  for ln, rid, rev, old, new in self.conflicts]
        return "\n".join(lines)


def _shown(decision: str, reason: Any) -> str:
    return decision if reason is None or pd.isna(reason) else f"{decision}: {reason}"


def import_csv(project: Project, path: str | Path, *,
               reviewer: str | None = None) -> ImportResult:
    """Import decisions made elsewhere (CSV with :data:`CSV_COLUMNS`, or a worksheet from
    :func:`export_pending`).

    Extra columns and an empty ``decided_at`` are allowed; ``reviewer`` fills an empty
    reviewer cell. All rows or none: one transaction, and a bad row (unknown record, a
    record removed as a duplicate or flagged before screening, a bad decision or
    reason) raises a DataError naming its line. Importing a file again changes nothing:
    a row equal to the reviewer's current decision at that stage is skipped; a row that
    contradicts it is not imported and is reported in :attr:`ImportResult.conflicts`
    (undo the stored decision first to replace it). Rows with an empty decision are
    skipped.
    """
    _ready(project)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"record_id", "stage", "decision"} - set(reader.fieldnames or ())
        if "reviewer" not in set(reader.fieldnames or ()) and reviewer is None:
            missing.add("reviewer")
        if missing:
            raise DataError(f"CSV lacks column(s) {sorted(missing)}", column=sorted(missing)[0])
        rows = list(reader)
    imported = unchanged = undecided = 0
    conflicts_: list[tuple[int, int, str, str, str]] = []
    with project.transaction() as c:
        current: dict[tuple[int, str, str], str] = {}
        for rid, st, rev, dec, rea in c.execute(
                "SELECT record_id, stage, reviewer, decision, reason FROM "
                "screening_decisions WHERE undone = 0 AND adjudication = 0 ORDER BY id"):
            current[(rid, st, rev)] = _shown(dec, rea)
        for line, row in enumerate(rows, start=2):
            where = f"line {line}: "
            try:
                record_id = int(str(row["record_id"]).strip())
            except ValueError:
                raise DataError(f"{where}record_id must be an integer",
                                column="record_id") from None
            if not (row.get("decision") or "").strip():
                undecided += 1
                continue
            try:
                stage = _stage(row["stage"].strip())
            except DataError as err:
                raise DataError(where + err.rule, study=record_id, column="stage") from None
            who = (row.get("reviewer") or "").strip() or (reviewer or "")
            decision, reason = _check_decision(
                c, record_id, stage, who, row["decision"].strip().lower(),
                row.get("reason"), where)
            key = (record_id, stage, who)
            new = _shown(decision, reason)
            if key in current:
                if current[key] == new:
                    unchanged += 1
                else:
                    conflicts_.append((line, record_id, who, current[key], new))
                continue
            c.execute("INSERT INTO screening_decisions (record_id, stage, reviewer, decision, "
                      "reason, decided_at, origin) VALUES (?, ?, ?, ?, ?, ?, 'import')",
                      (record_id, stage, who, decision, reason,
                       (row.get("decided_at") or "").strip() or _now()))
            current[key] = new
            imported += 1
    return ImportResult(imported, unchanged, undecided, tuple(conflicts_))


# ------------------------------------------------------------------- PRISMA counts
def _id_list(ids: Sequence[int], shown: int = 20) -> str:
    """'records 3, 7 and 9' style list, cut after ``shown`` ids."""
    head = ", ".join(str(int(i)) for i in ids[:shown])
    more = f" and {len(ids) - shown} more (metakit prisma --list)" if len(ids) > shown else ""
    return ("record " if len(ids) == 1 else "records ") + head + more


def unfinished(project: Project) -> pd.DataFrame:
    """Records that keep the PRISMA counts from being computed, and why.

    Returns
    -------
    pandas.DataFrame
        Indexed by record_id, with ``stage``, ``why`` ("no decision", "conflict") and
        ``title``; empty when the flow is complete.
    """
    _ready(project)
    rows: list[tuple[int, str, str]] = []
    pool = _screening_pool(project)
    ta = final_decisions(project, "title-abstract")
    ta = ta[ta.index.isin(pool)]
    rows += [(i, "title-abstract", "no decision") for i in sorted(set(pool) - set(ta.index))]
    rows += [(int(i), "title-abstract", "conflict") for i in ta.index[ta.final.isna()]]
    ft = final_decisions(project, "full-text")
    assess = set(_full_text_pool(project))
    rows += [(i, "full-text", "no decision") for i in sorted(assess - set(ft.index))]
    rows += [(int(i), "full-text", "conflict") for i in ft.index[ft.final.isna()]
             if i in assess]
    titles = dict(project.conn.execute("SELECT id, title FROM records"))
    frame = pd.DataFrame(rows, columns=["record_id", "stage", "why"])
    frame["title"] = [titles.get(i) for i in frame.record_id]
    return frame.set_index("record_id")


def prisma_counts_from_store(project: Project) -> PrismaCounts:
    """The PRISMA 2020 box counts of a review store.

    Every box is a query on the store: identified per source (by kind), duplicates
    removed (dedup decisions), removed by automation / for other reasons (active flags),
    screened (the screening pool), excluded and forwarded (resolved title/abstract
    decisions), reports not retrieved (reports table), excluded per reason and included
    (resolved full-text decisions), studies (distinct ``study_id``, else the record).

    Raises
    ------
    DataError
        Naming the box that cannot be counted yet: records not screened by anyone,
        unresolved conflicts, reports without a full-text decision.
    """
    _ready(project)
    c = project.conn
    kind_sql = _source_kind_sql()
    by_source: dict[str, dict[str, int]] = {"database": {}, "register": {}, "other": {}}
    for source, kind, n in c.execute(
            f"SELECT r.source_db, {kind_sql}, COUNT(*) FROM records r GROUP BY r.source_db "
            "ORDER BY MIN(r.import_id)"):
        by_source[kind][source] = n
    removed = {kind: n for kind, n in c.execute(
        f"SELECT {kind_sql} = 'other', COUNT(DISTINCT d.record_id) FROM dedup_decisions d "
        "JOIN records r ON r.id = d.record_id WHERE d.kind = 'duplicate' AND d.undone = 0 "
        "GROUP BY 1")}
    flags = {kind: n for kind, n in c.execute(
        f"SELECT f.kind, COUNT(DISTINCT f.record_id) FROM automation_flags f "
        f"JOIN active_records r ON r.id = f.record_id WHERE f.undone = 0 "
        f"AND {kind_sql} != 'other' GROUP BY f.kind")}

    pool = _screening_pool(project)
    ta = final_decisions(project, "title-abstract")
    ta = ta[ta.index.isin(pool)]
    undecided = sorted(set(pool) - set(ta.index))
    if undecided:
        raise DataError(f"{len(undecided)} records have no title/abstract decision yet: "
                        f"{_id_list(undecided)}", column="records_screened")
    open_ta = sorted(ta.index[ta.final.isna()])
    if open_ta:
        raise DataError(f"{len(open_ta)} title/abstract conflicts are unresolved: "
                        f"{_id_list(open_ta)} (metakit screen resolve)",
                        column="records_excluded")
    forwarded = set(ta.index[ta.final == "forward"])
    other_ids = {row[0] for row in c.execute(
        f"SELECT r.id FROM active_records r WHERE {kind_sql} = 'other'")}
    missing = {row[0] for row in c.execute("SELECT record_id FROM reports WHERE retrieved = 0")}
    ft = final_decisions(project, "full-text")

    def column(ids: set[int], box: str) -> tuple[int, int, dict[str, int], set[int]]:
        assessed = ids - missing
        dec = ft[ft.index.isin(assessed)]
        waiting = sorted((assessed - set(dec.index)) | set(dec.index[dec.final.isna()]))
        if waiting:
            raise DataError(f"{len(waiting)} reports have no resolved full-text decision: "
                            f"{_id_list(waiting)}", column=box)
        excluded = dec[dec.final == "exclude"].reason.value_counts()
        order = reasons(project, "full-text")
        reasons_ = {r: int(excluded[r]) for r in order if r in excluded.index}
        reasons_.update({r: int(n) for r, n in excluded.items() if r not in reasons_})
        return len(ids & missing), len(assessed), reasons_, set(dec.index[dec.final ==
                                                                          "include"])

    nr, assessed, excl, inc = column(forwarded, "reports_assessed")
    onr, oassessed, oexcl, oinc = column(other_ids, "other_reports_assessed")
    included = inc | oinc
    study_of = dict(c.execute("SELECT record_id, study_id FROM reports"))
    studies = {study_of.get(i) or f"record {i}" for i in included}
    return PrismaCounts(
        databases=by_source["database"], registers=by_source["register"],
        duplicates_removed=removed.get(0, 0),
        removed_by_automation=flags.get("automation", 0),
        removed_other=flags.get("other", 0),
        records_screened=len(pool), records_excluded=int((ta.final == "exclude").sum()),
        reports_sought=len(forwarded), reports_not_retrieved=nr, reports_assessed=assessed,
        reports_excluded=excl, other_sources=by_source["other"],
        other_reports_sought=len(other_ids), other_reports_not_retrieved=onr,
        other_reports_assessed=oassessed, other_reports_excluded=oexcl,
        studies_included=len(studies), reports_included=len(included),
    )
