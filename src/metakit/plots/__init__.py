"""Figures: one module per figure family (forest, funnel, bubble, Baujat, GOSH, risk of bias,
PRISMA)."""

from metakit.plots.baujat import baujat
from metakit.plots.bubble import bubble
from metakit.plots.forest import ForestRow, ForestTable, draw_forest, forest, forest_table, write_figures
from metakit.plots.funnel import funnel
from metakit.plots.gosh import gosh
from metakit.plots.prisma import prisma_flow
from metakit.plots.rob import summary_plot, traffic_light

__all__ = ["baujat", "bubble", "gosh", "ForestRow", "ForestTable", "draw_forest", "forest", "forest_table", "funnel",
           "write_figures", "prisma_flow", "summary_plot", "traffic_light"]
