"""The risk-of-bias tools metakit knows: their domains, judgement scales and answer codes.

A :class:`Tool` is a plain description (names, domains, the ordered judgement scale); the
algorithms that turn answers into judgements live in :mod:`metakit.rob.rob2`,
:mod:`metakit.rob.robins_i` and :mod:`metakit.rob.quadas2`.

References
----------
Sterne JAC, Savović J, Page MJ, et al. RoB 2: a revised tool for assessing risk of bias in
randomised trials. BMJ 2019;366:l4898.
Sterne JAC, Hernán MA, Reeves BC, et al. ROBINS-I: a tool for assessing risk of bias in
non-randomised studies of interventions. BMJ 2016;355:i4919.
Whiting PF, Rutjes AWS, Westwood ME, et al. QUADAS-2: a revised tool for the quality assessment
of diagnostic accuracy studies. Ann Intern Med 2011;155:529-536.
"""

from __future__ import annotations

from dataclasses import dataclass

from metakit.errors import DataError

# Signalling-question answers (RoB 2 guidance, 22 August 2019, "Response options").
YES, PROBABLY_YES, PROBABLY_NO, NO, NO_INFORMATION, NOT_APPLICABLE = "Y", "PY", "PN", "N", "NI", "NA"
ANSWERS: tuple[str, ...] = (YES, PROBABLY_YES, PROBABLY_NO, NO, NO_INFORMATION, NOT_APPLICABLE)

_ANSWER_ALIASES = {
    "y": YES, "yes": YES,
    "py": PROBABLY_YES, "probably yes": PROBABLY_YES,
    "pn": PROBABLY_NO, "probably no": PROBABLY_NO,
    "n": NO, "no": NO,
    "ni": NO_INFORMATION, "no information": NO_INFORMATION,
    "na": NOT_APPLICABLE, "not applicable": NOT_APPLICABLE, "n/a": NOT_APPLICABLE,
}

LOW = "Low"
SOME_CONCERNS = "Some concerns"
HIGH = "High"
MODERATE = "Moderate"
SERIOUS = "Serious"
CRITICAL = "Critical"
NO_INFO = "No information"
UNCLEAR = "Unclear"


@dataclass(frozen=True)
class Domain:
    """One domain of a tool: its key ("D1"), short label and full name."""

    key: str
    name: str


@dataclass(frozen=True)
class Tool:
    """A risk-of-bias tool: its domains and its ordered judgement scale.

    ``levels`` runs from least to most concern; a level outside the ordering (ROBINS-I's
    "No information", QUADAS-2's "Unclear") is listed in ``levels`` but not in ``ordered``.
    """

    key: str
    label: str
    domains: tuple[Domain, ...]
    levels: tuple[str, ...]
    ordered: tuple[str, ...]
    low: str
    aliases: tuple[tuple[str, str], ...]
    applicability: tuple[Domain, ...] = ()

    @property
    def domain_keys(self) -> tuple[str, ...]:
        """Domain keys in order ("D1", "D2", ...)."""
        return tuple(d.key for d in self.domains)

    def domain(self, key: str) -> Domain:
        """The domain with key ``key``."""
        for d in self.domains + self.applicability:
            if d.key == key:
                return d
        raise KeyError(key)

    def parse_judgement(self, value: object, study: object = None, column: str | None = None) -> str:
        """Normalise a judgement written in a sheet ("low", "Some concerns", "SC") to its level.

        Raises :class:`DataError` naming the study, the column and the allowed levels.
        """
        text = " ".join(str(value).strip().lower().split())
        for alias, level in self.aliases:
            if text == alias:
                return level
        for level in self.levels:
            if text == level.lower():
                return level
        raise DataError(f"judgement {value!r} is not one of {', '.join(self.levels)} ({self.label})",
                        study=study, column=column)


def parse_answer(value: object, study: object = None, column: str | None = None,
                 allowed: tuple[str, ...] = ANSWERS) -> str | None:
    """Normalise a signalling-question answer; ``None`` for an empty cell.

    Accepts the codes Y / PY / PN / N / NI / NA and their words ("Probably yes"), any case.
    YAML reads ``Yes``/``No`` as booleans; ``True``/``False`` are taken as Y/N.

    Examples
    --------
    >>> parse_answer("probably yes")
    'PY'
    >>> parse_answer(" ") is None
    True
    """
    if value is None:
        return None
    if isinstance(value, bool):
        code = YES if value else NO
    elif isinstance(value, float) and value != value:  # NaN from an empty spreadsheet cell
        return None
    else:
        text = " ".join(str(value).strip().lower().split())
        if text == "":
            return None
        if text not in _ANSWER_ALIASES:
            raise DataError(f"answer {value!r} is not one of {'/'.join(allowed)}", study=study, column=column)
        code = _ANSWER_ALIASES[text]
    if code not in allowed:
        raise DataError(f"answer {code!r} is not allowed here; allowed: {'/'.join(allowed)}",
                        study=study, column=column)
    return code


ROB2 = Tool(
    key="rob2",
    label="RoB 2",
    domains=(
        Domain("D1", "Bias arising from the randomization process"),
        Domain("D2", "Bias due to deviations from intended interventions"),
        Domain("D3", "Bias due to missing outcome data"),
        Domain("D4", "Bias in measurement of the outcome"),
        Domain("D5", "Bias in selection of the reported result"),
    ),
    levels=(LOW, SOME_CONCERNS, HIGH),
    ordered=(LOW, SOME_CONCERNS, HIGH),
    low=LOW,
    aliases=(("low risk", LOW), ("l", LOW), ("some concern", SOME_CONCERNS), ("some", SOME_CONCERNS),
             ("sc", SOME_CONCERNS), ("high risk", HIGH), ("h", HIGH)),
)

ROBINS_I = Tool(
    key="robins-i",
    label="ROBINS-I",
    domains=(
        Domain("D1", "Bias due to confounding"),
        Domain("D2", "Bias in selection of participants into the study"),
        Domain("D3", "Bias in classification of interventions"),
        Domain("D4", "Bias due to deviations from intended interventions"),
        Domain("D5", "Bias due to missing data"),
        Domain("D6", "Bias in measurement of outcomes"),
        Domain("D7", "Bias in selection of the reported result"),
    ),
    levels=(LOW, MODERATE, SERIOUS, CRITICAL, NO_INFO),
    ordered=(LOW, MODERATE, SERIOUS, CRITICAL),
    low=LOW,
    aliases=(("low risk", LOW), ("moderate risk", MODERATE), ("serious risk", SERIOUS),
             ("critical risk", CRITICAL), ("ni", NO_INFO), ("no info", NO_INFO)),
)

QUADAS2 = Tool(
    key="quadas2",
    label="QUADAS-2",
    domains=(
        Domain("D1", "Patient selection"),
        Domain("D2", "Index test"),
        Domain("D3", "Reference standard"),
        Domain("D4", "Flow and timing"),
    ),
    levels=(LOW, UNCLEAR, HIGH),
    ordered=(LOW, UNCLEAR, HIGH),
    low=LOW,
    aliases=(("low risk", LOW), ("high risk", HIGH), ("?", UNCLEAR), ("unclear risk", UNCLEAR)),
    applicability=(
        Domain("A1", "Applicability: patient selection"),
        Domain("A2", "Applicability: index test"),
        Domain("A3", "Applicability: reference standard"),
    ),
)

TOOLS: dict[str, Tool] = {t.key: t for t in (ROB2, ROBINS_I, QUADAS2)}
_TOOL_ALIASES = {"rob2": "rob2", "rob 2": "rob2", "rob-2": "rob2", "robins-i": "robins-i",
                 "robins_i": "robins-i", "robinsi": "robins-i", "quadas2": "quadas2",
                 "quadas-2": "quadas2", "quadas_2": "quadas2"}


def get_tool(tool: str | Tool) -> Tool:
    """The :class:`Tool` named ``tool`` ("rob2", "robins-i", "quadas2"), or ``tool`` itself."""
    if isinstance(tool, Tool):
        return tool
    key = _TOOL_ALIASES.get(str(tool).strip().lower())
    if key is None:
        raise ValueError(f"unknown risk-of-bias tool {tool!r}; known: rob2, robins-i, quadas2")
    return TOOLS[key]
