"""Fixtures of the web app's tests (helpers in web_helpers.py).

Every store-backed fixture runs on SQLite and on PostgreSQL (``database_url``); accounts,
sessions, rate limit and audit use the data layer only and run on both today.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("starlette")
pytest.importorskip("argon2")

from argon2 import PasswordHasher  # noqa: E402
from web_helpers import Team, make_store  # noqa: E402

from metakit.web import accounts  # noqa: E402


@pytest.fixture(autouse=True)
def cheap_hashes() -> Iterator[None]:
    """argon2 with the smallest parameters: the tests log in hundreds of times."""
    accounts.set_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    accounts.set_hasher(None)


@pytest.fixture
def team(database_url: str) -> Iterator[Team]:
    from metakit.web.app import create_app

    target = make_store(database_url)
    app = create_app([target])
    t = Team(app, next(iter(app.state.stores)))
    yield t
    for s in app.state.stores.values():
        s.close()
