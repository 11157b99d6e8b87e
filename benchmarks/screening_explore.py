"""Trials of screening models against ASReview LAB's default, on the development set and other fields.

Run::

    python benchmarks/screening_explore.py --validation DIR --procs 2 \\
        "tw=2|svm" "tw=2,stop=1|svm" "tw=2|ens:svm+lr~C=3" ...

Each trial is ``FEATURES|MODEL``. FEATURES (comma-separated ``key=value``): ``tw`` times
the title is repeated before the abstract, ``stop=1`` English stop words removed,
``mindf``/``maxdf`` document-frequency limits, ``ng`` longest word n-gram, ``piv`` slope of
pivoted length normalisation (Singhal A, Buckley C, Mitra M. Pivoted document length
normalization. *SIGIR* 1996) instead of unit length, ``dual=1`` a second block of plain
title + abstract TF-IDF beside the first, ``lsa`` the number of LSA dimensions
(TruncatedSVD of the pool's TF-IDF, fitted once on all records, rows at unit length),
appended to the sparse features with weight ``lw`` or, without ``lw``, kept apart for
``lf``; ``bin=1`` binary term counts; ``lead`` the abstract's first ``lead`` sentences
counted once more; keywords (the ``keywords`` column, where a data set has one):
``kw=1`` appended to the text, ``kwt`` their words in a block of weight ``kwt``,
``kwb`` each keyword one token, in a block of weight ``kwb``; ``wt`` the title's counts
times ``wt`` added to the abstract's before the sublinear tf, instead of ``tw``
(``rwt``: the same for the ``dual`` block). MODEL: ``svm`` (C, r = inclusion emphasis),
``lr`` (logistic regression; C, r), ``rocchio`` (centroid of inclusions minus ``g`` times
that of exclusions; Rocchio JJ. Relevance feedback in information retrieval. 1971),
``blend`` (SVM and Rocchio ranks mixed with the Rocchio share ``k0 / (k0 + inclusions
known)``), ``fast`` (FASTREAD's aggressive undersampling once ``k`` inclusions are known;
Yu Z, Kraft NA, Menzies T. Finding better active learners for faster literature reviews.
*Empir Softw Eng* 2018;23:3161-3186), ``blocks`` (one SVM per ``dual`` block, ranks
added), ``tmix`` (with ``tsplit=1``, a title-only TF-IDF block: records without an
abstract ranked by an SVM on titles alone),
``bag`` (``blend`` whose SVM is the mean of ``nb`` SVMs, each on all inclusions and the
exclusions resampled: a bootstrap, or a share ``sub`` drawn without replacement),
``ens:A+B`` (ranks of models A and B added; ``~`` for ``:`` and ``;`` for ``,`` inside).
Options of the Rocchio part of ``blend``/``bag``: ``prf`` (pseudo-relevance feedback: the
top ``prf`` unscreened records join the profile with weight ``pw``), ``top`` (profile
cut to its ``top`` strongest terms), ``nn`` (share of the rank by the best cosine to any
one inclusion); ``lf`` fuses by ranks an SVM on the ``lsa`` coordinates with weight
``lf`` (``lfade=1``: times the Rocchio share, so that it fades as inclusions accumulate).
Third round, options of ``blend``: ``floor`` least Rocchio share, ``zs=1`` standardised
scores mixed instead of ranks, ``cmax=1`` the two lists interleaved (a record's place is
the better of its places in each list divided by that list's share) instead of averaged,
``rx=1`` (with ``dual=1``) the SVM on the title-doubled block and the Rocchio profile on
the plain one (``rx=0.5``: on both blocks), ``ridge=1`` a ridge classifier (``a`` its penalty) for the SVM; of the SVM:
``nb`` the features scaled by the naive Bayes count ratio r of the labelled rows to the
power ``nb`` (``nbabs=1``: by abs(log r) to that power; Wang S, Manning CD. Baselines and bigrams.
*ACL* 2012:90-94), ``rs`` liblinear's seed.
Fourth round: features ``stem=1`` plural endings stripped (Harman's S stemmer),
``chr`` a block of character 3-5-grams of that weight, ``knn`` the pool's
nearest-neighbour graph; options of ``blend``: ``lsar`` the Rocchio profile also in the
``lsa`` space with that weight, ``ppr`` share of relevance diffused over the ``knn`` graph
(``a`` its damping), ``pn`` random unscreened records added to every SVM fit as presumed
exclusions (AutoTAR; ``pu``: only while fewer than ``pu`` records are known), ``qlm``
share of the query likelihood of the inclusions' relevance model under the records'
Dirichlet-smoothed language models (feature ``lm``: mu as a multiple of the mean length).
Fifth round: ``hedge:ETA,DECAY:A+B`` mixes the ranks of models A and B with weights
learnt during the screening (see ``_hedge``); features ``chrs`` the ``chr`` block with
the word block's end kept as the split, so that a model with ``blk=1`` reads the words
alone (``hedge:0.3,0.7:blend~k0=5;blk=1+blend~k0=5`` hedges between the default and the
default with character n-grams), ``stall:N,SHARE:A+B`` model A alone while an
inclusion is among the last N records screened, else B's ranks mixed in with that share,
``chn`` character n-grams of that one length only; ``wlm=1`` pre-trained
static embeddings (the wordllama wheel's weights) in place of ``lsa``, with ``lw`` or ``lf``
as for it.
Sixth round, options of ``blend``: ``nnf`` a share that does not fade of the rank of the
nearest-inclusion score, mixed after the blend (the mean of a record's ``nnk`` best
cosines to the inclusions, ``nnk=-1``: the square root of the inclusions known, rounded up;
``nnr=1`` each inclusion's ranking of the pool in place of its
cosines; ``nnx`` less that weight times the mean of the ``nnk`` best cosines to the
exclusions; ``nns=1`` ranked within records with and without an abstract apart); of
the SVM: ``csch`` C times (records labelled / 100)^csch beyond 100, ``hinge=1`` the
plain hinge loss, ``isc`` the intercept's scaling.
Seventh round: feature ``bm25`` BM25's term frequency with that k1 (``b`` its length
normalisation) in place of the sublinear tf; options of ``blend``: ``rrf`` reciprocal
rank fusion with that constant in place of averaged ranks, ``rsj=1`` the
Robertson-Sparck Jones relevance weights of the inclusions' terms in place of the
Rocchio profile (``rsj=0.5``: the two mixed by ranks); feature ``dx`` document
expansion by the ``knn`` nearest neighbours with that weight (``dxn=1``: only records
without an abstract; ``dxa`` the same with each bare record's own ``knn`` nearest
records that have an abstract, the rule the package would use; ``dxs=1`` with
``blend:rx=1``: the SVM on the expanded features and the Rocchio profile on the plain
ones, ``dxs=2`` the other way round, ``dxs=3`` with ``dual=1`` the SVM on the expanded
title-doubled block and the Rocchio profile on the plain title + abstract block;
``dxall=1``: any other record with text may be a
neighbour, with or without an abstract). The default
(``metakit.review.automation``) is ``tw=2|blend:k0=5``.
Any model also takes ``until`` and ``per``: a refit cadence other than the screener's,
and ``unc`` (every ``unc``-th pick is the record nearest the SVM's boundary, while fewer
than ``uu`` records and ``ui`` inclusions are known).

``--seeds 6-15`` runs seeds other than the protocol's (to check that a trial's gain is not
the luck of five prior draws; give them their own ``--out``).

The protocol is the one of ``bench_screening.py`` (same priors, seeds 1..5, the
screener's refit cadence, scored without the priors). Results per trial, data set and
seed go to ``benchmarks/screening_exploration.json`` (merged with earlier runs), which
``bench_screening.py`` summarises in SCREENING_RESULTS.md. The validation CSVs are read
from ``--validation DIR`` at run time and are not part of the repository.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from bench_screening import DATA, draw_priors, load_review, seed_range
from scipy.stats import rankdata
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from metakit.review.automation import _class_weights, recall_at, refit_interval, wss

HERE = Path(__file__).resolve().parent
OUT = HERE / "screening_exploration.json"
_CACHE: dict[tuple[str, str], tuple[Any, np.ndarray, int | None]] = {}
_NO_ABSTRACT: dict[str, np.ndarray] = {}
_PATHS: dict[str, Path] = {}
_LSA: dict[str, np.ndarray] = {}
_GRAPH: dict[str, Any] = {}
_LM: dict[str, tuple[Any, Any, np.ndarray]] = {}
_CUR: list[str] = [""]
_STATE: dict[str, Any] = {}


def parse(spec: str) -> tuple[str, dict[str, float]]:
    """``name:key=value,...`` into the name and a dict of numbers."""
    name, _, rest = spec.partition(":")
    if name in ("ens", "hedge", "stall"):
        return name, {}
    kw = {}
    for item in filter(None, rest.split(",")):
        key, value = item.split("=")
        kw[key] = float(value)
    return name, kw


def _models(rest: str) -> list[str]:
    """``A+B`` into the models A and B, with ``;`` for ``,`` and ``~`` for ``:`` decoded."""
    return [p.replace(";", ",").replace("~", ":") for p in rest.split("+")]


def _combined(spec: str) -> tuple[list[float], list[str]]:
    """``name:X,Y:A+B`` (``hedge``, ``stall``) into [X, Y] (Y defaults to 1) and [A, B]."""
    _, opts, rest = spec.split(":", 2)
    return [float(v) for v in (opts + ",1").split(",")[:2]], _models(rest)


def _headings(text: str) -> list[str]:
    return [h.strip().lower() for h in text.split(";") if h.strip()]


def _field_weighted(titles: list[str], abstracts: list[str], weight: float,
                    opts: dict[str, Any]) -> Any:
    """TF-IDF with the title's counts times ``weight`` added to the abstract's before the
    sublinear tf (field weighting: Robertson S, Zaragoza H, Taylor M. Simple BM25
    extension to multiple weighted fields. *CIKM* 2004:42-49)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    cv_opts = {k: v for k, v in opts.items() if k not in ("sublinear_tf", "norm")}
    vocab = CountVectorizer(**cv_opts).fit(
        [f"{t} {a}" for t, a in zip(titles, abstracts)]).vocabulary_
    cv = CountVectorizer(**{**cv_opts, "vocabulary": vocab, "min_df": 1, "max_df": 1.0})
    counts = (weight * cv.transform(titles) + cv.transform(abstracts)).tocsr()
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts).tocsr()


def _bm25(texts: list[str], opts: dict[str, Any], k1: float, b: float) -> Any:
    """BM25's saturating, length-normalised term frequency times the idf, in place of
    the sublinear tf, rows at unit length for the linear models (Robertson S, Zaragoza H.
    The probabilistic relevance framework: BM25 and beyond. *Found Trends Inf Retr*
    2009;3:333-389)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
    from sklearn.preprocessing import normalize

    cv_opts = {k: v for k, v in opts.items() if k not in ("sublinear_tf", "norm")}
    counts = CountVectorizer(**cv_opts).fit_transform(texts).tocsr().astype(float)
    length = np.asarray(counts.sum(axis=1)).ravel()
    norm = k1 * (1 - b + b * length / max(length.mean(), 1e-12))
    tf = counts.copy()
    tf.data = tf.data * (k1 + 1) / (tf.data + np.repeat(norm, np.diff(tf.indptr)))
    idf = TfidfTransformer().fit(counts).idf_
    return normalize((tf @ sp.diags(idf)).tocsr())


_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _s_stem(word: str) -> str:
    """Harman's S stemmer: plural endings only (Harman D. How effective is suffixing?
    *J Am Soc Inf Sci* 1991;42:7-15)."""
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def _stem_tokens(text: str) -> list[str]:
    return [_s_stem(w) if len(w) > 3 else w for w in _TOKEN.findall(text)]


def _wordllama(texts: list[str]) -> np.ndarray:
    """Pre-trained static token embeddings shipped in the wordllama wheel (256-d,
    distilled from Llama 2's input embeddings; Miller DL. WordLlama, 2024), mean pooled
    per record. Both files are read from the installed package: its loader looks for the
    tokenizer in another folder and would download it."""
    import wordllama
    from safetensors import safe_open
    from wordllama.inference import WordLlamaInference
    from wordllama.wordllama import WordLlama

    root = Path(wordllama.__file__).parent
    tok = WordLlama.load_tokenizer(root / "tokenizers" / "l2_supercat_tokenizer_config.json")
    with safe_open(str(root / "weights" / "l2_supercat_256.safetensors"), framework="np",
                   device="cpu") as f:
        emb = f.get_tensor("embedding.weight")
    return np.asarray(WordLlamaInference(emb, tok).embed(texts), dtype=float)


def features(name: str, spec: str) -> tuple[Any, np.ndarray, int | None]:
    """Feature matrix, labels and (for ``dual``) the first column of the second block."""
    if (name, spec) in _CACHE:
        return _CACHE[(name, spec)]
    frame = load_review(_PATHS[name])
    titles, abstracts = frame["title"].tolist(), frame["abstract"].tolist()
    y = frame["label_included"].to_numpy().astype(int)
    _, kw = parse(":" + spec)
    heads = (frame["keywords"].fillna("").astype(str).tolist() if "keywords" in frame.columns
             else [""] * len(frame))
    texts = [" ".join([t] * int(kw.get("tw", 2)) + [a]).strip() for t, a in zip(titles, abstracts)]
    if kw.get("lead"):
        # the abstract's opening sentences (its aim, its population) counted once more
        leads = [" ".join(re.split(r"(?<=[.!?;])\s+", a.strip())[: int(kw["lead"])]) for a in abstracts]
        texts = [f"{x} {lead}".strip() for x, lead in zip(texts, leads)]
    if kw.get("kw"):
        texts = [f"{x} {h}".strip() for x, h in zip(texts, heads)]
    opts: dict[str, Any] = dict(ngram_range=(1, int(kw.get("ng", 2))), sublinear_tf=True,
                                min_df=int(kw.get("mindf", 1)), max_df=kw.get("maxdf", 0.95),
                                strip_accents="unicode")
    if kw.get("stop"):
        opts["stop_words"] = "english"
    if kw.get("bin"):
        opts["binary"] = True
    if kw.get("stem"):
        opts.update(tokenizer=_stem_tokens, token_pattern=None)
    split = None
    pivot = kw.get("piv")
    if pivot is not None:
        opts["norm"] = None
    X = (_field_weighted(titles, abstracts, kw["wt"], opts) if kw.get("wt")
         else _bm25(texts, opts, kw["bm25"], kw.get("b", 0.75)) if kw.get("bm25")
         else TfidfVectorizer(**opts).fit_transform(texts).tocsr())
    if pivot is not None:
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        scale = (1 - pivot) * norms[norms > 0].mean() + pivot * norms
        scale[scale == 0] = 1
        X = (sp.diags(1 / scale) @ X).tocsr()
    if kw.get("kwt") and any(h.strip() for h in heads):
        # the keywords' words in their own block beside the title and abstract
        X = sp.hstack([X, kw["kwt"] * TfidfVectorizer(**opts).fit_transform(heads)]).tocsr()
    if kw.get("kwb") and any(h.strip() for h in heads):
        # each keyword/subject heading one token, in its own block beside the words
        block = TfidfVectorizer(tokenizer=_headings, token_pattern=None, lowercase=False,
                                sublinear_tf=True).fit_transform(heads)
        X = sp.hstack([X, kw["kwb"] * block]).tocsr()
    if kw.get("dual"):
        plain = (_field_weighted(titles, abstracts, kw["rwt"], opts) if kw.get("rwt")
                 else TfidfVectorizer(**opts).fit_transform(
                     [f"{t} {a}".strip() for t, a in zip(titles, abstracts)]))
        split = X.shape[1]
        X = sp.hstack([X, plain]).tocsr()
    if kw.get("tsplit"):
        split = X.shape[1]
        X = sp.hstack([X, TfidfVectorizer(**opts).fit_transform(titles)]).tocsr()
    if kw.get("chrs"):
        # the same block, with the word block's end kept as the split, so that a model
        # with ``blk=1`` sees the words alone
        split = X.shape[1]
        kw["chr"] = kw["chrs"]
    if kw.get("chr"):
        # character 3-5-grams within words, in their own block of weight chr: spelling
        # variants and word forms share features (McNamee P, Mayfield J. Character
        # n-gram tokenization for European language text retrieval. *Inf Retr* 2004;7:73-97)
        # (``chn``: n-grams of that one length only, a sparser block)
        span = (int(kw["chn"]),) * 2 if kw.get("chn") else (3, 5)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=span, sublinear_tf=True,
                                max_df=0.95, strip_accents="unicode", dtype=np.float32)
        X = sp.hstack([X, kw["chr"] * chars.fit_transform(texts)]).tocsr()
    dense = None
    if kw.get("wlm"):
        dense = _wordllama(texts)
    elif kw.get("lsa"):
        # LSA of the whole pool (unsupervised, fitted once): Deerwester S et al. Indexing by
        # latent semantic analysis. *J Am Soc Inf Sci* 1990;41:391-407
        dense = TruncatedSVD(int(kw["lsa"]), random_state=0).fit_transform(X)
    if dense is not None:
        dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)
        if kw.get("lw"):
            X = sp.hstack([X, kw["lw"] * sp.csr_matrix(dense)]).tocsr()
        else:
            _LSA[name] = dense
    if kw.get("lm"):
        # Dirichlet-smoothed document language models (Zhai C, Lafferty J. A study of
        # smoothing methods for language models applied to ad hoc information retrieval.
        # *SIGIR* 2001:334-342), mu = the mean record length
        from sklearn.feature_extraction.text import CountVectorizer

        counts = CountVectorizer(**{k: v for k, v in opts.items() if k not in ("sublinear_tf", "norm")}
                                 ).fit_transform(texts).tocsr().astype(float)
        length = np.asarray(counts.sum(axis=1)).ravel()
        p_c = np.asarray(counts.sum(axis=0)).ravel() / length.sum()
        mu = kw["lm"] * length.mean()
        logs = counts.copy()
        logs.data = np.log1p(logs.data / (mu * p_c[logs.indices]))
        prob = (sp.diags(1 / np.maximum(length, 1)) @ counts).tocsr()
        _LM[name] = (logs.tocsr(), prob, np.log(mu / (length + mu)))
    if kw.get("dxa"):
        # document expansion as the package would do it: each record without an abstract
        # plus dxa times the cosine-weighted mean of its own knn nearest records that have
        # one (no graph over the whole pool: only the bare records' rows of cosines are
        # computed); a record with no text at all has no neighbours and stays empty
        from sklearn.preprocessing import normalize

        # ``dxs=3`` (with ``dual=1``): the title-doubled block expanded for the SVM, the
        # plain title + abstract block kept for the Rocchio profile
        rest = X[:, split:] if kw.get("dxs") == 3 else None
        X = X[:, :split] if kw.get("dxs") == 3 else X
        full = np.array([len(a.strip()) >= 20 for a in abstracts])
        bare = np.flatnonzero(~full & (np.diff(X.indptr) > 0))
        k = int(kw.get("knn", 5))
        if len(bare) and full.sum() >= k:
            S = (X[bare] @ X.T).toarray()
            if kw.get("dxall"):
                # any other record with text may be a neighbour
                S[np.arange(len(bare)), bare] = 0
            else:
                S[:, ~full] = 0
            top = np.argpartition(-S, k - 1, axis=1)[:, :k]
            w = np.take_along_axis(S, top, axis=1)
            w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
            E = sp.csr_matrix((w.ravel(), (np.repeat(bare, k), top.ravel())),
                              shape=(X.shape[0],) * 2) @ X
            plain, X = X, normalize((X + kw["dxa"] * E).tocsr())
            if rest is None and kw.get("dxs"):
                # both matrices side by side, so that ``blend:rx=1`` fits the SVM on the
                # first and the Rocchio profile on the second (``dxs=1``: the SVM on the
                # expanded one, ``dxs=2``: the Rocchio profile on it)
                first, second = (X, plain) if kw["dxs"] == 1 else (plain, X)
                split = first.shape[1]
                X = sp.hstack([first, second]).tocsr()
        if rest is not None:
            # re-attached whether or not any record was expanded
            X = sp.hstack([X, rest]).tocsr()
    elif kw.get("knn"):
        # the pool's k-nearest-neighbour graph (cosine), symmetrised and row-normalised,
        # for diffusing the inclusions' relevance (Zhou D et al. Learning with local and
        # global consistency. *NIPS* 2003)
        k = int(kw["knn"])
        rows, cols, vals = [], [], []
        for start in range(0, X.shape[0], 1000):
            S = (X[start:start + 1000] @ X.T).toarray()
            S[np.arange(S.shape[0]), np.arange(start, start + S.shape[0])] = 0
            top = np.argpartition(-S, k, axis=1)[:, :k]
            rows.append(np.repeat(np.arange(start, start + S.shape[0]), k))
            cols.append(top.ravel())
            vals.append(np.take_along_axis(S, top, axis=1).ravel())
        W = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(X.shape[0],) * 2)
        W = W.maximum(W.T)
        deg = np.asarray(W.sum(axis=1)).ravel()
        deg[deg == 0] = 1
        _GRAPH[name] = (sp.diags(1 / deg) @ W).tocsr()
        if kw.get("dx"):
            # document expansion: each record's vector plus dx times the mean of its
            # nearest neighbours' (Tao T, Wang X, Mei Q, Zhai C. Language model information
            # retrieval with document expansion. *HLT-NAACL* 2006:407-414), so that a title
            # without an abstract borrows the vocabulary of the records it resembles
            # (``dxn=1``: only records without an abstract are expanded)
            from sklearn.preprocessing import normalize

            E = (_GRAPH[name] @ X).tocsr()
            if kw.get("dxn"):
                bare = np.array([len(a.strip()) < 20 for a in abstracts], dtype=float)
                E = (sp.diags(bare) @ E).tocsr()
            X = normalize((X + kw["dx"] * E).tocsr())
    _NO_ABSTRACT[name] = np.array([len(a.strip()) < 20 for a in abstracts])
    _CACHE[(name, spec)] = (X, y, split)
    return X, y, split


def _linear(X: Any, idx: np.ndarray, yl: np.ndarray, kind: str, kw: dict[str, float]) -> np.ndarray:
    c = kw.get("C", 0.11)
    if kw.get("csch"):
        # regularisation loosened (csch > 0) or tightened as decisions accumulate: the
        # margin's best width with 100 labelled records need not be its best with 1,000
        c *= (max(len(idx), 100) / 100) ** kw["csch"]
    if kw.get("pn") and len(idx) < kw.get("pu", 1e9):
        # AutoTAR: pn unscreened records drawn at random join the training set as
        # presumed exclusions, redrawn at each refit (Cormack GV, Grossman MR. Autonomy
        # and reliability of continuous active learning for technology-assisted review.
        # arXiv:1504.06868, 2015); with few inclusions in the pool, nearly all are
        rng = np.random.default_rng(len(idx))
        unseen = np.setdiff1d(np.arange(X.shape[0]), idx)
        extra = rng.choice(unseen, min(int(kw["pn"]), len(unseen)), replace=False)
        idx = np.concatenate([idx, extra])
        yl = np.concatenate([yl, np.zeros(len(extra), dtype=yl.dtype)])
    weights = _class_weights(yl, kw.get("r", 9.8))
    if kw.get("nb"):
        # NB-SVM: features scaled by the naive Bayes log-count ratio of the labelled rows
        # (Wang S, Manning CD. Baselines and bigrams. *ACL* 2012:90-94)
        B = X[idx]
        p = np.asarray(B[yl == 1].sum(axis=0)).ravel() + kw.get("alpha", 1.0)
        q = np.asarray(B[yl == 0].sum(axis=0)).ravel() + kw.get("alpha", 1.0)
        ratio = np.log((p / p.sum()) / (q / q.sum()))
        ratio = np.abs(ratio) ** kw["nb"] if kw.get("nbabs") else np.exp(kw["nb"] * ratio)
        X = (X @ sp.diags(ratio)).tocsr()
    if kind == "ridge":
        from sklearn.linear_model import RidgeClassifier
        clf: Any = RidgeClassifier(alpha=kw.get("a", 1.0), class_weight=weights, solver="sparse_cg")
        clf.fit(X[idx], yl)
        return np.asarray(X @ clf.coef_.ravel()).ravel()
    if kind == "lr":
        clf: Any = LogisticRegression(C=kw.get("C", 10.0), class_weight=weights, solver="liblinear",
                                      dual=True, max_iter=1000)
    else:
        # ``hinge``: the plain hinge loss instead of liblinear's squared one; ``isc``: the
        # intercept's feature scale, so that the intercept is penalised less (larger isc)
        clf = LinearSVC(C=c, class_weight=weights, random_state=int(kw.get("rs", 0)),
                        loss="hinge" if kw.get("hinge") else "squared_hinge",
                        intercept_scaling=kw.get("isc", 1.0), max_iter=5000 if kw.get("hinge") else 1000)
    clf.fit(X[idx], yl)
    return np.asarray(X @ clf.coef_.ravel()).ravel() + clf.intercept_[0]


def _rocchio(X: Any, idx: np.ndarray, yl: np.ndarray, g: float,
             kw: dict[str, float] | None = None) -> np.ndarray:
    kw = kw or {}
    pos = np.asarray(X[idx[yl == 1]].mean(axis=0)).ravel()
    neg = np.asarray(X[idx[yl == 0]].mean(axis=0)).ravel()
    profile = pos - g * neg
    if kw.get("top"):
        # query expansion limited to the inclusions' strongest terms
        keep = np.argsort(-profile)[: int(kw["top"])]
        trimmed = np.zeros_like(profile)
        trimmed[keep] = profile[keep]
        profile = trimmed
    s = np.asarray(X @ profile).ravel()
    if kw.get("qlm"):
        # query likelihood of the inclusions' relevance model (the mean of their
        # maximum-likelihood term distributions; Lavrenko V, Croft WB. Relevance-based
        # language models. *SIGIR* 2001:120-127), mixed by ranks in the share qlm
        logs, prob, norm = _LM[_CUR[0]]
        p_r = np.asarray(prob[idx[yl == 1]].mean(axis=0)).ravel()
        q = np.asarray(logs @ p_r).ravel() + norm * p_r.sum()
        s = (1 - kw["qlm"]) * rankdata(s) + kw["qlm"] * rankdata(q)
    if kw.get("lsar"):
        # the profile also in the pool's LSA space, where records that share no term
        # with the inclusions but share their topic still score (Deerwester et al. 1990)
        Z = _LSA[_CUR[0]]
        s = s + kw["lsar"] * (Z @ (Z[idx[yl == 1]].mean(axis=0) - g * Z[idx[yl == 0]].mean(axis=0)))
    if kw.get("ppr"):
        # relevance diffused from the inclusions over the pool's graph (personalised
        # PageRank, restart 1 - a), mixed by ranks in the share ppr
        P = _GRAPH[_CUR[0]]
        e = np.zeros(X.shape[0])
        e[idx[yl == 1]] = 1 / (yl == 1).sum()
        f, a = e.copy(), kw.get("a", 0.8)
        for _ in range(15):
            f = (1 - a) * e + a * (P.T @ f)
        s = (1 - kw["ppr"]) * rankdata(s) + kw["ppr"] * rankdata(f)
    if kw.get("nn"):
        # nearest inclusion: a record's best cosine to any one inclusion, so that an
        # inclusion unlike the others still pulls its neighbours up (the centroid blurs
        # them); mixed with the centroid's score in the share nn
        near = np.asarray((X @ X[idx[yl == 1]].T).max(axis=1).todense()).ravel()
        s = (1 - kw["nn"]) * rankdata(s) + kw["nn"] * rankdata(near)
    if kw.get("prf"):
        # pseudo-relevance feedback: the top unscreened records join the inclusions'
        # centroid with weight pw (Buckley C et al. Automatic query expansion using SMART.
        # TREC-3, 1994)
        unseen = np.ones(X.shape[0], dtype=bool)
        unseen[idx] = False
        cand = np.flatnonzero(unseen)
        top = cand[np.argsort(-s[cand])[: int(kw["prf"])]]
        extra = np.asarray(X[top].mean(axis=0)).ravel()
        s = s + kw.get("pw", 0.5) * np.asarray(X @ extra).ravel()
    return s


def _rsj(X: Any, idx: np.ndarray, yl: np.ndarray) -> np.ndarray:
    """Probabilistic relevance feedback in place of the Rocchio profile: each term that
    occurs in an inclusion weighted by the Robertson-Sparck Jones relevance weight from
    its presence among the labelled inclusions and exclusions, a record scored by the sum
    of its terms' weights times their feature values (Robertson SE, Sparck Jones K.
    Relevance weighting of search terms. *J Am Soc Inf Sci* 1976;27:129-146)."""
    B = X[idx].copy()
    B.data[:] = 1
    r = np.asarray(B[yl == 1].sum(axis=0)).ravel()
    n = np.asarray(B.sum(axis=0)).ravel()
    R, N = int((yl == 1).sum()), len(idx)
    w = np.log((r + 0.5) * (N - n - R + r + 0.5) / ((n - r + 0.5) * (R - r + 0.5)))
    return np.asarray(X @ np.where(r > 0, w, 0.0)).ravel()


def _bagged(X: Any, idx: np.ndarray, yl: np.ndarray, kw: dict[str, float]) -> np.ndarray:
    """Mean decision value of ``nb`` SVMs, each on all inclusions and a resample of the
    exclusions (Breiman L. Bagging predictors. *Mach Learn* 1996;24:123-140; the
    undersampled exclusions as in ASReview's "double" balance)."""
    rng = np.random.default_rng(len(idx))
    pos, neg = np.flatnonzero(yl == 1), np.flatnonzero(yl == 0)
    total = np.zeros(X.shape[0])
    for _ in range(int(kw.get("nb", 5))):
        if kw.get("sub"):
            pick = rng.choice(neg, max(1, int(kw["sub"] * len(neg))), replace=False)
        else:
            pick = rng.choice(neg, len(neg), replace=True)
        sel = np.concatenate([pos, pick])
        total += _linear(X, idx[sel], yl[sel], "svm", kw)
    return total


def score(spec: str, X: Any, idx: np.ndarray, yl: np.ndarray, split: int | None,
          no_abstract: np.ndarray | None = None) -> np.ndarray:
    """Relevance of every row after fitting the model ``spec`` on the labelled rows."""
    name, kw = parse(spec)
    if name == "hedge":
        return _hedge(spec, X, idx, yl, split, no_abstract)
    if name == "stall":
        # model A while it keeps finding inclusions; once the last N records screened
        # (priors aside) hold none, model B's ranks are mixed in with the share given
        (n_stall, mix), (a, b) = _combined(spec)
        ra = rankdata(score(a, X, idx, yl, split, no_abstract))
        recent = yl[2:][-int(n_stall):]
        if len(yl) - 2 < n_stall or recent.any():
            return ra
        return (1 - mix) * ra + mix * rankdata(score(b, X, idx, yl, split, no_abstract))
    if kw.get("blk") and split is not None:
        X, split = X[:, :split], None
    if name == "tmix":
        # records without an abstract ranked by a title-only SVM, the others by the full one
        full, title = (rankdata(_linear(B, idx, yl, "svm", kw)) for B in (X[:, :split], X[:, split:]))
        return np.where(no_abstract, title, full)
    if name in ("svm", "lr", "ridge"):
        return _linear(X, idx, yl, name, kw)
    if name == "rocchio":
        return _rocchio(X, idx, yl, kw.get("g", 0.25))
    if name in ("blend", "bag"):
        k0 = kw.get("k0", 10.0)
        share = max(k0 / (k0 + (yl == 1).sum()), kw.get("floor", 0.0))
        XS, XR = X, X
        if split is not None and kw.get("rx"):
            # the Rocchio profile on the second block, the SVM on the first
            XS, XR = X[:, :split], (X if kw["rx"] < 1 else X[:, split:])
        base = "ridge" if kw.get("ridge") else "svm"
        s1 = _bagged(XS, idx, yl, kw) if name == "bag" else _linear(XS, idx, yl, base, kw)
        s2 = _rocchio(XR, idx, yl, kw.get("g", 0.25), kw)
        if kw.get("rsj"):
            # the relevance weights' ranks in the share rsj of the Rocchio part
            s2 = (1 - kw["rsj"]) * rankdata(s2) + kw["rsj"] * rankdata(_rsj(XR, idx, yl))
        if kw.get("zs"):
            # scores rather than ranks mixed, each standardised over the pool
            z1, z2 = ((v - v.mean()) / (v.std() or 1) for v in (s1, s2))
            mixed = (1 - share) * z1 + share * z2
        elif kw.get("rrf"):
            # reciprocal rank fusion (Cormack GV, Clarke CLA, Buettcher S. Reciprocal rank
            # fusion outperforms Condorcet and individual rank learning methods. *SIGIR*
            # 2009:758-759): a record near the top of either list gains far more than
            # one in the middle of both, where averaged ranks treat them alike
            p1, p2 = len(s1) - rankdata(s1), len(s2) - rankdata(s2)
            mixed = (1 - share) / (kw["rrf"] + p1) + share / (kw["rrf"] + p2)
        elif kw.get("cmax"):
            # interleaving rather than averaging: a record high in either list comes
            # early, each list supplying its share of the top
            p1, p2 = len(s1) - rankdata(s1), len(s2) - rankdata(s2)
            mixed = -np.minimum(p1 / (1 - share), p2 / share)
        else:
            mixed = (1 - share) * rankdata(s1) + share * rankdata(s2)
        if kw.get("nnf"):
            # an instance-based ranker beside the two linear ones, in a share that does
            # not fade: the mean of a record's ``nnk`` best cosines to the inclusions, so
            # that inclusions unlike the majority keep pulling their neighbours up late
            # in the screening
            sims = (XR @ XR[idx[yl == 1]].T).toarray()
            k = min(int(kw.get("nnk", 1)), sims.shape[1])
            if kw.get("nnk", 1) < 0:
                # k growing as the square root of the inclusions known (the classical
                # consistency rate for k-nearest neighbours)
                k = int(np.ceil(np.sqrt(sims.shape[1])))
            if kw.get("nnr"):
                # each inclusion's own ranking of the pool (1 = its nearest record), so
                # that an inclusion whose similarities are all low (a title without an
                # abstract) still nominates its neighbours
                sims = rankdata(sims, axis=0) / sims.shape[0]
            near = np.sort(sims, axis=1)[:, -k:].mean(axis=1)
            if kw.get("nnx"):
                # the k-nearest-neighbour contrast: less the mean of the k best cosines to
                # the exclusions (weight nnx), so that a record whose nearest screened
                # neighbours were excluded is not pulled up by a distant inclusion
                neg = (XR @ XR[idx[yl == 0]].T).toarray()
                kn = min(k, neg.shape[1])
                near = near - kw["nnx"] * np.partition(neg, neg.shape[1] - kn, axis=1)[:, -kn:].mean(axis=1)
            near_rank = rankdata(near)
            if kw.get("nns") and no_abstract is not None:
                # ranked among records of the same kind (with or without an abstract),
                # as a title alone meets a titled inclusion with a higher cosine than a
                # whole abstract does; each kind's ranks spread over the whole range
                for kind in (no_abstract, ~no_abstract):
                    if kind.any():
                        near_rank[kind] = rankdata(near[kind]) / kind.sum() * len(near)
            mixed = (1 - kw["nnf"]) * mixed + kw["nnf"] * near_rank
        if kw.get("lf"):
            # a second ranker, an SVM on the LSA coordinates, fused by ranks
            lf = kw["lf"] * (share if kw.get("lfade") else 1.0)
            mixed = (1 - lf) * mixed + lf * rankdata(_linear(_LSA[_CUR[0]], idx, yl, "svm", kw))
        return mixed
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
        return sum(rankdata(score(p, X, idx, yl, split)) for p in _models(spec[4:]))
    raise SystemExit(f"unknown model {spec!r}")


def _hedge(spec: str, X: Any, idx: np.ndarray, yl: np.ndarray, split: int | None,
           no_abstract: np.ndarray | None) -> np.ndarray:
    """Ranks of several models mixed with weights learnt during the screening: each
    inclusion found costs every model the log of the place it had given that record at
    the previous refit, and the weights are exp(-eta * cumulative cost) (Hedge: Freund Y,
    Schapire RE. A decision-theoretic generalization of on-line learning. *J Comput Syst
    Sci* 1997;55:119-139). ``hedge:ETA,DECAY:A+B+...``; ``;`` for ``,`` and ``~`` for ``:``
    inside a model."""
    (eta, decay), parts = _combined(spec)
    st = _STATE
    if "loss" not in st:
        st["loss"], st["n"] = np.zeros(len(parts)), len(idx)
    else:
        found = idx[st["n"]:][yl[st["n"]:] == 1]
        # older costs fade by ``decay`` per inclusion found: the best model late in the
        # screening, when the last inclusions are sought, may not be the early one
        fade = decay ** np.arange(len(found) - 1, -1, -1)
        st["loss"] = decay ** len(found) * st["loss"] + np.log1p(st["pos"][:, found]) @ fade
        st["n"] = len(idx)
    pool = np.ones(X.shape[0], dtype=bool)
    pool[idx] = False
    cand = np.flatnonzero(pool)
    scores = [score(p, X, idx, yl, split, no_abstract) for p in parts]
    pos = np.zeros((len(parts), X.shape[0]))
    for i, s in enumerate(scores):
        pos[i, cand[np.argsort(-s[cand], kind="stable")]] = np.arange(len(cand))
    st["pos"] = pos
    w = np.exp(-eta * (st["loss"] - st["loss"].min()))
    return sum(wi / w.sum() * rankdata(s) for wi, s in zip(w, scores))


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
    _STATE.clear()
    screened = np.zeros(len(y), dtype=bool)
    screened[list(priors)] = True
    known, order = list(priors), []
    left = int(y.sum()) - int(y[list(priors)].sum())
    ranked = np.flatnonzero(~screened)
    _, kw = parse(spec)
    step = 0
    while len(order) < len(y) - len(priors):
        pool = np.flatnonzero(~screened)
        if left == 0:
            order.extend(int(i) for i in ranked if not screened[i])
            break
        idx = np.asarray(known)
        s = score(spec, X, idx, y[idx], split, no_abstract)
        ranked = pool[np.argsort(-s[pool], kind="stable")]
        take = ranked[:_interval(len(known), spec)]
        step += 1
        if (kw.get("unc") and step % int(kw["unc"]) == 0 and len(known) < kw.get("uu", 100)
                and int(y[idx].sum()) < kw.get("ui", 1e9)):
            # uncertainty sampling (Lewis DD, Gale WA. A sequential algorithm for training
            # text classifiers. *SIGIR* 1994): the record nearest the SVM's boundary
            margin = np.abs(_linear(X, idx, y[idx], "svm", kw))
            take = pool[[int(np.argmin(margin[pool]))]]
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
    _CUR[0] = name
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
    ap.add_argument("--seeds", default="",
                    help="seeds other than the protocol's, e.g. 6-15 (write them to another --out)")
    args = ap.parse_args()
    seeds = seed_range(args.seeds)
    paths = {p.stem: str(p) for d in (args.data, args.validation) if d for p in sorted(d.glob("*.csv"))}
    sizes = {n: Path(p).stat().st_size for n, p in paths.items()}
    tasks = [(t, n, s, paths) for n in sorted(paths, key=lambda n: -sizes[n]) for t in args.trials
             for s in seeds]
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
