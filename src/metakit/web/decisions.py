"""Screening writes from the web: idempotent decisions, adjudications, notes, terms.

Thin layers over the public functions of :mod:`metakit.review.screening`; each write
lands in the audit trail. A decision form carries a ``request_id`` drawn when the form
was rendered: a browser that posts it twice (a retry after a timeout, a double key
press) records one decision. Where ``record_decision`` takes ``request_id`` itself (the
store's unique column) that is used; otherwise the web app's ``web_requests`` table
keeps the ids, checked and written on the store's worker thread, which serialises the
writes of one store.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import sqlalchemy as sa

from metakit.errors import DataError
from metakit.review import audit
from metakit.review import screening as scr
from metakit.review.database import Database, now
from metakit.web.tables import highlight_terms, screening_notes, web_requests

__all__ = ["decide", "highlighter", "note_for", "resolve", "save_note", "set_terms", "terms", "undo"]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _takes(fn: Any, name: str) -> bool:
    return name in inspect.signature(fn).parameters


def decide(project: Any, db: Database, record_id: int, stage: str, reviewer: str, decision: str,
           reason: str | None, request_id: str | None) -> tuple[int, bool]:
    """Record a reviewer's decision once per ``request_id``; return (decision id, new?)."""
    if request_id is not None and not _REQUEST_ID.match(request_id):
        raise DataError(f"request_id must be 8-64 letters, digits, '-' or '_'; got {request_id!r}",
                        study=record_id, column="request_id")
    kwargs: dict[str, Any] = {}
    if _takes(scr.record_decision, "actor"):
        kwargs["actor"] = reviewer
    if request_id is not None and _takes(scr.record_decision, "request_id"):
        # the store's unique request_id column makes the retry return the first decision
        did = scr.record_decision(project, record_id, stage, reviewer, decision, reason,
                                  request_id=request_id, **kwargs)
        new = True
    else:
        if request_id is not None:
            with db.read() as conn:
                seen = conn.execute(sa.select(web_requests.c.decision_id).where(
                    web_requests.c.request_id == request_id)).scalar_one_or_none()
            if seen is not None:
                return int(seen), False
        did = scr.record_decision(project, record_id, stage, reviewer, decision, reason, **kwargs)
        new = True
        with db.write() as conn:
            if request_id is not None:
                conn.execute(sa.insert(web_requests).values(request_id=request_id, decision_id=did, at=now()))
    if new and "actor" not in kwargs:
        with db.write() as conn:
            audit.record(conn, reviewer, "screening.decide", f"record:{record_id}",
                         {"stage": stage, "decision": decision, "reason": reason, "decision_id": did,
                          "request_id": request_id})
    return int(did), new


def undo(project: Any, db: Database, stage: str, reviewer: str) -> int | None:
    """Undo the reviewer's latest decision at the stage; return its record id."""
    back = scr.undo_last(project, stage, reviewer)
    if back is not None:
        with db.write() as conn:
            audit.record(conn, reviewer, "screening.undo", f"record:{back}", {"stage": stage})
    return back


def resolve(project: Any, db: Database, record_id: int, stage: str, decision: str, reason: str | None,
            actor: str) -> int:
    """Settle a conflict (an adjudication written under the adjudicator's name)."""
    did = scr.resolve(project, record_id, stage, decision, reason, reviewer=actor)
    with db.write() as conn:
        audit.record(conn, actor, "screening.resolve", f"record:{record_id}",
                     {"stage": stage, "decision": decision, "reason": reason, "decision_id": did})
    return int(did)


def save_note(db: Database, record_id: int, stage: str, reviewer: str, note: str) -> None:
    """Keep the reviewer's private note on a record (the latest note is the one shown)."""
    note = note.strip()
    if len(note) > 4000:
        raise DataError("a note has at most 4000 characters", study=record_id, column="note")
    with db.write() as conn:
        conn.execute(sa.insert(screening_notes).values(
            record_id=record_id, stage=stage, reviewer=reviewer, note=note, at=now()))
        audit.record(conn, reviewer, "screening.note", f"record:{record_id}", {"stage": stage, "note": note})


def note_for(db: Database, record_id: int, stage: str, reviewer: str) -> str:
    """The reviewer's latest note on the record ('' when none)."""
    with db.read() as conn:
        row = conn.execute(sa.select(screening_notes.c.note).where(
            (screening_notes.c.record_id == record_id) & (screening_notes.c.stage == stage)
            & (screening_notes.c.reviewer == reviewer)).order_by(screening_notes.c.id.desc()).limit(1)).first()
    return "" if row is None else row.note


def terms(db: Database) -> dict[str, list[str]]:
    """The review's highlighted terms: ``{"include": [...], "exclude": [...]}``."""
    out: dict[str, list[str]] = {"include": [], "exclude": []}
    with db.read() as conn:
        for row in conn.execute(sa.select(highlight_terms).order_by(highlight_terms.c.position)):
            out[row.kind].append(row.term)
    return out


def set_terms(db: Database, include: list[str], exclude: list[str], *, actor: str) -> None:
    """Replace the review's highlighted terms."""
    clean = {k: [t.strip() for t in v if t.strip()] for k, v in (("include", include), ("exclude", exclude))}
    both = set(map(str.lower, clean["include"])) & set(map(str.lower, clean["exclude"]))
    if both:
        raise DataError(f"terms cannot be both include and exclude terms: {sorted(both)}", column="terms")
    with db.write() as conn:
        conn.execute(sa.delete(highlight_terms))
        position = 0
        seen: set[str] = set()
        for kind, words in clean.items():
            for w in words:
                if w.lower() in seen:
                    continue
                seen.add(w.lower())
                conn.execute(sa.insert(highlight_terms).values(term=w, kind=kind, position=position))
                position += 1
        audit.record(conn, actor, "screening.terms", None, clean)


def highlighter(words: dict[str, list[str]]) -> Any:
    """A function marking the terms in (already escaped) text with ``<mark>``.

    Returns markup-safe HTML: the text is escaped first, then the terms (whole words,
    case-insensitive, a space in a term matching any run of spaces or hyphens) wrapped in
    ``<mark class="inc">`` or ``<mark class="exc">``.

    Examples
    --------
    >>> f = highlighter({"include": ["femoral head"], "exclude": ["rat"]})
    >>> str(f("Femoral-head necrosis in <rat> models"))
    '<mark class="inc">Femoral-head</mark> necrosis in &lt;<mark class="exc">rat</mark>&gt; models'
    """
    from markupsafe import Markup, escape

    kind_of = {t.lower(): k for k, ts in words.items() for t in ts}
    if not kind_of:
        return lambda text: escape(text or "")
    alternatives = "|".join(re.escape(str(escape(t))).replace(r"\ ", r"[\s-]+")
                            for t in sorted(kind_of, key=len, reverse=True))
    pattern = re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)
    norm = {re.sub(r"[\s-]+", " ", t): k for t, k in kind_of.items()}

    def mark(text: Any) -> Markup:
        safe = str(escape(text or ""))

        def one(m: re.Match[str]) -> str:
            kind = norm.get(re.sub(r"[\s-]+", " ", m.group(0).lower()), "include")
            return f'<mark class="{"inc" if kind == "include" else "exc"}">{m.group(0)}</mark>'

        return Markup(pattern.sub(one, safe))

    return mark
