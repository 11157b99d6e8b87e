"""CSRF protection: every form and every htmx request carries a token the server checks.

A logged-in session has its own random token (stored with the session); pages put it in
each form as ``csrf_token`` and in the ``X-CSRF-Token`` header of htmx requests. Forms
shown before login (login, accepting an invitation) use the double-submit rule: a random
token in a cookie (HttpOnly, SameSite=Strict) must equal the one in the form. The
comparison is constant-time. SameSite cookies are a second line, not the only one
(OWASP CSRF prevention cheat sheet).

Example
-------
>>> matches("abc", "abc"), matches("abc", None), matches("", "")
(True, False, False)
"""

from __future__ import annotations

import hmac
import secrets

__all__ = ["FIELD", "HEADER", "ANON_COOKIE", "matches", "new_token"]

FIELD = "csrf_token"
HEADER = "x-csrf-token"
ANON_COOKIE = "metakit_csrf"


def new_token() -> str:
    """A fresh random token."""
    return secrets.token_urlsafe(32)


def matches(expected: str | None, given: str | None) -> bool:
    """Whether ``given`` is the (non-empty) ``expected`` token."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
