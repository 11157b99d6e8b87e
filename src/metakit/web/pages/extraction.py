"""Extraction pages: the form per study, compare and reconcile, the agreed sheets (CSV).

``GET /p/<slug>/extraction`` lists the studies and their state; owners add studies and edit
the form (``/extraction/form``). ``GET /extraction/entry?study=ID`` shows the member's own
entry (reviewers and owners), ``POST`` saves or submits it. ``GET /extraction/compare?study=ID``
shows both entries side by side once two are submitted, to an owner or adjudicator or to
either extractor (the store's blinding rule, :mod:`metakit.review.dual_entry`, refuses
anyone before that); ``POST /extraction/reconcile`` (owner or adjudicator) records the
agreed values. ``GET /extraction/export/<sheet>.csv`` (or ``.xlsx``) gives every member the
agreed sheet; ``POST /extraction/studies/from-screening`` (owner) adds the studies screening
included.
"""

from __future__ import annotations

import secrets
import tempfile
import warnings
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from metakit.errors import DataError, MetakitWarning
from metakit.report.spec import SpecError
from metakit.review import extraction as ex
from metakit.review.dual_entry import BlindError
from metakit.review.extraction_form import Form
from metakit.web.guard import Context, member_of
from metakit.web.templating import add_nav, render

__all__ = ["routes"]

add_nav("Extraction", "/extraction", "all")


def _study(request: Request, form: Any = None) -> str:
    study = (form.get("study") if form is not None else None) or request.query_params.get("study") or ""
    study = str(study).strip()
    if not study:
        raise HTTPException(400, "name the study (?study=...)")
    return study


def _form_or_none(db: Any) -> Form | None:
    try:
        return ex.current_form(db)
    except DataError:
        return None


def _groups(form: Form) -> list[dict[str, Any]]:
    """The form's slots grouped for display: study fields, then per outcome a table of arms."""
    groups: list[dict[str, Any]] = [{"title": "Study", "slots": [s for s in form.slots if s.outcome is None],
                                     "arms": None}]
    for o in form.outcomes:
        own = [s for s in form.slots if s.outcome == o.name]
        arms = [{"key": arm, "label": label, "slots": [s for s in own if s.arm == arm]}
                for arm, label in form.arms.items()]
        groups.append({"title": o.label, "slots": [s for s in own if s.arm is None], "arms": arms})
    return groups


async def list_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    ctx = await member_of(request)
    frame, form = await run_in_threadpool(lambda: (ex.status(ctx.store.db), _form_or_none(ctx.store.db)))
    rows = frame.fillna("").to_dict("records")
    return render(request, "extraction.html", status_code=status, ctx=ctx, title="Data extraction", rows=rows,
                  form=form, error=error)


async def add_study(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    data = await request.form()
    from metakit.review.studies import add_study as add

    try:
        records = [int(r) for r in str(data.get("records") or "").replace(",", " ").split()]
        await run_in_threadpool(add, ctx.store.db, str(data.get("study_id") or ""), actor=ctx.username,
                                label=str(data.get("label") or "").strip() or None, records=records)
    except (DataError, ValueError) as exc:
        return await _again(request, list_page, exc)
    return RedirectResponse(f"/p/{ctx.store.slug}/extraction", status_code=303)


def _from_screening(project: Any, db: Any, actor: str) -> list[str]:
    from metakit.review.studies import studies_from_screening

    return studies_from_screening(db, project, actor=actor)


async def add_from_screening(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    try:
        await ctx.store.run(_from_screening, ctx.store.db, ctx.username)
    except DataError as exc:
        return await _again(request, list_page, exc)
    return RedirectResponse(f"/p/{ctx.store.slug}/extraction", status_code=303)


async def _again(request: Request, page: Any, exc: Exception, status: int = 400, **kwargs: Any) -> Response:
    request.scope["method"] = "GET"
    return await page(request, error=str(exc), status=status, **kwargs)


async def form_page(request: Request, error: str | None = None, status: int = 200, text: str | None = None) -> Response:
    ctx = await member_of(request, owner=True)
    form = await run_in_threadpool(_form_or_none, ctx.store.db)
    return render(request, "extraction_form.html", status_code=status, ctx=ctx, title="Extraction form",
                  text=text if text is not None else (form.text if form else ""), error=error)


async def save_form(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    text = str((await request.form()).get("text") or "")
    try:
        await run_in_threadpool(ex.save_form, ctx.store.db, text, actor=ctx.username)
    except (SpecError, DataError) as exc:
        return await _again(request, form_page, exc, text=text)
    return RedirectResponse(f"/p/{ctx.store.slug}/extraction", status_code=303)


def _entry_view(db: Any, study: str, who: str) -> dict[str, Any]:
    form = ex.current_form(db)
    people = dict(ex.dual.people(db, ex._target(study)))
    return {"form": form, "groups": _groups(form), "values": ex.entry(db, study, who, reader=who, form=form),
            "submitted": people.get(who), "open": ex.dual.is_open(db, ex._target(study))}


async def entry_page(request: Request, error: str | None = None, status: int = 200,
                     typed: dict[str, str] | None = None, study: str | None = None) -> Response:
    ctx = await member_of(request, write=True)
    study = study or _study(request)
    try:
        view = await run_in_threadpool(_entry_view, ctx.store.db, study, ctx.username)
    except DataError as exc:
        raise HTTPException(404, str(exc)) from None
    if typed:
        view["values"] = {**view["values"], **typed}
    return render(request, "extraction_entry.html", status_code=status, ctx=ctx, title=f"Extraction: {study}",
                  study=study, request_id=secrets.token_urlsafe(12), error=error, **view)


async def enter(request: Request) -> Response:
    ctx = await member_of(request, write=True)
    data = await request.form()
    study = _study(request, data)
    form = await run_in_threadpool(ex.current_form, ctx.store.db)
    values = {s.key: str(data.get(f"v:{s.key}") or "") for s in form.slots if f"v:{s.key}" in data}
    try:
        await run_in_threadpool(ex.enter, ctx.store.db, study, ctx.username, values,
                                request_id=str(data.get("request_id") or "") or None, form=form)
        if data.get("action") == "submit":
            await run_in_threadpool(ex.submit_entry, ctx.store.db, study, ctx.username, form=form)
    except DataError as exc:
        return await _again(request, entry_page, exc, typed=values, study=study)
    return RedirectResponse(f"/p/{ctx.store.slug}/extraction/entry?study={_quote(study)}", status_code=303)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _may_compare(ctx: Context, db: Any, study: str) -> None:
    if ctx.member.can_settle:
        return
    if ctx.member.can_write and ctx.username in {p for p, _ in ex.dual.people(db, ex._target(study))}:
        return
    raise HTTPException(403, "the comparison is for the study's extractors and the owner or an adjudicator")


def _compare_view(ctx: Context, study: str) -> dict[str, Any]:
    db = ctx.store.db
    _may_compare(ctx, db, study)
    form = ex.current_form(db)
    cmp = ex.compare(db, study, reader=ctx.username, form=form)
    slots = {s.key: s for s in form.slots}
    return {"cmp": cmp, "slots": slots, "reconciled": ex.dual.reconciliation(db, ex._target(study))}


async def compare_page(request: Request, error: str | None = None, status: int = 200,
                       study: str | None = None) -> Response:
    ctx = await member_of(request)
    study = study or _study(request)
    try:
        view = await run_in_threadpool(_compare_view, ctx, study)
    except BlindError as exc:
        raise HTTPException(403, str(exc)) from None
    except DataError as exc:
        raise HTTPException(404, str(exc)) from None
    return render(request, "extraction_compare.html", status_code=status, ctx=ctx, title=f"Compare: {study}",
                  study=study, request_id=secrets.token_urlsafe(12), error=error, **view)


async def reconcile(request: Request) -> Response:
    ctx = await member_of(request, settle=True)
    data = await request.form()
    study = _study(request, data)
    choices: dict[str, object] = {}
    for key in {k[2:] for k in data if k.startswith("c:")}:
        choice, typed = str(data.get(f"c:{key}") or ""), str(data.get(f"t:{key}") or "")
        if choice == "typed" or (choice == "" and typed.strip()):
            choices[key] = typed
        elif choice.startswith("value:"):
            choices[key] = choice[len("value:"):]
    notes = {k[2:]: str(v) for k, v in data.items() if k.startswith("n:") and str(v).strip()}
    try:
        await run_in_threadpool(lambda: ex.reconcile(ctx.store.db, study, ctx.username, choices=choices, notes=notes,
                                                     note=str(data.get("note") or "") or None,
                                                     request_id=str(data.get("request_id") or "") or None))
    except BlindError as exc:
        raise HTTPException(403, str(exc)) from None
    except DataError as exc:
        return await _again(request, compare_page, exc, study=study)
    return RedirectResponse(f"/p/{ctx.store.slug}/extraction", status_code=303)


_MEDIA = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _sheet_file(db: Any, sheet: str | None, suffix: str) -> tuple[bytes, list[str]]:
    with warnings.catch_warnings(record=True) as caught, tempfile.TemporaryDirectory() as d:
        warnings.simplefilter("always", MetakitWarning)
        path = Path(d) / f"sheet.{suffix}"
        ex.export_sheet(db, sheet, path)
        return path.read_bytes(), [str(w.message) for w in caught]


async def export_sheet(request: Request) -> Response:
    ctx = await member_of(request)
    sheet, suffix = request.path_params["sheet"], request.path_params["suffix"]
    if suffix not in _MEDIA:
        raise HTTPException(404, "the agreed sheets come as .csv or .xlsx")
    try:
        data, notes = await run_in_threadpool(_sheet_file, ctx.store.db, None if sheet == "studies" else sheet,
                                              suffix)
    except DataError as exc:
        raise HTTPException(404, str(exc)) from None
    headers = {"Content-Disposition": f'attachment; filename="{sheet}.{suffix}"'}
    if notes:
        headers["X-Metakit-Warning"] = " | ".join(notes).encode("ascii", "replace").decode()
    return Response(data, media_type=_MEDIA[suffix], headers=headers)


routes = [
    Route("/p/{slug}/extraction", list_page, methods=["GET"]),
    Route("/p/{slug}/extraction/studies", add_study, methods=["POST"]),
    Route("/p/{slug}/extraction/form", form_page, methods=["GET"]),
    Route("/p/{slug}/extraction/form", save_form, methods=["POST"]),
    Route("/p/{slug}/extraction/entry", entry_page, methods=["GET"]),
    Route("/p/{slug}/extraction/entry", enter, methods=["POST"]),
    Route("/p/{slug}/extraction/compare", compare_page, methods=["GET"]),
    Route("/p/{slug}/extraction/reconcile", reconcile, methods=["POST"]),
    Route("/p/{slug}/extraction/studies/from-screening", add_from_screening, methods=["POST"]),
    Route("/p/{slug}/extraction/export/{sheet}.{suffix}", export_sheet, methods=["GET"]),
]
