"""Accounts of a review's team: invitations, passwords, roles.

Nobody signs up: the owner invites (a one-time link, valid for a few days, whose token
the store keeps only as a SHA-256), the invited person picks a username and password,
and the account joins the review with the role written in the invitation. The first
owner of a store is invited the same way, from the terminal (``metakit serve`` prints
the link when the store has no owner; ``metakit team invite`` makes one at any time).

Passwords are hashed with argon2id (RFC 9106) through argon2-cffi; the encoded hash
carries its salt and parameters, and a hash made with older parameters is upgraded at
the next login.

Example
-------
>>> from metakit.review.database import open_database
>>> db = open_database("sqlite://")
>>> link = invite(db, "owner", actor="cli")
>>> member = accept(db, link.token, "ann", "correct horse battery")
>>> member.role, authenticate(db, "ann", "correct horse battery").username
('owner', 'ann')
>>> db.dispose()
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from metakit.errors import DataError, MetakitError
from metakit.review import audit
from metakit.review.database import Database, now
from metakit.web.tables import ROLES, invitations, memberships, users

__all__ = ["ROLES", "AccessError", "Invitation", "Member", "accept", "authenticate", "find_member", "invitation_terms",
           "has_owner", "invite", "members", "remove", "hash_token", "set_hasher"]

#: Minimum password length (NIST SP 800-63B asks for at least 8).
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$")
_hasher: Any = None


class AccessError(MetakitError):
    """A login, invitation or permission is refused."""


def set_hasher(hasher: Any) -> None:
    """Use this argon2 ``PasswordHasher`` (tests pass cheap parameters)."""
    global _hasher
    _hasher = hasher


def _ph() -> Any:
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def hash_token(token: str) -> str:
    """SHA-256 of a secret token, as the store keeps it."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Member:
    """An account and its role in the review."""

    id: int
    username: str
    role: str
    adjudicator: bool

    @property
    def can_write(self) -> bool:
        """Owners and reviewers write; viewers only read."""
        return self.role in ("owner", "reviewer")

    @property
    def can_settle(self) -> bool:
        """Owners and adjudicators settle conflicts."""
        return self.role == "owner" or (self.role == "reviewer" and self.adjudicator)

    def to_dict(self) -> dict[str, Any]:
        """The member as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class Invitation:
    """A one-time link's token (shown once, never stored) and its terms."""

    token: str
    role: str
    adjudicator: bool
    expires_at: str

    def link(self, base_url: str) -> str:
        """The link to hand out, e.g. ``http://127.0.0.1:8000/p/onfh``."""
        return f"{base_url.rstrip('/')}/invite/{self.token}"


def _member_query() -> sa.Select:
    return (sa.select(users.c.id, users.c.username, memberships.c.role, memberships.c.adjudicator)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(users.c.disabled == 0))


def _member(row: Any) -> Member:
    return Member(int(row.id), row.username, row.role, bool(row.adjudicator))


def invite(db: Database, role: str, *, actor: str, adjudicator: bool = False,
           days: float = 7.0) -> Invitation:
    """Create a one-time invitation to join the review with ``role``.

    Parameters
    ----------
    db
        The review database.
    role
        ``owner``, ``reviewer`` or ``viewer``.
    actor
        Who invites (for the audit trail).
    adjudicator
        A reviewer who may settle screening conflicts.
    days
        How long the link stays valid.
    """
    if role not in ROLES:
        raise DataError(f"role must be one of {ROLES}, got {role!r}", column="role")
    if days <= 0:
        raise DataError(f"an invitation must be valid for some time, got {days} days", column="days")
    token = secrets.token_urlsafe(32)
    expires = (_dt.datetime.now(_dt.UTC) + _dt.timedelta(days=days)).isoformat(timespec="seconds")
    adj = bool(adjudicator and role == "reviewer")
    with db.write() as conn:
        conn.execute(sa.insert(invitations).values(
            token_hash=hash_token(token), role=role, adjudicator=int(adj), created_by=actor,
            created_at=now(), expires_at=expires))
        audit.record(conn, actor, "team.invite", f"role:{role}", {"adjudicator": adj, "expires_at": expires})
    return Invitation(token, role, adj, expires)


def invitation_terms(db: Database, token: str) -> Invitation:
    """The terms of a valid invitation; AccessError when unknown, used or expired."""
    with db.read() as conn:
        row = conn.execute(sa.select(invitations).where(
            invitations.c.token_hash == hash_token(token))).first()
    return _valid(row, token)


def _valid(row: Any, token: str) -> Invitation:
    if row is None:
        raise AccessError("this invitation link is not known to the review")
    if row.used_at is not None:
        raise AccessError("this invitation link was used already (links work once)")
    if row.expires_at <= now():
        raise AccessError(f"this invitation link expired at {row.expires_at}")
    return Invitation(token, row.role, bool(row.adjudicator), row.expires_at)


def accept(db: Database, token: str, username: str, password: str) -> Member:
    """Use an invitation: create the account and its membership, spend the link.

    One transaction: the link is marked used only if the account is made, and a link
    accepted twice at once makes one account (the second sees ``used_at``).
    """
    if not _USERNAME.match(username or ""):
        raise DataError("a username has 2-40 letters, digits, '.', '_' or '-', starting with a "
                        f"letter or digit; got {username!r}", column="username")
    if len(password or "") < MIN_PASSWORD:
        raise DataError(f"a password has at least {MIN_PASSWORD} characters", column="password")
    hashed = _ph().hash(password)
    with db.write() as conn:
        row = conn.execute(sa.select(invitations).where(
            invitations.c.token_hash == hash_token(token))).first()
        terms = _valid(row, token)
        spent = conn.execute(sa.update(invitations).where(
            (invitations.c.id == row.id) & invitations.c.used_at.is_(None)).values(
            used_at=now(), used_by=username))
        if spent.rowcount != 1:
            raise AccessError("this invitation link was used already (links work once)")
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is not None:
            raise DataError(f"the username {username!r} is taken in this review", column="username")
        uid = conn.execute(sa.insert(users).values(
            username=username, password_hash=hashed, created_at=now()).returning(users.c.id)).scalar_one()
        conn.execute(sa.insert(memberships).values(
            user_id=uid, role=terms.role, adjudicator=int(terms.adjudicator), added_at=now(),
            added_by=row.created_by))
        audit.record(conn, username, "team.join", f"user:{username}",
                     {"role": terms.role, "adjudicator": terms.adjudicator, "invitation": row.id})
    return Member(int(uid), username, terms.role, terms.adjudicator)


def authenticate(db: Database, username: str, password: str) -> Member:
    """The member whose password this is; AccessError otherwise (one message for both
    an unknown name and a wrong password, so names cannot be probed)."""
    from argon2.exceptions import InvalidHashError, VerifyMismatchError

    with db.read() as conn:
        row = conn.execute(_member_query().add_columns(users.c.password_hash)
                           .where(users.c.username == username)).first()
    refused = AccessError("wrong username or password")
    if row is None:
        # hash anyway so that an unknown name takes as long as a wrong password
        _ph().hash(password or "-")
        raise refused
    try:
        _ph().verify(row.password_hash, password or "")
    except (VerifyMismatchError, InvalidHashError):
        raise refused from None
    if _ph().check_needs_rehash(row.password_hash):
        with db.write() as conn:
            conn.execute(sa.update(users).where(users.c.id == row.id).values(password_hash=_ph().hash(password)))
    return _member(row)


def find_member(db: Database, user_id: int) -> Member | None:
    """The active member with this account id, or None."""
    with db.read() as conn:
        row = conn.execute(_member_query().where(users.c.id == user_id)).first()
    return None if row is None else _member(row)


def members(db: Database) -> list[Member]:
    """Every active member, owners first, then by username."""
    order = sa.case({"owner": 0, "reviewer": 1, "viewer": 2}, value=memberships.c.role)
    with db.read() as conn:
        rows = conn.execute(_member_query().order_by(order, users.c.username)).all()
    return [_member(r) for r in rows]


def has_owner(db: Database) -> bool:
    """Whether the review has an active owner."""
    return any(m.role == "owner" for m in members(db))


def remove(db: Database, username: str, *, actor: str) -> None:
    """Disable an account (its decisions stay, under its name); its sessions end.

    The last owner cannot be removed: a review always has someone who can invite.
    """
    from metakit.web.tables import web_sessions

    with db.write() as conn:
        row = conn.execute(_member_query().where(users.c.username == username)).first()
        if row is None:
            raise DataError(f"no active member named {username!r} in this review", column="username")
        if row.role == "owner":
            owners = conn.execute(sa.select(sa.func.count()).select_from(_member_query().where(
                memberships.c.role == "owner").subquery())).scalar_one()
            if owners <= 1:
                raise AccessError(f"{username} is the review's only owner; invite another owner first")
        conn.execute(sa.update(users).where(users.c.id == row.id).values(disabled=1))
        conn.execute(sa.delete(web_sessions).where(web_sessions.c.user_id == row.id))
        audit.record(conn, actor, "team.remove", f"user:{username}", {"role": row.role})
