"""The terminal screener driven by scripted keys, and the screen/prisma commands."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from rich.console import Console
from typer.testing import CliRunner

from metakit.cli import app
from metakit.cli.screen import run_screener
from metakit.review import screening as scr
from metakit.review.store import Project
from metakit.review.tables import reports


def _make(path, n=5):
    p = Project.open(path)
    p.add_import([{"title": f"Trial {i}", "abstract": f"Abstract {i}", "authors": ["Roe, R"],
                   "year": 2001 + i, "journal": "J Bone"} for i in range(n)],
                 file="m.ris", source_db="MEDLINE", format="ris")
    scr.define_reasons(p, "title-abstract", ["Not an RCT", "Wrong population"])
    return p


def _keys(*keys):
    it = iter(keys)
    return lambda: next(it)


def test_scripted_session_then_resume(database_url):
    path = database_url
    out = io.StringIO()
    console = Console(file=out, width=100)
    with _make(path) as p:
        # record 1 include; record 2 exclude with reason 2; record 3 maybe; undo (3 back);
        # record 3 exclude without reason (Enter); quit
        tally = run_screener(p, "title-abstract", "ann", read=_keys("i", "e", "2", "m", "u",
                                                                      "e", "\r", "q"),
                             console=console, prioritise=False)
        assert tally == {"include": 1, "exclude": 2, "maybe": 1, "undo": 1}
        d = scr.decisions(p, "title-abstract")
        assert d[["record_id", "decision"]].values.tolist() == [
            [1, "include"], [2, "exclude"], [3, "exclude"]]
        assert d.reason.tolist()[1] == "Wrong population"
        assert d.reason.isna().tolist()[2]
    text = out.getvalue()
    assert "Trial 0" in text and "J Bone" in text and "0/5" in text and "3/5" in text
    # a new session (as after a crash or 'q') starts with record 4
    with Project.open(path) as p:
        out2 = io.StringIO()
        run_screener(p, "title-abstract", "ann", read=_keys("x", "i", "i"),
                     console=Console(file=out2, width=100), prioritise=False)
        assert "Unknown key" in out2.getvalue()
        assert "Nothing left to screen" in out2.getvalue()
        assert str(scr.progress(p, "title-abstract", "ann")) == "5/5"


def test_full_text_exclusion_needs_a_reason(database_url):
    with _make(database_url, n=1) as p:
        scr.define_reasons(p, "full-text", ["Not randomised"])
        scr.record_decision(p, 1, "title-abstract", "ann", "include")
        out = io.StringIO()
        run_screener(p, "full-text", "ann", read=_keys("e", "\r", "e", "1"),
                     console=Console(file=out, width=100), prioritise=False)
        d = scr.decisions(p, "full-text")
        assert d.reason.tolist() == ["Not randomised"]
        assert "stays unscreened" in out.getvalue()


def test_export_import_and_prisma_commands(database_url, new_store_url, tmp_path):
    runner = CliRunner()
    a, b = database_url, new_store_url()
    with _make(a) as p:
        for i in range(1, 6):
            scr.record_decision(p, i, "title-abstract", "ann", "exclude" if i > 1 else
                                "include")
        scr.record_decision(p, 1, "full-text", "ann", "include")
    _make(b).close()
    csv_path = tmp_path / "d.csv"
    r = runner.invoke(app, ["screen", "export", str(csv_path), "--decisions",
                            "--project", str(a)])
    assert r.exit_code == 0, r.output
    assert "6 decisions" in r.output
    r = runner.invoke(app, ["screen", "import", str(csv_path), "--project", str(b)])
    assert r.exit_code == 0, r.output
    assert "6 decisions imported" in r.output
    svg = tmp_path / "flow.svg"
    r = runner.invoke(app, ["prisma", "--project", str(b), "-o", str(svg), "--counts-yaml",
                            str(tmp_path / "c.yaml")])
    assert r.exit_code == 0, r.output
    assert svg.exists()
    text = (tmp_path / "c.yaml").read_text()
    # 5 screened, 4 excluded, 1 sought/assessed/included
    assert "records_screened: 5" in text and "records_excluded: 4" in text
    assert "studies_included: 1" in text
    r = runner.invoke(app, ["screen", "agreement", "-p", str(b)])
    assert r.exit_code == 0 and "No record was screened by two" in r.output
    with Project.open(b) as p:
        scr.flag_records(p, [(2, "pt_non_trial", None)])
    r = runner.invoke(app, ["screen", "unflag", "2", "3", "-p", str(b)])
    assert "record 2: back to screening" in r.output
    assert "record 3: had no active removal flag" in r.output
    # record 1 (the inclusion) was not retrieved after all: the flow changes accordingly
    r = runner.invoke(app, ["screen", "not-retrieved", "1", "-p", str(b)])
    assert r.exit_code == 0, r.output
    with Project.open(b) as p:
        c = scr.prisma_counts_from_store(p)
    assert (c.reports_sought, c.reports_not_retrieved, c.reports_assessed,
            c.reports_included, c.studies_included) == (1, 1, 0, 0, 0)
    r = runner.invoke(app, ["screen", "study", "Roe 2001", "1", "-p", str(b)])
    assert r.exit_code == 0 and "linked to study Roe 2001" in r.output
    with Project.open(b) as p, p.db.read() as conn:
        c = scr.prisma_counts_from_store(p)
        row = conn.execute(sa.select(reports.c.retrieved, reports.c.study_id)).one()
    assert tuple(row) == (1, "Roe 2001")
    assert (c.reports_assessed, c.reports_included, c.studies_included) == (1, 1, 1)
    r = runner.invoke(app, ["screen", "import", str(tmp_path / "missing.csv"), "-p", str(b)])
    assert r.exit_code != 0


def test_old_positional_store_still_read_with_a_warning(tmp_path):
    runner = CliRunner()
    a = tmp_path / "a.db"
    _make(a).close()
    r = runner.invoke(app, ["screen", "export", str(a), str(tmp_path / "t.csv")])
    assert r.exit_code == 0, r.output
    assert "--project" in r.output and "5 records awaiting" in r.output


def test_export_lists_the_records_awaiting_a_decision(database_url, tmp_path):
    # before: `screen export` on a fresh store wrote only a header line
    runner = CliRunner()
    a = database_url
    with _make(a) as p:   # records 1..5: "Trial 0".."Trial 4", years 2001..2005
        scr.record_decision(p, 2, "title-abstract", "ann", "exclude")
    out = tmp_path / "todo.csv"
    r = runner.invoke(app, ["screen", "export", str(out), "-p", str(a)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [row["record_id"] for row in rows] == ["1", "3", "4", "5"]
    assert rows[0]["title"] == "Trial 0" and rows[0]["abstract"] == "Abstract 0"
    assert rows[0]["authors"] == "Roe, R" and rows[0]["year"] == "2001"
    assert rows[0]["journal"] == "J Bone" and rows[0]["decision"] == ""
    # the team fills two rows in a spreadsheet and imports the sheet back
    rows[0]["decision"], rows[1]["decision"], rows[1]["reason"] = \
        "include", "exclude", "Not an RCT"
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    r = runner.invoke(app, ["screen", "import", str(out), "-p", str(a), "--reviewer", "bob"])
    assert r.exit_code == 0, r.output
    assert "2 decisions imported" in r.output and "2 rows without a decision" in r.output
    with Project.open(a) as p:
        d = scr.decisions(p, "title-abstract")
        got = d[d.reviewer == "bob"][["record_id", "decision", "reason"]]
        assert got.fillna("").values.tolist() == [[1, "include", ""],
                                                  [3, "exclude", "Not an RCT"]]
        # bob decided 1 and 3, so 2, 4 and 5 await him
        assert scr.pending(p, "title-abstract", "bob") == [2, 4, 5]


def test_resolve_command_settles_a_conflict(database_url, tmp_path):
    # before: conflicts could be resolved only from Python
    runner = CliRunner()
    a = database_url
    with _make(a, n=2) as p:
        for rid in (1, 2):
            scr.record_decision(p, rid, "title-abstract", "ann", "include")
        scr.record_decision(p, 1, "title-abstract", "bob", "exclude")
        scr.record_decision(p, 2, "title-abstract", "bob", "include")
        assert scr.conflicts(p, "title-abstract").index.tolist() == [1]
    r = runner.invoke(app, ["screen", "resolve", "1", "exclude", "--reason", "Not an RCT",
                            "-p", str(a)])
    assert r.exit_code == 0, r.output
    with Project.open(a) as p:
        assert scr.conflicts(p, "title-abstract").empty
        final = scr.final_decisions(p, "title-abstract")
        assert final.loc[1, "final"] == "exclude" and final.loc[1, "reason"] == "Not an RCT"
        assert bool(final.loc[1, "adjudicated"])
    r = runner.invoke(app, ["screen", "resolve", "1", "perhaps", "-p", str(a)])
    assert r.exit_code == 1 and "decision must be one of" in r.output


def test_prisma_names_the_undecided_records(database_url, tmp_path):
    # before: "2 records have no title/abstract decision yet" without naming them
    runner = CliRunner()
    a = database_url
    with _make(a) as p:
        for rid in (1, 2, 4):
            scr.record_decision(p, rid, "title-abstract", "ann", "exclude")
    r = runner.invoke(app, ["prisma", "-p", str(a), "-o", str(tmp_path / "f.svg")])
    assert r.exit_code == 1
    assert "2 records have no title/abstract decision yet: records 3, 5" in r.output
    r = runner.invoke(app, ["prisma", "-p", str(a), "--list"])
    assert r.exit_code == 1
    assert "Trial 2" in r.output and "Trial 4" in r.output and "Trial 0" not in r.output


def test_agreement_command_shows_percentage_and_fleiss(database_url, tmp_path):
    runner = CliRunner()
    a = database_url
    # records 1-3 by ann, bob, cat: (i, i, i), (e, e, e), (i, e, e)
    # ann vs bob: agree 2 of 3 = 66.7%; Fleiss' kappa 0.55 (hand calculation in
    # tests/review/test_screening.py::test_fleiss_kappa_small_hand_calculation)
    with _make(a, n=3) as p:
        for rid, trio in zip((1, 2, 3), ("iii", "eee", "iee")):
            for who, d in zip(("ann", "bob", "cat"), trio):
                scr.record_decision(p, rid, "title-abstract", who,
                                    "include" if d == "i" else "exclude")
    r = runner.invoke(app, ["screen", "agreement", "-p", str(a)])
    assert r.exit_code == 0, r.output
    assert "ann vs bob" in r.output and "agreement 66.7%" in r.output
    assert "Fleiss' kappa = 0.550" in r.output


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pty")
def test_end_to_end_in_a_pseudo_terminal(tmp_path):
    """The real command in a pty: raw single-key input, decisions committed, resumable."""
    import os
    import select
    import subprocess
    import sys
    import time

    path = tmp_path / "review.db"
    _make(path, n=3).close()
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from metakit.cli import main; main()", "screen", "--project", str(path),
         "--reviewer", "bob", "--no-prioritise"],
        stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""

    def read_until(marker: bytes, timeout: float = 60.0) -> None:
        nonlocal out
        end = time.time() + timeout
        while marker not in out and time.time() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
        assert marker in out, (marker, out.decode(errors="replace")[-3000:])

    read_until(b"[q] quit")
    os.write(master, b"i")
    read_until(b"1/3")
    os.write(master, b"e")
    read_until(b"Reason number")
    os.write(master, b"1")
    read_until(b"2/3")
    os.write(master, b"q")
    read_until(b"Saved.")
    proc.wait(timeout=30)
    os.close(master)
    assert proc.returncode == 0, out.decode(errors="replace")
    with Project.open(path) as p:
        d = scr.decisions(p, "title-abstract")
        assert d[["record_id", "decision", "reason"]].fillna("").values.tolist() == [
            [1, "include", ""], [2, "exclude", "Not an RCT"]]


def test_status_command_and_default_project(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    with _make(tmp_path / "review.db") as p:     # the default --project
        scr.record_decision(p, 1, "title-abstract", "ann", "include")
        scr.record_decision(p, 2, "title-abstract", "ann", "exclude")
    r = runner.invoke(app, ["screen", "status"])
    assert r.exit_code == 0, r.output
    assert "2 of 5 records screened (40.0%), 1 included or maybe" in r.output
    assert "consecutive: continue (1 consecutive exclusions" in r.output
    assert "knee: continue" in r.output


def test_prisma_counts_module_does_not_import_screening():
    # before: PrismaCounts.from_store imported metakit.review.screening inside the
    # method, and screening imports prisma_counts (a cycle hidden by a lazy import)
    import ast

    import metakit.review.prisma_counts as pc

    tree = ast.parse(open(pc.__file__, encoding="utf-8").read())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                 for a in n.names}
    assert not any(m and m.startswith("metakit.review.screening") for m in imported)
