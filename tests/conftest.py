"""Fixtures shared by every test folder.

``database_url`` gives each test a fresh review database, once as a SQLite file and once
as a PostgreSQL schema, for the tests of the data layer and everything built on it.
PostgreSQL comes from ``METAKIT_TEST_POSTGRES`` (a URL to a database the tests may create
schemas in; ``.ci/run`` starts Debian's server and sets it). Without it the PostgreSQL
cases are skipped, unless ``METAKIT_REQUIRE_POSTGRES=1`` (set by CI), where they fail:
CI must never pass by skipping them. ``chromium`` does the same for Debian's Chromium
(``METAKIT_REQUIRE_CHROMIUM=1``), driven through playwright.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest


def postgres_base_url() -> str | None:
    url = os.environ.get("METAKIT_TEST_POSTGRES")
    if not url and os.environ.get("METAKIT_REQUIRE_POSTGRES") == "1":
        pytest.fail("METAKIT_REQUIRE_POSTGRES=1 but METAKIT_TEST_POSTGRES is not set")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    base = postgres_base_url()
    if not base:
        pytest.skip("PostgreSQL not available (set METAKIT_TEST_POSTGRES)")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(sa.make_url(base).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A fresh review database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "review.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def chromium() -> str:
    """The path of Debian's Chromium for browser tests (playwright drives it)."""
    required = os.environ.get("METAKIT_REQUIRE_CHROMIUM") == "1"
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if required:
            pytest.fail("METAKIT_REQUIRE_CHROMIUM=1 but chromium or playwright is missing")
        pytest.skip("no chromium (or no playwright) on this machine")
    return path


@pytest.fixture
def new_store_url(database_url: str, tmp_path) -> Iterator[Callable[[], str]]:
    """A function returning a fresh, empty store's URL on ``database_url``'s server."""
    import sqlalchemy as sa

    schemas: list[str] = []
    if "://" not in database_url:
        names = iter(range(1, 1000))
        yield lambda: str(tmp_path / f"store{next(names)}.db")
        return
    base = postgres_base_url()
    admin = sa.create_engine(sa.make_url(base).set(drivername="postgresql+psycopg"))
    sep = "&" if "?" in base else "?"

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"

    try:
        yield make
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
