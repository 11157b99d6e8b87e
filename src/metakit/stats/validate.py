"""Shared input checks: read columns of an extraction sheet as numbers, or name what is wrong.

Every check raises :class:`metakit.errors.DataError` naming the first offending study, the
column and the rule, so a reviewer can go straight to the cell in the extraction sheet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from metakit.errors import DataError

__all__ = [
    "LIMIT",
    "VARIANCE_SPAN",
    "require_columns",
    "study_labels",
    "numeric_column",
    "check_rule",
    "check_effect_range",
    "missing_cells",
    "duplicate_labels",
    "clip",
]

#: The range of magnitudes metakit computes with: every number read must satisfy
#: |x| <= LIMIT, every effect size |yi| <= LIMIT and every sampling variance
#: 1/LIMIT <= vi <= LIMIT. Inside it tau² stays below ~1e60 and the weights w = 1/(vi +
#: tau²) within [1e-61, 1e30], so the weighted power sums of the estimators (up to w^4 and
#: w^3 y^2) stay between 1e-250 and 1e150, far from float64's overflow (1.8e308) and
#: underflow (2.2e-308); outside it a fit could print NA or divide by zero.
LIMIT = 1e30

#: The largest ratio of two studies' sampling variances. Beyond it one study takes all
#: the weight and float64 loses the other studies in the sums of the estimators (tr P =
#: sum w - sum w²/sum w cancels to 0 at a ratio of ~1e16); real studies' variances differ
#: by far less (a ratio of 1e10 is a 1e10-fold difference in sample size), so a larger
#: spread is an error of units or extraction.
VARIANCE_SPAN = 1e10


def clip(value: object, width: int = 60, quote: bool = True) -> str:
    """Text of ``value`` for an error message (strings quoted unless ``quote`` is false),
    on one line and at most ``width`` characters.

    Examples
    --------
    >>> clip("x" * 100, 10), clip("a, b", quote=False)
    ("'xxxxxxxx…", 'a, b')
    """
    text = repr(value) if isinstance(value, str) and quote else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _columns_text(columns: Sequence[object], limit: int = 12) -> str:
    shown = [clip(str(c), 30) for c in list(columns)[:limit]]
    more = len(columns) - limit
    return ", ".join(shown) + (f" … ({more} more)" if more > 0 else "")


def require_columns(data: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise DataError for the first of ``columns`` that ``data`` lacks.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"])
    """
    for col in columns:
        if col not in data.columns:
            raise DataError(f"column not found in data (columns are: {_columns_text(data.columns)})",
                            column=str(col)[:60])


def study_labels(data: pd.DataFrame, column: str, year: str | None = None) -> tuple[str, ...]:
    """Study labels as strings: the one labelling rule of the API and the command line.

    A label is the text of ``column`` with surrounding white space removed; a missing or
    blank label is an error (duplicates are allowed; see :func:`duplicate_labels`). With
    ``year`` (a column name), the year is appended ("Smith 2003") to every label that does
    not already contain a four-digit number; a blank year appends nothing. A numeric year
    must be a whole number from 1000 to 2999; a text year ("2003a") is appended as written.

    Examples
    --------
    >>> study_labels(pd.DataFrame({"study": ["A", 2]}), "study")
    ('A', '2')
    >>> study_labels(pd.DataFrame({"s": ["Smith", "Lee 1999"], "y": [2003.0, 1999]}), "s", "y")
    ('Smith 2003', 'Lee 1999')
    """
    require_columns(data, [column])
    values = data[column].to_numpy()
    text = np.char.strip(values.astype(str))
    missing = pd.isna(values) | (text == "")
    if missing.any():
        row = int(np.flatnonzero(missing)[0]) + 1
        raise DataError(f"study label is missing or blank (row {row} of the data)", column=column)
    labels = text.astype(object)
    if year:
        require_columns(data, [year])
        labels = labels + _year_suffix(data[year], labels, year)
    return tuple(str(x) for x in labels)


def _year_suffix(col: pd.Series, labels: np.ndarray, column: str) -> np.ndarray:
    as_text = col.astype("string").str.strip().fillna("")
    number = pd.to_numeric(as_text.where(as_text != ""), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)
    numeric = ~np.isnan(number)
    bad = numeric & ((number != np.round(number)) | (number < 1000) | (number > 2999))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"a year must be a whole number from 1000 to 2999, not {clip(col.iloc[i])}",
                        study=labels[i], column=column)
    shown = np.where(numeric, np.char.mod("%d", np.nan_to_num(number).astype(np.int64)),
                     as_text.to_numpy(dtype=object).astype(str))
    has_year = pd.Series(labels.astype(str)).str.contains(r"\b\d{4}\b", regex=True).to_numpy()
    add = (shown != "") & ~has_year
    return np.where(add, " " + shown.astype(object), "")


def duplicate_labels(labels: Sequence[str]) -> dict[str, list[int]]:
    """Labels that occur more than once, with their rows (1-based), in order of appearance.

    Examples
    --------
    >>> duplicate_labels(["A", "B", "A"])
    {'A': [1, 3]}
    """
    if len(set(labels)) == len(labels):
        return {}
    codes, first = pd.factorize(pd.Series(list(labels), dtype=object))
    counts = np.bincount(codes, minlength=len(first))
    return {str(first[c]): (np.flatnonzero(codes == c) + 1).tolist()
            for c in np.flatnonzero(counts > 1)}


def missing_cells(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Boolean (rows, columns): True where a cell is missing (NA or blank text).

    Examples
    --------
    >>> missing_cells(pd.DataFrame({"a": [1, None], "b": [" ", "x"]}), ["a", "b"]).tolist()
    [[False, True], [True, False]]
    """
    require_columns(data, columns)
    out = np.zeros((len(data), len(columns)), dtype=bool)
    for j, col in enumerate(columns):
        raw = data[col]
        blank = raw.astype("string").str.strip().fillna("") == ""
        out[:, j] = (raw.isna() | blank).to_numpy()
    return out


def numeric_column(
    data: pd.DataFrame, column: str, labels: Sequence[str], *, allow_missing: bool = False
) -> np.ndarray:
    """Read ``column`` as float64, naming the study of the first bad cell.

    Numbers stored as text (``"12"``, ``" 3.5 "``) are accepted; anything else that is not a
    number (``"12a"``, ``True``) raises, as does a missing or infinite value (missing values
    are returned as NaN when ``allow_missing`` is true).

    Examples
    --------
    >>> numeric_column(pd.DataFrame({"n": ["12", 3]}), "n", ["A", "B"])
    array([12.,  3.])
    """
    require_columns(data, [column])
    raw = data[column]
    plain = raw.to_numpy()
    if plain.dtype.kind == "b" or pd.api.types.is_bool_dtype(raw):
        raise DataError("must be a number, not a true/false value", study=labels[0], column=column)
    if plain.dtype.kind in "iuf":
        # plain numpy numbers: the common case, read without pandas' missing-value machinery
        values = plain.astype(float)
        present = ~np.isnan(values)
    elif pd.api.types.is_numeric_dtype(raw):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        present = ~np.isnan(values)
    else:
        as_text = raw.astype("string").str.strip()
        coerced = pd.to_numeric(as_text.where(as_text != ""), errors="coerce")
        values = coerced.to_numpy(dtype=float, na_value=np.nan)
        present = raw.notna().to_numpy() & (as_text.fillna("") != "").to_numpy()
        bad_text = present & np.isnan(values)
        if bad_text.any():
            i = int(np.flatnonzero(bad_text)[0])
            raise DataError(f"not a number: {clip(raw.iloc[i])}", study=labels[i], column=column)
    if not allow_missing:
        check_rule(~present, labels, column, "missing value")
    check_rule(np.isinf(values), labels, column, "must be finite")
    check_rule(np.abs(values) > LIMIT, labels, column,
               f"out of range: numbers must lie within ±{LIMIT:g}")
    return values


def check_effect_range(yi: np.ndarray, vi: np.ndarray, labels: Sequence[str], columns: str,
                       measure: str) -> None:
    """Raise DataError for the first study whose effect size or variance lies outside
    :data:`LIMIT` (``|yi| <= LIMIT``, ``1/LIMIT <= vi <= LIMIT``) or overflowed.

    ``columns`` names the input columns the effect was computed from. NaN (an effect that
    is undefined, e.g. a zero cell without correction) is left to the caller.

    Examples
    --------
    >>> check_effect_range(np.array([1e60]), np.array([1.0]), ["A"], "yi", "GEN")
    Traceback (most recent call last):
    ...
    metakit.errors.DataError: study 'A', column 'yi': GEN effect size 1e+60 is out of range (|yi| must be <= 1e+30)
    """
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    big_y = np.isinf(yi) | (np.abs(yi) > LIMIT)
    bad_v = np.isinf(vi) | (vi > LIMIT) | ((vi >= 0) & (vi < 1 / LIMIT))
    bad = big_y | bad_v
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        if big_y[i]:
            rule = f"{measure} effect size {yi[i]:.3g} is out of range (|yi| must be <= {LIMIT:g})"
        else:
            rule = (f"{measure} sampling variance {vi[i]:.3g} is out of range (it must lie in "
                    f"[{1 / LIMIT:g}, {LIMIT:g}]; check the units and the SD/SE/CI)")
        check_rule(np.arange(bad.size) == i, labels, columns, rule)
    usable = np.isfinite(vi) & (vi > 0)
    if usable.sum() > 1:
        v = np.where(usable, vi, np.nan)
        lo, hi = int(np.nanargmin(v)), int(np.nanargmax(v))
        if v[hi] > VARIANCE_SPAN * v[lo]:
            check_rule(np.arange(vi.size) == hi, labels, columns,
                       f"{measure} sampling variance {v[hi]:.3g} is more than {VARIANCE_SPAN:g} "
                       f"times that of study {clip(str(labels[lo]), 40)} ({v[lo]:.3g}): one study "
                       f"would take all the weight; check the units and the SD/SE/CI")


def check_rule(bad: np.ndarray, labels: Sequence[str], column: str, rule: str) -> None:
    """Raise DataError(rule) for the first study where ``bad`` is true.

    When several studies break the rule, the message says how many others do too.

    Examples
    --------
    >>> check_rule(np.array([False, True]), ["A", "B"], "sd_t", "SD must be > 0")
    Traceback (most recent call last):
    ...
    metakit.errors.DataError: study 'B', column 'sd_t': SD must be > 0
    """
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        where = np.flatnonzero(bad)
        others = len(where) - 1
        suffix = f" (and {others} other stud{'y' if others == 1 else 'ies'})" if others else ""
        raise DataError(rule + suffix, study=labels[int(where[0])], column=column)
