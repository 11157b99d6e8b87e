"""Accounts, invitations, sessions, the login rate limit and the audit trail, on SQLite and
PostgreSQL (the data layer only: no web server)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from web_helpers import PASSWORD

import metakit.review.audit  # noqa: F401
import metakit.web.tables  # noqa: F401
from metakit.errors import DataError
from metakit.review.audit import trail
from metakit.review.database import open_database
from metakit.web import accounts, ratelimit, sessions
from metakit.web.tables import invitations, login_failures, web_sessions


@pytest.fixture
def db(database_url):
    d = open_database(database_url)
    yield d
    d.dispose()


def test_invitation_makes_an_account_with_its_role(db):
    inv = accounts.invite(db, "reviewer", actor="owner1", adjudicator=True)
    m = accounts.accept(db, inv.token, "rev1", PASSWORD)
    assert (m.role, m.adjudicator, m.can_write, m.can_settle) == ("reviewer", True, True, True)
    assert accounts.authenticate(db, "rev1", PASSWORD).id == m.id
    assert [x.username for x in accounts.members(db)] == ["rev1"]


def test_wrong_password_and_unknown_name_get_one_message(db):
    accounts.accept(db, accounts.invite(db, "viewer", actor="o").token, "vic", PASSWORD)
    with pytest.raises(accounts.AccessError) as wrong:
        accounts.authenticate(db, "vic", PASSWORD + "x")
    with pytest.raises(accounts.AccessError) as unknown:
        accounts.authenticate(db, "nobody", PASSWORD)
    assert str(wrong.value) == str(unknown.value) == "wrong username or password"


def test_invitation_works_once(db):
    inv = accounts.invite(db, "reviewer", actor="o")
    accounts.accept(db, inv.token, "first", PASSWORD)
    with pytest.raises(accounts.AccessError, match="used already"):
        accounts.accept(db, inv.token, "second", PASSWORD)
    assert [m.username for m in accounts.members(db)] == ["first"]


def test_expired_invitation_is_refused(db):
    inv = accounts.invite(db, "reviewer", actor="o", days=1)
    with db.write() as conn:
        conn.execute(sa.update(invitations).values(expires_at="2000-01-01T00:00:00+00:00"))
    with pytest.raises(accounts.AccessError, match="expired"):
        accounts.accept(db, inv.token, "late", PASSWORD)
    with pytest.raises(accounts.AccessError, match="not known"):
        accounts.accept(db, inv.token[:-1] + "A" if inv.token[-1] != "A" else inv.token[:-1] + "B", "x1", PASSWORD)


def test_tokens_and_session_ids_are_stored_hashed(db):
    inv = accounts.invite(db, "owner", actor="o")
    m = accounts.accept(db, inv.token, "own", PASSWORD)
    sid, csrf = sessions.start(db, m)
    with db.read() as conn:
        stored = [str(v) for row in conn.execute(sa.select(invitations)).all() for v in row]
        stored += [str(v) for row in conn.execute(sa.select(web_sessions)).all() for v in row]
    assert inv.token not in stored and sid not in stored
    assert accounts.hash_token(sid) in stored  # SHA-256 hex of the id, as hashlib computes it
    with db.read() as conn:
        pw = conn.execute(sa.text("SELECT password_hash FROM users")).scalar_one()
    assert pw.startswith("$argon2id$") and PASSWORD not in pw


def test_bad_username_and_short_password_are_refused(db):
    inv = accounts.invite(db, "reviewer", actor="o")
    with pytest.raises(DataError, match="username"):
        accounts.accept(db, inv.token, "a b", PASSWORD)
    with pytest.raises(DataError, match="at least 10"):
        accounts.accept(db, inv.token, "abc", "short")
    # refused attempts did not spend the link
    assert accounts.accept(db, inv.token, "abc", PASSWORD).username == "abc"


def test_sessions_expire_and_end(db):
    m = accounts.accept(db, accounts.invite(db, "viewer", actor="o").token, "vic", PASSWORD)
    sid, csrf = sessions.start(db, m)
    s = sessions.current(db, sid)
    assert (s.username, s.csrf) == ("vic", csrf)
    assert sessions.current(db, sid + "x") is None and sessions.current(db, None) is None
    with db.write() as conn:
        conn.execute(sa.update(web_sessions).values(expires_at="2000-01-01T00:00:00+00:00"))
    assert sessions.current(db, sid) is None
    sid2, _ = sessions.start(db, m)
    sessions.end(db, sid2, actor="vic")
    assert sessions.current(db, sid2) is None


def test_removed_member_cannot_log_in_and_last_owner_stays(db):
    own = accounts.accept(db, accounts.invite(db, "owner", actor="o").token, "own", PASSWORD)
    rev = accounts.accept(db, accounts.invite(db, "reviewer", actor="own").token, "rev", PASSWORD)
    sid, _ = sessions.start(db, rev)
    accounts.remove(db, "rev", actor="own")
    assert sessions.current(db, sid) is None
    with pytest.raises(accounts.AccessError):
        accounts.authenticate(db, "rev", PASSWORD)
    with pytest.raises(accounts.AccessError, match="only owner"):
        accounts.remove(db, "own", actor="own")
    assert accounts.find_member(db, own.id).role == "owner"


def test_rate_limit_counts_per_account_and_address_and_survives_restart(database_url):
    db = open_database(database_url)
    for _ in range(ratelimit.MAX_FAILURES - 1):
        ratelimit.fail(db, "ann", "10.0.0.1")
    assert not ratelimit.blocked(db, "ann", "10.0.0.1")
    ratelimit.fail(db, "ann", "10.0.0.1")
    db.dispose()
    db = open_database(database_url)  # a restarted server
    assert ratelimit.blocked(db, "ann", "10.0.0.1")
    assert not ratelimit.blocked(db, "ann", "10.0.0.2") and not ratelimit.blocked(db, "bob", "10.0.0.1")
    with db.write() as conn:  # failures older than the window do not count
        conn.execute(sa.update(login_failures).values(at="2000-01-01T00:00:00+00:00"))
    assert not ratelimit.blocked(db, "ann", "10.0.0.1")
    db.dispose()


def test_writes_are_in_the_audit_trail(db):
    inv = accounts.invite(db, "owner", actor="cli")
    m = accounts.accept(db, inv.token, "own", PASSWORD)
    sid, _ = sessions.start(db, m)
    ratelimit.fail(db, "own", "1.2.3.4")
    sessions.end(db, sid, actor="own")
    t = trail(db)
    assert t[["actor", "action"]].values.tolist() == [
        ["cli", "team.invite"], ["own", "team.join"], ["own", "session.login"],
        ["anonymous@1.2.3.4", "session.login-failed"], ["own", "session.logout"]]


def test_team_cli_invite_list_remove(database_url, tmp_path):
    from typer.testing import CliRunner

    from metakit.cli import app

    target = database_url
    if "://" not in target:
        open_database(target).dispose()
    run = CliRunner().invoke
    r = run(app, ["team", "invite", "--role", "owner", "-p", target, "--url", "http://example.org:9000"])
    assert r.exit_code == 0, r.output
    link = r.output.strip().splitlines()[-1]
    assert link.startswith("http://example.org:9000/p/")
    db = open_database(target)
    accounts.accept(db, link.rsplit("/", 1)[1], "own", PASSWORD)
    accounts.accept(db, accounts.invite(db, "reviewer", actor="own", adjudicator=True).token, "rev", PASSWORD)
    r = run(app, ["team", "list", "-p", target])
    assert r.output.splitlines() == ["own\towner", "rev\treviewer\tadjudicator"]
    r = run(app, ["team", "remove", "rev", "-p", target])
    assert r.exit_code == 0 and [m.username for m in accounts.members(db)] == ["own"]
    r = run(app, ["team", "remove", "own", "-p", target])
    assert r.exit_code == 1 and "only owner" in r.output
    db.dispose()
