"""Jinja2 templates of the web app (``metakit/web/templates``), autoescaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

__all__ = ["NAV", "render", "templates"]

TEMPLATES = Path(__file__).parent / "templates"

#: Navigation entries (label, path under /p/<slug>, who sees it: 'all', 'write' or
#: 'owner'). Other areas (extraction, risk of bias) add theirs with :func:`add_nav`.
NAV: list[tuple[str, str, str]] = [
    ("Overview", "/", "all"),
    ("Screen titles/abstracts", "/screen/title-abstract", "write"),
    ("Screen full texts", "/screen/full-text", "write"),
    ("Conflicts", "/conflicts/title-abstract", "settle"),
    ("Progress", "/progress", "all"),
    ("PRISMA", "/prisma", "all"),
    ("Imports", "/imports", "owner"),
    ("Duplicates", "/dedup", "owner"),
    ("Exports", "/exports", "all"),
    ("Team", "/team", "owner"),
]


def add_nav(label: str, path: str, who: str = "all", *, before: str | None = "Team") -> None:
    """Add a navigation entry (e.g. extraction's pages), placed before ``before``."""
    entry = (label, path, who)
    if entry in NAV:
        return
    names = [n for n, _, _ in NAV]
    NAV.insert(names.index(before) if before in names else len(NAV), entry)


_env: Any = None


def templates() -> Any:
    """The Jinja2 environment (built once)."""
    global _env
    if _env is None:
        import jinja2

        _env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                  undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return _env


def _visible(member: Any, who: str) -> bool:
    if member is None:
        return False
    return (who == "all" or (who == "write" and member.can_write) or (who == "settle" and member.can_settle)
            or (who == "owner" and member.role == "owner"))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template; the context gets ``nav``, ``slug``, ``member`` and ``csrf``."""
    ctx = context.get("ctx")
    member = ctx.member if ctx is not None else None
    slug = request.path_params.get("slug", "")
    context.setdefault("error", None)
    context.setdefault("message", None)
    context.setdefault("csrf", ctx.session.csrf if ctx is not None else context.get("csrf", ""))
    context.update(
        request=request, slug=slug, member=member,
        nav=[(label, f"/p/{slug}{path}") for label, path, who in NAV
             if _visible(member, who)],
        path=request.url.path)
    html = templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)
