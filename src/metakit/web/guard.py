"""Who may do what: the request's project, its logged-in member, CSRF and role checks.

Every page goes through :func:`member_of`. An anonymous visitor of a page is sent to the
project's login page (303), an anonymous or forged write is refused (401/403); a viewer
writes nothing; settling conflicts needs an owner or an adjudicator; team, imports,
dedup and exports of decisions need the owner. The session cookie is per project (its
path is ``/p/<slug>``, and the session row lives in that project's store), so a login
to one project opens nothing in another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from metakit.web import csrf, sessions
from metakit.web.stores import ProjectStore

__all__ = ["Context", "LoginRequired", "cookie_name", "member_of", "store_of"]


class LoginRequired(Exception):
    """Raised for an anonymous page view; the app answers with a redirect to the login."""

    def __init__(self, slug: str, path: str) -> None:
        self.slug, self.path = slug, path


@dataclass(frozen=True)
class Context:
    """The project and the logged-in member of a request."""

    store: ProjectStore
    session: sessions.Session

    @property
    def member(self) -> Any:
        """The logged-in member."""
        return self.session.member

    @property
    def username(self) -> str:
        """The member's username (the ``reviewer`` of the screening tables)."""
        return self.session.member.username


def cookie_name(slug: str) -> str:
    """The session cookie of one project."""
    return f"metakit_{slug.replace('-', '_')}"


def store_of(request: Request) -> ProjectStore:
    """The served project named by the URL (404 when none)."""
    store = request.app.state.stores.get(request.path_params.get("slug"))
    if store is None:
        raise HTTPException(404, "no such project on this server")
    return store


async def member_of(request: Request, *, write: bool = False, owner: bool = False,
                    settle: bool = False) -> Context:
    """Check the request's login and rights; POST requests also need the CSRF token.

    Parameters
    ----------
    write
        Owners and reviewers only (not viewers).
    owner
        The project's owner only.
    settle
        Owners and adjudicators only.
    """
    from starlette.concurrency import run_in_threadpool

    store = store_of(request)
    sid = request.cookies.get(cookie_name(store.slug))
    session = await run_in_threadpool(sessions.current, store.db, sid)
    if session is None:
        if request.method == "GET":
            raise LoginRequired(store.slug, request.url.path)
        raise HTTPException(401, "log in first")
    if request.method != "GET":
        given = request.headers.get(csrf.HEADER)
        if given is None:
            form = await request.form()
            given = form.get(csrf.FIELD)
        if not csrf.matches(session.csrf, given if isinstance(given, str) else None):
            raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
    m = session.member
    if owner and m.role != "owner":
        raise HTTPException(403, "only the project's owner may do this")
    if settle and not m.can_settle:
        raise HTTPException(403, "only the owner or an adjudicator settles conflicts")
    if write and not m.can_write:
        raise HTTPException(403, "viewers read; they do not write")
    return Context(store, session)
