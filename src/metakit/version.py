"""The installed version of metakit, for results that record the software that made them."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("metakit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
