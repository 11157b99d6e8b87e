#!/bin/sh
# Interleaved runs of bench_store_backends.py: the code before the store port (a
# checkout of commit f1d8a72 under $OLD), this tree on SQLite, this tree on PostgreSQL
# ($PG, e.g. postgresql://metakit:metakit@127.0.0.1:5432/metakit_test), $REPEAT times.
# Usage: OLD=/tmp/old PG=postgresql://... sh benchmarks/bench_store_backends.sh OUT.jsonl
set -e
OUT=${1:-store_backends.jsonl}
PY=${PYTHON:-python}
HERE=$(dirname "$0")
for i in $(seq "${REPEAT:-2}"); do
    PYTHONPATH="$OLD/src" "$PY" "$HERE/bench_store_backends.py" --label main-sqlite --out "$OUT"
    PYTHONPATH="$HERE/../src" "$PY" "$HERE/bench_store_backends.py" --label sqlite --out "$OUT"
    PYTHONPATH="$HERE/../src" "$PY" "$HERE/bench_store_backends.py" --label postgresql \
        --store "$PG" --out "$OUT"
done
