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
def dedup(threshold: list[str] = typer.Option([], "--threshold", help="A matching cut-off "
                                              "NAME=VALUE (title=0.9, author=0.85, "
                                              "min_title_len=25), repeatable; the rest keep "
                                              "their defaults"),
          project: str = _PROJECT) -> None:
    """Find and remove duplicates among the project's records."""
    from metakit.review.dedup import thresholds_from

    pairs = [t.split("=", 1) for t in threshold]
    bad = [t for t, kv in zip(threshold, pairs) if len(kv) != 2]
    if bad:
        raise typer.BadParameter(f"--threshold takes NAME=VALUE, got {bad[0]!r}")
    with _project(project, create=False) as p:
        typer.echo(p.dedup(thresholds=thresholds_from(dict(pairs))).summary())


@records_app.command("merge")
def merge(record_id: int = typer.Argument(..., help="The record to remove as a duplicate"),
          duplicate_of: int = typer.Argument(..., help="The record it duplicates (kept)"),
          note: str | None = typer.Option(None, "--note", help="Why (kept with the decision)"),
          project: str = _PROJECT) -> None:
    """Mark a record by hand as a duplicate of another (the dedup page's 'merge')."""
    with _project(project, create=False) as p:
        p.override(record_id, duplicate_of, note=note)
    typer.echo(f"record {record_id} removed as a duplicate of record {duplicate_of}")


@records_app.command("source-kind")
def source_kind(source: str | None = typer.Argument(None, help="A source (the --source of "
                                                   "its import), e.g. ClinicalTrials.gov"),
                kind: str | None = typer.Argument(None, help="database, register or other "
                                                 "(citation searching, websites)"),
                project: str = _PROJECT) -> None:
    """Declare a source a database, a register or other methods (PRISMA 2020's boxes);
    without arguments, list the sources and their kinds."""
    from metakit.review import screening as scr
    from metakit.review.sources import sources

    if (source is None) != (kind is None):
        raise typer.BadParameter("name the source and its kind, or neither to list them")
    with _project(project, create=False) as p:
        if source is not None:
            scr.set_source_kind(p, source, kind)
        rows = sources(p)
    for r in rows:
        typer.echo(f"{r['source_db']}\t{r['kind']}{'' if r['declared'] else ' (not declared)'}"
                   f"\t{r['n_records']} records")


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
