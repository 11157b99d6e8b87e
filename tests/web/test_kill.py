"""kill -9 of ``metakit serve`` while reviewers write leaves the store intact: every
decision the server acknowledged is there, nothing half-written (each decision has its
audit row and each audit row its decision: they share one transaction), and it serves
again, writes included (on PostgreSQL no lock of the killed server's transactions is left
behind), on SQLite and on PostgreSQL (``database_url``)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from web_helpers import PASSWORD, make_store

from metakit.web import accounts
from metakit.web.stores import slug_for

SRC = Path(__file__).parents[2] / "src"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(target: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", "from metakit.cli import main; main()", "serve", target,
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(base: str) -> None:
    import httpx

    for _ in range(300):
        try:
            httpx.get(base + "/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def _screen(base: str, slug: str, name: str, acked: list[int], stop: threading.Event) -> None:
    import httpx

    with httpx.Client(base_url=base, timeout=10) as c:
        page = c.get(f"/p/{slug}/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        c.post(f"/p/{slug}/login", data={"csrf_token": token, "username": name, "password": PASSWORD})
        page = c.get(f"/p/{slug}/screen/title-abstract").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        while not stop.is_set():
            rid = int(re.search(r'name="record_id" value="(\d+)"', page).group(1))
            req = re.search(r'name="request_id" value="([^"]+)"', page).group(1)
            try:
                r = c.post(f"/p/{slug}/screen/title-abstract/decide", headers={"HX-Request": "true"},
                           data={"csrf_token": csrf, "record_id": rid, "request_id": req, "decision": "include"})
            except httpx.HTTPError:
                return  # the server is gone
            if r.status_code != 200:
                return
            acked.append(rid)
            page = r.text


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 is POSIX")
def test_kill_9_during_writes_leaves_the_store_intact(database_url):
    from metakit.review import screening as scr
    from metakit.review.audit import trail
    from metakit.review.database import open_database
    from metakit.review.store import Project

    target = make_store(database_url, [f"Record {i} on hip osteonecrosis" for i in range(400)])
    db = open_database(target)
    for name in ("ann", "bob"):
        accounts.accept(db, accounts.invite(db, "reviewer", actor="t").token, name, PASSWORD)
    db.dispose()
    slug = slug_for(target)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(target, port)
    try:
        _wait(base)
        acked: dict[str, list[int]] = {"ann": [], "bob": []}
        stop = threading.Event()
        threads = [threading.Thread(target=_screen, args=(base, slug, n, acked[n], stop)) for n in acked]
        for t in threads:
            t.start()
        deadline = time.time() + 60
        while min(len(v) for v in acked.values()) < 15 and time.time() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        stop.set()
        for t in threads:
            t.join(15)
    finally:
        if server.poll() is None:
            server.kill()
    assert min(len(v) for v in acked.values()) >= 15
    if "://" not in target:
        import sqlite3

        raw = sqlite3.connect(target)
        try:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            raw.close()
    p = Project.open(target)
    d = scr.decisions(p, "title-abstract")
    p.close()
    for name, ids in acked.items():
        stored = set(d[d.reviewer == name].record_id)
        assert set(ids) <= stored  # nothing acknowledged is lost
        assert len(stored - set(ids)) <= 1  # at most the one in flight when killed
    assert not d.duplicated(["reviewer", "record_id"]).any()
    db = open_database(target)
    t = trail(db, action="screening.decide")
    db.dispose()
    audited = [int(v["decision_id"]) for v in t.detail]
    assert sorted(audited) == sorted(int(i) for i in d.id)  # one audit row per decision, no orphan
    server = _serve(target, port)  # and the store serves again, and takes decisions again
    try:
        _wait(base)
        more: list[int] = []
        stop = threading.Event()
        writer = threading.Thread(target=_screen, args=(base, slug, "ann", more, stop))
        writer.start()
        deadline = time.time() + 30
        while len(more) < 3 and time.time() < deadline:
            time.sleep(0.05)
        stop.set()
        writer.join(15)
        assert len(more) >= 3
    finally:
        server.kill()
        server.wait(10)
    p = Project.open(target)
    d = scr.decisions(p, "title-abstract")
    p.close()
    assert set(more) <= set(d[d.reviewer == "ann"].record_id)
