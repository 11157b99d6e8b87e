"""Progress, agreement (Cohen's and Fleiss' kappa), stopping rules and the PRISMA diagram."""

from __future__ import annotations

import io
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from metakit.errors import MetakitError
from metakit.web.guard import member_of
from metakit.web.templating import render

__all__ = ["routes"]


def _kappa_text(k: Any) -> str:
    if math.isnan(k.kappa):
        return "not defined (every decision in one category)"
    lo, hi = k.confint()
    return f"{k.kappa:.3f} ({lo:.3f} to {hi:.3f})"


def _stage_summary(project: Any, stage: str, recall: float, confidence: float) -> dict[str, Any]:
    from metakit.review import screening as scr
    from metakit.review.stopping import screening_status

    status = screening_status(project, stage, recall=recall, confidence=confidence)
    d = scr.decisions(project, stage)
    d = d[d.adjudication == 0]
    per = d.drop_duplicates(["record_id", "reviewer"]).groupby("reviewer").size()
    kappas = [(f"{a} and {b}", {"n": k.n, "percent_agreement": k.p_observed, "shown": _kappa_text(k)})
              for (a, b), k in scr.agreement(project, stage).items()]
    fl = scr.fleiss_agreement(project, stage)
    fleiss = None if fl is None else {"n": fl.n_items, "shown": (
        "not defined" if math.isnan(fl.kappa) else f"{fl.kappa:.3f}")}
    return {"stage": stage, "status": status, "per_reviewer": [(str(k), int(v)) for k, v in per.items()],
            "kappas": kappas, "fleiss": fleiss, "verdicts": [v.summary() for v in status.verdicts]}


def _summaries(project: Any, recall: float, confidence: float) -> list[dict[str, Any]]:
    return [_stage_summary(project, s, recall, confidence) for s in ("title-abstract", "full-text")]


def _target(request: Request, name: str) -> float:
    """A stopping-rule target from the query (``metakit screen status --recall/--confidence``)."""
    raw = request.query_params.get(name) or "0.95"
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 < value < 1.0:
        raise MetakitError(f"{name} must be a proportion between 0 and 1 (e.g. 0.95), got {raw!r}")
    return value


async def progress_page(request: Request) -> Response:
    ctx = await member_of(request)
    try:
        recall, confidence = _target(request, "recall"), _target(request, "confidence")
        error, status = None, 200
    except MetakitError as exc:
        recall, confidence, error, status = 0.95, 0.95, str(exc), 400
    stages = await ctx.store.run(_summaries, recall, confidence)
    # agreement on few records tells a reviewer the other's decisions: screening is blind,
    # so kappa is shown to those who see decisions side by side anyway, and to viewers
    show_agreement = ctx.member.can_settle or ctx.member.role == "viewer"
    return render(request, "progress.html", status_code=status, ctx=ctx, title="Progress, agreement and stopping",
                  stages=stages, show_agreement=show_agreement, recall=recall, confidence=confidence, error=error)


def prisma_counts(project: Any) -> Any:
    """The PRISMA 2020 counts of the store now (raises while full-text conflicts are open)."""
    from metakit.review import screening as scr

    return scr.prisma_counts_from_store(project)


def prisma_svg(project: Any) -> tuple[bytes, str]:
    """The diagram as SVG bytes and a one-line text alternative."""
    from metakit.plots.prisma import prisma_flow

    counts = prisma_counts(project)
    fig = prisma_flow(counts)
    buf = io.BytesIO()
    fig.savefig(buf, format="svg")
    alt = "; ".join(f"{k}: {v}" for k, v in counts.to_dict().items() if not isinstance(v, dict) and v is not None)
    return buf.getvalue(), alt


async def prisma_page(request: Request) -> Response:
    ctx = await member_of(request)
    try:
        _, alt = await ctx.store.run(prisma_svg)
    except MetakitError as exc:
        return render(request, "prisma.html", ctx=ctx, title="PRISMA 2020 flow diagram", svg=False, alt="",
                      error=f"The diagram cannot be drawn yet: {exc}")
    return render(request, "prisma.html", ctx=ctx, title="PRISMA 2020 flow diagram", svg=True, alt=alt)


async def prisma_image(request: Request) -> Response:
    ctx = await member_of(request)
    try:
        svg, _ = await ctx.store.run(prisma_svg)
    except MetakitError as exc:
        return Response(str(exc), status_code=409, media_type="text/plain")
    return Response(svg, media_type="image/svg+xml")


routes = [
    Route("/p/{slug}/progress", progress_page, methods=["GET"]),
    Route("/p/{slug}/prisma", prisma_page, methods=["GET"]),
    Route("/p/{slug}/prisma.svg", prisma_image, methods=["GET"]),
]
