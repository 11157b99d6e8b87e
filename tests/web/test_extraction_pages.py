"""The extraction and RoB 2 pages: every page and action, access control, blinding, CSRF,
idempotent posts, and the exported sheets read back (meta's effect sizes, metakit.rob).

Figures: THA counts of Mao 2015 (3/48 vs 9/41, examples/data/onfh_tha.csv); RoB 2 answers: the
ILLUSTRATIVE Mao 2015 row of examples/stem-cell-onfh/rob2.csv, judged by hand in
tests/review/test_rob_assessment.py (D1 Some concerns, others Low, overall Some concerns).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest
from starlette.testclient import TestClient
from web_helpers import csrf_of, field

from metakit.review import extraction as ex
from metakit.review.audit import trail
from metakit.review.studies import add_study

FORM = Path(__file__).parents[1] / "review" / "data" / "extraction_form.yaml"
MAO = {"year": "2015", "allocation": "Randomised", "source": "PMC4376653",
       "THA:e_t": "3", "THA:n_t": "48", "THA:e_c": "9", "THA:n_c": "41"}
ROB = dict(zip("1.1 1.2 1.3 2.1 2.2 2.3 2.6 3.1 4.1 4.2 4.3 5.1 5.2 5.3".split(),
               "Y NI N Y Y N Y Y N N N Y N N".split()))

PAGES = ["/extraction", "/extraction/form", "/extraction/entry?study=Mao%202015",
         "/extraction/compare?study=Mao%202015", "/extraction/export/binary.csv", "/rob",
         "/rob/entry?study=Mao%202015&outcome=THA", "/rob/compare?study=Mao%202015&outcome=THA", "/rob/export.csv"]
ACTIONS = ["/extraction/studies", "/extraction/form", "/extraction/entry", "/extraction/reconcile",
           "/rob/entry", "/rob/judge", "/rob/reconcile"]


@pytest.fixture
def review(team):
    ex.save_form(team.store.db, FORM.read_text(encoding="utf-8"), actor="test")
    add_study(team.store.db, "Mao 2015", actor="test", label="Mao")
    team.join("own", "owner")
    team.join("ana", "reviewer")
    team.join("ben", "reviewer")
    team.join("vic", "viewer")
    return team


def _get(team, who: str, path: str):
    return team.clients[who].get(f"/p/{team.slug}{path}", follow_redirects=False)


def _enter(team, who: str, values: dict[str, str], action: str = "save", request_id: str | None = None):
    page = _get(team, who, "/extraction/entry?study=Mao%202015")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page.text), "study": "Mao 2015", "action": action,
            "request_id": request_id or field(page.text, "request_id")}
    data.update({f"v:{k}": v for k, v in values.items()})
    return team.clients[who].post(f"/p/{team.slug}/extraction/entry", data=data, follow_redirects=False)


def _rob(team, who: str, answers: dict[str, str], action: str = "save"):
    page = _get(team, who, "/rob/entry?study=Mao%202015&outcome=THA")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page.text), "study": "Mao 2015", "outcome": "THA", "action": action,
            "variant": "assignment", "request_id": field(page.text, "request_id")}
    data.update({f"q:{q}": a for q, a in answers.items()})
    return team.clients[who].post(f"/p/{team.slug}/rob/entry", data=data, follow_redirects=False)


def test_anonymous_is_sent_to_login_or_refused(review):
    c = TestClient(review.app)
    for page in PAGES:
        r = c.get(f"/p/{review.slug}{page}", follow_redirects=False)
        assert r.status_code == 303 and "/login?next=" in r.headers["location"], page
    for action in ACTIONS:
        assert c.post(f"/p/{review.slug}{action}", data={"study": "Mao 2015"}).status_code == 401, action


def test_viewer_reads_agreed_data_and_writes_nothing(review):
    assert _get(review, "vic", "/extraction").status_code == 200
    assert _get(review, "vic", "/extraction/export/binary.csv").status_code == 200
    assert _get(review, "vic", "/rob/export.csv").status_code == 200
    for page in ("/extraction/entry?study=Mao%202015", "/extraction/form", "/extraction/compare?study=Mao%202015",
                 "/rob/entry?study=Mao%202015&outcome=THA"):
        assert _get(review, "vic", page).status_code == 403, page
    token = csrf_of(_get(review, "vic", "/extraction").text)
    for action in ACTIONS:
        r = review.clients["vic"].post(f"/p/{review.slug}{action}", data={"csrf_token": token, "study": "Mao 2015",
                                                                          "v:year": "2015", "q:1.1": "Y"})
        assert r.status_code == 403, action
    assert ex.status(review.store.db).submitted.tolist() == [""]


def test_forms_without_or_with_a_forged_csrf_token_are_refused(review):
    c = review.clients["ana"]
    url = f"/p/{review.slug}/extraction/entry"
    assert c.post(url, data={"study": "Mao 2015", "v:year": "2015"}).status_code == 403
    assert c.post(url, data={"study": "Mao 2015", "v:year": "2015", "csrf_token": "x" * 43}).status_code == 403
    other = csrf_of(_get(review, "ben", "/extraction").text)
    assert c.post(url, data={"study": "Mao 2015", "v:year": "2015", "csrf_token": other}).status_code == 403
    assert ex.entry(review.store.db, "Mao 2015", "ana", reader="ana") == {}


def test_blind_entries_compare_reconcile_and_export(review):
    assert _enter(review, "ana", MAO).status_code == 303
    page = _get(review, "ana", "/extraction/entry?study=Mao%202015").text
    assert 'value="PMC4376653"' in page and "hips converted" in page and "years" in page
    # ben sees neither ana's values nor the comparison before both entries are submitted
    assert "PMC4376653" not in _get(review, "ben", "/extraction/entry?study=Mao%202015").text
    assert _get(review, "ben", "/extraction/compare?study=Mao%202015").status_code == 403
    assert _enter(review, "ben", {**MAO, "THA:e_c": "8"}, action="submit").status_code == 303
    assert _get(review, "ben", "/extraction/compare?study=Mao%202015").status_code == 403
    assert _get(review, "own", "/extraction/compare?study=Mao%202015").status_code == 403
    bad = _enter(review, "ana", {"THA:e_t": "50"})
    assert bad.status_code == 400 and "50 is more than n_t = 48" in bad.text
    assert _enter(review, "ana", {}, action="submit").status_code == 303
    page = _get(review, "ben", "/extraction/compare?study=Mao%202015")
    assert page.status_code == 200 and "differs" in page.text and "agree on 6 of 7 values" in page.text
    # a reviewer who is not adjudicator cannot reconcile
    token = csrf_of(page.text)
    data = {"csrf_token": token, "study": "Mao 2015", "c:THA:e_c": "value:9", "request_id": "rec-1"}
    assert review.clients["ben"].post(f"/p/{review.slug}/extraction/reconcile", data=data).status_code == 403
    page = _get(review, "own", "/extraction/compare?study=Mao%202015")
    data["csrf_token"] = csrf_of(page.text)
    missing = review.clients["own"].post(f"/p/{review.slug}/extraction/reconcile",
                                         data={**data, "c:THA:e_c": ""}, follow_redirects=False)
    assert missing.status_code == 400 and "1 discrepancy not settled: THA:e_c" in missing.text
    typed = review.clients["own"].post(f"/p/{review.slug}/extraction/reconcile",
                                       data={**data, "c:THA:e_c": "", "t:THA:e_c": "90", "request_id": "rec-0"})
    assert typed.status_code == 400 and "90 is more than n_c = 41" in typed.text
    for _ in range(2):  # a retried post records once
        r = review.clients["own"].post(f"/p/{review.slug}/extraction/reconcile", data={**data, "n:THA:e_c": "table 2"},
                                       follow_redirects=False)
        assert r.status_code == 303
    assert len(trail(review.store.db, action="extraction.reconcile")) == 1
    csv = _get(review, "vic", "/extraction/export/binary.csv")
    assert csv.text.splitlines() == ["study,year,outcome,e_t,n_t,e_c,n_c,allocation,mean_age,source,certainty",
                                     "Mao,2015,THA,3,48,9,41,Randomised,,PMC4376653,"]
    from metakit.stats.effects import effect_sizes

    es = effect_sizes(pd.read_csv(io.StringIO(csv.text)), "OR")
    assert es.yi[0] == pytest.approx(math.log(3 * 32 / (45 * 9)), rel=1e-12)


def test_owner_edits_the_form_and_adds_studies(review):
    assert _get(review, "ana", "/extraction/form").status_code == 403
    page = _get(review, "own", "/extraction/form")
    assert page.status_code == 200 and "Cell therapy added to core decompression" in page.text
    token = csrf_of(page.text)
    bad = "form: F\nstudy_fields:\n  - {name: x, type: numbr}\n"
    r = review.clients["own"].post(f"/p/{review.slug}/extraction/form", data={"csrf_token": token, "text": bad})
    assert r.status_code == 400 and "line 3" in r.text and "must be one of number" in r.text
    r = review.clients["own"].post(f"/p/{review.slug}/extraction/studies",
                                   data={"csrf_token": token, "study_id": "Sen 2012", "label": "Sen",
                                         "records": "4, 5"}, follow_redirects=False)
    assert r.status_code == 303
    assert "Sen 2012" in _get(review, "vic", "/extraction").text
    # the studies screening included: records 1 and 2 included at full text by two reviewers
    from metakit.review import screening as scr

    for rid in (1, 2):
        for who in ("ana", "ben"):
            review.store.call(scr.record_decision, rid, "full-text", who, "include")
    url = f"/p/{review.slug}/extraction/studies/from-screening"
    assert review.clients["ana"].post(url, data={"csrf_token": csrf_of(_get(review, "ana", "/extraction").text)}
                                      ).status_code == 403
    assert review.clients["own"].post(url, data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert {"record 1", "record 2"} <= set(ex.status(review.store.db).study_id)
    xlsx = _get(review, "vic", "/extraction/export/binary.xlsx")
    assert xlsx.status_code == 200
    header = list(ex.current_form(review.store.db).sheets["binary"])
    assert list(pd.read_excel(io.BytesIO(xlsx.content)).columns) == header
    assert _get(review, "vic", "/extraction/export/binary.txt").status_code == 404


def test_rob_pages(review):
    page = _get(review, "ana", "/rob/entry?study=Mao%202015&outcome=THA")
    assert "1.1 Was the allocation sequence random?" in page.text
    live = review.clients["ana"].post(f"/p/{review.slug}/rob/judge", headers={"HX-Request": "true",
                                      "X-CSRF-Token": csrf_of(page.text)},
                                      data={"variant": "assignment", "q:1.1": "Y", "q:1.2": "NI", "q:1.3": "N"})
    assert live.status_code == 200 and "<th scope=\"row\">D1</th><td>Some concerns</td>" in live.text
    assert "<th scope=\"row\">D2</th><td>pending" in live.text
    live = review.clients["ana"].post(f"/p/{review.slug}/rob/judge", headers={"X-CSRF-Token": csrf_of(page.text)},
                                      data={"variant": "assignment", "q:1.1": "Y", "q:1.2": "NI", "q:1.3": "N",
                                            "q:D1": "high"})
    assert "<th scope=\"row\">D1</th><td>High</td>" in live.text
    assert review.clients["vic"].post(f"/p/{review.slug}/rob/judge", headers={"X-CSRF-Token": "x"},
                                      data={"q:1.1": "Y"}).status_code == 403
    assert _rob(review, "ana", ROB, action="submit").status_code == 303
    assert _get(review, "ben", "/rob/compare?study=Mao%202015&outcome=THA").status_code == 403
    assert _rob(review, "ben", {**ROB, "1.2": "Y"}, action="submit").status_code == 303
    page = _get(review, "own", "/rob/compare?study=Mao%202015&outcome=THA")
    assert page.status_code == 200 and "differs" in page.text
    reconcile = {"csrf_token": csrf_of(page.text), "study": "Mao 2015", "outcome": "THA", "c:1.2": "NI",
                 "n:1.2": "not reported"}
    r = review.clients["own"].post(f"/p/{review.slug}/rob/reconcile", data={**reconcile, "c:D5": "High"})
    assert r.status_code == 400 and "overrides the algorithm&#39;s &#39;Low&#39; for D5: give a reason" in r.text
    r = review.clients["own"].post(f"/p/{review.slug}/rob/reconcile", data=reconcile, follow_redirects=False)
    assert r.status_code == 303
    text = _get(review, "vic", "/rob/export.csv").text
    # the same sheet as .xlsx (as `metakit extract rob export -o rob2.xlsx`)
    xlsx = _get(review, "vic", "/rob/export.xlsx")
    assert xlsx.status_code == 200
    pd.testing.assert_frame_equal(pd.read_excel(io.BytesIO(xlsx.content), dtype=str).fillna(""),
                                  pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False))
    assert _get(review, "vic", "/rob/export.txt").status_code == 404
    from metakit.rob import from_frame

    table = from_frame(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False))
    a = table.assessment("Mao", "THA")
    assert (a.domains["D1"], a.domains["D2"], a.overall) == ("Some concerns", "Low", "Some concerns")
    assert "Mao 2015" in _get(review, "vic", "/rob").text
