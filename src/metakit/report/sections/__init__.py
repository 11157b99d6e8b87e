"""The registry of report sections, in the order the report shows them.

Each available section is a module with ``steps(ctx)``: a list of ``(label, build)``
pairs, each ``build()`` returning a :class:`~metakit.report.blocks.Section` (the runner
shows one progress step per pair, and a step that raises becomes a failure shown in the
report while the others still run). A section that this version cannot build yet has no
module; the report says it is not yet available. Adding a section is one module and one
row here.

>>> [s.id for s in REGISTRY][:3]
['prisma', 'characteristics', 'rob']
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SectionEntry:
    """One row of the registry: the section's id, heading and module (None: not yet built)."""

    id: str
    title: str
    module: str | None
    pending: str = ""


REGISTRY: tuple[SectionEntry, ...] = (
    SectionEntry("prisma", "Study selection", "metakit.report.sections.prisma"),
    SectionEntry("characteristics", "Characteristics of included studies",
                 "metakit.report.sections.characteristics"),
    SectionEntry("rob", "Risk of bias", "metakit.report.sections.rob"),
    SectionEntry("outcomes", "Results by outcome", "metakit.report.sections.outcomes"),
    SectionEntry("sensitivity", "Sensitivity analyses", "metakit.report.sections.sensitivity"),
    SectionEntry("network", "Network meta-analysis", "metakit.report.sections.network"),
)
