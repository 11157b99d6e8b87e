"""Write ``legacy_review.db``: a review store as metakit wrote it before the store moved to
``metakit.review.database`` (commit f1d8a72: rollback journal, migrations 1, 2 and 100).

Run once, with that commit's code, from the repository root::

    git worktree add /tmp/old f1d8a72
    PYTHONPATH=/tmp/old/src python tests/review/data/make_legacy_review.py

The file is committed; ``tests/review/test_legacy_store.py`` checks that the current code
reads it and writes to it. Time stamps are fixed, except the undo and adjudication times
(written by the old code as "now").
"""

from pathlib import Path

from metakit.review import screening as s
from metakit.review.store import Project

HERE = Path(__file__).parent
OUT = HERE / "legacy_review.db"

OUT.unlink(missing_ok=True)
with Project.open(OUT) as p:
    for name, source in (("pubmed.nbib", "PubMed"), ("scopus.ris", "Scopus"), ("wos.ris", "WoS")):
        p.import_records(HERE / name, source=source)
    p.dedup()
    p.override(8, None, note="comment, not the trial")
    s.define_reasons(p, "title-abstract", ["wrong population", "wrong design"])
    s.define_reasons(p, "full-text", ["wrong population", "wrong design", "no outcome"])
    pool = s._screening_pool(p)
    for rid in pool:
        s.record_decision(p, rid, "title-abstract", "alice", "include" if rid % 3 else "exclude",
                          None if rid % 3 else "wrong design",
                          decided_at="2026-01-05T10:00:00+00:00")
    for rid in pool[:-1]:
        s.record_decision(p, rid, "title-abstract", "bob", "include" if rid % 4 else "exclude",
                          None if rid % 4 else "wrong population",
                          decided_at="2026-01-06T10:00:00+00:00")
    s.undo_last(p, "title-abstract", "bob")
    s.resolve(p, 3, "title-abstract", "include", reviewer="carol")
    s.flag_records(p, [(pool[-1], "retraction notice", "title")], kind="other")
    s.set_report(p, 1, retrieved=True, study_id="S1", location="pdf/1.pdf")
    s.record_decision(p, 1, "full-text", "alice", "include",
                      decided_at="2026-01-07T10:00:00+00:00")
