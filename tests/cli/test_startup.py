"""`metakit --help` and `metakit records import` start without the statistics stack.

Each run is a fresh interpreter (a subprocess), so modules imported by other tests do
not hide an eager import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metakit.cli import COMMANDS, app

DATA = Path(__file__).parents[1] / "review" / "data"
HEAVY = ("pandas", "scipy", "matplotlib", "sklearn")

_PROBE = """
import json, sys
from metakit.cli import main
args, heavy = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["metakit", *args]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted({m.split(".")[0] for m in sys.modules} & heavy)
print(json.dumps({"code": code, "heavy": loaded}))
"""


def _probe(args: list[str]) -> dict:
    env = dict(os.environ)
    src = str(Path(__file__).parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args), json.dumps(HEAVY)],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["records", "--help"],
                                  ["records", "import", "--help"]])
def test_help_imports_no_heavy_library(args):
    assert _probe(args) == {"code": 0, "heavy": []}


def test_records_import_imports_no_heavy_library(tmp_path):
    got = _probe(["records", "import", str(DATA / "scopus.ris"), "-p", str(tmp_path / "r.db")])
    assert got == {"code": 0, "heavy": []}


def test_every_registered_command_loads_and_is_listed():
    from typer.main import get_command

    from metakit.cli import load_command

    group = get_command(app)
    assert group.list_commands(None) == list(COMMANDS)
    for name in COMMANDS:
        assert load_command(name).name == name
