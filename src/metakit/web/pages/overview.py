"""The project's overview page and the owner's highlighted terms."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from metakit.errors import MetakitError
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
    reasons = await ctx.store.run(_reasons)
    return render(request, "overview.html", ctx=ctx, title=f"{ctx.store.slug}: overview", counts=counts,
                  mine_ta=mine, terms=terms, reasons=reasons, error=request.query_params.get("error"),
                  message=request.query_params.get("message"))


def _reasons(project: Any) -> dict[str, list[str]]:
    from metakit.review import screening as scr

    return {stage: scr.reasons(project, stage) for stage in scr.STAGES}


def _define(project: Any, ta: list[str], ft: list[str], actor: str) -> None:
    from metakit.review import screening as scr

    scr.define_reasons(project, "title-abstract", ta, actor=actor)
    scr.define_reasons(project, "full-text", ft, actor=actor)


async def save_reasons(request: Request) -> Response:
    from urllib.parse import quote

    ctx = await member_of(request, owner=True)
    form = await request.form()
    lists = [[r for r in str(form.get(k, "")).splitlines() if r.strip()] for k in ("title_abstract", "full_text")]
    try:
        await ctx.store.run(_define, *lists, ctx.username)
    except MetakitError as exc:
        return RedirectResponse(f"/p/{ctx.store.slug}/?error={quote(str(exc))}", status_code=303)
    return RedirectResponse(f"/p/{ctx.store.slug}/", status_code=303)


def _design_filter(project: Any, actor: str) -> str:
    from metakit.review import screening as scr

    return scr.apply_design_filter(project, actor=actor).summary()


async def design_filter(request: Request) -> Response:
    from urllib.parse import quote

    ctx = await member_of(request, owner=True)
    summary = await ctx.store.run(_design_filter, ctx.username)
    for stage in ("title-abstract", "full-text"):
        ctx.store.versions[stage] = ctx.store.versions.get(stage, 0) + 1
    return RedirectResponse(f"/p/{ctx.store.slug}/?message={quote(summary)}", status_code=303)


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
    Route("/p/{slug}/reasons", save_reasons, methods=["POST"]),
    Route("/p/{slug}/design-filter", design_filter, methods=["POST"]),
]
