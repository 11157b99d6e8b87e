"""The team page (owner): members, invitations, removal."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from metakit.errors import MetakitError
from metakit.web import accounts
from metakit.web.guard import member_of
from metakit.web.templating import render

__all__ = ["routes"]


async def team_page(request: Request, error: str | None = None, link: str | None = None,
                    message: str | None = None, status: int = 200) -> Response:
    ctx = await member_of(request, owner=True)
    people = await run_in_threadpool(accounts.members, ctx.store.db)
    return render(request, "team.html", status_code=status, ctx=ctx, title="Team", people=people,
                  link=link, error=error, message=message, roles=accounts.ROLES)


async def invite(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    request.scope["method"] = "GET"
    try:
        days = float(str(form.get("days") or 7))
        inv = await run_in_threadpool(accounts.invite, ctx.store.db, str(form.get("role", "")), actor=ctx.username,
                                      adjudicator=form.get("adjudicator") == "on", days=days)
    except (ValueError, MetakitError) as exc:
        return await team_page(request, error=str(exc), status=400)
    base = f"{request.url.scheme}://{request.url.netloc}/p/{ctx.store.slug}"
    return await team_page(request, link=inv.link(base),
                           message=f"Invitation as {inv.role} made; it works once, until {inv.expires_at} (UTC).")


async def remove(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    request.scope["method"] = "GET"
    username = str(form.get("username", ""))
    try:
        await run_in_threadpool(accounts.remove, ctx.store.db, username, actor=ctx.username)
    except MetakitError as exc:
        return await team_page(request, error=str(exc), status=400)
    return await team_page(request, message=f"{username} removed; their decisions stay in the review.")


routes = [
    Route("/p/{slug}/team", team_page, methods=["GET"]),
    Route("/p/{slug}/team/invite", invite, methods=["POST"]),
    Route("/p/{slug}/team/remove", remove, methods=["POST"]),
]
