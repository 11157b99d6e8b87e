"""A review.db written by the code before the store moved to ``review.database`` opens,
reads as it was written, and takes new writes (data/legacy_review.db, made by
data/make_legacy_review.py at commit f1d8a72).

The expected values are counted from the script that wrote the file, not read back from
the code under test: 13 records (PubMed 5, Scopus 5, WoS 3); the dedup run removed 6 (of
1), 7 (of 2), 8 (of 3) and 11 (of 10), and 8 was then kept by hand, so 3 duplicates are
removed and the screening pool is 1, 2, 3, 4, 5, 8, 9, 10, 12, 13. Alice excluded the ids
divisible by 3 (3, 9, 12), included the rest; Bob (every pool record but 13) excluded the
ids divisible by 4 (4, 8, 12), then undid 12; Carol adjudicated 3 as include; 13 was
flagged 'other'; record 1 has a report of study S1 and Alice's full-text inclusion.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from metakit.review import audit
from metakit.review import screening as scr
from metakit.review.store import Project

LEGACY = Path(__file__).parent / "data" / "legacy_review.db"


@pytest.fixture
def legacy(tmp_path) -> Path:
    path = tmp_path / "review.db"
    shutil.copy(LEGACY, path)
    return path


def test_legacy_store_reads_as_written(legacy):
    with Project.open(legacy) as p:
        applied = p.db.applied()
        assert {1, 2, 100, 101, 200} <= set(applied)
        assert p.counts() == {"identified": 13,
                              "identified_by_source": {"PubMed": 5, "Scopus": 5, "WoS": 3},
                              "duplicates_removed": 3, "after_duplicates": 10, "imports": 3,
                              "import_errors": 0}
        assert p.records().loc[[6, 7, 11], "duplicate_of"].tolist() == [1, 2, 10]
        dec = p.decisions()
        assert dec[dec.kind == "distinct"][["record_id", "duplicate_of"]].values.tolist() == [[8, 3]]
        assert scr.reasons(p, "full-text") == ["wrong population", "wrong design", "no outcome"]
        every = scr.decisions(p, include_undone=True)
        assert len(every) == 10 + 9 + 1 + 1
        assert every.undone.sum() == 1 and every.request_id.isna().all()
        assert scr.conflicts(p, "title-abstract").index.tolist() == [4, 8, 9]
        assert scr._screening_pool(p) == [1, 2, 3, 4, 5, 8, 9, 10, 12]
        assert scr.study_of(p, 1) == "S1"
        with p.db.read() as c:
            assert c.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_legacy_store_takes_new_writes(legacy, tmp_path):
    with Project.open(legacy) as p:
        first = scr.record_decision(p, 12, "title-abstract", "bob", "include", request_id="r-1")
        assert scr.record_decision(p, 12, "title-abstract", "bob", "include",
                                   request_id="r-1") == first
        scr.resolve(p, 4, "title-abstract", "exclude", "wrong population", reviewer="carol")
        assert scr.undo_last(p, "title-abstract", "alice") == 13  # her last decision
        p.override(8, 2, note="same trial after all")
        p.import_records(Path(__file__).parent / "data" / "refs.bib", source="Cochrane")
    with Project.open(legacy) as p:
        # 4 adjudicated; 12: Alice exclude, Bob now include
        assert scr.conflicts(p, "title-abstract").index.tolist() == [8, 9, 12]
        assert 13 not in set(scr.decisions(p, "title-abstract").record_id)
        assert p.records().loc[8, "duplicate_of"] == 2
        assert p.counts()["imports"] == 4
        trail = audit.trail(p.db)
        assert trail.action.tolist() == ["screening.decide", "screening.resolve",
                                         "screening.undo", "dedup.override", "records.import"]
        assert trail.actor.tolist()[:3] == ["bob", "carol", "alice"]
        assert trail.actor.iloc[3].startswith("cli:")
