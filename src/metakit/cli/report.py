"""``metakit init`` and ``metakit run``: a review file in, the whole report out."""

from __future__ import annotations

from pathlib import Path

import typer

from metakit.errors import MetakitError


def init_command(
    folder: Path = typer.Argument(Path("."), help="Folder to write review.yaml and the extraction templates into."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
) -> None:
    """Write a commented starter review.yaml and extraction templates (CSV)."""
    from metakit.report.starter import STARTER_YAML, TEMPLATES

    files = {"review.yaml": STARTER_YAML, **TEMPLATES}
    existing = [name for name in files if (folder / name).exists()]
    if existing and not force:
        typer.echo(f"error: {', '.join(existing)} already exist(s) in {folder}; use --force to overwrite",
                   err=True)
        raise typer.Exit(2)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        typer.echo(folder / name)


def run_command(
    review: Path = typer.Argument(..., help="The review file (YAML); see `metakit init`."),
    out: Path = typer.Option(Path("out"), "-o", "--out", help="Output folder for the report, figures and tables."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Run every analysis of REVIEW and write the HTML report, figures (SVG+PNG), tables (CSV+XLSX)."""
    from rich.console import Console

    from metakit.report.runner import run_review
    from metakit.report.spec import read_spec

    err = Console(stderr=True)
    try:
        spec = read_spec(review)
    except MetakitError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    result = run_review(spec, out, progress=not quiet)
    for g in result.guardrails:
        err.print(f"[bold yellow]warning:[/] {g.where}: {g.title} (reason and what to do: see the report)",
                  highlight=False, soft_wrap=True)
    for f in result.failures:
        err.print(f"[bold red]failed:[/] {f.what}: {f.message}", highlight=False, soft_wrap=True)
    typer.echo(result.html)
    if result.failures:
        raise typer.Exit(1)
