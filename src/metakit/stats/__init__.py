"""The statistical engine: effect sizes, tau², the fit kernel and the models built on it.

Modules, in the order data flows through them:

- :mod:`~metakit.stats.measures` - effect measures, their names and scales;
- :mod:`~metakit.stats.validate` - reading numeric columns of an extraction sheet;
- :mod:`~metakit.stats.effects`, :mod:`~metakit.stats.conversions` - effect sizes (escalc);
- :mod:`~metakit.stats.moments` - masked, batched data and the weighted sums all fits use;
- :mod:`~metakit.stats.tau2` - between-study variance estimators;
- :mod:`~metakit.stats.heterogeneity` - Q, I², H² and their confidence intervals;
- :mod:`~metakit.stats.batch` - many meta-analyses in one call (``mk.batch.meta``);
- :mod:`~metakit.stats.mantel_haenszel` - Mantel-Haenszel and Peto pooling;
- :mod:`~metakit.stats.pairwise`, :mod:`~metakit.stats.subgroups` - the user-facing fits.
"""
