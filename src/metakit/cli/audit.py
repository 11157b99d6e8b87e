"""``metakit audit``: print or export the audit trail of a review store."""

from __future__ import annotations

from pathlib import Path

import typer


def audit_command(
    project: str = typer.Option("review.db", "--project", "-p",
                                help="the review store: a file or a postgresql:// URL"),
    actor: str | None = typer.Option(None, "--actor", help="only this actor (a reviewer, "
                                     "or cli:LOGIN)"),
    action: str | None = typer.Option(None, "--action", help="only this action, or a "
                                      "prefix ending in '.' (screening.)"),
    target: str | None = typer.Option(None, "--target", help="only this target (record:12)"),
    since: str | None = typer.Option(None, "--since", help="only rows at or after this ISO "
                                     "date/time"),
    output: Path | None = typer.Option(None, "-o", "--output", help="write the trail to a "
                                       ".csv or .json file instead of printing it"),
) -> None:
    """Who wrote what, and when: every screening and deduplication write of the store.

    \b
    metakit audit -p review.db
    metakit audit -p review.db --actor ann --action screening.
    metakit audit -p postgresql://team@db.example.org/onfh -o trail.csv
    """
    import json

    from rich.console import Console
    from rich.table import Table

    from metakit.errors import MetakitError
    from metakit.review.audit import trail
    from metakit.review.store import Project

    if "://" not in project and not Path(project).exists():
        typer.echo(f"error: {project} does not exist", err=True)
        raise typer.Exit(1)
    try:
        with Project.open(project, create=False) as p:
            frame = trail(p.db, actor=actor, action=action, target=target, since=since)
    except MetakitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if output is not None:
        if output.suffix.lower() == ".json":
            output.write_text(frame.reset_index().to_json(orient="records", force_ascii=False,
                                                          indent=1), encoding="utf-8")
        elif output.suffix.lower() == ".csv":
            out = frame.assign(detail=[json.dumps(d, ensure_ascii=False, sort_keys=True)
                                       for d in frame.detail])
            out.to_csv(output, encoding="utf-8")
        else:
            typer.echo(f"error: {output}: write the trail to a .csv or .json file", err=True)
            raise typer.Exit(1)
        typer.echo(f"{len(frame)} audit rows written to {output}")
        return
    table = Table(title=f"Audit trail: {len(frame)} rows")
    for col in ("id", "at", "actor", "action", "target", "detail"):
        table.add_column(col)
    for rid, row in frame.iterrows():
        detail = ", ".join(f"{k}={v}" for k, v in row["detail"].items() if v is not None)
        table.add_row(str(rid), row["at"], row["actor"], row["action"], str(row["target"] or ""),
                      detail)
    Console().print(table)
