"""Run every analysis a review file names and write the report.

:func:`run_review` walks the section registry (:mod:`metakit.report.sections`), one
progress step per analysis; a step that raises becomes a failure shown in its place and
the rest of the report still builds. Figures go to ``out/figures`` (SVG + PNG), tables to
``out/tables`` (CSV + XLSX), the report to ``out/report.html``.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from metakit.report.blocks import Failure, Guardrail, Paragraph, Section
from metakit.report.context import Context
from metakit.report.sections import REGISTRY
from metakit.report.spec import ReviewSpec, read_spec


@dataclass(frozen=True)
class RunResult:
    """What a run built: the sections, the HTML path, the guardrails and failures."""

    spec: ReviewSpec
    sections: tuple[Section, ...]
    methods: tuple[str, ...]
    html: Path

    @property
    def guardrails(self) -> list[Guardrail]:
        return [b for s in self.sections for x in s.walk() for b in x.blocks if isinstance(b, Guardrail)]

    @property
    def failures(self) -> list[Failure]:
        return [b for s in self.sections for x in s.walk() for b in x.blocks if isinstance(b, Failure)]

    def section(self, sid: str) -> Section:
        """The (sub-)section with id ``sid``."""
        for s in self.sections:
            for x in s.walk():
                if x.id == sid:
                    return x
        raise KeyError(sid)


def _software() -> str:
    import matplotlib
    import numpy
    import pandas
    import scipy

    from metakit.version import __version__

    return (f"Analyses were run with metakit {__version__} (Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}, SciPy {scipy.__version__}, pandas {pandas.__version__}, "
            f"Matplotlib {matplotlib.__version__}).")


_STAMP = re.compile(r"\s*\(?metakit \d[^\s)]*\)?\.?")


def methods_paragraph(sections) -> tuple[str, ...]:
    """Each distinct methods sentence of the sections that ran, in report order, then the software.

    A sentence that several outcomes share is said once, naming them; the library's own
    version stamps are dropped (the software is named once, at the end).
    """
    seen: dict[str, list[str]] = {}
    for s in sections:
        for x in s.walk():
            for m in x.methods:
                m = _STAMP.sub("", m).strip().rstrip(".")
                seen.setdefault(m, [])
                owner = x.title if s.id == "outcomes" and x is not s else None
                if owner and x.id in {c.id for c in s.children} and owner not in seen[m]:
                    seen[m].append(owner)
    return (*(f"{m} ({'; '.join(o)})." if o else f"{m}." for m, o in seen.items()), _software())


def _plan(ctx: Context):
    for entry in REGISTRY:
        if entry.module is None:
            yield entry, []
        else:
            yield entry, import_module(entry.module).steps(ctx)


def run_review(spec: ReviewSpec | str | Path, out: str | Path, *, progress: bool = False) -> RunResult:
    """Run the review file ``spec`` and write everything under ``out``.

    Parameters
    ----------
    spec
        A :class:`~metakit.report.spec.ReviewSpec` or the path of a review YAML file.
    out
        Output folder (created).
    progress
        Show a rich progress bar, one step per analysis.

    Returns
    -------
    RunResult
        The sections built, the methods sentences, and the path of ``report.html``.

    Examples
    --------
    >>> result = run_review("examples/stem-cell-onfh/review.yaml", "out/onfh")  # doctest: +SKIP
    >>> [g.code for g in result.guardrails][:1]  # doctest: +SKIP
    ['totals-disagree']
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from metakit.report.html import write_html

    if not isinstance(spec, ReviewSpec):
        spec = read_spec(spec)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(spec, out)
    plan = list(_plan(ctx))
    total = sum(len(steps) for _, steps in plan) + 1
    sections: list[Section] = []
    with Progress(TextColumn("{task.description:<48}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), disable=not progress, transient=False) as bar:
        task = bar.add_task("Reading the review file", total=total)
        for entry, steps in plan:
            if entry.module is None:
                sections.append(Section(entry.id, entry.title, blocks=[Paragraph(entry.pending)],
                                        available=False))
                continue
            built = []
            for label, step in steps:
                bar.update(task, description=label)
                try:
                    built.append(step())
                except Exception as exc:  # the report shows the failure and goes on
                    built.append(Section(f"{entry.id}-failed-{len(built)}", label,
                                         blocks=[Failure(label, f"{type(exc).__name__}: {exc}")]))
                bar.advance(task)
            if not built:
                sections.append(Section(entry.id, entry.title, blocks=[Paragraph(
                    "The review file names no input for this section.")]))
            elif len(built) == 1 and built[0].id == entry.id:
                sections.append(built[0])
            else:
                sections.append(Section(entry.id, entry.title, children=built))
        bar.update(task, description="Writing the HTML report")
        methods = methods_paragraph(sections)
        html = write_html(spec, sections, methods, out / "report.html")
        bar.advance(task)
    return RunResult(spec, tuple(sections), methods, html)
