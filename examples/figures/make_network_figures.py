"""Make the example network figures (ILLUSTRATIVE data shaped like the seed review).

    python examples/figures/make_network_figures.py [OUTDIR]

Reads ``examples/data/network_onfh_illustrative.csv`` (core decompression alone versus CD
plus low, medium or high cell dose; odds ratio of conversion to total hip arthroplasty;
illustrative counts, see ``examples/data/README.md``) and writes into OUTDIR (default: this
folder) ``network_graph.png``, ``network_forest.png``, ``network_league.png``,
``network_rankogram.png``, ``network_sucra.png`` and ``network_funnel.png``, and prints the
fit, league table and ranks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metakit.network import nma
from metakit.network.funnel import adjusted_funnel
from metakit.plots import network as pn
from metakit.plots.forest import forest

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "network_onfh_illustrative.csv"
ORDER = ["CD", "CD + low dose", "CD + medium dose", "CD + high dose"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir", nargs="?", type=Path, default=HERE)
    out = parser.parse_args().outdir
    out.mkdir(parents=True, exist_ok=True)
    res = nma(DATA, measure="OR", reference="CD", small_values="good")
    ranking = res.ranking("random", nsim=10000, seed=1234)
    league = res.league("random")
    print(res.summary(), league.summary(), ranking.summary(), sep="\n\n")
    pn.network_graph(res, out / "network_graph.png", order=ORDER)
    forest(pn.forest_versus_reference(res), out / "network_forest.png", dpi=200,
           favours=("Favours CD + cells", "Favours CD alone"))
    pn.league_figure(league, out / "network_league.png")
    pn.rankogram(ranking, out / "network_rankogram.png")
    pn.sucra_curves(ranking, out / "network_sucra.png")
    pn.adjusted_funnel_plot(adjusted_funnel(res, ORDER), out / "network_funnel.png")


if __name__ == "__main__":
    main()
