"""The sources of a store's records and their declared kind (database, register, other).

PRISMA 2020 counts records identified from databases, from registers and by other
methods apart (Page et al. 2021, BMJ 372:n71); a source nobody declared counts as a
database (:func:`metakit.review.screening.set_source_kind` declares one).

Example
-------
>>> import tempfile, pathlib
>>> from metakit.review.store import Project
>>> with tempfile.TemporaryDirectory() as d, Project.open(pathlib.Path(d) / "r.db") as p:
...     _ = p.add_import([{"title": "A trial", "year": 2020}], file="s.ris", source_db="MEDLINE",
...                      format="ris")
...     sources(p)
[{'source_db': 'MEDLINE', 'n_records': 1, 'kind': 'database', 'declared': False}]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metakit.review.tables import records, source_kinds

if TYPE_CHECKING:  # pragma: no cover
    from metakit.review.store import Project

__all__ = ["sources"]


def sources(project: Project) -> list[dict[str, Any]]:
    """Each source of the records (and each declared one): records, kind, declared or not."""
    with project.db.read() as c:
        counts = dict(c.execute(sa.select(records.c.source_db, sa.func.count())
                                .group_by(records.c.source_db)).all())
        kinds = dict(c.execute(sa.select(source_kinds.c.source_db, source_kinds.c.kind)).all())
    names = sorted(n for n in {*counts, *kinds} if n is not None)
    return [{"source_db": s, "n_records": int(counts.get(s, 0)), "kind": kinds.get(s, "database"),
             "declared": s in kinds} for s in names]
