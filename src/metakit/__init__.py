"""metakit: systematic reviews and meta-analysis in Python.

The public vocabulary is re-exported here; see ``ARCHITECTURE.md`` for the flow of data.

>>> import metakit as mk
>>> sorted(x for x in ("meta", "effect_sizes") if hasattr(mk, x))
['effect_sizes', 'meta']
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("metakit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

from metakit import review, rob
from metakit.review import PrismaCounts, Project
from metakit.stats import batch
from metakit.stats.conversions import combine_groups, mean_sd_from_median, sd_from_ci, sd_from_se
from metakit.stats.effects import EffectSizes, binary_effects, continuous_effects, effect_sizes, generic_effects
from metakit.stats.pairwise import MetaResult, meta
from metakit.stats.regression import MetaRegResult, metareg
from metakit.stats.subgroups import SubgroupResult
from metakit.stats.tau2 import estimate_tau2


def meta_mh(es, **kwargs):
    """Mantel-Haenszel meta-analysis: :func:`meta` with ``method="MH"``."""
    return meta(es, method="MH", **kwargs)


def meta_peto(es, **kwargs):
    """Peto's one-step odds ratio meta-analysis: :func:`meta` with ``method="Peto"``."""
    return meta(es, method="Peto", **kwargs)


__all__ = [
    "__version__", "batch", "review", "rob", "Project", "PrismaCounts",
    "meta", "meta_mh", "meta_peto", "MetaResult", "SubgroupResult", "metareg", "MetaRegResult",
    "effect_sizes", "EffectSizes", "binary_effects", "continuous_effects", "generic_effects",
    "estimate_tau2", "mean_sd_from_median", "sd_from_se", "sd_from_ci", "combine_groups",
]
