"""The project's overview page and the owner's highlighted terms."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from metakit.web import decisions
from metakit.web.guard import member_of
from metakit.web.templating import render

__all__ = ["routes"]


def _counts(project: Any) -> list[tuple[str, Any]]:
    c = project.counts()
    return [("Records imported", c["identified"]), ("Files imported", c["imports"]),
            ("Duplicates removed", c["duplicates_removed"]), ("Records after duplicates", c["after_duplicates"])]


async def overview(request: Request) -> Response:
    from metakit.web.pages.screening import queue_for

    ctx = await member_of(request)
    counts = await ctx.store.run(_counts)
    mine = (0, 0)
    if ctx.member.can_write:
        q = await queue_for(ctx, "title-abstract", fresh=True)
        mine = q.progress(ctx.username)
    terms = await run_in_threadpool(decisions.terms, ctx.store.db)
    return render(request, "overview.html", ctx=ctx, title=f"Review {ctx.store.slug}", counts=counts,
                  mine_ta=mine, terms=terms)


async def save_terms(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    include = str(form.get("include", "")).splitlines()
    exclude = str(form.get("exclude", "")).splitlines()
    await run_in_threadpool(decisions.set_terms, ctx.store.db, include, exclude, actor=ctx.username)
    return RedirectResponse(f"/p/{ctx.store.slug}/", status_code=303)


routes = [
    Route("/p/{slug}/", overview, methods=["GET"]),
    Route("/p/{slug}/terms", save_terms, methods=["POST"]),
]
