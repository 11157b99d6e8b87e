"""``metakit serve``: the review team's web app; ``metakit team``: its accounts from the terminal."""

from __future__ import annotations

from pathlib import Path

import typer

team_app = typer.Typer(help="The review's team: invite, list, remove accounts (the web app's Team page).",
                       no_args_is_help=True)


def _open(target: str):  # noqa: ANN202 - Database, imported lazily
    import metakit.review.audit  # noqa: F401  (registers the trail's migration)
    import metakit.web.tables  # noqa: F401  (registers the accounts' migrations)
    from metakit.review.database import open_database

    if "://" not in target and not Path(target).exists():
        raise typer.BadParameter(f"{target} does not exist (name the store with --project)")
    return open_database(target)


def _base_url(host: str, port: int, slug: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{port}/p/{slug}"


def serve_command(
    stores: list[str] | None = typer.Argument(None, help="Review stores (SQLite files) to serve."),
    db: list[str] | None = typer.Option(None, "--db", help="A PostgreSQL review store (postgresql://...); repeatable."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    create: bool = typer.Option(False, "--create", help="Create a missing SQLite store (records are then imported "
                                "on the Imports page)."),
) -> None:
    """Serve review stores to the team in the browser, one project per store under /p/<name>/."""
    import uvicorn

    from metakit.errors import MetakitError
    from metakit.web import accounts
    from metakit.web.app import create_app
    from metakit.web.stores import ProjectStore

    targets = [*(stores or []), *(db or [])]
    if not targets:
        raise typer.BadParameter("name at least one review store (review.db) or --db postgresql://...")
    for t in targets:
        if "://" not in t and not Path(t).exists() and not create:
            raise typer.BadParameter(f"{t} does not exist: import records first (metakit records import FILE -p {t}), "
                                     "or pass --create to start an empty store")
    try:
        opened = [ProjectStore(t) for t in targets]
        app = create_app(opened)
    except MetakitError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    for s in opened:
        # the title/abstract queue (records, decisions, the model's features) is built before
        # the first reviewer arrives rather than on the first page
        s.warm()
        base = _base_url(host, port, s.slug)
        if not accounts.has_owner(s.db):
            inv = accounts.invite(s.db, "owner", actor="cli:serve", days=2)
            typer.echo(f"{s.slug}: no owner yet. Open this one-time link to create the owner's account "
                       f"(valid until {inv.expires_at}):\n  {inv.link(base)}")
        else:
            typer.echo(f"{s.slug}: {base}/")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@team_app.command("invite")
def invite_command(
    role: str = typer.Option("reviewer", "--role", help="owner, reviewer or viewer."),
    adjudicator: bool = typer.Option(False, "--adjudicator", help="A reviewer who may settle conflicts."),
    days: float = typer.Option(7.0, "--days", help="Days the link stays valid."),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="Where the team reaches the server."),
    project: str = typer.Option("review.db", "--project", "-p", help="The review store: a file or postgresql:// URL."),
) -> None:
    """Make a one-time invitation link and print it."""
    from metakit.errors import MetakitError
    from metakit.web import accounts
    from metakit.web.stores import slug_for

    database = _open(project)
    try:
        inv = accounts.invite(database, role, actor="cli", adjudicator=adjudicator, days=days)
    except MetakitError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    finally:
        database.dispose()
    typer.echo(f"{inv.role}{' (adjudicator)' if inv.adjudicator else ''}, valid until {inv.expires_at}, once:")
    typer.echo(inv.link(f"{url.rstrip('/')}/p/{slug_for(project)}"))


@team_app.command("list")
def list_command(
    project: str = typer.Option("review.db", "--project", "-p", help="The review store: a file or postgresql:// URL."),
) -> None:
    """List the review's members and their roles."""
    from metakit.web import accounts

    database = _open(project)
    try:
        people = accounts.members(database)
    finally:
        database.dispose()
    if not people:
        typer.echo("no members yet (metakit team invite --role owner, or metakit serve, makes the first link)")
    for m in people:
        typer.echo("\t".join([m.username, m.role, *(["adjudicator"] if m.adjudicator else [])]))


@team_app.command("remove")
def remove_command(
    username: str = typer.Argument(..., help="The account to remove (its decisions stay)."),
    project: str = typer.Option("review.db", "--project", "-p", help="The review store: a file or postgresql:// URL."),
) -> None:
    """Remove a member: the account can no longer log in; its decisions stay in the review."""
    from metakit.errors import MetakitError
    from metakit.web import accounts

    database = _open(project)
    try:
        accounts.remove(database, username, actor="cli")
    except MetakitError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    finally:
        database.dispose()
    typer.echo(f"{username} removed")
