"""RoB 1: the Cochrane risk-of-bias tool of 2008/2011 (Low / Unclear / High per domain).

RoB 1 (Higgins JPT, Altman DG, Gøtzsche PC, et al. The Cochrane Collaboration's tool for
assessing risk of bias in randomised trials. BMJ 2011;343:d5928; Cochrane Handbook 5.1,
chapter 8) has seven standard domains, but a review may rename, drop or add domains
(RevMan 5 stores them as the review's own "quality items"), so the tool is built from the
review's list of domains by :func:`rob1_tool`.

RoB 1 has no formal overall judgement. metakit follows the Handbook's summary rule
(5.1, table 8.7.a): Low if every domain is Low, High if any domain is High, otherwise
Unclear. RevMan's stored answers map as YES -> Low, NO -> High, UNKNOWN -> Unclear (in
RevMan 5.0 the items were questions, "Adequate sequence generation?", answered yes/no).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from metakit.errors import DataError
from metakit.rob.assessment import Assessment
from metakit.rob.tools import HIGH, LOW, UNCLEAR, Domain, Tool

DEFAULT_DOMAINS: tuple[str, ...] = (
    "Random sequence generation (selection bias)",
    "Allocation concealment (selection bias)",
    "Blinding of participants and personnel (performance bias)",
    "Blinding of outcome assessment (detection bias)",
    "Incomplete outcome data (attrition bias)",
    "Selective reporting (reporting bias)",
    "Other bias",
)
_ALIASES = (("low risk", LOW), ("yes", LOW), ("y", LOW), ("+", LOW), ("high risk", HIGH),
            ("no", HIGH), ("n", HIGH), ("-", HIGH), ("unclear risk", UNCLEAR),
            ("unknown", UNCLEAR), ("?", UNCLEAR))


def rob1_tool(domains: Sequence[str] = DEFAULT_DOMAINS) -> Tool:
    """The RoB 1 tool with the review's domains (keys D1, D2, ... in the order given).

    Examples
    --------
    >>> t = rob1_tool(["Sequence generation", "Allocation concealment"])
    >>> t.domain_keys, t.parse_judgement("UNKNOWN")
    (('D1', 'D2'), 'Unclear')
    """
    if not domains:
        raise DataError("RoB 1 needs at least one domain")
    return Tool(key="rob1", label="RoB 1",
                domains=tuple(Domain(f"D{i}", name) for i, name in enumerate(domains, 1)),
                levels=(LOW, UNCLEAR, HIGH), ordered=(LOW, UNCLEAR, HIGH), low=LOW,
                aliases=_ALIASES)


def overall(judgements: Sequence[str]) -> str:
    """The overall RoB 1 judgement under the Handbook's rule (see the module docstring).

    Examples
    --------
    >>> overall(["Low", "Unclear", "Low"]), overall(["Low", "High", "Unclear"])
    ('Unclear', 'High')
    """
    if HIGH in judgements:
        return HIGH
    return LOW if all(j == LOW for j in judgements) else UNCLEAR


def assess_rob1(tool: Tool, study: str, judgements: Mapping[str, object],
                outcome: str | None = None) -> Assessment:
    """One study's RoB 1 assessment from its domain judgements (keys D1, D2, ...).

    Raises
    ------
    DataError
        A judgement that is not Low/Unclear/High (or RevMan's YES/NO/UNKNOWN), or a missing
        domain, naming the study and domain.
    """
    domains = {}
    for key in tool.domain_keys:
        if key not in judgements:
            raise DataError(f"no judgement for {key} ({tool.domain(key).name})", study=study, column=key)
        domains[key] = tool.parse_judgement(judgements[key], study=study, column=key)
    rule = overall(list(domains.values()))
    return Assessment(tool=tool.key, study=study, outcome=outcome, domains=domains,
                      algorithm=dict.fromkeys(domains), overall=rule, overall_rule=rule)
