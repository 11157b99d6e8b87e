"""``metakit screen`` (terminal screener, CSV import/export, agreement, design filter)
and ``metakit prisma`` (the flow diagram from a store or a YAML file).

The screener shows one record at a time and reads one key:
``i`` include, ``e`` exclude (then a number picks the reason), ``m`` maybe, ``u`` undo the
last decision, ``s`` skip for now, ``q`` quit. Each decision is committed in its own
transaction, so quitting (or a crash) loses nothing and the next session resumes
where this one stopped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from metakit.errors import DataError

__all__ = ["run_screener", "screen_command", "prisma_command", "read_key"]

KEYS = "[i] include  [e] exclude  [m] maybe  [u] undo  [s] skip  [q] quit"


def read_key() -> str:
    """One key press from the terminal (a line from a pipe when stdin is not a tty)."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            return "q"
        return line.strip()[:1] or "\n"
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    try:
        # TCSANOW, not the default TCSAFLUSH: a key typed ahead is kept, not discarded
        tty.setraw(fd, termios.TCSANOW)
        ch = os.read(fd, 1).decode(errors="replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
    if ch == "\x03":
        raise KeyboardInterrupt
    return ch


def _text(value: Any) -> str:
    """A record field as display text; missing values (None, NaN, pandas NA) are ''."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def _record_panel(rec: Any, done: int, total: int, stage: str, reviewer: str) -> Panel:
    authors = rec.get("authors")
    if authors is None or (not isinstance(authors, (list, tuple, str)) and pd.isna(authors)):
        authors = []
    if isinstance(authors, str):
        authors = [authors]
    shown = "; ".join(_text(a) for a in authors[:6]) + (" et al." if len(authors) > 6 else "")
    body = Text()
    body.append((_text(rec.get("title")) or "(no title)") + "\n", style="bold")
    body.append(shown + "\n", style="italic")
    bits = [_text(rec.get("year")), _text(rec.get("journal"))]
    body.append(" · ".join(b for b in bits if b) + "\n\n", style="dim")
    body.append(_text(rec.get("abstract")) or "(no abstract)")
    return Panel(body, title=f"record {rec.get('id')}",
                 subtitle=f"{stage} · {reviewer} · {done}/{total}", expand=True)


def run_screener(project: Any, stage: str, reviewer: str, *,
                 read: Callable[[], str] = read_key, console: Console | None = None,
                 prioritise: bool = True, retrain_every: int = 10) -> dict[str, int]:
    """Screen records one at a time until none are left or the reviewer quits.

    Parameters
    ----------
    project
        An open :class:`metakit.review.store.Project`.
    stage, reviewer
        The stage and who screens.
    read
        Returns the next key (injected in tests; :func:`read_key` by default).
    console
        Where to draw.
    prioritise
        Rank records by the model trained on decisions so far (re-ranked every
        ``retrain_every`` decisions).

    Returns
    -------
    dict
        Decisions made in this session by kind (include, exclude, maybe, undo).
    """
    from metakit.review import screening as scr

    stage = scr._stage(stage)
    console = console or Console()
    tally = {"include": 0, "exclude": 0, "maybe": 0, "undo": 0}
    reasons = scr.reasons(project, stage)
    order: list[int] = []
    front: list[int] = []
    skipped: set[int] = set()
    since_rank = retrain_every
    features: dict[Any, Any] = {}   # TF-IDF of the pool, computed once per session
    records = project.records()
    if prioritise and stage == "title-abstract":
        console.print("Ranking records by relevance to the decisions so far...")
    while True:
        if since_rank >= retrain_every or not order:
            order = scr.queue(project, stage, reviewer, prioritise=prioritise,
                              cache=features)
            since_rank = 0
        decided = {int(r) for r in scr.decisions(project, stage).query(
            "reviewer == @reviewer").record_id}
        todo = [r for r in front + order if r not in decided and r not in skipped]
        if not todo and skipped:
            skipped.clear()
            todo = [r for r in order if r not in decided]
        if not todo:
            console.print(f"[green]Nothing left to screen at {stage} for {reviewer}.[/]")
            return tally
        rid = todo[0]
        prog = scr.progress(project, stage, reviewer)
        rec = records.loc[rid].to_dict()
        rec["id"] = rid
        console.print(_record_panel(rec, prog.done, prog.total, stage, reviewer))
        console.print(KEYS, markup=False, highlight=False)
        key = read().lower()
        if key == "q":
            console.print(f"Saved. {prog.done}/{prog.total} screened.", markup=False)
            return tally
        if key == "u":
            back = scr.undo_last(project, stage, reviewer)
            if back is None:
                console.print("[yellow]Nothing to undo.[/]")
            else:
                tally["undo"] += 1
                front = [back] + [r for r in front if r != back]
                console.print(f"[yellow]Undid the decision on record {back}.[/]")
            continue
        if key == "s":
            skipped.add(rid)
            continue
        decision = {"i": "include", "e": "exclude", "m": "maybe"}.get(key)
        if decision is None:
            console.print(f"Unknown key {key!r}. {KEYS}", markup=False, highlight=False)
            continue
        reason = None
        if decision == "exclude" and reasons:
            for n, r in enumerate(reasons, start=1):
                console.print(f"  [{n}] {r}", markup=False, highlight=False)
            optional = stage == "title-abstract"
            console.print("Reason number" + (" (Enter: none)" if optional else "") + ":")
            pick = read()
            if pick in ("\r", "\n", "") and optional:
                reason = None
            elif pick.isdigit() and 1 <= int(pick) <= len(reasons):
                reason = reasons[int(pick) - 1]
            else:
                console.print(f"[red]No reason {pick!r}; the record stays unscreened.[/]")
                continue
        try:
            scr.record_decision(project, rid, stage, reviewer, decision, reason)
        except DataError as err:
            console.print(f"[red]{err}[/]")
            continue
        tally[decision] += 1
        front = [r for r in front if r != rid]
        since_rank += 1


def _open(db: Path) -> Any:
    from metakit.review.store import Project

    if not db.exists():
        raise typer.BadParameter(f"{db} does not exist")
    return Project.open(db, create=False)


def screen_command(
    target: str = typer.Argument(..., help="review.db, or an action: export, import, "
                                 "conflicts, agreement, design-filter, unflag, "
                                 "not-retrieved, retrieved, study, reasons"),
    args: list[str] | None = typer.Argument(None, help="review.db and a CSV file for actions; "
                                               "reasons for 'reasons'"),
    stage: str | None = typer.Option(None, "--stage", help="title-abstract (default) or "
                                        "full-text; export: all stages when omitted"),
    reviewer: str | None = typer.Option(None, "--reviewer", help="who screens"),
    no_prioritise: bool = typer.Option(False, "--no-prioritise",
                                       help="screen in record order"),
) -> None:
    """Screen records in the terminal, or import/export/check screening decisions.

    \b
    metakit screen review.db --stage title-abstract --reviewer NAME
    metakit screen export review.db decisions.csv --stage full-text
    metakit screen import review.db decisions.csv
    metakit screen conflicts review.db --stage title-abstract
    metakit screen agreement review.db --stage title-abstract
    metakit screen design-filter review.db
    metakit screen unflag review.db 123 456
    metakit screen not-retrieved review.db 77 78     (full text could not be obtained)
    metakit screen study review.db "Smith 2019" 12 34  (reports of one study)
    metakit screen reasons review.db "Not randomised" "Wrong comparator" --stage full-text
    """
    from metakit.review import screening as scr

    console = Console()
    args = list(args or [])
    if target != "export":
        stage = stage or "title-abstract"
    try:
        if target == "export":
            db, out = Path(args[0]), Path(args[1])
            with _open(db) as p:
                n = scr.export_csv(p, out, stage)
            console.print(f"{n} decisions written to {out}")
        elif target == "import":
            db, src = Path(args[0]), Path(args[1])
            with _open(db) as p:
                n = scr.import_csv(p, src)
            console.print(f"{n} decisions imported from {src}")
        elif target == "conflicts":
            with _open(Path(args[0])) as p:
                frame = scr.conflicts(p, stage)
            table = Table(title=f"Conflicts at {stage}: {len(frame)}")
            table.add_column("record")
            for col in frame.columns:
                table.add_column(str(col))
            for rid, row in frame.iterrows():
                table.add_row(str(rid), *["" if v is None or v != v else str(v)
                                          for v in row])
            console.print(table)
        elif target == "agreement":
            with _open(Path(args[0])) as p:
                pairs = scr.agreement(p, stage)
            if not pairs:
                console.print("No record was screened by two reviewers.")
            for (a, b), k in pairs.items():
                console.print(f"{a} vs {b}: {k.summary()}")
        elif target == "design-filter":
            with _open(Path(args[0])) as p:
                res = scr.apply_design_filter(p)
            console.print(res.summary())
        elif target == "unflag":
            with _open(Path(args[0])) as p:
                for rid in args[1:]:
                    done = scr.undo_flag(p, int(rid))
                    console.print(f"record {rid}: " + ("back to screening" if done else
                                                       "had no active removal flag"))
        elif target in ("not-retrieved", "retrieved"):
            with _open(Path(args[0])) as p:
                for rid in args[1:]:
                    study = p.conn.execute("SELECT study_id FROM reports WHERE record_id = ?",
                                           (int(rid),)).fetchone()
                    scr.set_report(p, int(rid), retrieved=target == "retrieved",
                                   study_id=study[0] if study else None)
            console.print(f"{len(args) - 1} report(s) marked {target}")
        elif target == "study":
            with _open(Path(args[0])) as p:
                study_id = args[1]
                for rid in args[2:]:
                    scr.set_report(p, int(rid), retrieved=True, study_id=study_id)
            console.print(f"{len(args) - 2} report(s) linked to study {study_id}")
        elif target == "reasons":
            with _open(Path(args[0])) as p:
                if len(args) > 1:
                    scr.define_reasons(p, stage, args[1:])
                for n, r in enumerate(scr.reasons(p, stage), start=1):
                    console.print(f"[{n}] {r}", markup=False, highlight=False)
        else:
            if reviewer is None:
                raise typer.BadParameter("--reviewer is required to screen")
            with _open(Path(target)) as p:
                run_screener(p, stage, reviewer, console=console,
                             prioritise=not no_prioritise)
    except IndexError:
        raise typer.BadParameter(f"'{target}' needs more arguments; see --help") from None
    except DataError as err:
        console.print(f"[red]error:[/] {err}")
        raise typer.Exit(1) from None


def prisma_command(
    source: Path = typer.Argument(..., help="review.db, or a YAML file of counts"),
    output: Path = typer.Option(Path("prisma.svg"), "-o", "--output",
                                help="figure file: .svg, .pdf or .png"),
    counts_out: Path | None = typer.Option(None, "--counts-yaml",
                                              help="also write the counts as YAML"),
) -> None:
    """Draw the PRISMA 2020 flow diagram from a review store or a YAML file of counts."""
    from metakit.plots.prisma import prisma_flow
    from metakit.review.prisma_counts import PrismaCounts

    console = Console()
    try:
        if source.suffix.lower() in (".yaml", ".yml"):
            counts = PrismaCounts.from_yaml(source)
        else:
            with _open(source) as p:
                counts = PrismaCounts.from_store(p)
    except DataError as err:
        console.print(f"[red]error:[/] {err}")
        raise typer.Exit(1) from None
    prisma_flow(counts, output)
    if counts_out is not None:
        counts_out.write_text(counts.to_yaml(), encoding="utf-8")
    console.print(counts.summary())
    console.print(f"Flow diagram written to {output}")
