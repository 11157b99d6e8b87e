"""``metakit rob``: risk-of-bias tables, report sentence and figures from an assessment file."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from metakit.errors import DataError, MetakitWarning

if TYPE_CHECKING:
    from metakit.rob.table import RobTable

app = typer.Typer(help="Risk of bias (RoB 2, ROBINS-I, QUADAS-2): judgements and figures.",
                  no_args_is_help=True)


@app.command("summarise")
def summarise(
    assessments: Path = typer.Argument(..., exists=True, dir_okay=False,
                                       help="Assessments: .csv, .xlsx or .yaml (one row per study and outcome)."),
    tool: str = typer.Option(None, "--tool", help="rob2 (default), robins-i or quadas2."),
    outcome: str = typer.Option(None, "--outcome", help="Outcome to summarise, when studies have several."),
    some_concerns_to_high: int = typer.Option(
        None, "--some-concerns-to-high", help="RoB 2: this many domains at Some concerns make the overall High."),
    traffic_light: Path = typer.Option(None, "--traffic-light", help="Write the traffic-light plot (.png/.svg/.pdf)."),
    summary_plot: Path = typer.Option(None, "--summary-plot", help="Write the summary plot (.png/.svg/.pdf)."),
    palette: str = typer.Option("default", "--palette", help="default or colourblind."),
) -> None:
    """Print the domain table and the report sentence; optionally draw the figures."""
    from metakit.plots import rob as rob_plots
    from metakit.rob import read_assessments

    console = Console()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MetakitWarning)
            table = read_assessments(assessments, tool, some_concerns_to_high=some_concerns_to_high)
            selected = table.for_outcome(outcome) if outcome is not None else table
            sentence = selected.summary_sentence()
            if traffic_light is not None:
                rob_plots.traffic_light(selected, traffic_light, palette=palette)
            if summary_plot is not None:
                rob_plots.summary_plot(selected, path=summary_plot, palette=palette)
    except (DataError, ValueError, OSError) as err:
        # one line whatever the terminal's width: the message is for logs and scripts too
        console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True)
        raise typer.Exit(code=1) from None
    # Said as a line of the report, not as Python's "file:line: Warning" text.
    for w in dict.fromkeys(str(w.message) for w in caught):
        console.print(f"[yellow]warning:[/yellow] {escape(w)}", soft_wrap=True)

    print_judgements(console, selected)
    for d in selected.tool.domains:
        console.print(f"{d.key}: {d.name}")
    for a in selected.assessments:
        for o in a.overrides:
            console.print(f"override {a.label}, {o.domain}: {o.algorithm} -> {o.judgement} ({o.reason})",
                          markup=False)
    console.print()
    console.print(sentence)
    for path in (traffic_light, summary_plot):
        if path is not None:
            console.print(f"wrote {path}")


def print_judgements(console: Console, table: RobTable) -> None:
    """Print the study-by-domain judgements in full words, never cut to fit the width.

    Piped or redirected output gets the table at its natural width. On a terminal the table
    is drawn at its natural width when that fits, else with each judgement column as wide as
    its longest word ("Some / concerns" on two lines) when that fits; on a terminal too narrow
    even for that, each study is one paragraph ("D1 Low, D2 High, ..., Overall High") that
    wraps between words.
    """
    import pandas as pd

    frame = table.to_frame()
    outcomes = table.outcomes
    title = f"Risk of bias ({table.tool.label})"
    if len(outcomes) == 1 and outcomes[0] is not None:
        title += f": {outcomes[0]}"
    columns = ["study", *(["outcome"] if len(outcomes) > 1 else []), *table.columns]
    # a missing cell (an assessment without an outcome among others with one) shows as a
    # dash, never as pandas' "nan"
    rows = [["—" if pd.isna(row[c]) else str(row[c]) for c in columns] for _, row in frame.iterrows()]
    grid = _grid(title, columns, rows)
    # Measured without the console's width limit (a measurement is capped at that width).
    size = console.measure(grid, options=console.options.update_width(1_000_000))
    if not console.is_terminal:
        width = console.width
        console.width = max(width, size.maximum)
        console.print(grid)
        console.width = width
        return
    if size.maximum <= console.width:
        console.print(grid)
        return
    if size.minimum <= console.width:
        # rich shrinks columns below their longest word when short of room: fix each
        # judgement column at its longest word, so that only whole words wrap.
        longest = {c: max(len(w) for cell in [c, *(r[i] for r in rows)] for w in cell.split() or [""])
                   for i, c in enumerate(columns) if c != "study"}
        console.print(_grid(title, columns, rows, longest))
        return
    console.print(title, markup=False)
    for row in rows:
        console.print(f"{row[0]}: " + ", ".join(f"{k} {v}" for k, v in zip(columns[1:], row[1:])),
                      markup=False, highlight=False)


def _grid(title: str, columns: list[str], rows: list[list[str]],
          widths: dict[str, int] | None = None) -> Table:
    grid = Table(title=escape(title))
    for col in columns:
        grid.add_column(escape(col), width=(widths or {}).get(col))
    for row in rows:
        grid.add_row(*map(escape, row))
    return grid
