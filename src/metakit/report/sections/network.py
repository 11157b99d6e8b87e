"""Network meta-analyses of the review file: fit, league table, ranks, inconsistency, figures.

Each entry of ``networks`` is fitted with :func:`metakit.network.nma` from its arm-level
sheet (the graph-theoretical method, Rücker 2012; tau² as chosen), and the section shows
the network graph, the forest plot of every treatment against the reference, the league
table, P-scores and SUCRA with the cumulative ranking curves, and the design-by-treatment
decomposition of Q with node-splitting (netsplit) for inconsistency.
"""

from __future__ import annotations

import warnings

import pandas as pd

from metakit.errors import MetakitWarning
from metakit.report.blocks import Paragraph, Section, save_figure, save_table
from metakit.report.context import Context
from metakit.report.sections.outcomes import _guarded


def build(ctx: Context, spec: dict) -> Section:
    """The analyses of one network."""
    from metakit.network import nma
    from metakit.plots import network as pn
    from metakit.plots.forest import forest

    nid, name, model = spec["id"], spec["name"], spec["model"]
    section = Section(nid, name)
    if spec.get("note"):
        section.blocks.append(Paragraph(spec["note"]))
    path = spec["file"]
    frame = pd.read_excel(path) if path.suffix.lower() in (".xlsx", ".xls") else pd.read_csv(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MetakitWarning)
        res = nma(frame, measure=spec["measure"], reference=spec["reference"],
                  tau2_method=spec["tau2"], small_values=spec["small_values"])
        ranking = res.ranking(model, seed=1)
        league = res.league(model)
        decomp = res.decomp_design()
        split = res.netsplit(model)
    for w in caught:
        section.blocks.append(Paragraph(f"Note: {w.message}"))
    section.blocks.append(Paragraph(
        f"{res.data.k} studies, {len(res.treatments)} treatments; {model}-effects model, tau² by "
        f"{spec['tau2']}, reference {spec['reference']}."))
    section.blocks.append(save_figure(pn.network_graph(res), ctx.figures, f"{nid}_graph",
                                      f"Network graph of {name.lower()}: treatments as nodes sized by "
                                      "patients, edges as direct comparisons weighted by studies.",
                                      f"{name}: network graph"))
    section.blocks.append(save_figure(forest(pn.forest_versus_reference(res, model)), ctx.figures,
                                      f"{nid}_forest",
                                      f"Forest plot of every treatment against {spec['reference']}.",
                                      f"{name}: treatments against {spec['reference']}"))
    section.blocks.append(save_table(league.to_frame(), ctx.tables, f"{nid}_league",
                                     f"{name}: league table ({model} effects)"))
    section.blocks.append(save_table(ranking.to_frame(), ctx.tables, f"{nid}_ranks",
                                     f"{name}: P-scores and SUCRA"))
    section.blocks.append(save_figure(pn.sucra_curves(ranking), ctx.figures, f"{nid}_sucra",
                                      f"Cumulative ranking (SUCRA) curves of {name.lower()}.",
                                      f"{name}: SUCRA curves"))
    section.blocks.append(save_table(decomp.to_frame(), ctx.tables, f"{nid}_decomposition",
                                     f"{name}: design-by-treatment decomposition of Q"))
    section.blocks.append(save_table(split.to_frame(), ctx.tables, f"{nid}_netsplit",
                                     f"{name}: direct and indirect evidence (node-splitting)"))
    return section


def steps(ctx: Context) -> list:
    """One step per network."""
    return [(f"Network: {n['name']}", lambda n=n: _guarded(n["name"], n["id"], lambda: build(ctx, n)))
            for n in ctx.spec.networks]
