"""The prioritised next record for each reviewer, with the model refitted off the request path.

One :class:`StageQueue` per served store and stage holds the pool, the records to show,
each reviewer's decided records and the current ranking. A decision updates them in
memory (after the store has it) and answers at once; when the decisions since the last
fit reach :func:`metakit.review.automation.refit_interval` (the cadence of the terminal
screener, :class:`metakit.review.session.ScreeningSession`), the model is refitted on a
background thread on a snapshot of the labels, and the new ranking replaces the old one
when it is ready. So no request waits for a fit: a request costs a set look-up and a scan
of the ranking. A fit holds the interpreter lock for most of its time, so the fitter rests
for :data:`REST` times the last fit's duration before the next one: when many reviewers
decide at once (20 reviewers label the pool's 1,200 records in minutes, and the cadence
then asks for a fit every 24 decisions) fitting takes at most a fifth of the server's
time and the requests the rest; in a reviewer's ordinary pace the rest (milliseconds) is
shorter than the cadence and changes nothing.

The ranking is the team's (one model trained on every reviewer's latest decisions and the
resolved ones), and each reviewer gets the best-ranked record they have not decided:
with dual screening both reviewers meet the likely inclusions first, each blind to the
other's decision.

The updating methods (:meth:`StageQueue.decided`, :meth:`StageQueue.undone`) run on the
store's worker thread (:meth:`metakit.web.stores.ProjectStore.run`), which orders them as
the writes; the reading ones (:meth:`StageQueue.next_for`, :meth:`StageQueue.record`,
:meth:`StageQueue.progress`) may run on any thread: the ranking is replaced by one
assignment and a reviewer's decided set changes by single additions and removals, so a
reader sees the state before or after an update, never a broken one.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["REST", "StageQueue"]

#: The fitter rests this many times the last fit's duration before the next fit.
REST = 4.0



def _first_undecided(order: list[int], done: set[int], skipped: frozenset[int] | set[int]) -> int | None:
    """The first record of ``order`` not in ``done``; skipped records only when nothing else is left."""
    later = None
    for rid in order:
        if rid in done:
            continue
        if rid in skipped:
            later = rid if later is None else later
            continue
        return rid
    return later

class StageQueue:
    """The screening queue of one stage of one store (see the module docstring).

    Parameters
    ----------
    project
        The open store (called on its worker thread).
    stage
        ``title-abstract`` or ``full-text``.
    prioritise
        Rank by the model (title/abstract only); else id order.
    """

    def __init__(self, project: Any, stage: str, *, prioritise: bool = True, model: str | None = None) -> None:
        from metakit.review import screening as scr
        from metakit.review.session import ScreeningSession

        base = ScreeningSession(project, stage, reviewer="", prioritise=False)
        self.stage = base.stage
        self.pool: list[int] = list(base.pool)
        self._in_pool = set(self.pool)
        self._base = base
        base.record_frame()
        self.labels: dict[int, int] = dict(base.labels)
        self.order: list[int] = list(self.pool)
        self._record_order: list[int] = sorted(self.pool)
        self.prioritise = prioritise and self.stage == "title-abstract"
        self.model = model
        self.n_refits = 0
        self.version = 0
        self._since = 1 << 30
        self._done: dict[str, set[int]] = {}
        self._random: dict[str, list[int]] = {}
        d = scr.decisions(project, self.stage)
        d = d[d.adjudication == 0]
        for reviewer, ids in d.groupby("reviewer").record_id:
            self._done[str(reviewer)] = set(int(i) for i in ids) & self._in_pool
        self._features: Any = None
        self._fitting: Future | None = None
        self._fitter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metakit-rank")
        self._lock = threading.Lock()
        self._rested_at = 0.0  # time.monotonic() before which no new fit starts
        if self.prioritise:
            # the TF-IDF features take seconds for a large pool: start them now, off the
            # request path, rather than at the first refit
            self._fitting = self._fitter.submit(self._ensure_features)
        self._maybe_refit()

    # ------------------------------------------------------------------ reading
    def done(self, reviewer: str) -> set[int]:
        """Records of the pool this reviewer has decided."""
        return self._done.setdefault(reviewer, set())

    def next_for(self, reviewer: str, skipped: frozenset[int] | set[int] = frozenset()) -> int | None:
        """The best-ranked record the reviewer has not decided (skipped ones last)."""
        return _first_undecided(self.order, self.done(reviewer), skipped)

    def next_in_order(self, reviewer: str, skipped: frozenset[int] | set[int] = frozenset()) -> int | None:
        """The reviewer's next undecided record in record order (no prioritisation)."""
        return _first_undecided(self._record_order, self.done(reviewer), skipped)

    def next_random(self, reviewer: str, skipped: frozenset[int] | set[int] = frozenset()) -> int | None:
        """The next record of the reviewer's random order (random-sampling mode).

        Each reviewer's order is a permutation of the pool drawn once, seeded by the
        reviewer's name, so a reload or a restart continues the same sample.
        """
        order = self._random.get(reviewer)
        if order is None:
            seed = int.from_bytes(hashlib.sha256(f"{self.stage}:{reviewer}".encode()).digest()[:8], "big")
            order = [self.pool[k] for k in np.random.default_rng(seed).permutation(len(self.pool))]
            self._random[reviewer] = order
        return _first_undecided(order, self.done(reviewer), skipped)

    def record(self, record_id: int) -> dict[str, Any]:
        """The record's fields to show (authors decoded)."""
        rec = self._base.record_frame().loc[record_id].to_dict()
        for key in ("authors", "keywords"):
            value = rec.get(key)
            rec[key] = json.loads(value) if isinstance(value, str) else []
        rec = {k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()}
        rec["id"] = int(record_id)
        year = rec.get("year")
        parts = ["; ".join(rec["authors"]), "" if year is None else str(int(year)), rec.get("journal") or "",
                 f"record {record_id}", f"doi {rec['doi']}" if rec.get("doi") else ""]
        rec["byline"] = " · ".join(p for p in parts if p)
        return rec

    def __contains__(self, record_id: int) -> bool:
        return record_id in self._in_pool

    def progress(self, reviewer: str) -> tuple[int, int]:
        """(records decided by the reviewer, records in the pool)."""
        return len(self.done(reviewer)), len(self.pool)

    # ----------------------------------------------------------------- updating
    def decided(self, reviewer: str, record_id: int, decision: str) -> None:
        """Take a decision the store has recorded into the queue and the labels."""
        if record_id not in self._in_pool:
            return
        self.done(reviewer).add(record_id)
        self.labels[record_id] = int(decision != "exclude")
        self._since += 1
        self._maybe_refit()

    def undone(self, reviewer: str, record_id: int) -> None:
        """Take an undone decision back."""
        self.done(reviewer).discard(record_id)

    def _maybe_refit(self) -> None:
        from metakit.review.automation import refit_interval

        if not self.prioritise or len(set(self.labels.values())) < 2:
            return
        if self._since < refit_interval(len(self.labels)) or time.monotonic() < self._rested_at:
            return
        with self._lock:
            if self._fitting is not None and not self._fitting.done():
                return
            self._since = 0
            self._fitting = self._fitter.submit(self._refit, dict(self.labels))

    def _ensure_features(self) -> bool:
        from metakit.review.text_features import record_features

        if self._features is None:
            try:
                recs = self._base.record_frame()
                self._features = record_features(recs.title, recs.abstract)
            except ImportError:
                self.prioritise = False
                return False
        return True

    def _refit(self, labels: dict[int, int]) -> None:
        from metakit.review.automation import DEFAULT_MODEL, _scores

        if not self._ensure_features():
            return
        started = time.monotonic()
        ids = np.fromiter(labels, dtype=np.int64, count=len(labels))
        y = np.fromiter(labels.values(), dtype=np.int64, count=len(labels))
        pool = np.asarray(self.pool, dtype=np.int64)
        rows = np.searchsorted(pool, ids)
        scores = _scores(self._features, rows, y, self.model or DEFAULT_MODEL)
        # one assignment: a request reads the old ranking or the new one, never a mix
        self.order = pool[np.argsort(-scores, kind="stable")].tolist()
        self.n_refits += 1
        done = time.monotonic()
        self._rested_at = done + REST * (done - started)

    def refit_now(self) -> None:
        """Wait for the running fit, if any (tests and benchmarks)."""
        with self._lock:
            fut = self._fitting
        if fut is not None:
            fut.result()

    def close(self) -> None:
        """Stop the background fitter (a fit under way finishes on its own; nobody waits)."""
        self._fitter.shutdown(wait=False, cancel_futures=True)
