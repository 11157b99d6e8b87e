"""The screener's record panel copes with fields the store leaves empty (NaN, None)."""

from __future__ import annotations

from rich.console import Console

from metakit.cli.screen import _record_panel


def test_missing_fields_render_as_placeholders():
    rec = {"id": 7, "title": "A randomised trial", "authors": None, "year": float("nan"),
           "journal": float("nan"), "abstract": float("nan")}
    console = Console(width=80, record=True)
    console.print(_record_panel(rec, 1, 3, "title-abstract", "alice"))
    text = console.export_text()
    assert "A randomised trial" in text and "(no abstract)" in text
    assert "nan" not in text and "1/3" in text
