"""Rules a network must satisfy before it is fitted, each broken rule a named error.

- a treatment label spelled two ways ("CD" and "cd ", differing in case or white space) is
  reported with both spellings, never merged silently;
- a study with one arm, a treatment compared with itself, a comparison given twice in a
  study (duplicated arms), and a multi-arm study without a row for every pair of its arms
  (netmeta requires them all; its consistency check, ``chkmultiarm``) are errors naming the study;
- a disconnected network is an error listing its sub-networks (treatments and studies):
  relative effects between sub-networks are not estimable (Rücker 2012, section 2).
"""

from __future__ import annotations

import numpy as np

from metakit.errors import DataError


def _key(label: str) -> str:
    return " ".join(label.split()).casefold()


def check_spelling(labels: list[str], studies: list[str], column: str) -> None:
    """Raise :class:`DataError` when two labels differ only in case or white space.

    >>> check_spelling(["CD", "cd", "CD"], ["s1", "s2", "s3"], "treatment")
    Traceback (most recent call last):
    ...
    metakit.errors.DataError: column 'treatment': treatment spelled 2 ways: 'CD' (studies s1, s3), 'cd' (study s2); \
use one spelling
    """
    seen: dict[str, dict[str, list[str]]] = {}
    for label, s in zip(labels, studies):
        seen.setdefault(_key(label), {}).setdefault(label, []).append(s)
    for spellings in seen.values():
        if len(spellings) > 1:
            parts = []
            for label, ss in spellings.items():
                uniq = list(dict.fromkeys(ss))
                parts.append(f"{label!r} (stud{'y' if len(uniq) == 1 else 'ies'} {', '.join(uniq)})")
            raise DataError(f"treatment spelled {len(spellings)} ways: {', '.join(parts)}; use one spelling",
                            column=column)


def check_study_arms(studies, treatments, study: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> None:
    """Self-comparisons, duplicated comparisons and incomplete multi-arm studies are errors.

    ``study``, ``t1``, ``t2`` are sorted by (study, t1, t2) with ``t1 <= t2``.
    """
    same = np.flatnonzero(t1 == t2)
    if same.size:
        r = same[0]
        raise DataError(f"treatment {treatments[t1[r]]!r} is compared with itself", study=studies[study[r]])
    dup = np.flatnonzero((study[1:] == study[:-1]) & (t1[1:] == t1[:-1]) & (t2[1:] == t2[:-1]))
    if dup.size:
        r = dup[0]
        raise DataError(f"comparison {treatments[t1[r]]} vs {treatments[t2[r]]} appears twice (duplicated arms)",
                        study=studies[study[r]])
    k, n = len(studies), len(treatments)
    arms = np.zeros((k, n), dtype=bool)
    arms[study, t1] = True
    arms[study, t2] = True
    p = arms.sum(axis=1)
    rows = np.bincount(study, minlength=k)
    incomplete = np.flatnonzero(rows != p * (p - 1) // 2)
    if incomplete.size:
        s = incomplete[0]
        names = [treatments[t] for t in np.flatnonzero(arms[s])]
        raise DataError(f"multi-arm study with arms {', '.join(names)} needs all {p[s] * (p[s] - 1) // 2} "
                        f"pairwise comparisons, {rows[s]} given", study=studies[s])


def components(n: int, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` treatments given the edges (t1, t2)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(t1)), (t1, t2)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def check_connected(treatments, studies, study: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> None:
    """Raise :class:`DataError` listing the sub-networks if the network is not connected.

    >>> import numpy as np
    >>> check_connected(("A", "B", "C", "D"), ("s1", "s2"), np.array([0, 1]), np.array([0, 2]),
    ...                 np.array([1, 3]))
    Traceback (most recent call last):
    ...
    metakit.errors.DataError: the network is disconnected: 2 sub-networks: {A, B} (study s1); {C, D} (study s2); \
effects between sub-networks cannot be estimated
    """
    label = components(len(treatments), t1, t2)
    ncomp = label.max() + 1
    if ncomp == 1:
        return
    parts = []
    for c in range(ncomp):
        trts = [treatments[t] for t in np.flatnonzero(label == c)]
        ss = list(dict.fromkeys(studies[s] for s in study[label[t1] == c]))
        parts.append(f"{{{', '.join(trts)}}} (stud{'y' if len(ss) == 1 else 'ies'} {', '.join(ss)})")
    raise DataError(f"the network is disconnected: {ncomp} sub-networks: {'; '.join(parts)}; "
                    "effects between sub-networks cannot be estimated")
