"""Dual independent entry and reconciliation: the store behind extraction and risk of bias.

Two people fill the same form for a study (extraction) or a study's outcome (a RoB 2
assessment), blind to each other; a third (or both, once both have submitted) compares the
entries and records the agreed value of each item. :mod:`metakit.review.extraction` and
:mod:`metakit.review.rob_assessment` give the forms their meaning; this module keeps the
entries, enforces the blinding and makes every write idempotent and audited.

Blinding rule
-------------
A person's entry is readable by that person at any time. Anyone else may read it only once
the target is *open*: at least two entries have been submitted, or the target has been
reconciled. A submitted entry cannot be changed, so nobody edits after seeing the other's
values. Reading is done through functions that take the reader's name; a refused read raises
:class:`BlindError`. (Who may reconcile, or read agreed data, by role, is the web app's rule;
this layer enforces the blinding whoever calls it.)

Idempotent writes
-----------------
Every write takes an optional ``request_id``. A request id seen before makes the call a
no-op that returns what the first call left: a browser that retries a form never writes a
value twice, nor a second audit row. The id is a table key, so two concurrent retries cannot
both write.

Tables (migration 202): ``dual_entries(id, kind, study_id, scope, person, created_at,
submitted_at)``, ``dual_values(entry_id, slot, value, entered_at)``,
``dual_agreed(kind, study_id, scope, slot, value, source, note, reconciler, at)``,
``dual_reconciliations(kind, study_id, scope, reconciler, note, at)``,
``dual_requests(request_id, kind, action, actor, at)``. ``kind`` is ``extraction`` or ``rob``;
``scope`` is the outcome of a RoB assessment ('' for extraction).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from metakit.errors import DataError, MetakitError
from metakit.review import audit
from metakit.review.database import Database, metadata, now, register_migration
from metakit.review.studies import require_study

__all__ = ["DUAL_VERSION", "BlindError", "Target", "agreed_values", "entry_values", "is_open", "people",
           "overview", "reconciliation", "save_agreed", "settle", "submit", "write_values"]

DUAL_VERSION = 202
KINDS = ("extraction", "rob")

entries_table = sa.Table(
    "dual_entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id"), nullable=False),
    sa.Column("scope", sa.Text, nullable=False, server_default=""),
    sa.Column("person", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("submitted_at", sa.Text),
    sa.UniqueConstraint("kind", "study_id", "scope", "person", name="dual_entries_one_per_person"),
    sa.CheckConstraint("kind IN ('extraction', 'rob')", name="dual_entries_kind"),
)
values_table = sa.Table(
    "dual_values", metadata,
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("dual_entries.id"), primary_key=True, autoincrement=False),
    sa.Column("slot", sa.Text, primary_key=True),
    sa.Column("value", sa.Text),
    sa.Column("entered_at", sa.Text, nullable=False),
)
agreed_table = sa.Table(
    "dual_agreed", metadata,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id"), primary_key=True),
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("slot", sa.Text, primary_key=True),
    sa.Column("value", sa.Text),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("reconciler", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.CheckConstraint("source IN ('agreed', 'chosen', 'typed')", name="dual_agreed_source"),
)
reconciliations_table = sa.Table(
    "dual_reconciliations", metadata,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id"), primary_key=True),
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("reconciler", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("at", sa.Text, nullable=False),
)
requests_table = sa.Table(
    "dual_requests", metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
)


def _create(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[entries_table, values_table, agreed_table, reconciliations_table,
                                      requests_table])


register_migration(DUAL_VERSION, _create)


class BlindError(MetakitError, PermissionError):
    """A read or write that would break blinding: another person's entry before it is open."""


@dataclass(frozen=True)
class Target:
    """What is entered twice: a study (extraction) or a study's outcome (``scope``, RoB)."""

    kind: str
    study_id: str
    scope: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")

    @property
    def label(self) -> str:
        """``study`` or ``study (outcome)``, for messages and the audit trail."""
        return self.study_id if not self.scope else f"{self.study_id} ({self.scope})"

    def where(self, table: sa.Table) -> sa.ColumnElement[bool]:
        """The SQL condition selecting this target's rows of ``table``."""
        return sa.and_(table.c.kind == self.kind, table.c.study_id == self.study_id,
                       table.c.scope == self.scope)


def _person(name: str, role: str) -> str:
    text = str(name or "").strip()
    if not text:
        raise DataError(f"the {role}'s name is empty", column=role)
    return text


def _seen(conn: sa.Connection, request_id: str | None) -> bool:
    if request_id is None:
        return False
    return conn.execute(sa.select(requests_table.c.request_id).where(requests_table.c.request_id == request_id)
                        ).first() is not None


def _claim(conn: sa.Connection, request_id: str | None, kind: str, action: str, actor: str) -> None:
    if request_id is not None:
        conn.execute(sa.insert(requests_table).values(request_id=request_id, kind=kind, action=action,
                                                      actor=actor, at=now()))


def _idempotent(db: Database, request_id: str | None, body: Callable[[sa.Connection], None]) -> bool:
    """Run ``body`` in one write unless ``request_id`` was seen; False when it was (no write).

    A concurrent write may win a key first (the request id, or a person's first entry for a
    target): this write then rolls back and, unless its request id is now seen, runs again.
    """
    for attempt in range(2):
        try:
            with db.write() as conn:
                if _seen(conn, request_id):
                    return False
                body(conn)
                return True
        except sa.exc.IntegrityError:
            with db.read() as conn:
                if _seen(conn, request_id):
                    return False
            if attempt:
                raise
    raise AssertionError("unreachable")


def _entry(conn: sa.Connection, target: Target, person: str) -> sa.Row | None:
    return conn.execute(sa.select(entries_table).where(target.where(entries_table),
                                                       entries_table.c.person == person)).first()


def people(db: Database, target: Target) -> list[tuple[str, str | None]]:
    """Who has an entry for ``target``, with when they submitted it (None: not yet), oldest first."""
    with db.read() as conn:
        rows = conn.execute(sa.select(entries_table.c.person, entries_table.c.submitted_at)
                            .where(target.where(entries_table)).order_by(entries_table.c.id)).all()
    return [(p, s) for p, s in rows]


def reconciliation(db: Database, target: Target) -> dict[str, str | None] | None:
    """The target's reconciliation (reconciler, note, at), or None when not reconciled."""
    with db.read() as conn:
        row = conn.execute(sa.select(reconciliations_table).where(target.where(reconciliations_table))).first()
    return None if row is None else {"reconciler": row.reconciler, "note": row.note, "at": row.at}


def _open(conn: sa.Connection, target: Target) -> bool:
    submitted = conn.execute(sa.select(sa.func.count()).select_from(entries_table).where(
        target.where(entries_table), entries_table.c.submitted_at.is_not(None))).scalar_one()
    if submitted >= 2:
        return True
    return conn.execute(sa.select(reconciliations_table.c.at).where(target.where(reconciliations_table))
                        ).first() is not None


def is_open(db: Database, target: Target) -> bool:
    """Whether entries of ``target`` may be read by others (two submitted, or reconciled)."""
    with db.read() as conn:
        return _open(conn, target)


def entry_values(db: Database, target: Target, person: str, *, reader: str) -> dict[str, str | None]:
    """``person``'s values for ``target`` (slot -> stored text), read by ``reader``.

    Raises
    ------
    BlindError
        When ``reader`` is not ``person`` and the target is not open (see the module rule).
    """
    person, reader = _person(person, "extractor"), _person(reader, "reader")
    with db.read() as conn:
        if reader != person and not _open(conn, target):
            raise BlindError(f"{reader} cannot read {person}'s entry for {target.label} before two entries "
                             "are submitted or the study is reconciled (blind dual entry)")
        entry = _entry(conn, target, person)
        if entry is None:
            return {}
        rows = conn.execute(sa.select(values_table.c.slot, values_table.c.value)
                            .where(values_table.c.entry_id == entry.id)).all()
    return {s: v for s, v in rows}


def write_values(db: Database, target: Target, person: str, values: Mapping[str, str | None], *,
                 actor: str | None = None, request_id: str | None = None,
                 check: Callable[[dict[str, str | None]], None] | None = None) -> bool:
    """Set ``person``'s values (slot -> stored text, None clears) for ``target``, in one write.

    ``check`` receives the entry's values after the change and raises to refuse them (the
    form's cross-field rules). ``actor`` (default ``person``) must be ``person``: an entry is
    written by its owner only. Returns False when ``request_id`` was seen (nothing written).
    """
    person = _person(person, "extractor")
    actor = person if actor is None else _person(actor, "actor")
    if actor != person:
        raise BlindError(f"{actor} cannot write {person}'s entry: an entry is written by its extractor only")

    def body(conn: sa.Connection) -> None:
        require_study(conn, target.study_id)
        entry = _entry(conn, target, person)
        if entry is None:
            entry_id = conn.execute(sa.insert(entries_table).values(
                kind=target.kind, study_id=target.study_id, scope=target.scope, person=person,
                created_at=now())).inserted_primary_key[0]
        else:
            if entry.submitted_at is not None:
                raise DataError(f"{person}'s entry for {target.label} was submitted at {entry.submitted_at}; "
                                "a submitted entry is not changed (the reconciliation settles differences)",
                                study=target.label)
            entry_id = entry.id
        current = dict(conn.execute(sa.select(values_table.c.slot, values_table.c.value)
                                    .where(values_table.c.entry_id == entry_id)).all())
        changed = {k: v for k, v in values.items() if current.get(k) != v or k not in current}
        if check is not None:
            check({**current, **values})
        at = now()
        for slot, value in changed.items():
            if slot in current:
                conn.execute(sa.update(values_table).where(values_table.c.entry_id == entry_id,
                                                           values_table.c.slot == slot)
                             .values(value=value, entered_at=at))
            else:
                conn.execute(sa.insert(values_table).values(entry_id=entry_id, slot=slot, value=value,
                                                            entered_at=at))
        _claim(conn, request_id, target.kind, "enter", actor)
        audit.record(conn, actor, f"{target.kind}.enter", _audit_target(target),
                     {"values": changed, "request_id": request_id})

    return _idempotent(db, request_id, body)


def submit(db: Database, target: Target, person: str, *, request_id: str | None = None,
           check: Callable[[dict[str, str | None]], None] | None = None) -> bool:
    """Submit ``person``'s entry: it is then final, and counts toward opening the comparison.

    ``check`` receives the entry's values and raises to refuse (required values missing).
    Returns False when ``request_id`` was seen or the entry was submitted already.
    """
    person = _person(person, "extractor")
    done = {"value": True}

    def body(conn: sa.Connection) -> None:
        require_study(conn, target.study_id)
        entry = _entry(conn, target, person)
        if entry is None:
            raise DataError(f"{person} has no entry for {target.label} to submit", study=target.label)
        if entry.submitted_at is not None:
            done["value"] = False
            return
        if check is not None:
            check(dict(conn.execute(sa.select(values_table.c.slot, values_table.c.value)
                                    .where(values_table.c.entry_id == entry.id)).all()))
        conn.execute(sa.update(entries_table).where(entries_table.c.id == entry.id).values(submitted_at=now()))
        _claim(conn, request_id, target.kind, "submit", person)
        audit.record(conn, person, f"{target.kind}.submit", _audit_target(target), {"request_id": request_id})

    return _idempotent(db, request_id, body) and done["value"]


def save_agreed(db: Database, target: Target, reconciler: str,
                rows: Mapping[str, tuple[str | None, str, str | None]], *, note: str | None = None,
                request_id: str | None = None) -> bool:
    """Record the agreed value of every slot: slot -> (value, source, note); replaces earlier ones.

    ``source`` is ``agreed`` (the entries matched), ``chosen`` (one extractor's value was
    picked) or ``typed`` (the reconciler typed a value). The target must be open. Returns
    False when ``request_id`` was seen.
    """
    reconciler = _person(reconciler, "reconciler")

    def body(conn: sa.Connection) -> None:
        require_study(conn, target.study_id)
        if not _open(conn, target):
            raise BlindError(f"{target.label} cannot be reconciled before two entries are submitted")
        at = now()
        conn.execute(sa.delete(agreed_table).where(target.where(agreed_table)))
        if rows:
            conn.execute(sa.insert(agreed_table), [
                {"kind": target.kind, "study_id": target.study_id, "scope": target.scope, "slot": slot,
                 "value": value, "source": source, "note": slot_note, "reconciler": reconciler, "at": at}
                for slot, (value, source, slot_note) in rows.items()])
        conn.execute(sa.delete(reconciliations_table).where(target.where(reconciliations_table)))
        conn.execute(sa.insert(reconciliations_table).values(kind=target.kind, study_id=target.study_id,
                                                             scope=target.scope, reconciler=reconciler,
                                                             note=note, at=at))
        _claim(conn, request_id, target.kind, "reconcile", reconciler)
        audit.record(conn, reconciler, f"{target.kind}.reconcile", _audit_target(target),
                     {"values": {k: list(v) for k, v in rows.items()}, "note": note, "request_id": request_id})

    return _idempotent(db, request_id, body)


def settle(keys: Sequence[str], first: Mapping[str, str | None], second: Mapping[str, str | None],
           choices: Mapping[str, str | None], notes: Mapping[str, str], study: str
           ) -> dict[str, tuple[str | None, str, str | None]]:
    """The agreed rows (key -> (value, source, note)) from two entries and the reconciler's choices.

    Where the entries agree their value stands (``agreed``) unless ``choices`` corrects it
    (``typed``); where they differ ``choices`` must give the value: one entry's (``chosen``)
    or another (``typed``). A key empty in both entries and not chosen is left out.

    Raises
    ------
    DataError
        Naming the keys where the entries differ and no value was chosen.
    """
    open_keys = [k for k in keys if first.get(k) != second.get(k) and k not in choices]
    if open_keys:
        n = len(open_keys)
        raise DataError(f"{n} discrepanc{'y' if n == 1 else 'ies'} not settled: {', '.join(open_keys)} "
                        "(give the agreed value of each)", study=study, column=open_keys[0])
    rows: dict[str, tuple[str | None, str, str | None]] = {}
    for key in keys:
        a, b = first.get(key), second.get(key)
        if key in choices:
            value = choices[key]
            source = "agreed" if a == b == value else "chosen" if value in (a, b) else "typed"
        elif a is None:
            continue
        else:
            value, source = a, "agreed"
        rows[key] = (value, source, notes.get(key))
    return rows


def agreed_values(db: Database, kind: str) -> dict[tuple[str, str], dict[str, str | None]]:
    """Agreed values of every reconciled target of ``kind``: (study_id, scope) -> slot -> value."""
    with db.read() as conn:
        done = conn.execute(sa.select(reconciliations_table.c.study_id, reconciliations_table.c.scope)
                            .where(reconciliations_table.c.kind == kind)).all()
        rows = conn.execute(sa.select(agreed_table.c.study_id, agreed_table.c.scope, agreed_table.c.slot,
                                      agreed_table.c.value).where(agreed_table.c.kind == kind)).all()
    out: dict[tuple[str, str], dict[str, str | None]] = {(s, sc): {} for s, sc in done}
    for s, sc, slot, value in rows:
        out.setdefault((s, sc), {})[slot] = value
    return out


def overview(db: Database, kind: str) -> list[dict[str, object]]:
    """Every target of ``kind`` with an entry: study_id, scope, submitted and in-progress people
    (space-separated), reconciler and time (None when not reconciled); by study, then scope."""
    with db.read() as conn:
        entries = conn.execute(sa.select(entries_table.c.study_id, entries_table.c.scope, entries_table.c.person,
                                         entries_table.c.submitted_at).where(entries_table.c.kind == kind)
                               .order_by(entries_table.c.id)).all()
        done = {(r.study_id, r.scope): r for r in conn.execute(
            sa.select(reconciliations_table).where(reconciliations_table.c.kind == kind))}
    out: dict[tuple[str, str], dict[str, object]] = {}
    for study_id, scope, person, submitted_at in entries:
        row = out.setdefault((study_id, scope), {"study_id": study_id, "scope": scope, "submitted": [],
                                                 "in_progress": []})
        row["submitted" if submitted_at is not None else "in_progress"].append(person)
    rows = []
    for key in sorted(out):
        row = out[key]
        rec = done.get(key)
        rows.append({**row, "submitted": " ".join(row["submitted"]), "in_progress": " ".join(row["in_progress"]),
                     "reconciled_by": None if rec is None else rec.reconciler,
                     "reconciled_at": None if rec is None else rec.at})
    return rows


def _audit_target(target: Target) -> str:
    return f"study:{target.study_id}" + (f"/outcome:{target.scope}" if target.scope else "")
