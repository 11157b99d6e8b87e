"""The review project: search records in, duplicates out, screening, PRISMA counts.

One SQLite file (``review.db``) keeps the whole trail; see :mod:`metakit.review.store`.
Names are imported on first use (PEP 562): reading an export needs neither pandas nor
the screening models.
"""

from importlib import import_module

# public name -> module that defines it
_LAZY = {
    "KappaResult": "metakit.review.agreement", "cohen_kappa": "metakit.review.agreement",
    "design_filter": "metakit.review.automation", "rank_records": "metakit.review.automation",
    "recall_at": "metakit.review.automation",
    "simulate_screening": "metakit.review.automation", "wss": "metakit.review.automation",
    "find_duplicates": "metakit.review.dedup",
    "PrismaCounts": "metakit.review.prisma_counts",
    "ImportReport": "metakit.review.records", "read_records": "metakit.review.records",
    "Project": "metakit.review.store",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metakit.review' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = ["ImportReport", "KappaResult", "PrismaCounts", "Project", "cohen_kappa",
           "design_filter", "find_duplicates", "rank_records", "read_records", "recall_at",
           "simulate_screening", "wss"]
