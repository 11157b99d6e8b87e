"""Full-text reports (owner): whether each report was retrieved, where, and which study it reports.

``GET /p/<slug>/reports`` lists the records that reach full-text screening (forwarded at
title/abstract or found by other methods) and every record with a report entry;
``POST .../reports`` records one report (:func:`metakit.review.screening.set_report`, as
``metakit screen retrieved|not-retrieved|study``). Several records given the same study id
are reports of one study (PRISMA 2020 counts studies and reports apart).
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

add_nav("Full-text reports", "/reports", "owner", before="Duplicates")


def _rows(project: Any) -> list[dict[str, Any]]:
    from metakit.review import screening as scr
    from metakit.review.tables import records as r
    from metakit.review.tables import reports as rep

    final = scr.final_decisions(project, "title-abstract")
    with project.db.read() as c:
        known = {row.record_id: dict(row._mapping) for row in c.execute(sa.select(rep))}
        wanted = sorted(set(final.index[final.final == "forward"].astype(int)) | set(scr._other_methods(c))
                        | set(known))
        titles = dict(c.execute(sa.select(r.c.id, r.c.title).where(r.c.id.in_(wanted))).all()) if wanted else {}
    empty = {"retrieved": None, "study_id": None, "location": None, "note": None, "updated_at": None}
    return [{**empty, **known.get(rid, {}), "record_id": rid, "title": titles.get(rid)} for rid in wanted]


def _set(project: Any, record_id: int, retrieved: bool, study_id: str | None, location: str | None,
         note: str | None, actor: str) -> None:
    from metakit.review import screening as scr
    from metakit.review.tables import records as r

    with project.db.read() as c:
        if c.execute(sa.select(r.c.id).where(r.c.id == record_id)).first() is None:
            raise DataError("no such record", study=record_id, column="record_id")
    scr.set_report(project, record_id, retrieved=retrieved, study_id=study_id, location=location, note=note,
                   actor=actor)


async def reports_page(request: Request, error: str | None = None, message: str | None = None,
                       status: int = 200) -> Response:
    ctx = await member_of(request, owner=True)
    rows = await ctx.store.run(_rows)
    return render(request, "reports.html", status_code=status, ctx=ctx, title="Full-text reports", rows=rows,
                  error=error, message=message)


async def save_report(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = {k: str(v).strip() for k, v in (await request.form()).items()}
    request.scope["method"] = "GET"
    try:
        try:
            record_id = int(form.get("record_id", ""))
        except ValueError:
            raise DataError(f"record_id must be a record's number, got {form.get('record_id')!r}",
                            column="record_id") from None
        if form.get("retrieved") not in ("yes", "no"):
            raise DataError(f"retrieved must be 'yes' or 'no', got {form.get('retrieved')!r}", study=record_id,
                            column="retrieved")
        retrieved = form["retrieved"] == "yes"
        await ctx.store.run(_set, record_id, retrieved, form.get("study_id") or None, form.get("location") or None,
                            form.get("note") or None, ctx.username)
    except DataError as exc:
        return await reports_page(request, error=str(exc), status=400)
    ctx.store.versions["full-text"] = ctx.store.versions.get("full-text", 0) + 1
    shown = "retrieved" if retrieved else "not retrieved"
    study = f", study {form['study_id']}" if form.get("study_id") else ""
    return await reports_page(request, message=f"record {record_id}: report {shown}{study}")


routes = [
    Route("/p/{slug}/reports", reports_page, methods=["GET"]),
    Route("/p/{slug}/reports", save_report, methods=["POST"]),
]
