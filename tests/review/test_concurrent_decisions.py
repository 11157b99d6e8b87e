"""Screening writes under concurrency and retries, on SQLite and PostgreSQL.

8 threads each record 200 decisions on one store (their own reviewer, the same 200
records): every decision is one row (8 x 200 = 1600, counted with COUNT(*)), none lost
and none doubled; each thread also retries every 10th request id, which must return the
first decision and write nothing.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from metakit.errors import DataError
from metakit.review import screening as scr
from metakit.review.audit import audit as audit_table
from metakit.review.tables import screening_decisions as sd

N_THREADS, N_DECISIONS = 8, 200


def _count(store, table=sd) -> int:
    with store.db.read() as c:
        return c.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_eight_threads_lose_and_double_nothing(store):
    store.add_import([{"title": f"Trial {i}"} for i in range(N_DECISIONS)], file="x.ris",
                     source_db="MEDLINE", format="ris")
    errors: list[BaseException] = []
    replays: dict[str, tuple[int, int]] = {}
    start = threading.Barrier(N_THREADS)

    def work(k: int) -> None:
        try:
            start.wait()
            for rid in range(1, N_DECISIONS + 1):
                request = f"t{k}-r{rid}"
                did = scr.record_decision(store, rid, "title-abstract", f"rev{k}",
                                          "include" if (rid + k) % 2 else "exclude",
                                          request_id=request)
                if rid % 10 == 0:
                    again = scr.record_decision(store, rid, "title-abstract", f"rev{k}",
                                                "include" if (rid + k) % 2 else "exclude",
                                                request_id=request)
                    replays[request] = (did, again)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _count(store) == N_THREADS * N_DECISIONS
    with store.db.read() as c:
        per = c.execute(sa.select(sd.c.reviewer, sa.func.count(sa.distinct(sd.c.record_id)),
                                  sa.func.count()).group_by(sd.c.reviewer)).all()
    assert sorted(per) == [(f"rev{k}", N_DECISIONS, N_DECISIONS) for k in range(N_THREADS)]
    assert len(replays) == N_THREADS * N_DECISIONS // 10
    assert all(did == again for did, again in replays.values())
    # one audit row per decision written, none for the replays
    assert _count(store, audit_table) == N_THREADS * N_DECISIONS + 1  # + the import


def test_same_request_from_two_threads_is_written_once(store):
    store.add_import([{"title": "Trial"}], file="x.ris", source_db="MEDLINE", format="ris")
    got: list[int] = []
    start = threading.Barrier(N_THREADS)

    def work() -> None:
        start.wait()
        got.append(scr.record_decision(store, 1, "title-abstract", "ann", "include",
                                       request_id="form-42"))

    threads = [threading.Thread(target=work) for _ in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == N_THREADS and len(set(got)) == 1
    assert _count(store) == 1


def test_reused_request_id_with_other_content_is_refused(store):
    store.add_import([{"title": "A"}, {"title": "B"}], file="x.ris", source_db="MEDLINE",
                     format="ris")
    scr.define_reasons(store, "title-abstract", ["Not an RCT"])
    first = scr.record_decision(store, 1, "title-abstract", "ann", "exclude", "Not an RCT",
                                request_id="q1")
    assert scr.record_decision(store, 1, "title-abstract", "ann", "exclude", " Not an RCT ",
                               request_id="q1") == first
    with pytest.raises(scr.RequestConflict, match=r"request 'q1' already recorded decision "
                       r"\d+ .*differs in decision, reason"):
        scr.record_decision(store, 1, "title-abstract", "ann", "include", request_id="q1")
    with pytest.raises(scr.RequestConflict, match="differs in record_id"):
        scr.record_decision(store, 2, "title-abstract", "ann", "exclude", "Not an RCT",
                            request_id="q1")
    with pytest.raises(scr.RequestConflict, match="differs in adjudication"):
        scr.resolve(store, 1, "title-abstract", "exclude", "Not an RCT", reviewer="ann",
                    request_id="q1")
    assert _count(store) == 1


def test_retry_after_the_record_was_removed_returns_the_decision(store):
    store.add_import([{"title": "A"}], file="x.ris", source_db="MEDLINE", format="ris")
    first = scr.record_decision(store, 1, "title-abstract", "ann", "maybe", "ignored",
                                request_id="late")
    scr.flag_records(store, [(1, "animal_only", None)])
    assert scr.record_decision(store, 1, "title-abstract", "ann", "maybe",
                               request_id="late") == first
    with pytest.raises(DataError, match="removed before screening"):
        scr.record_decision(store, 1, "title-abstract", "ann", "maybe", request_id="new")
