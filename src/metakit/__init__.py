"""metakit: systematic reviews and meta-analysis in Python.

The public vocabulary is re-exported here; see ``ARCHITECTURE.md`` for the flow of data.

>>> import metakit as mk
>>> sorted(x for x in ("meta", "effect_sizes") if hasattr(mk, x))
['effect_sizes', 'meta']
"""

from metakit import review, rob
from metakit.review import PrismaCounts, Project
from metakit.stats import batch
from metakit.stats.conversions import combine_groups, mean_sd_from_median, sd_from_ci, sd_from_se
from metakit.stats.effects import EffectSizes, binary_effects, continuous_effects, effect_sizes, generic_effects
from metakit.stats.meta_analysis import meta, meta_mh, meta_peto
from metakit.stats.pairwise import MetaResult
from metakit.stats.regression import MetaRegResult, metareg
from metakit.stats.subgroups import SubgroupResult
from metakit.stats.tau2 import estimate_tau2
from metakit.version import __version__

__all__ = [
    "__version__", "batch", "review", "rob", "Project", "PrismaCounts",
    "meta", "meta_mh", "meta_peto", "MetaResult", "SubgroupResult", "metareg", "MetaRegResult",
    "effect_sizes", "EffectSizes", "binary_effects", "continuous_effects", "generic_effects",
    "estimate_tau2", "mean_sd_from_median", "sd_from_se", "sd_from_ci", "combine_groups",
]
