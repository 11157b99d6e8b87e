"""The figure verbs every result shares (``result.forest()``, ``result.funnel()``)."""

from __future__ import annotations


class FigureMethods:
    """Mixin for results that have studies and a total.

    The plotting modules are imported on first use, so fitting never loads matplotlib.
    """

    def forest(self, path=None, **options):
        """Forest plot in RevMan's layout; see :func:`metakit.plots.forest.forest`."""
        from metakit.plots.forest import forest
        return forest(self, path, **options)

    def funnel(self, path=None, **options):
        """Funnel plot; see :func:`metakit.plots.funnel.funnel`."""
        from metakit.plots.funnel import funnel
        return funnel(self, path, **options)
