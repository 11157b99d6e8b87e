"""Screening in the store: decisions, conflicts, kappa, CSV, and PRISMA counts from the store."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from metakit.errors import DataError, MetakitWarning
from metakit.review import screening as scr
from metakit.review.agreement import cohen_kappa, fleiss_kappa
from metakit.review.prisma_counts import PrismaCounts
from metakit.review.store import Project
from metakit.review.tables import automation_flags

# --- Cohen's kappa against hand calculations -----------------------------------------

def test_kappa_two_categories_worked_example():
    # Worked example of the Wikipedia article "Cohen's kappa" (grant proposals):
    # 50 items; both yes 20, both no 15, A yes/B no 5, A no/B yes 10.
    # p_o = 35/50 = 0.70; A says yes 25/50 = 0.5, B says yes 30/50 = 0.6
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.50; kappa = (0.70 - 0.50) / 0.50 = 0.40
    a = ["yes"] * 20 + ["no"] * 15 + ["yes"] * 5 + ["no"] * 10
    b = ["yes"] * 20 + ["no"] * 15 + ["no"] * 5 + ["yes"] * 10
    k = cohen_kappa(a, b)
    assert k.p_observed == pytest.approx(0.70)
    assert k.p_expected == pytest.approx(0.50)
    assert k.kappa == pytest.approx(0.40)
    # Cohen (1960) SE: sqrt(0.7 * 0.3 / (50 * 0.5**2)) = sqrt(0.0168) = 0.129615
    assert k.se == pytest.approx(math.sqrt(0.0168))
    assert k.table.loc["yes", "no"] == 5 and k.table.loc["no", "yes"] == 10


def test_kappa_three_categories_hand_calculation():
    # 100 items, categories i/e/m, cross-table (rows A, columns B):
    #        i   e   m  | A total
    #   i   30   5   5  | 40
    #   e    5  35   0  | 40
    #   m    5   0  15  | 20
    #   B:  40  40  20
    # p_o = (30 + 35 + 15) / 100 = 0.80
    # p_e = 0.4*0.4 + 0.4*0.4 + 0.2*0.2 = 0.16 + 0.16 + 0.04 = 0.36
    # kappa = (0.80 - 0.36) / (1 - 0.36) = 0.44 / 0.64 = 0.6875
    cells = {("i", "i"): 30, ("i", "e"): 5, ("i", "m"): 5, ("e", "i"): 5, ("e", "e"): 35,
             ("m", "i"): 5, ("m", "m"): 15}
    a, b = [], []
    for (x, y), n in cells.items():
        a += [x] * n
        b += [y] * n
    k = cohen_kappa(a, b, categories=["i", "e", "m"])
    assert k.kappa == pytest.approx(0.6875)
    assert k.table.loc["m", "e"] == 0


def test_kappa_degenerate_and_bad_input():
    with pytest.warns(MetakitWarning):
        k = cohen_kappa(["x", "x"], ["x", "x"])
    assert math.isnan(k.kappa)
    with pytest.raises(DataError):
        cohen_kappa(["a"], ["a", "b"])
    with pytest.raises(DataError):
        cohen_kappa(["a", None], ["a", "b"])


# --- a small review in a store, counted by hand ---------------------------------------

def _recs(prefix, n):
    return [{"title": f"{prefix} trial {i}", "abstract": f"Randomised trial {prefix} {i}.",
             "authors": ["Doe, J"], "year": 2010 + i} for i in range(n)]


def build_review(path):
    """The flow of the review below, by hand:

    identified: MEDLINE 6 (ids 1-6), Embase 4 (7-10), register CT.gov 2 (11-12);
    other methods: citation searching 2 (13-14).
    duplicates: 7 of 1, 8 of 2 -> 2; automation: record 3; other reason: record 9.
    screened: 12 - 2 - 1 - 1 = 8 (1, 2, 4, 5, 6, 10, 11, 12).
    title/abstract, reviewers A and B:
      1 i/i, 2 e/e, 4 e/i (adjudicated include), 5 m/i, 6 e/e, 10 e/e,
      11 i/e (adjudicated exclude), 12 i/i
      -> excluded 2, 6, 10, 11 = 4; sought 1, 4, 5, 12 = 4.
    report 12 not retrieved -> assessed 3: 1 include, 4 exclude (not randomised),
    5 include; 1 and 5 are reports of study S1.
    other methods: 13 include (study S2), 14 exclude (wrong comparator).
    included: reports 1, 5, 13 = 3; studies S1, S2 = 2.
    """
    p = Project.open(path)
    p.add_import(_recs("M", 6), file="m.ris", source_db="MEDLINE", format="ris")
    p.add_import(_recs("E", 4), file="e.ris", source_db="Embase", format="ris")
    p.add_import(_recs("R", 2), file="r.csv", source_db="CT.gov", format="csv")
    p.add_import(_recs("C", 2), file="c.csv", source_db="Citation searching", format="csv")
    scr.set_source_kind(p, "CT.gov", "register")
    scr.set_source_kind(p, "Citation searching", "other")
    p.override(7, 1)
    p.override(8, 2)
    scr.flag_records(p, [(3, "pt_non_trial", "publication type: review")])
    scr.flag_records(p, [(9, "retracted", None)], kind="other")
    scr.define_reasons(p, "full-text", ["Not randomised", "Wrong comparator"])
    ta = {1: "ii", 2: "ee", 4: "ei", 5: "mi", 6: "ee", 10: "ee", 11: "ie", 12: "ii"}
    code = {"i": "include", "e": "exclude", "m": "maybe"}
    for rid, (a, b) in ta.items():
        scr.record_decision(p, rid, "title-abstract", "A", code[a])
        scr.record_decision(p, rid, "title-abstract", "B", code[b])
    return p


def finish_review(p):
    scr.resolve(p, 4, "title-abstract", "include")
    scr.resolve(p, 11, "title-abstract", "exclude")
    scr.set_report(p, 12, retrieved=False)
    scr.set_report(p, 1, retrieved=True, study_id="S1")
    scr.set_report(p, 5, retrieved=True, study_id="S1")
    scr.set_report(p, 13, retrieved=True, study_id="S2")
    scr.record_decision(p, 1, "full-text", "A", "include")
    scr.record_decision(p, 4, "full-text", "A", "exclude", "Not randomised")
    scr.record_decision(p, 5, "full-text", "A", "include")
    scr.record_decision(p, 13, "full-text", "A", "include")
    scr.record_decision(p, 14, "full-text", "A", "exclude", "Wrong comparator")


HAND = PrismaCounts(
    databases={"MEDLINE": 6, "Embase": 4}, registers={"CT.gov": 2},
    duplicates_removed=2, removed_by_automation=1, removed_other=1,
    records_screened=8, records_excluded=4, reports_sought=4, reports_not_retrieved=1,
    reports_assessed=3, reports_excluded={"Not randomised": 1},
    other_sources={"Citation searching": 2}, other_reports_sought=2,
    other_reports_not_retrieved=0, other_reports_assessed=2,
    other_reports_excluded={"Wrong comparator": 1},
    studies_included=2, reports_included=3,
)


def test_kappa_and_conflicts_from_the_store(database_url, tmp_path):
    with build_review(database_url) as p:
        # A: i e e m e e i i ; B: i e i i e e e i over records 1 2 4 5 6 10 11 12
        # p_o = 5/8; A marginals i 3, e 4, m 1; B marginals i 4, e 4, m 0
        # p_e = (3*4 + 4*4 + 1*0) / 64 = 28/64; kappa = (40/64 - 28/64) / (36/64) = 1/3
        k = scr.agreement(p, "title-abstract")[("A", "B")]
        assert k.n == 8
        assert k.kappa == pytest.approx(1 / 3)
        assert scr.conflicts(p, "title-abstract").index.tolist() == [4, 5, 11]
        scr.resolve(p, 4, "title-abstract", "include")
        scr.resolve(p, 11, "title-abstract", "exclude")
        c = scr.conflicts(p, "title-abstract")
        assert c.index.tolist() == [5]     # maybe vs include: listed, but goes on
        assert c.loc[5, "A"] == "maybe" and c.loc[5, "title"] == "M trial 4"
        with pytest.raises(DataError) as err:
            scr.prisma_counts_from_store(p)
        assert err.value.column == "reports_assessed"


def test_prisma_counts_from_store_equal_hand_counts(database_url, tmp_path):
    with build_review(database_url) as p:
        finish_review(p)
        assert scr.prisma_counts_from_store(p) == HAND


def test_diagram_boxes_equal_store_counts(database_url, tmp_path):
    from metakit.plots.prisma import prisma_flow

    with build_review(database_url) as p:
        finish_review(p)
        counts = scr.prisma_counts_from_store(p)
    path = tmp_path / "flow.svg"
    prisma_flow(counts, path)
    ns = "{http://www.w3.org/2000/svg}"
    texts = {}
    for g in ET.parse(path).getroot().iter(ns + "g"):
        gid = g.get("id", "")
        if gid.startswith("prisma-") and not gid.endswith("-box"):
            texts[gid[7:]] = " ".join(" ".join("".join(t.itertext())
                                               for t in g.iter(ns + "text")).split())
    expected = {  # the hand counts of build_review's docstring
        "identified": ["Databases (n = 10)", "MEDLINE (n = 6)", "Embase (n = 4)",
                       "Registers (n = 2)", "CT.gov (n = 2)"],
        "removed": ["Duplicate records removed (n = 2)", "tools (n = 1)",
                    "other reasons (n = 1)"],
        "screened": ["(n = 8)"], "excluded": ["(n = 4)"], "sought": ["(n = 4)"],
        "not_retrieved": ["(n = 1)"], "assessed": ["(n = 3)"],
        "reports_excluded": ["Reports excluded (n = 1)", "Not randomised (n = 1)"],
        "other_identified": ["Citation searching (n = 2)"],
        "other_sought": ["(n = 2)"], "other_not_retrieved": ["(n = 0)"],
        "other_assessed": ["(n = 2)"], "other_reports_excluded": ["Wrong comparator (n = 1)"],
        "included": ["Studies included in review (n = 2)",
                     "Reports of included studies (n = 3)"],
    }
    for box, parts in expected.items():
        for part in parts:
            assert part in texts[box], (box, part, texts[box])


def test_counts_refused_while_screening_is_incomplete(database_url, tmp_path):
    with build_review(database_url) as p:
        scr.undo_last(p, "title-abstract", "B")      # B's decision on record 12
        scr.undo_last(p, "title-abstract", "A")      # A's decision on record 12
        with pytest.raises(DataError) as err:
            scr.prisma_counts_from_store(p)
        assert err.value.column == "records_screened"


def test_undo_flag_returns_record_to_screening(database_url, tmp_path):
    with build_review(database_url) as p:
        assert 3 not in scr.queue(p, "title-abstract", "C", prioritise=False)
        assert scr.undo_flag(p, 3)
        assert 3 in scr.queue(p, "title-abstract", "C", prioritise=False)
        assert not scr.undo_flag(p, 3)


def test_queue_progress_and_undo_are_resumable(database_url, tmp_path):
    path = database_url
    with build_review(path) as p:
        assert str(scr.progress(p, "title-abstract", "C")) == "0/8"
        scr.record_decision(p, 1, "title-abstract", "C", "include")
        scr.record_decision(p, 2, "title-abstract", "C", "exclude")
    with Project.open(path) as p:          # a new session
        todo = scr.queue(p, "title-abstract", "C", prioritise=False)
        assert todo == [4, 5, 6, 10, 11, 12]
        assert str(scr.progress(p, "title-abstract", "C")) == "2/8"
        assert scr.undo_last(p, "title-abstract", "C") == 2
        assert scr.queue(p, "title-abstract", "C", prioritise=False)[0] == 2
        # prioritised: same records, any order
        assert sorted(scr.queue(p, "title-abstract", "C")) == [2, 4, 5, 6, 10, 11, 12]


def test_reasons_are_checked(database_url, tmp_path):
    with build_review(database_url) as p:
        with pytest.raises(DataError) as err:
            scr.record_decision(p, 1, "full-text", "A", "exclude")
        assert err.value.column == "reason"
        with pytest.raises(DataError):
            scr.record_decision(p, 1, "full-text", "A", "exclude", "Too short")
        with pytest.raises(DataError):
            scr.record_decision(p, 1, "full-text", "A", "perhaps")
        with pytest.raises(DataError):
            scr.record_decision(p, 999, "full-text", "A", "include")
        assert scr.reasons(p, "full-text") == ["Not randomised", "Wrong comparator"]


def test_csv_round_trip_and_atomic_import(database_url, new_store_url, tmp_path):
    with build_review(database_url) as p:
        finish_review(p)
        n = scr.export_csv(p, tmp_path / "dec.csv")
        before = scr.decisions(p)
    assert n == 16 + 5          # 8 records x 2 reviewers, 5 full-text decisions
    fresh = Project.open(new_store_url())
    fresh.add_import(_recs("M", 6), file="m.ris", source_db="MEDLINE", format="ris")
    fresh.add_import(_recs("E", 4), file="e.ris", source_db="Embase", format="ris")
    fresh.add_import(_recs("R", 2), file="r.csv", source_db="CT.gov", format="csv")
    fresh.add_import(_recs("C", 2), file="c.csv", source_db="Citation searching", format="csv")
    scr.define_reasons(fresh, "full-text", ["Not randomised", "Wrong comparator"])
    assert scr.import_csv(fresh, tmp_path / "dec.csv").imported == 21
    after = scr.decisions(fresh)
    cols = ["record_id", "stage", "reviewer", "decision", "reason", "decided_at"]
    want = before[before.adjudication == 0][cols].fillna("").astype(str)
    assert after[cols].fillna("").astype(str).values.tolist() == want.values.tolist()
    assert set(after.origin) == {"import"}
    # a bad line: nothing is imported, the error names the line
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,stage,reviewer,decision,reason\n1,title-abstract,Z,include,\n"
                   "2,title-abstract,Z,dunno,\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        scr.import_csv(fresh, bad)
    assert "line 3" in str(err.value)
    assert len(scr.decisions(fresh)) == 21
    fresh.close()


def test_design_filter_on_store_records(database_url, tmp_path):
    with Project.open(database_url) as p:
        p.add_import([
            {"title": "Bone marrow cells for the hip: a randomised trial",
             "abstract": "Patients were randomly allocated.",
             "pub_types": ["Randomized Controlled Trial"]},
            {"title": "Osteonecrosis: a review", "pub_types": ["Review"]},
            {"title": "Cell therapy in a rabbit model", "abstract": "Rabbits in two groups.",
             "pub_types": ["Journal Article"]},
        ], file="x.ris", source_db="MEDLINE", format="ris")
        res = scr.apply_design_filter(p)
        assert res.rules == (None, "pt_non_trial", "animal_only")
        assert scr.queue(p, "title-abstract", "A", prioritise=False) == [1]
        with p.db.read() as c:
            flags = c.execute(sa.select(automation_flags.c.record_id, automation_flags.c.rule)
                              .order_by(automation_flags.c.id)).all()
        assert [tuple(f) for f in flags] == [(2, "pt_non_trial"), (3, "animal_only")]


MEDLINE = """PMID- 1001
TI  - Bone marrow concentrate with core decompression for osteonecrosis: a randomised
      trial.
AB  - Sixty hips were randomly allocated to two groups.
FAU - Tran, An
PT  - Journal Article
PT  - Randomized Controlled Trial
MH  - Humans
MH  - Femur Head Necrosis/*therapy
DP  - 2019

PMID- 1002
TI  - Cell therapy for osteonecrosis of the femoral head.
AB  - Twelve animals were studied in two groups.
FAU - Li, Bo
PT  - Journal Article
OT  - stem cells
MH  - *Animals
MH  - Femur Head Necrosis/therapy
DP  - 2018

PMID- 1003
TI  - Osteonecrosis of the hip: current concepts.
AB  - We review treatment options including randomised trials.
FAU - Ng, Cy
PT  - Journal Article
PT  - Review
DP  - 2020

PMID- 1004
TI  - Core decompression alone or with cells: a randomised comparison.
AB  - Patients were randomised to two groups.
FAU - Ruiz, Di
PT  - Journal Article
DP  - 2021
"""


def test_end_to_end_from_a_medline_file(database_url, tmp_path):
    """Import a MEDLINE file, run the design filter, screen, count, as a user would."""
    src = tmp_path / "pubmed.nbib"
    src.write_text(MEDLINE, encoding="utf-8")
    with Project.open(database_url) as p:
        p.import_records(src, source="MEDLINE")
        res = scr.apply_design_filter(p)
        # 1002: MeSH Animals without Humans (from the raw MH field, though OT is set);
        # 1003: publication type Review
        assert res.rules == (None, "animal_only", "pt_non_trial", None)
        for rid in scr.queue(p, "title-abstract", "A", prioritise=False):
            scr.record_decision(p, rid, "title-abstract", "A", "include")
        scr.define_reasons(p, "full-text", ["Not randomised"])
        scr.record_decision(p, 1, "full-text", "A", "include")
        scr.record_decision(p, 4, "full-text", "A", "exclude", "Not randomised")
        counts = scr.prisma_counts_from_store(p)
    # 4 identified, 2 removed by automation, 2 screened, 0 excluded, 2 assessed,
    # 1 excluded (not randomised), 1 included
    assert (counts.records_identified, counts.removed_by_automation,
            counts.records_screened, counts.records_excluded, counts.reports_assessed,
            dict(counts.reports_excluded), counts.reports_included,
            counts.studies_included) == (4, 2, 2, 0, 2, {"Not randomised": 1}, 1, 1)


# --- kappa CI, percentage agreement, Fleiss' kappa -----------------------------------

def test_kappa_interval_lies_within_minus_one_and_one():
    # before: the Wald interval was printed unbounded ("-0.349 to 1.349")
    # a = y y y n, b = y y n n
    # p_o = 3/4; p_e = (3/4)(2/4) + (1/4)(2/4) = 1/2; kappa = 0.25 / 0.5 = 0.5
    # SE = sqrt(0.75 * 0.25 / (4 * 0.25)) = sqrt(0.1875) = 0.4330; z = 1.95996
    # Wald: 0.5 +/- 0.8487 = (-0.3487, 1.3487): the upper bound is cut at 1
    k = cohen_kappa(list("yyyn"), list("yynn"))
    assert k.kappa == pytest.approx(0.5)
    raw = k.confint(truncate=False)
    assert raw == pytest.approx((0.5 - 1.959964 * math.sqrt(0.1875),
                                 0.5 + 1.959964 * math.sqrt(0.1875)), abs=1e-6)
    lo, hi = k.confint()
    assert lo == pytest.approx(raw[0]) and hi == 1.0
    assert "to 1.000" in k.summary()
    assert k.percent_agreement == pytest.approx(75.0)
    assert k.to_dict()["ci_upper"] == 1.0


def test_fleiss_kappa_wikipedia_worked_example():
    # Fleiss (1971) as worked in the Wikipedia article "Fleiss' kappa": 10 subjects,
    # 14 raters, 5 categories; P-bar = 0.378, P_e = 0.213, kappa = 0.210
    counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
              [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
              [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    ratings = [[c for c, n in enumerate(row, start=1) for _ in range(n)] for row in counts]
    res = fleiss_kappa(ratings, categories=[1, 2, 3, 4, 5])
    assert res.p_observed == pytest.approx(0.378, abs=5e-4)
    assert res.p_expected == pytest.approx(0.213, abs=5e-4)
    assert res.kappa == pytest.approx(0.210, abs=5e-4)
    assert (res.n_items, res.n_raters) == (10, 14)
    assert res.counts.values.tolist() == counts


def test_fleiss_kappa_small_hand_calculation():
    # items (i,i,i), (e,e,e), (i,e,e); m = 3 raters
    # P_i = 1, 1, (1 + 4 - 3) / 6 = 1/3 -> P = 7/9
    # p_e = 5/9 (e), p_i = 4/9 -> P_e = 41/81; kappa = (63 - 41) / (81 - 41) = 0.55
    res = fleiss_kappa([["i", "i", "i"], ["e", "e", "e"], ["i", "e", "e"]])
    assert res.kappa == pytest.approx(0.55)
    assert res.percent_agreement == pytest.approx(700 / 9)
    with pytest.raises(DataError, match="every reviewer"):
        fleiss_kappa([["i", "i", None]])


def test_fleiss_agreement_from_the_store(database_url, tmp_path):
    with build_review(database_url) as p:
        assert scr.fleiss_agreement(p, "title-abstract") is None     # two reviewers
        # C agrees with A on 1, 2, 4 (i, e, e): with A and B (i/i, e/e, e/i)
        for rid, d in ((1, "include"), (2, "exclude"), (4, "exclude")):
            scr.record_decision(p, rid, "title-abstract", "C", d)
        res = scr.fleiss_agreement(p, "title-abstract")
        # items (i,i,i), (e,e,e), (e,i,e) -> the hand calculation above: 0.55
        assert res.n_items == 3 and res.kappa == pytest.approx(0.55)


# --- import: removed records, idempotence, conflicts ---------------------------------

def _sheet(path, rows):
    path.write_text("record_id,stage,reviewer,decision,reason\n"
                    + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_import_refuses_decisions_on_removed_records(database_url, tmp_path):
    # before: decisions on duplicates (7 of 1) and flagged records (3) were imported
    with build_review(database_url) as p:
        n0 = len(scr.decisions(p))
        dup = _sheet(tmp_path / "dup.csv", [("1", "title-abstract", "Z", "include", ""),
                                            ("7", "title-abstract", "Z", "include", "")])
        with pytest.raises(DataError) as err:
            scr.import_csv(p, dup)
        assert "line 3" in str(err.value) and "duplicate of record 1" in str(err.value)
        assert err.value.study == 7
        flagged = _sheet(tmp_path / "fl.csv", [("3", "title-abstract", "Z", "exclude", "")])
        with pytest.raises(DataError, match="line 2: record 3: removed before screening "
                                            "by automation"):
            scr.import_csv(p, flagged)
        assert len(scr.decisions(p)) == n0
        with pytest.raises(DataError, match="duplicate of record 2"):
            scr.record_decision(p, 8, "title-abstract", "A", "include")


def test_reimport_is_idempotent_and_conflicts_are_reported(database_url, tmp_path):
    # before: importing the same file twice added every row twice
    with build_review(database_url) as p:
        sheet = _sheet(tmp_path / "z.csv", [("1", "title-abstract", "Z", "include", ""),
                                            ("2", "title-abstract", "Z", "exclude", ""),
                                            ("2", "title-abstract", "Z", "exclude", "")])
        first = scr.import_csv(p, sheet)
        assert (first.imported, first.unchanged, first.conflicts) == (2, 1, ())
        n = len(scr.decisions(p))
        again = scr.import_csv(p, sheet)
        assert (again.imported, again.unchanged) == (0, 3)
        assert len(scr.decisions(p)) == n
        changed = _sheet(tmp_path / "z2.csv", [("1", "title-abstract", "Z", "exclude", ""),
                                               ("4", "title-abstract", "Z", "include", "")])
        res = scr.import_csv(p, changed)
        assert res.imported == 1
        assert res.conflicts == ((2, 1, "Z", "include", "exclude"),)
        assert "line 2: record 1, Z: store says 'include', file says 'exclude'" in \
            res.summary()
        d = scr.decisions(p)
        assert d[(d.reviewer == "Z") & (d.record_id == 1)].decision.tolist() == ["include"]
