"""Risk of bias in the analyses: sensitivity restricted to low risk, subgroups by judgement."""

from __future__ import annotations

import pandas as pd
import pytest

import metakit as mk
from metakit.errors import DataError
from metakit.rob import effects_with_rob, from_records, low_risk_effects
from reference_data import close, load

BCG = load("metafor_pairwise")["datasets"]["bcg"]
LOW = {f"d{i}": "Low" for i in range(1, 6)}


def _es():
    df = pd.DataFrame({"study": BCG["study"], "e_t": BCG["ai"], "n_t": BCG["n1i"],
                       "e_c": BCG["ci"], "n_c": BCG["n2i"]})
    return mk.effect_sizes(df, "RR")


def _table(high):
    return from_records([{"study": s, **LOW, **({"d1": "High"} if s in high else {})}
                         for s in BCG["study"]])


def test_low_risk_sensitivity_drops_the_other_studies():
    high = {"Aronson 1948", "TPT Madras 1980", "Comstock et al 1976"}
    es = _es()
    sens = mk.meta(low_risk_effects(es, _table(high)))
    assert set(sens.study) == set(BCG["study"]) - high and sens.k == 10
    direct = mk.meta(es.subset([s for s in BCG["study"] if s not in high]))
    assert close(sens.estimate, direct.estimate, rtol=1e-12)


def test_subgroups_by_overall_judgement():
    high = {"Aronson 1948", "TPT Madras 1980"}
    res = mk.meta(effects_with_rob(_es(), _table(high)), by="rob_overall")
    assert set(res.groups) == {"Low", "High"}
    assert res["High"].k == 2 and res["Low"].k == 11


def test_unassessed_study_is_named():
    table = from_records([{"study": s, **LOW} for s in BCG["study"][1:]])
    with pytest.raises(DataError, match="Aronson 1948"):
        low_risk_effects(_es(), table)


def test_forest_plot_takes_the_assessments_table():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.colors import to_hex

    from metakit.plots.rob import ROB_STYLES
    high = {"Aronson 1948"}
    table = _table(high)
    fig = mk.meta(_es()).forest(rob=table)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "(A) Bias arising from the randomization process" in texts
    assert "(F) Overall" in texts
    dots = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "rob-dots"]
    assert len(dots) == 13                      # one row of 6 dots per study
    colours = [to_hex(fc).upper() for c in dots for fc in c.get_facecolors()]
    red = ROB_STYLES["default"]["High"][0].upper()
    assert colours.count(red) == 2              # Aronson: D1 and Overall high
