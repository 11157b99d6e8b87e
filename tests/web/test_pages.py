"""Every page and action of the web app, against counts and numbers worked out by hand."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from web_helpers import TITLES, csrf_of, field, make_store, post_decision

from metakit.review import screening as scr

DATA = Path(__file__).parents[1] / "review" / "data"


def _decisions(team, stage="title-abstract"):
    return team.store.call(scr.decisions, stage)


def test_decide_include_exclude_maybe_and_progress(team):
    team.join("ann", "reviewer")
    seen = []
    for decision, reason in (("include", ""), ("exclude", "wrong design"), ("maybe", "")):
        rid, r = team.decide("ann", decision, reason)
        assert r.status_code == 200
        seen.append(rid)
    assert len(set(seen)) == 3
    assert f"3 of {len(TITLES)} records decided by you" in r.text
    d = _decisions(team).fillna({"reason": ""})
    assert d[["record_id", "reviewer", "decision", "reason"]].values.tolist() == [
        [seen[0], "ann", "include", ""], [seen[1], "ann", "exclude", "wrong design"],
        [seen[2], "ann", "maybe", ""]]


def test_retried_post_records_one_decision(team):
    team.join("ann", "reviewer")
    page = team.screen("ann")
    data = {"csrf_token": csrf_of(page), "record_id": field(page, "record_id"),
            "request_id": field(page, "request_id"), "decision": "include"}
    url = f"/p/{team.slug}/screen/title-abstract/decide"
    for _ in range(3):
        assert team.clients["ann"].post(url, data=data, follow_redirects=False).status_code == 303
    assert len(_decisions(team)) == 1
    # a new form (new request id) on the same record is a new decision, as the CLI's
    data["request_id"] = field(team.screen("ann"), "request_id")
    team.clients["ann"].post(url, data=data)
    assert len(_decisions(team)) == 2


def test_full_text_exclusion_needs_a_reason_and_undo_brings_the_record_back(team):
    team.join("ann", "reviewer")
    team.join("bob", "reviewer")
    first, _ = team.decide("ann", "include")
    post_decision(team, "bob", first, "include")
    page = team.screen("ann", "full-text")
    assert f'name="record_id" value="{first}"' in page  # forwarded by both: in the full-text pool
    rid, r = team.decide("ann", "exclude", "", stage="full-text")
    assert "reason" in r.text and _decisions(team, "full-text").empty
    rid, r = team.decide("ann", "exclude", "wrong population", stage="full-text")
    assert _decisions(team, "full-text").reason.tolist() == ["wrong population"]
    c = team.clients["ann"]
    r = c.post(f"/p/{team.slug}/screen/full-text/undo", data={"csrf_token": csrf_of(page)},
               headers={"HX-Request": "true"})
    assert f'name="record_id" value="{rid}"' in r.text
    assert _decisions(team, "full-text").empty


def test_skip_shows_the_next_record_and_notes_are_kept(team):
    team.join("ann", "reviewer")
    page = team.screen("ann")
    first = int(field(page, "record_id"))
    page2 = team.clients["ann"].get(f"/p/{team.slug}/screen/title-abstract?skip={first}").text
    assert int(field(page2, "record_id")) != first
    rid, _ = team.decide("ann", "maybe", note="check the dose")
    from metakit.web import decisions

    assert decisions.note_for(team.store.db, rid, "title-abstract", "ann") == "check the dose"


def test_highlighted_terms(team):
    team.join("own", "owner")
    team.join("ann", "reviewer")
    token = csrf_of(team.clients["own"].get(f"/p/{team.slug}/").text)
    r = team.clients["own"].post(f"/p/{team.slug}/terms",
                                 data={"csrf_token": token, "include": "femoral head\nstem cell", "exclude": "knee"})
    assert r.status_code == 200
    page = team.screen("ann")
    assert '<mark class="inc">' in page or '<mark class="exc">' in page
    title = re.search(r'<h2 id="card-title">(.*?)</h2>', page).group(1)
    if "Stem" in title:
        assert '<mark class="inc">Stem cell</mark>' in title and '<mark class="inc">femoral head</mark>' in title
    else:
        assert '<mark class="exc">Knee</mark>' in title


def test_conflicts_are_settled_by_the_owner_and_kappa_matches_the_hand_count(team):
    team.join("own", "owner")
    team.join("ann", "reviewer")
    team.join("bob", "reviewer")
    # ten records decided by both: ann includes 1-4, bob includes 1-3 and 5
    for rid in range(1, 11):
        post_decision(team, "ann", rid, "include" if rid <= 4 else "exclude", "" if rid <= 4 else "wrong design")
        post_decision(team, "bob", rid, "include" if rid in (1, 2, 3, 5) else "exclude",
                      "" if rid in (1, 2, 3, 5) else "wrong design")
    # 2x2 table: both include 3, ann only 1, bob only 1, both exclude 5
    # p_o = 8/10; p_e = 0.4*0.4 + 0.6*0.6 = 0.52; kappa = (0.8 - 0.52) / (1 - 0.52) = 0.5833
    page = team.clients["own"].get(f"/p/{team.slug}/progress").text
    assert "ann and bob" in page and "<td>10</td><td>80.0%</td><td>0.583 (" in page
    conflicts = team.clients["own"].get(f"/p/{team.slug}/conflicts/title-abstract").text
    assert sorted(map(int, re.findall(r'name="record_id" value="(\d+)"', conflicts))) == [4, 5]
    r = team.clients["own"].post(f"/p/{team.slug}/conflicts/title-abstract/resolve",
                                 data={"csrf_token": csrf_of(conflicts), "record_id": 4, "decision": "exclude",
                                       "reason": "wrong design"}, follow_redirects=False)
    assert r.status_code == 303
    conflicts = team.clients["own"].get(f"/p/{team.slug}/conflicts/title-abstract").text
    assert re.findall(r'name="record_id" value="(\d+)"', conflicts) == ["5"]
    adj = _decisions(team).query("adjudication == 1")
    assert adj[["record_id", "reviewer", "decision"]].values.tolist() == [[4, "own", "exclude"]]


def test_adjudicator_reviewer_settles_and_plain_reviewer_does_not(team):
    team.join("ann", "reviewer")
    team.join("bob", "reviewer")
    team.join("ada", "reviewer", adjudicator=True)
    post_decision(team, "ann", 1, "include")
    post_decision(team, "bob", 1, "exclude", "wrong design")
    page = team.clients["ada"].get(f"/p/{team.slug}/conflicts/title-abstract").text
    assert re.findall(r'name="record_id" value="(\d+)"', page) == ["1"]
    r = team.clients["ada"].post(f"/p/{team.slug}/conflicts/title-abstract/resolve",
                                 data={"csrf_token": csrf_of(page), "record_id": 1, "decision": "include"},
                                 follow_redirects=False)
    assert r.status_code == 303
    assert _decisions(team).query("adjudication == 1").reviewer.tolist() == ["ada"]


def test_prisma_diagram_and_counts_when_every_record_is_decided(team):
    team.join("own", "owner")
    team.join("ann", "reviewer")
    assert team.clients["own"].get(f"/p/{team.slug}/prisma.svg").status_code == 409
    for rid in range(1, len(TITLES) + 1):
        post_decision(team, "ann", rid, "exclude", "wrong population")
    r = team.clients["own"].get(f"/p/{team.slug}/prisma.svg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert r.text.lstrip().startswith("<?xml") and "<svg" in r.text
    page = team.clients["own"].get(f"/p/{team.slug}/prisma").text
    assert "PRISMA 2020 flow diagram:" in page
    counts = team.clients["own"].get(f"/p/{team.slug}/export/prisma.csv").text
    rows = list(csv.reader(io.StringIO(counts)))
    assert rows[0] and len(rows) > 1
    flat = {r[0]: r for r in rows[1:]}
    assert any(str(len(TITLES)) in r for r in flat.values())


def test_exports_match_the_decisions(team):
    team.join("own", "owner")
    team.join("ann", "reviewer")
    for rid in (1, 2, 3):
        post_decision(team, "ann", rid, "include")
    text = team.clients["own"].get(f"/p/{team.slug}/export/screening.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(int(r["record_id"]), r["reviewer"], r["decision"]) for r in rows] == [
        (1, "ann", "include"), (2, "ann", "include"), (3, "ann", "include")]
    pending = list(csv.DictReader(io.StringIO(team.clients["own"].get(f"/p/{team.slug}/export/pending.csv").text)))
    assert len(pending) == len(TITLES) - 3


def test_upload_a_real_export(team):
    team.join("own", "owner")
    c = team.clients["own"]
    page = c.get(f"/p/{team.slug}/imports").text
    raw = (DATA / "wos_tagged_bom.txt").read_bytes()
    n_records = sum(1 for line in raw.decode("utf-8-sig").splitlines() if line.rstrip() == "ER")
    assert n_records == 3
    r = c.post(f"/p/{team.slug}/imports", data={"csrf_token": csrf_of(page), "source": "Web of Science"},
               files={"file": ("wos_tagged_bom.txt", raw, "text/plain")})
    assert r.status_code == 200, r.text
    counts = team.store.call(lambda p: p.counts())
    assert counts["identified"] == len(TITLES) + n_records
    assert "wos_tagged_bom.txt" in r.text
    r = c.post(f"/p/{team.slug}/imports", data={"csrf_token": csrf_of(page)},
               files={"file": ("wos_tagged_bom.txt", raw, "text/plain")})
    assert r.status_code == 400 and "same content" in r.text
    # the screening pool grows with the import
    team.join("ann", "reviewer")
    assert f"0 of {len(TITLES) + n_records} records" in team.screen("ann")


def test_dedup_review_keep_and_merge(tmp_path):
    from web_helpers import Team

    from metakit.web.app import create_app

    title = "Core decompression with bone marrow concentrate for osteonecrosis of the femoral head"
    hip = "Total hip arthroplasty after failed core decompression: ten-year outcomes of a cohort"
    target = make_store(str(tmp_path / "dd.db"), [title, title + ".", "Unrelated knee study of tendons", hip,
                                                  hip.replace("ten-year", "ten year")])
    app = create_app([target])
    try:
        t = Team(app, "dd")
        c = t.join("own", "owner")
        page = c.get("/p/dd/dedup").text
        c.post("/p/dd/dedup/run", data={"csrf_token": csrf_of(page)})
        page = c.get("/p/dd/dedup").text
        ids = re.findall(r'name="decision_id" value="(\d+)"', page)
        assert len(ids) == 2 and "Removed: record" in page
        r = c.post("/p/dd/dedup/settle", data={"csrf_token": csrf_of(page), "decision_id": ids[0], "action": "keep"},
                   follow_redirects=False)
        assert r.status_code == 303
        r = c.post("/p/dd/dedup/settle", data={"csrf_token": csrf_of(page), "decision_id": ids[1],
                                               "action": "merge"}, follow_redirects=False)
        assert r.status_code == 303
        assert re.findall(r'name="decision_id" value="(\d+)"', c.get("/p/dd/dedup").text) == []
        counts = t.store.call(lambda p: p.counts())
        assert counts["duplicates_removed"] == 1
    finally:
        for s in app.state.stores.values():
            s.close()


def test_team_page_invites_and_removes(team):
    c = team.join("own", "owner")
    page = c.get(f"/p/{team.slug}/team").text
    r = c.post(f"/p/{team.slug}/team/invite", data={"csrf_token": csrf_of(page), "role": "viewer", "days": "3"})
    link = re.search(r'<code class="link">([^<]+)</code>', r.text).group(1)
    assert link.startswith(f"http://testserver/p/{team.slug}/invite/")
    from starlette.testclient import TestClient

    newcomer = TestClient(team.app)
    form = newcomer.get(link.replace("http://testserver", "")).text
    newcomer.post(link.replace("http://testserver", ""), data={"csrf_token": csrf_of(form), "username": "vic",
                                                              "password": "viewer passphrase"})
    assert "vic" in c.get(f"/p/{team.slug}/team").text
    c.post(f"/p/{team.slug}/team/remove", data={"csrf_token": csrf_of(page), "username": "vic"})
    assert newcomer.get(f"/p/{team.slug}/", follow_redirects=False).status_code == 303


def test_every_write_is_in_the_audit_trail(team):
    from metakit.review.audit import trail

    team.join("own", "owner")
    team.join("ann", "reviewer")
    team.join("bob", "reviewer")
    post_decision(team, "ann", 1, "include")
    post_decision(team, "bob", 1, "exclude", "wrong design")
    page = team.clients["own"].get(f"/p/{team.slug}/conflicts/title-abstract").text
    team.clients["own"].post(f"/p/{team.slug}/conflicts/title-abstract/resolve",
                             data={"csrf_token": csrf_of(page), "record_id": 1, "decision": "include"})
    t = trail(team.store.db)
    decided = t.action.isin(["screening.decide", "screening.resolve"])
    acts = t[decided][["actor", "action", "target"]].values.tolist()
    assert acts == [["ann", "screening.decide", "record:1"], ["bob", "screening.decide", "record:1"],
                    ["own", "screening.resolve", "record:1"]]


def test_the_ranking_is_refitted_in_the_background(team):
    team.join("ann", "reviewer")
    team.join("bob", "reviewer")
    # ann labels one stem-cell record in and one knee record out
    post_decision(team, "ann", 1, "include")
    post_decision(team, "ann", 7, "exclude", "wrong population")
    q = team.store.queues["title-abstract"]
    q.refit_now()
    assert q.n_refits >= 1
    # bob, who has decided nothing, is now offered a stem-cell record first
    page = team.screen("bob")
    assert "Stem cell" in re.search(r'<h2 id="card-title">(.*?)</h2>', page).group(1)


def test_kappa_is_hidden_from_a_plain_reviewer(team):
    team.join("ann", "reviewer")
    team.join("bob", "reviewer")
    post_decision(team, "ann", 1, "include")
    post_decision(team, "bob", 1, "include")
    page = team.clients["ann"].get(f"/p/{team.slug}/progress").text
    assert "ann and bob" not in page and "screening is blind" in page
    team.join("vic", "viewer")
    assert "ann and bob" in team.clients["vic"].get(f"/p/{team.slug}/progress").text


def test_owner_sets_reasons_and_runs_the_design_filter(team):
    c = team.join("own", "owner")
    token = csrf_of(c.get(f"/p/{team.slug}/").text)
    c.post(f"/p/{team.slug}/reasons", data={"csrf_token": token, "title_abstract": "animal study\nreview",
                                            "full_text": "no outcome"})
    assert team.store.call(scr.reasons, "title-abstract") == ["animal study", "review"]
    assert team.store.call(scr.reasons, "full-text") == ["no outcome"]
    r = c.post(f"/p/{team.slug}/reasons", data={"csrf_token": token, "title_abstract": "a\na", "full_text": "x"},
               follow_redirects=False)
    assert "distinct" in r.headers["location"].replace("%20", " ")
    r = c.post(f"/p/{team.slug}/design-filter", data={"csrf_token": token})
    assert r.status_code == 200  # none of the test titles is a non-trial design the rules name


def test_report_not_retrieved_leaves_the_full_text_pool(team):
    team.join("ann", "reviewer")
    post_decision(team, "ann", 1, "include")
    page = team.screen("ann", "full-text")
    assert 'name="record_id" value="1"' in page and "Report not retrieved" in page
    r = team.clients["ann"].post(f"/p/{team.slug}/screen/full-text/not-retrieved",
                                 data={"csrf_token": csrf_of(page), "record_id": 1}, follow_redirects=False)
    assert r.status_code == 303
    assert "Nothing left to screen" in team.screen("ann", "full-text")


def test_random_sampling_mode_marks_its_decisions(team):
    team.join("own", "owner")
    team.join("ann", "reviewer")
    c = team.clients["ann"]
    for _ in range(3):
        page = c.get(f"/p/{team.slug}/screen/title-abstract?mode=random").text
        assert "random-sampling mode" in page and 'name="mode" value="random"' in page
        r = c.post(f"/p/{team.slug}/screen/title-abstract/decide",
                   data={"csrf_token": csrf_of(page), "record_id": field(page, "record_id"), "mode": "random",
                         "request_id": field(page, "request_id"), "decision": "exclude", "reason": "wrong design"},
                   follow_redirects=False)
        assert r.headers["location"].endswith("?mode=random")
    d = _decisions(team)
    assert d.origin.tolist() == ["random-sample"] * 3
    # the same reviewer's random order is the same after a reload
    first = field(c.get(f"/p/{team.slug}/screen/title-abstract?mode=random").text, "record_id")
    assert field(c.get(f"/p/{team.slug}/screen/title-abstract?mode=random").text, "record_id") == first
    assert "random-sampling:" in team.clients["own"].get(f"/p/{team.slug}/progress").text


def test_record_order_mode_serves_records_by_number(team):
    """The twin of `metakit screen --no-prioritise`: records 1, 2, 3 ... whatever the ranking."""
    team.join("ann", "reviewer")
    team.join("bob", "reviewer")
    # ann's decisions give the ranking something to learn; bob screens in record order
    post_decision(team, "ann", 7, "include")
    post_decision(team, "ann", 1, "exclude", "wrong design")
    c = team.clients["bob"]
    seen = []
    for _ in range(3):
        page = c.get(f"/p/{team.slug}/screen/title-abstract?mode=order").text
        assert "record order, no prioritisation" in page and 'name="mode" value="order"' in page
        seen.append(int(field(page, "record_id")))
        r = c.post(f"/p/{team.slug}/screen/title-abstract/decide",
                   data={"csrf_token": csrf_of(page), "record_id": seen[-1], "mode": "order",
                         "request_id": field(page, "request_id"), "decision": "include"},
                   follow_redirects=False)
        assert r.headers["location"].endswith("?mode=order")
    assert seen == [1, 2, 3]
    page = c.get(f"/p/{team.slug}/screen/title-abstract?mode=order").text
    undone = c.post(f"/p/{team.slug}/screen/title-abstract/undo", headers={"HX-Request": "true"},
                    data={"csrf_token": csrf_of(page), "mode": "order"}).text
    assert field(undone, "record_id") == "3" and 'name="mode" value="order"' in undone
    d = _decisions(team)
    assert sorted(d[d.reviewer == "bob"].record_id) == [1, 2]
    assert set(d.origin) == {"metakit"}


def test_owner_exports_the_audit_trail(team):
    team.join("own", "owner")
    team.join("ann", "reviewer")
    post_decision(team, "ann", 2, "include")
    rows = list(csv.DictReader(io.StringIO(team.clients["own"].get(f"/p/{team.slug}/export/audit.csv").text)))
    assert [(r["actor"], r["action"], r["target"]) for r in rows if r["action"] == "screening.decide"] == [
        ("ann", "screening.decide", "record:2")]
    assert team.clients["ann"].get(f"/p/{team.slug}/export/audit.csv").status_code == 403


def test_owner_imports_decisions_made_elsewhere(team):
    c = team.join("own", "owner")
    team.join("ann", "reviewer")
    page = c.get(f"/p/{team.slug}/imports").text
    sheet = ("record_id,stage,reviewer,decision,reason\n3,title-abstract,,include,\n"
             "4,title-abstract,,exclude,wrong design\n")
    r = c.post(f"/p/{team.slug}/imports/decisions", data={"csrf_token": csrf_of(page), "reviewer": "carl"},
               files={"file": ("carl.csv", sheet.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    d = _decisions(team)
    assert d[["record_id", "reviewer", "decision"]].values.tolist() == [[3, "carl", "include"], [4, "carl", "exclude"]]
    bad = "record_id,stage,reviewer,decision\n999,title-abstract,carl,include\n"
    r = c.post(f"/p/{team.slug}/imports/decisions", data={"csrf_token": csrf_of(page)},
               files={"file": ("bad.csv", bad.encode(), "text/csv")})
    assert r.status_code == 400 and "999" in r.text and len(_decisions(team)) == 2
