"""metakit: systematic reviews and meta-analysis in Python.

The public vocabulary is re-exported here; see ``DESIGN.md`` for the flow of data.
Each name is imported on first use (PEP 562), so ``import metakit.review.records`` or
the ``metakit`` command do not pay for the statistics engine (pandas, scipy).

>>> import metakit as mk
>>> sorted(x for x in ("meta", "effect_sizes") if hasattr(mk, x))
['effect_sizes', 'meta']
"""

from importlib import import_module

# public name -> module that defines it (a module itself when the name is the module's)
_LAZY = {
    "batch": "metakit.batch", "review": "metakit.review", "rob": "metakit.rob",
    "combine_groups": "metakit.conversions", "mean_sd_from_median": "metakit.conversions",
    "sd_from_ci": "metakit.conversions", "sd_from_se": "metakit.conversions",
    "EffectSizes": "metakit.effects", "binary_effects": "metakit.effects",
    "continuous_effects": "metakit.effects", "effect_sizes": "metakit.effects",
    "generic_effects": "metakit.effects",
    "MetaResult": "metakit.pairwise", "meta": "metakit.pairwise",
    "PrismaCounts": "metakit.review", "Project": "metakit.review",
    "SubgroupResult": "metakit.subgroups",
    "estimate_tau2": "metakit.tau2",
}


def _version() -> str:
    # importlib.metadata alone adds 30-90 ms to every start of the command line.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("metakit")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0"


def __getattr__(name: str):
    if name == "__version__":
        globals()[name] = _version()
        return globals()[name]
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


def meta_mh(es, **kwargs):
    """Mantel-Haenszel meta-analysis: :func:`meta` with ``method="MH"``."""
    from metakit.pairwise import meta

    return meta(es, method="MH", **kwargs)


def meta_peto(es, **kwargs):
    """Peto's one-step odds ratio meta-analysis: :func:`meta` with ``method="Peto"``."""
    from metakit.pairwise import meta

    return meta(es, method="Peto", **kwargs)


__all__ = [
    "__version__", "batch", "review", "rob", "Project", "PrismaCounts",
    "meta", "meta_mh", "meta_peto", "MetaResult", "SubgroupResult",
    "effect_sizes", "EffectSizes", "binary_effects", "continuous_effects", "generic_effects",
    "estimate_tau2", "mean_sd_from_median", "sd_from_se", "sd_from_ci", "combine_groups",
]
