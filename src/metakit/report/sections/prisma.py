"""The PRISMA 2020 flow diagram, from hand-given counts (YAML) or the review store."""

from __future__ import annotations

from metakit.report.blocks import Paragraph, Section, save_figure, save_table
from metakit.report.context import Context


def build(ctx: Context) -> Section:
    """The flow diagram and its counts as a table."""
    from metakit.plots.prisma import prisma_flow
    from metakit.review import PrismaCounts

    spec = ctx.spec.prisma
    section = Section("prisma", "Study selection")
    if spec.get("counts") is not None:
        counts = PrismaCounts.from_yaml(spec["counts"])
        source = f"hand-given counts ({spec['counts'].name})"
    else:
        from metakit.review import Project
        from metakit.review.screening import prisma_counts_from_store

        store = spec["store"]
        is_file = not isinstance(store, str)
        if is_file and not store.exists():
            from metakit.errors import DataError

            raise DataError(f"the review project file {str(store)!r} does not exist")
        with Project.open(store, create=False) as project:
            counts = prisma_counts_from_store(project)
            where = store.name if is_file else project.db.url
        source = f"the review project file ({where})" if is_file else f"the review store ({where})"
    fig = prisma_flow(counts)
    summary = counts.summary().replace("\n", "; ")
    section.blocks.append(save_figure(fig, ctx.figures, "prisma_flow",
                                      f"PRISMA 2020 flow diagram. {summary}",
                                      f"PRISMA 2020 flow diagram, from {source}. NR: not reported."))
    frame = counts.to_frame()
    section.blocks.append(save_table(frame, ctx.tables, "prisma_counts", "PRISMA 2020 counts"))
    section.blocks.insert(0, Paragraph(f"Study selection is shown from {source}. "
                                       "Boxes the source does not report are marked NR."))
    section.methods.append(f"The study selection is reported in a PRISMA 2020 flow diagram from {source}.")
    return section


def steps(ctx: Context) -> list:
    """One step, or none when the review file names no PRISMA source."""
    if ctx.spec.prisma is None:
        return []
    return [("PRISMA flow diagram", lambda: build(ctx))]
