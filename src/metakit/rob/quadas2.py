"""QUADAS-2: the overall risk-of-bias judgement from the four reviewer-given domain judgements.

QUADAS-2 (Whiting PF, Rutjes AWS, Westwood ME, et al. Ann Intern Med 2011;155:529-536) has
reviewers judge each domain's risk of bias (patient selection, index test, reference standard,
flow and timing) and the applicability concerns of the first three as Low / High / Unclear. It
gives no formal overall rule; it suggests a study is "low risk of bias" overall only when every
domain is low. metakit's documented convention: Low if every domain is Low, High if any domain
is High, otherwise Unclear.
"""

from __future__ import annotations

from collections.abc import Sequence

from metakit.rob.tools import HIGH, LOW, UNCLEAR


def overall(judgements: Sequence[str]) -> str:
    """Overall QUADAS-2 risk of bias under metakit's convention (see module docstring).

    Examples
    --------
    >>> overall(["Low", "Unclear", "Low", "Low"])
    'Unclear'
    """
    if HIGH in judgements:
        return HIGH
    return LOW if all(j == LOW for j in judgements) else UNCLEAR
