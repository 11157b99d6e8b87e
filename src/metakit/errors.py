"""Exceptions and warnings that metakit raises.

Every error about input data names the study, the column and the rule broken, so a
reviewer can find the offending cell in the extraction sheet.
"""

from __future__ import annotations


class MetakitError(Exception):
    """Base class of metakit's exceptions."""


class DataError(MetakitError, ValueError):
    """Input data break a rule.

    Parameters
    ----------
    rule
        The rule broken, in words ("SD must be > 0").
    study
        The study (label) whose row breaks it, if one row is to blame.
    column
        The column that holds the offending value.

    Examples
    --------
    >>> str(DataError("must be >= 0", study="Aronson 1948", column="vi"))
    "study 'Aronson 1948', column 'vi': must be >= 0"
    """

    def __init__(self, rule: str, study: object | None = None, column: str | None = None):
        self.rule = rule
        self.study = study
        self.column = column
        where = []
        # A message quotes at most ~80 characters of any input, however long the cell.
        if study is not None:
            where.append(f"study {_clip(str(study))!r}")
        if column is not None:
            where.append(f"column {_clip(str(column))!r}")
        super().__init__(", ".join(where) + (": " if where else "") + rule)


def _clip(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class ConvergenceError(MetakitError, RuntimeError):
    """An iterative estimator did not converge and no fallback was requested."""


class MetakitWarning(UserWarning):
    """A legal but degenerate case was handled by a documented rule."""
