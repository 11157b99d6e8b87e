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
    pdf: bool = typer.Option(False, "--pdf", help="Also write report.pdf (needs the extra: pip install 'metakit\\[pdf]'); or list pdf in the review file's output.formats."),
    docx: bool = typer.Option(False, "--docx", help="Also write report.docx, the report's tables as Word tables (needs the extra: pip install 'metakit\\[docx]'); or list docx in output.formats."),
) -> None:
    """Run every analysis of REVIEW and write the HTML report, figures (SVG+PNG), tables (CSV+XLSX).

    Prints the path of the HTML report, then of the PDF and DOCX when written.
    """
    from rich.console import Console
    from rich.markup import escape

    from metakit.report.runner import run_review
    from metakit.report.spec import read_spec

    err = Console(stderr=True)
    try:
        spec = read_spec(review)
        result = run_review(spec, out, progress=not quiet,
                            formats=[f for f, on in (("pdf", pdf), ("docx", docx)) if on])
    except MetakitError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    for g in result.guardrails:
        err.print(f"[bold yellow]warning:[/] {escape(g.where)}: {escape(g.title)} (reason and what to do: see the report)",
                  highlight=False, soft_wrap=True)
    for f in result.failures:
        err.print(f"[bold red]failed:[/] {escape(f.what)}: {escape(f.message)}", highlight=False, soft_wrap=True)
    for path in result.files.values():
        typer.echo(path)
    if result.failures:
        raise typer.Exit(1)
