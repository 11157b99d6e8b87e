"""Dual data extraction in the review store: form, blind entries, comparison, agreed sheet.

The workflow (the same from the CLI, ``metakit extract``, and from the web app):

1. :func:`save_form` keeps the review's extraction form (:mod:`metakit.review.extraction_form`)
   in the store; a changed form is a new version, the latest one is used.
2. Two extractors :func:`enter` values per study, each value typed and checked against the
   form as it is entered, then :func:`submit` their entry (required values checked). Until
   two entries are submitted neither extractor can read the other's values
   (:mod:`metakit.review.dual_entry`'s blinding rule).
3. :func:`compare` lists, per value, what each extractor entered and whether they agree.
4. :func:`reconcile` records the agreed value of every item: where the extractors agree,
   their value; where they differ, the value the reconciler chose or typed (with a note).
5. :func:`agreed_sheet` / :func:`export_sheet` write the reconciled studies in the columns of
   the form's sheet, the CSV (or XLSX) that ``metakit meta`` and ``metakit run`` read.

Every write names its actor (audit trail, :mod:`metakit.review.audit`) and takes an optional
``request_id`` (a retried request writes nothing twice).

Example
-------
>>> from metakit.review.database import open_database
>>> from metakit.review.studies import add_study
>>> db = open_database("sqlite://")
>>> save_form(db, "form: F\\nstudy_fields:\\n  - {name: year, type: integer}\\n", actor="owner")
1
>>> add_study(db, "Mao 2015", actor="owner")
>>> for who, year in (("ana", 2015), ("ben", 2016)):
...     _ = enter(db, "Mao 2015", who, {"year": year})
...     _ = submit_entry(db, "Mao 2015", who)
>>> compare(db, "Mao 2015", reader="carla").discrepancies
('year',)
>>> _ = reconcile(db, "Mao 2015", "carla", choices={"year": 2015}, notes={"year": "methods section"})
>>> agreed_sheet(db, None).values.tolist()
[['Mao 2015', 2015]]
>>> db.dispose()
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metakit.errors import DataError, MetakitWarning
from metakit.review import audit
from metakit.review import dual_entry as dual
from metakit.review.database import Database, metadata, now, register_migration
from metakit.review.extraction_form import Form, parse_form
from metakit.review.studies import studies_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Comparison", "FORMS_VERSION", "agreed_sheet", "compare", "current_form", "enter", "entry",
           "export_sheet", "reconcile", "save_form", "status", "submit_entry"]

FORMS_VERSION = 203
KIND = "extraction"

forms_table = sa.Table(
    "extraction_forms", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("saved_by", sa.Text, nullable=False),
    sa.Column("saved_at", sa.Text, nullable=False),
)


def _create(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[forms_table])


register_migration(FORMS_VERSION, _create)


def _target(study_id: str) -> dual.Target:
    return dual.Target(KIND, str(study_id).strip())


def save_form(db: Database, form: Form | str, *, actor: str) -> int:
    """Keep ``form`` (a :class:`Form` or its YAML text) as the review's form; its version number.

    Saving the same text again keeps the version. Values already entered stay: they are
    addressed by key, and a key the new form lacks is no longer shown nor exported.
    """
    text = form.text if isinstance(form, Form) else form
    parse_form(text)
    with db.write() as conn:
        last = conn.execute(sa.select(forms_table).order_by(forms_table.c.version.desc()).limit(1)).first()
        if last is not None and last.text == text:
            return last.version
        version = 1 if last is None else last.version + 1
        conn.execute(sa.insert(forms_table).values(version=version, text=text, saved_by=actor, saved_at=now()))
        audit.record(conn, actor, "extraction.form", f"form:{version}", {"version": version})
    return version


def current_form(db: Database) -> Form:
    """The latest saved form; a :class:`DataError` when none was saved."""
    with db.read() as conn:
        text = conn.execute(sa.select(forms_table.c.text).order_by(forms_table.c.version.desc()).limit(1)
                            ).scalar_one_or_none()
    if text is None:
        raise DataError("the review has no extraction form yet (metakit extract form FORM.yaml)", column="form")
    return parse_form(text, "the review's form")


def _parse_all(form: Form, study_id: str, values: Mapping[str, object]) -> dict[str, str | None]:
    return {key: form.parse_value(key, value, study=study_id) for key, value in values.items()}


def enter(db: Database, study_id: str, extractor: str, values: Mapping[str, object], *,
          request_id: str | None = None, form: Form | None = None) -> bool:
    """Set some of ``extractor``'s values for a study (key -> value; None or "" clears one).

    Each value is checked against its field (type, range, choices) and the entry against the
    cross-field rules (``at_most``) before anything is written. Returns False when
    ``request_id`` was seen before (nothing written).

    Raises
    ------
    DataError
        Naming the study, the key and the rule broken; or when the entry was submitted.
    """
    form = form or current_form(db)
    parsed = _parse_all(form, study_id, values)
    return dual.write_values(db, _target(study_id), extractor, parsed, request_id=request_id,
                             check=lambda v: form.check(_known(form, v), study_id, complete=False))


def _known(form: Form, values: Mapping[str, str | None]) -> dict[str, str | None]:
    keys = {s.key for s in form.slots}
    return {k: v for k, v in values.items() if k in keys}


def submit_entry(db: Database, study_id: str, extractor: str, *, request_id: str | None = None,
                 form: Form | None = None) -> bool:
    """Submit ``extractor``'s entry for the study (required values checked); it is then final."""
    form = form or current_form(db)
    return dual.submit(db, _target(study_id), extractor, request_id=request_id,
                       check=lambda v: form.check(_known(form, v), study_id, complete=True))


def entry(db: Database, study_id: str, extractor: str, *, reader: str,
          form: Form | None = None) -> dict[str, str | None]:
    """``extractor``'s values for the study, as ``reader`` may see them (blinding rule).

    Raises :class:`~metakit.review.dual_entry.BlindError` when ``reader`` may not see them yet.
    """
    form = form or current_form(db)
    return _known(form, dual.entry_values(db, _target(study_id), extractor, reader=reader))


@dataclass(frozen=True)
class Comparison:
    """Two extractors' values for one study, value by value.

    Attributes
    ----------
    study
        The study id.
    extractors
        The two extractors compared.
    rows
        One per value of the form: (key, column, outcome, arm, unit, first's value,
        second's value, agree). Values are the stored text (None when empty).
    """

    study: str
    extractors: tuple[str, str]
    rows: tuple[tuple[str, str, str | None, str | None, str | None, str | None, str | None, bool], ...]

    @property
    def compared(self) -> tuple[str, ...]:
        """Keys that at least one extractor filled."""
        return tuple(r[0] for r in self.rows if r[5] is not None or r[6] is not None)

    @property
    def discrepancies(self) -> tuple[str, ...]:
        """Keys where the two entries differ (one empty and one filled is a discrepancy)."""
        return tuple(r[0] for r in self.rows if not r[7])

    @property
    def agreement(self) -> float:
        """Share of the compared values on which the extractors agree (NaN when none compared)."""
        n = len(self.compared)
        return float("nan") if n == 0 else (n - len(self.discrepancies)) / n

    def to_frame(self) -> pd.DataFrame:
        """One row per value: key, column, outcome, arm, unit, one column per extractor, agree."""
        import pandas as pd

        a, b = self.extractors
        return pd.DataFrame(list(self.rows), columns=["key", "column", "outcome", "arm", "unit", a, b, "agree"])

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view (JSON-ready)."""
        return {"study": self.study, "extractors": list(self.extractors), "agreement": self.agreement,
                "discrepancies": list(self.discrepancies),
                "rows": [dict(zip(("key", "column", "outcome", "arm", "unit", "first", "second", "agree"), r))
                         for r in self.rows]}

    def summary(self) -> str:
        """One paragraph: agreement and the discrepancies with both values."""
        a, b = self.extractors
        n = len(self.compared)
        head = (f"{self.study}: {a} and {b} agree on {n - len(self.discrepancies)} of {n} values"
                + (f" ({self.agreement:.0%})." if n else "."))
        lines = [head] + [f"  {r[0]}: {a} {r[5] if r[5] is not None else '(empty)'}, "
                          f"{b} {r[6] if r[6] is not None else '(empty)'}" + (f" {r[4]}" if r[4] else "")
                          for r in self.rows if not r[7]]
        return "\n".join(lines)


def _pair(db: Database, study_id: str, extractors: Sequence[str] | None) -> tuple[str, str]:
    submitted = [p for p, at in dual.people(db, _target(study_id)) if at is not None]
    if extractors is not None:
        pair = tuple(str(e).strip() for e in extractors)
        if len(pair) != 2 or pair[0] == pair[1]:
            raise DataError("compare two different extractors", study=study_id)
        late = [e for e in pair if e not in submitted]
        if late:
            raise DataError(f"{late[0]} has not submitted an entry for this study", study=study_id)
        return pair[0], pair[1]
    if len(submitted) < 2:
        raise dual.BlindError(f"study {study_id!r}: {len(submitted)} entr{'y' if len(submitted) == 1 else 'ies'} "
                              "submitted; the comparison opens when two are")
    if len(submitted) > 2:
        raise DataError(f"{len(submitted)} extractors submitted ({', '.join(submitted)}): name the two to "
                        "compare", study=study_id)
    return submitted[0], submitted[1]


def compare(db: Database, study_id: str, *, reader: str, extractors: Sequence[str] | None = None,
            form: Form | None = None) -> Comparison:
    """Compare the two submitted entries of a study, read by ``reader`` (blinding rule)."""
    form = form or current_form(db)
    a, b = _pair(db, study_id, extractors)
    va = entry(db, study_id, a, reader=reader, form=form)
    vb = entry(db, study_id, b, reader=reader, form=form)
    rows = tuple((s.key, s.column, s.outcome, s.arm, s.field.unit, va.get(s.key), vb.get(s.key),
                  va.get(s.key) == vb.get(s.key)) for s in form.slots)
    return Comparison(str(study_id).strip(), (a, b), rows)


def reconcile(db: Database, study_id: str, reconciler: str, *, choices: Mapping[str, object] | None = None,
              notes: Mapping[str, str] | None = None, note: str | None = None,
              extractors: Sequence[str] | None = None, request_id: str | None = None,
              form: Form | None = None) -> dict[str, str | None]:
    """Record the agreed values of a study; returns them (key -> stored text).

    Parameters
    ----------
    choices
        Key -> the agreed value, required for every discrepancy; also allowed where the
        extractors agree (the reconciler corrects both). A value equal to one extractor's is
        recorded as ``chosen``, another as ``typed``; a key left out where they agree takes
        their common value (``agreed``).
    notes
        Key -> why (kept with the agreed value).
    note
        A note on the whole reconciliation.

    Raises
    ------
    DataError
        Naming the discrepancies left unsettled, or a value that breaks the form.
    BlindError
        When fewer than two entries are submitted.
    """
    form = form or current_form(db)
    choices, notes = dict(choices or {}), dict(notes or {})
    cmp = compare(db, study_id, reader=reconciler, extractors=extractors, form=form)
    unknown = [k for k in list(choices) + list(notes) if k not in {s.key for s in form.slots}]
    if unknown:
        form.slot(unknown[0])
    rows = dual.settle([r[0] for r in cmp.rows], {r[0]: r[5] for r in cmp.rows}, {r[0]: r[6] for r in cmp.rows},
                       _parse_all(form, study_id, choices), notes, study_id)
    values = {k: v[0] for k, v in rows.items()}
    form.check(values, study_id, complete=True)
    dual.save_agreed(db, _target(study_id), reconciler, rows, note=note, request_id=request_id)
    return values


def status(db: Database) -> pd.DataFrame:
    """Per study: its extractors (submitted or not) and whether it is reconciled, by whom."""
    import pandas as pd

    with db.read() as conn:
        studies = conn.execute(sa.select(studies_table.c.study_id, studies_table.c.label)
                               .order_by(studies_table.c.study_id)).all()
    state = {r["study_id"]: r for r in dual.overview(db, KIND)}
    rows = [(study_id, label, *(state.get(study_id, {}).get(c) or (None if c.startswith("reconciled") else "")
                                for c in ("submitted", "in_progress", "reconciled_by", "reconciled_at")))
            for study_id, label in studies]
    return pd.DataFrame(rows, columns=["study_id", "label", "submitted", "in_progress", "reconciled_by",
                                       "reconciled_at"])


def agreed_sheet(db: Database, sheet: str | None, *, form: Form | None = None) -> pd.DataFrame:
    """The reconciled studies in the columns of ``sheet``: one row per study and outcome reported.

    ``sheet`` is a sheet of the form (an outcome's ``sheet``); ``None`` for a form without
    outcomes, which gives one row per study of its study fields. Numbers come back as
    numbers (integer columns as pandas' nullable ``Int64``), empty values as missing. A study
    not yet reconciled is left out with a :class:`~metakit.errors.MetakitWarning` naming it;
    a study whose agreed values miss a required one is an error naming it.
    """
    import pandas as pd

    form = form or current_form(db)
    agreed = dual.agreed_values(db, KIND)
    with db.read() as conn:
        labels = dict(conn.execute(sa.select(studies_table.c.study_id, studies_table.c.label)).all())
    pending = sorted(s for s in labels if (s, "") not in agreed)
    if pending:
        warnings.warn(f"{len(pending)} stud{'y is' if len(pending) == 1 else 'ies are'} not reconciled and left "
                      f"out of the sheet: {', '.join(pending[:10])}{' ...' if len(pending) > 10 else ''}",
                      MetakitWarning, stacklevel=2)
    if sheet is None:
        if form.outcomes:
            raise DataError(f"name the sheet to export ({', '.join(form.sheets)})", column="sheet")
        columns = ("study", *(f.name for f in form.study_fields))
        outcomes: tuple = (None,)
    else:
        outcomes = form.outcomes_of(sheet)
        columns = form.sheets[sheet]
    study_slots = [s for s in form.slots if s.outcome is None]
    records = []
    for study_id in sorted(s for s, _ in agreed):
        # checked again against the current form: a field's type or range may have changed
        # since the values were agreed
        values = _parse_all(form, study_id, _known(form, agreed[(study_id, "")]))
        form.check(values, study_id, complete=True)
        for o in outcomes:
            own = [s for s in form.slots if o is not None and s.outcome == o.name]
            if o is not None and all(values.get(s.key) is None for s in own):
                continue  # the study does not report this outcome
            row = {"study": labels.get(study_id, study_id)}
            row.update({s.column: values.get(s.key) for s in study_slots})
            if o is not None:
                row["outcome"] = o.name
                row.update({s.column: values.get(s.key) for s in own})
            records.append(row)
    frame = pd.DataFrame(records, columns=list(columns))
    types = {s.column: s.field.type for s in form.slots if s.outcome is None or
             any(o is not None and s.outcome == o.name for o in outcomes)}
    for column, kind in types.items():
        if column not in frame:
            continue
        if kind == "integer":
            frame[column] = pd.to_numeric(frame[column]).astype("Int64")
        elif kind == "number":
            frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame


def export_sheet(db: Database, sheet: str | None, path: str | Path, *, form: Form | None = None) -> int:
    """Write :func:`agreed_sheet` to ``path`` (.csv, or .xlsx); the number of rows written."""
    path = Path(path)
    frame = agreed_sheet(db, sheet, form=form)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix in (".xlsx", ".xlsm"):
        frame.to_excel(path, index=False, sheet_name=sheet or "studies")
    else:
        raise DataError(f"cannot write {path.name}: use .csv or .xlsx")
    return len(frame)
