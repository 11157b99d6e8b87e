"""The web app: :func:`create_app` serves one or more review stores under ``/p/<slug>/``.

Starlette rather than FastAPI: the app renders HTML forms on the server and has no JSON
API to describe, so FastAPI's request models and OpenAPI schema would add a dependency
(pydantic) and a layer without use; Starlette is the part of FastAPI the app needs
(routing, requests, responses, static files, the test client).

Example
-------
>>> import tempfile, pathlib
>>> from starlette.testclient import TestClient
>>> with tempfile.TemporaryDirectory() as d:
...     app = create_app([pathlib.Path(d) / "onfh.db"])
...     with TestClient(app) as client:
...         client.get("/p/onfh/", follow_redirects=False).headers["location"]
'/p/onfh/login?next=/p/onfh/'
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from metakit.web.guard import LoginRequired
from metakit.web.stores import ProjectStore, check_slugs
from metakit.web.templating import render

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"

#: Page modules under ``metakit.web.pages``, each exposing ``routes``; extraction and risk of
#: bias add theirs here (and their navigation entries with ``templating.add_nav``).
PAGE_MODULES: tuple[str, ...] = ("auth", "overview", "screening", "conflicts", "progress", "records", "extraction",
                                  "rob", "removals", "reports", "sources", "team")


async def _index(request: Request) -> Response:
    return render(request, "index.html", title="metakit review server", stores=sorted(request.app.state.stores))


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/p/{exc.slug}/login?next={quote(exc.path)}", status_code=303)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.headers.get("hx-request") == "true" or exc.status_code == 404 and "/static/" in request.url.path:
        return Response(exc.detail, status_code=exc.status_code, media_type="text/plain")
    return render(request, "message.html", status_code=exc.status_code, title="Refused" if exc.status_code in
                  (401, 403) else "Not found" if exc.status_code == 404 else "Error", error=exc.detail, back=None)


def create_app(targets: Sequence[str | Path] | Sequence[ProjectStore]) -> Starlette:
    """The ASGI app serving these review stores (paths, URLs or open stores).

    Parameters
    ----------
    targets
        SQLite paths or ``postgresql://`` URLs (or already open :class:`ProjectStore`).

    Returns
    -------
    starlette.applications.Starlette
    """
    from importlib import import_module

    stores = [t if isinstance(t, ProjectStore) else ProjectStore(t) for t in targets]
    check_slugs(stores)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for s in stores:
            s.close()

    routes = [Route("/", _index), Mount("/static", StaticFiles(directory=STATIC), name="static")]
    for name in PAGE_MODULES:
        routes.extend(import_module(f"metakit.web.pages.{name}").routes)
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={LoginRequired: _login_required, HTTPException: _http_error})
    app.state.stores = {s.slug: s for s in stores}
    return app
