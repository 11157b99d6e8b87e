"""Render the risk-of-bias example figures to examples/figures/ (PNG).

Run from the repository root: ``python examples/figures/make_rob_figures.py``.
The RoB 2 example mirrors the first seed review (10 trials, 70% low risk, 30% some concerns);
its answers are illustrative, not any published trial's assessment.
"""

from __future__ import annotations

from pathlib import Path

from metakit.plots.rob import summary_plot, traffic_light
from metakit.rob import from_records, read_assessments

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "examples" / "figures"


def main() -> None:
    rob2 = read_assessments(ROOT / "examples" / "rob" / "seed_rob2.csv")
    traffic_light(rob2, OUT / "rob2_traffic_light.png", title="RoB 2: collapse of the femoral head")
    traffic_light(rob2, OUT / "rob2_traffic_light_colourblind.png", palette="colourblind")
    summary_plot(rob2, path=OUT / "rob2_summary.png")
    weights = {s: w for s, w in zip(rob2.studies, [14.2, 6.1, 9.8, 12.5, 22.0, 5.3, 8.4, 7.7, 4.0, 10.0])}
    summary_plot(rob2, weights=weights, path=OUT / "rob2_summary_weighted.png", palette="colourblind")

    robins = read_assessments(ROOT / "examples" / "rob" / "robins_i_example.csv", tool="robins-i")
    traffic_light(robins, OUT / "robins_i_traffic_light.png")
    summary_plot(robins, path=OUT / "robins_i_summary.png")

    # Scale check: 60 studies with long labels, and 3 studies.
    levels = ["Low", "Some concerns", "High"]
    many = from_records([{"study": f"Investigator-led multicentre trial {i:02d} et al. 2020",
                          **{f"d{d}": levels[(i * d) % 3] for d in range(1, 6)}} for i in range(60)])
    traffic_light(many, OUT / "rob2_traffic_light_60.png")
    traffic_light(from_records(many.to_frame().head(3).drop(columns=["Overall", "overrides", "outcome"])
                               .rename(columns=str.lower).to_dict("records")),
                  OUT / "rob2_traffic_light_3.png")


if __name__ == "__main__":
    main()
