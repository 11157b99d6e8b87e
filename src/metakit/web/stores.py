"""The review stores a server serves: one per project, each with its own worker thread.

A :class:`ProjectStore` holds the open :class:`metakit.review.store.Project` (records,
dedup, screening) and its :class:`metakit.review.database.Database` (``project.db``: the
web app's tables and the audit trail). Writes through the ``Project`` run on the store's
own worker thread, which keeps the screening queue's in-memory state consistent with the
order of the writes. Reads (the next card, account and session look-ups) go through the
``Database`` (a pooled engine, safe from any thread) on the thread pool, so they overlap
instead of queueing behind the writes.

The slug that names a project in URLs (``/p/<slug>/``) is the file's stem or the
PostgreSQL database's name.

Example
-------
>>> slug_for("reviews/ONFH 2024.db"), slug_for("postgresql://team@db.example.org/onfh")
('onfh-2024', 'onfh')
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import metakit.review.audit  # noqa: F401  (registers the audit trail's migration)
import metakit.review.extraction  # noqa: F401  (registers the extraction and RoB tables' migrations)
import metakit.web.tables  # noqa: F401  (registers the web app's migrations)
from metakit.errors import DataError
from metakit.review.database import Database, to_url

__all__ = ["ProjectStore", "slug_for"]

T = TypeVar("T")


def slug_for(target: str | Path) -> str:
    """The URL name of a store: file stem or database name, lower case, [a-z0-9-]."""
    url = to_url(target)
    name = Path(url.database or "review").stem if url.get_backend_name() == "sqlite" else (url.database or "review")
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "review"


class ProjectStore:
    """One served review store.

    Parameters
    ----------
    target
        A SQLite path or a ``postgresql://`` URL.
    slug
        The URL name; :func:`slug_for` of ``target`` when None.
    """

    def __init__(self, target: str | Path, slug: str | None = None) -> None:
        from metakit.review.store import Project

        self.target = str(target)
        self.slug = slug or slug_for(target)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"metakit-{self.slug}")
        self.project = self._worker.submit(Project.open, target).result()
        self.db: Database = self.project.db
        self.queues: dict[str, Any] = {}
        # bumped when a stage's pool may change (imports, dedup, title/abstract decisions)
        self.versions: dict[str, int] = {}
        self.skipped: dict[tuple[str, str], set[int]] = {}

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(project, *args, **kwargs)`` on the store's worker thread and wait."""
        return self._worker.submit(fn, self.project, *args, **kwargs).result()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """:meth:`call` without blocking the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, functools.partial(fn, self.project, *args, **kwargs))

    def warm(self) -> None:
        """Build the title/abstract screening queue now (its features on a background thread)."""
        from metakit.web.queue import StageQueue

        if "title-abstract" not in self.queues:
            q = self.call(StageQueue, "title-abstract")
            q.version = self.versions.get("title-abstract", 0)
            self.queues["title-abstract"] = q

    def close(self) -> None:
        """Stop the rankers, close the project and the database."""
        for q in self.queues.values():
            q.close()
        self._worker.submit(self.project.close).result()
        self._worker.shutdown()


def check_slugs(stores: list[ProjectStore]) -> None:
    """Refuse two stores with the same URL name."""
    seen: dict[str, str] = {}
    for s in stores:
        if s.slug in seen:
            raise DataError(f"{s.target} and {seen[s.slug]} would both be served as /p/{s.slug}; "
                            "rename one file", column="db")
        seen[s.slug] = s.target
