"""ROBINS-I: the overall judgement from the seven reviewer-given domain judgements.

ROBINS-I (Sterne JAC, Hernán MA, Reeves BC, et al. BMJ 2016;355:i4919) leaves each domain
judgement to the reviewer (Low / Moderate / Serious / Critical / No information); its Table 3
gives the rule for the overall judgement, applied here:

- Low: low risk in all domains;
- Moderate: low or moderate risk in all domains;
- Serious: serious risk in at least one domain, but not critical in any;
- Critical: critical risk in at least one domain;
- No information: no clear indication that the study is at serious or critical risk, and
  information missing in one or more key domains.

Which domains are "key" is the review's choice: ``key_domains=None`` treats every domain as
key; otherwise "No information" in a domain outside ``key_domains`` does not make the overall
judgement "No information" (the remaining domains decide it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from metakit.rob.tools import CRITICAL, LOW, MODERATE, NO_INFO, SERIOUS


def overall(judgements: Mapping[str, str], key_domains: Sequence[str] | None = None) -> str:
    """Overall ROBINS-I judgement from domain key -> judgement (Sterne et al. 2016, Table 3).

    Examples
    --------
    >>> overall({"D1": "Moderate", "D2": "Low", "D3": "Low", "D4": "Low", "D5": "Low",
    ...          "D6": "Low", "D7": "Low"})
    'Moderate'
    >>> overall({"D1": "Serious", "D2": "No information", "D3": "Low", "D4": "Low",
    ...          "D5": "Low", "D6": "Low", "D7": "Low"})
    'Serious'
    """
    values = list(judgements.values())
    if CRITICAL in values:
        return CRITICAL
    if SERIOUS in values:
        return SERIOUS
    key = set(judgements) if key_domains is None else set(key_domains)
    if any(j == NO_INFO and d in key for d, j in judgements.items()):
        return NO_INFO
    return MODERATE if MODERATE in values else LOW
