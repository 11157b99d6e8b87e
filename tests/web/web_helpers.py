"""Helpers of the web app's tests: a review store with records, logged-in clients.

The screening pages need :class:`metakit.review.store.Project` on the same database: until
the store opens ``postgresql://`` URLs (its port onto :mod:`metakit.review.database`),
the PostgreSQL cases of those tests are skipped with that reason.
"""

from __future__ import annotations

import inspect
import re

import pytest
from starlette.testclient import TestClient

from metakit.web import accounts

TITLES = [f"Stem cell therapy for osteonecrosis of the femoral head: trial {i}" for i in range(6)] + \
         [f"Knee tendon repair in athletes: cohort {i}" for i in range(6)]
PASSWORD = "a long passphrase 42"


def project_opens(target: str) -> bool:
    """Whether this checkout's Project opens the target (URLs: after the store's port)."""
    from metakit.review.store import Project

    return "://" not in target or "path" not in inspect.signature(Project.open).parameters


def make_store(target: str, titles: list[str] = TITLES) -> str:
    """A review store at ``target`` with one import of ``titles`` and the reasons lists."""
    if not project_opens(target):
        pytest.skip("Project opens postgresql:// URLs once the store is ported onto review.database")
    from metakit.review import screening as scr
    from metakit.review.store import Project

    p = Project.open(target)
    p.add_import([{"title": t, "abstract": f"Abstract of {t.lower()}.", "year": 2020} for t in titles],
                 file="search.ris", source_db="MEDLINE", format="ris")
    scr.define_reasons(p, "title-abstract", ["wrong population", "wrong design"])
    scr.define_reasons(p, "full-text", ["wrong population", "wrong design"])
    p.close()
    return target


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


class Team:
    """An app over one store and a client per member."""

    def __init__(self, app, slug: str):
        self.app, self.slug = app, slug
        self.store = app.state.stores[slug]
        self.clients: dict[str, TestClient] = {}

    def join(self, username: str, role: str, *, adjudicator: bool = False) -> TestClient:
        inv = accounts.invite(self.store.db, role, actor="test", adjudicator=adjudicator)
        accounts.accept(self.store.db, inv.token, username, PASSWORD)
        return self.login(username)

    def login(self, username: str, password: str = PASSWORD, client: TestClient | None = None) -> TestClient:
        c = client or TestClient(self.app, base_url="http://testserver")
        page = c.get(f"/p/{self.slug}/login")
        r = c.post(f"/p/{self.slug}/login", data={"csrf_token": csrf_of(page.text), "username": username,
                                                  "password": password}, follow_redirects=False)
        assert r.status_code == 303, r.text
        self.clients[username] = c
        return c

    def screen(self, username: str, stage: str = "title-abstract") -> str:
        r = self.clients[username].get(f"/p/{self.slug}/screen/{stage}")
        assert r.status_code == 200, r.text
        return r.text

    def decide(self, username: str, decision: str, reason: str = "", stage: str = "title-abstract",
               note: str = "") -> tuple[int, object]:
        """Decide the record shown to ``username``; return (record id, response)."""
        page = self.screen(username, stage)
        rid = int(field(page, "record_id"))
        r = self.clients[username].post(
            f"/p/{self.slug}/screen/{stage}/decide", headers={"HX-Request": "true"},
            data={"csrf_token": csrf_of(page), "record_id": rid, "request_id": field(page, "request_id"),
                  "decision": decision, "reason": reason, "note": note})
        return rid, r


def post_decision(team: Team, username: str, record_id: int, decision: str, reason: str = "",
                  stage: str = "title-abstract", request_id: str | None = None):
    """Post a decision on a chosen record with a token from a freshly rendered page."""
    page = team.screen(username, stage)
    return team.clients[username].post(
        f"/p/{team.slug}/screen/{stage}/decide",
        data={"csrf_token": csrf_of(page), "record_id": record_id,
              "request_id": request_id or field(page, "request_id"), "decision": decision, "reason": reason},
        follow_redirects=False)
