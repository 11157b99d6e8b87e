"""``metakit records``: import search exports, deduplicate, show PRISMA counts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # pragma: no cover
    from metakit.review.store import Project

records_app = typer.Typer(help="Search records: import, deduplicate, count.",
                          no_args_is_help=True)

_NEW_PROJECT = typer.Option("review.db", "--project", "-p",
                            help="The review store: a file (created when missing) or a "
                            "postgresql:// URL.")
_PROJECT = typer.Option("review.db", "--project", "-p",
                        help="The review store (made by `metakit records import`): a file "
                        "or a postgresql:// URL.")


@contextlib.contextmanager
def _project(path: str, *, create: bool) -> Iterator[Project]:
    """The open project; any metakit error becomes one line on stderr and exit code 1."""
    from metakit.errors import MetakitError
    from metakit.review.store import Project

    try:
        with Project.open(path, create=create) as p:
            yield p
    except MetakitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@records_app.command("import")
def import_(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                        help="RIS, MEDLINE (.nbib), BibTeX, CSV, EndNote XML, Web of Science (tagged or tab-delimited) or Ovid export"),
            source: str | None = typer.Option(None, "--source", "-s",
                                                 help="Database name, e.g. Embase"),
            format: str | None = typer.Option(None, "--format", "-f",
                                                 help="ris, medline, bibtex, csv, endnote_xml, wos, wos_tab, ovid"),
            encoding: str | None = typer.Option(None, help="Force a text encoding"),
            map_: list[str] = typer.Option([], "--map", help="CSV column: field=Column"),
            allow_repeat: bool = typer.Option(False, help="Import a file imported before"),
            project: str = _NEW_PROJECT) -> None:
    """Import one search export into the project (all or nothing)."""
    mapping = dict(m.split("=", 1) for m in map_) or None
    with _project(project, create=True) as p:
        report = p.import_records(file, source=source, format=format, encoding=encoding,
                                  mapping=mapping, allow_repeat=allow_repeat)
    typer.echo(report.summary())


@records_app.command("dedup")
def dedup(project: str = _PROJECT) -> None:
    """Find and remove duplicates among the project's records."""
    with _project(project, create=False) as p:
        typer.echo(p.dedup().summary())


@records_app.command("undo")
def undo(decision_id: int, project: str = _PROJECT) -> None:
    """Undo one deduplication decision (the record is kept again)."""
    with _project(project, create=False) as p:
        p.undo_dedup(decision_id)
    typer.echo(f"decision {decision_id} undone")


@records_app.command("counts")
def counts(project: str = _PROJECT) -> None:
    """Records identified per source and duplicates removed."""
    with _project(project, create=False) as p:
        c = p.counts()
    for src, n in c["identified_by_source"].items():
        typer.echo(f"{src}: {n}")
    typer.echo(f"identified: {c['identified']}")
    typer.echo(f"duplicates removed: {c['duplicates_removed']}")
    typer.echo(f"after duplicates removed: {c['after_duplicates']}")
