"""The audit trail: who did what to the review, and when, one row per decision.

Every function that writes a decision (screening, extraction, risk of bias, the web app's
account changes) calls :func:`record` inside its own write transaction, so the decision and
its audit row commit together or not at all.

Table (migration 200): ``audit(id, at, actor, action, target, detail)``; ``detail`` is a JSON
object of whatever the action needs to be read back (the values written, the request id).

Example
-------
>>> from metakit.review.database import open_database
>>> db = open_database("sqlite://")
>>> with db.write() as conn:
...     record(conn, "ana", "extraction.enter", "study:Mao 2015", {"fields": 4})
>>> trail(db)[["actor", "action", "target"]].values.tolist()
[['ana', 'extraction.enter', 'study:Mao 2015']]
>>> db.dispose()
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metakit.errors import DataError
from metakit.review.database import Database, metadata, now, register_migration

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AUDIT_VERSION", "audit_table", "record", "trail"]

AUDIT_VERSION = 200

audit_table = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
    sa.Index("audit_target", "target"),
    sa.Index("audit_actor", "actor"),
)


def _create(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[audit_table])


register_migration(AUDIT_VERSION, _create)


def record(conn: sa.Connection, actor: str, action: str, target: str,
           detail: Mapping[str, Any] | None = None) -> None:
    """Write one audit row inside the caller's (write) transaction.

    Parameters
    ----------
    conn
        The connection of the caller's :meth:`Database.write` block.
    actor
        Who acted (a reviewer's name, the account's username).
    action
        What was done, dotted: ``"extraction.enter"``, ``"rob.reconcile"``.
    target
        What it was done to: ``"study:Mao 2015"``.
    detail
        JSON-ready values of the decision.
    """
    if not str(actor or "").strip():
        raise DataError("every decision names who made it: the actor is empty", column="actor")
    conn.execute(sa.insert(audit_table).values(
        at=now(), actor=str(actor).strip(), action=action, target=target,
        detail=json.dumps(dict(detail or {}), sort_keys=True, default=str)))


def trail(db: Database, *, actor: str | None = None, action: str | None = None,
          target: str | None = None) -> pd.DataFrame:
    """The audit rows, oldest first, optionally only one actor's, action's (prefix) or target's.

    ``action`` matches a prefix ("extraction." gives every extraction action). ``detail`` is
    parsed back to a dict.
    """
    import pandas as pd

    query = sa.select(audit_table).order_by(audit_table.c.id)
    if actor is not None:
        query = query.where(audit_table.c.actor == actor)
    if action is not None:
        query = query.where(audit_table.c.action.startswith(action, autoescape=True))
    if target is not None:
        query = query.where(audit_table.c.target == target)
    with db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return pd.DataFrame(rows, columns=[c.name for c in audit_table.columns])
