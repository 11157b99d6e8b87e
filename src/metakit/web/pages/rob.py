"""RoB 2 pages: the signalling questions per study and outcome, judgements live, compare, reconcile.

``GET /p/<slug>/rob`` lists the assessments begun. ``GET /rob/entry?study=ID&outcome=O``
shows the member's own answers with the algorithm's judgements; changing an answer posts
the form to ``/rob/judge`` (htmx), which answers with the judgements of the answers on the
page without saving them. ``POST /rob/entry`` saves or submits. ``GET /rob/compare`` and
``POST /rob/reconcile`` work as extraction's (blind until two assessments are submitted;
reconciling needs the owner or an adjudicator). ``GET /rob/export.csv`` is the agreed RoB 2
sheet that ``metakit rob`` and the report read.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from metakit.errors import DataError
from metakit.review import rob_assessment as ra
from metakit.review.dual_entry import BlindError, people
from metakit.rob.tools import ANSWERS, ROB2
from metakit.web.guard import Context, member_of
from metakit.web.templating import render

__all__ = ["routes"]


def _target(request: Request, form: Any = None) -> tuple[str, str]:
    source = form if form is not None else request.query_params
    study = str(source.get("study") or "").strip()
    if not study:
        raise HTTPException(400, "name the study (?study=...)")
    return study, str(source.get("outcome") or "").strip()


def _link(slug: str, page: str, study: str, outcome: str) -> str:
    from urllib.parse import urlencode

    return f"/p/{slug}/rob/{page}?{urlencode({'study': study, 'outcome': outcome})}"


async def list_page(request: Request) -> Response:
    ctx = await member_of(request)
    frame = await run_in_threadpool(ra.status, ctx.store.db)
    rows = frame.fillna("").to_dict("records")
    return render(request, "rob.html", ctx=ctx, title="Risk of bias (RoB 2)", rows=rows)


def _answers_of(form: Any) -> tuple[dict[str, str | None], str]:
    variant = str(form.get("variant") or "assignment")
    answers = {k[2:]: (str(v) or None) for k, v in form.items() if k.startswith("q:")}
    return answers, variant


def _entry_view(db: Any, study: str, outcome: str, who: str) -> dict[str, Any]:
    from metakit.review.studies import require_study

    with db.read() as conn:
        require_study(conn, study)
    values = ra.assessor_answers(db, study, outcome, who, reader=who)
    variant = values.get("variant") or "assignment"
    submitted = dict(people(db, ra._target(study, outcome))).get(who)
    return {"values": values, "variant": variant, "domains": ra.questions(variant), "submitted": submitted,
            "judged": ra.judgements(values, study), "open": ra.dual.is_open(db, ra._target(study, outcome))}


async def entry_page(request: Request, error: str | None = None, status: int = 200,
                     target: tuple[str, str] | None = None, typed: dict[str, Any] | None = None) -> Response:
    ctx = await member_of(request, write=True)
    study, outcome = target or _target(request)
    try:
        view = await run_in_threadpool(_entry_view, ctx.store.db, study, outcome, ctx.username)
    except DataError as exc:
        raise HTTPException(404, str(exc)) from None
    if typed:
        view["values"] = {**view["values"], **typed}
    title = f"RoB 2: {study}" + (f" ({outcome})" if outcome else "")
    return render(request, "rob_entry.html", status_code=status, ctx=ctx, title=title, study=study, outcome=outcome,
                  answers=ANSWERS, levels=ROB2.levels, request_id=secrets.token_urlsafe(12), error=error, **view)


async def judge(request: Request) -> Response:
    """The judgements of the answers on the page (htmx fragment); nothing is saved."""
    ctx = await member_of(request, write=True)
    form = await request.form()
    answers, variant = _answers_of(form)
    try:
        judged = ra.judgements({**ra.parse_answers(answers, variant), "variant": variant})
        error = None
    except DataError as exc:
        judged, error = None, str(exc)
    return render(request, "_rob_judgements.html", ctx=ctx, judged=judged, judge_error=error)


async def answer(request: Request) -> Response:
    ctx = await member_of(request, write=True)
    form = await request.form()
    study, outcome = _target(request, form)
    answers, variant = _answers_of(form)
    try:
        await run_in_threadpool(lambda: ra.answer(ctx.store.db, study, outcome, ctx.username, answers, variant=variant,
                                                  request_id=str(form.get("request_id") or "") or None))
        if form.get("action") == "submit":
            await run_in_threadpool(ra.submit_assessment, ctx.store.db, study, outcome, ctx.username)
    except DataError as exc:
        return await _again(request, entry_page, exc, target=(study, outcome), typed={**answers, "variant": variant})
    return RedirectResponse(_link(ctx.store.slug, "entry", study, outcome), status_code=303)


async def _again(request: Request, page: Any, exc: Exception, **kwargs: Any) -> Response:
    request.scope["method"] = "GET"
    return await page(request, error=str(exc), status=400, **kwargs)


def _compare_view(ctx: Context, study: str, outcome: str) -> dict[str, Any]:
    db = ctx.store.db
    target = ra._target(study, outcome)
    if not ctx.member.can_settle and not (ctx.member.can_write and ctx.username in {p for p, _ in people(db, target)}):
        raise HTTPException(403, "the comparison is for the study's assessors and the owner or an adjudicator")
    return {"cmp": ra.compare_assessments(db, study, outcome, reader=ctx.username),
            "reconciled": ra.dual.reconciliation(db, target)}


async def compare_page(request: Request, error: str | None = None, status: int = 200,
                       target: tuple[str, str] | None = None) -> Response:
    ctx = await member_of(request)
    study, outcome = target or _target(request)
    try:
        view = await run_in_threadpool(_compare_view, ctx, study, outcome)
    except BlindError as exc:
        raise HTTPException(403, str(exc)) from None
    except DataError as exc:
        raise HTTPException(404, str(exc)) from None
    title = f"Compare RoB 2: {study}" + (f" ({outcome})" if outcome else "")
    return render(request, "rob_compare.html", status_code=status, ctx=ctx, title=title, study=study,
                  outcome=outcome, answers=ANSWERS, levels=ROB2.levels, request_id=secrets.token_urlsafe(12),
                  error=error, **view)


async def reconcile(request: Request) -> Response:
    ctx = await member_of(request, settle=True)
    form = await request.form()
    study, outcome = _target(request, form)
    # "(none)" withdraws an override; an empty choice leaves the item to the assessors' answers
    choices: dict[str, str | None] = {k[2:]: (None if str(v) == "(none)" else str(v))
                                      for k, v in form.items() if k.startswith("c:") and str(v)}
    notes = {k[2:]: str(v) for k, v in form.items() if k.startswith("n:") and str(v).strip()}
    try:
        await run_in_threadpool(lambda: ra.reconcile_assessment(
            ctx.store.db, study, outcome, ctx.username, choices=choices, notes=notes,
            note=str(form.get("note") or "") or None, request_id=str(form.get("request_id") or "") or None))
    except BlindError as exc:
        raise HTTPException(403, str(exc)) from None
    except DataError as exc:
        return await _again(request, compare_page, exc, target=(study, outcome))
    return RedirectResponse(f"/p/{ctx.store.slug}/rob", status_code=303)


#: the files `metakit extract rob export -o` writes
_MEDIA = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _export(db: Any, suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"rob2.{suffix}"
        ra.export_assessments(db, path)
        return path.read_bytes()


async def export(request: Request) -> Response:
    ctx = await member_of(request)
    suffix = request.path_params.get("suffix", "csv")
    if suffix not in _MEDIA:
        raise HTTPException(404, "the RoB 2 sheet comes as .csv or .xlsx")
    data = await run_in_threadpool(_export, ctx.store.db, suffix)
    return Response(data, media_type=_MEDIA[suffix],
                    headers={"Content-Disposition": f'attachment; filename="rob2.{suffix}"'})


routes = [
    Route("/p/{slug}/rob", list_page, methods=["GET"]),
    Route("/p/{slug}/rob/entry", entry_page, methods=["GET"]),
    Route("/p/{slug}/rob/entry", answer, methods=["POST"]),
    Route("/p/{slug}/rob/judge", judge, methods=["POST"]),
    Route("/p/{slug}/rob/compare", compare_page, methods=["GET"]),
    Route("/p/{slug}/rob/reconcile", reconcile, methods=["POST"]),
    Route("/p/{slug}/rob/export.{suffix}", export, methods=["GET"]),
]
