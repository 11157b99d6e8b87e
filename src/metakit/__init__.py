"""metakit: systematic reviews and meta-analysis in Python.

The public vocabulary is re-exported here; see ``ARCHITECTURE.md`` for the flow of data.
Each name is imported on first use (PEP 562), so ``import metakit.review.records`` or
the ``metakit`` command do not pay for the statistics engine (pandas, scipy).

>>> import metakit as mk
>>> sorted(x for x in ("meta", "effect_sizes") if hasattr(mk, x))
['effect_sizes', 'meta']
"""

from importlib import import_module

# public name -> module that defines it (a module itself when the name is the module's)
_LAZY = {
    "batch": "metakit.stats.batch", "review": "metakit.review", "rob": "metakit.rob",
    "combine_groups": "metakit.stats.conversions",
    "mean_sd_from_median": "metakit.stats.conversions",
    "sd_from_ci": "metakit.stats.conversions", "sd_from_se": "metakit.stats.conversions",
    "sd_change": "metakit.stats.conversions",
    "correlation_from_sds": "metakit.stats.conversions",
    "EffectSizes": "metakit.stats.effects", "binary_effects": "metakit.stats.effects",
    "continuous_effects": "metakit.stats.effects", "effect_sizes": "metakit.stats.effects",
    "generic_effects": "metakit.stats.effects",
    "meta": "metakit.stats.meta_analysis", "meta_mh": "metakit.stats.meta_analysis",
    "meta_peto": "metakit.stats.meta_analysis",
    "MetaResult": "metakit.stats.pairwise", "SubgroupResult": "metakit.stats.subgroups",
    "metareg": "metakit.stats.regression", "MetaRegResult": "metakit.stats.regression",
    "PrismaCounts": "metakit.review", "Project": "metakit.review",
    "estimate_tau2": "metakit.stats.tau2",
    "network": "metakit.network",
}


def __getattr__(name: str):
    if name == "__version__":
        from metakit.version import __version__

        globals()[name] = __version__
        return __version__
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metakit' has no attribute {name!r}")
    value = import_module(module)
    if module.rsplit(".", 1)[-1] != name:
        value = getattr(value, name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "__version__"})


__all__ = [
    "__version__", "batch", "review", "rob", "Project", "PrismaCounts",
    "meta", "meta_mh", "meta_peto", "MetaResult", "SubgroupResult", "metareg", "MetaRegResult",
    "network",
    "effect_sizes", "EffectSizes", "binary_effects", "continuous_effects", "generic_effects",
    "estimate_tau2", "mean_sd_from_median", "sd_from_se", "sd_from_ci", "combine_groups",
]
