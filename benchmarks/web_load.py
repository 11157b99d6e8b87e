"""Load test of ``metakit serve``: simultaneous reviewers screening against uvicorn on loopback.

Builds a review store (a SQLite file, or the PostgreSQL database given with ``--db``) with
``--records`` synthetic records, makes ``--reviewers`` accounts, starts ``metakit serve`` on
127.0.0.1 in a subprocess, and lets each reviewer (one thread, one HTTP client, its own
login) make ``--decisions`` decisions the way the browser does: each POST of the decision
form returns the next record's card (htmx), whose record id and request id the next POST
uses. Every ``--retry-every``-th decision is posted twice with the same request id (a
browser retry). Each reviewer waits ``--think`` seconds between decisions (a person reads
the abstract; 0 hammers the server).

Checks, from the store after the run: every reviewer's decisions are exactly the records
it decided (none lost), no (reviewer, record) pair twice (none doubled, retries included).
Reports the latency of the decision POSTs (p50, p95, p99, max) and the throughput, the
machine's load average sampled every 5 s during the run (mean and max of the 1-minute
figure), and the CPU seconds used by the server process and by this client (the client
runs on the same machine, so its CPU is taken from the server's share).

Run: ``python benchmarks/web_load.py [--reviewers 20] [--decisions 1000] [--records 1200]
[--think 0.0] [--db postgresql://...] [--json out.json]``; ``python benchmarks/web_load.py
--table a.json b.json ...`` prints the results table of benchmarks/WEB_LOAD_RESULTS.md from
the JSON files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
WORDS = ("stem cell femoral head osteonecrosis decompression core bone marrow hip knee tendon athletes "
         "shoulder rotator cuff randomised cohort trial pain function graft necrosis steroid alcohol").split()
PASSWORD = "load test passphrase"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_store(target: str, n_records: int, reviewers: int) -> None:
    import numpy as np

    import metakit.web.tables  # noqa: F401
    from metakit.review import screening as scr
    from metakit.review.database import open_database
    from metakit.review.store import Project
    from metakit.web import accounts

    rng = np.random.default_rng(20)
    recs = []
    for i in range(n_records):
        words = rng.choice(WORDS, size=12)
        recs.append({"title": f"{' '.join(words[:7]).capitalize()} ({i})", "abstract": " ".join(words), "year": 2020})
    p = Project.open(target)
    p.add_import(recs, file="load.ris", source_db="MEDLINE", format="ris")
    scr.define_reasons(p, "title-abstract", ["wrong population", "wrong design"])
    p.close()
    db = open_database(target)
    for k in range(reviewers):
        inv = accounts.invite(db, "owner" if k == 0 else "reviewer", actor="load")
        accounts.accept(db, inv.token, f"rev{k:02d}", PASSWORD)
    db.dispose()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sample_load(samples: list[float], stop: threading.Event) -> None:
    while not stop.wait(5.0):
        samples.append(os.getloadavg()[0])


def table(paths: list[Path]) -> str:
    """The markdown results table of the JSON files of some runs."""
    head = ("| run (JSON file) | backend | reviewers x decisions | think | POSTs | in store | lost | doubled | errors "
            "| p50 ms | p95 ms | p99 ms | max ms | decisions/s | load avg mean (max) | CPU s server / client |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for path in paths:
        r = json.loads(path.read_text())
        rows.append(
            f"| {path.stem} | {r['backend']} | {r['reviewers']} x {r['decisions_each']} | {r['think_s']:g} s "
            f"| {r['posts']} "
            f"| {r['decisions_in_store']} | {r['lost']} | {r['doubled']} | {r['errors']} | {r['p50_ms']:.0f} "
            f"| {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['max_ms']:.0f} | {r['decisions_per_s']:.0f} "
            f"| {r['load_mean']:.1f} ({r['load_max']:.1f}) | {r['server_cpu_s']:.0f} / {r['client_cpu_s']:.0f} |")
    return "\n".join(rows)


def reviewer(base: str, slug: str, name: str, n: int, think: float, retry_every: int, out: dict) -> None:
    import httpx

    lat, decided, errors = [], [], []
    with httpx.Client(base_url=base, timeout=60) as c:
        page = c.get(f"/p/{slug}/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = c.post(f"/p/{slug}/login", data={"csrf_token": token, "username": name, "password": PASSWORD})
        page = c.get(f"/p/{slug}/screen/title-abstract").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        for k in range(n):
            m = re.search(r'name="record_id" value="(\d+)"', page)
            if m is None:
                break
            rid = int(m.group(1))
            req = re.search(r'name="request_id" value="([^"]+)"', page).group(1)
            title = re.search(r'<h2 id="card-title">(.*?)</h2>', page, re.S).group(1).lower()
            include = "stem" in title or "femoral" in title
            data = {"csrf_token": csrf, "record_id": rid, "request_id": req,
                    "decision": "include" if include else "exclude",
                    "reason": "" if include else "wrong population"}
            for _ in range(2 if retry_every and k % retry_every == retry_every - 1 else 1):
                t0 = time.perf_counter()
                try:
                    r = c.post(f"/p/{slug}/screen/title-abstract/decide", data=data, headers={"HX-Request": "true"})
                except httpx.HTTPError as exc:
                    errors.append((rid, type(exc).__name__, str(exc)))
                    out[name] = {"latency": lat, "decided": decided, "errors": errors}
                    return
                lat.append(time.perf_counter() - t0)
                if r.status_code != 200 or "card_error" in r.text or 'class="error"' in r.text:
                    errors.append((rid, r.status_code, r.text[:200]))
            decided.append(rid)
            page = r.text
            if think:
                time.sleep(think)
    out[name] = {"latency": lat, "decided": decided, "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reviewers", type=int, default=20)
    ap.add_argument("--decisions", type=int, default=1000)
    ap.add_argument("--records", type=int, default=1200)
    ap.add_argument("--think", type=float, default=0.0)
    ap.add_argument("--retry-every", type=int, default=50)
    ap.add_argument("--db", help="a postgresql:// URL (an empty database or schema); else a SQLite file")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--table", type=Path, nargs="+", help="print the results table of these JSON files and stop")
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return
    sys.path.insert(0, str(SRC))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])

    from metakit.review import screening as scr
    from metakit.review.store import Project
    from metakit.web.stores import slug_for

    with tempfile.TemporaryDirectory() as d:
        target = args.db or str(Path(d) / "load.db")
        build_store(target, max(args.records, args.decisions), args.reviewers)
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-c", "from metakit.cli import main; main()", "serve", target,
                                   "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            import httpx

            for _ in range(200):
                try:
                    httpx.get(base + "/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            out: dict = {}
            threads = [threading.Thread(target=reviewer, args=(base, slug_for(target), f"rev{k:02d}", args.decisions,
                                                               args.think, args.retry_every, out))
                       for k in range(args.reviewers)]
            loads: list[float] = [os.getloadavg()[0]]
            stop = threading.Event()
            sampler = threading.Thread(target=_sample_load, args=(loads, stop), daemon=True)
            cpu0 = _cpu_seconds(server.pid), time.process_time()
            t0 = time.perf_counter()
            sampler.start()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            cpu = _cpu_seconds(server.pid) - cpu0[0], time.process_time() - cpu0[1]
            stop.set()
            loads.append(os.getloadavg()[0])
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(30)
        p = Project.open(target)
        d_ = scr.decisions(p, "title-abstract")
        p.close()
    lat = sorted(x for v in out.values() for x in v["latency"])
    q = statistics.quantiles(lat, n=100)
    lost = sum(len(set(v["decided"]) - set(d_[d_.reviewer == k].record_id)) for k, v in out.items())
    doubled = int(d_.duplicated(["reviewer", "record_id"]).sum())
    extra = sum(len(set(d_[d_.reviewer == k].record_id) - set(v["decided"])) for k, v in out.items())
    result = {
        "backend": "postgresql" if args.db else "sqlite", "reviewers": args.reviewers,
        "decisions_each": args.decisions, "think_s": args.think, "posts": len(lat),
        "decisions_in_store": len(d_), "decisions_made": sum(len(v["decided"]) for v in out.values()),
        "lost": lost, "doubled": doubled, "unexpected": extra,
        "errors": sum(len(v["errors"]) for v in out.values()),
        "p50_ms": 1000 * q[49], "p95_ms": 1000 * q[94], "p99_ms": 1000 * q[98], "max_ms": 1000 * lat[-1],
        "wall_s": wall, "decisions_per_s": sum(len(v["decided"]) for v in out.values()) / wall,
        "load_mean": statistics.fmean(loads), "load_max": max(loads),
        "server_cpu_s": cpu[0], "client_cpu_s": cpu[1],
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
