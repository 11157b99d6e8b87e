"""The screening queue's fitter rests between fits, so a burst of decisions from many
reviewers cannot keep the model fitting and starve the requests (web/queue.py)."""

from __future__ import annotations

import types

from web_helpers import make_store

from metakit.web import queue as queue_mod


def test_no_fit_starts_while_the_fitter_rests(database_url, monkeypatch):
    from metakit.review.store import Project

    titles = [f"Stem cell therapy for femoral head necrosis {i}" if i % 2 else f"Knee arthroplasty outcome {i}"
              for i in range(40)]
    p = Project.open(make_store(database_url, titles))
    clock = types.SimpleNamespace(now=1000.0)
    monkeypatch.setattr(queue_mod, "time", types.SimpleNamespace(monotonic=lambda: clock.now))
    q = queue_mod.StageQueue(p, "title-abstract")
    try:
        q.refit_now()
        q.decided("ann", 2, "include")
        q.decided("ann", 1, "exclude")  # two classes: the first fit
        q.refit_now()
        assert q.n_refits == 1
        # the fit took no time on the frozen clock, so make the rest explicit: a fit of 1 s
        q._rested_at = clock.now + queue_mod.REST * 1.0
        q.decided("ann", 4, "include")  # the cadence (one fit a decision under 100 labels) asks for a fit
        q.refit_now()
        assert q.n_refits == 1  # resting
        clock.now += queue_mod.REST * 1.0 + 0.001
        q.decided("ann", 3, "exclude")
        q.refit_now()
        assert q.n_refits == 2  # rested: the labels of both decisions are in this fit
    finally:
        q.close()
        p.close()
