"""Login, logout and accepting an invitation."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from metakit.errors import DataError
from metakit.web import accounts, csrf, ratelimit, sessions
from metakit.web.guard import cookie_name, member_of, store_of
from metakit.web.templating import render

__all__ = ["routes"]


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _anon_token(request: Request) -> str:
    return request.cookies.get(csrf.ANON_COOKIE) or csrf.new_token()


def _with_anon_cookie(request: Request, response: Response, token: str) -> Response:
    if request.cookies.get(csrf.ANON_COOKIE) != token:
        response.set_cookie(csrf.ANON_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
    return response


async def _anon_form(request: Request) -> dict:
    form = await request.form()
    if not csrf.matches(request.cookies.get(csrf.ANON_COOKIE), form.get(csrf.FIELD)):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
    return dict(form)


def _safe_next(slug: str, target: str | None) -> str:
    home = f"/p/{slug}/"
    # only a path inside this project: no open redirect to another site or project
    if target and target.startswith(home) and "//" not in target and "\\" not in target:
        return target
    return home


async def login_page(request: Request) -> Response:
    store = store_of(request)
    token = _anon_token(request)
    resp = render(request, "login.html", title=f"Log in to {store.slug}", csrf=token,
                  next=_safe_next(store.slug, request.query_params.get("next")), username="")
    return _with_anon_cookie(request, resp, token)


async def login(request: Request) -> Response:
    store = store_of(request)
    form = await _anon_form(request)
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    ip = _client_ip(request)
    token = request.cookies[csrf.ANON_COOKIE]

    def again(error: str, status: int) -> Response:
        return render(request, "login.html", status_code=status, title=f"Log in to {store.slug}", csrf=token,
                      next=_safe_next(store.slug, form.get("next")), username=username, error=error)

    if await run_in_threadpool(ratelimit.blocked, store.db, username, ip):
        return again(f"Too many failed logins for {username!r} from this address; wait "
                     f"{ratelimit.WINDOW_MINUTES} minutes.", 429)
    try:
        member = await run_in_threadpool(accounts.authenticate, store.db, username, password)
    except accounts.AccessError as exc:
        await run_in_threadpool(ratelimit.fail, store.db, username, ip)
        return again(str(exc).capitalize() + ".", 401)
    await run_in_threadpool(ratelimit.clear, store.db, username, ip)
    sid, _ = await run_in_threadpool(sessions.start, store.db, member)
    resp = RedirectResponse(_safe_next(store.slug, form.get("next")), status_code=303)
    resp.set_cookie(cookie_name(store.slug), sid, httponly=True, samesite="lax",
                    secure=request.url.scheme == "https", path=f"/p/{store.slug}",
                    max_age=sessions.LIFETIME_HOURS * 3600)
    return resp


async def logout(request: Request) -> Response:
    ctx = await member_of(request)
    sid = request.cookies.get(cookie_name(ctx.store.slug), "")
    await run_in_threadpool(sessions.end, ctx.store.db, sid, actor=ctx.username)
    resp = RedirectResponse(f"/p/{ctx.store.slug}/login", status_code=303)
    resp.delete_cookie(cookie_name(ctx.store.slug), path=f"/p/{ctx.store.slug}")
    return resp


async def invite_page(request: Request) -> Response:
    store = store_of(request)
    token = request.path_params["token"]
    anon = _anon_token(request)
    try:
        terms = await run_in_threadpool(accounts.invitation_terms, store.db, token)
    except accounts.AccessError as exc:
        return render(request, "message.html", status_code=410, title="Invitation", error=str(exc).capitalize(),
                      back=None)
    resp = render(request, "invite.html", title=f"Join {store.slug}", csrf=anon, terms=terms, token=token,
                  username="", min_password=accounts.MIN_PASSWORD)
    return _with_anon_cookie(request, resp, anon)


async def accept(request: Request) -> Response:
    store = store_of(request)
    token = request.path_params["token"]
    form = await _anon_form(request)
    username = str(form.get("username", "")).strip()
    try:
        member = await run_in_threadpool(accounts.accept, store.db, token, username, str(form.get("password", "")))
    except accounts.AccessError as exc:
        return render(request, "message.html", status_code=410, title="Invitation", error=str(exc).capitalize(),
                      back=None)
    except DataError as exc:
        terms = await run_in_threadpool(accounts.invitation_terms, store.db, token)
        return render(request, "invite.html", status_code=400, title=f"Join {store.slug}",
                      csrf=request.cookies[csrf.ANON_COOKIE], terms=terms, token=token, username=username,
                      min_password=accounts.MIN_PASSWORD, error=exc.rule)
    sid, _ = await run_in_threadpool(sessions.start, store.db, member)
    resp = RedirectResponse(f"/p/{store.slug}/", status_code=303)
    resp.set_cookie(cookie_name(store.slug), sid, httponly=True, samesite="lax",
                    secure=request.url.scheme == "https", path=f"/p/{store.slug}",
                    max_age=sessions.LIFETIME_HOURS * 3600)
    return resp


routes = [
    Route("/p/{slug}/login", login_page, methods=["GET"]),
    Route("/p/{slug}/login", login, methods=["POST"]),
    Route("/p/{slug}/logout", logout, methods=["POST"]),
    Route("/p/{slug}/invite/{token}", invite_page, methods=["GET"]),
    Route("/p/{slug}/invite/{token}", accept, methods=["POST"]),
]
