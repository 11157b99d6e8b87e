"""Source kinds (owner): each search source declared a database, a register or other methods.

PRISMA 2020 counts records from databases, from registers and from other methods
(citation searching, websites) in separate boxes, and records from other methods go
straight to full-text assessment. ``GET /p/<slug>/sources`` lists the sources of the
imported records with their kind; ``POST`` declares one
(:func:`metakit.review.screening.set_source_kind`, as ``metakit records source-kind``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from metakit.errors import DataError
from metakit.review.sources import sources
from metakit.web.guard import member_of
from metakit.web.templating import add_nav, render

__all__ = ["routes"]

KINDS = ("database", "register", "other")

add_nav("Sources", "/sources", "owner", before="Duplicates")


def _set(project: Any, source_db: str, kind: str, actor: str) -> None:
    from metakit.review import screening as scr

    scr.set_source_kind(project, source_db, kind, actor=actor)


async def sources_page(request: Request, error: str | None = None, message: str | None = None,
                       status: int = 200) -> Response:
    ctx = await member_of(request, owner=True)
    rows = await ctx.store.run(sources)
    return render(request, "sources.html", status_code=status, ctx=ctx, title="Sources", rows=rows, kinds=KINDS,
                  error=error, message=message)


async def save_kind(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    request.scope["method"] = "GET"
    source_db = str(form.get("source_db", "")).strip()
    kind = str(form.get("kind", ""))
    try:
        if not source_db:
            raise DataError("name the source (the source_db of its records)", column="source_db")
        await ctx.store.run(_set, source_db, kind, ctx.username)
    except DataError as exc:
        return await sources_page(request, error=str(exc), status=400)
    for stage in ("title-abstract", "full-text"):
        ctx.store.versions[stage] = ctx.store.versions.get(stage, 0) + 1
    return await sources_page(request, message=f"{source_db} is now counted as: {kind}")


routes = [
    Route("/p/{slug}/sources", sources_page, methods=["GET"]),
    Route("/p/{slug}/sources", save_kind, methods=["POST"]),
]
