"""Network meta-analysis equal to R's netmeta (see ``nma``).

- :mod:`~metakit.network.data` — arm- or contrast-level input to checked contrasts;
- :mod:`~metakit.network.checks` — the rules a network must satisfy;
- :mod:`~metakit.network.graph` — the graph-theoretical method (Rücker 2012);
- :mod:`~metakit.network.likelihood` — tau² by REML / ML (the rma.mv contrast model);
- :mod:`~metakit.network.estimates` — effects, CIs and prediction intervals of one model;
- :mod:`~metakit.network.model` — ``nma`` and ``NetworkResult``;
- :mod:`~metakit.network.ranking` — P-scores and SUCRA;
- :mod:`~metakit.network.league` — league tables;
- :mod:`~metakit.network.inconsistency` — design decomposition, node-splitting, direct evidence.
- :mod:`~metakit.network.funnel` — the comparison-adjusted funnel plot's data and Egger test.
"""

from metakit.network.data import NetworkData, from_arms, from_contrasts
from metakit.network.model import NetworkResult, nma

__all__ = ["NetworkData", "NetworkResult", "from_arms", "from_contrasts", "nma"]
