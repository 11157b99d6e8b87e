"""Server-side login sessions, one per browser login, kept in the review store.

The cookie carries a random session id (256 bits); the store keeps only its SHA-256, so
a copy of the store does not hold working sessions. Each session has its own CSRF token
(:mod:`metakit.web.csrf`). A session belongs to one store, so a cookie from one
project's login is meaningless to another project's store.

Example
-------
>>> from metakit.review.database import open_database
>>> from metakit.web import accounts
>>> db = open_database("sqlite://")
>>> m = accounts.accept(db, accounts.invite(db, "viewer", actor="cli").token, "vic", "a long passphrase")
>>> sid, _ = start(db, m)
>>> current(db, sid).username
'vic'
>>> end(db, sid, actor="vic"); current(db, sid) is None
True
>>> db.dispose()
"""

from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from metakit.review import audit
from metakit.review.database import Database, now
from metakit.web.accounts import Member, _member, _member_query, hash_token
from metakit.web.tables import users, web_sessions

__all__ = ["LIFETIME_HOURS", "Session", "current", "end", "start"]

#: A login lasts a working day and a half, then the reviewer logs in again.
LIFETIME_HOURS = 36


@dataclass(frozen=True)
class Session:
    """The member behind a session cookie and the session's CSRF token."""

    member: Member
    csrf: str

    @property
    def username(self) -> str:
        """The member's username."""
        return self.member.username


def start(db: Database, member: Member) -> tuple[str, str]:
    """Open a session for ``member``; return (session id for the cookie, CSRF token)."""
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = (_dt.datetime.now(_dt.UTC) + _dt.timedelta(hours=LIFETIME_HOURS)).isoformat(timespec="seconds")
    with db.write() as conn:
        conn.execute(sa.delete(web_sessions).where(web_sessions.c.expires_at <= now()))
        conn.execute(sa.insert(web_sessions).values(
            id_hash=hash_token(sid), user_id=member.id, csrf=csrf, created_at=now(), expires_at=expires))
        audit.record(conn, member.username, "session.login", f"user:{member.username}", {})
    return sid, csrf


def current(db: Database, sid: str | None) -> Session | None:
    """The live session with this id (of an active member), or None."""
    if not sid:
        return None
    with db.read() as conn:
        row = conn.execute(_member_query().add_columns(web_sessions.c.csrf).join(
            web_sessions, web_sessions.c.user_id == users.c.id).where(
            (web_sessions.c.id_hash == hash_token(sid)) & (web_sessions.c.expires_at > now()))).first()
    return None if row is None else Session(_member(row), row.csrf)


def end(db: Database, sid: str, *, actor: str) -> None:
    """Log out: delete the session."""
    with db.write() as conn:
        conn.execute(sa.delete(web_sessions).where(web_sessions.c.id_hash == hash_token(sid)))
        audit.record(conn, actor, "session.logout", f"user:{actor}", {})
