"""End to end in a real browser (Debian's chromium, headless, driven by Playwright) against
``metakit serve``: accept an invitation, log in, screen with the keyboard shortcuts, settle
a conflict, export. Screenshots go to ``$METAKIT_SCREENSHOTS`` (else the test's tmp dir).

Skipped without chromium or playwright, unless ``METAKIT_REQUIRE_CHROMIUM=1`` (CI), where
that is a failure.
"""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

from test_kill import _port, _serve, _wait
from web_helpers import PASSWORD, TITLES, make_store

from metakit.web import accounts
from metakit.web.stores import slug_for


def _login(page, base: str, slug: str, name: str) -> None:
    page.goto(f"{base}/p/{slug}/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/p/{slug}/")


def _decided(page) -> int:
    return int(page.locator("#card .meta").first.inner_text().split(" of ")[0])


def _press_and_wait(page, keys: list[str]) -> None:
    before = _decided(page)
    for k in keys:
        page.keyboard.press(k)
    deadline = time.time() + 10
    while _decided(page) == before and time.time() < deadline:
        time.sleep(0.05)
    assert _decided(page) == before + 1


def test_log_in_screen_settle_export_in_chromium(database_url, tmp_path, chromium):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("METAKIT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    target = make_store(database_url)
    slug = slug_for(target)
    from metakit.review.database import open_database

    db = open_database(target)
    owner_link = accounts.invite(db, "owner", actor="test")
    for name in ("ann", "bob"):
        accounts.accept(db, accounts.invite(db, "reviewer", actor="test").token, name, PASSWORD)
    db.dispose()
    port = _port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(target, port)
    try:
        _wait(base)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True)
            # the owner accepts the one-time invitation
            own = browser.new_context(accept_downloads=True).new_page()
            own.goto(owner_link.link(f"{base}/p/{slug}"))
            own.get_by_label("Choose a username").fill("olga")
            own.get_by_label("Choose a password").fill(PASSWORD)
            own.screenshot(path=str(shots / "01-invitation.png"), full_page=True)
            own.get_by_role("button", name="Create my account").click()
            own.wait_for_url(f"{base}/p/{slug}/")
            # ann screens every record with the keyboard: i for stem-cell titles, e + reason for the rest
            ann = browser.new_context().new_page()
            _login(ann, base, slug, "ann")
            ann.goto(f"{base}/p/{slug}/screen/title-abstract")
            ann.screenshot(path=str(shots / "02-screening.png"), full_page=True)
            for _ in TITLES:
                title = ann.locator("#card-title").inner_text()
                if "Stem cell" in title:
                    _press_and_wait(ann, ["i"])
                else:
                    _press_and_wait(ann, ["e", "ArrowDown", "Enter"])
            assert "Nothing left to screen" in ann.locator("#card").inner_text()
            # bob excludes everything (the m key for one record first, undone with u)
            bob = browser.new_context().new_page()
            _login(bob, base, slug, "bob")
            bob.goto(f"{base}/p/{slug}/screen/title-abstract")
            _press_and_wait(bob, ["m"])
            bob.keyboard.press("u")
            deadline = time.time() + 10
            while _decided(bob) != 0 and time.time() < deadline:
                time.sleep(0.05)
            assert _decided(bob) == 0
            for _ in TITLES:
                _press_and_wait(bob, ["e", "ArrowDown", "Enter"])
            bob.screenshot(path=str(shots / "03-done.png"), full_page=True)
            # the owner sees the six stem-cell records in conflict and settles one
            own.goto(f"{base}/p/{slug}/conflicts/title-abstract")
            own.screenshot(path=str(shots / "04-conflicts.png"), full_page=True)
            rows = own.locator("tbody tr")
            assert rows.count() == 6
            first = rows.first
            first.get_by_label("Decision").select_option("include")
            first.get_by_role("button", name="Settle").click()
            own.wait_for_load_state()
            assert own.locator("tbody tr").count() == 5
            own.goto(f"{base}/p/{slug}/progress")
            assert "ann and bob" in own.content()
            own.screenshot(path=str(shots / "05-progress.png"), full_page=True)
            # export the decisions
            own.goto(f"{base}/p/{slug}/exports")
            with own.expect_download() as dl:
                own.get_by_role("link", name="Every screening decision").click()
            rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
            # ann 12 + bob 12; his undone maybe and the adjudication are not reviewers' decisions
            assert len(rows) == 2 * len(TITLES)
            assert {r["reviewer"] for r in rows} == {"ann", "bob"}
            browser.close()
    finally:
        server.kill()
        server.wait(10)
