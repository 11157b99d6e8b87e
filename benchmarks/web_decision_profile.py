"""Where the milliseconds of one screening decision go in ``metakit serve``, per part.

Opens a served store (:class:`metakit.web.stores.ProjectStore`, the object the server
holds) on a SQLite file or the PostgreSQL database given with ``--db``, logs one reviewer
in, and times, for ``--n`` decisions in turn, each part of what the decision POST does
(``web/pages/screening.py``): the session and CSRF look-up, the request-id look-up, the
decision's write transaction (decision, request id and audit row: ``record_decision`` on
the store's worker thread), the queue's update, the next record, the reviewer's note,
the reasons list, the highlighted terms and the rendering of the card. No HTTP: the
server's own overhead (uvicorn, form parsing) is what ``web_load.py``'s latency adds.

Run: ``python benchmarks/web_decision_profile.py [--db postgresql://...] [--n 300]
[--json out.json]``; prints median and 95th percentile milliseconds per part.
``--table a.json b.json`` prints the markdown table of benchmarks/WEB_LOAD_RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))


def profile(target: str, n: int) -> dict[str, dict[str, float]]:
    """Median and p95 milliseconds of each part of a decision, over ``n`` decisions."""
    import sqlalchemy as sa
    from web_load import PASSWORD, build_store

    from metakit.review import screening as scr
    from metakit.review.tables import screening_decisions as sd
    from metakit.web import accounts, decisions, sessions
    from metakit.web.guard import Context
    from metakit.web.pages import screening as pages
    from metakit.web.stores import ProjectStore
    from metakit.web.templating import templates

    build_store(target, max(1200, n + 50), 2)
    store = ProjectStore(target)
    sid, _ = sessions.start(store.db, accounts.authenticate(store.db, "rev01", PASSWORD))
    session = sessions.current(store.db, sid)
    ctx = Context(store, session)
    store.warm()
    q = store.queues["title-abstract"]
    q.refit_now()
    card_template = templates().get_template("_card.html")
    parts = ("session+csrf", "request-id look-up", "write (worker)", "queue update", "next record", "note",
             "reasons", "terms", "render")
    times: dict[str, list[float]] = {k: [] for k in parts}
    skipped: set[int] = set()

    def timed(part: str, fn, *args, **kwargs):  # noqa: ANN001, ANN202 - any callable
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        times[part].append(1000 * (time.perf_counter() - t0))
        return out

    def lookup(req: str) -> None:
        with store.db.read() as conn:
            conn.execute(sa.select(sd.c.id).where(sd.c.request_id == req)).scalar_one_or_none()

    def next_record() -> tuple[int, dict]:
        nxt = q.next_for("rev01", skipped)
        return nxt, q.record(nxt)

    try:
        rid = q.next_for("rev01", skipped)
        for _ in range(n):
            req = secrets.token_urlsafe(12)
            timed("session+csrf", sessions.current, store.db, sid)
            timed("request-id look-up", lookup, req)
            timed("write (worker)", store.call, scr.record_decision, rid, "title-abstract", "rev01", "exclude",
                  "wrong population", request_id=req, actor="rev01")
            timed("queue update", q.decided, "rev01", rid, "exclude")
            rid, rec = timed("next record", next_record)
            note = timed("note", decisions.note_for, store.db, rid, "title-abstract", "rev01")
            reasons = timed("reasons", scr.reasons, store.project, "title-abstract")
            mark = timed("terms", pages._mark, ctx)
            done, total = q.progress("rev01")
            timed("render", card_template.render,
                  request=None, slug=store.slug, path="/", nav=[], member=session.member, error=None, message=None,
                  csrf=session.csrf, ctx=ctx, mark=mark, card_error=None, stage="title-abstract", done=done,
                  total=total, rec=rec, random=False, refits=q.n_refits, reasons=reasons, note=note,
                  request_id=req)
    finally:
        store.close()
    return {k: {"median_ms": statistics.median(v), "p95_ms": statistics.quantiles(v, n=20)[18]}
            for k, v in times.items()}


def table(paths: list[Path]) -> str:
    """The markdown table (a column per run: median / p95 ms) of the JSON files of some runs."""
    runs = [json.loads(p.read_text()) for p in paths]
    rows = ["| part | " + " | ".join(f"{r['backend']} median / p95 ms" for r in runs) + " |",
            "|---|" + "---|" * len(runs)]
    for part in runs[0]["parts"]:
        rows.append(f"| {part} | " + " | ".join(
            f"{r['parts'][part]['median_ms']:.2f} / {r['parts'][part]['p95_ms']:.2f}" for r in runs) + " |")
    rows.append("| sum | " + " | ".join(
        f"{sum(v['median_ms'] for v in r['parts'].values()):.2f} / -" for r in runs) + " |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", help="a postgresql:// URL (an empty database or schema); else a SQLite file")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--table", type=Path, nargs="+", help="print the table of these JSON files and stop")
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return
    with tempfile.TemporaryDirectory() as d:
        result = {"backend": "postgresql" if args.db else "sqlite", "n": args.n,
                  "parts": profile(args.db or str(Path(d) / "profile.db"), args.n)}
    for part, v in result["parts"].items():
        print(f"{part:20s} median {v['median_ms']:6.2f} ms   p95 {v['p95_ms']:6.2f} ms")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
