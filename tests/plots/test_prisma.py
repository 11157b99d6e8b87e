"""PRISMA 2020 diagram: every box shows its count; boxes and texts do not collide."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from metakit.plots.prisma import box_texts, prisma_flow
from metakit.review.prisma_counts import PrismaCounts

COUNTS = PrismaCounts(
    databases={"MEDLINE": 3412, "Embase": 4870, "CENTRAL": 1288, "Web of Science": 2236,
               "Scopus": 933, "CNKI": 200},
    registers={"ClinicalTrials.gov": 140},
    duplicates_removed=6150, removed_by_automation=1893, removed_other=12,
    records_screened=5024, records_excluded=4980, reports_sought=44,
    reports_not_retrieved=3, reports_assessed=41,
    reports_excluded={"Not randomised": 14, "Wrong comparator (no core decompression "
                      "alone, or a different cell product)": 9, "No outcome": 5},
    other_sources={"Citation searching": 23}, other_reports_sought=5,
    other_reports_not_retrieved=1, other_reports_assessed=4,
    other_reports_excluded={"Not randomised": 3},
    studies_included=10, reports_included=14,
)

# box -> the counts it must show, written out from COUNTS by hand
EXPECTED = {
    "identified": ["12,939", "3,412", "4,870", "1,288", "2,236", "933", "200", "140"],
    "removed": ["6,150", "1,893", "12"],
    "screened": ["5,024"], "excluded": ["4,980"], "sought": ["44"],
    "not_retrieved": ["3"], "assessed": ["41"],
    "reports_excluded": ["28", "14", "9", "5"],
    "included": ["10", "14"],
    "other_identified": ["23"], "other_sought": ["5"], "other_not_retrieved": ["1"],
    "other_assessed": ["4"], "other_reports_excluded": ["3"],
}


def _svg_box_text(path):
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.parse(path).getroot()
    out = {}
    for g in root.iter(ns + "g"):
        gid = g.get("id", "")
        if gid.startswith("prisma-") and not gid.endswith("-box"):
            text = " ".join("".join(t.itertext()) for t in g.iter(ns + "text"))
            out[gid[len("prisma-"):]] = " ".join(text.split())
    return out


def test_svg_boxes_show_their_counts(tmp_path):
    path = tmp_path / "prisma.svg"
    prisma_flow(COUNTS, path)
    texts = _svg_box_text(path)
    assert set(EXPECTED) <= set(texts)
    for box, numbers in EXPECTED.items():
        for number in numbers:
            assert f"(n = {number})" in texts[box], (box, number, texts[box])
    assert "Records screened" in texts["screened"]
    assert "Wrong comparator" in texts["reports_excluded"]


def test_no_other_methods_column_when_unused():
    c = PrismaCounts(databases={"MEDLINE": 5}, records_screened=5, records_excluded=5,
                     reports_sought=0, reports_assessed=0, reports_included=0,
                     studies_included=0)
    assert "other_identified" not in box_texts(c)
    fig = prisma_flow(c)
    assert "other_identified" not in fig.metakit_boxes


def _overlap(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


@pytest.mark.parametrize("counts", [COUNTS, PrismaCounts(
    databases={"Six databases (split not reported)": 12939}, duplicates_removed=None,
    removed_by_automation=None, removed_other=None, records_screened=4846,
    records_excluded=None, reports_sought=None, reports_not_retrieved=None,
    reports_assessed=None, reports_excluded=None, studies_included=10,
    reports_included=None)])
def test_boxes_do_not_overlap_and_texts_fit(counts):
    fig = prisma_flow(counts)
    boxes = fig.metakit_boxes
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not _overlap(boxes[a], boxes[b]), (a, b)
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    for t in ax.texts:
        gid = t.get_gid() or ""
        name = gid[len("prisma-"):]
        if name not in boxes:
            continue
        x, y, w, h = boxes[name]
        ext = t.get_window_extent(renderer).transformed(ax.transData.inverted())
        assert ext.x0 >= x - 1e-6 and ext.x1 <= x + w + 1e-6, name
        assert ext.y0 >= y - 1e-6 and ext.y1 <= y + h + 1e-6, name


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_raster_and_pdf_output(tmp_path, suffix, magic):
    path = tmp_path / ("p" + suffix)
    prisma_flow(COUNTS, path)
    assert path.read_bytes()[:4] == magic


def test_columns_start_level_and_side_boxes_meet_their_arrows():
    boxes = prisma_flow(COUNTS).metakit_boxes

    def top(name):
        x, y, w, h = boxes[name]
        return y + h

    # The two identification columns start level (PRISMA 2020 template), as do the later rows.
    for main, other in (("identified", "other_identified"), ("sought", "other_sought"),
                        ("assessed", "other_assessed")):
        assert top(main) == pytest.approx(top(other), abs=1e-9), (main, other)
    # The database box (8 lines) is taller than the other-methods box (2 lines): the
    # other-methods box is not centred on the row.
    assert boxes["identified"][3] > boxes["other_identified"][3]
    # Each side box spans the middle of its flow box, where the arrow runs.
    for flow, side in (("identified", "removed"), ("screened", "excluded"), ("sought", "not_retrieved"),
                       ("assessed", "reports_excluded"), ("other_sought", "other_not_retrieved"),
                       ("other_assessed", "other_reports_excluded")):
        _, fy, _, fh = boxes[flow]
        _, sy, _, sh = boxes[side]
        assert sy <= fy + fh / 2 <= sy + sh, (flow, side)
