"""``metakit rob``: risk-of-bias tables, report sentence and figures from an assessment file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from metakit.errors import DataError

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
        table = read_assessments(assessments, tool, some_concerns_to_high=some_concerns_to_high)
        selected = table.for_outcome(outcome) if outcome is not None else table
        sentence = selected.summary_sentence()
        if traffic_light is not None:
            rob_plots.traffic_light(selected, traffic_light, palette=palette)
        if summary_plot is not None:
            rob_plots.summary_plot(selected, path=summary_plot, palette=palette)
    except (DataError, ValueError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(code=1) from None

    frame = selected.to_frame()
    outcomes = selected.outcomes
    show_outcome = len(outcomes) > 1
    title = f"Risk of bias ({selected.tool.label})"
    if len(outcomes) == 1 and outcomes[0] is not None:
        title += f": {outcomes[0]}"
    grid = Table(title=title)
    columns = ["study", *(["outcome"] if show_outcome else []), *selected.columns]
    for col in columns:
        grid.add_column(col, no_wrap=col == "study")
    for _, row in frame.iterrows():
        grid.add_row(*(str(row[c]) for c in columns))
    console.print(grid)
    for d in selected.tool.domains:
        console.print(f"{d.key}: {d.name}")
    for a in selected.assessments:
        for o in a.overrides:
            console.print(f"override {a.label}, {o.domain}: {o.algorithm} -> {o.judgement} ({o.reason})")
    console.print()
    console.print(sentence)
    for path in (traffic_light, summary_plot):
        if path is not None:
            console.print(f"wrote {path}")
