"""Shared input checks: read columns of an extraction sheet as numbers, or name what is wrong.

Every check raises :class:`metakit.errors.DataError` naming the first offending study, the
column and the rule, so a reviewer can go straight to the cell in the extraction sheet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from metakit.errors import DataError

__all__ = ["require_columns", "study_labels", "numeric_column", "check_rule"]


def require_columns(data: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise DataError for the first of ``columns`` that ``data`` lacks.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"])
    """
    for col in columns:
        if col not in data.columns:
            available = ", ".join(map(str, data.columns))
            raise DataError(f"column not found in data (columns are: {available})", column=col)


def study_labels(data: pd.DataFrame, column: str) -> tuple[str, ...]:
    """Study labels as strings; a missing label is an error (duplicates are allowed).

    Examples
    --------
    >>> study_labels(pd.DataFrame({"study": ["A", 2]}), "study")
    ('A', '2')
    """
    require_columns(data, [column])
    values = data[column].to_numpy()
    text = values.astype(str)
    missing = pd.isna(values) | (np.char.strip(text) == "")
    if missing.any():
        row = int(np.flatnonzero(missing)[0]) + 1
        raise DataError(f"study label is missing (row {row} of the data)", column=column)
    return tuple(text.tolist())


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
            raise DataError(f"not a number: {raw.iloc[i]!r}", study=labels[i], column=column)
    if not allow_missing:
        check_rule(~present, labels, column, "missing value")
    check_rule(np.isinf(values), labels, column, "must be finite")
    return values


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
