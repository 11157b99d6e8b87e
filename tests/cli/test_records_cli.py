"""`metakit records` on a missing or wrong project file: one named error, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from metakit.cli import app

DATA = Path(__file__).parents[1] / "review" / "data"


def _run(args: list[str]):
    res = CliRunner().invoke(app, args)
    # A traceback would leave the exception itself here; a handled error exits.
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res


@pytest.mark.parametrize("command", ["dedup", "counts"])
def test_no_project_yet(tmp_path, command):
    db = tmp_path / "review.db"
    res = _run(["records", command, "-p", str(db)])
    assert res.exit_code == 1
    assert f"error: {db} does not exist" in res.output
    assert "metakit records import" in res.output
    assert not db.exists()


@pytest.mark.parametrize("command", [["dedup"], ["counts"], ["undo", "1"]])
def test_project_that_is_not_sqlite(command):
    res = _run(["records", *command, "-p", str(DATA / "wos.ris")])
    assert res.exit_code == 1
    assert "wos.ris is not a metakit project" in res.output


def test_import_into_a_file_that_is_not_sqlite_leaves_it(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("my notes\n")
    res = _run(["records", "import", str(DATA / "scopus.ris"), "-p", str(target)])
    assert res.exit_code == 1 and "notes.txt is not a metakit project" in res.output
    assert target.read_text() == "my notes\n"


def test_undo_of_a_decision_that_does_not_exist(tmp_path):
    db = str(tmp_path / "review.db")
    assert _run(["records", "import", str(DATA / "scopus.ris"), "-p", db]).exit_code == 0
    res = _run(["records", "undo", "99", "-p", db])
    assert res.exit_code == 1
    assert "no deduplication decision 99" in res.output


@pytest.mark.parametrize("command", [["records", "counts"], ["screen", "status"], ["audit"]])
def test_a_postgresql_store_that_cannot_be_reached_is_one_line(command):
    # port 1 on the local machine: connection refused at once, no server needed
    url = "postgresql://nobody:secret@127.0.0.1:1/review"
    res = _run([*command, "-p", url])
    assert res.exit_code == 1
    assert "cannot be opened as a review database" in res.output
    assert "secret" not in res.output
