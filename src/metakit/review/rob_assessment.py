"""RoB 2 assessments in the review store: two assessors, blind, judged by the algorithm, reconciled.

The form is RoB 2's signalling questions per domain (:data:`metakit.rob.rob2.QUESTIONS` and
their wording, :data:`metakit.rob.rob2.QUESTION_TEXT`); answers are Y, PY, PN, N, NI, NA
(:func:`metakit.rob.tools.parse_answer`). Each domain's judgement comes from the package's
algorithm (:func:`metakit.rob.rob2.judge_domain`) and the overall one from its rule, as
:func:`metakit.rob.assess_rob2` gives them (an assessor departs from them only by an override
with its reason), so an assessment in the store and the same answers in a file give the same
judgements.

One assessment is a study and an outcome (``outcome`` may be empty when a review assesses
each study once). The entries follow :mod:`metakit.review.dual_entry`: each assessor answers
blind to the other, submits (every question the algorithm reaches must be answered), then the
two are compared question by question and domain by domain, and the reconciler settles each
differing answer. :func:`export_assessments` writes the agreed answers in the sheet layout of
:mod:`metakit.rob.io` that ``metakit rob`` and the report read.

Slots: ``variant`` (domain 2: ``assignment``, the default, or ``adherence``), the question
ids ``"1.1"`` ... ``"5.3"``, and a reviewer's override of a domain's judgement (``"D1"`` ...
``"D5"``) or of the overall rule (``"overall"``), each with its reason (``"D1_reason"``,
``"overall_reason"``): RoB 2 lets assessors depart from the algorithm with a justification,
and :func:`metakit.rob.assess_rob2` refuses an override without one.

Example
-------
>>> from metakit.review.database import open_database
>>> from metakit.review.studies import add_study
>>> db = open_database("sqlite://")
>>> add_study(db, "Mao 2015", actor="owner")
>>> _ = answer(db, "Mao 2015", "THA", "ana", {"1.1": "Y", "1.2": "Y", "1.3": "N"})
>>> judgements(assessor_answers(db, "Mao 2015", "THA", "ana", reader="ana"))["D1"]
'Low'
>>> db.dispose()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metakit.errors import DataError
from metakit.review import dual_entry as dual
from metakit.review.database import Database
from metakit.review.studies import studies_table
from metakit.rob import rob2 as _rob2
from metakit.rob.assessment import OVERALL, Assessment, assess_rob2
from metakit.rob.tools import ROB2, parse_answer

if TYPE_CHECKING:
    import pandas as pd

    from metakit.rob.table import RobTable

__all__ = ["RobComparison", "agreed_table", "answer", "assessor_answers", "compare_assessments",
           "export_assessments", "judgements", "parse_answers", "questions", "reconcile_assessment", "status",
           "study_labels", "submit_assessment"]

KIND = "rob"
VARIANT = "variant"
OVERALL_KEY = "overall"
#: The override slots: each domain's judgement and reason, then the overall ones.
OVERRIDES = tuple(k for d in (*ROB2.domain_keys, OVERALL_KEY) for k in (d, f"{d}_reason"))


def _target(study_id: str, outcome: str | None) -> dual.Target:
    return dual.Target(KIND, str(study_id).strip(), (outcome or "").strip())


def questions(variant: str = _rob2.ASSIGNMENT) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The RoB 2 form: per domain (key, name, [(question id, wording)]).

    Examples
    --------
    >>> questions()[0][2][0]
    ('1.1', 'Was the allocation sequence random?')
    """
    _variant(variant)
    text = _rob2.QUESTION_TEXT[variant]
    return [(d.key, d.name, [(q, text[q]) for q in _rob2.QUESTIONS[variant][d.key]]) for d in ROB2.domains]


def _variant(value: object, study: object = None) -> str:
    text = str(value or _rob2.ASSIGNMENT).strip().lower()
    if text not in _rob2.VARIANTS:
        raise DataError(f"domain 2 variant {value!r} is not one of {', '.join(_rob2.VARIANTS)}",
                        study=study, column=VARIANT)
    return text


def parse_answers(answers: Mapping[str, object], variant: str = _rob2.ASSIGNMENT,
                  study: str = "") -> dict[str, str | None]:
    """Answers (question -> Y/PY/... or words) and overrides in their stored form; None for empty.

    Examples
    --------
    >>> parse_answers({"1.1": "probably yes", "D1": "some concerns", "D1_reason": " why "})
    {'1.1': 'PY', 'D1': 'Some concerns', 'D1_reason': 'why'}
    """
    known = {q for qs in _rob2.QUESTIONS[variant].values() for q in qs}
    out: dict[str, str | None] = {}
    for q, raw in answers.items():
        q = str(q).strip()
        if q == VARIANT:
            continue
        if q in OVERRIDES:
            text = None if raw is None else str(raw).strip() or None
            out[q] = text if text is None or q.endswith("_reason") else ROB2.parse_judgement(
                text, study=study, column=q.lower())
            continue
        if q not in known:
            raise DataError(f"RoB 2 ({variant}) has no signalling question {q}", study=study,
                            column=_rob2.question_column(q))
        out[q] = parse_answer(raw, study=study, column=_rob2.question_column(q))
    return out


def judgements(answers: Mapping[str, str | None], study: str = "") -> dict[str, str | None]:
    """Each domain's judgement by the algorithm, and ``Overall``; None where answers are missing.

    ``answers`` holds question ids and ``variant`` (as an assessor's entry does), and any
    overrides (``"D1"``, ``"overall"``), which replace the algorithm's judgement. A domain
    whose path reaches an unanswered question is None (the form shows it as pending); so is
    the overall judgement until every domain is judged. An answer that does not fit the
    algorithm is an error naming the question.

    Examples
    --------
    >>> judgements({"1.1": "Y", "1.2": "NI", "1.3": "N"})["D1"]
    'Some concerns'
    >>> judgements({"1.1": "Y"})["D1"] is None
    True
    """
    variant = _variant(answers.get(VARIANT), study)
    given = {q: a for q, a in answers.items() if q != VARIANT and q not in OVERRIDES and a is not None}
    out: dict[str, str | None] = {}
    for d in ROB2.domain_keys:
        try:
            out[d] = _rob2.judge_domain(d, given, variant, study=study).judgement
        except DataError as err:
            if "must be answered" not in err.rule:
                raise
            out[d] = None
        out[d] = answers.get(d) or out[d]
    judged = [j for j in out.values() if j is not None]
    rule = _rob2.overall(judged) if len(judged) == len(ROB2.domain_keys) else None
    out["Overall"] = answers.get(OVERALL_KEY) or rule
    return out


def _assess(study: str, outcome: str, values: Mapping[str, str | None],
            some_concerns_to_high: int | None = None) -> Assessment:
    variant = _variant(values.get(VARIANT), study)
    overrides = {d: (values[d], values.get(f"{d}_reason")) for d in ROB2.domain_keys if values.get(d)}
    overall = values.get(OVERALL_KEY)
    return assess_rob2(study, {q: a for q, a in values.items()
                               if q != VARIANT and q not in OVERRIDES and a is not None},
                       outcome=outcome or None, variant=variant, judgements=overrides,
                       overall=(overall, values.get(f"{OVERALL_KEY}_reason")) if overall else None,
                       some_concerns_to_high=some_concerns_to_high)


def answer(db: Database, study_id: str, outcome: str | None, assessor: str, answers: Mapping[str, object], *,
           variant: str | None = None, request_id: str | None = None) -> bool:
    """Set some of ``assessor``'s answers (question id -> Y/PY/PN/N/NI/NA; None or "" clears).

    ``variant`` sets domain 2's variant for this assessment. Answers that do not fit the
    algorithm where it reaches them are refused. Returns False when ``request_id`` was seen.
    """
    target = _target(study_id, outcome)
    current = dual.entry_values(db, target, assessor, reader=assessor)
    v = _variant(variant if variant is not None else current.get(VARIANT), study_id)
    parsed: dict[str, str | None] = dict(parse_answers(answers, v, target.label))
    if variant is not None or VARIANT not in current:
        parsed[VARIANT] = v
    return dual.write_values(db, target, assessor, parsed, request_id=request_id,
                             check=lambda vals: judgements(vals, target.label) and None)


def submit_assessment(db: Database, study_id: str, outcome: str | None, assessor: str, *,
                      request_id: str | None = None) -> bool:
    """Submit ``assessor``'s answers: every question the algorithm reaches must be answered."""
    target = _target(study_id, outcome)
    return dual.submit(db, target, assessor, request_id=request_id,
                       check=lambda vals: _assess(target.study_id, target.scope, vals) and None)


def assessor_answers(db: Database, study_id: str, outcome: str | None, assessor: str, *,
                     reader: str) -> dict[str, str | None]:
    """``assessor``'s answers (and ``variant``) as ``reader`` may see them (blinding rule)."""
    return dual.entry_values(db, _target(study_id, outcome), assessor, reader=reader)


@dataclass(frozen=True)
class RobComparison:
    """Two assessors' RoB 2 answers and the algorithm's judgements for one study and outcome.

    Attributes
    ----------
    study, outcome
        What was assessed.
    assessors
        The two assessors.
    answers
        (question, first's answer, second's answer, agree), the variant first as question
        ``variant``.
    domains
        (domain, first's judgement, second's judgement, agree), ``Overall`` last.
    """

    study: str
    outcome: str
    assessors: tuple[str, str]
    answers: tuple[tuple[str, str | None, str | None, bool], ...]
    domains: tuple[tuple[str, str | None, str | None, bool], ...]

    @property
    def discrepancies(self) -> tuple[str, ...]:
        """Questions (and ``variant``) answered differently."""
        return tuple(q for q, _a, _b, agree in self.answers if not agree)

    def to_frame(self) -> pd.DataFrame:
        """One row per question then per domain: item, first, second, agree."""
        import pandas as pd

        a, b = self.assessors
        return pd.DataFrame(list(self.answers) + list(self.domains), columns=["item", a, b, "agree"])

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view (JSON-ready)."""
        keys = ("item", "first", "second", "agree")
        return {"study": self.study, "outcome": self.outcome, "assessors": list(self.assessors),
                "discrepancies": list(self.discrepancies),
                "answers": [dict(zip(keys, r)) for r in self.answers],
                "domains": [dict(zip(keys, r)) for r in self.domains]}

    def summary(self) -> str:
        """The judgements side by side and the differing answers."""
        a, b = self.assessors
        label = self.study + (f" ({self.outcome})" if self.outcome else "")
        lines = [f"{label}: {a} / {b}"]
        lines += [f"  {d}: {x} / {y}" + ("" if agree else "  <- differs") for d, x, y, agree in self.domains]
        lines += [f"  question {q}: {x} / {y}" for q, x, y, agree in self.answers if not agree]
        return "\n".join(lines)


def _submitted_pair(db: Database, target: dual.Target, assessors: Sequence[str] | None) -> tuple[str, str]:
    submitted = [p for p, at in dual.people(db, target) if at is not None]
    if assessors is not None:
        pair = tuple(str(a).strip() for a in assessors)
        if len(pair) != 2 or pair[0] == pair[1] or any(p not in submitted for p in pair):
            raise DataError(f"name two assessors who submitted ({', '.join(submitted) or 'none yet'})",
                            study=target.label)
        return pair[0], pair[1]
    if len(submitted) != 2:
        if len(submitted) < 2:
            raise dual.BlindError(f"{target.label}: {len(submitted)} assessment(s) submitted; the comparison "
                                  "opens when two are")
        raise DataError(f"{len(submitted)} assessors submitted ({', '.join(submitted)}): name the two to compare",
                        study=target.label)
    return submitted[0], submitted[1]


def compare_assessments(db: Database, study_id: str, outcome: str | None, *, reader: str,
                        assessors: Sequence[str] | None = None) -> RobComparison:
    """Compare the two submitted assessments of a study and outcome, read by ``reader``."""
    target = _target(study_id, outcome)
    a, b = _submitted_pair(db, target, assessors)
    va = dual.entry_values(db, target, a, reader=reader)
    vb = dual.entry_values(db, target, b, reader=reader)
    variants = [_variant(va.get(VARIANT)), _variant(vb.get(VARIANT))]
    keys = [VARIANT] + [q for d in ROB2.domain_keys for q in _rob2.QUESTIONS[_rob2.ASSIGNMENT][d]] + list(OVERRIDES)
    answers = []
    for q in keys:
        x = variants[0] if q == VARIANT else va.get(q)
        y = variants[1] if q == VARIANT else vb.get(q)
        answers.append((q, x, y, x == y))
    ja, jb = _assess(target.study_id, target.scope, va), _assess(target.study_id, target.scope, vb)
    domains = [(d, ja.domains[d], jb.domains[d], ja.domains[d] == jb.domains[d]) for d in ROB2.domain_keys]
    domains.append(("Overall", ja.overall, jb.overall, ja.overall == jb.overall))
    return RobComparison(target.study_id, target.scope, (a, b), tuple(answers), tuple(domains))


def reconcile_assessment(db: Database, study_id: str, outcome: str | None, reconciler: str, *,
                         choices: Mapping[str, object] | None = None, notes: Mapping[str, str] | None = None,
                         note: str | None = None, assessors: Sequence[str] | None = None,
                         request_id: str | None = None) -> Assessment:
    """Record the agreed answers of a study and outcome; the agreed :class:`Assessment`.

    ``choices`` gives the agreed answer (or ``variant``) of every question answered
    differently, and may correct an agreed one; ``notes`` says why per question. The agreed
    answers must take the algorithm to a judgement in every domain.
    """
    target = _target(study_id, outcome)
    cmp = compare_assessments(db, study_id, outcome, reader=reconciler, assessors=assessors)
    choices = dict(choices or {})
    _key, first_variant, second_variant, same_variant = cmp.answers[0]
    if VARIANT in choices:
        variant = _variant(choices[VARIANT], target.label)
    elif same_variant:
        variant = _variant(first_variant)
    else:
        raise DataError(f"the assessors chose different domain 2 variants ({first_variant} / {second_variant}): "
                        "give the agreed one", study=target.label, column=VARIANT)
    parsed: dict[str, str | None] = dict(parse_answers(choices, variant, target.label))
    if VARIANT in choices:
        parsed[VARIANT] = variant
    first = {q: x for q, x, _y, _ in cmp.answers}
    second = {q: y for q, _x, y, _ in cmp.answers}
    rows = dual.settle([q for q, *_ in cmp.answers], first, second, parsed, dict(notes or {}), target.label)
    values = {k: v[0] for k, v in rows.items()}
    result = _assess(target.study_id, target.scope, values)
    dual.save_agreed(db, target, reconciler, rows, note=note, request_id=request_id)
    return result


def status(db: Database) -> pd.DataFrame:
    """Every assessment begun: study_id, outcome, who submitted, who is answering, reconciler and time."""
    import pandas as pd

    rows = dual.overview(db, KIND)
    frame = pd.DataFrame(rows, columns=["study_id", "scope", "submitted", "in_progress", "reconciled_by",
                                        "reconciled_at"])
    return frame.rename(columns={"scope": "outcome"})


#: How the analysis labels a study: the extraction sheet's ``study`` column (the study's label)
#: and ``year``, joined by a space, as the review file's default ``study: [study, year]``.
LABEL_COLUMNS = ("study", "year")


def study_labels(db: Database, label_columns: Sequence[str] = LABEL_COLUMNS) -> dict[str, str]:
    """Study id -> the label the analysis gives it: the label and the agreed extraction values of
    the other ``label_columns`` (study fields such as ``year``), joined by spaces.

    A column the study has no agreed value for is left out (a study not yet reconciled in
    extraction is named by its label alone).
    """
    with db.read() as conn:
        labels = dict(conn.execute(sa.select(studies_table.c.study_id, studies_table.c.label)).all())
    extracted = dual.agreed_values(db, "extraction")
    out = {}
    for study_id, label in labels.items():
        values = extracted.get((study_id, ""), {})
        parts = [label if c == "study" else values.get(c) for c in label_columns]
        out[study_id] = " ".join(str(p) for p in parts if p)
    return out


def agreed_table(db: Database, *, some_concerns_to_high: int | None = None,
                 label_columns: Sequence[str] = LABEL_COLUMNS) -> RobTable:
    """The reconciled assessments as a :class:`~metakit.rob.table.RobTable`, studies labelled as
    the analysis labels them (:func:`study_labels`)."""
    from metakit.rob.table import from_assessments

    return from_assessments(_agreed(db, some_concerns_to_high, label_columns),
                            some_concerns_to_high=some_concerns_to_high)


def _agreed(db: Database, some_concerns_to_high: int | None = None,
            label_columns: Sequence[str] = LABEL_COLUMNS) -> list[Assessment]:
    labels = study_labels(db, label_columns)
    out = []
    for (study_id, scope), values in sorted(dual.agreed_values(db, KIND).items()):
        out.append(_assess(labels.get(study_id, study_id), scope, values, some_concerns_to_high))
    return out


def export_assessments(db: Database, path: str | Path, *, label_columns: Sequence[str] = LABEL_COLUMNS) -> int:
    """Write the reconciled assessments as a RoB 2 sheet (.csv or .xlsx); the rows written.

    Columns: ``study`` (the study as the analysis labels it, :func:`study_labels`, so that
    :mod:`metakit.rob.analysis` links judgements to effects), ``outcome``, ``variant``,
    ``d1_1`` ... ``d5_3`` (the agreed answers, empty off the algorithm's path), the final
    ``d1`` ... ``d5`` and ``overall`` with the reason of any override (``d1_reason`` ...,
    ``overall_reason``): the layout :func:`metakit.rob.read_assessments` reads (``metakit rob``,
    ``metakit run``).
    """
    import pandas as pd

    path = Path(path)
    questions_all = [q for d in ROB2.domain_keys for q in _rob2.QUESTIONS[_rob2.ASSIGNMENT][d]]
    rows = []
    for a in _agreed(db, label_columns=label_columns):
        row: dict[str, object] = {"study": a.study, "outcome": a.outcome or "", "variant": a.variant}
        row.update({_rob2.question_column(q): a.answers.get(q, "") for q in questions_all})
        reasons = {o.domain: o.reason for o in a.overrides}
        for d in ROB2.domain_keys:
            row[d.lower()], row[f"{d.lower()}_reason"] = a.domains[d], reasons.get(d, "")
        row["overall"], row["overall_reason"] = a.overall, reasons.get(OVERALL, "")
        rows.append(row)
    columns = ["study", "outcome", "variant", *(_rob2.question_column(q) for q in questions_all),
               *(c for d in ROB2.domain_keys for c in (d.lower(), f"{d.lower()}_reason")), "overall", "overall_reason"]
    frame = pd.DataFrame(rows, columns=columns)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix in (".xlsx", ".xlsm"):
        frame.to_excel(path, index=False, sheet_name="rob2")
    else:
        raise DataError(f"cannot write {path.name}: use .csv or .xlsx")
    return len(frame)
