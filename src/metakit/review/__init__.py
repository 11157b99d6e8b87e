"""The review project: search records in, duplicates out, screening, PRISMA counts.

One SQLite file (``review.db``) keeps the whole trail; see :mod:`metakit.review.store`.
"""

from metakit.review.agreement import KappaResult, cohen_kappa
from metakit.review.automation import design_filter, rank_records, recall_at, simulate_screening, wss
from metakit.review.dedup import find_duplicates
from metakit.review.prisma_counts import PrismaCounts
from metakit.review.records import ImportReport, read_records
from metakit.review.store import Project

__all__ = ["ImportReport", "KappaResult", "PrismaCounts", "Project", "cohen_kappa",
           "design_filter", "find_duplicates", "rank_records", "read_records", "recall_at",
           "simulate_screening", "wss"]
