"""Readers of other tools' files: RevMan 5 reviews (:mod:`metakit.io.revman`)."""

from metakit.io.revman import RevManError, RevManOutcome, RevManReview
from metakit.io.revman_read import read_revman, read_revman_csv, read_rm5

__all__ = ["RevManError", "RevManOutcome", "RevManReview", "read_revman", "read_revman_csv", "read_rm5"]
