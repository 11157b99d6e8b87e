"""The ``metakit`` command: one sub-command module per job, registered here."""

from __future__ import annotations

import typer

from metakit.cli.meta import meta_command
from metakit.cli.metareg import metareg_command
from metakit.cli.network import network_command
from metakit.cli.records import records_app
from metakit.cli.revman import revman_command
from metakit.cli.rob import app as rob_app
from metakit.cli.screen import prisma_command, screen_command

app = typer.Typer(help="metakit: systematic reviews and meta-analysis.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
app.command("meta")(meta_command)
app.command("metareg")(metareg_command)
app.command("network")(network_command)
app.add_typer(records_app, name="records")
app.command("screen")(screen_command)
app.command("prisma")(prisma_command)
app.add_typer(rob_app, name="rob")
app.command("revman")(revman_command)


def main() -> None:
    """Entry point of the ``metakit`` console script."""
    app()
