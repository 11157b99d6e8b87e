"""RoB 1 judgements of a RevMan 5 file (``QUALITY_ITEMS``) as a :class:`~metakit.rob.RobTable`.

Each ``QUALITY_ITEM`` is a domain (its NAME). ``LEVEL="STUDY"`` items have one judgement per
study; ``LEVEL="GROUP"`` items (blinding, incomplete data) one per study and outcome group
(``QUALITY_ITEM_DATA_ENTRY_GROUP``, e.g. "Objective outcomes"). Rules:

* items with no judgement at all are not domains of the review's table (RevMan lists its
  default items even when the review never used them);
* when some group-level item has several groups, there is one assessment per study and
  group name (the table's ``outcome``); an item with a single group, or a study-level
  item, gives the same judgement for every group;
* a study judged on some domains but not on one, or a group an item does not have, is
  "Unclear" for that domain, with a :class:`~metakit.errors.MetakitWarning` naming them.
"""

from __future__ import annotations

import warnings

from metakit.errors import MetakitWarning
from metakit.io.revman_xml import Node

_RESULTS = {"YES": "Low", "NO": "High", "UNKNOWN": "Unclear"}


def rob_table(root: Node, studies: dict[str, tuple[str, str]]):
    """The review's RoB 1 table, or ``None`` when it has no judgement."""
    items = []
    for item in root.iter("QUALITY_ITEM"):
        groups = {g.attrib.get("ID", ""): g.child_text("NAME")
                  for g in item.findall("QUALITY_ITEM_DATA_ENTRY_GROUP")}
        entries: dict[tuple[str, str | None], str] = {}
        for data in item.findall("QUALITY_ITEM_DATA"):
            for e in data.findall("QUALITY_ITEM_DATA_ENTRY"):
                sid = e.attrib.get("STUDY_ID", "").strip()
                if sid not in studies:
                    raise e.error(f"STUDY_ID {sid!r} names no study of the review", attribute="STUDY_ID")
                raw = e.attrib.get("RESULT", "").strip().upper()
                if raw not in _RESULTS:
                    raise e.error(f"risk-of-bias result {raw!r} is not YES, NO or UNKNOWN",
                                  attribute="RESULT", study=studies[sid][0])
                gid = e.attrib.get("GROUP_ID", "").strip() or None
                if gid is not None and gid not in groups:
                    raise e.error(f"GROUP_ID {gid!r} is not a group of this item", attribute="GROUP_ID")
                entries[(sid, None if gid is None else groups[gid])] = _RESULTS[raw]
        if entries:
            items.append((item.child_text("NAME") or item.attrib.get("ID", "item"), groups, entries))
    if not items:
        return None
    from metakit.rob.rob1 import assess_rob1, rob1_tool
    from metakit.rob.table import RobTable
    tool = rob1_tool([name for name, _, _ in items])
    split = [g for _, groups, _ in items if len(groups) > 1 for g in groups.values()]
    outcomes: list[str | None] = list(dict.fromkeys(split)) or [None]
    judged = {sid for _, _, entries in items for sid, _ in entries}
    missing = []
    assessments = []
    for sid in (s for s in studies if s in judged):
        label = studies[sid][0]
        for outcome in outcomes:
            judgements = {}
            for key, (name, groups, entries) in zip(tool.domain_keys, items):
                value = _lookup(entries, groups, sid, outcome)
                if value is None:
                    missing.append(f"{label}{'' if outcome is None else f' ({outcome})'}: {name}")
                    value = "Unclear"
                judgements[key] = value
            assessments.append(assess_rob1(tool, label, judgements, outcome))
    if missing:
        warnings.warn(f"{len(missing)} risk-of-bias judgement(s) missing in the RevMan file, "
                      f"taken as Unclear: {'; '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}",
                      MetakitWarning, stacklevel=4)
    return RobTable(tool, tuple(assessments), {"source": "RevMan 5 quality items"})


def _lookup(entries, groups, sid, outcome):
    if len(groups) <= 1:
        hits = [v for (s, _), v in entries.items() if s == sid]
        return hits[0] if hits else None
    return entries.get((sid, outcome))
