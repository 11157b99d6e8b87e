"""Precision and recall of duplicate pairs on the labelled corpus: metakit and bib-dedupe.

Usage::

    python benchmarks/dedup_labelled/evaluate.py [--n 4000] [--seed 2] [--no-bib-dedupe]

Writes the exports to a temporary folder, imports them into a metakit project (our
readers), deduplicates, and compares the groups with ``truth.csv``. The same parsed
records go to bib-dedupe (``pip install bib-dedupe``; not a metakit dependency):
prep -> block -> match, its ``duplicate`` pairs clustered by connected components
(its ``maybe`` pairs would need a person, so they count as not merged). Both tools'
groups are scored the same way: every pair of records in one group is a predicted
duplicate pair. Results go to ``RESULTS.md`` beside this file (``--write``).

Seeds 1 and 5 were used while writing the rules; report other seeds.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

from metakit.review.store import Project  # noqa: E402


def pairs_of(groups: pd.Series) -> set[tuple[int, int]]:
    """All within-group pairs; ``groups`` maps record id -> group label."""
    out: set[tuple[int, int]] = set()
    for _, ids in groups.groupby(groups):
        members = sorted(ids.index)
        if len(members) > 1:
            out.update(combinations(members, 2))
    return out


def score(pred: set, truth: set) -> dict:
    tp = len(pred & truth)
    return {"pairs_predicted": len(pred), "pairs_true": len(truth), "tp": tp,
            "fp": len(pred - truth), "fn": len(truth - pred),
            "precision": tp / len(pred) if pred else 1.0,
            "recall": tp / len(truth) if truth else 1.0}


def by_category(pred: set, truth: set, category: pd.Series) -> dict:
    """True pairs, missed pairs (FN) and false merges (FP) per corpus category.

    A false merge counts under the category of each of its two records when they
    differ ("conference abstract" pairs are the supplement's never-merge set).
    """
    out: dict[str, dict[str, int]] = {}
    for name, pairs in (("pairs_true", truth), ("fn", truth - pred), ("fp", pred - truth)):
        for a, b in pairs:
            for cat in {category[a], category[b]}:
                out.setdefault(cat, {"pairs_true": 0, "fn": 0, "fp": 0})[name] += 1
    return dict(sorted(out.items()))


def run_metakit(folder: Path) -> tuple[pd.DataFrame, dict, dict]:
    with Project.open(folder / "review.db") as p:
        t0 = time.perf_counter()
        errors = 0
        for name in sorted(v[0] for v in corpus.FILES.values()):
            errors += len(p.import_records(folder / name).errors)
        t1 = time.perf_counter()
        rep = p.dedup()
        t2 = time.perf_counter()
        recs = p.records()
    recs["file"] = [Path(f).name for f in recs["source_file"]]
    keeper = recs["duplicate_of"].fillna(pd.Series(recs.index, index=recs.index)).astype(int)
    timing = {"import_s": t1 - t0, "dedup_s": t2 - t1, "records": len(recs),
              "import_errors": errors, "candidate_pairs": rep.n_candidates}
    return recs, pairs_of(keeper), timing


def run_bib_dedupe(recs: pd.DataFrame, cpu: int) -> tuple[set, dict]:
    import bib_dedupe.bib_dedupe as bd

    df = pd.DataFrame({
        "ID": recs.index.astype(str),
        "ENTRYTYPE": "article",
        "author": [" and ".join(a) for a in recs["authors"]],
        "title": recs["title"].fillna(""),
        "year": recs["year"].astype("string").fillna(""),
        "journal": recs["journal"].fillna(""),
        "volume": recs["volume"].fillna(""),
        "number": recs["issue"].fillna(""),
        "pages": recs["pages"].fillna(""),
        "doi": recs["doi"].fillna(""),
        "abstract": recs["abstract"].fillna(""),
    })
    t0 = time.perf_counter()
    prepped = bd.prep(df, verbosity_level=0, cpu=cpu)
    blocked = bd.block(prepped, verbosity_level=0, cpu=cpu)
    matched = bd.match(blocked, verbosity_level=0, cpu=cpu)
    seconds = time.perf_counter() - t0
    n_maybe = int((matched["duplicate_label"] == "maybe").sum())

    def clusters(labels: tuple[str, ...]) -> set:
        """Connected components of the pairs with these labels, as within-group pairs."""
        dup = matched[matched["duplicate_label"].isin(labels)]
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in zip(dup["ID_1"].astype(int), dup["ID_2"].astype(int)):
            parent[find(a)] = find(b)
        return pairs_of(pd.Series({i: find(i) for i in recs.index}))

    return clusters(("duplicate",)), {"seconds": seconds, "maybe_pairs": n_maybe,
                                       "with_maybe": clusters(("duplicate", "maybe"))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4000, help="base publications")
    ap.add_argument("--base", choices=["real", "synthetic"], default="real",
                    help="base publications: real Web of Science records or generated")
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--cpu", type=int, default=2)
    ap.add_argument("--no-bib-dedupe", action="store_true")
    ap.add_argument("--write", action="store_true", help="write RESULTS.md")
    ap.add_argument("--show-errors", type=int, default=0)
    ap.add_argument("--render", type=Path, default=None,
                    help="only rewrite RESULTS.md from a saved results JSON")
    args = ap.parse_args()
    if args.render:
        write_results(json.loads(args.render.read_text()))
        return
    with tempfile.TemporaryDirectory() as d:
        folder = corpus.write_corpus(Path(d), args.n, args.seed, args.base)
        truth = pd.read_csv(folder / "truth.csv")
        recs, ours, timing = run_metakit(folder)
        key = pd.MultiIndex.from_frame(truth[["file", "line"]])
        pub = pd.Series(truth["publication"].to_numpy(), index=key)
        at = pd.MultiIndex.from_arrays([recs["file"], recs["source_line"]])
        recs["publication"] = pub.reindex(at).to_numpy()
        recs["category"] = pd.Series(truth["category"].to_numpy(), index=key).reindex(at).to_numpy()
        assert recs["publication"].notna().all(), "records without truth label"
        true_pairs = pairs_of(recs["publication"].astype(int))
        result = {"seed": args.seed, "n_publications_base": args.n, "base": args.base,
                  **timing, "metakit": score(ours, true_pairs)}
        result["metakit"]["by_category"] = by_category(ours, true_pairs, recs["category"])
        result["metakit"]["records_per_s_dedup"] = timing["records"] / timing["dedup_s"]
        if args.show_errors:
            cols = ["file", "title", "authors", "year", "journal", "volume", "pages", "doi",
                    "pub_types", "publication", "duplicate_of"]
            for kind, pairs in (("FP", ours - true_pairs), ("FN", true_pairs - ours)):
                for a, b in list(pairs)[: args.show_errors]:
                    print(f"--- {kind}")
                    print(recs.loc[[a, b], cols].to_string(max_colwidth=70))
        if not args.no_bib_dedupe:
            try:
                theirs, info = run_bib_dedupe(recs, args.cpu)
                info["if_every_maybe_were_merged"] = score(info.pop("with_maybe"), true_pairs)
                import importlib.metadata as md

                result["bib_dedupe"] = {**score(theirs, true_pairs), **info,
                                        "by_category": by_category(theirs, true_pairs,
                                                                   recs["category"]),
                                        "version": md.version("bib-dedupe"),
                                        "records_per_s": timing["records"] / info["seconds"]}
            except Exception as exc:  # report, do not hide, a failing comparison
                result["bib_dedupe"] = {"error": f"{type(exc).__name__}: {exc}"}
    result["machine"] = f"{platform.machine()}, Python {platform.python_version()}"
    print(json.dumps(result, indent=2))
    if args.write:
        (HERE / "RESULTS.json").write_text(json.dumps(result, indent=2) + "\n")
        write_results(result)


def write_results(r: dict) -> None:
    m, b = r["metakit"], r.get("bib_dedupe", {})
    lines = [
        "# Deduplication on the labelled corpus",
        "",
        "Written by `benchmarks/dedup_labelled/evaluate.py --write "
        f"--n {r['n_publications_base']} --seed {r['seed']} --base {r.get('base', 'synthetic')}`;"
        " the corpus is described in `corpus.py` (seeds 1 and, for issue 11's rules, 5 were "
        "used while writing the rules; this is another seed).",
        "",
        ("Base publications: real Web of Science records (capture-recapture studies, "
         "`wos_capture_recapture.csv.gz`); each database's version of a record, the "
         "errata, comments, companion papers and supplements are made by the corpus rules."
         if r.get("base") == "real" else "Base publications: generated."),
        "",
        f"{r['records']} records from 7 exports (PubMed MEDLINE, Embase RIS, Scopus CSV, "
        "Web of Science RIS, CNKI RIS, CENTRAL BibTeX, EndNote XML), "
        f"{m['pairs_true']} true duplicate pairs. Import errors: {r['import_errors']}.",
        "",
        "| tool | precision | recall | TP | FP | FN | records/s (dedup) |",
        "|---|---|---|---|---|---|---|",
        f"| metakit | {m['precision']:.4f} | {m['recall']:.4f} | {m['tp']} | {m['fp']} | "
        f"{m['fn']} | {m['records_per_s_dedup']:,.0f} |",
    ]
    if "error" in b:
        lines.append(f"| bib-dedupe | not run: {b['error']} | | | | | |")
    elif b:
        lines.append(
            f"| bib-dedupe {b['version']} | {b['precision']:.4f} | {b['recall']:.4f} | "
            f"{b['tp']} | {b['fp']} | {b['fn']} | {b['records_per_s']:,.0f} |")
    lines += [
        "",
        f"metakit: import {r['import_s']:.2f} s, dedup {r['dedup_s']:.2f} s "
        f"({r['candidate_pairs']:,} candidate pairs).",
    ]
    if b and "error" not in b:
        lines.append(f"bib-dedupe: prep+block+match {b['seconds']:.1f} s; "
                     f"{b['maybe_pairs']} pairs labelled `maybe` (left for a person, "
                     "counted as not merged).")
        if "if_every_maybe_were_merged" in b:
            w = b["if_every_maybe_were_merged"]
            lines.append(f"Had the person merged every `maybe` pair: precision "
                         f"{w['precision']:.4f}, recall {w['recall']:.4f} "
                         f"(FP {w['fp']}, FN {w['fn']}).")
    cats = m.get("by_category", {})
    if cats:
        bc = b.get("by_category", {}) if "error" not in b else {}
        lines += ["", "By category (issue 11): true pairs, pairs missed (FN) and false merges "
                  "(FP; a false merge is counted under both records' categories).", "",
                  "| category | true pairs | metakit FN | metakit FP | bib-dedupe FN | "
                  "bib-dedupe FP |", "|---|---|---|---|---|---|"]
        for cat, v in cats.items():
            o = bc.get(cat, {})
            lines.append(f"| {cat} | {v['pairs_true']} | {v['fn']} | {v['fp']} | "
                         f"{o.get('fn', '')} | {o.get('fp', '')} |")
    lines += [
        "", f"Machine: {r['machine']}, 2 cores shared with other jobs (so times are noisy).",
        "",
        "Notes",
        "",
        "- A pair counts as predicted when both records end up in one group (transitive "
        "closure), for both tools; the truth pairs likewise come from the publication "
        "each record was generated from.",
        "- Both tools get the same parsed records (metakit's readers); bib-dedupe runs "
        "`prep`, `block`, `match` with `cpu=2` and its `duplicate` pairs are clustered "
        "by connected components.",
        "- The records' details are real but their database versions and the category "
        "variants are made by rules written by the same developer as the matching rules "
        "(seeds 1 and 5 used while writing them). bib-dedupe reports about 0.998 precision and "
        "0.97 recall on real exports; the numbers here are for this corpus only.",
        "- The category variants also sit in unit tests on real records "
        "(`tests/review/test_dedup_categories.py`).",
        "- Raw figures: `RESULTS.json`.",
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
