"""Extraction and RoB 2 end to end in a real browser (Debian's chromium, headless, Playwright):
two reviewers fill the form for a study and submit, the owner settles the discrepancy and
downloads the agreed sheet; a RoB 2 answer changed in the page updates the algorithm's
judgement live (htmx). Screenshots go to ``$METAKIT_SCREENSHOTS`` (else the test's tmp dir).

Skipped without chromium or playwright, unless ``METAKIT_REQUIRE_CHROMIUM=1`` (CI), where that
is a failure. Figures: THA counts of Mao 2015 (examples/data/onfh_tha.csv).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

from web_helpers import PASSWORD, make_store

from metakit.review import extraction as ex
from metakit.review.studies import add_study
from metakit.web import accounts

FORM = Path(__file__).parents[1] / "review" / "data" / "extraction_form.yaml"



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _login(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _fill_entry(page, base: str, values: dict[str, str]) -> None:
    page.goto(f"{base}/extraction/entry?study=Mao%202015")
    page.select_option("#v-allocation", "Randomised")
    for key, value in values.items():
        page.fill(f"#v-{key.replace(':', '-')}", value)


def test_extract_reconcile_export_and_live_rob_in_chromium(database_url, tmp_path, chromium):
    import uvicorn
    from playwright.sync_api import sync_playwright

    from metakit.web.app import create_app

    shots = Path(os.environ.get("METAKIT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    app = create_app([make_store(database_url)])
    db = next(iter(app.state.stores.values())).db
    ex.save_form(db, FORM.read_text(encoding="utf-8"), actor="test")
    add_study(db, "Mao 2015", actor="test", label="Mao")
    for name, role in (("olga", "owner"), ("ann", "reviewer"), ("bob", "reviewer")):
        accounts.accept(db, accounts.invite(db, role, actor="test").token, name, PASSWORD)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    root = f"{base}/p/{next(iter(app.state.stores))}"
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    values = {"year": "2015", "THA:e_t": "3", "THA:n_t": "48", "THA:e_c": "9", "THA:n_c": "41"}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True)
            ann = browser.new_context().new_page()
            _login(ann, root, "ann")
            _fill_entry(ann, root, values)
            ann.screenshot(path=str(shots / "11-extraction-entry.png"), full_page=True)
            ann.get_by_role("button", name="Save and submit (final)").click()
            ann.wait_for_load_state()
            assert "it can no longer change" in ann.content()
            bob = browser.new_context().new_page()
            _login(bob, root, "bob")
            _fill_entry(bob, root, {**values, "THA:e_c": "8"})
            assert bob.input_value("#v-THA-e_t") == "3"  # his own typing, not ann's entry
            bob.get_by_role("button", name="Save and submit (final)").click()
            bob.wait_for_load_state()

            own = browser.new_context(accept_downloads=True).new_page()
            _login(own, root, "olga")
            own.goto(f"{root}/extraction/compare?study=Mao%202015")
            assert "agree on 5 of 6 values" in own.content()
            own.select_option("select[name='c:THA:e_c']", "value:9")
            own.fill("input[name='n:THA:e_c']", "table 2 of the report")
            own.screenshot(path=str(shots / "12-extraction-reconcile.png"), full_page=True)
            own.get_by_role("button", name="Record the agreed values").click()
            own.wait_for_url(f"{root}/extraction")
            assert "olga" in own.locator("tbody").inner_text()
            with own.expect_download() as download:
                own.click("text=binary.csv")
            sheet = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
            assert sheet == ["study,year,outcome,e_t,n_t,e_c,n_c,allocation,mean_age,source,certainty",
                             "Mao,2015,THA,3,48,9,41,Randomised,,,"]

            ann.goto(f"{root}/rob/entry?study=Mao%202015&outcome=THA")
            for q, a in (("1.1", "Y"), ("1.2", "NI"), ("1.3", "N")):
                ann.select_option(f"[id='q-{q}']", a)
            judgements = ann.locator("#judgements")
            judgements.get_by_text("Some concerns").wait_for(timeout=10_000)
            ann.select_option("[id='q-1.2']", "PY")  # concealment probably yes: D1 becomes Low
            deadline = time.time() + 10
            while "D1 Low" not in " ".join(judgements.inner_text().split()) and time.time() < deadline:
                time.sleep(0.05)
            assert "D1 Low" in " ".join(judgements.inner_text().split())
            ann.screenshot(path=str(shots / "13-rob-live.png"))
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
