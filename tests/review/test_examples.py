"""The records example in the README runs on the files shipped in examples/records."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from metakit.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_readme_records_commands_name_shipped_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    files = re.findall(r"^metakit records import (\S+)", readme, re.M)
    assert files, "the README shows no records import"
    assert [f for f in files if not (ROOT / f).is_file()] == []


def test_readme_records_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    db = str(tmp_path / "review.db")
    for line in re.findall(r"^(metakit records \w+.*?)(?:\s+#.*)?$", readme, re.M):
        args = line.split()[1:]
        args = [str(ROOT / a) if a.startswith("examples/") else a for a in args]
        res = CliRunner().invoke(app, [*args, "-p", db])
        assert res.exit_code == 0, (line, res.output)
    res = CliRunner().invoke(app, ["records", "counts", "-p", db])
    # 3 Web of Science records (3 ER lines) + 2 Embase records (2 "<N. >" lines), no duplicates
    assert "identified: 5" in res.output and "duplicates removed: 0" in res.output
