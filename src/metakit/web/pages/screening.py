"""Screening pages: the next record for the reviewer, decisions, notes, undo.

``GET /p/<slug>/screen/<stage>`` shows the reviewer's next record (the best-ranked one
they have not decided; ``?skip=<id>`` passes over one). ``POST .../decide`` records a
decision and answers with the next record (an htmx fragment, or a redirect for a plain
form). The page shows only the reviewer's own decisions and notes: screening is blind.

Only the decision's write and its update of the in-memory queue run on the store's
worker thread, which keeps the queue in the order of the writes; the note and the next
card's reads (the record, reasons, the reviewer's note, highlighted terms) run on the
thread pool, so reviewers' requests overlap there instead of queueing behind one
another's reads (benchmarks/WEB_LOAD_RESULTS.md).
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from metakit.errors import DataError
from metakit.web import decisions
from metakit.web.guard import Context, member_of
from metakit.web.queue import StageQueue
from metakit.web.templating import render

__all__ = ["queue_for", "routes"]

STAGES = ("title-abstract", "full-text")


def stage_of(request: Request) -> str:
    stage = request.path_params["stage"]
    if stage not in STAGES:
        raise HTTPException(404, f"no screening stage {stage!r}; stages are {', '.join(STAGES)}")
    return stage


def _build(project: Any, stage: str) -> StageQueue:
    return StageQueue(project, stage)


async def queue_for(ctx: Context, stage: str, *, fresh: bool = False) -> StageQueue:
    """The stage's queue, rebuilt when the pool may have changed since it was built
    (imports, deduplication, or title/abstract decisions for the full-text pool)."""
    store = ctx.store
    version = store.versions.get(stage, 0)
    q = store.queues.get(stage)
    if q is None or (fresh and q.version != version):
        if q is not None:
            q.close()
        q = await store.run(_build, stage)
        q.version = version
        store.queues[stage] = q
    return q


def _mode_of(stage: str, value: str | None) -> str:
    """The order records come in: ``ranked`` (the model's), ``random`` (random-sampling mode,
    title/abstract only) or ``order`` (record order, as ``metakit screen --no-prioritise``)."""
    if value == "random" and stage == "title-abstract":
        return "random"
    return "order" if value == "order" else "ranked"


def _card(project: Any, q: StageQueue, db: Any, stage: str, reviewer: str, skipped: set[int],
          mode: str = "ranked") -> dict[str, Any]:
    from metakit.review import screening as scr

    pick = {"random": q.next_random, "order": q.next_in_order}.get(mode, q.next_for)
    rid = pick(reviewer, skipped)
    done, total = q.progress(reviewer)
    card: dict[str, Any] = {"stage": stage, "done": done, "total": total, "rec": None, "mode": mode,
                            "random": mode == "random",
                            "refits": q.n_refits if q.prioritise and mode == "ranked" else None,
                            "reasons": scr.reasons(project, stage), "note": "", "request_id": secrets.token_urlsafe(12)}
    if rid is not None:
        card["rec"] = q.record(rid)
        card["note"] = decisions.note_for(db, rid, stage, reviewer)
    return card


def _mark(ctx: Context) -> Any:
    return decisions.highlighter(decisions.terms(ctx.store.db))


async def screen_page(request: Request) -> Response:
    ctx = await member_of(request, write=True)
    stage = stage_of(request)
    q = await queue_for(ctx, stage, fresh=True)
    skipped = ctx.store.skipped.setdefault((stage, ctx.username), set())
    skip = request.query_params.get("skip")
    if skip and skip.isdigit():
        skipped.add(int(skip))
    mode = _mode_of(stage, request.query_params.get("mode"))
    card = await run_in_threadpool(_card, ctx.store.project, q, ctx.store.db, stage, ctx.username, skipped, mode)
    mark = await run_in_threadpool(_mark, ctx)
    title = "Screen titles and abstracts" if stage == "title-abstract" else "Screen full texts"
    return render(request, "screen.html", ctx=ctx, title=title, mark=mark, card_error=None, **card)


def _record(project: Any, q: StageQueue, ctx: Context, stage: str, form: dict[str, str], record_id: int,
            mode: str) -> None:
    """On the worker: write the decision, then take it into the queue (in the order of the writes)."""
    decision = form.get("decision", "")
    reason = form.get("reason") or None
    if decision != "exclude":
        reason = None
    _, new = decisions.decide(project, record_id, stage, ctx.username, decision, reason,
                              form.get("request_id") or None, origin="random-sample" if mode == "random" else "metakit")
    if new:
        q.decided(ctx.username, record_id, decision)
        if stage == "title-abstract":
            ctx.store.versions["full-text"] = ctx.store.versions.get("full-text", 0) + 1
    ctx.store.skipped.setdefault((stage, ctx.username), set()).discard(record_id)


def _keep_note(ctx: Context, record_id: int, stage: str, note: str) -> None:
    if note.strip() and note.strip() != decisions.note_for(ctx.store.db, record_id, stage, ctx.username):
        decisions.save_note(ctx.store.db, record_id, stage, ctx.username, note)


async def _answer(request: Request, ctx: Context, stage: str, card: dict[str, Any], error: str | None) -> Response:
    if request.headers.get("hx-request") != "true":
        here = f"/p/{ctx.store.slug}/screen/{stage}" + ("" if card["mode"] == "ranked" else f"?mode={card['mode']}")
        if error:
            return render(request, "message.html", status_code=400, ctx=ctx, title="Not recorded", error=error,
                          back=here)
        return RedirectResponse(here, status_code=303)
    mark = await run_in_threadpool(_mark, ctx)
    return render(request, "_card.html", ctx=ctx, mark=mark, card_error=error, **card)


async def decide(request: Request) -> Response:
    ctx = await member_of(request, write=True)
    stage = stage_of(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    q = await queue_for(ctx, stage)
    mode = _mode_of(stage, form.get("mode"))
    error = None
    try:
        try:
            record_id = int(form.get("record_id", ""))
        except ValueError:
            raise DataError(f"record_id must be a record's number, got {form.get('record_id')!r}",
                            column="record_id") from None
        await ctx.store.run(_record, q, ctx, stage, form, record_id, mode)
        await run_in_threadpool(_keep_note, ctx, record_id, stage, form.get("note", ""))
    except DataError as exc:
        error = str(exc)
    # the next card only reads (the queue's ranking is replaced whole, never edited in place),
    # so it need not wait behind other reviewers' writes on the worker
    card = await run_in_threadpool(_card, ctx.store.project, q, ctx.store.db, stage, ctx.username,
                                   ctx.store.skipped.setdefault((stage, ctx.username), set()), mode)
    return await _answer(request, ctx, stage, card, error)


def _undo(project: Any, q: StageQueue, ctx: Context, stage: str, mode: str) -> dict[str, Any]:
    back = decisions.undo(project, stage, ctx.username)
    if back is not None:
        q.undone(ctx.username, back)
        q.order = [back, *[r for r in q.order if r != back]]
        if stage == "title-abstract":
            ctx.store.versions["full-text"] = ctx.store.versions.get("full-text", 0) + 1
    return _card(project, q, ctx.store.db, stage, ctx.username,
                 ctx.store.skipped.setdefault((stage, ctx.username), set()), mode)


async def undo(request: Request) -> Response:
    ctx = await member_of(request, write=True)
    stage = stage_of(request)
    q = await queue_for(ctx, stage)
    mode = _mode_of(stage, str((await request.form()).get("mode", "")))
    card = await ctx.store.run(_undo, q, ctx, stage, mode)
    return await _answer(request, ctx, stage, card, None)


def _not_retrieved(project: Any, ctx: Context, record_id: int) -> None:
    from metakit.review import screening as scr

    # the record's study link is kept, as `metakit screen not-retrieved` keeps it
    scr.set_report(project, record_id, retrieved=False, study_id=scr.study_of(project, record_id),
                   actor=ctx.username)


async def not_retrieved(request: Request) -> Response:
    ctx = await member_of(request, write=True)
    form = await request.form()
    try:
        record_id = int(str(form.get("record_id", "")))
        await ctx.store.run(_not_retrieved, ctx, record_id)
    except (ValueError, DataError) as exc:
        return render(request, "message.html", status_code=400, ctx=ctx, title="Not recorded", error=str(exc),
                      back=f"/p/{ctx.store.slug}/screen/full-text")
    ctx.store.versions["full-text"] = ctx.store.versions.get("full-text", 0) + 1
    return RedirectResponse(f"/p/{ctx.store.slug}/screen/full-text", status_code=303)


routes = [
    Route("/p/{slug}/screen/{stage}", screen_page, methods=["GET"]),
    Route("/p/{slug}/screen/{stage}/decide", decide, methods=["POST"]),
    Route("/p/{slug}/screen/{stage}/undo", undo, methods=["POST"]),
    Route("/p/{slug}/screen/full-text/not-retrieved", not_retrieved, methods=["POST"]),
]
