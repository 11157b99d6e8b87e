"""``metakit records``: import search exports, deduplicate, show PRISMA counts."""

from __future__ import annotations

from pathlib import Path

import typer

records_app = typer.Typer(help="Search records: import, deduplicate, count.",
                          no_args_is_help=True)

_PROJECT = typer.Option(Path("review.db"), "--project", "-p",
                        help="The review project file (created when missing).")


@records_app.command("import")
def import_(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                        help="RIS, MEDLINE (.nbib), BibTeX, CSV or EndNote XML"),
            source: str | None = typer.Option(None, "--source", "-s",
                                                 help="Database name, e.g. Embase"),
            format: str | None = typer.Option(None, "--format", "-f",
                                                 help="ris, medline, bibtex, csv, endnote_xml"),
            encoding: str | None = typer.Option(None, help="Force a text encoding"),
            map_: list[str] = typer.Option([], "--map", help="CSV column: field=Column"),
            allow_repeat: bool = typer.Option(False, help="Import a file imported before"),
            project: Path = _PROJECT) -> None:
    """Import one search export into the project (all or nothing)."""
    from metakit.errors import DataError
    from metakit.review.store import Project

    mapping = dict(m.split("=", 1) for m in map_) or None
    with Project.open(project) as p:
        try:
            report = p.import_records(file, source=source, format=format,
                                      encoding=encoding, mapping=mapping,
                                      allow_repeat=allow_repeat)
        except DataError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(report.summary())


@records_app.command("dedup")
def dedup(project: Path = _PROJECT) -> None:
    """Find and remove duplicates among the project's records."""
    from metakit.review.store import Project

    with Project.open(project, create=False) as p:
        typer.echo(p.dedup().summary())


@records_app.command("undo")
def undo(decision_id: int, project: Path = _PROJECT) -> None:
    """Undo one deduplication decision (the record is kept again)."""
    from metakit.review.store import Project

    with Project.open(project, create=False) as p:
        p.undo_dedup(decision_id)
    typer.echo(f"decision {decision_id} undone")


@records_app.command("counts")
def counts(project: Path = _PROJECT) -> None:
    """Records identified per source and duplicates removed."""
    from metakit.review.store import Project

    with Project.open(project, create=False) as p:
        c = p.counts()
    for src, n in c["identified_by_source"].items():
        typer.echo(f"{src}: {n}")
    typer.echo(f"identified: {c['identified']}")
    typer.echo(f"duplicates removed: {c['duplicates_removed']}")
    typer.echo(f"after duplicates removed: {c['after_duplicates']}")
