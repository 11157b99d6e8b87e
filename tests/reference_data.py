"""Loaders for the reference values in tests/reference/ (written by R scripts there)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).parent / "reference"


@cache
def load(name: str) -> dict:
    """The parsed JSON file ``tests/reference/<name>.json``."""
    with open(REFERENCE / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


def arr(values) -> np.ndarray:
    """A JSON list as floats, with null -> NaN and "Inf" strings -> inf."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def close(actual, expected, rtol: float = 1e-6, atol: float = 1e-8) -> bool:
    """metakit's tolerance: absolute OR relative difference within bounds."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    both_nan = np.isnan(a) & np.isnan(e)
    ok = np.isclose(a, e, rtol=rtol, atol=atol) | both_nan
    return bool(ok.all())
