"""The review report: one YAML file, one command, every analysis, figure, table and the HTML.

- :mod:`~metakit.report.spec` reads and validates the review file;
- :mod:`~metakit.report.runner` runs the sections of :mod:`~metakit.report.sections`;
- :mod:`~metakit.report.html` writes the self-contained HTML report;
- :mod:`~metakit.report.guardrails` and :mod:`~metakit.report.sentences` hold the
  warnings and the words.
"""
