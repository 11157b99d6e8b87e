"""The incremental screening session: order, undo, skip, random sampling."""

from __future__ import annotations

import pytest

from metakit.review import screening as scr
from metakit.review.session import ScreeningSession
from metakit.review.store import Project


def _store(path, n=6):
    p = Project.open(path)
    texts = ["stem cells hip necrosis", "knee tendon repair", "stem cells femoral head",
             "shoulder tendon tear", "bone marrow cells hip", "ankle tendon surgery"]
    p.add_import([{"title": texts[i % 6]} for i in range(n)], file="x.ris",
                 source_db="MEDLINE", format="ris")
    return p


def test_session_order_undo_skip_and_resume(database_url, tmp_path):
    with _store(database_url) as p:
        s = ScreeningSession(p, "title-abstract", "ann", prioritise=False)
        assert s.next() == 1
        s.decide(1, "include")
        s.skip(2)
        assert s.next() == 3
        assert s.undo() == 1 and s.next() == 1
        s.decide(1, "exclude")
        assert str(s.progress()) == "1/6"
        # a new session reads what was stored
        s2 = ScreeningSession(p, "title-abstract", "ann", prioritise=False)
        assert s2.next() == 2 and str(s2.progress()) == "1/6"
        assert scr.decisions(p).decision.tolist() == ["exclude"]


def test_prioritised_session_puts_similar_records_first(database_url, tmp_path):
    pytest.importorskip("sklearn")
    with _store(database_url, n=12) as p:
        s = ScreeningSession(p, "title-abstract", "ann", retrain_every=1)
        s.decide(1, "include")      # stem cells hip necrosis
        s.decide(2, "exclude")      # knee tendon repair
        # the stem-cell / hip records (3, 5, 7, 9, 11) come before the tendon ones
        nxt = s.next()
        assert nxt in (3, 5, 7, 9, 11)


def test_random_mode_marks_the_sample(database_url, tmp_path):
    with _store(database_url) as p:
        s = ScreeningSession(p, "title-abstract", "ann", random=True, seed=3)
        seen = []
        while (rid := s.next()) is not None:
            seen.append(rid)
            s.decide(rid, "exclude")
        assert sorted(seen) == [1, 2, 3, 4, 5, 6] and seen != [1, 2, 3, 4, 5, 6]
        assert set(scr.decisions(p).origin) == {"random-sample"}
