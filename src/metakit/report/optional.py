"""Optional extras of the report: the PDF (weasyprint) and the DOCX (python-docx).

Each is imported only when its format is asked for; a missing one is a
:class:`MissingExtraError` naming the extra to install.

>>> str(MissingExtraError("weasyprint", "pdf", "the PDF report"))
"the PDF report needs weasyprint, which is not installed: pip install 'metakit[pdf]'"
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from metakit.errors import MetakitError


class MissingExtraError(MetakitError, ImportError):
    """An optional dependency is missing; the message names the extra that installs it."""

    def __init__(self, package: str, extra: str, purpose: str):
        self.package, self.extra = package, extra
        super().__init__(f"{purpose} needs {package}, which is not installed: pip install 'metakit[{extra}]'")


def require(module: str, package: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``extra``.

    ``ImportError`` covers a package that is there but cannot load its system libraries
    (weasyprint without pango); the message then also gives the loader's reason.
    """
    try:
        return import_module(module)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(package, extra, purpose) from exc
    except (ImportError, OSError) as exc:
        raise MissingExtraError(package, extra, f"{purpose} ({type(exc).__name__}: {exc})") from exc
