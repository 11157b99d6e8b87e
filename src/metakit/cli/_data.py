"""What the commands that read a study table share: the file reader, study labels and
the effect-size column options (``metakit meta``, ``metakit metareg``).

Imports pandas only inside the functions, so that ``metakit --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from metakit.errors import DataError
from metakit.stats.measures import BINARY_MEASURES, CONTINUOUS_MEASURES

if TYPE_CHECKING:
    import pandas as pd

# One definition of each option, used by every command that reads a study table.
DATA = typer.Argument(..., exists=True, dir_okay=False, help="CSV, TSV or XLSX file, one row per study.")
MEASURE = typer.Option("OR", "--measure", "-m", help="OR, RR, RD, PETO, AS (events/totals); MD, SMD, ROM (means/SDs/Ns); GEN (estimate with variance, SE or CI).")
STUDY = typer.Option("study", help="Column with study labels.")
YEAR = typer.Option(None, help="Column with years to append to the labels ('Smith 2003') where a label has no year yet; by default labels are the study column as written, as in the Python API.")
OUTCOME = typer.Option(None, "--outcome", help="Keep only rows where COLUMN equals VALUE (COLUMN=VALUE; repeat to combine), e.g. --outcome outcome=mortality for a long-format sheet.")
WHERE = typer.Option(None, "--where", help="Keep only rows matching a pandas query, e.g. \"timepoint == 12 and outcome == 'pain'\".")
DROP_INCOMPLETE = typer.Option(False, "--drop-incomplete", help="Leave out rows missing a value the measure needs (SD, N, ...), naming each one, instead of stopping at the first.")
EVENTS = typer.Option("e_t,e_c", help="Event columns, experimental then control.")
TOTALS = typer.Option("n_t,n_c", help="Total (N) columns for binary data.")
MEANS = typer.Option("m_t,m_c", help="Mean columns for continuous data.")
SDS = typer.Option("sd_t,sd_c", help="SD columns for continuous data.")
NS = typer.Option("n_t,n_c", help="N columns for continuous data.")
ESTIMATE = typer.Option("yi", help="Estimate column for --measure GEN.")
VARIANCE = typer.Option(None, help="Variance column for GEN.")
SE = typer.Option(None, help="Standard error column for GEN.")
CI = typer.Option(None, help="Lower,upper CI columns for GEN.")
SCALE = typer.Option("identity", help="GEN estimates: identity, log (already log ratios) or ratio (ratios with CIs, analysed on the log scale).")
LEVEL = typer.Option(0.95, help="Confidence level.")


def pair(text: str, option: str) -> tuple[str, str]:
    """Two comma-separated column names (``"e_t,e_c"``)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise typer.BadParameter(f"{option} takes two column names separated by a comma, "
                                 f"e.g. e_t,e_c; got {text!r}")
    return parts[0], parts[1]


#: Delimiters a study table may use, in the order that breaks ties.
DELIMITERS = (",", ";", "\t", "|")


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, TSV or XLSX data file; a file that cannot be read as a table raises
    :class:`~metakit.errors.DataError` saying what was expected.

    The delimiter of a CSV is the one of ``,`` ``;`` tab ``|`` that occurs most often in
    its header line (commas on a tie); text is UTF-8 (with or without a byte-order mark),
    UTF-16 with a byte-order mark, or else Windows-1252.
    """
    import io

    import pandas as pd

    from metakit.stats.validate import clip

    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            return pd.read_excel(path)
        except Exception as err:  # openpyxl/xlrd raise many types for a damaged workbook
            raise DataError(f"{path.name} is not a readable Excel workbook ({clip(str(err), 120, quote=False)})") from None
    text = _decode(path.read_bytes(), path.name)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path.name} is empty: expected a header row (study, ...) and one "
                        "row per study")
    header = lines[0]
    sep = "\t" if suffix in (".tsv", ".tab") else max(DELIMITERS, key=header.count)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise DataError(f"{path.name} is not a table with delimiter {sep!r}: "
                        f"{clip(str(err), 200, quote=False)}") from None
    if len(df) == 0:
        raise DataError(f"{path.name} has a header but no rows: expected one row per study "
                        f"(header read: {clip(header, 80)})")
    return df


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if b"\x00" in raw[:4096]:
        raise DataError(f"{name} looks like a binary file, not a CSV or TSV text table")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def select_rows(df: pd.DataFrame, outcome: list[str] | None, where: str | None) -> pd.DataFrame:
    """The rows of ``df`` that ``--outcome COLUMN=VALUE`` (each) and ``--where`` keep.

    Values are compared as text with surrounding spaces removed, so ``--outcome week=12``
    matches 12 and "12 ". No row left is an error naming the filter.
    """
    import pandas as pd

    from metakit.stats.validate import clip, require_columns

    for spec in outcome or ():
        column, eq, value = spec.partition("=")
        column, value = column.strip(), value.strip()
        if not eq or not column:
            raise DataError(f"--outcome takes COLUMN=VALUE, e.g. outcome=mortality; got {clip(spec)}")
        require_columns(df, [column])
        df = df[df[column].astype("string").str.strip() == value]
        if len(df) == 0:
            raise DataError(f"no row has {clip(value)} in this column (--outcome)", column=column)
    if where:
        try:
            keep = df.eval(where)
        except Exception as err:  # pandas raises many types for a bad expression
            raise DataError(f"--where {clip(where)} cannot be evaluated: "
                            f"{clip(str(err), 120, quote=False)}") from None
        if not (isinstance(keep, pd.Series) and pd.api.types.is_bool_dtype(keep)):
            raise DataError(f"--where {clip(where)} must give true or false for each row")
        df = df[keep.fillna(False).astype(bool)]
        if len(df) == 0:
            raise DataError(f"no row matches --where {clip(where)}")
    return df.reset_index(drop=True)


def favours_labels(favours: str | None) -> tuple[str, str] | None:
    """``--favours "LEFT,RIGHT"`` as the forest plot's (left, right) labels; None keeps
    the default (see :func:`metakit.plots.forest.forest`, ``higher_is_better``)."""
    if favours is None:
        return None
    parts = [p.strip() for p in favours.split(",")]
    if len(parts) != 2 or not all(parts):
        raise typer.BadParameter(f"--favours takes two labels, left then right, separated by "
                                 f"a comma, e.g. 'Favours drug,Favours placebo'; got {favours[:80]!r}")
    return parts[0], parts[1]


@contextlib.contextmanager
def quiet_numpy():
    """numpy's floating-point warnings off: inputs are range-checked before any fit, and
    a statistic that is not estimable is reported by metakit's own warning."""
    import numpy as np

    with np.errstate(all="ignore"):
        yield


def message(err: BaseException) -> str:
    """One line for an error, at most ~300 characters whatever input it quotes."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 300 else text[:299] + "…"


def fail(err: BaseException, path: Path | None = None) -> NoReturn:
    """Print ``error: FILE: ...`` (one line) and exit with status 1."""
    text = message(err)
    if path is not None and not text.startswith(path.name):
        text = f"{path.name}: {text}"
    typer.echo(f"error: {text}", err=True)
    raise typer.Exit(code=1) from None


def report_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Print metakit's warnings, one line each. numpy's floating-point warnings ("invalid
    value encountered ...") say nothing a reader can act on; the results they concern
    show NA and are explained by metakit's own warnings, so they are not printed."""
    seen = set()
    for w in caught:
        if issubclass(w.category, RuntimeWarning) or str(w.message) in seen:
            continue
        seen.add(str(w.message))
        typer.echo(f"warning: {message(w.message)}", err=True)


def effect_size_kwargs(measure: str, *, study: str, events: str, totals: str, means: str,
                       sds: str, ns: str, estimate: str, variance: str | None, se: str | None,
                       ci: str | None, scale: str, year: str | None = None,
                       drop_incomplete: bool = False) -> dict:
    """Keyword arguments of :func:`metakit.stats.effects.effect_sizes` for ``measure``."""
    kwargs: dict = {"study": study, "year": year or None,
                    "incomplete": "drop" if drop_incomplete else "error"}
    if measure in BINARY_MEASURES:
        kwargs.update(events=pair(events, "--events"), totals=pair(totals, "--totals"))
    elif measure in CONTINUOUS_MEASURES:
        kwargs.update(means=pair(means, "--means"), sds=pair(sds, "--sds"), ns=pair(ns, "--ns"))
    else:
        kwargs.update(estimate=estimate, variance=variance, se=se, scale=scale,
                      ci=pair(ci, "--ci") if ci else None)
    return kwargs


def ci_method(hk: bool, hk_adhoc: bool) -> str:
    """The CI method the --hk / --hk-adhoc flags ask for."""
    return "hk-adhoc" if hk_adhoc else ("hk" if hk else "z")


def jsonable(x):
    """``default`` of :func:`json.dumps`: arrays as lists, anything else as text."""
    if hasattr(x, "tolist"):
        return x.tolist()
    return str(x)
