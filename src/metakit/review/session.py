"""An incremental screening session: the next record without re-reading the store.

:class:`ScreeningSession` reads the pool, the records and the decisions once, keeps the
reviewer's progress and the training labels in memory, and writes each decision in its
own transaction (so a crash loses nothing confirmed). The relevance model
(:func:`metakit.review.automation.rank_records`) is refitted on the cadence of
:func:`metakit.review.automation.refit_interval` (the one the simulations use) on the
features computed once for the pool; between refits the next record is the next in
the last ranking. In random-sampling mode the records come in an order
drawn at random and the decisions are marked ``random-sample``, the sample that the
statistical stopping rule (:mod:`metakit.review.stopping`) needs.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import numpy as np
import pandas as pd

from metakit.review import screening as scr
from metakit.review.store import Project

__all__ = ["ScreeningSession"]


class ScreeningSession:
    """One reviewer screening one stage.

    Parameters
    ----------
    project
        The open store.
    stage, reviewer
        The stage and who screens.
    prioritise
        Rank title/abstract records by the model (else id order).
    retrain_every
        Decisions between two refits of the model; None for
        :func:`metakit.review.automation.refit_interval`.
    random
        Random-sampling mode (for the statistical stopping rule); overrides
        ``prioritise``.
    seed
        Seed of the random order.

    Examples
    --------
    >>> from metakit.review.store import Project
    >>> p = Project.open("sqlite://")
    >>> _ = p.add_import([{"title": f"Trial {i}"} for i in range(3)], file="x.ris",
    ...                  source_db="MEDLINE", format="ris")
    >>> s = ScreeningSession(p, "title-abstract", "ann", prioritise=False)
    >>> s.next()
    1
    >>> _ = s.decide(1, "include"); s.next(), str(s.progress())
    (2, '1/3')
    """

    def __init__(self, project: Project, stage: str, reviewer: str, *,
                 prioritise: bool = True, retrain_every: int | None = None,
                 random: bool = False,
                 seed: int | None = None, model: str | None = None) -> None:
        self.project = project
        self.stage = scr._stage(stage)
        self.reviewer = reviewer
        self.random = random
        self.prioritise = prioritise and not random and self.stage == "title-abstract"
        self.retrain_every = retrain_every
        self.n_refits = 0
        self.model = model
        self.pool = (scr._screening_pool(project) if self.stage == "title-abstract"
                     else scr._full_text_pool(project))
        self._row = {rid: k for k, rid in enumerate(self.pool)}
        # the pool is in id order: positions of ids by binary search
        self._pool_ids = np.asarray(self.pool, dtype=np.int64)
        self._pool_pos = np.arange(len(self.pool))
        self.done: set[int] = {r for r in scr._done(project, self.stage, reviewer)
                               if r in self._row}
        self._done_mask = np.zeros(len(self.pool), dtype=bool)
        self._done_mask[[self._row[r] for r in self.done]] = True
        finals = scr.final_decisions(project, self.stage)
        known = finals[finals.final.isin(["forward", "include", "exclude"])]
        self.labels: dict[int, int] = {int(i): int(f != "exclude")
                                       for i, f in known.final.items() if i in self._row}
        self.skipped: set[int] = set()
        self._features: Any = None
        self._since = 1 << 30     # rank before the first record
        if random:
            rng = np.random.default_rng(seed)
            self._order = [self.pool[k] for k in rng.permutation(len(self.pool))]
        else:
            self._order = list(self.pool)
        self._pos = 0
        self._records: pd.DataFrame | None = None

    # ----------------------------------------------------------------- ranking
    def _interval(self) -> int:
        from metakit.review.automation import refit_interval

        return refit_interval(len(self.labels), self.retrain_every)

    def _rank(self) -> None:
        from metakit.review.automation import DEFAULT_MODEL, _scores

        self._since = 0
        self._pos = 0
        if not self.prioritise or len(set(self.labels.values())) < 2:
            return
        try:
            if self._features is None:
                from metakit.review.text_features import record_features

                recs = self.record_frame()
                self._features = record_features(recs.title, recs.abstract)
                # the store's records and the features live as long as the session: out
                # of the collector's reach, a full collection no longer stalls a key
                # press for 60-110 ms (measured with 20,000 records)
                gc.freeze()
        except ImportError:
            self.prioritise = False
            return
        self.n_refits += 1
        ids = np.fromiter(self.labels, dtype=np.int64, count=len(self.labels))
        y = np.fromiter(self.labels.values(), dtype=np.int64, count=len(self.labels))
        rows = self._pool_pos[np.searchsorted(self._pool_ids, ids)]
        scores = _scores(self._features, rows, y, self.model or DEFAULT_MODEL)
        # every record this reviewer has not decided, including those others decided
        todo = np.flatnonzero(~self._done_mask)
        ranked = todo[np.argsort(-scores[todo], kind="stable")]
        self._order = self._pool_ids[ranked].tolist()

    def record_frame(self) -> pd.DataFrame:
        """The pool's records, read once; JSON fields (authors, raw...) left encoded."""
        if self._records is None:
            # decoding every record's raw export would dominate the session's start
            self._records = self.project.records(decode=False).reindex(self.pool)
        return self._records

    def record(self, record_id: int) -> dict[str, Any]:
        """One record to show: its fields, with the author list decoded."""
        rec = self.record_frame().loc[record_id].to_dict()
        authors = rec.get("authors")
        rec["authors"] = json.loads(authors) if isinstance(authors, str) else []
        rec["id"] = record_id
        return rec

    # ---------------------------------------------------------------- the loop
    def next(self) -> int | None:
        """The next record to screen, or None when none is left."""
        if self.prioritise and self._since >= self._interval():
            self._rank()
        for _ in range(2):
            while self._pos < len(self._order):
                rid = self._order[self._pos]
                if rid not in self.done and rid not in self.skipped:
                    return rid
                self._pos += 1
            if not self.skipped:
                break
            # every other record is decided: offer the skipped ones again
            self.skipped.clear()
            self._pos = 0
        left = [r for r in self.pool if r not in self.done]
        if left:
            self._order, self._pos = left, 0
            return left[0]
        return None

    def decide(self, record_id: int, decision: str, reason: str | None = None, *,
               request_id: str | None = None) -> int:
        """Record a decision (own transaction) and update the session; return its id.

        ``request_id`` as in :func:`metakit.review.screening.record_decision`.
        """
        origin = "random-sample" if self.random else "metakit"
        did = scr.record_decision(self.project, record_id, self.stage, self.reviewer,
                                  decision, reason, origin=origin, request_id=request_id)
        self.done.add(int(record_id))
        self._done_mask[self._row[int(record_id)]] = True
        self.labels[int(record_id)] = int(decision != "exclude")
        self.skipped.discard(int(record_id))
        self._since += 1
        return did

    def skip(self, record_id: int) -> None:
        """Leave a record for later in this session."""
        self.skipped.add(int(record_id))

    def undo(self) -> int | None:
        """Undo the reviewer's latest decision; the record comes next. Returns its id."""
        back = scr.undo_last(self.project, self.stage, self.reviewer)
        if back is None:
            return None
        self.done.discard(back)
        if back in self._row:
            self._done_mask[self._row[back]] = False
        self.labels.pop(back, None)
        self._order.insert(self._pos, back)
        return back

    def progress(self) -> scr.Progress:
        """Records decided by this reviewer out of the pool."""
        return scr.Progress(len(self.done), len(self.pool))
