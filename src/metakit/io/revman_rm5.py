"""The ``.rm5`` (XML) reader behind :func:`metakit.io.revman.read_rm5`.

Structure read (RevMan 5.0-5.4): ``COCHRANE_REVIEW`` > ``STUDIES_AND_REFERENCES`` >
``STUDIES`` > ``INCLUDED_STUDIES`` > ``STUDY`` (ID, NAME, YEAR); ``ANALYSES_AND_DATA`` >
``COMPARISON`` (NO, NAME) > ``{DICH,CONT,IV,IPD}_OUTCOME`` (settings and pooled results as
attributes; NAME, GROUP_LABEL_1/2, GRAPH_LABEL_1/2, and for generic outcomes
EFFECT_MEASURE as children) > optional ``*_SUBGROUP`` > ``*_DATA`` (one per study);
``QUALITY_ITEMS`` for RoB 1 (see :mod:`metakit.io.revman_rob`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from metakit.io.revman import RATIO_NAME, RevManOutcome, RevManReview, StoredResult, StoredTest
from metakit.io.revman_xml import Node, RevManError, parse

_DICH_MEASURES = {"OR": "OR", "RR": "RR", "RD": "RD", "PETO_OR": "PETO"}
_CONT_MEASURES = {"MD": "MD", "SMD": "SMD"}
_METHODS = {"MH": "MH", "IV": "IV", "PETO": "PETO", "EXP_O_E_VAR": "PETO"}
# Data attributes per outcome type -> tidy column names.
_ARMS = {
    "DICH": {"EVENTS_1": "e_t", "TOTAL_1": "n_t", "EVENTS_2": "e_c", "TOTAL_2": "n_c"},
    "CONT": {"MEAN_1": "m_t", "SD_1": "sd_t", "TOTAL_1": "n_t", "MEAN_2": "m_c", "SD_2": "sd_c",
             "TOTAL_2": "n_c"},
    "IV": {"EFFECT_SIZE": "estimate", "SE": "se", "TOTAL_1": "n_t", "TOTAL_2": "n_c"},
    "IPD": {"O_E": "o_e", "VAR": "var", "TOTAL_1": "n_t", "TOTAL_2": "n_c"},
}
_STUDY_RESULTS = {"EFFECT_SIZE": "revman_effect", "SE": "revman_se", "CI_START": "revman_ci_lb",
                  "CI_END": "revman_ci_ub", "WEIGHT": "revman_weight"}


def read(source: str | Path | bytes) -> RevManReview:
    """Read a ``.rm5`` file or its bytes (see :func:`metakit.io.revman.read_rm5`)."""
    root = parse(source)
    if root.tag != "COCHRANE_REVIEW":
        raise root.error("not a RevMan 5 review: the root element must be <COCHRANE_REVIEW>")
    cover = root.find("COVER_SHEET")
    title = cover.child_text("TITLE") if cover is not None else ""
    studies = _studies(root)
    outcomes = []
    analyses = next(root.iter("ANALYSES_AND_DATA"), None)
    if analyses is not None:
        for comp in analyses.findall("COMPARISON"):
            comp_no = _int(comp, "NO")
            comp_name = comp.child_text("NAME")
            for node in comp.children:
                kind = node.tag.removesuffix("_OUTCOME")
                if node.tag.endswith("_OUTCOME") and kind in _ARMS:
                    outcomes.append(_outcome(node, kind, comp_no, comp_name, studies))
    from metakit.io.revman_rob import rob_table
    frame = pd.DataFrame([{"study_id": k, "study": v[0], "year": v[1]} for k, v in studies.items()],
                         columns=["study_id", "study", "year"])
    return RevManReview(title=title, studies=frame, outcomes=tuple(outcomes),
                        rob=rob_table(root, studies),
                        source="<bytes>" if isinstance(source, bytes) else str(source),
                        version=root.attrib.get("REVMAN_SUB_VERSION", "").strip())


def _studies(root: Node) -> dict[str, tuple[str, str]]:
    """Study id -> (name, year) of every study the file describes (included ones first)."""
    out: dict[str, tuple[str, str]] = {}
    for st in root.iter("STUDY"):
        sid = st.attrib.get("ID")
        if not sid:
            raise st.error("study without an ID", attribute="ID")
        if sid not in out:
            out[sid] = (st.attrib.get("NAME", sid).strip() or sid, st.attrib.get("YEAR", "").strip())
    return out


def _int(node: Node, name: str) -> int:
    v = node.number(name)
    if math.isnan(v):
        raise node.error("missing number", attribute=name)
    return int(v)


def _stored(node: Node) -> StoredResult:
    return StoredResult(estimate=node.number("EFFECT_SIZE"), ci_lb=node.number("CI_START"),
                        ci_ub=node.number("CI_END"), z=node.number("Z"), pval=node.number("P_Z"),
                        Q=node.number("CHI2"), pval_Q=node.number("P_CHI2"), I2=node.number("I2"),
                        tau2=node.number("TAU2"), df=node.number("DF"), k=node.number("STUDIES"),
                        weight=node.number("WEIGHT"), events_1=node.number("EVENTS_1"),
                        total_1=node.number("TOTAL_1"), events_2=node.number("EVENTS_2"),
                        total_2=node.number("TOTAL_2"))


def _measure(node: Node, kind: str) -> tuple[str, bool]:
    """(measure code or name, analysed on the log scale)."""
    if kind == "IPD":
        return "PETO", True
    if kind == "IV":
        name = node.attrib.get("EFFECT_MEASURE", "").strip() or node.child_text("EFFECT_MEASURE")
        # "Entered data are on log scale" decides whether RevMan shows ratios (RevMan 5 User
        # Guide, outcome properties); only files without the attribute fall back to the name.
        if node.attrib.get("LOG_DATA", "").strip():
            return name or "Effect", node.flag("LOG_DATA")
        return name or "Effect", bool(RATIO_NAME.search(name))
    raw = node.attrib.get("EFFECT_MEASURE", "").strip().upper()
    table = _DICH_MEASURES if kind == "DICH" else _CONT_MEASURES
    if raw not in table:
        raise node.error(f"effect measure {raw!r} is not one of {', '.join(table)}",
                         attribute="EFFECT_MEASURE")
    code = table[raw]
    return code, code in ("OR", "RR", "PETO")


def _outcome(node: Node, kind: str, comp_no: int, comp_name: str,
             studies: dict[str, tuple[str, str]]) -> RevManOutcome:
    measure, ratio = _measure(node, kind)
    raw_method = node.attrib.get("METHOD", "").strip().upper()
    if kind == "IPD":
        method = "PETO"
    elif kind in ("CONT", "IV"):
        method = "IV"
    elif raw_method in _METHODS:
        method = _METHODS[raw_method]
    else:
        raise node.error(f"statistical method {raw_method!r} is not MH, IV or PETO", attribute="METHOD")
    if measure == "PETO":
        method = "PETO"
    oid = node.attrib.get("ID", "").strip()
    outcome_no = _int(node, "NO")
    name = node.child_text("NAME")
    rows: list[dict] = []
    subgroups: dict[str, StoredResult] = {}
    data_tag, sub_tag = f"{kind}_DATA", f"{kind}_SUBGROUP"
    for child in node.children:
        if child.tag == data_tag:
            rows.append(_row(child, kind, studies, None, None))
        elif child.tag == sub_tag:
            sname = child.child_text("NAME") or f"Subgroup {child.attrib.get('NO', '')}".strip()
            sno = child.number("NO")
            subgroups[sname] = _stored(child)
            rows += [_row(d, kind, studies, sno, sname) for d in child.findall(data_tag)]
    cols = ["study_id", "study", "year", "order", "estimable", "subgroup_no", "subgroup",
            *_ARMS[kind].values(), *_STUDY_RESULTS.values(), "line"]
    data = pd.DataFrame(rows, columns=list(dict.fromkeys(cols)))
    data.insert(0, "type", kind)
    data.insert(0, "outcome", name)
    data.insert(0, "outcome_id", oid)
    data.insert(0, "outcome_no", outcome_no)
    data.insert(0, "comparison_no", comp_no)
    data["estimable"] = data["estimable"].astype(bool)
    if kind == "IV" and ratio and node.flag("LOG_DATA"):
        est = data["estimate"].to_numpy(float)
        bad = data["estimable"].to_numpy() & ~(est > 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise RevManError(f"a ratio must be > 0 (LOG_DATA=\"YES\"), got {est[i]}",
                              element=data_tag, line=int(data["line"].iloc[i]),
                              attribute="EFFECT_SIZE", study=data["study"].iloc[i])
        with np.errstate(divide="ignore", invalid="ignore"):
            data["estimate"] = np.log(est)
    test = None
    if subgroups:
        test = StoredTest(Q=node.number("Q"), pval=node.number("P_Q"), I2=node.number("I2_Q"))
    labels = {"group_1": node.child_text("GROUP_LABEL_1") or "Experimental",
              "group_2": node.child_text("GROUP_LABEL_2") or "Control",
              "graph_1": node.child_text("GRAPH_LABEL_1") or "Favours [experimental]",
              "graph_2": node.child_text("GRAPH_LABEL_2") or "Favours [control]"}
    level = node.number("CI_TOTAL")
    study_level = node.number("CI_STUDY")
    return RevManOutcome(
        id=oid, comparison_no=comp_no, comparison=comp_name, outcome_no=outcome_no, name=name,
        type=kind, method=method, measure=measure, ratio=ratio, random=node.flag("RANDOM"),
        totals=node.attrib.get("TOTALS", "YES").strip().upper() or "YES",
        subgroup_test=node.flag("SUBGROUP_TEST", default=True),
        ci_study=95.0 if math.isnan(study_level) else study_level,
        ci_total=95.0 if math.isnan(level) else level,
        swap_events=node.flag("SWAP_EVENTS"), labels=labels, data=data,
        stored=_stored(node), subgroups=subgroups, test=test, line=node.line)


def _row(d: Node, kind: str, studies: dict[str, tuple[str, str]], sno, sname) -> dict:
    sid = d.attrib.get("STUDY_ID", "").strip()
    if not sid:
        raise d.error("study data without STUDY_ID", attribute="STUDY_ID")
    if sid not in studies:
        raise d.error(f"STUDY_ID {sid!r} names no study of the review", attribute="STUDY_ID")
    label, year = studies[sid]
    row = {"study_id": sid, "study": label, "year": year, "order": d.number("ORDER", label),
           "estimable": d.flag("ESTIMABLE", default=True), "subgroup_no": sno, "subgroup": sname,
           "line": d.line}
    for attr, col in _ARMS[kind].items():
        row[col] = d.number(attr, label)
    for attr, col in _STUDY_RESULTS.items():
        row[col] = d.number(attr, label)
    return row
