"""Login rate limit: at most :data:`MAX_FAILURES` failed logins per account and address
in :data:`WINDOW_MINUTES` minutes.

Failures are rows of ``login_failures`` in the store, so a restart of the server does not
reset the count (OWASP's authentication cheat sheet: throttle per account, and keep the
state server-side). A successful login clears the account's failures from that address.

Example
-------
>>> from metakit.review.database import open_database
>>> db = open_database("sqlite://")
>>> for _ in range(MAX_FAILURES):
...     fail(db, "ann", "127.0.0.1")
>>> blocked(db, "ann", "127.0.0.1"), blocked(db, "ann", "10.0.0.2")
(True, False)
>>> db.dispose()
"""

from __future__ import annotations

import datetime as _dt

import sqlalchemy as sa

from metakit.review import audit
from metakit.review.database import Database, now
from metakit.web.tables import login_failures

__all__ = ["MAX_FAILURES", "WINDOW_MINUTES", "blocked", "clear", "fail"]

MAX_FAILURES = 5
WINDOW_MINUTES = 15


def _since() -> str:
    return (_dt.datetime.now(_dt.UTC) - _dt.timedelta(minutes=WINDOW_MINUTES)).isoformat(timespec="seconds")


def blocked(db: Database, username: str, ip: str) -> bool:
    """Whether logins for this account from this address are refused for now."""
    with db.read() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(login_failures).where(
            (login_failures.c.username == username) & (login_failures.c.ip == ip)
            & (login_failures.c.at > _since()))).scalar_one()
    return n >= MAX_FAILURES


def fail(db: Database, username: str, ip: str) -> None:
    """Count one failed login (and put it in the audit trail)."""
    with db.write() as conn:
        conn.execute(sa.insert(login_failures).values(username=username, ip=ip, at=now()))
        audit.record(conn, f"anonymous@{ip}", "session.login-failed", f"user:{username}", {})


def clear(db: Database, username: str, ip: str) -> None:
    """Forget the account's failures from this address (after a successful login)."""
    with db.write() as conn:
        conn.execute(sa.delete(login_failures).where(
            (login_failures.c.username == username) & (login_failures.c.ip == ip)))
