"""What the screening models read: each record's text and its TF-IDF features.

:func:`record_texts` joins title and abstract (by default the title counted twice);
:func:`tfidf_features` turns texts into TF-IDF rows; :func:`record_features` builds both
matrices the default model uses (:class:`RecordFeatures`): the TF-IDF rows of title and
abstract as written, and those of the title counted twice and the abstract with each
record that has no abstract expanded by its nearest records
(:func:`expand_bare_records`). scikit-learn is an optional extra
(``pip install metakit[ml]``) imported only inside the functions that need it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metakit.errors import DataError

__all__ = [
    "TITLE_WEIGHT",
    "EXPANSION_WEIGHT",
    "EXPANSION_NEIGHBOURS",
    "MIN_ABSTRACT_CHARS",
    "RecordFeatures",
    "as_record_features",
    "record_texts",
    "tfidf_features",
    "expand_bare_records",
    "record_features",
]

#: How many times the title enters a record's text (see :func:`record_texts`).
TITLE_WEIGHT = 2

#: Weight of the neighbours' mean added to a record without an abstract
#: (see :func:`expand_bare_records`).
EXPANSION_WEIGHT = 0.5

#: Nearest records that expand a record without an abstract.
EXPANSION_NEIGHBOURS = 5

#: An abstract shorter than this (after stripping) counts as missing.
MIN_ABSTRACT_CHARS = 20


def _sklearn() -> Any:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("screening prioritisation needs scikit-learn: "
                          "pip install 'metakit[ml]'") from exc
    return sklearn


def _text(value: Any) -> str:
    """A cell as text: None and NaN (missing in a data frame) are empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def record_texts(titles: Sequence[Any], abstracts: Sequence[Any], *,
                 title_weight: int = TITLE_WEIGHT) -> list[str]:
    """The text the classifier reads for each record: the title twice, then the abstract.

    The title is the part that every record has (many records, in every field, come
    without an abstract) and the one that states what the study is about; repeating it
    raises its terms' weight under sublinear tf (1 + log 2 against 1) without
    dropping anything the abstract says. ``title_weight=1`` gives the text as written,
    which the Rocchio profile reads (:func:`record_features`). Missing fields count as
    empty.

    Examples
    --------
    >>> record_texts(["Hip necrosis"], [None])
    ['Hip necrosis Hip necrosis']
    >>> record_texts(["Hip necrosis"], ["Stem cells."], title_weight=1)
    ['Hip necrosis Stem cells.']
    """
    return [" ".join([_text(t)] * int(title_weight) + [_text(a)]).strip()
            for t, a in zip(titles, abstracts)]


def tfidf_features(texts: Sequence[str]) -> Any:
    """TF-IDF features of title + abstract texts: unigrams and bigrams, sublinear tf.

    No stop-word list and no minimum document frequency (nothing tuned to a language or
    a field): terms in more than 95% of the records are dropped, the rest weighted by
    (1 + log tf) * idf and each record scaled to unit length (Salton G, Buckley C.
    Term-weighting approaches in automatic text retrieval. *Inf Process Manag*
    1988;24:513-523).

    Examples
    --------
    >>> tfidf_features(["stem cell hip", "knee tendon", "hip"]).shape[0]
    3
    """
    _sklearn()
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                                 max_df=0.95, strip_accents="unicode")
    try:
        return vectoriser.fit_transform(list(texts)).tocsr()
    except ValueError:
        # Tiny corpora: every term is in more than 95% of the records
        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                               strip_accents="unicode").fit_transform(list(texts)).tocsr()


def expand_bare_records(X: Any, has_abstract: Sequence[bool] | np.ndarray, *,
                        weight: float = EXPANSION_WEIGHT,
                        neighbours: int = EXPANSION_NEIGHBOURS,
                        chunk: int = 256) -> Any:
    """TF-IDF rows in which each record without an abstract borrows its neighbours' terms.

    A record that has a title but no abstract gets ``weight`` times the cosine-weighted
    mean of its ``neighbours`` nearest other records (cosine of the TF-IDF rows, with or
    without an abstract) added to its own row, which is then scaled back to unit length:
    document expansion (Tao T, Wang X, Mei Q, Zhai C. Language model information retrieval with
    document expansion. *HLT-NAACL* 2006:407-414; Singhal A, Pereira F. Document
    expansion for speech retrieval. *SIGIR* 1999:34-41). A title alone shares few terms
    with the inclusions' abstracts, so a classifier trained mostly on records with
    abstracts tends to place it near its intercept, among the other title-only records;
    expanded, it is scored by the vocabulary of the studies it resembles. Neighbours
    without an abstract are allowed: where many records lack one, the nearest titles are
    the best evidence there is, and drawing only on the records with abstracts overwrote
    the titles with the vocabulary of more distant records
    (``benchmarks/SCREENING_RESULTS.md``, seventh round). Records with an abstract,
    records with no text at all (every cosine is zero, so no neighbour is nearer than
    another) and pools of no more than ``neighbours`` records are left as they are.
    Cosines are computed ``chunk`` bare records at a time, to bound memory.

    Parameters
    ----------
    X
        Unit-length TF-IDF rows (:func:`tfidf_features`), one per record.
    has_abstract
        Whether each record has an abstract.
    weight, neighbours, chunk
        See above.

    Returns
    -------
    scipy.sparse.csr_matrix
        Rows of the same shape as ``X``.

    Examples
    --------
    >>> X = tfidf_features(["hip necrosis stem cells", "hip necrosis core decompression",
    ...                     "knee tendon repair", "hip necrosis"])
    >>> E = expand_bare_records(X, [True, True, True, False], neighbours=2)
    >>> bool((E[3] @ X[0].T).toarray()[0, 0] > (X[3] @ X[0].T).toarray()[0, 0])
    True
    """
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    X = sp.csr_matrix(X)
    full = np.asarray(has_abstract, dtype=bool)
    if len(full) != X.shape[0]:
        raise DataError(f"{X.shape[0]} feature rows but {len(full)} abstract flags",
                        column="abstract")
    bare = np.flatnonzero(~full & (np.diff(X.indptr) > 0))
    k = int(neighbours)
    if len(bare) == 0 or X.shape[0] <= k or k < 1:
        return X
    rows, cols, vals = [], [], []
    for start in range(0, len(bare), chunk):
        part = bare[start:start + chunk]
        S = (X[part] @ X.T).toarray()
        S[np.arange(len(part)), part] = 0  # a record is not its own neighbour
        top = np.argpartition(-S, k - 1, axis=1)[:, :k]
        w = np.take_along_axis(S, top, axis=1)
        w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
        rows.append(np.repeat(part, k))
        cols.append(top.ravel())
        vals.append(w.ravel())
    mix = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(X.shape[0], X.shape[0]))
    return normalize((X + weight * (mix @ X)).tocsr())


@dataclass(frozen=True)
class RecordFeatures:
    """The two feature matrices of the default model, one row per record.

    ``plain`` holds the TF-IDF rows of title and abstract as written
    (:func:`tfidf_features`), read by the Rocchio profile; ``expanded`` those of the
    title counted twice and the abstract (:func:`record_texts`) with the records that
    lack an abstract expanded (:func:`expand_bare_records`), read by the classifiers.
    The two may have different columns. Indexing selects rows of both.

    Examples
    --------
    >>> F = record_features(["Hip necrosis", "Knee tendon", "Hip"],
    ...                     ["Stem cells for necrosis of the femoral head.",
    ...                      "Repair of the patellar tendon after rupture.", None])
    >>> F.shape[0], F[[0, 2]].shape[0]
    (3, 2)
    """

    plain: Any
    expanded: Any

    @property
    def shape(self) -> tuple[int, int]:
        """Records and columns of the ``expanded`` rows."""
        return self.expanded.shape

    def __getitem__(self, rows: Any) -> RecordFeatures:
        return RecordFeatures(self.plain[rows], self.expanded[rows])


def as_record_features(features: Any) -> RecordFeatures:
    """``features`` as :class:`RecordFeatures`; a plain matrix serves as both (no expansion)."""
    if isinstance(features, RecordFeatures):
        return features
    return RecordFeatures(features, features)


def record_features(titles: Sequence[Any], abstracts: Sequence[Any]) -> RecordFeatures:
    """The default model's features of records given by title and abstract.

    The Rocchio profile reads the TF-IDF rows of title and abstract as written, the
    classifiers those of :func:`record_texts` (the title counted twice) with the records
    without an abstract (fewer than :data:`MIN_ABSTRACT_CHARS` characters) expanded
    (:func:`expand_bare_records`). The profile leads while few inclusions are known and
    then ranks by the inclusions' own words; the classifier, which leads later, when
    the last inclusions are sought, is the one that must place the title-only records
    and weigh the title (``benchmarks/SCREENING_RESULTS.md``, seventh round).

    Examples
    --------
    >>> F = record_features(["Hip necrosis", "Knee tendon", "Hip necrosis"],
    ...                     ["Stem cells for necrosis of the femoral head.",
    ...                      "Repair of the patellar tendon after rupture.", None])
    >>> F.expanded.shape[0] == F.plain.shape[0] == 3
    True
    """
    titles, abstracts = list(titles), list(abstracts)
    if len(titles) != len(abstracts):
        raise DataError(f"{len(titles)} titles but {len(abstracts)} abstracts",
                        column="abstract")
    X = tfidf_features(record_texts(titles, abstracts))
    has_abstract = np.array([len(_text(a).strip()) >= MIN_ABSTRACT_CHARS for a in abstracts],
                            dtype=bool)
    plain = tfidf_features(record_texts(titles, abstracts, title_weight=1))
    return RecordFeatures(plain, expand_bare_records(X, has_abstract))
