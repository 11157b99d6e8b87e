"""Read risk-of-bias assessments from CSV, XLSX or YAML.

Sheet layout (CSV/XLSX): one row per study and outcome; column names are case-insensitive.

``study`` (required)
    Study label, as in the analysis data.
``outcome`` (optional)
    The outcome (result) assessed; a study may have one row per outcome.
``variant`` (optional, RoB 2)
    Domain 2 variant of the row: ``assignment`` (default) or ``adherence``.
``d1_1`` ... ``d5_3`` (RoB 2)
    Signalling-question answers, column ``dX_Y`` for question X.Y: ``d1_1``-``d1_3``,
    ``d2_1``-``d2_7`` (``d2_1``-``d2_6`` for adherence), ``d3_1``-``d3_4``, ``d4_1``-``d4_5``,
    ``d5_1``-``d5_3``. Answers: Y, PY, PN, N, NI, NA (or the words, "Probably yes"); leave
    questions off the algorithm's path empty or NA.
``d1`` ... ``dK`` or ``d1_judgement`` ... (all tools)
    Domain judgements (``_judgment`` is read too). RoB 2: optional; a judgement that differs from the algorithm's is a
    reviewer override and needs ``dK_reason``; a domain with no answers takes the judgement as
    given. ROBINS-I (``d1``-``d7``) and QUADAS-2 (``d1``-``d4``, applicability ``a1``-``a3``):
    required, the reviewer's (signalling answers in ``dX_Y`` columns are not used by these tools
    and are ignored).
``overall``, ``overall_reason`` (optional)
    A reviewer overall judgement; one that differs from the overall rule needs a reason.

Other columns (notes, support for judgement) are ignored. Judgements: RoB 2 Low / Some
concerns / High; ROBINS-I Low / Moderate / Serious / Critical / No information; QUADAS-2
Low / High / Unclear.

YAML: either a list of rows as above, or a mapping::

    tool: rob2
    some_concerns_to_high: 3        # optional
    assessments:
      - study: Trial A
        outcome: collapse
        answers: {"1.1": Y, "1.2": PY, "1.3": N, ...}
        judgements:
          D4: {judgement: High, reason: unblinded assessor of a subjective outcome}
        overall: {judgement: High, reason: ...}

(YAML reads unquoted ``Yes``/``No`` as booleans; they are taken as Y/N.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from metakit.errors import DataError
from metakit.rob import rob2 as _rob2
from metakit.rob import sheet as _sheet
from metakit.rob.assessment import Assessment, assess_quadas2, assess_rob2, assess_robins_i
from metakit.rob.table import RobTable
from metakit.rob.tools import Tool, get_tool

_QUESTION = re.compile(r"^d(\d+)_(\d+)$")
_JUDGEMENT = re.compile(r"^([da]\d+)(?:_judgement|_judgment)?$")
_REASON = re.compile(r"^([da]\d+)_reason$")


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def _row_to_assessment(row: Mapping[str, object], tool: Tool, index: int, variant: str,
                       some_concerns_to_high: int | None, key_domains: Sequence[str] | None) -> Assessment:
    row = {str(k).strip().lower(): v for k, v in row.items()}
    if "study" not in row:
        raise DataError("the row has no study column", column="study")
    study = row["study"]
    if _is_blank(study):
        raise DataError("the study label is empty", column="study")
    study = str(study).strip()
    outcome = None if _is_blank(row.get("outcome")) else str(row["outcome"]).strip()
    answers: dict[str, object] = {}
    judgements: dict[str, str | None] = {}
    reasons: dict[str, object] = {}
    for col, value in row.items():
        if col in ("study", "outcome", "variant", "overall", "overall_judgement", "overall_reason"):
            continue
        if (m := _QUESTION.match(col)) is not None:
            if tool.key == "rob2":
                answers[f"{m.group(1)}.{m.group(2)}"] = value
            continue
        if (m := _JUDGEMENT.match(col)) is not None:
            key = m.group(1).upper()
            if key not in tool.domain_keys and key not in {d.key for d in tool.applicability}:
                raise DataError(f"{tool.label} has no domain {key} (is the tool right? rob2, robins-i "
                                "or quadas2)", study=study, column=col)
            if not _is_blank(value):
                judgements[key] = str(value)
            continue
        if (m := _REASON.match(col)) is not None:
            reasons[m.group(1).upper()] = value
    given = {k: (v, None if _is_blank(reasons.get(k)) else str(reasons[k])) for k, v in judgements.items()}
    overall_value = row.get("overall", row.get("overall_judgement"))
    overall = None if _is_blank(overall_value) else (
        str(overall_value), None if _is_blank(row.get("overall_reason")) else str(row["overall_reason"]))
    if tool.key == "rob2":
        row_variant = variant if _is_blank(row.get("variant")) else str(row["variant"]).strip().lower()
        return assess_rob2(study, answers, outcome=outcome, variant=row_variant, judgements=given,
                           overall=overall, some_concerns_to_high=some_concerns_to_high)
    if tool.key == "robins-i":
        return assess_robins_i(study, given, outcome=outcome, overall=overall, key_domains=key_domains)
    return assess_quadas2(study, given, outcome=outcome, overall=overall)


def from_records(records: Iterable[Mapping[str, object]], tool: str | Tool = "rob2", *,
                 variant: str = _rob2.ASSIGNMENT, some_concerns_to_high: int | None = None,
                 key_domains: Sequence[str] | None = None) -> RobTable:
    """Assessments from rows (mappings with the sheet's columns; see the module docstring).

    A row may also carry nested ``answers`` ({"1.1": "Y"}) and ``judgements``
    ({"D1": "High"} or {"D1": {"judgement": "High", "reason": "..."}}), and ``overall`` as
    {"judgement": ..., "reason": ...}.

    Examples
    --------
    >>> t = from_records([{"study": "A", "d1": "Low", "d2": "Low", "d3": "Low", "d4": "High",
    ...                    "d5": "Low"}])
    >>> t.judgement_for("A")
    'High'
    """
    records = list(records)
    return _table(records, [f"row {i + 1}" for i in range(len(records))], tool, variant=variant,
                  some_concerns_to_high=some_concerns_to_high, key_domains=key_domains)


def _table(records: Sequence[object], where: Sequence[str], tool: str | Tool, *, variant: str,
           some_concerns_to_high: int | None, key_domains: Sequence[str] | None,
           source: str = "the rows") -> RobTable:
    """Assessments from rows; an error in a row names the row's location (``where``)."""
    tool = get_tool(tool)
    assessments = []
    for i, (record, place) in enumerate(zip(records, where)):
        if not isinstance(record, Mapping):
            raise DataError(f"an assessment must be a mapping of column -> value, not "
                            f"{type(record).__name__} ({place})")
        row = _flatten(record)
        if all(_is_blank(v) for v in row.values()):
            continue
        try:
            assessments.append(_row_to_assessment(row, tool, i, variant, some_concerns_to_high,
                                                  key_domains))
        except DataError as err:
            raise _sheet.located(err, place) from None
    if not assessments:
        raise DataError(f"no assessments found in {source}: it has no row below the header, or only blank rows")
    settings: dict[str, Any] = {}
    if tool.key == "rob2":
        settings["some_concerns_to_high"] = some_concerns_to_high
    if tool.key == "robins-i":
        settings["key_domains"] = None if key_domains is None else list(key_domains)
    return RobTable(tool, tuple(assessments), settings)


def _flatten(record: Mapping[str, object]) -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in record.items():
        k = str(key).strip().lower()
        if k == "answers" and isinstance(value, Mapping):
            for q, a in value.items():
                flat[_rob2.question_column(_question_key(q))] = a
        elif k == "judgements" and isinstance(value, Mapping):
            for d, j in value.items():
                d = str(d).strip().lower()
                if isinstance(j, Mapping):
                    flat[f"{d}_judgement"] = j.get("judgement")
                    flat[f"{d}_reason"] = j.get("reason")
                else:
                    flat[f"{d}_judgement"] = j
        elif k == "overall" and isinstance(value, Mapping):
            flat["overall"] = value.get("judgement")
            flat["overall_reason"] = value.get("reason")
        else:
            flat[k] = value
    return flat


def _question_key(q: object) -> str:
    # YAML reads an unquoted 1.1 as a float; str() gives "1.1" back.
    return str(q).strip()


def from_frame(frame: pd.DataFrame, tool: str | Tool = "rob2", **kwargs: Any) -> RobTable:
    """Assessments from a data frame laid out as the sheet (see the module docstring)."""
    return from_records(frame.to_dict(orient="records"), tool, **kwargs)


def read_assessments(path: str | Path, tool: str | Tool | None = None, *, sheet: str | int | None = None,
                     variant: str = _rob2.ASSIGNMENT, some_concerns_to_high: int | None = None,
                     key_domains: Sequence[str] | None = None) -> RobTable:
    """Read assessments from a .csv, .xlsx or .yaml/.yml file.

    Parameters
    ----------
    path
        The file. CSV/XLSX cells are read as text, so "NA" stays the answer NA. CSV: UTF-8 or
        UTF-16 with a byte-order mark, delimited by commas, semicolons or tabs (the rules are in
        :mod:`metakit.rob.sheet`). Every error names the file and the line (or sheet row).
    tool
        "rob2", "robins-i" or "quadas2"; default: the YAML file's ``tool``, else "rob2".
    sheet
        XLSX sheet name or index (default: the first).
    variant, some_concerns_to_high, key_domains
        See :func:`metakit.rob.assess_rob2` and :func:`metakit.rob.robins_i.overall`; a YAML
        file's own values are used when these are left at their defaults.

    Examples
    --------
    >>> table = read_assessments("examples/rob/seed_rob2.csv")  # doctest: +SKIP
    >>> table.summary_sentence()  # doctest: +SKIP
    '7 of 10 trials (70%) were at low risk of bias, 3 (30%) raised some concerns and none was at high risk.'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    kwargs: dict[str, Any] = {"variant": variant, "some_concerns_to_high": some_concerns_to_high,
                              "key_domains": key_domains}
    if suffix in (".csv", ".tsv", ".txt"):
        rows, where = _sheet.csv_rows(path)
        return _table(rows, where, tool or "rob2", source=path.name, **kwargs)
    if suffix in (".xlsx", ".xlsm"):
        rows, where = _sheet.xlsx_rows(path, sheet)
        return _table(rows, where, tool or "rob2", source=path.name, **kwargs)
    if suffix in (".yaml", ".yml"):
        doc, lines = _sheet.yaml_document(path)
        if isinstance(doc, Mapping):
            records = doc.get("assessments")
            if not isinstance(records, list):
                raise DataError(f"{path.name}: a YAML mapping needs a list under 'assessments'",
                                column="assessments")
            tool = tool or doc.get("tool", "rob2")
            for key in ("variant", "some_concerns_to_high", "key_domains"):
                if key in doc and kwargs[key] in (None, _rob2.ASSIGNMENT):
                    kwargs[key] = doc[key]
        elif isinstance(doc, list):
            records = doc
        else:
            raise DataError(f"{path.name}: a YAML assessment file holds a list of rows or a mapping "
                            f"with 'assessments', not {type(doc).__name__}")
        where = [f"{path.name}, line {n}" for n in lines] if len(lines) == len(records) else [
            f"{path.name}, assessment {i + 1}" for i in range(len(records))]
        return _table(records, where, tool or "rob2", source=path.name, **kwargs)
    raise DataError(f"cannot read {_sheet.shorten(path.name, 80)}: use .csv, .xlsx or .yaml")
