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

from metakit.errors import DataError, MetakitError

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
                 prioritise: bool = True, retrain_every: int | None = None,
                 random: bool = False, seed: int | None = None) -> dict[str, int]:
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
        ``retrain_every`` decisions; None: the cadence of
        :func:`metakit.review.automation.refit_interval`).
    random
        Random-sampling mode for the statistical stopping rule (``metakit screen
        status``): records in random order, decisions marked as the sample.

    Returns
    -------
    dict
        Decisions made in this session by kind (include, exclude, maybe, undo).
    """
    from metakit.review import screening as scr
    from metakit.review.session import ScreeningSession

    console = console or Console()
    session = ScreeningSession(project, stage, reviewer, prioritise=prioritise,
                               retrain_every=retrain_every, random=random, seed=seed)
    stage = session.stage
    tally = {"include": 0, "exclude": 0, "maybe": 0, "undo": 0}
    reasons = scr.reasons(project, stage)
    if session.prioritise:
        console.print("Ranking records by relevance to the decisions so far...")
    if random:
        console.print("Random-sampling mode: records in random order (the sample for the "
                      "statistical stopping rule).")
    while True:
        rid = session.next()
        if rid is None:
            console.print(f"[green]Nothing left to screen at {stage} for {reviewer}.[/]")
            return tally
        prog = session.progress()
        rec = session.record(rid)
        console.print(_record_panel(rec, prog.done, prog.total, stage, reviewer))
        console.print(KEYS, markup=False, highlight=False)
        key = read().lower()
        if key == "q":
            console.print(f"Saved. {prog.done}/{prog.total} screened.", markup=False)
            return tally
        if key == "u":
            back = session.undo()
            if back is None:
                console.print("[yellow]Nothing to undo.[/]")
            else:
                tally["undo"] += 1
                console.print(f"[yellow]Undid the decision on record {back}.[/]")
            continue
        if key == "s":
            session.skip(rid)
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
            session.decide(rid, decision, reason)
        except DataError as err:
            console.print(f"[red]{err}[/]")
            continue
        tally[decision] += 1


def _open(db: str) -> Any:
    from metakit.review.store import Project

    if "://" not in db and not Path(db).exists():
        raise typer.BadParameter(f"{db} does not exist (name the store with --project)")
    return Project.open(db, create=False)


ACTIONS = ("run", "status", "export", "import", "resolve", "conflicts", "agreement",
           "design-filter", "unflag", "not-retrieved", "retrieved", "study", "reasons", "terms",
           "note", "flag")


def _where(action: str, args: list[str], project: str | None) -> tuple[str, list[str], str]:
    """The action, its arguments and the store.

    The store is named with ``--project`` (default review.db). Earlier releases took it
    as a positional argument (``metakit screen review.db``, ``metakit screen export
    review.db out.csv``); that form is still read, with a warning.
    """
    if action not in ACTIONS and action.endswith(".db"):
        args, action = [action, *args], "run"
    elif action not in ACTIONS:
        raise typer.BadParameter(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if project is None and args and args[0].endswith(".db"):
        typer.echo(f"warning: name the store with --project {args[0]} (the positional "
                   "form is deprecated)", err=True)
        project = args.pop(0)
    return action, args, project or "review.db"


def screen_command(
    action: str = typer.Argument("run", help="run (screen in the terminal), status, "
                                 "export, import, resolve, conflicts, agreement, "
                                 "design-filter, unflag, not-retrieved, retrieved, study, "
                                 "reasons, terms, note, flag"),
    args: list[str] | None = typer.Argument(None, help="the action's arguments: a CSV "
                                            "file, record ids, reasons"),
    project: str | None = typer.Option(None, "--project", "-p",
                                       help="the review store: a file (default review.db) "
                                       "or a postgresql:// URL"),
    stage: str | None = typer.Option(None, "--stage", help="title-abstract (default) or "
                                     "full-text"),
    reviewer: str | None = typer.Option(None, "--reviewer", help="who screens (import: "
                                        "fills empty reviewer cells; resolve: the "
                                        "adjudicator)"),
    reason: str | None = typer.Option(None, "--reason", help="resolve: exclusion reason; "
                                      "flag: why the records are removed"),
    decisions_: bool = typer.Option(False, "--decisions", help="export: the decisions "
                                    "made, not the records awaiting one"),
    no_prioritise: bool = typer.Option(False, "--no-prioritise",
                                       help="screen in record order"),
    random: bool = typer.Option(False, "--random", help="screen a random sample of the "
                                "remaining records (the statistical stopping rule)"),
    recall: float = typer.Option(0.95, "--recall", help="status: recall target"),
    confidence: float = typer.Option(0.95, "--confidence", help="status: confidence of "
                                     "the random-sampling stopping rule"),
    include: list[str] | None = typer.Option(None, "--include", help="terms: a term "
                                             "highlighted as a sign to include (repeatable)"),
    exclude: list[str] | None = typer.Option(None, "--exclude", help="terms: a term "
                                             "highlighted as a sign to exclude (repeatable)"),
) -> None:
    """Screen records in the terminal, or import/export/check screening decisions.

    \b
    metakit screen --project review.db --reviewer NAME          (screen, most relevant first)
    metakit screen status --project review.db                   (progress, when to stop)
    metakit screen export todo.csv --project review.db          (records awaiting a decision)
    metakit screen export done.csv --decisions --project review.db
    metakit screen import todo.csv --project review.db --reviewer NAME
    metakit screen conflicts --project review.db
    metakit screen resolve 12 include --project review.db
    metakit screen resolve 14 exclude --reason "Not randomised" --stage full-text
    metakit screen agreement --project review.db                (kappa, % agreement)
    metakit screen design-filter --project review.db
    metakit screen unflag 123 456 --project review.db
    metakit screen flag 77 78 --reason "retracted" --project review.db  (removed before screening)
    metakit screen not-retrieved 77 78 --project review.db       (full text not obtained)
    metakit screen study "Smith 2019" 12 34 --project review.db  (reports of one study)
    metakit screen reasons "Not randomised" "Wrong comparator" --stage full-text
    metakit screen terms --include "femoral head" --exclude rat  (highlighted terms)
    metakit screen terms clear                                   (no highlighted terms)
    metakit screen note 12 "check the dose" --reviewer ann       (a private note; none: show)
    """
    from metakit.review import screening as scr
    from metakit.review.audit import local_actor

    console = Console()
    action, args, db = _where(action, list(args or []), project)
    all_stages = stage is None
    stage = stage or "title-abstract"
    try:
        if action == "export":
            out = Path(args[0])
            with _open(db) as p:
                if decisions_:
                    n = scr.export_csv(p, out, None if all_stages else stage)
                    console.print(f"{n} decisions written to {out}")
                else:
                    n = scr.export_pending(p, out, stage, reviewer)
                    who = f" by {reviewer}" if reviewer else ""
                    console.print(f"{n} records awaiting a {stage} decision{who} written "
                                  f"to {out}")
        elif action == "import":
            src = Path(args[0])
            with _open(db) as p:
                res = scr.import_csv(p, src, reviewer=reviewer)
            console.print(res.summary(), markup=False, highlight=False, soft_wrap=True)
        elif action == "resolve":
            rid, decision = int(args[0]), args[1].lower()
            with _open(db) as p:
                scr.resolve(p, rid, stage, decision, reason,
                            reviewer=reviewer or "adjudicator",
                            actor=reviewer or local_actor())
            console.print(f"record {rid}: {stage} decision resolved as {decision}"
                          + (f" ({reason})" if reason else ""), markup=False)
        elif action == "status":
            from metakit.review.stopping import screening_status

            with _open(db) as p:
                st = screening_status(p, stage, recall=recall, confidence=confidence)
            console.print(st.summary(), markup=False, highlight=False, soft_wrap=True)
        elif action == "conflicts":
            with _open(db) as p:
                frame = scr.conflicts(p, stage)
            table = Table(title=f"Conflicts at {stage}: {len(frame)}")
            table.add_column("record")
            for col in frame.columns:
                table.add_column(str(col))
            for rid, row in frame.iterrows():
                table.add_row(str(rid), *["" if v is None or v != v else str(v)
                                          for v in row])
            console.print(table)
        elif action == "agreement":
            with _open(db) as p:
                pairs = scr.agreement(p, stage)
                many = scr.fleiss_agreement(p, stage)
            if not pairs:
                console.print("No record was screened by two reviewers.")
            for (a, b), k in pairs.items():
                console.print(f"{a} vs {b}: {k.summary()}", markup=False, soft_wrap=True)
            if many is not None:
                console.print(f"All {many.n_raters} reviewers: {many.summary()}",
                              markup=False, soft_wrap=True)
        elif action == "design-filter":
            with _open(db) as p:
                res = scr.apply_design_filter(p)
            console.print(res.summary())
        elif action == "unflag":
            with _open(db) as p:
                for rid in args:
                    done = scr.undo_flag(p, int(rid))
                    console.print(f"record {rid}: " + ("back to screening" if done else
                                                       "had no active removal flag"))
        elif action == "flag":
            if not reason or not reason.strip():
                raise typer.BadParameter("flag needs --reason: why the records are removed")
            with _open(db) as p:
                n = scr.flag_records(p, [(int(rid), reason.strip(), None) for rid in args],
                                     kind="other", actor=reviewer or local_actor())
            console.print(f"{n} record(s) removed before screening ({reason.strip()}); "
                          f"{len(args) - n} already removed", markup=False)
        elif action in ("not-retrieved", "retrieved"):
            with _open(db) as p:
                for rid in args:
                    scr.set_report(p, int(rid), retrieved=action == "retrieved",
                                   study_id=scr.study_of(p, int(rid)))
            console.print(f"{len(args)} report(s) marked {action}")
        elif action == "study":
            with _open(db) as p:
                study_id = args[0]
                for rid in args[1:]:
                    scr.set_report(p, int(rid), retrieved=True, study_id=study_id)
            console.print(f"{len(args) - 1} report(s) linked to study {study_id}")
        elif action == "reasons":
            with _open(db) as p:
                if args:
                    scr.define_reasons(p, stage, args)
                for n, r in enumerate(scr.reasons(p, stage), start=1):
                    console.print(f"[{n}] {r}", markup=False, highlight=False)
        elif action == "terms":
            _terms(db, args, include or [], exclude or [], reviewer, console)
        elif action == "note":
            _note(db, args, stage, reviewer, console)
        else:
            if reviewer is None:
                raise typer.BadParameter("--reviewer is required to screen")
            with _open(db) as p:
                run_screener(p, stage, reviewer, console=console,
                             prioritise=not no_prioritise, random=random)
    except IndexError:
        raise typer.BadParameter(f"'{action}' needs more arguments; see --help") from None
    except MetakitError as err:
        console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _terms(db: str, args: list[str], include: list[str], exclude: list[str],
           reviewer: str | None, console: Console) -> None:
    """Show the highlighted terms, or replace them (the web app's overview form)."""
    import metakit.web.tables  # noqa: F401  (registers the terms' table)
    from metakit.review.audit import local_actor
    from metakit.web import decisions

    if args not in ([], ["clear"]):
        raise typer.BadParameter("terms takes --include/--exclude TERM, or 'clear'")
    with _open(db) as p:
        if args or include or exclude:
            decisions.set_terms(p.db, include, exclude, actor=reviewer or local_actor())
        shown = decisions.terms(p.db)
    for kind in ("include", "exclude"):
        console.print(f"{kind}: " + ("; ".join(shown[kind]) or "(none)"), markup=False,
                      highlight=False)


def _note(db: str, args: list[str], stage: str, reviewer: str | None,
          console: Console) -> None:
    """Write a reviewer's private note on a record, or show it (as on the screening page)."""
    import sqlalchemy as sa

    import metakit.web.tables  # noqa: F401  (registers the notes' table)
    from metakit.review.tables import records
    from metakit.web import decisions

    if reviewer is None:
        raise typer.BadParameter("--reviewer is required: a note is the reviewer's own")
    rid = int(args[0])
    with _open(db) as p:
        with p.db.read() as conn:
            known = conn.execute(sa.select(records.c.id).where(records.c.id == rid)).first()
        if known is None:
            raise DataError("no such record", study=rid, column="record_id")
        if len(args) > 1:
            decisions.save_note(p.db, rid, stage, reviewer, " ".join(args[1:]))
        note = decisions.note_for(p.db, rid, stage, reviewer)
    console.print(f"record {rid}, {stage}, {reviewer}: " + (note or "(no note)"), markup=False,
                  highlight=False, soft_wrap=True)


def prisma_command(
    counts_yaml: Path | None = typer.Argument(None, help="a YAML file of counts, for a "
                                              "review screened elsewhere"),
    project: str | None = typer.Option(None, "--project", "-p",
                                       help="the review store: a file (default review.db) "
                                       "or a postgresql:// URL"),
    output: Path = typer.Option(Path("prisma.svg"), "-o", "--output",
                                help="figure file: .svg, .pdf or .png"),
    counts_out: Path | None = typer.Option(None, "--counts-yaml",
                                           help="also write the counts as YAML"),
    list_: bool = typer.Option(False, "--list", help="list the records that still need "
                               "a decision (or a resolved conflict)"),
) -> None:
    """Draw the PRISMA 2020 flow diagram from a review store or a YAML file of counts.

    \b
    metakit prisma --project review.db -o prisma.svg
    metakit prisma --project review.db --list       (records still to decide)
    metakit prisma counts.yaml -o prisma.png
    """
    from metakit.plots.prisma import prisma_flow
    from metakit.review import screening as scr
    from metakit.review.prisma_counts import PrismaCounts

    console = Console()
    if counts_yaml is not None and counts_yaml.suffix.lower() == ".db" and project is None:
        typer.echo(f"warning: name the store with --project {counts_yaml} (the positional "
                   "form is deprecated)", err=True)
        counts_yaml, project = None, str(counts_yaml)
    try:
        if list_:
            with _open(project or "review.db") as p:
                todo = scr.unfinished(p)
            if todo.empty:
                console.print("Every record has a resolved decision.")
                return
            table = Table(title=f"{len(todo)} records keep the flow diagram open")
            for col in ("record", "stage", "why", "title"):
                table.add_column(col)
            for rid, row in todo.iterrows():
                table.add_row(str(rid), row.stage, row.why, str(row.title or ""))
            console.print(table)
            raise typer.Exit(1)
        if counts_yaml is not None:
            counts = PrismaCounts.from_yaml(counts_yaml)
        else:
            with _open(project or "review.db") as p:
                counts = scr.prisma_counts_from_store(p)
    except MetakitError as err:
        console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    prisma_flow(counts, output)
    if counts_out is not None:
        counts_out.write_text(counts.to_yaml(), encoding="utf-8")
    console.print(counts.summary())
    console.print(f"Flow diagram written to {output}")
