"""``metakit meta --sensitivity / --baujat / --gosh``: the sensitivity report and figures.

Kept apart from :mod:`metakit.cli.meta` so that the command stays a thin reader of
options; the computing is the result's own verbs (:mod:`metakit.stats.sensitivity_methods`).
"""

from __future__ import annotations

from pathlib import Path


def check(result) -> None:
    """Sensitivity analyses are of one analysis: refuse a subgroup result."""
    if hasattr(result, "subgroups"):
        raise ValueError("--sensitivity, --baujat and --gosh analyse one meta-analysis; "
                         "drop --by")


def report(result) -> tuple[str, dict]:
    """The leave-one-out and influence tables and the asymmetry tests, as text and dict."""
    loo = result.leave_one_out()
    inf = result.influence()
    egger = result.regtest()
    rank = result.ranktest()
    tf = result.trimfill()
    text = "\n\n".join([
        loo.summary(), inf.summary(),
        "Small-study effects (funnel plot asymmetry)\n"
        f"Egger's test (regression on the standard error): {egger.summary()}\n"
        f"{rank.summary()}\n{tf.summary()}"])
    data = {"leave_one_out": loo.to_dict(), "influence": inf.to_dict(),
            "regtest": egger.to_dict(), "ranktest": rank.to_dict(), "trimfill": tf.to_dict()}
    return text, data


def figures(result, baujat: Path | None, gosh: Path | None) -> None:
    """Write the Baujat and GOSH plots asked for."""
    if baujat is not None:
        result.baujat(baujat)
    if gosh is not None:
        result.gosh().plot(gosh)
