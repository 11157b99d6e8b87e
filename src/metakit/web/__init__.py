"""``metakit serve``: the review team's web app over a review store.

Modules, one job each: :mod:`~metakit.web.app` (the app factory),
:mod:`~metakit.web.stores` (the served stores and their worker threads),
:mod:`~metakit.web.tables` (accounts tables, migrations 300+),
:mod:`~metakit.web.accounts` (invitations, passwords, roles),
:mod:`~metakit.web.sessions` (server-side login sessions), :mod:`~metakit.web.csrf`,
:mod:`~metakit.web.ratelimit` (failed logins), :mod:`~metakit.web.guard` (who may do
what), :mod:`~metakit.web.queue` (the prioritised next record, refitted in the
background), :mod:`~metakit.web.decisions` (screening writes with the audit trail),
:mod:`~metakit.web.templating` and :mod:`~metakit.web.pages` (one module per area).
The web stack (starlette, uvicorn, argon2-cffi, python-multipart) is the ``web`` extra and
is imported only here.
"""
