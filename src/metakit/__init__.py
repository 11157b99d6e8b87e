"""metakit: systematic reviews and meta-analysis in Python.

The public vocabulary is re-exported here; see ``DESIGN.md`` for the flow of data.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("metakit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
