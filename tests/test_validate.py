"""Tests of metakit.stats.validate: numeric coercion and rule checks that name study and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metakit.errors import DataError
from metakit.stats.validate import check_rule, numeric_column, require_columns, study_labels

LABELS = ("Smith 2001", "Jones 2005", "Lee 2010")


def test_numeric_column_accepts_numbers_and_numeric_text():
    df = pd.DataFrame({"n": [12, " 7 ", "3.5"]})
    np.testing.assert_array_equal(numeric_column(df, "n", LABELS), [12.0, 7.0, 3.5])


@pytest.mark.parametrize(
    ("values", "study", "rule"),
    [
        ([1, "12a", 3], "Jones 2005", "not a number: '12a'"),
        ([1, 2, None], "Lee 2010", "missing value"),
        ([1, "", 2], "Jones 2005", "missing value"),
        ([np.inf, 2, 3], "Smith 2001", "must be finite"),
    ],
)
def test_numeric_column_names_the_bad_cell(values, study, rule):
    df = pd.DataFrame({"sd_t": values})
    with pytest.raises(DataError) as info:
        numeric_column(df, "sd_t", LABELS)
    assert info.value.study == study and info.value.column == "sd_t"
    assert rule in str(info.value)


def test_numeric_column_rejects_booleans_and_allows_missing_on_request():
    with pytest.raises(DataError, match="true/false"):
        numeric_column(pd.DataFrame({"x": [True, False, True]}), "x", LABELS)
    out = numeric_column(pd.DataFrame({"x": [1.0, None, 2.0]}), "x", LABELS, allow_missing=True)
    assert np.isnan(out[1]) and out[2] == 2.0


def test_study_labels():
    assert study_labels(pd.DataFrame({"s": ["A", 3, 4.5]}), "s") == ("A", "3", "4.5")
    with pytest.raises(DataError, match="row 2") as info:
        study_labels(pd.DataFrame({"s": ["A", None]}), "s")
    assert info.value.column == "s"
    with pytest.raises(DataError, match="row 1"):
        study_labels(pd.DataFrame({"s": ["  ", "B"]}), "s")


def test_require_columns_and_check_rule():
    with pytest.raises(DataError, match="column not found") as info:
        require_columns(pd.DataFrame({"a": [1]}), ["a", "b"])
    assert info.value.column == "b"
    check_rule(np.array([False, False, False]), LABELS, "x", "never")
    with pytest.raises(DataError) as info:
        check_rule(np.array([False, True, True]), LABELS, "x", "must be > 0")
    assert str(info.value) == "study 'Jones 2005', column 'x': must be > 0 (and 1 other study)"
