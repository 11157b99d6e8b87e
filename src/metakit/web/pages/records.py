"""Imports (upload a search export), the dedup review (merge or keep), exports."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from metakit.errors import MetakitError
from metakit.review import audit
from metakit.web.guard import Context, member_of
from metakit.web.templating import render

__all__ = ["routes"]

#: Dedup reasons that rest on an identifier: the pairs the web app does not ask about.
SURE_REASONS = ("doi", "pmid", "doi+pmid")


def _audit(ctx: Context, action: str, target: str | None, detail: dict[str, Any]) -> None:
    with ctx.store.db.write() as conn:
        audit.record(conn, ctx.username, action, target, detail)


def _bump(ctx: Context) -> None:
    for stage in ("title-abstract", "full-text"):
        ctx.store.versions[stage] = ctx.store.versions.get(stage, 0) + 1


# ------------------------------------------------------------------ imports
def _imports(project: Any) -> list[dict[str, Any]]:
    frame = project.imports()
    return [{"id": int(i), "file": r["file"], "source_db": r["source_db"], "format": r["format"],
             "imported_at": r["imported_at"], "n_records": int(r["n_records"]), "n_errors": int(r["n_errors"])}
            for i, r in frame.iterrows()]


async def imports_page(request: Request, error: str | None = None, message: str | None = None,
                       status: int = 200) -> Response:
    ctx = await member_of(request, owner=True)
    rows = await ctx.store.run(_imports)
    return render(request, "imports.html", status_code=status, ctx=ctx, title="Imports", rows=rows, formats=FORMATS,
                  error=error, message=message)


#: the formats ``metakit records import --format`` takes
FORMATS = ("ris", "medline", "bibtex", "csv", "endnote_xml", "wos", "wos_tab", "ovid")


def _import_options(form: Any) -> dict[str, Any]:
    """The import's options from the form, as ``metakit records import`` takes them."""
    fmt = str(form.get("format") or "").strip() or None
    if fmt is not None and fmt not in FORMATS:
        raise MetakitError(f"format must be one of {', '.join(FORMATS)} (or empty: guessed), got {fmt!r}")
    lines = [ln.strip() for ln in str(form.get("map") or "").splitlines() if ln.strip()]
    bad = [ln for ln in lines if "=" not in ln]
    if bad:
        raise MetakitError(f"column map lines are field=Column, got {bad[0]!r}")
    return {"source": str(form.get("source") or "").strip() or None, "format": fmt,
            "encoding": str(form.get("encoding") or "").strip() or None,
            "mapping": dict(ln.split("=", 1) for ln in lines) or None,
            "allow_repeat": form.get("allow_repeat") == "on"}


def _import_file(project: Any, path: Path, options: dict[str, Any], actor: str) -> Any:
    return project.import_records(path, actor=actor, **options)


async def upload(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    upload_ = form.get("file")
    request.scope["method"] = "GET"
    if upload_ is None or isinstance(upload_, str) or not upload_.filename:
        return await imports_page(request, error="Choose a search export file to import.", status=400)
    try:
        options = _import_options(form)
    except MetakitError as exc:
        return await imports_page(request, error=str(exc), status=400)
    name = Path(upload_.filename).name
    data = await upload_.read()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(data)
        try:
            report = await ctx.store.run(_import_file, path, options, ctx.username)
        except MetakitError as exc:
            return await imports_page(request, error=f"{name}: {exc}", status=400)
        # the upload's own name, not the temporary copy's path
        summary = report.summary().replace(str(path), name)
    _bump(ctx)
    return await imports_page(request, message=summary)


def _import_decisions(project: Any, path: Path, reviewer: str | None) -> Any:
    from metakit.review import screening as scr

    return scr.import_csv(project, path, reviewer=reviewer)


async def upload_decisions(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    upload_ = form.get("file")
    reviewer = str(form.get("reviewer") or "").strip() or None
    request.scope["method"] = "GET"
    if upload_ is None or isinstance(upload_, str) or not upload_.filename:
        return await imports_page(request, error="Choose a CSV of screening decisions to import.", status=400)
    name = Path(upload_.filename).name
    data = await upload_.read()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(data)
        try:
            result = await ctx.store.run(_import_decisions, path, reviewer)
        except MetakitError as exc:
            return await imports_page(request, error=f"{name}: {exc}", status=400)
    await run_in_threadpool(_audit, ctx, "screening.import", f"file:{name}",
                            {"reviewer": reviewer, "summary": result.summary()})
    _bump(ctx)
    for q in list(ctx.store.queues.values()):
        q.close()
    ctx.store.queues.clear()
    return await imports_page(request, message=result.summary())


# ---------------------------------------------------------------- dedup review
def _unsure(project: Any) -> list[dict[str, Any]]:
    d = project.decisions(include_undone=False)
    d = d[(d.kind == "duplicate") & (d.method == "auto") & ~d.reason.astype(str).isin(SURE_REASONS)]
    d = d.sort_values("score", na_position="first")
    if d.empty:
        return []
    recs = project.records()
    fields = ("title", "authors", "year", "journal", "volume", "pages", "doi", "pmid", "source_db")

    def show(rid: int) -> dict[str, Any]:
        r = recs.loc[rid]
        out = {f: r.get(f) for f in fields}
        out["authors"] = "; ".join(out["authors"][:3]) if isinstance(out["authors"], list) else out["authors"]
        out["id"] = int(rid)
        return out

    return [{"decision_id": int(i), "reason": r.reason, "score": r.score, "removed": show(int(r.record_id)),
             "kept": show(int(r.duplicate_of))} for i, r in d.head(200).iterrows()]


async def dedup_page(request: Request, error: str | None = None, message: str | None = None,
                     status: int = 200) -> Response:
    ctx = await member_of(request, owner=True)
    from metakit.review.dedup import Thresholds

    pairs = await ctx.store.run(_unsure)
    return render(request, "dedup.html", status_code=status, ctx=ctx, title="Duplicates to check", pairs=pairs,
                  thresholds=Thresholds().__dict__, error=error, message=message)


def _run_dedup(project: Any, values: dict[str, str], actor: str) -> str:
    from metakit.review.dedup import thresholds_from

    return project.dedup(thresholds=thresholds_from(values), actor=actor).summary()


async def dedup_run(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    request.scope["method"] = "GET"
    # the cut-offs left empty keep their defaults (as `metakit records dedup --threshold`)
    values = {k[len("threshold_"):]: str(v) for k, v in form.items()
              if k.startswith("threshold_") and str(v).strip()}
    try:
        summary = await ctx.store.run(_run_dedup, values, ctx.username)
    except MetakitError as exc:
        return await dedup_page(request, error=str(exc), status=400)
    _bump(ctx)
    return await dedup_page(request, message=summary)


def _undo_decision(project: Any, decision_id: int, note: str | None, actor: str) -> None:
    project.undo_dedup(decision_id, note=note, actor=actor)


async def dedup_undo(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    request.scope["method"] = "GET"
    try:
        try:
            decision_id = int(str(form.get("decision_id", "")))
        except ValueError:
            raise MetakitError(f"decision_id must be a deduplication decision's number, "
                               f"got {form.get('decision_id')!r}") from None
        note = str(form.get("note") or "").strip() or None
        await ctx.store.run(_undo_decision, decision_id, note, ctx.username)
    except MetakitError as exc:
        return await dedup_page(request, error=str(exc), status=400)
    _bump(ctx)
    return await dedup_page(request, message=f"decision {decision_id} undone")


def _settle_pair(project: Any, decision_id: int, action: str, actor: str) -> None:
    d = project.decisions(include_undone=False)
    if decision_id not in d.index or d.loc[decision_id, "kind"] != "duplicate":
        raise MetakitError(f"deduplication decision {decision_id} is not an active duplicate decision")
    rid, dup_of = int(d.loc[decision_id, "record_id"]), int(d.loc[decision_id, "duplicate_of"])
    if action == "keep":
        project.undo_dedup(decision_id, note="web: not duplicates", actor=actor)
    else:
        project.override(rid, dup_of, note="web: duplicates confirmed", actor=actor)


async def dedup_settle(request: Request) -> Response:
    ctx = await member_of(request, owner=True)
    form = await request.form()
    action = str(form.get("action", ""))
    request.scope["method"] = "GET"
    try:
        decision_id = int(str(form.get("decision_id", "")))
        if action not in ("keep", "merge"):
            raise MetakitError(f"action must be 'keep' or 'merge', got {action!r}")
        await ctx.store.run(_settle_pair, decision_id, action, ctx.username)
    except (ValueError, MetakitError) as exc:
        return await dedup_page(request, error=str(exc), status=400)
    _bump(ctx)
    return RedirectResponse(f"/p/{ctx.store.slug}/dedup", status_code=303)


# --------------------------------------------------------------------- exports
async def exports_page(request: Request) -> Response:
    ctx = await member_of(request)
    return render(request, "exports.html", ctx=ctx, title="Exports")


def _export(project: Any, kind: str, stage: str | None, reviewer: str | None) -> str:
    from metakit.review import screening as scr

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "out.csv"
        if kind == "screening":
            scr.export_csv(project, path, stage)
        elif kind == "pending":
            scr.export_pending(project, path, stage or "title-abstract", reviewer)
        return path.read_text(encoding="utf-8")


def _unfinished_csv(project: Any) -> str:
    from metakit.review import screening as scr

    return scr.unfinished(project).to_csv()


def _prisma_csv(project: Any) -> str:
    from metakit.web.pages.progress import prisma_counts

    frame = prisma_counts(project).to_frame()
    buf = io.StringIO()
    frame.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def _audit_csv(ctx: Context, filters: dict[str, str | None]) -> str:
    import json

    frame = audit.trail(ctx.store.db, **filters)
    # the detail as JSON, as `metakit audit -o trail.csv` writes it
    return frame.assign(detail=[json.dumps(x, ensure_ascii=False, sort_keys=True) for x in frame.detail]).to_csv()


async def export(request: Request) -> Response:
    kind = request.path_params["kind"]
    # decisions of every reviewer and the records still to screen are the owner's;
    # the PRISMA counts are every member's
    ctx = await member_of(request, owner=kind in ("screening", "pending", "audit", "unfinished"))
    # the filters of `metakit screen export --stage --reviewer` and of `metakit audit`
    q = {k: (request.query_params.get(k) or None) for k in ("stage", "reviewer", "actor", "action", "target",
                                                           "since")}
    try:
        if kind == "audit":
            text = await run_in_threadpool(_audit_csv, ctx, {k: q[k] for k in ("actor", "action", "target",
                                                                               "since")})
        elif kind == "prisma":
            text = await ctx.store.run(_prisma_csv)
        elif kind == "unfinished":
            text = await ctx.store.run(_unfinished_csv)
        elif kind in ("screening", "pending"):
            text = await ctx.store.run(_export, kind, q["stage"], q["reviewer"])
        else:
            return Response("unknown export", status_code=404, media_type="text/plain")
    except MetakitError as exc:
        return Response(str(exc), status_code=409, media_type="text/plain")
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{ctx.store.slug}-{kind}.csv"'})


routes = [
    Route("/p/{slug}/imports", imports_page, methods=["GET"]),
    Route("/p/{slug}/imports", upload, methods=["POST"]),
    Route("/p/{slug}/imports/decisions", upload_decisions, methods=["POST"]),
    Route("/p/{slug}/dedup", dedup_page, methods=["GET"]),
    Route("/p/{slug}/dedup/run", dedup_run, methods=["POST"]),
    Route("/p/{slug}/dedup/settle", dedup_settle, methods=["POST"]),
    Route("/p/{slug}/dedup/undo", dedup_undo, methods=["POST"]),
    Route("/p/{slug}/exports", exports_page, methods=["GET"]),
    Route("/p/{slug}/export/{kind}.csv", export, methods=["GET"]),
]
