"""Risk of bias: RoB 2 (algorithm from signalling questions), ROBINS-I and QUADAS-2 judgements.

Read assessments with :func:`read_assessments` (CSV/XLSX/YAML; sheet layout in
:mod:`metakit.rob.io`, file rules in :mod:`metakit.rob.sheet`), or build them with
:func:`assess_rob2`, :func:`assess_robins_i` and :func:`assess_quadas2`. A :class:`RobTable`
gives the domain table, the report sentence, the proportions for the summary plot and the
low-risk studies; :mod:`metakit.rob.analysis` links
the judgements to analysis data. Figures are in :mod:`metakit.plots.rob`.
"""

from metakit.rob.analysis import (
                                  ROB_COLUMN,
                                  add_rob_column,
                                  effects_with_rob,
                                  low_risk_effects,
                                  overall_by_study,
                                  restrict_to_low,
)
from metakit.rob.assessment import (
                                  OVERALL,
                                  Assessment,
                                  Override,
                                  assess_quadas2,
                                  assess_rob2,
                                  assess_robins_i,
)
from metakit.rob.io import from_frame, from_records, read_assessments
from metakit.rob.rob2 import ADHERENCE, ASSIGNMENT, DomainResult, judge_domain
from metakit.rob.table import RobTable, from_assessments
from metakit.rob.tools import QUADAS2, ROB2, ROBINS_I, TOOLS, Domain, Tool, get_tool

__all__ = [
    "low_risk_effects", "effects_with_rob",
    "ADHERENCE", "ASSIGNMENT", "OVERALL", "QUADAS2", "ROB2", "ROBINS_I", "ROB_COLUMN", "TOOLS",
    "Assessment", "Domain", "DomainResult", "Override", "RobTable", "Tool", "add_rob_column",
    "assess_quadas2", "assess_rob2", "assess_robins_i", "from_assessments", "from_frame",
    "from_records", "get_tool", "judge_domain", "overall_by_study", "read_assessments",
    "restrict_to_low",
]
