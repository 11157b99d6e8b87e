"""The owner pages that give the web app what only the CLI did: removal flags (unflag),
full-text reports and study ids, source kinds, dedup with thresholds and undo by number.

Each write is checked in the store's own tables and in the audit trail under the owner's
name; every page is refused to the anonymous, the viewer and the reviewer, and every
action without the CSRF token. Both backends (``database_url``).
"""

from __future__ import annotations

import html
import re

import sqlalchemy as sa
from starlette.testclient import TestClient
from web_helpers import TITLES, Team, csrf_of, make_store

from metakit.review import audit
from metakit.review import screening as scr

PAGES = ["/removals", "/reports", "/sources"]
ACTIONS = [("/removals/unflag", {"record_id": "1"}), ("/removals/flag", {"record_ids": "1", "rule": "retracted"}),
           ("/reports", {"record_id": "1", "retrieved": "no"}),
           ("/sources", {"source_db": "MEDLINE", "kind": "other"}), ("/dedup/undo", {"decision_id": "1"}),
           ("/dedup/run", {"threshold_title": "0.5"})]


def _trail(team: Team, action: str) -> list[tuple[str, str | None]]:
    frame = audit.trail(team.store.db, action=action)
    return list(zip(frame.actor, frame.target))


def test_new_pages_refuse_anonymous_viewer_reviewer_and_forged_forms(team):
    owner = team.join("own", "owner")
    viewer = team.join("vic", "viewer")
    reviewer = team.join("rev", "reviewer")
    anonymous = TestClient(team.app)
    base = f"/p/{team.slug}"
    for page in PAGES:
        r = anonymous.get(base + page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"{base}/login?next={base}{page}", page
        assert viewer.get(base + page).status_code == 403, page
        assert reviewer.get(base + page).status_code == 403, page
        assert owner.get(base + page).status_code == 200, page
    tokens = {"vic": csrf_of(viewer.get(f"{base}/progress").text), "rev": csrf_of(team.screen("rev"))}
    for action, data in ACTIONS:
        assert anonymous.post(base + action, data=data).status_code == 401, action
        assert viewer.post(base + action, data={"csrf_token": tokens["vic"], **data}).status_code == 403, action
        assert reviewer.post(base + action, data={"csrf_token": tokens["rev"], **data}).status_code == 403, action
        forged = owner.post(base + action, data=data)
        assert forged.status_code == 403 and "CSRF" in forged.text, action
    # nothing of the refused writes reached the store
    with team.store.db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM reports")).scalar() == 0
        assert c.execute(sa.text("SELECT count(*) FROM source_kinds")).scalar() == 0
        assert c.execute(sa.text("SELECT count(*) FROM dedup_runs")).scalar() == 0
        assert c.execute(sa.text("SELECT count(*) FROM automation_flags")).scalar() == 0
    for owner_page in PAGES:
        assert f'href="{base}{owner_page}"' in owner.get(f"{base}/").text
        assert f'href="{base}{owner_page}"' not in reviewer.get(f"{base}/").text


def test_unflag_puts_records_back_into_screening(team):
    owner = team.join("own", "owner")
    team.join("rev", "reviewer")
    n = team.store.call(scr.flag_records, [(2, "not randomised", "cohort"), (5, "not randomised", None)])
    assert n == 2
    assert f"0 of {len(TITLES) - 2} records" in team.screen("rev")
    page = owner.get(f"/p/{team.slug}/removals").text
    assert re.findall(r'name="record_id" value="(\d+)"', page) == ["2", "5"]
    assert "not randomised" in page and "cohort" in page
    r = owner.post(f"/p/{team.slug}/removals/unflag", data={"csrf_token": csrf_of(page), "record_id": ["5", "7"]})
    assert r.status_code == 200
    assert "1 record(s) back to screening; no active removal flag on 7" in r.text
    assert re.findall(r'name="record_id" value="(\d+)"', r.text) == ["2"]
    # 12 records, 2 flagged, 1 put back: 11 to screen
    assert f"0 of {len(TITLES) - 1} records" in team.screen("rev")
    assert _trail(team, "screening.unflag") == [("own", "record:5")]
    bad = owner.post(f"/p/{team.slug}/removals/unflag", data={"csrf_token": csrf_of(page), "record_id": "x"})
    assert bad.status_code == 400 and "record_id must be record numbers" in bad.text
    empty = owner.post(f"/p/{team.slug}/removals/unflag", data={"csrf_token": csrf_of(page)})
    assert empty.status_code == 400 and "choose at least one record" in empty.text


def test_reports_record_retrieval_and_study_ids(team):
    owner = team.join("own", "owner")
    base = f"/p/{team.slug}"
    token = csrf_of(owner.get(f"{base}/reports").text)
    for rid, study in ((3, "Smith 2019"), (4, "Smith 2019")):
        r = owner.post(f"{base}/reports", data={"csrf_token": token, "record_id": str(rid), "retrieved": "yes",
                                                "study_id": study, "location": "library"})
        assert r.status_code == 200 and f"record {rid}: report retrieved, study Smith 2019" in r.text
    r = owner.post(f"{base}/reports", data={"csrf_token": token, "record_id": "6", "retrieved": "no",
                                            "note": "library has no access"})
    assert r.status_code == 200
    with team.store.db.read() as c:
        rows = c.execute(sa.text("SELECT record_id, retrieved, study_id, location, note FROM reports "
                                 "ORDER BY record_id")).all()
    assert [tuple(x) for x in rows] == [(3, 1, "Smith 2019", "library", None), (4, 1, "Smith 2019", "library", None),
                                        (6, 0, None, None, "library has no access")]
    assert team.store.call(scr.study_of, 4) == "Smith 2019"
    assert [a for a, _ in _trail(team, "screening.report")] == ["own", "own", "own"]
    assert "not retrieved" in r.text and "library has no access" in r.text
    for data, words in (({"record_id": "x", "retrieved": "yes"}, "record_id must be a record's number"),
                        ({"record_id": "999", "retrieved": "yes"}, "no such record"),
                        ({"record_id": "3", "retrieved": "maybe"}, "retrieved must be 'yes' or 'no'")):
        bad = owner.post(f"{base}/reports", data={"csrf_token": token, **data})
        assert bad.status_code == 400 and words in html.unescape(bad.text), data
    with team.store.db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM reports")).scalar() == 3


def test_source_kinds_move_a_source_out_of_title_abstract_screening(team):
    owner = team.join("own", "owner")
    team.join("rev", "reviewer")
    base = f"/p/{team.slug}"
    page = owner.get(f"{base}/sources").text
    # make_store imports the 12 records from MEDLINE, declared by nobody: a database
    assert re.search(r"<td>MEDLINE</td><td>12</td>", page) and "(not declared)" in page
    assert f"0 of {len(TITLES)} records" in team.screen("rev")
    r = owner.post(f"{base}/sources", data={"csrf_token": csrf_of(page), "source_db": "MEDLINE", "kind": "other"})
    assert r.status_code == 200 and "MEDLINE is now counted as: other" in r.text
    # records from other methods go straight to full text
    assert "0 of 0 records" in team.screen("rev")
    assert f"0 of {len(TITLES)} records" in team.screen("rev", "full-text")
    assert _trail(team, "screening.source_kind") == [("own", "source:MEDLINE")]
    bad = owner.post(f"{base}/sources", data={"csrf_token": csrf_of(page), "source_db": "MEDLINE", "kind": "web"})
    assert bad.status_code == 400 and "kind must be 'database', 'register' or 'other'" in html.unescape(bad.text)
    none = owner.post(f"{base}/sources", data={"csrf_token": csrf_of(page), "source_db": " ", "kind": "other"})
    assert none.status_code == 400 and "name the source" in none.text


A = "Core decompression with bone marrow concentrate for osteonecrosis of the femoral head"
# the same trial reported under a reworded title: rapidfuzz's ratio of the two lower-cased
# titles is 0.88, between a title_strong cut-off of 0.80 and the default 0.95
B = "Core decompression and bone marrow aspirate concentrate in osteonecrosis of the femoral head"


def test_dedup_thresholds_and_undo_by_number(database_url):
    from metakit.web.app import create_app

    target = make_store(database_url, [A, B, "Unrelated knee study of tendons"])
    app = create_app([target])
    try:
        t = Team(app, next(iter(app.state.stores)))
        c = t.join("own", "owner")
        base = f"/p/{t.slug}"
        page = c.get(f"{base}/dedup").text
        assert 'name="threshold_title_strong"' in page and 'placeholder="0.95"' in page
        r = c.post(f"{base}/dedup/run", data={"csrf_token": csrf_of(page), "threshold_title_strong": ""})
        assert "0 duplicates removed" in r.text
        r = c.post(f"{base}/dedup/run", data={"csrf_token": csrf_of(page), "threshold_title_strong": "0.80"})
        assert "1 duplicates removed" in r.text
        assert t.store.call(lambda p: p.counts())["duplicates_removed"] == 1
        with t.store.db.read() as conn:
            params = [p for (p,) in conn.execute(sa.text("SELECT params FROM dedup_runs ORDER BY id"))]
        assert '"title_strong": 0.95' in params[0] and '"title_strong": 0.8' in params[1]
        assert [a for a, _ in _trail(t, "dedup.run")] == ["own", "own"]
        for value, words in (("1.5", "threshold title_strong is a similarity between 0 and 1"),
                             ("high", "threshold title_strong must be a number")):
            bad = c.post(f"{base}/dedup/run", data={"csrf_token": csrf_of(page), "threshold_title_strong": value})
            assert bad.status_code == 400 and words in bad.text
        bad = c.post(f"{base}/dedup/run", data={"csrf_token": csrf_of(page), "threshold_colour": "0.5"})
        assert bad.status_code == 400 and "no dedup threshold 'colour'" in html.unescape(bad.text)
        decision = int(t.store.call(lambda p: p.decisions(include_undone=False)).query("kind == 'duplicate'").index[0])
        r = c.post(f"{base}/dedup/undo", data={"csrf_token": csrf_of(page), "decision_id": str(decision),
                                               "note": "two trials"})
        assert r.status_code == 200 and f"decision {decision} undone" in r.text
        assert t.store.call(lambda p: p.counts())["duplicates_removed"] == 0
        assert _trail(t, "dedup.undo")[0][0] == "own"
        again = c.post(f"{base}/dedup/undo", data={"csrf_token": csrf_of(page), "decision_id": str(decision)})
        assert again.status_code == 400 and "already undone" in again.text
        bad = c.post(f"{base}/dedup/undo", data={"csrf_token": csrf_of(page), "decision_id": "one"})
        assert bad.status_code == 400 and "decision_id must be" in bad.text
    finally:
        for s in app.state.stores.values():
            s.close()


# a CSV whose columns no reader knows: the column map names them, as `--map` does
ODD_CSV = b"Heading,Yr\nStem cells for the femoral head,2019\nKnee tendon repair,2020\n"


def test_import_options_match_the_cli(team):
    owner = team.join("own", "owner")
    base = f"/p/{team.slug}"
    token = csrf_of(owner.get(f"{base}/imports").text)

    def upload(**fields):
        return owner.post(f"{base}/imports", data={"csrf_token": token, **fields},
                          files={"file": ("odd.csv", ODD_CSV, "text/csv")})

    r = upload(format="csv")
    assert r.status_code == 400 and "no title, DOI or PMID column found" in html.unescape(r.text)
    r = upload(format="csv", map="title=Heading\nyear=Yr", source="Handsearch", encoding="utf-8")
    assert r.status_code == 200, r.text
    assert "2 records imported from odd.csv (Handsearch, csv, utf-8)" in r.text
    r = upload(format="csv", map="title=Heading\nyear=Yr")
    assert r.status_code == 400 and "has the same content as import 2" in r.text
    r = upload(format="csv", map="title=Heading\nyear=Yr", allow_repeat="on")
    assert r.status_code == 200 and "2 records imported" in r.text
    for fields, words in (({"format": "docx"}, "format must be one of ris, medline"),
                          ({"map": "title Heading"}, "column map lines are field=Column")):
        bad = upload(**fields)
        assert bad.status_code == 400 and words in html.unescape(bad.text), fields
    records = team.store.call(lambda p: p.records())
    # make_store's 12 records, then the two files' 2 rows each
    assert len(records) == len(TITLES) + 4
    assert records.title.tolist()[-2:] == ["Stem cells for the femoral head", "Knee tendon repair"]
    assert records.year.tolist()[-2:] == [2019, 2020]
    assert [a for a, _ in _trail(team, "records.import")][-2:] == ["own", "own"]


def test_exports_take_the_clis_filters(team):
    import csv
    import io

    owner = team.join("own", "owner")
    team.join("ann", "reviewer")
    base = f"/p/{team.slug}"
    rid, _ = team.decide("ann", "include")
    team.decide("ann", "exclude", "wrong design")

    def rows(path: str) -> list[dict[str, str]]:
        r = owner.get(base + path)
        assert r.status_code == 200, r.text
        return list(csv.DictReader(io.StringIO(r.text)))

    # without a reviewer: the records nobody decided; with one: those that reviewer did not
    assert len(rows("/export/pending.csv")) == len(TITLES) - 2
    assert len(rows("/export/pending.csv?reviewer=bob")) == len(TITLES)
    assert [int(x["record_id"]) for x in rows("/export/pending.csv?stage=full-text")] == [rid]
    assert len(rows("/export/screening.csv?stage=title-abstract")) == 2
    assert rows("/export/screening.csv?stage=full-text") == []
    trail = rows("/export/audit.csv?actor=ann&action=screening.")
    assert [x["action"] for x in trail] == ["screening.decide", "screening.decide"]
    assert '"decision": "include"' in trail[0]["detail"]
    assert rows("/export/audit.csv?actor=nobody") == []
    # records still open: the included record waits for a second reviewer
    open_ = rows("/export/unfinished.csv")
    assert rid in [int(x["record_id"]) for x in open_]
    reviewer = team.clients["ann"]
    assert reviewer.get(f"{base}/export/unfinished.csv").status_code == 403


def test_reasons_and_design_filter_are_audited_once_under_the_member(team):
    owner = team.join("own", "owner")
    base = f"/p/{team.slug}"
    token = csrf_of(owner.get(f"{base}/").text)
    before = len(audit.trail(team.store.db))
    owner.post(f"{base}/reasons", data={"csrf_token": token, "title_abstract": "no trial", "full_text": "no data"})
    owner.post(f"{base}/design-filter", data={"csrf_token": token})
    new = audit.trail(team.store.db).iloc[before:]
    # the store functions write the rows (actor=), the pages add none of their own
    assert set(new.actor) == {"own"}
    assert new.action.tolist()[:2] == ["screening.reasons", "screening.reasons"]
    assert set(new.action.tolist()[2:]) <= {"screening.flag"}
    assert team.store.call(scr.reasons, "full-text") == ["no data"]


def test_progress_takes_the_stopping_rule_targets(team):
    from web_helpers import field

    owner = team.join("own", "owner")
    c = team.join("ann", "reviewer")
    base = f"/p/{team.slug}"
    for _ in range(3):  # three records of the random sample, as `metakit screen --random`
        page = c.get(f"{base}/screen/title-abstract?mode=random").text
        r = c.post(f"{base}/screen/title-abstract/decide", data={
            "csrf_token": csrf_of(page), "record_id": field(page, "record_id"), "mode": "random",
            "request_id": field(page, "request_id"), "decision": "exclude", "reason": ""}, follow_redirects=False)
        assert r.status_code == 303
    default = owner.get(f"{base}/progress")
    assert default.status_code == 200 and "recall &lt; 0.95" in default.text
    chosen = owner.get(f"{base}/progress?recall=0.8&confidence=0.9")
    assert chosen.status_code == 200 and "recall &lt; 0.8" in chosen.text and "recall &lt; 0.95" not in chosen.text
    assert 'name="confidence" inputmode="decimal" value="0.9"' in chosen.text
    bad = owner.get(f"{base}/progress?recall=95")
    assert bad.status_code == 400 and "recall must be a proportion between 0 and 1" in bad.text


def test_flag_removes_records_for_a_stated_reason(team):
    owner = team.join("own", "owner")
    team.join("rev", "reviewer")
    base = f"/p/{team.slug}"
    token = csrf_of(owner.get(f"{base}/removals").text)
    r = owner.post(f"{base}/removals/flag", data={"csrf_token": token, "record_ids": "3, 4 3", "rule": "retracted"})
    assert r.status_code == 200 and "2 record(s) removed before screening (retracted); 0 already removed" in r.text
    assert re.findall(r'name="record_id" value="(\d+)"', r.text) == ["3", "4"]
    with team.store.db.read() as c:
        rows = c.execute(sa.text("SELECT record_id, kind, rule FROM automation_flags WHERE undone = 0 "
                                 "ORDER BY record_id")).all()
    assert [tuple(x) for x in rows] == [(3, "other", "retracted"), (4, "other", "retracted")]
    assert f"0 of {len(TITLES) - 2} records" in team.screen("rev")
    assert _trail(team, "screening.flag") == [("own", "record:3"), ("own", "record:4")]
    again = owner.post(f"{base}/removals/flag", data={"csrf_token": token, "record_ids": "4", "rule": "retracted"})
    assert "0 record(s) removed before screening (retracted); 1 already removed" in again.text
    for data, words in (({"record_ids": "99", "rule": "x"}, "no such record"),
                        ({"record_ids": "two", "rule": "x"}, "record numbers are whole numbers"),
                        ({"record_ids": "5", "rule": " "}, "why they are removed")):
        bad = owner.post(f"{base}/removals/flag", data={"csrf_token": token, **data})
        assert bad.status_code == 400 and words in html.unescape(bad.text), data
    with team.store.db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM automation_flags")).scalar() == 2


def test_not_retrieved_on_the_screening_page_keeps_the_study_link(team):
    from web_helpers import post_decision

    owner = team.join("own", "owner")
    ann = team.join("ann", "reviewer")
    base = f"/p/{team.slug}"
    post_decision(team, "ann", 1, "include")
    owner.post(f"{base}/reports", data={"csrf_token": csrf_of(owner.get(f"{base}/reports").text), "record_id": "1",
                                        "retrieved": "yes", "study_id": "Mao 2015"})
    page = team.screen("ann", "full-text")
    r = ann.post(f"{base}/screen/full-text/not-retrieved", data={"csrf_token": csrf_of(page), "record_id": 1},
                 follow_redirects=False)
    assert r.status_code == 303
    with team.store.db.read() as c:
        row = c.execute(sa.text("SELECT retrieved, study_id FROM reports WHERE record_id = 1")).one()
    assert tuple(row) == (0, "Mao 2015")
    # one audit row per write, under the member who made it (as `metakit screen not-retrieved`)
    assert _trail(team, "screening.report") == [("own", "record:1"), ("ann", "record:1")]
