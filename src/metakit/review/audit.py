"""The audit trail of a review store: who wrote what, and when.

Every write that a person makes to a review (a screening decision, an adjudication, an
invitation, a login) adds one row to ``audit`` in the same transaction as the write, so
the trail and the work can never disagree: a write that rolls back leaves no row.

Table (migration 200, :mod:`metakit.review.database`)
------------------------------------------------------
``audit(id, at, actor, action, target, detail)``: ``at`` the UTC time (ISO 8601),
``actor`` the username (or ``cli:<user>``), ``action`` a short verb such as
``screening.decide``, ``target`` what it acted on (``record:12``), ``detail`` a JSON
object of the arguments.

Example
-------
>>> from metakit.review.database import open_database
>>> db = open_database("sqlite://")
>>> with db.write() as conn:
...     record(conn, "ann", "screening.decide", "record:1", {"decision": "include"})
>>> trail(db)[["actor", "action", "target"]].to_dict("records")
[{'actor': 'ann', 'action': 'screening.decide', 'target': 'record:1'}]
>>> db.dispose()
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metakit.review.database import Database, metadata, now, register_migration

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["audit_table", "record", "trail"]

audit_table = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text),
    sa.Column("detail", sa.Text),
    sa.Index("audit_at", "at"),
)


def _migrate_200(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[audit_table])


register_migration(200, _migrate_200)


def record(conn: sa.Connection, actor: str, action: str, target: str | None = None,
           detail: Mapping[str, Any] | None = None) -> None:
    """Add one row to the trail inside the caller's write transaction.

    Parameters
    ----------
    conn
        The connection of the open write (``with db.write() as conn``).
    actor, action, target
        Who, what verb, on what.
    detail
        Arguments of the write (JSON-encodable).
    """
    conn.execute(sa.insert(audit_table).values(
        at=now(), actor=actor, action=action, target=target,
        detail=json.dumps(dict(detail or {}), ensure_ascii=False, default=str)))


def trail(db: Database, *, actor: str | None = None, action: str | None = None,
          since: str | None = None) -> pd.DataFrame:
    """The trail as a frame, oldest first, optionally filtered.

    Parameters
    ----------
    db
        The review database.
    actor, action
        Keep only this actor's rows / this action's rows.
    since
        Keep rows at or after this ISO time.
    """
    import pandas as pd

    query = sa.select(audit_table).order_by(audit_table.c.id)
    if actor is not None:
        query = query.where(audit_table.c.actor == actor)
    if action is not None:
        query = query.where(audit_table.c.action == action)
    if since is not None:
        query = query.where(audit_table.c.at >= since)
    with db.read() as conn:
        rows = conn.execute(query).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in audit_table.columns])
