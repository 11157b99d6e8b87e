"""Run every analysis a review file names and write the report.

:func:`run_review` walks the section registry (:mod:`metakit.report.sections`), one
progress step per analysis; a step that raises becomes a failure shown in its place and
the rest of the report still builds. Figures go to ``out/figures`` (SVG + PNG), tables to
``out/tables`` (CSV + XLSX), the report to ``out/report.html`` and, when asked for (the review
file's ``output.formats`` or ``formats=``), ``out/report.pdf`` and ``out/report.docx``. The
HTML is written first; a format that fails (its extra not installed, an image weasyprint
cannot load) is a failure shown in the HTML and the result, and the other files are still
written.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

from metakit.report.blocks import Failure, Guardrail, Paragraph, Section
from metakit.report.context import Context
from metakit.report.sections import REGISTRY
from metakit.report.spec import ReviewSpec, read_spec


@dataclass(frozen=True)
class RunResult:
    """What a run built: the sections, the files of the report, the guardrails and failures.

    ``files`` maps each report format written (``html``, ``pdf``, ``docx``) to its path;
    ``output_failures`` are the formats that could not be written.
    """

    spec: ReviewSpec
    sections: tuple[Section, ...]
    methods: tuple[str, ...]
    html: Path
    files: dict[str, Path] = field(default_factory=dict)
    output_failures: tuple[Failure, ...] = ()

    @property
    def guardrails(self) -> list[Guardrail]:
        return [b for s in self.sections for x in s.walk() for b in x.blocks if isinstance(b, Guardrail)]

    @property
    def failures(self) -> list[Failure]:
        return [*(b for s in self.sections for x in s.walk() for b in x.blocks if isinstance(b, Failure)),
                *self.output_failures]

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


def _write_formats(spec: ReviewSpec, sections: list[Section], methods: tuple[str, ...], out: Path,
                   wanted: tuple[str, ...], step) -> tuple[dict[str, Path], list[Failure]]:
    """Write the HTML, then each other format of ``wanted``; a format that raises is a failure."""
    from metakit.report.html import render_html, write_html

    html_path = out / "report.html"
    failed: list[Failure] = []

    def docx(path: Path) -> Path:
        from metakit.report.word import write_docx

        return write_docx(spec, sections, methods, path, figures=spec.docx_figures, failures=failed)

    def pdf(path: Path) -> Path:
        from metakit.report.pdf import write_pdf

        return write_pdf(render_html(spec, sections, methods, html_path, failures=failed), path, out)

    step("Writing the HTML report")
    files = {"html": write_html(spec, sections, methods, html_path)}
    writers = {"docx": ("Writing the DOCX tables", "DOCX report", docx),
               "pdf": ("Writing the PDF report", "PDF report", pdf)}
    for fmt in (f for f in ("docx", "pdf") if f in wanted):
        label, what, write = writers[fmt]
        step(label)
        path = out / f"report.{fmt}"
        try:
            files[fmt] = write(path)
        except Exception as exc:  # the HTML and the other formats are still written
            path.unlink(missing_ok=True)  # a file left from an earlier run would not be this report
            failed.append(Failure(what, f"{type(exc).__name__}: {exc}"))
    if failed:
        write_html(spec, sections, methods, html_path, failures=failed)
    return files, failed


def run_review(spec: ReviewSpec | str | Path, out: str | Path, *, progress: bool = False,
               formats: Iterable[str] = ()) -> RunResult:
    """Run the review file ``spec`` and write everything under ``out``.

    Parameters
    ----------
    spec
        A :class:`~metakit.report.spec.ReviewSpec` or the path of a review YAML file.
    out
        Output folder (created).
    progress
        Show a rich progress bar, one step per analysis.
    formats
        Report formats to write besides those the review file's ``output.formats`` names
        (``"pdf"``, ``"docx"``; the HTML is always written).

    Returns
    -------
    RunResult
        The sections built, the methods sentences, and the paths of ``report.html`` (and
        ``report.pdf``, ``report.docx`` when asked for).

    Examples
    --------
    >>> result = run_review("examples/stem-cell-onfh/review.yaml", "out/onfh")  # doctest: +SKIP
    >>> [g.code for g in result.guardrails][:1]  # doctest: +SKIP
    ['totals-disagree']
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from metakit.report.blocks import fixed_time
    from metakit.report.spec import FORMATS

    fixed_time()  # a SOURCE_DATE_EPOCH it cannot read stops the run before any work
    if not isinstance(spec, ReviewSpec):
        spec = read_spec(spec)
    wanted = tuple(dict.fromkeys([*spec.formats, *formats]))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format {unknown[0]!r}; known: {', '.join(FORMATS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(spec, out)
    plan = list(_plan(ctx))
    total = sum(len(steps) for _, steps in plan) + len(wanted)
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
        methods = methods_paragraph(sections)
        started = []

        def step(label: str) -> None:
            if started:
                bar.advance(task)
            started.append(label)
            bar.update(task, description=label)

        files, failed = _write_formats(spec, sections, methods, out, wanted, step)
        bar.advance(task)
    return RunResult(spec, tuple(sections), methods, files["html"], files, tuple(failed))
