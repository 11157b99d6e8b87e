"""The audit trail: every screening and deduplication write adds its row, with the actor,
in the same transaction; ``metakit audit`` prints and exports it."""

from __future__ import annotations

import getpass
import json

import pytest
from typer.testing import CliRunner

from metakit.cli import app
from metakit.errors import DataError
from metakit.review import audit
from metakit.review import screening as scr


def _actions(store):
    t = audit.trail(store.db)
    return list(zip(t.actor, t.action, t.target))


def test_every_write_leaves_one_row_with_its_actor(store, tmp_path):
    cli = f"cli:{getpass.getuser()}"
    store.add_import([{"title": f"Trial {i}", "doi": "10.1/x" if i < 2 else None}
                      for i in range(4)], file="x.ris", source_db="MEDLINE", format="ris")
    scr.define_reasons(store, "title-abstract", ["Not an RCT"], actor="owner")
    scr.record_decision(store, 3, "title-abstract", "ann", "exclude", "Not an RCT")
    scr.record_decision(store, 3, "title-abstract", "bob", "include", actor="web:bob")
    scr.resolve(store, 3, "title-abstract", "include", reviewer="cat")
    scr.undo_last(store, "title-abstract", "ann")
    scr.flag_records(store, [(4, "animal_only", "rabbits")])
    scr.undo_flag(store, 4, actor="ann")
    scr.set_report(store, 3, retrieved=False)
    store.dedup()
    decision = int(store.decisions().index[0])
    store.undo_dedup(decision, actor="ann")
    store.override(2, 1, note="same trial")
    sheet = tmp_path / "d.csv"
    sheet.write_text("record_id,stage,reviewer,decision,reason\n"
                     "1,title-abstract,dan,include,\n4,title-abstract,dan,maybe,\n")
    scr.import_csv(store, sheet)
    assert _actions(store) == [
        (cli, "records.import", "import:1"),
        ("owner", "screening.reasons", "stage:title-abstract"),
        ("ann", "screening.decide", "record:3"),
        ("web:bob", "screening.decide", "record:3"),
        ("cat", "screening.resolve", "record:3"),
        ("ann", "screening.undo", "record:3"),
        (cli, "screening.flag", "record:4"),
        ("ann", "screening.unflag", "record:4"),
        (cli, "screening.report", "record:3"),
        (cli, "dedup.run", "dedup_run:1"),
        ("ann", "dedup.undo", "record:2"),
        (cli, "dedup.override", "record:2"),
        (cli, "screening.import_csv", "record:1"),
        (cli, "screening.import_csv", "record:4"),
    ]
    t = audit.trail(store.db, action="screening.")
    assert t.detail.iloc[1] == {"decision": "exclude", "decision_id": 1, "reason": "Not an RCT",
                                "request_id": None, "reviewer": "ann", "stage": "title-abstract"}
    assert audit.trail(store.db, target="record:4").action.tolist() == [
        "screening.flag", "screening.unflag", "screening.import_csv"]
    assert audit.trail(store.db, actor="ann").action.tolist() == [
        "screening.decide", "screening.undo", "screening.unflag", "dedup.undo"]


def test_a_refused_write_leaves_no_row(store):
    store.add_import([{"title": "A"}], file="x.ris", source_db="MEDLINE", format="ris")
    with pytest.raises(DataError):
        scr.record_decision(store, 1, "full-text", "ann", "exclude")  # needs a reason
    with pytest.raises(DataError):
        store.override(1, 1)
    assert audit.trail(store.db).action.tolist() == ["records.import"]


def test_audit_command_prints_and_exports(store, database_url, tmp_path):
    store.add_import([{"title": "A"}], file="x.ris", source_db="MEDLINE", format="ris")
    scr.record_decision(store, 1, "title-abstract", "ann", "include")
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "-p", database_url, "--actor", "ann"])
    assert r.exit_code == 0, r.output
    assert "screening.decide" in r.output and "records.import" not in r.output
    out = tmp_path / "trail.json"
    r = runner.invoke(app, ["audit", "-p", database_url, "-o", str(out)])
    assert r.exit_code == 0 and "2 audit rows written" in r.output
    rows = json.loads(out.read_text())
    assert [row["action"] for row in rows] == ["records.import", "screening.decide"]
    assert rows[1]["detail"]["reviewer"] == "ann"
    csv_out = tmp_path / "trail.csv"
    assert runner.invoke(app, ["audit", "-p", database_url, "-o", str(csv_out)]).exit_code == 0
    assert csv_out.read_text().count("\n") == 3  # header + 2 rows
    r = runner.invoke(app, ["audit", "-p", str(tmp_path / "none.db")])
    assert r.exit_code == 1 and "does not exist" in r.output
