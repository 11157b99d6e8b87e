"""The ``metakit`` command: one sub-command module per job, registered in :data:`COMMANDS`.

A sub-command's module is imported only when that sub-command runs, so ``metakit
--help`` or ``metakit records import`` never load pandas, scipy or matplotlib for the
statistics commands. To add a sub-command, add one row to :data:`COMMANDS`.
"""

from __future__ import annotations

from importlib import import_module

import typer
from typer.core import TyperCommand, TyperGroup

#: name -> (module, attribute, one-line help for ``metakit --help``). The attribute is a
#: command function or a ``typer.Typer`` (then a group of commands).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "meta": ("metakit.cli.meta", "meta_command",
             "Meta-analyse DATA and print a RevMan-style summary (or JSON with --json)."),
    "metareg": ("metakit.cli.metareg", "metareg_command",
                "Meta-regression of DATA on moderators (--mods \"~ age + C(stage)\"), bubble plots."),
    "records": ("metakit.cli.records", "records_app",
                "Search records: import, deduplicate, count."),
    "screen": ("metakit.cli.screen", "screen_command",
               "Screen records in the terminal, or import/export/check screening decisions."),
    "prisma": ("metakit.cli.screen", "prisma_command",
               "Draw the PRISMA 2020 flow diagram from a review store or a YAML file of counts."),
    "audit": ("metakit.cli.audit", "audit_command",
              "Print or export the audit trail of a review store: who wrote what, when."),
    "rob": ("metakit.cli.rob", "app",
            "Risk of bias (RoB 2, ROBINS-I, QUADAS-2): judgements and figures."),
    "extract": ("metakit.cli.extract", "app",
                "Dual data extraction and RoB 2 assessments in the review store; export the agreed sheets."),
    "network": ("metakit.cli.network", "network_command",
                "Network meta-analysis of DATA: league table, ranks, inconsistency, figures."),
    "revman": ("metakit.cli.revman", "revman_command",
               "Read a RevMan 5 review (.rm5 or CSV export), re-run its analyses beside RevMan's."),
    "init": ("metakit.cli.report", "init_command",
             "Write a commented starter review.yaml and extraction templates."),
    "run": ("metakit.cli.report", "run_command",
            "Run every analysis of a review.yaml; write the HTML report, figures and tables."),
    "serve": ("metakit.cli.serve", "serve_command",
              "Serve review stores to the team in the browser (screening, conflicts, progress, PRISMA)."),
    "team": ("metakit.cli.serve", "team_app",
             "The review's team: invite (one-time link), list and remove accounts."),
}


def load_command(name: str) -> TyperCommand | TyperGroup:
    """Import the module of sub-command ``name`` and build its click command."""
    module, attribute, _ = COMMANDS[name]
    target = getattr(import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class _LazyGroup(TyperGroup):
    """Lists sub-commands from the table; imports one only to run it or show its help."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> TyperCommand | None:
        if cmd_name not in COMMANDS:
            return None
        # The listing in `metakit --help` needs only the name and the line of help.
        return TyperCommand(cmd_name, help=COMMANDS[cmd_name][2])

    def resolve_command(self, ctx: typer.Context, args: list[str]):
        name, _, rest = super().resolve_command(ctx, args)
        return name, load_command(name), rest


app = typer.Typer(cls=_LazyGroup, help="metakit: systematic reviews and meta-analysis.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def _root() -> None:
    # Without a callback typer builds a group only from registered commands; the table
    # registers none until one runs.
    pass


def main() -> None:
    """Entry point of the ``metakit`` console script."""
    app()
