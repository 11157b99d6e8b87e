"""``metakit extract``: dual data extraction and RoB 2 assessments in the review store.

The same functions as the web app's pages (:mod:`metakit.review.extraction`,
:mod:`metakit.review.rob_assessment`), so a value entered here is the row the web app shows.
Every command names the store with ``-p`` (a SQLite file or a ``postgresql://`` URL) and
who acts with ``--as``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Dual data extraction and RoB 2 assessments: forms, entries, comparison, "
                       "reconciliation, export.", no_args_is_help=True)
rob_app = typer.Typer(help="RoB 2 assessments by two assessors, judged by the package's algorithm, reconciled.",
                      no_args_is_help=True)
app.add_typer(rob_app, name="rob")

PROJECT = typer.Option("review.db", "--project", "-p", help="The review store: a SQLite file or a postgresql:// URL.")
ACTOR = typer.Option(..., "--as", help="Who acts (recorded in the audit trail; entries are per person).")
STUDY = typer.Option(..., "--study", "-s", help="The study id (metakit extract studies lists them).")
OUTCOME = typer.Option("", "--outcome", help="The outcome assessed (empty: the study as a whole).")
SET = typer.Option(None, "--set", help="KEY=VALUE, repeatable (keys: metakit extract form --show).")
NOTE = typer.Option(None, "--why", help="KEY=TEXT, repeatable: why the agreed value of KEY was chosen.")
AS_JSON = typer.Option(False, "--json", help="Print JSON.")
REQUEST = typer.Option(None, "--request-id", help="An id that makes a retried command a no-op.")


def _db(target: str, create: bool = False) -> Any:
    from metakit.review.database import open_database

    return open_database(target, create=create)


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{option} takes KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def _fail(err: BaseException) -> None:
    from metakit.cli._data import fail

    fail(err)


def _run(body: Any) -> Any:
    """Run ``body()``; metakit's errors and refused reads become one ``error:`` line, status 1."""
    from metakit.errors import MetakitError

    try:
        return body()
    except (MetakitError, ValueError, OSError, PermissionError) as err:
        _fail(err)


def _values_file(path: Path | None) -> dict[str, object]:
    if path is None:
        return {}
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path.name} must hold a mapping of keys to values")
    return {str(k): v for k, v in data.items()}


# ---- extraction -----------------------------------------------------------------------------


@app.command("form")
def form_command(
    form: Path | None = typer.Argument(None, exists=True, dir_okay=False, help="The form (YAML) to keep in the store."),
    project: str = PROJECT,
    actor: str = typer.Option("owner", "--as", help="Who saves the form (audit trail)."),
    show: bool = typer.Option(False, "--show", help="Print the store's form: every key with its type and unit."),
) -> None:
    """Save the review's extraction form (a new version when it changed), or show it."""
    from metakit.review import extraction as ex
    from metakit.review.extraction_form import read_form

    def body() -> None:
        db = _db(project, create=True)
        if form is not None:
            version = ex.save_form(db, read_form(form), actor=actor)
            typer.echo(f"form version {version} saved in {db.url}")
        if show or form is None:
            f = ex.current_form(db)
            typer.echo(f.title)
            for s in f.slots:
                detail = s.field.type + (f" [{', '.join(s.field.choices)}]" if s.field.choices else "")
                detail += f" ({s.field.unit})" if s.field.unit else ""
                detail += ", required" if s.field.required else ""
                typer.echo(f"  {s.key}: {s.field.label} - {detail}")
            typer.echo(f"sheets: {', '.join(f'{k} ({len(v)} columns)' for k, v in f.sheets.items())}")
    _run(body)


@app.command("studies")
def studies_command(
    project: str = PROJECT,
    add: str | None = typer.Option(None, "--add", help="Add this study id."),
    label: str | None = typer.Option(None, "--label", help="With --add: the 'study' column of exported sheets."),
    records: str = typer.Option("", "--records", help="With --add: ids of the records reporting it, comma-separated."),
    from_screening: bool = typer.Option(False, "--from-screening", help="Add a study per included record (grouped by reports.study_id)."),
    actor: str = typer.Option("owner", "--as", help="Who adds (audit trail)."),
) -> None:
    """List the studies, add one, or add those screening included; with each one's extraction status."""
    from metakit.review import extraction as ex
    from metakit.review.studies import add_study, studies_from_screening

    def body() -> None:
        db = _db(project, create=add is not None)
        if add is not None:
            ids = [int(r) for r in records.replace(",", " ").split()]
            add_study(db, add, actor=actor, label=label, records=ids)
        if from_screening:
            from metakit.review.store import Project

            added = studies_from_screening(db, Project.open(project, create=False), actor=actor)
            typer.echo(f"{len(added)} studies added or given new records")
        frame = ex.status(db).fillna("")
        typer.echo(frame.to_string(index=False) if len(frame) else "no studies yet")
    _run(body)


@app.command("enter")
def enter_command(
    study: str = STUDY, actor: str = ACTOR, project: str = PROJECT, values: list[str] | None = SET,
    values_file: Path | None = typer.Option(None, "--values", exists=True, dir_okay=False, help="YAML mapping of KEY: VALUE."),
    submit: bool = typer.Option(False, "--submit", help="Submit the entry after saving (it is then final)."),
    request_id: str | None = REQUEST,
) -> None:
    """Enter (some of) your values for a study; --submit when your entry is complete."""
    from metakit.review import extraction as ex

    def body() -> None:
        db = _db(project)
        given = {**_values_file(values_file), **_pairs(values, "--set")}
        if given and not ex.enter(db, study, actor, given, request_id=request_id):
            typer.echo("request seen before: nothing written")
        if submit:
            ex.submit_entry(db, study, actor)
        shown = ex.entry(db, study, actor, reader=actor)
        typer.echo(f"{study}, {actor}: {len(shown)} values" + (", submitted" if submit else ""))
    _run(body)


@app.command("submit")
def submit_command(study: str = STUDY, actor: str = ACTOR, project: str = PROJECT) -> None:
    """Submit your entry for a study: required values are checked, and it is then final."""
    from metakit.review import extraction as ex

    _run(lambda: ex.submit_entry(_db(project), study, actor))
    typer.echo(f"{study}: {actor}'s entry submitted")


@app.command("show")
def show_command(
    study: str = STUDY, actor: str = ACTOR, project: str = PROJECT,
    extractor: str | None = typer.Option(None, "--extractor", help="Whose entry (default: yours); others' only once open."),
    as_json: bool = AS_JSON,
) -> None:
    """Print an entry's values with their units (yours, or another's once the comparison is open)."""
    from metakit.review import extraction as ex

    def body() -> None:
        db = _db(project)
        form = ex.current_form(db)
        values = ex.entry(db, study, extractor or actor, reader=actor, form=form)
        if as_json:
            typer.echo(json.dumps(values, indent=2))
            return
        for s in form.slots:
            if values.get(s.key) is not None:
                typer.echo(f"{s.key} = {values[s.key]}" + (f" {s.field.unit}" if s.field.unit else ""))
    _run(body)


@app.command("compare")
def compare_command(study: str = STUDY, actor: str = ACTOR, project: str = PROJECT, as_json: bool = AS_JSON) -> None:
    """Compare the two submitted entries of a study: agreement and each discrepancy."""
    from metakit.review import extraction as ex

    cmp = _run(lambda: ex.compare(_db(project), study, reader=actor))
    typer.echo(json.dumps(cmp.to_dict(), indent=2) if as_json else cmp.summary())


@app.command("reconcile")
def reconcile_command(
    study: str = STUDY, actor: str = ACTOR, project: str = PROJECT, values: list[str] | None = SET,
    notes: list[str] | None = NOTE, note: str | None = typer.Option(None, "--note", help="A note on the whole reconciliation."),
    request_id: str | None = REQUEST,
) -> None:
    """Record the agreed values of a study: --set KEY=VALUE for every discrepancy (compare lists them)."""
    from metakit.review import extraction as ex

    agreed = _run(lambda: ex.reconcile(_db(project), study, actor, choices=_pairs(values, "--set"),
                                       notes=_pairs(notes, "--why"), note=note, request_id=request_id))
    typer.echo(f"{study}: {len(agreed)} agreed values recorded by {actor}")


@app.command("export")
def export_command(
    sheet: str | None = typer.Argument(None, help="The form's sheet (binary, continuous, ...); none for a form without outcomes."),
    output: Path = typer.Option(..., "-o", "--output", help="The file to write: .csv or .xlsx."),
    project: str = PROJECT,
) -> None:
    """Write the agreed values of the reconciled studies in the sheet's columns (metakit meta reads it)."""
    import warnings

    from metakit.errors import MetakitWarning
    from metakit.review import extraction as ex

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MetakitWarning)
        n = _run(lambda: ex.export_sheet(_db(project), sheet, output))
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    typer.echo(f"wrote {output} ({n} rows)")


# ---- RoB 2 ----------------------------------------------------------------------------------


@rob_app.command("questions")
def rob_questions(variant: str = typer.Option("assignment", "--variant", help="assignment or adherence (domain 2).")) -> None:
    """Print the RoB 2 signalling questions per domain."""
    from metakit.review import rob_assessment as ra

    for key, name, qs in _run(lambda: ra.questions(variant)):
        typer.echo(f"{key} {name}")
        for q, text in qs:
            typer.echo(f"  {q} {text}")


@rob_app.command("answer")
def rob_answer(
    study: str = STUDY, actor: str = ACTOR, outcome: str = OUTCOME, project: str = PROJECT,
    answers: list[str] | None = typer.Option(None, "--set", help="QUESTION=ANSWER (1.1=Y), repeatable; Y PY PN N NI NA."),
    variant: str | None = typer.Option(None, "--variant", help="Domain 2 variant: assignment (default) or adherence."),
    submit: bool = typer.Option(False, "--submit", help="Submit after saving (every reached question answered)."),
    request_id: str | None = REQUEST,
) -> None:
    """Answer signalling questions; prints the algorithm's judgements so far."""
    from metakit.review import rob_assessment as ra

    def body() -> dict[str, str | None]:
        db = _db(project)
        ra.answer(db, study, outcome, actor, _pairs(answers, "--set"), variant=variant, request_id=request_id)
        if submit:
            ra.submit_assessment(db, study, outcome, actor)
        return ra.judgements(ra.assessor_answers(db, study, outcome, actor, reader=actor), study)

    judged = _run(body)
    typer.echo(", ".join(f"{d} {j or 'pending'}" for d, j in judged.items()))


@rob_app.command("submit")
def rob_submit(study: str = STUDY, actor: str = ACTOR, outcome: str = OUTCOME, project: str = PROJECT) -> None:
    """Submit your assessment: it is then final."""
    from metakit.review import rob_assessment as ra

    _run(lambda: ra.submit_assessment(_db(project), study, outcome, actor))
    typer.echo(f"{study}: {actor}'s assessment submitted")


@rob_app.command("compare")
def rob_compare(study: str = STUDY, actor: str = ACTOR, outcome: str = OUTCOME, project: str = PROJECT,
                as_json: bool = AS_JSON) -> None:
    """Compare the two submitted assessments: judgements side by side and differing answers."""
    from metakit.review import rob_assessment as ra

    cmp = _run(lambda: ra.compare_assessments(_db(project), study, outcome, reader=actor))
    typer.echo(json.dumps(cmp.to_dict(), indent=2) if as_json else cmp.summary())


@rob_app.command("reconcile")
def rob_reconcile(
    study: str = STUDY, actor: str = ACTOR, outcome: str = OUTCOME, project: str = PROJECT,
    answers: list[str] | None = typer.Option(None, "--set", help="QUESTION=ANSWER for every differing answer."),
    notes: list[str] | None = NOTE, note: str | None = typer.Option(None, "--note", help="A note on the reconciliation."),
    request_id: str | None = REQUEST,
) -> None:
    """Record the agreed answers; prints the agreed judgements."""
    from metakit.review import rob_assessment as ra

    a = _run(lambda: ra.reconcile_assessment(_db(project), study, outcome, actor, choices=_pairs(answers, "--set"),
                                             notes=_pairs(notes, "--why"), note=note, request_id=request_id))
    typer.echo(", ".join(f"{d} {j}" for d, j in a.domains.items()) + f", Overall {a.overall}")


@rob_app.command("status")
def rob_status(project: str = PROJECT) -> None:
    """List the assessments begun: who submitted, who is answering, who reconciled."""
    from metakit.review import rob_assessment as ra

    frame = _run(lambda: ra.status(_db(project)))
    typer.echo(frame.fillna("").to_string(index=False) if len(frame) else "no assessment begun yet")


@rob_app.command("export")
def rob_export(output: Path = typer.Option(..., "-o", "--output", help="The RoB 2 sheet to write: .csv or .xlsx."),
               project: str = PROJECT) -> None:
    """Write the reconciled assessments as the sheet metakit rob and the report read."""
    from metakit.review import rob_assessment as ra

    n = _run(lambda: ra.export_assessments(_db(project), output))
    typer.echo(f"wrote {output} ({n} assessments)")
