"""The web app's tables in the review store (migrations 300-399).

A review store carries its own team, so that a review file moved to another machine
keeps it: the accounts, their role in the review, invitations, login sessions and
failed logins live in the store beside the records and decisions.

``users(id, username, password_hash, created_at, disabled)``
    One row per account; ``password_hash`` is an argon2id hash (argon2-cffi's
    encoded form, which carries its own salt and parameters).
``memberships(user_id, role, adjudicator, added_at, added_by)``
    The account's role in this review: ``owner``, ``reviewer`` or ``viewer``;
    ``adjudicator`` (0/1) lets a reviewer settle screening conflicts.
``invitations(id, token_hash, role, adjudicator, created_by, created_at, expires_at,
used_at, used_by)``
    One-time links. Only the SHA-256 of the token is stored, so reading the store does
    not give a working link; ``used_at`` makes it single use.
``web_sessions(id_hash, user_id, csrf, created_at, expires_at)``
    Server-side login sessions; the cookie carries the session id, the store its
    SHA-256. ``csrf`` is the session's form token.
``login_failures(id, username, ip, at)``
    Failed logins, kept so that the rate limit survives a restart.
``screening_notes(id, record_id, stage, reviewer, note, at)``
    A reviewer's private note on a record (blind like the decisions).
``highlight_terms(term, kind, position)``
    The review's include/exclude keywords, highlighted on the screening page.
``web_requests(request_id, decision_id, at)``
    Request ids of decision forms already recorded, for stores whose
    ``record_decision`` does not take ``request_id`` itself.
"""

from __future__ import annotations

import sqlalchemy as sa

from metakit.review.database import metadata, register_migration

__all__ = ["users", "memberships", "invitations", "web_sessions", "login_failures",
           "screening_notes", "highlight_terms", "web_requests", "ROLES"]

ROLES = ("owner", "reviewer", "viewer")

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("disabled", sa.Integer, nullable=False, server_default="0"),
)
memberships = sa.Table(
    "memberships", metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True, autoincrement=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("adjudicator", sa.Integer, nullable=False, server_default="0"),
    sa.Column("added_at", sa.Text, nullable=False),
    sa.Column("added_by", sa.Text),
    sa.CheckConstraint("role IN ('owner', 'reviewer', 'viewer')", name="membership_role"),
)
invitations = sa.Table(
    "invitations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("adjudicator", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Text, nullable=False),
    sa.Column("used_at", sa.Text),
    sa.Column("used_by", sa.Text),
    sa.CheckConstraint("role IN ('owner', 'reviewer', 'viewer')", name="invitation_role"),
)
web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("id_hash", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("csrf", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Text, nullable=False),
)
login_failures = sa.Table(
    "login_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("ip", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Index("login_failures_key", "username", "ip", "at"),
)
screening_notes = sa.Table(
    "screening_notes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Index("screening_notes_key", "stage", "reviewer", "record_id"),
)
highlight_terms = sa.Table(
    "highlight_terms", metadata,
    sa.Column("term", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.CheckConstraint("kind IN ('include', 'exclude')", name="highlight_kind"),
)
web_requests = sa.Table(
    "web_requests", metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("decision_id", sa.Integer, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
)


def _migrate_300(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[users, memberships, invitations, web_sessions, login_failures])


def _migrate_301(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[screening_notes, highlight_terms, web_requests])


register_migration(300, _migrate_300)
register_migration(301, _migrate_301)
