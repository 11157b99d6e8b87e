"""Access control of the web app: anonymous, viewer, reviewer, owner, CSRF, two projects,
blind screening, login rate limit, invitation links."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient
from web_helpers import PASSWORD, TITLES, csrf_of, make_store

from metakit.web import accounts, ratelimit

PAGES = ["/", "/screen/title-abstract", "/screen/full-text", "/conflicts/title-abstract", "/progress",
         "/prisma", "/prisma.svg", "/imports", "/dedup", "/exports", "/export/screening.csv",
         "/export/prisma.csv", "/export/pending.csv", "/team"]
ACTIONS = ["/screen/title-abstract/decide", "/screen/title-abstract/undo", "/conflicts/title-abstract/resolve",
           "/imports", "/dedup/run", "/dedup/settle", "/team/invite", "/team/remove", "/terms", "/logout"]


def test_anonymous_is_sent_to_login_or_refused(team):
    c = TestClient(team.app)
    for page in PAGES:
        r = c.get(f"/p/{team.slug}{page}", follow_redirects=False)
        assert r.status_code == 303, page
        assert r.headers["location"] == f"/p/{team.slug}/login?next=/p/{team.slug}{page}"
    for action in ACTIONS:
        r = c.post(f"/p/{team.slug}{action}", data={"record_id": 1, "decision": "include"})
        assert r.status_code == 401, action
    assert c.get("/p/nosuch/").status_code == 404


def test_login_cookie_is_httponly_samesite_and_scoped_to_the_project(team):
    accounts.accept(team.store.db, accounts.invite(team.store.db, "viewer", actor="t").token, "vic", PASSWORD)
    c = TestClient(team.app)
    page = c.get(f"/p/{team.slug}/login")
    r = c.post(f"/p/{team.slug}/login", data={"csrf_token": csrf_of(page.text), "username": "vic",
                                              "password": PASSWORD}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and f"Path=/p/{team.slug}" in cookie
    assert "Secure" not in cookie
    https = TestClient(team.app, base_url="https://testserver")
    page = https.get(f"/p/{team.slug}/login")
    r = https.post(f"/p/{team.slug}/login", data={"csrf_token": csrf_of(page.text), "username": "vic",
                                                  "password": PASSWORD}, follow_redirects=False)
    assert "Secure" in r.headers["set-cookie"]


def test_login_form_needs_its_csrf_token(team):
    accounts.accept(team.store.db, accounts.invite(team.store.db, "viewer", actor="t").token, "vic", PASSWORD)
    c = TestClient(team.app)
    c.get(f"/p/{team.slug}/login")
    for token in (None, "forged-token-value"):
        data = {"username": "vic", "password": PASSWORD}
        if token:
            data["csrf_token"] = token
        assert c.post(f"/p/{team.slug}/login", data=data).status_code == 403


def test_forms_without_or_with_a_forged_csrf_token_are_refused(team):
    team.join("rev", "reviewer")
    c = team.clients["rev"]
    page = team.screen("rev")
    rid = int(re.search(r'name="record_id" value="(\d+)"', page).group(1))
    url = f"/p/{team.slug}/screen/title-abstract/decide"
    assert c.post(url, data={"record_id": rid, "decision": "include"}).status_code == 403
    assert c.post(url, data={"record_id": rid, "decision": "include", "csrf_token": "x" * 43}).status_code == 403
    assert c.post(url, data={"record_id": rid, "decision": "include"},
                  headers={"X-CSRF-Token": "x" * 43}).status_code == 403
    # another member's valid token is not this session's
    team.join("rev2", "reviewer")
    other = csrf_of(team.screen("rev2"))
    assert c.post(url, data={"record_id": rid, "decision": "include", "csrf_token": other}).status_code == 403
    from metakit.review import screening as scr

    assert team.store.call(scr.decisions, "title-abstract").empty
    # the session's own token in the htmx header is accepted
    r = c.post(url, data={"record_id": rid, "decision": "include"},
               headers={"X-CSRF-Token": csrf_of(page), "HX-Request": "true"})
    assert r.status_code == 200 and len(team.store.call(scr.decisions, "title-abstract")) == 1


def test_viewer_reads_but_cannot_write(team):
    team.join("own", "owner")
    v = team.join("vic", "viewer")
    for page in ("/", "/progress", "/prisma", "/exports", "/export/prisma.csv"):
        assert v.get(f"/p/{team.slug}{page}").status_code in (200, 409), page
    for page in ("/screen/title-abstract", "/conflicts/title-abstract", "/team", "/imports",
                 "/export/screening.csv"):
        assert v.get(f"/p/{team.slug}{page}").status_code == 403, page
    token = csrf_of(v.get(f"/p/{team.slug}/").text)
    r = v.post(f"/p/{team.slug}/screen/title-abstract/decide",
               data={"csrf_token": token, "record_id": 1, "decision": "include", "request_id": "abcdefgh12"})
    assert r.status_code == 403
    from metakit.review import screening as scr

    assert team.store.call(scr.decisions, "title-abstract").empty


def test_reviewer_cannot_act_as_owner(team):
    team.join("own", "owner")
    r = team.join("rev", "reviewer")
    token = csrf_of(team.screen("rev"))
    for page in ("/team", "/imports", "/dedup", "/export/screening.csv", "/export/pending.csv",
                 "/conflicts/title-abstract"):
        assert r.get(f"/p/{team.slug}{page}").status_code == 403, page
    for action, data in (("/team/invite", {"role": "owner"}), ("/team/remove", {"username": "own"}),
                         ("/dedup/run", {}), ("/terms", {"include": "x"}),
                         ("/conflicts/title-abstract/resolve", {"record_id": 1, "decision": "include"})):
        assert r.post(f"/p/{team.slug}{action}", data={"csrf_token": token, **data}).status_code == 403, action
    assert [m.username for m in accounts.members(team.store.db)] == ["own", "rev"]


def test_reviewer_cannot_read_another_projects_records(tmp_path):
    from metakit.web.app import create_app

    a = make_store(str(tmp_path / "alpha.db"))
    b = make_store(str(tmp_path / "beta.db"), ["Secret beta record on hip fracture"])
    app = create_app([a, b])
    try:
        from web_helpers import Team

        ta, tb = Team(app, "alpha"), Team(app, "beta")
        c = ta.join("rev", "reviewer")
        tb.join("own", "owner")
        r = c.get("/p/beta/screen/title-abstract", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/p/beta/login")
        # the alpha session id presented as beta's cookie: beta's store does not know it
        sid = c.cookies.get("metakit_alpha")
        forged = TestClient(app, cookies={"metakit_beta": sid})
        r = forged.get("/p/beta/screen/title-abstract", follow_redirects=False)
        assert r.status_code == 303 and "Secret beta" not in r.text
        # the same username in beta is another account: alpha's password does not open it
        page = c.get("/p/beta/login")
        r = c.post("/p/beta/login", data={"csrf_token": csrf_of(page.text), "username": "rev",
                                          "password": PASSWORD})
        assert r.status_code == 401
    finally:
        for s in app.state.stores.values():
            s.close()


def test_blind_screening_hides_the_other_reviewers_decision_and_note(team):
    team.join("own", "owner")
    team.join("ann", "reviewer")
    team.join("bob", "reviewer")
    rid, r = team.decide("ann", "exclude", "wrong population", note="ANN-PRIVATE-NOTE")
    assert r.status_code == 200
    # bob is offered the same record (the team's ranking), undecided, without ann's note
    page = team.screen("bob")
    assert f'name="record_id" value="{rid}"' in page
    assert "ANN-PRIVATE-NOTE" not in page and "ann" not in page.replace("Stem cell", "")
    assert "1 of" not in page.split("records decided by you")[0]
    # bob cannot reach the conflicts page nor the export of everyone's decisions
    assert team.clients["bob"].get(f"/p/{team.slug}/conflicts/title-abstract").status_code == 403
    assert team.clients["bob"].get(f"/p/{team.slug}/export/screening.csv").status_code == 403


def test_login_rate_limit(team):
    team.join("rev", "reviewer")
    c = TestClient(team.app)
    page = c.get(f"/p/{team.slug}/login").text
    for _ in range(ratelimit.MAX_FAILURES):
        r = c.post(f"/p/{team.slug}/login", data={"csrf_token": csrf_of(page), "username": "rev",
                                                  "password": "wrong password!"})
        assert r.status_code == 401
    r = c.post(f"/p/{team.slug}/login", data={"csrf_token": csrf_of(page), "username": "rev",
                                              "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 429 and "Too many failed logins" in r.text


def test_invitation_link_works_once_in_the_browser(team):
    inv = accounts.invite(team.store.db, "reviewer", actor="t")
    c = TestClient(team.app)
    page = c.get(f"/p/{team.slug}/invite/{inv.token}")
    assert page.status_code == 200 and "as <strong>reviewer</strong>" in page.text
    r = c.post(f"/p/{team.slug}/invite/{inv.token}", data={"csrf_token": csrf_of(page.text), "username": "newbie",
                                                          "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and c.get(f"/p/{team.slug}/").status_code == 200
    other = TestClient(team.app)
    assert other.get(f"/p/{team.slug}/invite/{inv.token}").status_code == 410
    assert [m.username for m in accounts.members(team.store.db)] == ["newbie"]


def test_logout_ends_the_session(team):
    c = team.join("rev", "reviewer")
    token = csrf_of(team.screen("rev"))
    assert c.post(f"/p/{team.slug}/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert c.get(f"/p/{team.slug}/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_decision_of_a_record_outside_the_store_is_refused(team, role):
    c = team.join("x1", role)
    token = csrf_of(c.get(f"/p/{team.slug}/").text)
    r = c.post(f"/p/{team.slug}/screen/title-abstract/decide",
               data={"csrf_token": token, "record_id": len(TITLES) + 50, "decision": "include"})
    assert r.status_code == (400 if role == "reviewer" else 403)
