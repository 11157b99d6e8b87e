"""The audit trail of a review store: who wrote what, when (migration 200).

Every function that writes a decision (screening, deduplication overrides, extraction,
risk of bias) calls :func:`record` inside its own write transaction, so the trail row
commits with the decision or not at all. Rows are only ever added.

Table ``audit(id, at, actor, action, target, detail)``
    ``at`` is the UTC time (ISO 8601); ``actor`` the reviewer's name (the web app's
    username), or ``cli:<login>`` for a command-line action that names no reviewer
    (:func:`local_actor`); ``action`` a dotted verb such as ``screening.decide``;
    ``target`` what it acted on (``record:12``); ``detail`` a JSON object.

Example
-------
>>> from metakit.review.database import open_database
>>> db = open_database("sqlite://")
>>> with db.write() as conn:
...     record(conn, "ann", "screening.decide", "record:1", {"decision": "include"})
>>> trail(db)[["actor", "action", "target"]].values.tolist()
[['ann', 'screening.decide', 'record:1']]
>>> db.dispose()
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metakit.review.database import Database, metadata, now, register_migration

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["audit", "local_actor", "record", "record_many", "trail"]

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
    sa.Index("audit_target", "target"),
    sa.Index("audit_actor", "actor", "at"),
)


def _migration_200(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[audit])


register_migration(200, _migration_200)


def local_actor() -> str:
    """``cli:<login>``: the actor of a command-line action that names no reviewer."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        user = "unknown"
    return f"cli:{user}"


def _row(actor: str | None, action: str, target: str | None,
         detail: Mapping[str, Any] | None, at: str) -> dict[str, Any]:
    return {"at": at, "actor": actor or local_actor(), "action": action, "target": target,
            "detail": json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True,
                                 default=str)}


def record(conn: sa.Connection, actor: str | None, action: str, target: str | None,
           detail: Mapping[str, Any] | None = None) -> None:
    """Add one row to the trail, inside the caller's write transaction.

    Parameters
    ----------
    conn
        The connection of the caller's :meth:`~metakit.review.database.Database.write`.
    actor
        Who acted; None for :func:`local_actor`.
    action
        What was done, e.g. ``"screening.decide"``.
    target
        What it was done to, e.g. ``"record:12"``.
    detail
        Anything else worth keeping (stored as JSON).
    """
    conn.execute(sa.insert(audit), [_row(actor, action, target, detail, now())])


def record_many(conn: sa.Connection, actor: str | None, action: str,
                entries: Iterable[tuple[str | None, Mapping[str, Any] | None]]) -> None:
    """Add one row per ``(target, detail)`` with the same actor and action (one statement)."""
    at = now()
    rows = [_row(actor, action, target, detail, at) for target, detail in entries]
    if rows:
        conn.execute(sa.insert(audit), rows)


def trail(db: Database, *, actor: str | None = None, action: str | None = None,
          target: str | None = None, since: str | None = None) -> pd.DataFrame:
    """The trail, oldest first, as a frame indexed by ``id`` (``detail`` decoded).

    Parameters
    ----------
    db
        The review store's database (``project.db``).
    actor, action, target
        Keep only rows with this actor, action (or action prefix ending in ``.``, e.g.
        ``"screening."``) or target.
    since
        Keep only rows at or after this ISO time (``"2026-01-31"``).
    """
    import pandas as pd

    query = sa.select(audit).order_by(audit.c.id)
    if actor is not None:
        query = query.where(audit.c.actor == actor)
    if action is not None:
        query = query.where(audit.c.action.startswith(action, autoescape=True)
                            if action.endswith(".") else audit.c.action == action)
    if target is not None:
        query = query.where(audit.c.target == target)
    if since is not None:
        query = query.where(audit.c.at >= since)
    with db.read() as conn:
        frame = pd.read_sql_query(query, conn, index_col="id")
    frame["detail"] = [json.loads(v) for v in frame["detail"]]
    return frame
