"""Review-store fixtures: every store test runs on SQLite and on PostgreSQL.

``database_url`` (tests/conftest.py) is a fresh SQLite file, then a fresh PostgreSQL
schema; ``store`` is a :class:`~metakit.review.store.Project` open on it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from metakit.review.store import Project


@pytest.fixture
def store(database_url: str) -> Iterator[Project]:
    """An empty review store on the test's server."""
    with Project.open(database_url) as p:
        yield p
