"""The conflicts page: the owner or an adjudicator settles disagreements (screening.resolve)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from metakit.errors import DataError
from metakit.web import decisions
from metakit.web.guard import member_of
from metakit.web.pages.screening import stage_of
from metakit.web.templating import render

__all__ = ["routes"]


def _rows(project: Any, stage: str) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    from metakit.review import screening as scr

    frame = scr.conflicts(project, stage)
    reviewers = [c for c in frame.columns if c != "title"]
    rows = [{"record_id": int(rid), "title": r["title"],
             "shown": {who: ("" if pd.isna(r[who]) else r[who]) for who in reviewers}}
            for rid, r in frame.iterrows()]
    return rows, reviewers, scr.reasons(project, stage)


async def conflicts_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    ctx = await member_of(request, settle=True)
    stage = stage_of(request)
    rows, reviewers, reasons = await ctx.store.run(_rows, stage)
    return render(request, "conflicts.html", status_code=status, ctx=ctx, title=f"Conflicts at {stage}",
                  stage=stage, rows=rows, reviewers=reviewers, reasons=reasons, error=error)


async def settle(request: Request) -> Response:
    ctx = await member_of(request, settle=True)
    stage = stage_of(request)
    form = await request.form()
    try:
        record_id = int(str(form.get("record_id", "")))
        decision = str(form.get("decision", ""))
        reason = (str(form.get("reason") or "") or None) if decision == "exclude" else None
        await ctx.store.run(decisions.resolve, ctx.store.db, record_id, stage, decision, reason, ctx.username)
    except (ValueError, DataError) as exc:
        request.scope["method"] = "GET"
        return await conflicts_page(request, error=str(exc), status=400)
    if stage == "title-abstract":
        ctx.store.versions["full-text"] = ctx.store.versions.get("full-text", 0) + 1
    return RedirectResponse(f"/p/{ctx.store.slug}/conflicts/{stage}", status_code=303)


routes = [
    Route("/p/{slug}/conflicts/{stage}", conflicts_page, methods=["GET"]),
    Route("/p/{slug}/conflicts/{stage}/resolve", settle, methods=["POST"]),
]
