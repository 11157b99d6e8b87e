"""RevMan 5's CSV data export ("File > Export > Data and analyses") as a :class:`RevManReview`.

The export has one row per comparison, outcome, subgroup and study, told apart by the
numbering columns (as ``meta::read.rm5()`` does): a row with Outcome Number 0 names a
comparison; the first row of an outcome carries its settings and pooled results; within an
outcome, the first row of a new Subgroup Number that has a Data Type is the subgroup's
result row; every other row is a study. Columns other than the three numbers and Name are
optional (the user picks them in RevMan's export wizard). RevMan writes the stored results
rounded to 8 decimal places. Study ids are not exported: the study name stands for it.

Generic inverse variance estimates: with the column "Entered data are on log scale" the
rule of ``meta::read.rm5()`` applies (NO: the estimates are ratios, analysed as logs).
Without it, a ratio estimate is taken as a ratio when its CI is symmetric about it on the
log scale, else as a log ratio.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from metakit.io.revman import RATIO_NAME, RevManOutcome, RevManReview, StoredResult, StoredTest
from metakit.io.revman_xml import RevManError, decode

_MANDATORY = ("Comparison Number", "Outcome Number", "Subgroup Number", "Name")
_TYPES = {"DIC": "DICH", "DICH": "DICH", "CON": "CONT", "CONT": "CONT", "IV": "IV", "GIV": "IV",
          "IPD": "IPD", "O-E": "IPD", "OE": "IPD"}
_MEASURES = {"OR": "OR", "RR": "RR", "RD": "RD", "PETO_OR": "PETO", "MD": "MD", "SMD": "SMD",
             "ODDS RATIO": "OR", "RISK RATIO": "RR", "RISK DIFFERENCE": "RD", "PETO ODDS RATIO": "PETO",
             "MEAN DIFFERENCE": "MD", "STD. MEAN DIFFERENCE": "SMD",
             "STANDARDISED MEAN DIFFERENCE": "SMD", "STANDARDIZED MEAN DIFFERENCE": "SMD"}
_METHODS = {"MH": "MH", "IV": "IV", "PETO": "PETO", "EXP_O_E_VAR": "PETO"}
_ARMS = {"DICH": {"Events 1": "e_t", "Total 1": "n_t", "Events 2": "e_c", "Total 2": "n_c"},
         "CONT": {"Mean 1": "m_t", "SD 1": "sd_t", "Total 1": "n_t", "Mean 2": "m_c", "SD 2": "sd_c",
                  "Total 2": "n_c"},
         "IV": {"Effect Estimate": "estimate", "SE": "se", "Total 1": "n_t", "Total 2": "n_c"},
         "IPD": {"O-E": "o_e", "Var": "var", "Total 1": "n_t", "Total 2": "n_c"}}
_STUDY_RESULTS = {"Effect Estimate": "revman_effect", "SE": "revman_se", "CI Start": "revman_ci_lb",
                  "CI End": "revman_ci_ub", "Weight": "revman_weight"}


class _Row:
    """One CSV record with its line number and typed access to fields."""

    def __init__(self, fields: dict[str, str], line: int):
        self.fields, self.line = fields, line

    def text(self, name: str) -> str:
        return (self.fields.get(name) or "").strip()

    def number(self, name: str, study: str | None = None) -> float:
        raw = self.text(name).replace(",", "")
        if raw == "":
            return float("nan")
        try:
            return float(raw)
        except ValueError:
            raise RevManError(f"not a number: {raw!r}", line=self.line, attribute=name, study=study) from None

    def error(self, rule: str, column: str | None = None) -> RevManError:
        return RevManError(rule, line=self.line, attribute=column)


def read(source: str | Path | bytes) -> RevManReview:
    """Read a RevMan CSV export or its bytes (see :func:`metakit.io.revman.read_revman_csv`)."""
    text = decode(source if isinstance(source, bytes) else Path(source).read_bytes())
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in _MANDATORY if c not in header]
    if missing:
        raise RevManError(f"the export lacks the mandatory field(s) {', '.join(missing)}; export again "
                          "with Comparison Number, Outcome Number and Subgroup Number selected", line=1)
    rows = []
    for rec in reader:
        if None in rec:
            raise RevManError(f"{len(header) + len(rec[None])} fields where the header has {len(header)} "
                              "(was 'Risk of bias tables' exported? leave it out)", line=reader.line_num)
        rows.append(_Row(rec, reader.line_num))
    outcomes, comparisons, groups = [], {}, []
    key = None
    for row in rows:
        comp, out, sub = (_int(row, c) for c in _MANDATORY[:3])
        if out == 0:
            comparisons[comp] = row.text("Name")
            continue
        if (comp, out) != key:
            key = (comp, out)
            groups.append([row, []])
            last_sub = 0
        elif sub != last_sub and row.text("Data Type"):
            groups[-1][1].append(("subgroup", row, sub))
            last_sub = sub
        else:
            groups[-1][1].append(("study", row, sub))
    for head, body in groups:
        comp = _int(head, "Comparison Number")
        outcomes.append(_outcome(head, body, comp, comparisons.get(comp, "")))
    studies = pd.concat([o.data[["study_id", "study", "year"]] for o in outcomes] or
                        [pd.DataFrame(columns=["study_id", "study", "year"])]
                        ).drop_duplicates("study_id").reset_index(drop=True)
    named = not isinstance(source, bytes)
    return RevManReview(title=Path(source).stem if named else "", studies=studies, outcomes=tuple(outcomes),
                        rob=None, source=str(source) if named else "<bytes>", version="")


def _int(row: _Row, column: str) -> int:
    v = row.number(column)
    if math.isnan(v):
        raise row.error("missing number", column)
    return int(v)


def _stored(row: _Row) -> StoredResult:
    return StoredResult(estimate=row.number("Effect Estimate"), ci_lb=row.number("CI Start"),
                        ci_ub=row.number("CI End"), z=row.number("Z"), pval=row.number("P(Z)"),
                        Q=row.number("Q"), pval_Q=row.number("P(Q)"), I2=row.number("I²(Q)"),
                        tau2=row.number("Tau²"), df=row.number("df"), k=float("nan"),
                        weight=row.number("Weight"), events_1=row.number("Events 1"),
                        total_1=row.number("Total 1"), events_2=row.number("Events 2"),
                        total_2=row.number("Total 2"))


def _flag(row: _Row, column: str, default: bool) -> bool:
    raw = row.text(column).upper()
    return default if raw == "" else raw in ("YES", "Y", "TRUE")


def _outcome(head: _Row, body, comp: int, comp_name: str) -> RevManOutcome:
    kind = _TYPES.get(head.text("Data Type").upper())
    if kind is None:
        raise head.error(f"data type {head.text('Data Type')!r} is not DIC, CON, IV or IPD", "Data Type")
    raw_measure = head.text("Effect Measure")
    if kind in ("DICH", "CONT"):
        measure = _MEASURES.get(raw_measure.upper())
        if measure is None:
            raise head.error(f"effect measure {raw_measure!r} is not known", "Effect Measure")
        ratio = measure in ("OR", "RR", "PETO")
    elif kind == "IPD":
        measure, ratio = "PETO", True
    else:
        measure, ratio = raw_measure or "Effect", bool(RATIO_NAME.search(raw_measure))
    raw_method = head.text("Statistical Method").upper()
    method = "IV" if kind in ("CONT", "IV") else "PETO" if kind == "IPD" else _METHODS.get(raw_method)
    if method is None:
        raise head.error(f"statistical method {raw_method!r} is not MH, IV or PETO", "Statistical Method")
    if measure == "PETO":
        method = "PETO"
    model = head.text("Analysis Model").upper()
    rows, subgroups = [], {}
    current = (None, None)
    for what, row, sub in body:
        if what == "subgroup":
            current = (float(sub), row.text("Name"))
            subgroups[row.text("Name")] = _stored(row)
            continue
        label = row.text("Name")
        rec = {"study_id": label, "study": label, "year": row.text("Year of study"),
               "order": row.number("User defined order", label), "subgroup_no": current[0],
               "subgroup": current[1], "line": row.line}
        for col, name in {**_ARMS[kind], **_STUDY_RESULTS}.items():
            rec[name] = row.number(col, label)
        # RevMan leaves the effect and weight of a non-estimable study blank.
        rec["estimable"] = "Effect Estimate" not in row.fields or not (
            math.isnan(rec["revman_effect"]) and math.isnan(rec["revman_weight"]))
        rows.append(rec)
    cols = ["study_id", "study", "year", "order", "estimable", "subgroup_no", "subgroup",
            *_ARMS[kind].values(), *_STUDY_RESULTS.values(), "line"]
    data = pd.DataFrame(rows, columns=list(dict.fromkeys(cols)))
    for i, (name, value) in enumerate((("comparison_no", comp), ("outcome_no", _int(head, "Outcome Number")),
                                       ("outcome_id", f"CMP-{comp:03d}.{_int(head, 'Outcome Number'):02d}"),
                                       ("outcome", head.text("Name")), ("type", kind))):
        data.insert(i, name, value)
    data["estimable"] = data["estimable"].astype(bool)
    if kind == "IV" and ratio and _iv_is_ratio(head, data):
        est = data["estimate"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            data["estimate"] = np.where(est > 0, np.log(est), np.nan)
    ci_study = head.number("Study Confidence Interval")
    ci_total = head.number("Total Confidence Interval")
    totals = head.text("Totals").upper() or "YES"
    return RevManOutcome(
        id=f"CMP-{comp:03d}.{_int(head, 'Outcome Number'):02d}", comparison_no=comp,
        comparison=comp_name, outcome_no=_int(head, "Outcome Number"), name=head.text("Name"),
        type=kind, method=method, measure=measure, ratio=ratio, random=model.startswith("RANDOM"),
        totals=totals, subgroup_test=_flag(head, "Test for subgroup differences", True),
        ci_study=95.0 if math.isnan(ci_study) else ci_study,
        ci_total=95.0 if math.isnan(ci_total) else ci_total,
        swap_events=_flag(head, "Swap event and non-event", False),
        labels={"group_1": head.text("Group Label 1") or "Experimental",
                "group_2": head.text("Group Label 2") or "Control",
                "graph_1": head.text("Left Graph Label") or "Favours [experimental]",
                "graph_2": head.text("Right Graph Label") or "Favours [control]"},
        data=data, stored=_stored(head), subgroups=subgroups,
        test=StoredTest(Q=head.number("Qint"), pval=head.number("P(Qint)"), I2=head.number("I²(Qint)"))
        if subgroups else None, line=head.line)


def _iv_is_ratio(head: _Row, data: pd.DataFrame) -> bool:
    """Whether generic estimates are ratios (to be logged): see the module docstring."""
    column = "Entered data are on log scale (Generic Inverse Variance only)"
    if head.text(column):
        return not _flag(head, column, True)
    est, lb, ub = (data[c].to_numpy(float) for c in ("estimate", "revman_ci_lb", "revman_ci_ub"))
    ok = (est > 0) & (lb > 0) & (ub > 0)
    if not ok.any():
        return False
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.abs(np.log(est[ok]) - (np.log(lb[ok]) + np.log(ub[ok])) / 2)
    return bool(np.all(gap < 1e-4 * np.maximum(1.0, np.log(ub[ok]) - np.log(lb[ok]))))
