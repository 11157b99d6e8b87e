"""Risk-of-bias figures (traffic-light and summary plots) and the judgements table."""

from __future__ import annotations

from metakit.report.blocks import Paragraph, Section, save_figure, save_table
from metakit.report.context import Context


def build(ctx: Context) -> Section:
    """Read the assessments, draw both figures, tabulate the judgements."""
    from metakit.plots.rob import summary_plot, traffic_light
    from metakit.rob import read_assessments

    spec = ctx.spec.rob
    table = read_assessments(spec["file"], tool=spec.get("tool", "rob2"))
    ctx.rob_table = table
    section = Section("rob", "Risk of bias")
    section.blocks.append(Paragraph(table.summary_sentence()))
    if spec.get("note"):
        section.blocks.append(Paragraph(spec["note"]))
    overall = table.overall_by_study()
    listing = "; ".join(f"{s}: {j}" for s, j in overall.items())
    section.blocks.append(save_figure(traffic_light(table), ctx.figures, "rob_traffic_light",
                                      f"Traffic-light plot of risk of bias per study and domain. "
                                      f"Overall judgements: {listing}.",
                                      "Risk of bias per study and domain"))
    counts = table.counts()
    section.blocks.append(save_figure(summary_plot(table), ctx.figures, "rob_summary",
                                      "Bar chart of the proportion of studies at each risk-of-bias "
                                      "judgement per domain; the same counts are in the table below.",
                                      "Risk of bias across studies, per domain"))
    section.blocks.append(save_table(table.to_frame().drop(columns=["overrides"], errors="ignore").fillna(""),
                                     ctx.tables, "rob_judgements", "Risk-of-bias judgements per study"))
    shares = counts.rename_axis("Domain").reset_index()
    section.blocks.append(save_table(shares, ctx.tables, "rob_proportions",
                                     "Proportion of studies per judgement and domain"))
    section.methods.append(table.methods_sentence())
    return section


def steps(ctx: Context) -> list:
    """One step, or none when the review file names no risk-of-bias file."""
    if ctx.spec.rob is None:
        return []
    return [("Risk of bias", lambda: build(ctx))]
