"""Trials of screening models against ASReview LAB's default, on the development set and other fields.

Run::

    python benchmarks/screening_explore.py --validation DIR --procs 2 \\
        "tw=2|svm" "tw=2,stop=1|svm" "tw=2|ens:svm+lr~C=3" ...

Each trial is ``FEATURES|MODEL``. FEATURES (comma-separated ``key=value``): ``tw`` times
the title is repeated before the abstract, ``stop=1`` English stop words removed,
``mindf``/``maxdf`` document-frequency limits, ``ng`` longest word n-gram, ``piv`` slope of
pivoted length normalisation (Singhal A, Buckley C, Mitra M. Pivoted document length
normalization. *SIGIR* 1996) instead of unit length, ``dual=1`` a second block of plain
title + abstract TF-IDF beside the first. MODEL: ``svm`` (C, r = inclusion emphasis),
``lr`` (logistic regression; C, r), ``rocchio`` (centroid of inclusions minus ``g`` times
that of exclusions; Rocchio JJ. Relevance feedback in information retrieval. 1971),
``blend`` (SVM and Rocchio ranks mixed with the Rocchio share ``k0 / (k0 + inclusions
known)``), ``fast`` (FASTREAD's aggressive undersampling once ``k`` inclusions are known;
Yu Z, Kraft NA, Menzies T. Finding better active learners for faster literature reviews.
*Empir Softw Eng* 2018;23:3161-3186), ``blocks`` (one SVM per ``dual`` block, ranks
added), ``tmix`` (with ``tsplit=1``, a title-only TF-IDF block: records without an
abstract ranked by an SVM on titles alone),
``ens:A+B`` (ranks of models A and B added; ``~`` for ``:`` and ``;`` for ``,`` inside).
Any model also takes ``until`` and ``per``: a refit cadence other than the screener's.

The protocol is the one of ``bench_screening.py`` (same priors, seeds 1..5, the
screener's refit cadence, scored without the priors). Results per trial, data set and
seed go to ``benchmarks/screening_exploration.json`` (merged with earlier runs), which
``bench_screening.py`` summarises in SCREENING_RESULTS.md. The validation CSVs are read
from ``--validation DIR`` at run time and are not part of the repository.
"""

from __future__ import annotations

import argparse
import json
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from bench_screening import DATA, SEEDS, draw_priors, load_review
from scipy.stats import rankdata
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from metakit.review.automation import _class_weights, recall_at, refit_interval, wss

HERE = Path(__file__).resolve().parent
OUT = HERE / "screening_exploration.json"
_CACHE: dict[tuple[str, str], tuple[Any, np.ndarray, int | None]] = {}
_NO_ABSTRACT: dict[str, np.ndarray] = {}
_PATHS: dict[str, Path] = {}


def parse(spec: str) -> tuple[str, dict[str, float]]:
    """``name:key=value,...`` into the name and a dict of numbers."""
    name, _, rest = spec.partition(":")
    if name == "ens":
        return name, {}
    kw = {}
    for item in filter(None, rest.split(",")):
        key, value = item.split("=")
        kw[key] = float(value)
    return name, kw


def features(name: str, spec: str) -> tuple[Any, np.ndarray, int | None]:
    """Feature matrix, labels and (for ``dual``) the first column of the second block."""
    if (name, spec) in _CACHE:
        return _CACHE[(name, spec)]
    frame = load_review(_PATHS[name])
    titles, abstracts = frame["title"].tolist(), frame["abstract"].tolist()
    y = frame["label_included"].to_numpy().astype(int)
    _, kw = parse(":" + spec)
    texts = [" ".join([t] * int(kw.get("tw", 2)) + [a]).strip() for t, a in zip(titles, abstracts)]
    opts: dict[str, Any] = dict(ngram_range=(1, int(kw.get("ng", 2))), sublinear_tf=True,
                                min_df=int(kw.get("mindf", 1)), max_df=kw.get("maxdf", 0.95),
                                strip_accents="unicode")
    if kw.get("stop"):
        opts["stop_words"] = "english"
    pivot = kw.get("piv")
    if pivot is not None:
        opts["norm"] = None
    X = TfidfVectorizer(**opts).fit_transform(texts).tocsr()
    if pivot is not None:
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        scale = (1 - pivot) * norms[norms > 0].mean() + pivot * norms
        scale[scale == 0] = 1
        X = (sp.diags(1 / scale) @ X).tocsr()
    split = None
    if kw.get("dual"):
        plain = TfidfVectorizer(**opts).fit_transform(
            [f"{t} {a}".strip() for t, a in zip(titles, abstracts)])
        split = X.shape[1]
        X = sp.hstack([X, plain]).tocsr()
    if kw.get("tsplit"):
        split = X.shape[1]
        X = sp.hstack([X, TfidfVectorizer(**opts).fit_transform(titles)]).tocsr()
    _NO_ABSTRACT[name] = np.array([len(a.strip()) < 20 for a in abstracts])
    _CACHE[(name, spec)] = (X, y, split)
    return X, y, split


def _linear(X: Any, idx: np.ndarray, yl: np.ndarray, kind: str, kw: dict[str, float]) -> np.ndarray:
    weights = _class_weights(yl, kw.get("r", 9.8))
    if kind == "lr":
        clf: Any = LogisticRegression(C=kw.get("C", 10.0), class_weight=weights, solver="liblinear",
                                      dual=True, max_iter=1000)
    else:
        clf = LinearSVC(C=kw.get("C", 0.11), class_weight=weights)
    clf.fit(X[idx], yl)
    return np.asarray(X @ clf.coef_.ravel()).ravel() + clf.intercept_[0]


def _rocchio(X: Any, idx: np.ndarray, yl: np.ndarray, g: float) -> np.ndarray:
    pos = np.asarray(X[idx[yl == 1]].mean(axis=0)).ravel()
    neg = np.asarray(X[idx[yl == 0]].mean(axis=0)).ravel()
    return np.asarray(X @ (pos - g * neg)).ravel()


def score(spec: str, X: Any, idx: np.ndarray, yl: np.ndarray, split: int | None,
          no_abstract: np.ndarray | None = None) -> np.ndarray:
    """Relevance of every row after fitting the model ``spec`` on the labelled rows."""
    name, kw = parse(spec)
    if name == "tmix":
        # records without an abstract ranked by a title-only SVM, the others by the full one
        full, title = (rankdata(_linear(B, idx, yl, "svm", kw)) for B in (X[:, :split], X[:, split:]))
        return np.where(no_abstract, title, full)
    if name in ("svm", "lr"):
        return _linear(X, idx, yl, name, kw)
    if name == "rocchio":
        return _rocchio(X, idx, yl, kw.get("g", 0.25))
    if name == "blend":
        k0 = kw.get("k0", 10.0)
        share = k0 / (k0 + (yl == 1).sum())
        s1, s2 = _linear(X, idx, yl, "svm", kw), _rocchio(X, idx, yl, kw.get("g", 0.25))
        return (1 - share) * rankdata(s1) + share * rankdata(s2)
    if name == "fast":
        s = _linear(X, idx, yl, "svm", kw)
        n1 = int((yl == 1).sum())
        if n1 < kw.get("k", 30):
            return s
        neg = np.flatnonzero(yl == 0)
        keep = neg[np.argsort(s[idx[neg]])][: int(kw.get("m", 1) * n1)]
        sel = np.concatenate([np.flatnonzero(yl == 1), keep])
        clf = LinearSVC(C=kw.get("C", 0.11), class_weight="balanced").fit(X[idx[sel]], yl[sel])
        return np.asarray(X @ clf.coef_.ravel()).ravel()
    if name == "blocks":
        return sum(rankdata(_linear(B, idx, yl, "svm", kw)) for B in (X[:, :split], X[:, split:]))
    if name == "ens":
        parts = spec[4:].split("+")
        return sum(rankdata(score(p.replace(";", ",").replace("~", ":"), X, idx, yl, split))
                   for p in parts)
    raise SystemExit(f"unknown model {spec!r}")


def _interval(n_known: int, spec: str) -> int:
    """The screener's cadence, or with ``until`` (refit after every record until that many
    are known) and ``per`` (then every n / per records) in the model's options."""
    _, kw = parse(spec)
    if "until" not in kw and "per" not in kw:
        return refit_interval(n_known)
    return 1 if n_known < kw.get("until", 100) else max(1, n_known // int(kw.get("per", 50)))


def simulate(X: Any, y: np.ndarray, priors: tuple[int, int], spec: str, split: int | None,
             no_abstract: np.ndarray) -> np.ndarray:
    """Labels in screening order (priors excluded), on the screener's refit cadence."""
    screened = np.zeros(len(y), dtype=bool)
    screened[list(priors)] = True
    known, order = list(priors), []
    left = int(y.sum()) - int(y[list(priors)].sum())
    ranked = np.flatnonzero(~screened)
    while len(order) < len(y) - len(priors):
        pool = np.flatnonzero(~screened)
        if left == 0:
            order.extend(int(i) for i in ranked if not screened[i])
            break
        idx = np.asarray(known)
        s = score(spec, X, idx, y[idx], split, no_abstract)
        ranked = pool[np.argsort(-s[pool], kind="stable")]
        take = ranked[:_interval(len(known), spec)]
        screened[take] = True
        known += take.tolist()
        order += take.tolist()
        left -= int(y[take].sum())
    return y[np.asarray(order)]


def run_task(task: tuple[str, str, int, dict[str, str]]) -> list[Any]:
    trial, name, seed, paths = task
    _PATHS.update({k: Path(v) for k, v in paths.items()})
    feat_spec, model_spec = trial.split("|")
    X, y, split = features(name, feat_spec)
    t0 = time.perf_counter()
    yo = simulate(X, y, draw_priors(y, seed), model_spec, split, _NO_ABSTRACT[name])
    return [trial, name, seed, wss(yo), recall_at(yo), round(time.perf_counter() - t0, 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trials", nargs="+")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--validation", type=Path, default=None)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    paths = {p.stem: str(p) for d in (args.data, args.validation) if d for p in sorted(d.glob("*.csv"))}
    sizes = {n: Path(p).stat().st_size for n, p in paths.items()}
    tasks = [(t, n, s, paths) for n in sorted(paths, key=lambda n: -sizes[n]) for t in args.trials
             for s in SEEDS]
    store = json.loads(args.out.read_text()) if args.out.exists() else {"rows": []}
    done = {(r[0], r[1], r[2]) for r in store["rows"]}
    tasks = [t for t in tasks if t[:3] not in done]
    with Pool(args.procs) as pool:
        for row in pool.imap_unordered(run_task, tasks):
            store["rows"].append(row)
            print(*row, flush=True)
            args.out.write_text(json.dumps(store, indent=0) + "\n")


if __name__ == "__main__":
    main()
