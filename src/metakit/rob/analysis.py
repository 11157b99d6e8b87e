"""Risk of bias in the analyses: restrict to low-risk studies, subgroup by overall judgement.

Plain helpers on data frames keyed by a study column, so any analysis (``metakit.meta``'s
sensitivity analyses and subgroups) can use the judgements without this module knowing it.
"""

from __future__ import annotations

import pandas as pd

from metakit.errors import DataError
from metakit.rob.table import RobTable

ROB_COLUMN = "rob_overall"


def overall_by_study(table: RobTable, outcome: str | None = None) -> dict[str, str]:
    """Study -> overall risk-of-bias judgement.

    Examples
    --------
    >>> from metakit.rob import from_records
    >>> t = from_records([{"study": "A", "d1": "Low", "d2": "Low", "d3": "Low", "d4": "Low", "d5": "Low"}])
    >>> overall_by_study(t)
    {'A': 'Low'}
    """
    return table.overall_by_study(outcome)


def _lookup(data: pd.DataFrame, table: RobTable, study: str, outcome: str | None) -> pd.Series:
    if study not in data.columns:
        raise DataError(f"data have no study column {study!r}", column=study)
    judgements = table.overall_by_study(outcome)
    labels = data[study].astype(str)
    for label in labels.unique():
        if label not in judgements:
            raise DataError("is in the data but not in the risk-of-bias assessments",
                            study=label, column=study)
    return labels.map(judgements)


def add_rob_column(data: pd.DataFrame, table: RobTable, study: str = "study",
                   column: str = ROB_COLUMN, outcome: str | None = None) -> pd.DataFrame:
    """A copy of ``data`` with the overall judgement of each row's study in ``column``.

    The column is an ordered categorical on the tool's scale, so subgroups sort from low to
    high risk. Raises :class:`DataError` naming a study in ``data`` that was not assessed.
    """
    out = data.copy()
    values = _lookup(data, table, study, outcome)
    out[column] = pd.Categorical(values, categories=list(table.tool.levels), ordered=True)
    return out


def restrict_to_low(data: pd.DataFrame, table: RobTable, study: str = "study",
                    outcome: str | None = None) -> pd.DataFrame:
    """The rows of ``data`` whose study is at low risk of bias overall (sensitivity analysis).

    Raises :class:`DataError` naming a study in ``data`` that was not assessed.

    Examples
    --------
    >>> from metakit.rob import from_records
    >>> low = {f"d{i}": "Low" for i in range(1, 6)}
    >>> t = from_records([{"study": "A", **low}, {"study": "B", **low, "d3": "High"}])
    >>> restrict_to_low(pd.DataFrame({"study": ["A", "B"], "yi": [0.1, 0.2]}), t)["study"].tolist()
    ['A']
    """
    keep = (_lookup(data, table, study, outcome) == table.tool.low).to_numpy()
    return data.loc[keep].copy()


def low_risk_effects(es, table: RobTable, outcome: str | None = None):
    """Effect sizes restricted to the studies at low risk of bias overall.

    The sensitivity analysis reviewers report beside the main result:
    ``mk.meta(low_risk_effects(es, table))``. Raises :class:`DataError` naming a study
    that was not assessed, and when no study is at low risk.

    Examples
    --------
    >>> import metakit as mk
    >>> from metakit.rob import from_records
    >>> low = {f"d{i}": "Low" for i in range(1, 6)}
    >>> t = from_records([{"study": "A", **low}, {"study": "B", **low, "d3": "High"}])
    >>> es = mk.effect_sizes(pd.DataFrame({"study": ["A", "B"], "yi": [0.1, 0.2],
    ...                                    "vi": [0.01, 0.02]}), "GEN", variance="vi")
    >>> low_risk_effects(es, t).study
    ('A',)
    """
    frame = pd.DataFrame({"study": list(es.study)})
    keep = (_lookup(frame, table, "study", outcome) == table.tool.low).to_numpy()
    if not keep.any():
        raise DataError("no study is at low risk of bias: nothing to re-analyse",
                        column=ROB_COLUMN)
    return es.subset(keep)


def effects_with_rob(es, table: RobTable, column: str = ROB_COLUMN,
                     outcome: str | None = None):
    """Effect sizes whose data carry each study's overall judgement in ``column``.

    For a subgroup analysis by risk of bias: ``mk.meta(effects_with_rob(es, t), by="rob_overall")``.
    """
    from dataclasses import replace
    frame = pd.DataFrame({"study": list(es.study)})
    data = es.data.copy()
    data[column] = _lookup(frame, table, "study", outcome).to_numpy()
    return replace(es, data=data, keep=tuple(es.keep) + (column,))
