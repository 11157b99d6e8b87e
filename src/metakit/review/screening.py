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

Tables (migrations 100 and 101 of :mod:`metakit.review.tables`)
---------------------------------------------------------------
``screening_decisions(id, record_id, stage, reviewer, decision, reason, decided_at,
undone, undone_at, adjudication, origin, request_id)``: ``request_id`` (nullable,
unique) makes a retried write return the decision it wrote the first time.
``exclusion_reasons(stage, reason, position)``: the review's list of reasons.
``automation_flags(id, record_id, kind, rule, evidence, flagged_at, undone, undone_at)``:
records removed before screening, ``kind`` 'automation' or 'other'.
``reports(record_id, retrieved, study_id, location, note, updated_at)``: full-text
retrieval; ``study_id`` groups several reports of one study.
``source_kinds(source_db, kind)``: 'database' (default), 'register' or 'other'
(other methods: citation searching, websites...; these skip title/abstract screening,
as in the PRISMA 2020 template).

Every write also adds a row to the audit trail (:mod:`metakit.review.audit`) in the same
transaction; ``actor`` names who acted (the reviewer when None and a reviewer is known,
else ``cli:<login>``).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from metakit.errors import DataError
from metakit.review import audit
from metakit.review.agreement import FleissResult, KappaResult, cohen_kappa, fleiss_kappa
from metakit.review.database import now
from metakit.review.prisma_counts import PrismaCounts
from metakit.review.store import Project
from metakit.review.tables import (
    active_records,
    automation_flags,
    dedup_decisions,
    exclusion_reasons,
    records,
    reports,
    screening_decisions,
    source_kinds,
    upsert,
)

__all__ = [
    "STAGES", "DECISIONS", "SCHEMA_VERSION",
    "define_reasons", "reasons", "record_decision", "undo_last", "resolve",
    "decisions", "final_decisions", "conflicts", "agreement", "fleiss_agreement", "queue", "progress", "Progress",
    "flag_records", "apply_design_filter", "undo_flag", "set_report", "set_source_kind",
    "export_csv", "import_csv", "ImportResult", "pending", "export_pending",
    "prisma_counts_from_store", "unfinished", "CSV_COLUMNS", "PENDING_COLUMNS",
    "RequestConflict", "study_of",
]

STAGES = ("title-abstract", "full-text")
DECISIONS = ("include", "exclude", "maybe")
SCHEMA_VERSION = 100

sd = screening_decisions


class RequestConflict(DataError):
    """A request id already recorded a different decision (a client reused an id)."""


def _stage(stage: str) -> str:
    s = stage.replace("_", "-").lower()
    aliases = {"ta": "title-abstract", "title": "title-abstract", "abstract":
               "title-abstract", "ft": "full-text", "fulltext": "full-text"}
    s = aliases.get(s, s)
    if s not in STAGES:
        raise DataError(f"stage must be one of {STAGES}, got {stage!r}", column="stage")
    return s


# ------------------------------------------------------------------------ reasons
def define_reasons(project: Project, stage: str, reasons_: Sequence[str], *,
                   actor: str | None = None) -> None:
    """Set the review's list of exclusion reasons for a stage (replaces the old list)."""
    stage = _stage(stage)
    clean = [r.strip() for r in reasons_]
    if any(not r for r in clean) or len(set(clean)) != len(clean):
        raise DataError("reasons must be non-empty and distinct", column="reason")
    with project.transaction() as c:
        c.execute(sa.delete(exclusion_reasons).where(exclusion_reasons.c.stage == stage))
        if clean:
            c.execute(sa.insert(exclusion_reasons),
                      [{"stage": stage, "reason": r, "position": i} for i, r in enumerate(clean)])
        audit.record(c, actor, "screening.reasons", f"stage:{stage}", {"reasons": clean})


def _reasons(c: sa.Connection, stage: str) -> list[str]:
    e = exclusion_reasons
    return list(c.execute(sa.select(e.c.reason).where(e.c.stage == stage)
                          .order_by(e.c.position)).scalars().all())


def reasons(project: Project, stage: str) -> list[str]:
    """The exclusion reasons defined for a stage, in their order."""
    with project.db.read() as c:
        return _reasons(c, _stage(stage))


# ---------------------------------------------------------------------- decisions
def _removal(c: sa.Connection, record_id: int) -> str | None:
    """Why a record is out of screening (a duplicate, or flagged), or None."""
    d, f = dedup_decisions, automation_flags
    dup = c.execute(sa.select(d.c.duplicate_of).where(
        d.c.record_id == record_id, d.c.kind == "duplicate", d.c.undone == 0)).first()
    if dup is not None:
        return (f"removed as a duplicate of record {dup[0]} (metakit records undo "
                "brings it back)")
    flag = c.execute(sa.select(f.c.kind, f.c.rule).where(
        f.c.record_id == record_id, f.c.undone == 0)).first()
    if flag is not None:
        by = "by automation" if flag[0] == "automation" else "for another reason"
        return (f"removed before screening {by} (rule {flag[1]}; metakit screen unflag "
                "brings it back)")
    return None


def _check_decision(c: sa.Connection, record_id: int, stage: str, reviewer: str,
                    decision: str, reason: str | None, where: str = "") -> tuple[str, str | None]:
    at = f"{where}record {record_id}: " if where or record_id is not None else ""
    if decision not in DECISIONS:
        raise DataError(f"{at}decision must be one of {DECISIONS}, got {decision!r}",
                        study=record_id, column="decision")
    if not reviewer or not str(reviewer).strip():
        raise DataError(f"{at}reviewer must be named", study=record_id, column="reviewer")
    if c.execute(sa.select(records.c.id).where(records.c.id == record_id)).first() is None:
        raise DataError(f"{at}no such record", study=record_id, column="record_id")
    removed = _removal(c, record_id)
    if removed is not None:
        raise DataError(f"{at}{removed}; it is not screened", study=record_id,
                        column="record_id")
    reason = (reason or "").strip() or None
    if decision != "exclude":
        return decision, None
    allowed = _reasons(c, stage)
    if stage == "full-text" and reason is None:
        raise DataError(f"{at}a full-text exclusion needs a reason", study=record_id,
                        column="reason")
    if reason is not None and allowed and reason not in allowed:
        raise DataError(f"{at}reason {reason!r} is not in the review's list {allowed}",
                        study=record_id, column="reason")
    return decision, reason


def _insert_decision(c: sa.Connection, values: dict[str, Any]) -> int | None:
    """Insert one decision; None when its ``request_id`` is already in the store.

    ``ON CONFLICT DO NOTHING`` on the request id, so two concurrent writers of one
    request never both insert (PostgreSQL waits for the first to commit, then skips).
    """
    if values.get("request_id") is None:
        return int(c.execute(sa.insert(sd).values(**values)).inserted_primary_key[0])
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if c.dialect.name == "postgresql" else sqlite.insert
    row = c.execute(insert(sd).values(**values)
                    .on_conflict_do_nothing(index_elements=["request_id"])
                    .returning(sd.c.id)).first()
    return None if row is None else int(row[0])


def _replayed(c: sa.Connection, request_id: str, values: dict[str, Any]) -> int:
    """The id of the decision request ``request_id`` wrote, if it wrote the same decision."""
    row = c.execute(sa.select(sd).where(sd.c.request_id == request_id)).one()
    same = ("record_id", "stage", "reviewer", "decision", "reason", "adjudication")
    differ = [k for k in same if row._mapping[k] != values[k]]
    if differ:
        raise RequestConflict(
            f"request {request_id!r} already recorded decision {row.id} (record "
            f"{row.record_id}, {row.stage}, {row.reviewer}: {_shown(row.decision, row.reason)}); "
            f"this request differs in {', '.join(differ)}", study=values["record_id"],
            column="request_id")
    return int(row.id)


def _write_decision(project: Project, values: dict[str, Any], actor: str | None,
                    action: str) -> int:
    """Insert a checked decision with its audit row; a seen request id returns its decision."""
    request_id = values.get("request_id")
    with project.transaction() as c:
        if request_id is not None and c.execute(
                sa.select(sd.c.id).where(sd.c.request_id == request_id)).first() is not None:
            # a retry: answered from the store even if the record has since been removed
            reason = (values["reason"] or "").strip() or None
            return _replayed(c, request_id, {
                **values, "reason": reason if values["decision"] == "exclude" else None})
        decision, reason = _check_decision(c, values["record_id"], values["stage"],
                                           values["reviewer"], values["decision"],
                                           values["reason"])
        if action == "screening.resolve" and values["stage"] == "full-text" \
                and decision == "maybe":
            raise DataError("an adjudication at full text must include or exclude",
                            study=values["record_id"], column="decision")
        values = {**values, "decision": decision, "reason": reason}
        new_id = _insert_decision(c, values)
        if new_id is None:
            return _replayed(c, request_id, values)
        audit.record(c, actor or values["reviewer"], action, f"record:{values['record_id']}",
                     {"decision_id": new_id, "stage": values["stage"],
                      "reviewer": values["reviewer"], "decision": decision, "reason": reason,
                      "request_id": request_id})
        return new_id


def record_decision(project: Project, record_id: int, stage: str, reviewer: str,
                    decision: str, reason: str | None = None, *,
                    decided_at: str | None = None, origin: str = "metakit",
                    request_id: str | None = None, actor: str | None = None) -> int:
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
    request_id
        An id the caller gives each request (the web app: one per form it serves). A
        request id seen before returns the decision it recorded and writes nothing, so a
        retried request is not counted twice; the same id with another record, stage,
        reviewer, decision or reason raises :class:`RequestConflict`.
    actor
        Who acted, for the audit trail (None: the reviewer).

    Returns
    -------
    int
        The decision's id.

    Examples
    --------
    >>> p = Project.open("sqlite://")
    >>> _ = p.add_import([{"title": "Trial"}], file="x.ris", source_db="MEDLINE", format="ris")
    >>> first = record_decision(p, 1, "title-abstract", "ann", "include", request_id="r1")
    >>> record_decision(p, 1, "title-abstract", "ann", "include", request_id="r1") == first
    True
    >>> len(decisions(p))
    1
    >>> p.close()
    """
    stage = _stage(stage)
    if origin not in ("metakit", "random-sample"):
        raise DataError(f"origin must be 'metakit' or 'random-sample', got {origin!r}",
                        study=record_id, column="origin")
    values = {"record_id": int(record_id), "stage": stage, "reviewer": reviewer,
              "decision": decision, "reason": reason, "decided_at": decided_at or now(),
              "origin": origin, "adjudication": 0, "request_id": request_id}
    return _write_decision(project, values, actor, "screening.decide")


def resolve(project: Project, record_id: int, stage: str, decision: str,
            reason: str | None = None, *, reviewer: str = "adjudicator",
            request_id: str | None = None, actor: str | None = None) -> int:
    """Record the final decision on a conflict (an adjudication); it overrides reviewers.

    ``request_id`` and ``actor`` as in :func:`record_decision`.
    """
    values = {"record_id": int(record_id), "stage": _stage(stage), "reviewer": reviewer,
              "decision": decision, "reason": reason, "decided_at": now(),
              "origin": "metakit", "adjudication": 1, "request_id": request_id}
    return _write_decision(project, values, actor, "screening.resolve")


def undo_last(project: Project, stage: str, reviewer: str, *,
              actor: str | None = None) -> int | None:
    """Undo the reviewer's latest active decision at a stage; return its record id."""
    stage = _stage(stage)
    with project.transaction() as c:
        row = c.execute(sa.select(sd.c.id, sd.c.record_id)
                        .where(sd.c.stage == stage, sd.c.reviewer == reviewer, sd.c.undone == 0)
                        .order_by(sd.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        c.execute(sa.update(sd).where(sd.c.id == row.id).values(undone=1, undone_at=now()))
        audit.record(c, actor or reviewer, "screening.undo", f"record:{row.record_id}",
                     {"decision_id": row.id, "stage": stage, "reviewer": reviewer})
        return int(row.record_id)


def decisions(project: Project, stage: str | None = None, *,
              include_undone: bool = False) -> pd.DataFrame:
    """Screening decisions as a frame (one row per decision, oldest first)."""
    query = sa.select(sd).order_by(sd.c.id)
    if stage is not None:
        query = query.where(sd.c.stage == _stage(stage))
    if not include_undone:
        query = query.where(sd.c.undone == 0)
    with project.db.read() as c:
        return pd.read_sql_query(query, c)


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
    titles = _titles(project, ids)
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
def _titles(project: Project, ids: Sequence[int] | None = None) -> dict[int, str | None]:
    """Record id -> title (of ``ids``, or of every record)."""
    query = sa.select(records.c.id, records.c.title)
    if ids is not None:
        if not len(ids):
            return {}
        query = query.where(records.c.id.in_([int(i) for i in ids]))
    with project.db.read() as c:
        return dict(c.execute(query).all())


def _source_kind(source_db: sa.ColumnElement) -> sa.ColumnElement:
    """'database', 'register' or 'other': the declared kind of a record's source."""
    k = source_kinds
    declared = sa.select(k.c.kind).where(k.c.source_db == source_db).scalar_subquery()
    return sa.func.coalesce(declared, "database")


def _flagged(record_id: sa.ColumnElement) -> sa.ColumnElement:
    f = automation_flags
    return sa.select(f.c.id).where(f.c.record_id == record_id, f.c.undone == 0).exists()


def _screening_pool(project: Project) -> list[int]:
    """Records that go to title/abstract screening: not duplicates, not flagged, and
    from a database or register."""
    r = active_records
    query = (sa.select(r.c.id).where(_source_kind(r.c.source_db) != "other", ~_flagged(r.c.id))
             .order_by(r.c.id))
    with project.db.read() as c:
        return list(c.execute(query).scalars().all())


def _other_methods(c: sa.Connection) -> list[int]:
    """Active records from other methods (citation searching...): straight to full text."""
    r = active_records
    return list(c.execute(sa.select(r.c.id).where(_source_kind(r.c.source_db) == "other")
                          .order_by(r.c.id)).scalars().all())


def _not_retrieved(c: sa.Connection) -> set[int]:
    return set(c.execute(sa.select(reports.c.record_id).where(reports.c.retrieved == 0)
                         ).scalars().all())


def _full_text_pool(project: Project) -> list[int]:
    """Records whose reports are assessed: forwarded at title/abstract (or from other
    methods) and not recorded as not retrieved."""
    forwarded = final_decisions(project, "title-abstract")
    ids = set(forwarded.index[forwarded.final == "forward"]) & set(_screening_pool(project))
    with project.db.read() as c:
        other = _other_methods(c)
        missing = _not_retrieved(c)
    return sorted((ids | set(other)) - missing)


def _done(project: Project, stage: str, reviewer: str | None) -> set[int]:
    """Records with an active decision at ``stage`` (by ``reviewer``, or by anyone)."""
    query = sa.select(sd.c.record_id).where(sd.c.stage == stage, sd.c.undone == 0)
    if reviewer is not None:
        query = query.where(sd.c.reviewer == reviewer)
    with project.db.read() as c:
        return set(c.execute(query).scalars().all())


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
    done = _done(project, stage, reviewer)
    todo = [i for i in pool if i not in done]
    if not (prioritise and stage == "title-abstract" and len(todo) > 1):
        return todo
    finals = final_decisions(project, stage)
    known = finals[finals.final.isin(["forward", "exclude"])]
    if known.final.nunique() < 2:
        return todo
    try:
        import sklearn  # noqa: F401

        from metakit.review.automation import DEFAULT_MODEL, rank_records
        from metakit.review.text_features import record_features
    except ImportError:
        return todo
    cache = {} if cache is None else cache
    key = ("tfidf", tuple(pool))
    if key not in cache:
        recs = project.records().loc[pool]
        cache.clear()
        cache[key] = (record_features(recs.title, recs.abstract),
                      {rid: k for k, rid in enumerate(pool)})
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
    done = _done(project, stage, reviewer)
    return Progress(len(done & set(pool)), len(pool))


# -------------------------------------------------------- automation and other removals
def flag_records(project: Project, flags: Iterable[tuple[int, str, str | None]], *,
                 kind: str = "automation", actor: str | None = None) -> int:
    """Mark records as removed before screening; return how many were flagged.

    ``flags`` yields (record_id, rule, evidence). Records with an active flag are
    skipped (a record is removed once).
    """
    if kind not in ("automation", "other"):
        raise DataError("kind must be 'automation' or 'other'", column="kind")
    f = automation_flags
    wanted = [(int(rid), rule, evidence) for rid, rule, evidence in flags]
    ids = sorted({rid for rid, _, _ in wanted})
    with project.transaction() as c:
        known: set[int] = set()
        flagged: set[int] = set()
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            known |= set(c.execute(sa.select(records.c.id).where(records.c.id.in_(chunk))
                                   ).scalars().all())
            flagged |= set(c.execute(sa.select(f.c.record_id).where(
                f.c.record_id.in_(chunk), f.c.undone == 0)).scalars().all())
        rows = []
        for rid, rule, evidence in wanted:
            if rid not in known:
                raise DataError("no such record", study=rid, column="record_id")
            if rid in flagged:
                continue
            flagged.add(rid)
            rows.append({"record_id": rid, "kind": kind, "rule": rule, "evidence": evidence,
                         "flagged_at": now()})
        if rows:
            c.execute(sa.insert(f), rows)
            audit.record_many(c, actor, "screening.flag",
                              [(f"record:{r['record_id']}", {"kind": kind, "rule": r["rule"]})
                               for r in rows])
    return len(rows)


def apply_design_filter(project: Project, *, actor: str | None = None) -> Any:
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
                           if rule is not None], actor=actor)
    return result


def undo_flag(project: Project, record_id: int, *, actor: str | None = None) -> bool:
    """Undo the active removal flag of a record (it goes back to screening)."""
    f = automation_flags
    with project.transaction() as c:
        n = c.execute(sa.update(f).where(f.c.record_id == int(record_id), f.c.undone == 0)
                      .values(undone=1, undone_at=now())).rowcount
        if n:
            audit.record(c, actor, "screening.unflag", f"record:{int(record_id)}")
        return n > 0


def set_report(project: Project, record_id: int, *, retrieved: bool,
               study_id: str | None = None, location: str | None = None,
               note: str | None = None, actor: str | None = None) -> None:
    """Record whether a record's full text was retrieved, and which study it reports."""
    values = {"record_id": int(record_id), "retrieved": int(bool(retrieved)),
              "study_id": study_id, "location": location, "note": note, "updated_at": now()}
    with project.transaction() as c:
        upsert(c, reports, values, ["record_id"])
        audit.record(c, actor, "screening.report", f"record:{int(record_id)}",
                     {k: values[k] for k in ("retrieved", "study_id", "location", "note")})


def study_of(project: Project, record_id: int) -> str | None:
    """The study a record's report belongs to (:func:`set_report`), or None."""
    with project.db.read() as c:
        return c.execute(sa.select(reports.c.study_id)
                         .where(reports.c.record_id == int(record_id))).scalar()


def set_source_kind(project: Project, source_db: str, kind: str, *,
                    actor: str | None = None) -> None:
    """Declare a source a 'database', a 'register' or 'other' (methods)."""
    if kind not in ("database", "register", "other"):
        raise DataError("kind must be 'database', 'register' or 'other'", column="kind")
    with project.transaction() as c:
        upsert(c, source_kinds, {"source_db": source_db, "kind": kind}, ["source_db"])
        audit.record(c, actor, "screening.source_kind", f"source:{source_db}", {"kind": kind})


# --------------------------------------------------------------------------- CSV
CSV_COLUMNS = ("record_id", "stage", "reviewer", "decision", "reason", "decided_at")

#: Columns of the worksheet of records awaiting a decision (:func:`export_pending`).
PENDING_COLUMNS = ("record_id", "stage", "reviewer", "decision", "reason", "title",
                   "abstract", "authors", "year", "journal")


def export_csv(project: Project, path: str | Path, stage: str | None = None) -> int:
    """Write active decisions to CSV (columns :data:`CSV_COLUMNS` plus title); return n."""
    d = decisions(project, stage)
    d = d[d.adjudication == 0]
    titles = _titles(project)
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
    pool = _screening_pool(project) if stage == "title-abstract" else _full_text_pool(project)
    done = _done(project, stage, reviewer)
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
               reviewer: str | None = None, actor: str | None = None) -> ImportResult:
    """Import decisions made elsewhere (CSV with :data:`CSV_COLUMNS`, or a worksheet from
    :func:`export_pending`).

    Extra columns and an empty ``decided_at`` are allowed; ``reviewer`` fills an empty
    reviewer cell. All rows or none: one transaction, and a bad row (unknown record, a
    record removed as a duplicate or flagged before screening, a bad decision or
    reason) raises a DataError naming its line. Importing a file again changes nothing:
    a row equal to the reviewer's current decision at that stage is skipped; a row that
    contradicts it is not imported and is reported in :attr:`ImportResult.conflicts`
    (undo the stored decision first to replace it). Rows with an empty decision are
    skipped. ``actor`` (None: ``reviewer``, else ``cli:<login>``) is written to the audit
    trail, one row per decision imported.
    """
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
    new_rows: list[dict[str, Any]] = []
    with project.transaction() as c:
        current: dict[tuple[int, str, str], str] = {}
        for rid, st, rev, dec, rea in c.execute(
                sa.select(sd.c.record_id, sd.c.stage, sd.c.reviewer, sd.c.decision, sd.c.reason)
                .where(sd.c.undone == 0, sd.c.adjudication == 0).order_by(sd.c.id)):
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
            new_rows.append({"record_id": record_id, "stage": stage, "reviewer": who,
                             "decision": decision, "reason": reason, "origin": "import",
                             "decided_at": (row.get("decided_at") or "").strip() or now(),
                             "line": line})
            current[key] = new
            imported += 1
        if new_rows:
            ids = c.execute(sa.insert(sd).returning(sd.c.id, sort_by_parameter_order=True),
                            [{k: v for k, v in r.items() if k != "line"} for r in new_rows]
                            ).scalars().all()
            audit.record_many(c, actor or reviewer, "screening.import_csv", [
                (f"record:{r['record_id']}", {"decision_id": i, "stage": r["stage"],
                                              "reviewer": r["reviewer"], "decision": r["decision"],
                                              "reason": r["reason"], "file": str(path),
                                              "line": r["line"]})
                for i, r in zip(ids, new_rows)])
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
    titles = _titles(project, [r[0] for r in rows])
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
    r, d, f, a = records, dedup_decisions, automation_flags, active_records
    by_source: dict[str, dict[str, int]] = {"database": {}, "register": {}, "other": {}}
    with project.db.read() as c:
        kind = _source_kind(r.c.source_db)
        for source, k, n in c.execute(
                sa.select(r.c.source_db, kind, sa.func.count()).group_by(r.c.source_db)
                .order_by(sa.func.min(r.c.import_id))):
            by_source[k][source] = n
        # duplicates of records found by other methods are not in the databases' column
        duplicates_removed = c.execute(
            sa.select(sa.func.count(sa.distinct(d.c.record_id)))
            .select_from(d.join(r, r.c.id == d.c.record_id))
            .where(d.c.kind == "duplicate", d.c.undone == 0, kind != "other")).scalar_one()
        flags = dict(c.execute(
            sa.select(f.c.kind, sa.func.count(sa.distinct(f.c.record_id)))
            .select_from(f.join(a, a.c.id == f.c.record_id))
            .where(f.c.undone == 0, _source_kind(a.c.source_db) != "other")
            .group_by(f.c.kind)).all())
        other_ids = set(_other_methods(c))
        missing = _not_retrieved(c)
        study_of = dict(c.execute(sa.select(reports.c.record_id, reports.c.study_id)).all())

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
    studies = {study_of.get(i) or f"record {i}" for i in included}
    return PrismaCounts(
        databases=by_source["database"], registers=by_source["register"],
        duplicates_removed=duplicates_removed,
        removed_by_automation=flags.get("automation", 0),
        removed_other=flags.get("other", 0),
        records_screened=len(pool), records_excluded=int((ta.final == "exclude").sum()),
        reports_sought=len(forwarded), reports_not_retrieved=nr, reports_assessed=assessed,
        reports_excluded=excl, other_sources=by_source["other"],
        other_reports_sought=len(other_ids), other_reports_not_retrieved=onr,
        other_reports_assessed=oassessed, other_reports_excluded=oexcl,
        studies_included=len(studies), reports_included=len(included),
    )
