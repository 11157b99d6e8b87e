"""Studies of a review: the unit that is extracted and assessed for risk of bias.

A study groups the included records that report it (screening's ``reports.study_id``, see
:mod:`metakit.review.screening`); a record with no ``study_id`` is its own study,
``"record N"``, the rule the PRISMA count of studies follows.

Tables (migration 201): ``studies(study_id, label, created_at)`` and
``study_records(study_id, record_id)``. ``label`` is what the exported sheets write in their
``study`` column (default: the study id).

Example
-------
>>> from metakit.review.database import open_database
>>> db = open_database("sqlite://")
>>> add_study(db, "Mao 2015", actor="ana", records=[12, 40])
>>> list_studies(db)[["study_id", "label", "records"]].values.tolist()
[['Mao 2015', 'Mao 2015', '12 40']]
>>> db.dispose()
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from metakit.errors import DataError
from metakit.review import audit
from metakit.review.database import Database, metadata, now, register_migration

if TYPE_CHECKING:
    import pandas as pd

    from metakit.review.store import Project

__all__ = ["STUDIES_VERSION", "add_study", "list_studies", "require_study", "studies_from_screening",
           "studies_table", "study_records_table"]

STUDIES_VERSION = 201

studies_table = sa.Table(
    "studies", metadata,
    sa.Column("study_id", sa.Text, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
)
study_records_table = sa.Table(
    "study_records", metadata,
    sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id"), primary_key=True),
    sa.Column("record_id", sa.Integer, primary_key=True, autoincrement=False),
)


def _create(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[studies_table, study_records_table])


register_migration(STUDIES_VERSION, _create)


def add_study(db: Database, study_id: str, *, actor: str, label: str | None = None,
              records: Iterable[int] = ()) -> None:
    """Add a study (or add records to it, or relabel it when ``label`` is given).

    Parameters
    ----------
    db
        The review store.
    study_id
        The study's id, as in screening's ``reports.study_id`` ("Mao 2015").
    actor
        Who adds it (audit trail).
    label
        The ``study`` column of exported sheets (default: ``study_id``).
    records
        Ids of the records that report it.
    """
    study_id = str(study_id).strip()
    if not study_id:
        raise DataError("the study id is empty", column="study_id")
    records = sorted({int(r) for r in records})
    with db.write() as conn:
        found = conn.execute(sa.select(studies_table.c.label).where(studies_table.c.study_id == study_id)
                             ).scalar_one_or_none()
        if found is None:
            conn.execute(sa.insert(studies_table).values(study_id=study_id, label=(label or study_id).strip(),
                                                         created_at=now()))
        elif label is not None and label.strip() != found:
            conn.execute(sa.update(studies_table).where(studies_table.c.study_id == study_id)
                         .values(label=label.strip()))
        have = set(conn.execute(sa.select(study_records_table.c.record_id)
                                .where(study_records_table.c.study_id == study_id)).scalars())
        new = [r for r in records if r not in have]
        if new:
            conn.execute(sa.insert(study_records_table), [{"study_id": study_id, "record_id": r} for r in new])
        if found is None or new or (label is not None and label.strip() != found):
            audit.record(conn, actor, "study.add", f"study:{study_id}",
                         {"label": label or found or study_id, "records": new})


def require_study(conn: sa.Connection, study_id: str) -> str:
    """The study's label; a :class:`DataError` when the store has no such study."""
    label = conn.execute(sa.select(studies_table.c.label).where(studies_table.c.study_id == study_id)
                         ).scalar_one_or_none()
    if label is None:
        raise DataError("the review has no such study (metakit extract studies --add)", study=study_id)
    return label


def list_studies(db: Database) -> pd.DataFrame:
    """Studies with their label and records (space-separated ids), in id order."""
    import pandas as pd

    with db.read() as conn:
        studies = conn.execute(sa.select(studies_table).order_by(studies_table.c.study_id)).all()
        links = conn.execute(sa.select(study_records_table).order_by(study_records_table.c.record_id)).all()
    records: dict[str, list[str]] = {}
    for s, r in links:
        records.setdefault(s, []).append(str(r))
    return pd.DataFrame([(s.study_id, s.label, " ".join(records.get(s.study_id, [])), s.created_at)
                         for s in studies], columns=["study_id", "label", "records", "created_at"])


def studies_from_screening(db: Database, project: Project, *, actor: str) -> list[str]:
    """Add a study for every included record (full-text decision include, resolved).

    Records sharing a ``reports.study_id`` make one study; a record without one is the study
    ``"record N"``. Returns the ids of the studies added or given new records.
    """
    from metakit.review.screening import final_decisions

    ft = final_decisions(project, "full-text")
    included = sorted(int(i) for i in ft.index[ft.final == "include"])
    with db.read() as conn:
        study_of = {} if not sa.inspect(conn).has_table("reports") else dict(
            conn.execute(sa.text("SELECT record_id, study_id FROM reports WHERE study_id IS NOT NULL")).all())
    groups: dict[str, list[int]] = {}
    for r in included:
        groups.setdefault(study_of.get(r) or f"record {r}", []).append(r)
    before = list_studies(db)
    have = {s: set(map(int, rec.split())) for s, rec in zip(before.study_id, before.records)}
    changed = [s for s, recs in groups.items() if not set(recs) <= have.get(s, set()) or s not in have]
    with db.write():
        for s in changed:
            add_study(db, s, actor=actor, records=groups[s])
    return changed
