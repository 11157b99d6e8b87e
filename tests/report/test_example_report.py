"""End to end: the example review (examples/stem-cell-onfh) builds its whole report.

The report's numbers are checked against the library's own results for the same rows
(and the Hernigou 2018 collapse OR against a hand calculation); the HTML's structure
against the accessibility rules of the issue (headings in order, alt text on every image,
every image decodes, tables as tables); a second run must write the same bytes.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import metakit as mk
from metakit.cli import app
from metakit.report.runner import run_review

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "stem-cell-onfh"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return run_review(EXAMPLE / "review.yaml", out), out


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.headings, self.imgs, self.ids, self.tables, self.th = [], [], set(), 0, 0
        self.print_parts = 0  # tables printed in parts, hidden on screen and from screen readers
        self._in = None
        self._divs: list[bool] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div":
            self._divs.append(a.get("aria-hidden") == "true")
        if any(self._divs):
            self.print_parts += tag == "table"
            return
        if "id" in a:
            self.ids.add(a["id"])
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.headings.append([int(tag[1]), ""])
            self._in = tag
        elif tag == "img":
            self.imgs.append(a)
        elif tag == "table":
            self.tables += 1
        elif tag == "th":
            self.th += 1

    def handle_endtag(self, tag):
        if tag == "div":
            self._divs.pop()
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in:
            self.headings[-1][1] += data


def _page(html: Path) -> _Page:
    p = _Page()
    p.feed(html.read_text(encoding="utf-8"))
    return p


def test_numbers_equal_the_library_results(built):
    result, _ = built
    rows = pd.read_csv(EXAMPLE / "binary.csv")
    rows = rows[rows.outcome == "collapse"].assign(label=lambda d: d.study + " " + d.year.astype(str))
    fit = mk.meta(mk.effect_sizes(rows, "OR", study="label"), method="MH", tau2_method="DL",
                  convention="revman")
    got = result.section("collapse").numbers
    want = fit.predict()
    assert got["k"] == 4
    assert got["estimate"] == pytest.approx(want["pred"], rel=1e-12)
    assert (got["ci_lb"], got["ci_ub"]) == pytest.approx((want["ci_lb"], want["ci_ub"]), rel=1e-12)
    assert got["I2"] == pytest.approx(fit.heterogeneity.I2, rel=1e-12)
    sentence = (f"OR = {want['pred']:.2f}; 95% CI: {want['ci_lb']:.2f}-{want['ci_ub']:.2f}; "
                f"P = {fit.pval:.2f}; I² = {fit.heterogeneity.I2:.0f}%")
    assert sentence in got["sentence"] and got["sentence"] in result.html.read_text(encoding="utf-8")
    # Hernigou 2018 alone: OR = (35 x 35) / (90 x 90) = 1225 / 8100 (shared data README: 0.151)
    studies = pd.read_csv(built[1] / "tables" / "collapse_studies.csv")
    assert studies.set_index("Study").loc["Hernigou 2018", "OR"] == pytest.approx(1225 / 8100, rel=1e-12)


def test_leave_one_out_table_equals_refits_without_each_study(built):
    """The collapse outcome's leave-one-out row without Kang 2018 is the inverse-variance DL
    fit of the three other trials (the outcome pools by MH, so the section refits by IV)."""
    _, out = built
    rows = pd.read_csv(EXAMPLE / "binary.csv")
    rows = rows[rows.outcome == "collapse"].assign(label=lambda d: d.study + " " + d.year.astype(str))
    rest = rows[rows.label != "Kang 2018"]
    fit = mk.meta(mk.effect_sizes(rest, "OR", study="label"), method="inverse", tau2_method="DL",
                  convention="revman")
    loo = pd.read_csv(out / "tables" / "collapse_leave_one_out.csv").set_index("study")
    assert loo.loc["Kang 2018", "estimate"] == pytest.approx(fit.estimate, rel=1e-9)
    assert loo.loc["Kang 2018", "k"] == 3
    assert (out / "figures" / "collapse_baujat.svg").exists()
    # the sentence names the studies the influence table flags
    infl = pd.read_csv(out / "tables" / "collapse_influence.csv")
    flagged = ", ".join(infl.study[infl.influential])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"Influential studies by metafor&#39;s rules: {flagged or 'none'}." in html


def test_network_section_equals_the_library(built):
    """The dose network's league table and P-scores are the library's (netmeta-checked)."""
    from metakit.network import nma

    _, out = built
    res = nma(pd.read_csv(ROOT / "examples" / "data" / "network_onfh_illustrative.csv"),
              measure="OR", reference="CD", tau2_method="DL", small_values="good")
    ranks = pd.read_csv(out / "tables" / "dose_ranks.csv")
    want = res.ranking("random", seed=1).to_frame()
    assert list(ranks.columns) == [str(c) for c in want.columns]
    num = [c for c in want.columns if pd.api.types.is_numeric_dtype(want[c])]
    assert np.allclose(ranks[num].to_numpy(float), want[num].to_numpy(float), rtol=1e-9)
    for stem in ("dose_graph", "dose_forest", "dose_sucra"):
        assert (out / "figures" / f"{stem}.svg").exists()
    assert (out / "tables" / "dose_league.csv").exists() and (out / "tables" / "dose_netsplit.csv").exists()


def test_continuous_outcomes_and_metaregression_equal_the_library(built):
    result, _ = built
    rows = pd.read_csv(EXAMPLE / "continuous.csv")
    rows = rows[rows.outcome == "HHS"].dropna(subset=["sd_t", "sd_c", "n_t", "n_c"])
    rows = rows.assign(label=rows.study + " " + rows.year.astype(str))
    fit = mk.meta(mk.effect_sizes(rows, "MD", study="label"), tau2_method="REML")
    hhs = result.section("hhs").numbers
    assert hhs["k"] == 2 and hhs["estimate"] == pytest.approx(fit.estimate, rel=1e-12)
    binary = pd.read_csv(EXAMPLE / "binary.csv")
    tha = binary[binary.outcome == "THA"].assign(label=lambda d: d.study + " " + d.year.astype(str))
    mr = mk.metareg(mk.effect_sizes(tha, "OR", study="label", keep=("hips",)), "~ hips", tau2_method="DL")
    assert result.section("tha-metareg-hips").numbers["slope"] == pytest.approx(mr.beta[1], rel=1e-12)
    # pct_male is reported by one study only: not run, with the reason
    text = result.section("collapse-metareg-pct_male").blocks[0].text
    assert text.startswith("Not run: 1 of 4 studies report pct_male")


def test_every_guardrail_the_example_is_built_to_show(built):
    result, _ = built
    fired = {(g.where, g.code) for g in result.guardrails}
    assert ("Pain (VAS), as the seed review pooled it", "mixed-scales") in fired
    assert ("Pain (VAS), as the seed review pooled it", "common-effect-heterogeneity") in fired
    assert ("Pain (VAS), as the seed review pooled it", "no-prediction-interval") in fired
    assert ("Harris hip score", "tau2-too-few") in fired
    # two studies in each allocation subgroup, each with its own random-effects tau²
    assert ("Conversion to total hip arthroplasty, subgroup Randomised", "tau2-too-few") in fired
    assert ("Collapse of the femoral head or stage progression", "funnel-too-few") in fired
    totals = [g for g in result.guardrails if g.code == "totals-disagree"]
    # Zhao 2012: 53 + 44 analysed hips against 53 + 51 randomised (study_characteristics.csv)
    assert len(totals) == 1 and "Zhao 2012: 97 in the outcome, 104 in the characteristics" in totals[0].reason
    # the SMD analysis of the same VAS rows does not get the mixed-scales warning
    assert ("Pain (VAS), standardised mean difference", "mixed-scales") not in fired
    assert result.failures == []


def test_html_structure(built):
    result, out = built
    page = _page(result.html)
    levels = [h for h, _ in page.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), "a heading level is skipped"
    for sid in ("summary", "warnings", "methods", "prisma", "characteristics", "rob", "outcomes",
                "sensitivity", "network", "collapse", "tha", "hhs", "vas", "vas-smd",
                "collapse-funnel", "tha-metareg-hips", "collapse-subgroups-allocation"):
        assert sid in page.ids, sid
    html = result.html.read_text(encoding="utf-8")
    assert "Not yet available in this version." not in html
    assert "dose" in page.ids
    for oid in ("collapse", "tha", "vas", "vas-smd"):
        assert f"{oid}-sensitivity" in page.ids, oid
    assert "ILLUSTRATIVE" in html and "Illustrative data (not from a published trial)" in html
    figures = sorted(p.stem for p in (out / "figures").glob("*.svg"))
    assert len(page.imgs) == len(figures) >= 17
    for img in page.imgs:
        assert img.get("alt", "").strip(), "an image has no alt text"
        head, data = img["src"].split(",", 1)
        assert head == "data:image/svg+xml;base64"
        ET.fromstring(base64.b64decode(data))  # every image loads: a well-formed SVG
    for stem in figures:
        assert (out / "figures" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csvs = sorted(p.stem for p in (out / "tables").glob("*.csv"))
    assert csvs == sorted(p.stem for p in (out / "tables").glob("*.xlsx"))
    assert page.tables == len(csvs) and page.th > 0
    # the 28-column netsplit table is also there in two parts for print, hidden from screen readers
    assert page.print_parts == 2
    for stem in csvs:  # the XLSX (rewritten with fixed dates) still opens, with the CSV's cells
        xlsx = pd.read_excel(out / "tables" / f"{stem}.xlsx")
        assert xlsx.shape == pd.read_csv(out / "tables" / f"{stem}.csv").shape
    assert "metakit " in result.methods[-1] and "DerSimonian-Laird" in " ".join(result.methods)


def test_a_second_run_writes_the_same_bytes(built, tmp_path):
    _, first = built
    run_review(EXAMPLE / "review.yaml", tmp_path)
    a = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    b = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert a == b
    changed = [str(p) for p in a if (first / p).read_bytes() != (tmp_path / p).read_bytes()]
    assert changed == []


def test_a_failing_outcome_is_shown_and_the_rest_still_builds(tmp_path):
    shutil.copy(EXAMPLE / "binary.csv", tmp_path / "binary.csv")
    (tmp_path / "review.yaml").write_text(
        "title: Broken\nsheets:\n  b: binary.csv\noutcomes:\n"
        "  - {id: tha, name: THA, sheet: b, where: {outcome: THA}, measure: OR, funnel: false}\n"
        "  - {id: bad, name: Bad, sheet: b, where: {outcome: THA}, measure: OR,"
        " columns: {events: [e_t, nope]}, funnel: false}\n"
        "  - {id: sub, name: Sub, sheet: b, where: {outcome: THA}, measure: OR, subgroups: [nope2],"
        " funnel: false}\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["run", str(tmp_path / "review.yaml"), "-o", str(tmp_path / "out"),
                                   "--quiet"])
    assert res.exit_code == 1
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Failed: Outcome: Bad." in html and "column(s) [&#39;nope&#39;] not in sheet" in html
    assert "column(s) [&#39;nope2&#39;]" in html
    assert 'id="tha"' in html and "OR = " in html


def test_cli_spec_error_exit_code_and_line(tmp_path):
    (tmp_path / "review.yaml").write_text("title: T\nsheets: {}\noutcomes: []\nextra: 1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["run", str(tmp_path / "review.yaml"), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "line 3" in res.output and "outcomes must not be empty" in res.output


def test_cli_init_writes_a_valid_starter_and_refuses_to_overwrite(tmp_path):
    from metakit.report.spec import read_spec

    assert CliRunner().invoke(app, ["init", str(tmp_path)]).exit_code == 0
    assert [o.id for o in read_spec(tmp_path / "review.yaml").outcomes] == ["primary", "function"]
    assert (tmp_path / "binary.csv").read_text().startswith("study,year,outcome,e_t,n_t,e_c,n_c")
    again = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert again.exit_code == 2 and "--force" in again.output
    # the starter runs as written: one template study per outcome, and the warnings say so
    res = CliRunner().invoke(app, ["run", str(tmp_path / "review.yaml"), "-o", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 0 and (tmp_path / "out" / "report.html").exists()
    assert "Random-effects tau² from 1 study" in res.output


def test_prisma_from_a_store_not_yet_screened_is_a_failure_in_the_report(tmp_path):
    """Run in a fresh interpreter: reading the store imports the screening module, whose
    migration would otherwise stay registered for the store tests that run later."""
    data = ROOT / "tests" / "review" / "data" / "scopus.ris"
    shutil.copy(EXAMPLE / "binary.csv", tmp_path / "binary.csv")
    (tmp_path / "review.yaml").write_text(
        "title: Store\nsheets:\n  b: binary.csv\noutcomes:\n"
        "  - {id: tha, name: THA, sheet: b, where: {outcome: THA}, measure: OR, funnel: false}\n"
        "prisma:\n  store: review.db\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

    def metakit(*args):
        code = "import sys; from metakit.cli import main; sys.argv = ['metakit', *sys.argv[1:]]; main()"
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                              env=env, timeout=300)

    assert metakit("records", "import", str(data), "-p", str(tmp_path / "review.db")).returncode == 0
    run = metakit("run", str(tmp_path / "review.yaml"), "-o", str(tmp_path / "out"), "--quiet")
    assert run.returncode == 1
    assert "failed: PRISMA flow diagram: DataError" in run.stderr
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Failed: PRISMA flow diagram." in html and 'id="tha"' in html


_LAYOUT = """() => {
  const vw = document.documentElement.clientWidth;
  const outside = [...document.querySelectorAll('body *')].filter(el => !el.closest('.table-wrap, .print-only'))
      .filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > vw + 1; });
  const captions = [...document.querySelectorAll('.table-wrap:not(.print-only *) caption')]
      .filter(c => c.getBoundingClientRect().right > vw + 1);
  return {scroll: document.documentElement.scrollWidth - vw, outside: outside.map(el => el.tagName),
          captions: captions.map(c => c.textContent.slice(0, 40)),
          broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt),
          images: document.images.length,
          print_only_shown: [...document.querySelectorAll('.print-only')]
              .filter(e => getComputedStyle(e).display !== 'none').length};
}"""


def test_html_in_headless_chromium_at_100_and_400_percent(built, chromium):
    """Debian's chromium (through playwright, where both are installed): no console error, every
    image decodes, and at 400% zoom (a 320 px wide viewport) nothing but tables scrolls sideways
    (WCAG 1.4.10): text reflows, table captions wrap, tables scroll inside their own box."""
    from playwright import sync_api

    result, _ = built
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            for width, scale in ((1280, 1), (320, 4)):
                page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=scale)
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("requestfailed", lambda r: errors.append(r.url[:80]))
                page.goto(result.html.as_uri(), timeout=120_000)
                got = page.evaluate(_LAYOUT)
                assert got["broken"] == [] and got["images"] >= 17, width
                assert got["scroll"] <= 0 and got["outside"] == [] and got["captions"] == [], (width, got)
                assert got["print_only_shown"] == 0
                if width == 1280:
                    assert page.pdf(format="A4").startswith(b"%PDF-")  # chromium prints it
        finally:
            browser.close()
    assert errors == []
