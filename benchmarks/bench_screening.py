"""Screening prioritisation: WSS@95 and RRF@10 in simulated screenings.

Run: ``python benchmarks/bench_screening.py [--quick] [--out benchmarks/SCREENING_RESULTS.md]``

Why synthetic data
------------------
The public benchmark reviews (SYNERGY, CLEF TAR) are downloaded from the web at run
time; this project's machines reach only package registries, and no PyPI package we
checked ships the data inside its wheel (``synergy-dataset`` 2.2 and ``asreview`` 3.0.8
download them; ``asreview-covid19`` too). So the reviews here are generated, by the
transparent recipe below, with inclusion rates of 0.8-5%. The figures are therefore NOT
comparable with ASReview's published 0.46 on SYNERGY; the fair comparison is with the
baselines run on the same data in the same process (random order, and naive Bayes,
ASReview's classic default classifier), and with ASReview itself when it can be
installed (``--asreview PATH``; ASReview is not a dependency of metakit, install it in
a separate environment).

Recipe of a synthetic review (:func:`make_review`)
--------------------------------------------------
* Words are pseudo-words built from syllables, in disjoint sets: a background
  vocabulary (3,000 words, Zipf frequencies, shared by every record), 40 topic
  vocabularies (200 words each), and the review's PICO vocabulary (population 25,
  intervention 25, outcome 25 words) plus design words ("randomised", "placebo", ...).
* The search returns records from the review's own topic (30% of records) and from six
  neighbouring topics; a record's text is 12 title words + 180 abstract words drawn from
  a mixture of background (55%), its topic (35%) and PICO/design words (10%).
* Inclusions (the stated rate) come from the review topic and use the population,
  intervention and design words. Near misses (40% of the review-topic records that are
  not included) use the topic and *some* of them: the population with another
  intervention, or the intervention in a non-randomised design. 15% of the inclusions are
  "hard": they use mostly another topic's words and only a few PICO words, like the
  relevant records that keyword searches find late.

Simulation
----------
:func:`metakit.review.automation.simulate_screening`: one prior inclusion and one prior
exclusion drawn at random (5 seeds), refit after every ``batch`` records, the model
sees only labels of records already screened; priors excluded from both metrics.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metakit.review.automation import _features, recall_at, simulate_screening, wss

ASREVIEW_ANCHOR = 0.46   # mean WSS@95 of ASReview LAB's default model on SYNERGY

SYLLABLES = [a + b for a in "bcdfgklmnprstvz" for b in ("a", "e", "i", "o", "u", "ai", "or",
                                                          "en", "ul", "ix")]


def _vocab(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        w = "".join(rng.choice(SYLLABLES, rng.integers(2, 4)))
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


def _zipf(n: int, s: float = 1.05) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


@dataclass(frozen=True)
class Review:
    name: str
    texts: list[str]
    labels: np.ndarray


def make_review(name: str, n: int, rate: float, seed: int) -> Review:
    """A synthetic review of ``n`` records of which ``round(rate * n)`` are included."""
    rng = np.random.default_rng(seed)
    taken: set[str] = set()
    background = _vocab(rng, 3000, taken)
    topics = [_vocab(rng, 200, taken) for _ in range(7)]
    pop, interv, outc = (_vocab(rng, 25, taken) for _ in range(3))
    other_interv = _vocab(rng, 25, taken)
    design = ["randomised", "randomized", "placebo", "allocated", "blinded", "trial",
              "controlled", "arm"]
    non_design = ["retrospective", "cohort", "registry", "case", "series", "observational"]
    pb, pt = _zipf(len(background)), _zipf(200)

    def draw(words: list[str], p: np.ndarray | None, k: int) -> list[str]:
        return list(rng.choice(words, k, p=p)) if k > 0 else []

    def text(topic: int, pico: list[list[str]], w_pico: float) -> str:
        length = 192
        k_pico = int(round(w_pico * length)) if pico else 0
        k_topic = int(round(0.35 * length))
        k_bg = length - k_pico - k_topic
        words = draw(background, pb, k_bg) + draw(topics[topic], pt, k_topic)
        for j in range(k_pico):
            words.append(str(rng.choice(pico[j % len(pico)])))
        rng.shuffle(words)
        return " ".join(words)

    n_inc = max(2, int(round(rate * n)))
    n_topic = int(0.30 * n)
    texts, labels = [], []
    for i in range(n):
        if i < n_inc:
            hard = rng.random() < 0.15
            if hard:
                texts.append(text(int(rng.integers(1, 7)), [pop, interv], 0.03))
            else:
                texts.append(text(0, [pop, interv, outc, design], 0.10))
            labels.append(1)
        elif i < n_topic:
            if rng.random() < 0.40:
                variant = [[pop, other_interv, outc, design], [interv, outc, non_design],
                           [pop, interv, non_design]][int(rng.integers(0, 3))]
                texts.append(text(0, variant, 0.10))
            else:
                texts.append(text(0, [outc], 0.03))
            labels.append(0)
        else:
            texts.append(text(int(rng.integers(1, 7)), [outc, design], 0.04))
            labels.append(0)
    order = rng.permutation(n)
    return Review(name, [texts[i] for i in order], np.array(labels)[order])


REVIEWS = [("syn-A", 2000, 0.05), ("syn-B", 3000, 0.03), ("syn-C", 4000, 0.02),
           ("syn-D (seed-sized)", 4846, 0.01), ("syn-E", 6000, 0.015),
           ("syn-F", 8000, 0.008)]


def random_baseline(labels: np.ndarray, seeds: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    w, r = [], []
    for _ in range(seeds * 20):
        y = labels[rng.permutation(len(labels))]
        w.append(wss(y))
        r.append(recall_at(y))
    return float(np.mean(w)), float(np.mean(r))


def run_asreview(review: Review, workdir: Path, seeds: int, batch: int,
                 exe: str) -> tuple[float, float] | None:
    """ASReview LAB's own simulation (its default model) on the same data.

    Same priors policy (1 + 1, drawn with ``--prior-seed``), same batch (``--n-query``);
    metrics computed from its results with our functions, priors excluded.
    """
    import csv

    data = workdir / (review.name.split()[0] + ".csv")
    with open(data, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "abstract", "included"])
        for t, y in zip(review.texts, review.labels):
            w.writerow([t[:80], t, int(y)])
    results = []
    for s in range(seeds):
        out = workdir / f"{data.stem}-{s}.asreview"
        cmd = [exe, "simulate", str(data), "-o", str(out), "--n-prior-included", "1",
               "--n-prior-excluded", "1", "--prior-seed", str(s), "--seed", str(s),
               "--n-query", str(batch)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print("asreview failed:", proc.stderr[-2000:], file=sys.stderr)
            return None
        results.append(_asreview_metrics(out, review.labels))
    return float(np.mean([r[0] for r in results])), float(np.mean([r[1] for r in results]))


def _asreview_metrics(project_file: Path, labels: np.ndarray) -> tuple[float, float]:
    """WSS@95 and RRF@10 from an ASReview project file (record_id = row), priors
    (rows without a classifier) excluded; a run stops once every inclusion is found, so
    the records it never showed are exclusions and come last."""
    import sqlite3
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory() as d, zipfile.ZipFile(project_file) as z:
        name = next(n for n in z.namelist() if n.endswith("results.db"))
        z.extract(name, d)
        con = sqlite3.connect(Path(d) / name)
        rows = con.execute("SELECT record_id, label, classifier FROM results "
                           "ORDER BY rowid").fetchall()
        con.close()
    seen = [r for r in rows if r[2] is not None]
    n_priors = len(rows) - len(seen)
    y = labels[np.array([r[0] for r in seen], dtype=int)]
    y = np.concatenate([y, np.zeros(len(labels) - n_priors - len(y), dtype=int)])
    return wss(y), recall_at(y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 reviews, 2 seeds")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--models", default="logistic,nb,svm")
    ap.add_argument("--asreview", metavar="EXE", default=None,
                    help="path of an `asreview` executable: also run ASReview's simulate "
                         "on the same data")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).with_name("SCREENING_RESULTS.md"))
    args = ap.parse_args()
    reviews = REVIEWS[:3] if args.quick else REVIEWS
    seeds = 2 if args.quick else args.seeds
    models = args.models.split(",")
    rows = []
    t_start = time.perf_counter()
    for k, (name, n, rate) in enumerate(reviews):
        review = make_review(name, n, rate, seed=100 + k)
        X = _features(review.texts)
        rw, rr = random_baseline(review.labels, seeds)
        row = {"review": name, "N": n, "included": int(review.labels.sum()),
               "random": (rw, rr)}
        for model in models:
            t0 = time.perf_counter()
            res = [simulate_screening(review.texts, review.labels, model=model, seed=s,
                                      batch_size=args.batch, features=X)
                   for s in range(seeds)]
            row[model] = (float(np.mean([r.wss95 for r in res])),
                          float(np.mean([r.rrf10 for r in res])))
            row[model + "_sd"] = float(np.std([r.wss95 for r in res]))
            row[model + "_s"] = (time.perf_counter() - t0) / seeds
            print(f"{name:<20} {model:<9} WSS@95 {row[model][0]:.3f}  "
                  f"RRF@10 {row[model][1]:.3f}  ({row[model + '_s']:.1f} s/run)", flush=True)
        if args.asreview:
            import tempfile

            with tempfile.TemporaryDirectory() as d:
                got = run_asreview(review, Path(d), seeds, args.batch, args.asreview)
            if got is not None:
                row["asreview"] = got
                print(f"{name:<20} asreview  WSS@95 {got[0]:.3f}  RRF@10 {got[1]:.3f}")
        rows.append(row)
    elapsed = time.perf_counter() - t_start
    args.out.write_text(_report(rows, models, seeds, args, elapsed), encoding="utf-8")
    print(f"written {args.out}")


def _asreview_version(exe: str | None) -> str:
    if not exe:
        return ""
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True)
    return (proc.stdout or proc.stderr).strip().split()[-1] if proc.returncode == 0 else "?"


def _report(rows: list[dict], models: list[str], seeds: int, args: argparse.Namespace,
            elapsed: float) -> str:
    import sklearn

    cols = ["random"] + models + (["asreview"] if any("asreview" in r for r in rows) else [])
    head = "| review | N | incl. | " + " | ".join(cols) + " |"
    sep = "|---|---:|---:|" + "---:|" * len(cols)

    def table(metric: int) -> list[str]:
        out = [head, sep]
        for r in rows:
            cells = [f"{r[c][metric]:.3f}" if c in r else "n/a" for c in cols]
            out.append(f"| {r['review']} | {r['N']} | {r['included']} | " + " | ".join(cells)
                       + " |")
        means = [f"**{np.mean([r[c][metric] for r in rows if c in r]):.3f}**"
                 if any(c in r for r in rows) else "n/a" for c in cols]
        out.append("| **mean** | | | " + " | ".join(means) + " |")
        return out

    lines = [
        "# Screening prioritisation: simulation results",
        "",
        "Produced by `benchmarks/bench_screening.py` "
        f"(`{' '.join(sys.argv[1:]) or 'no options'}`); do not edit by hand.",
        "",
        "**Data: synthetic reviews** (recipe in the script's docstring), because the public "
        "benchmark reviews (SYNERGY, CLEF TAR) cannot be fetched on this project's machines "
        "and no registry package ships them. These numbers are NOT comparable with "
        f"ASReview LAB's published mean WSS@95 of {ASREVIEW_ANCHOR} on SYNERGY: synthetic "
        "text from topic vocabularies is easier to separate than real abstracts. Compare "
        "the columns with each other (same data, same simulation, same metric code).",
        "",
        f"Simulation: 1 prior inclusion + 1 prior exclusion, {seeds} seeds per review "
        f"(mean shown), model refitted every {args.batch} records, the model sees only "
        "labels of records already screened; priors excluded from the metrics. "
        "`random` is the mean over random screening orders (expected WSS@95 ~ 0, "
        "RRF@10 ~ 0.10).",
        "",
        "Models: `logistic` = TF-IDF (uni+bigrams, sublinear tf) + class-balanced L2 "
        "logistic regression (metakit's default); `nb` = TF-IDF + multinomial naive "
        "Bayes with oversampled inclusions (close to, not the same as, ASReview's classic "
        "NB + double balance); `svm` = TF-IDF + class-balanced linear SVM"
        + ("; `asreview` = ASReview LAB " + _asreview_version(args.asreview)
           + " `asreview simulate` with its default model (elas_u4: TF-IDF + SVM, "
           "balanced, max query) on the same data, same priors seeds and batch "
           "(`--n-query`)" if "asreview" in cols else "") + ".",
        "",
        "## WSS@95 (work saved over sampling at 95% recall)",
        "",
        *table(0),
        "",
        "## RRF@10 (recall after screening 10% of the records)",
        "",
        *table(1),
        "",
        f"Anchor (different data, see above): ASReview LAB default model, mean WSS@95 = "
        f"{ASREVIEW_ANCHOR} on the SYNERGY reviews.",
        "",
        "## Run",
        "",
        f"- Python {platform.python_version()}, scikit-learn {sklearn.__version__}, "
        f"{platform.machine()}; total {elapsed:.0f} s",
        "- Seconds per simulated screening: " + ", ".join(
            f"{m} {np.mean([r[m + '_s'] for r in rows]):.1f}" for m in models),
        "- SD of WSS@95 across seeds (mean over reviews): " + ", ".join(
            f"{m} {np.mean([r[m + '_sd'] for r in rows]):.3f}" for m in models),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
