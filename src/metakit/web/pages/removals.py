"""Records removed before screening (the design filter's and other flags): list, flag, unflag.

``GET /p/<slug>/removals`` lists the active removal flags (owner); ``POST .../flag`` removes
records for a stated reason (:func:`metakit.review.screening.flag_records`, kind 'other', as
``metakit screen flag``); ``POST .../unflag`` puts records back into screening
(:func:`metakit.review.screening.undo_flag`, as ``metakit screen unflag``), each in the
audit trail under the owner's name.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from metakit.errors import DataError
from metakit.web.guard import member_of
from metakit.web.templating import add_nav, render

__all__ = ["routes"]

add_nav("Removed before screening", "/removals", "owner", before="Duplicates")


def _flags(project: Any) -> list[dict[str, Any]]:
    from metakit.review.tables import automation_flags as f
    from metakit.review.tables import records as r

    query = (sa.select(f.c.record_id, f.c.kind, f.c.rule, f.c.evidence, f.c.flagged_at, r.c.title)
             .join(r, r.c.id == f.c.record_id).where(f.c.undone == 0).order_by(f.c.record_id))
    with project.db.read() as c:
        return [dict(row._mapping) for row in c.execute(query)]


def _unflag(project: Any, ids: list[int], actor: str) -> list[int]:
    from metakit.review import screening as scr

    return [rid for rid in ids if scr.undo_flag(project, rid, actor=actor)]


def _flag(project: Any, ids: list[int], rule: str, actor: str) -> int:
    from metakit.review import screening as scr

    return scr.flag_records(project, [(rid, rule, None) for rid in ids], kind="other", actor=actor)


async def removals_page(request: Request, error: str | None = None, message: str | None = None,
                        status: int = 200) -> Response:
    ctx = await member_of(request, owner=True)
    rows = await ctx.store.run(_flags)
    return render(request, "removals.html", status_code=status, ctx=ctx, title="Removed before screening",
                  rows=rows, error=error, message=message)


async def unflag(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    request.scope["method"] = "GET"
    raw = [str(v) for v in form.getlist("record_id")]
    if not raw:
        return await removals_page(request, error="choose at least one record to put back into screening",
                                   status=400)
    try:
        ids = [int(v) for v in raw]
    except ValueError:
        return await removals_page(request, error=f"record_id must be record numbers, got {raw}", status=400)
    done = await ctx.store.run(_unflag, ids, ctx.username)
    for stage in ("title-abstract", "full-text"):
        ctx.store.versions[stage] = ctx.store.versions.get(stage, 0) + 1
    missing = sorted(set(ids) - set(done))
    message = f"{len(done)} record(s) back to screening" + (
        f"; no active removal flag on {', '.join(map(str, missing))}" if missing else "")
    return await removals_page(request, message=message)


async def flag(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    request.scope["method"] = "GET"
    raw = str(form.get("record_ids", "")).replace(",", " ").split()
    rule = str(form.get("rule", "")).strip()
    if not raw or not rule:
        return await removals_page(request, error="give the records' numbers and why they are removed", status=400)
    try:
        ids = [int(v) for v in raw]
    except ValueError:
        return await removals_page(request, error=f"record numbers are whole numbers, got {' '.join(raw)!r}",
                                   status=400)
    try:
        n = await ctx.store.run(_flag, ids, rule, ctx.username)
    except DataError as exc:
        return await removals_page(request, error=str(exc), status=400)
    for stage in ("title-abstract", "full-text"):
        ctx.store.versions[stage] = ctx.store.versions.get(stage, 0) + 1
    return await removals_page(request, message=f"{n} record(s) removed before screening ({rule}); "
                                                f"{len(set(ids)) - n} already removed")


routes = [
    Route("/p/{slug}/removals", removals_page, methods=["GET"]),
    Route("/p/{slug}/removals/unflag", unflag, methods=["POST"]),
    Route("/p/{slug}/removals/flag", flag, methods=["POST"]),
]
