"""Malformed inputs for the command line and the API, and the verdict on each run (issue 13).

Used by ``tests/test_fuzz.py`` (a few hundred examples in the normal test run) and by
``benchmarks/fuzz.py`` (10,000, counting each outcome). Three families of input:

- study tables for ``metakit meta`` and ``mk.effect_sizes`` + ``mk.meta``, built cell by
  cell: each cell a plausible value or, with some probability, a malformed one (blank,
  text, 1e308, 1e-300, a 20-digit number, a 5,000-character string ...), with duplicated
  or blank labels, missing columns, other delimiters, encodings and whole-file damage
  (empty, a stray 100 kB first line, binary bytes);
- search exports for ``metakit records import`` and risk-of-bias sheets for ``metakit rob
  summarise``: the real files under ``tests/review/data`` and ``examples/rob``, mutated
  line by line (lines dropped, repeated, truncated, garbage or very long lines inserted,
  NUL bytes, other encodings).

The verdict (:func:`verdict`, :func:`api_verdict`) is one of ``ok`` (exit 0, no NA),
``ok-warned`` (exit 0 with a warning), ``error`` (exit 1 and one line ``error: ...`` of at
most 400 characters naming the file, study, column, line, record or option), ``usage``
(exit 2, click's own usage message for a bad option value), ``skipped`` (API only: the
damaged file is no table, so there is no data frame to pass), and the failures
``traceback`` (an uncaught exception), ``bad-error`` (exit 1 otherwise) and ``silent-na``
(exit 0 with NA/NaN in the output and no warning).
"""

from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
RECORD_SEEDS = sorted(p for p in (ROOT / "tests" / "review" / "data").iterdir()
                      if p.suffix.lower() in (".ris", ".nbib", ".bib", ".csv", ".xml", ".txt", ".isi",
                                              ".ciw", ".cgi"))
ROB_SEEDS = sorted((ROOT / "examples" / "rob").glob("*.csv")) + sorted((ROOT / "examples" / "rob").glob("*.yaml"))

FAILURES = ("traceback", "bad-error", "silent-na")
OUTCOMES = ("ok", "ok-warned", "error", "usage", "skipped", *FAILURES)

COLUMNS = {
    "OR": ["e_t", "n_t", "e_c", "n_c"], "RR": ["e_t", "n_t", "e_c", "n_c"],
    "RD": ["e_t", "n_t", "e_c", "n_c"], "PETO": ["e_t", "n_t", "e_c", "n_c"],
    "AS": ["e_t", "n_t", "e_c", "n_c"],
    "MD": ["m_t", "sd_t", "n_t", "m_c", "sd_c", "n_c"], "SMD": ["m_t", "sd_t", "n_t", "m_c", "sd_c", "n_c"],
    "ROM": ["m_t", "sd_t", "n_t", "m_c", "sd_c", "n_c"],
    "GEN": ["yi", "vi", "lo", "hi"],
}
BAD_CELLS = ["", " ", "NA", "nan", "inf", "-inf", "1e308", "-1e308", "1e-300", "1e200", "1e31",
             "0", "-1", "-0", "abc", "1,5", "12345678901234567890", "TRUE", "\u00a0", "3.5.1",
             "x" * 5000, "1e-20", "9" * 40]
LOCATION = re.compile(r"study '|column '|line \d|row \d|record|--[a-z]"
                      r"|\.(csv|tsv|txt|ris|bib|nbib|xml|yaml|isi|ciw|cgi)\b", re.IGNORECASE)
NA = re.compile(r"(?<![A-Za-z])(NA|nan|NaN)(?![A-Za-z])")
#: risk-of-bias answers include "NA" (not applicable): only a float's NaN is a wrong result
NAN = re.compile(r"(?<![A-Za-z])(nan|NaN)(?![A-Za-z])")


def _good(column: str, i: int):
    """A plausible value of ``column`` for row ``i``, as a strategy."""
    if column in ("e_t", "e_c"):
        return st.integers(0, 40).map(str)
    if column in ("n_t", "n_c"):
        return st.integers(40, 200).map(str)
    if column in ("m_t", "m_c"):
        return st.floats(0.5, 50, allow_nan=False).map(lambda x: f"{x:.2f}")
    if column in ("sd_t", "sd_c", "vi"):
        return st.floats(0.05, 10, allow_nan=False).map(lambda x: f"{x:.3f}")
    if column == "yi":
        return st.floats(-3, 3, allow_nan=False).map(lambda x: f"{x:.3f}")
    if column == "lo":
        return st.floats(-5, -3.5, allow_nan=False).map(lambda x: f"{x:.2f}")
    if column == "hi":
        return st.floats(3.5, 5, allow_nan=False).map(lambda x: f"{x:.2f}")
    if column == "year":
        return st.integers(1950, 2024).map(str)
    return st.sampled_from(["a", "b", "c"])


@st.composite
def cell(draw, column: str, i: int, bad_rate: int) -> str:
    if draw(st.integers(0, 99)) < bad_rate:
        return draw(st.one_of(st.sampled_from(BAD_CELLS),
                              st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)))
    return draw(_good(column, i))


@st.composite
def study_table(draw) -> dict:
    """A study table as text, with the command-line arguments that analyse it."""
    measure = draw(st.sampled_from(list(COLUMNS)))
    cols = list(COLUMNS[measure])
    args = ["--measure", measure]
    if measure == "GEN":
        use_ci = draw(st.booleans())
        args += ["--ci", "lo,hi"] if use_ci else ["--variance", "vi"]
    extra = draw(st.lists(st.sampled_from(["year", "grp", "outcome"]), unique=True, max_size=3))
    header = ["study", *cols, *extra]
    if draw(st.integers(0, 9)) == 0:  # a column missing or misnamed
        j = draw(st.integers(0, len(header) - 1))
        header[j] = draw(st.sampled_from(["", "Study", "x" * 300, header[j] + " "]))
    k = draw(st.integers(0, 7))
    bad_rate = draw(st.sampled_from([0, 2, 8, 25]))
    rows = []
    for i in range(k):
        label = draw(st.one_of(st.sampled_from([f"S{i}", f"S{max(i - 1, 0)}", "   ", "", f"Trial {i} (2003)"]),
                               st.text(max_size=12)) if draw(st.integers(0, 9)) == 0
                     else st.just(f"Study {i}"))
        row = [label] + [draw(cell(c, i, bad_rate)) for c in header[1:]]
        rows.append(row)
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t", "|"]))
    text = "\n".join(sep.join(r) for r in [header, *rows]) + "\n"
    damage = draw(st.sampled_from(["none"] * 6 + ["empty", "blank", "stray", "bom", "utf16",
                                                   "binary", "cp1252", "truncate"]))
    data: bytes
    if damage == "empty":
        data = b""
    elif damage == "blank":
        data = b"  \n\t\n \n"
    elif damage == "stray":
        data = ("x" * 100_000 + "\n" + text).encode()
    elif damage == "bom":
        data = b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    elif damage == "utf16":
        data = text.encode("utf-16", "surrogatepass")
    elif damage == "binary":
        data = bytes(draw(st.binary(min_size=1, max_size=300)))
    elif damage == "cp1252":
        data = text.encode("cp1252", "replace")
    elif damage == "truncate":
        raw = text.encode("utf-8", "surrogatepass")
        data = raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    else:
        data = text.encode("utf-8", "surrogatepass")
    options = draw(st.lists(st.sampled_from([
        ("--model", "common"), ("--hk",), ("--tau2", "DL"), ("--tau2", "PM"), ("--method", "MH"),
        ("--method", "Peto"), ("--pi", "t"), ("--by", "grp"), ("--year", "year"), ("--drop-incomplete",),
        ("--outcome", "outcome=a"), ("--where", "grp == 'a'"), ("--scale", "ratio"), ("--convention", "revman"),
    ]), unique=True, max_size=3))
    for opt in options:
        args += list(opt)
    suffix = ".tsv" if sep == "\t" and draw(st.booleans()) else ".csv"
    return {"data": data, "args": args, "suffix": suffix, "measure": measure}


@st.composite
def mutated_file(draw, seeds: list[Path]) -> dict:
    """A real file with line-level damage."""
    seed = draw(st.sampled_from(seeds))
    raw = seed.read_bytes()
    lines = raw.splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["drop", "dup", "cut", "garbage", "long", "nul", "swap", "blank"]))
        if not lines:
            break
        j = draw(st.integers(0, len(lines) - 1))
        if op == "drop":
            del lines[j]
        elif op == "dup":
            lines.insert(j, lines[j])
        elif op == "cut":
            lines[j] = lines[j][: draw(st.integers(0, len(lines[j])))]
        elif op == "garbage":
            lines.insert(j, draw(st.binary(max_size=40)) + b"\n")
        elif op == "long":
            lines.insert(j, b"x" * draw(st.sampled_from([1000, 140_000])) + b"\n")
        elif op == "nul":
            lines[j] = b"\x00" + lines[j]
        elif op == "swap":
            lines[j] = lines[j].replace(b",", b";").replace(b"  - ", b" -")
        else:
            lines[j] = b"\n"
    data = b"".join(lines)
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return {"data": data, "suffix": seed.suffix, "seed": seed.name}


# -- verdicts -------------------------------------------------------------------------

def verdict(res, na: re.Pattern = NA) -> str:
    """The outcome of one CliRunner result (see the module docstring); ``na`` is what
    counts as a number-shaped NA in the output."""
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        return "traceback"
    out = res.output
    if res.exit_code == 0:
        warned = "warning" in out.lower()
        if na.search(out) and not warned:
            return "silent-na"
        return "ok-warned" if warned else "ok"
    if res.exit_code == 2:
        return "usage"
    lines = out.strip().splitlines()
    if (res.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error")
            and len(lines[0]) <= 400 and LOCATION.search(lines[0])):
        return "error"
    return "bad-error"


def run_cli(runner, app, command: list[str], case: dict, *, project: bool = False):
    """Write ``case["data"]`` to a temporary file and run ``metakit COMMAND FILE ARGS``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("input" + case["suffix"])
        path.write_bytes(case["data"])
        extra = ["--project", str(Path(tmp) / "review.db")] if project else []
        return runner.invoke(app, [*command, str(path), *case.get("args", []), *extra])


def api_verdict(case: dict) -> str:
    """The outcome of the same table through ``mk.effect_sizes`` and ``mk.meta``: a failure
    must be a :class:`~metakit.errors.MetakitError` naming a study, column or rule."""
    import io

    import pandas as pd

    import metakit as mk
    from metakit.errors import MetakitError

    try:
        text = case["data"].decode("utf-8")
        sep = next((s for s in ("\t", ";", "|", ",") if s in text.splitlines()[0]), ",")
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except Exception:  # damaged beyond a table: the API takes a data frame, nothing to test
        return "skipped"
    measure = case["measure"]
    kw = {}
    if measure == "GEN":
        kw = {"ci": ("lo", "hi")} if "--ci" in case["args"] else {"variance": "vi"}
    if "--drop-incomplete" in case["args"]:
        kw["incomplete"] = "drop"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = mk.meta(mk.effect_sizes(df, measure, **kw))
            text = result.summary()
        except MetakitError as err:
            msg = str(err)
            return "error" if (LOCATION.search(msg) or getattr(err, "rule", None)) and len(msg) <= 400 \
                else "bad-error"
        except Exception:
            return "traceback"
    warned = any(issubclass(w.category, mk_warning()) for w in caught)
    if NA.search(text) and not warned:
        return "silent-na"
    return "ok-warned" if warned else "ok"


def mk_warning():
    from metakit.errors import MetakitWarning

    return MetakitWarning
