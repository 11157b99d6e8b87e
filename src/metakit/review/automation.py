"""Automation tools: a study-design filter and screening prioritisation.

Two tools a review may report in the PRISMA 2020 box "records removed by automation
tools", and a ranker that puts the likely inclusions first.

Study-design filter
-------------------
The filter removes records that are, on transparent evidence, not randomised trials.
It is written in the spirit of the Cochrane Highly Sensitive Search Strategy (HSSS),
sensitivity-maximising version (Lefebvre C, Glanville J, Briscoe S, et al. Chapter 4:
Searching for and selecting studies. In: Higgins JPT et al. (eds). Cochrane Handbook
for Systematic Reviews of Interventions, version 6.3, 2022; Technical Supplement
section 3.6.1). The HSSS keeps a MEDLINE record if *any* of these holds:

=====  ======================================  ===================================
HSSS   term                                    here
=====  ======================================  ===================================
#1     randomized controlled trial [pt]        publication type, :data:`TRIAL_TYPES`
#2     controlled clinical trial [pt]          publication type, :data:`TRIAL_TYPES`
#3     randomized [tiab]                       ``randomi[sz]*`` in title/abstract
#4     placebo [tiab]                          ``placebo*``
#5     drug therapy [sh]                       subject heading/keyword "drug therapy"
#6     randomly [tiab]                         ``randomly``
#7     trial [tiab]                            ``trial*``
#8     groups [tiab]                           ``groups``
#10    NOT (animals [mh] NOT humans [mh])      rule ``animal_only``
=====  ======================================  ===================================

and the rules below (:data:`DESIGN_RULES`) are tried in order; the first that fires is
recorded with the record, so every removal names its reason and can be undone:

``pt_non_trial``
    The record carries a non-trial publication type (:data:`NON_TRIAL_TYPES`: reviews,
    case reports, comments, editorials, letters, news, ...) and no trial type
    (:data:`TRIAL_TYPES`). A trial type always wins, so a letter that is tagged
    "Randomized Controlled Trial" is kept.
``animal_only``
    HSSS line #10: subject headings say "Animals" and not "Humans"; for records without
    subject headings (e.g. an Embase or CSV import), the title names a laboratory
    species (:data:`ANIMAL_TERMS`) and neither title nor abstract names people
    (:data:`HUMAN_TERMS`). The title-based half is our extension.
``title_non_trial_design``
    The title names a design that is not a trial (:data:`NON_TRIAL_TITLE_TERMS`:
    systematic review, meta-analysis, case report, ...) and carries no trial type.
``no_trial_terms``
    None of HSSS lines #1-#8 matches: no trial publication type, no "drug therapy"
    heading and none of the text words in title or abstract. Records with neither
    title nor abstract are never removed by this rule (there is no evidence).

Screening prioritisation
------------------------
:func:`rank_records` ranks unscreened records by the relevance learned from the decisions
made so far (active learning with certainty sampling, as in ASReview: van de Schoot R et
al. An open source machine learning framework for efficient and transparent systematic
reviews. *Nat Mach Intell* 2021;3:125-133). The default model, ``blend``, mixes two
rankings: a class-weighted linear SVM (ASReview LAB's default classifier) on TF-IDF
features of the title (counted twice, :func:`record_texts`) and abstract, in which each
record without an abstract is expanded by its nearest records
(:mod:`metakit.review.text_features`), and a Rocchio relevance-feedback profile (the
inclusions' centroid minus a quarter of the exclusions') on title and abstract as
written. The Rocchio share, 5 / (5 + inclusions known), leads while one or a few
inclusions are known, when a centroid generalises from them better than a
maximum-margin fit, and fades as they accumulate. Against ASReview LAB 3.0.8's default
model on the same priors it saves 0.045 more work at 95% recall (WSS@95) on nine drug
reviews and 0.031 more on five reviews from other fields, and finds more inclusions in
the first 10% of the records on both (recall after 10% +0.007 and +0.010);
``benchmarks/SCREENING_RESULTS.md`` lists every variant tried.
:func:`simulate_screening` replays a
labelled review in which the model learns only the labels of records already screened,
and reports work saved
over sampling (WSS, Cohen AM et al. Reducing workload in systematic review preparation
using automated citation classification. *JAMIA* 2006;13:206-219) and the recall after
screening a fraction of the records (RRF). scikit-learn is an optional extra
(``pip install metakit[ml]``) imported only inside the functions that need it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metakit.errors import DataError
from metakit.review.text_features import (
    _text,
    as_record_features,
    record_features,
    record_texts,
    tfidf_features,
)

__all__ = [
    "TRIAL_TYPES",
    "NON_TRIAL_TYPES",
    "ANIMAL_TERMS",
    "HUMAN_TERMS",
    "NON_TRIAL_TITLE_TERMS",
    "HSSS_TEXT_TERMS",
    "DESIGN_RULES",
    "DesignRule",
    "DesignFilterResult",
    "design_filter",
    "rank_records",
    "SimulationResult",
    "simulate_screening",
    "wss",
    "recall_at",
    "refit_interval",
    "record_texts",
    "record_features",
    "MODELS",
    "DEFAULT_MODEL",
]

#: Publication types that show a trial (HSSS #1, #2 and their MEDLINE relatives).
TRIAL_TYPES: frozenset[str] = frozenset({
    "randomized controlled trial",
    "controlled clinical trial",
    "pragmatic clinical trial",
    "equivalence trial",
    "clinical trial",
    "clinical trial, phase i",
    "clinical trial, phase ii",
    "clinical trial, phase iii",
    "clinical trial, phase iv",
    "clinical trial protocol",
    "multicenter study",
    "randomised controlled trial",
})

#: Publication types that show the record is not a report of a trial.
NON_TRIAL_TYPES: frozenset[str] = frozenset({
    "review",
    "systematic review",
    "meta-analysis",
    "scoping review",
    "case reports",
    "case report",
    "comment",
    "editorial",
    "letter",
    "news",
    "newspaper article",
    "biography",
    "historical article",
    "interview",
    "lecture",
    "portrait",
    "published erratum",
    "retraction of publication",
    "practice guideline",
    "guideline",
    "consensus development conference",
    "observational study",
    "twin study",
    "validation study",
})

#: Laboratory species named in titles of animal studies (rule ``animal_only``).
ANIMAL_TERMS: tuple[str, ...] = (
    "rat", "rats", "mouse", "mice", "murine", "rabbit", "rabbits", "canine", "dog",
    "dogs", "porcine", "pig", "pigs", "piglets", "sheep", "ovine", "goat", "goats",
    "bovine", "equine", "horse", "horses", "rodent", "rodents", "zebrafish", "primate",
    "primates", "monkey", "monkeys", "macaque", "macaques", "animal model",
    "animal models", "in vivo model",
)

#: Words that show people were studied; any of them keeps an ``animal_only`` candidate.
HUMAN_TERMS: tuple[str, ...] = (
    "patient", "patients", "participant", "participants", "human", "humans", "men",
    "women", "children", "adults", "adult", "volunteers", "subjects", "people",
    "persons", "infants", "adolescents", "elderly",
)

#: Title phrases that name a design other than a trial (rule ``title_non_trial_design``).
NON_TRIAL_TITLE_TERMS: tuple[str, ...] = (
    "systematic review", "meta-analysis", "meta analysis", "metaanalysis",
    "scoping review", "narrative review", "literature review", "umbrella review",
    "review of the literature", "case report", "case series", "a case of",
    "editorial", "letter to the editor", "erratum", "corrigendum", "retraction",
)

#: HSSS lines #3, #4, #6, #7, #8 as regular expressions on title and abstract.
HSSS_TEXT_TERMS: tuple[str, ...] = (
    r"randomi[sz]\w*", r"placebo\w*", r"randomly", r"trials?", r"groups",
)


@dataclass(frozen=True)
class DesignRule:
    """One row of the design filter's rule table.

    Attributes
    ----------
    name
        The rule's name, recorded with each record it removes.
    hsss
        The HSSS lines the rule stands for ("" for our extensions).
    description
        What the rule checks, in words.
    """

    name: str
    hsss: str
    description: str


#: The rule table, in the order the rules are tried.
DESIGN_RULES: tuple[DesignRule, ...] = (
    DesignRule("pt_non_trial", "#1, #2",
               "a non-trial publication type and no trial publication type"),
    DesignRule("animal_only", "#10",
               "subject headings Animals without Humans; or, without headings, a "
               "laboratory species in the title and no human term in title/abstract"),
    DesignRule("title_non_trial_design", "",
               "the title names a non-trial design (review, meta-analysis, case "
               "report, ...) and there is no trial publication type"),
    DesignRule("no_trial_terms", "#1-#8",
               "none of the HSSS terms: no trial type, no 'drug therapy' heading, no "
               "randomi*/placebo/randomly/trial/groups in title or abstract"),
)


def _words_regex(terms: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(t).replace(r"\ ", r"[\s-]+") for t in terms)
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)


_ANIMAL_RE = _words_regex(ANIMAL_TERMS)
_HUMAN_RE = _words_regex(HUMAN_TERMS)
_TITLE_DESIGN_RE = _words_regex(NON_TRIAL_TITLE_TERMS)
_HSSS_RE = re.compile(r"\b(?:" + "|".join(HSSS_TEXT_TERMS) + r")\b", re.IGNORECASE)


def _as_list(value: Any) -> list[str]:
    """A list of lower-case tags from a list, a ';'-separated string or a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        items = re.split(r"[;|\n]", value)
    else:
        items = list(value)
    # MEDLINE marks major headings with '*' ("*Animals", "Femur Head/*surgery")
    return [str(v).replace("*", "").strip().lower() for v in items if str(v).strip()]


def _first_rule(title: str, abstract: str, pub_types: list[str],
                headings: list[str]) -> tuple[str, str] | None:
    """The first rule that fires on one record and the evidence it saw, or None."""
    trial_pt = [p for p in pub_types if p in TRIAL_TYPES]
    non_trial_pt = [p for p in pub_types if p in NON_TRIAL_TYPES]
    if non_trial_pt and not trial_pt:
        return "pt_non_trial", "publication type: " + ", ".join(non_trial_pt)
    heads = set(headings)
    if "animals" in heads and "humans" not in heads:
        return "animal_only", "subject headings: Animals without Humans"
    if not headings:
        species = _ANIMAL_RE.search(title)
        if species and not _HUMAN_RE.search(title + " " + abstract):
            return "animal_only", f"title names {species.group(0)!r}, no human term"
    if not trial_pt:
        design = _TITLE_DESIGN_RE.search(title)
        if design:
            return "title_non_trial_design", f"title says {design.group(0)!r}"
    if not (title or abstract):
        return None
    drug_therapy = any("drug therapy" in h for h in headings)
    if not trial_pt and not drug_therapy and not _HSSS_RE.search(title + " " + abstract):
        return "no_trial_terms", "no HSSS term in title, abstract, type or headings"
    return None


@dataclass(frozen=True)
class DesignFilterResult:
    """The design filter's verdict on each record.

    Attributes
    ----------
    record_ids
        The records, in input order.
    rules
        The rule that fired for each record (None where the record is kept).
    evidence
        What the rule saw ("publication type: review").
    """

    record_ids: tuple[Any, ...]
    rules: tuple[str | None, ...]
    evidence: tuple[str | None, ...]

    @property
    def removed(self) -> tuple[Any, ...]:
        """Ids of the records the filter removes."""
        return tuple(r for r, rule in zip(self.record_ids, self.rules) if rule is not None)

    @property
    def kept(self) -> tuple[Any, ...]:
        """Ids of the records the filter keeps."""
        return tuple(r for r, rule in zip(self.record_ids, self.rules) if rule is None)

    def counts(self) -> dict[str, int]:
        """Number of records removed by each rule (rules that fired on none included)."""
        out = {rule.name: 0 for rule in DESIGN_RULES}
        for rule in self.rules:
            if rule is not None:
                out[rule] += 1
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per record: record_id, removed, rule, evidence."""
        return pd.DataFrame({
            "record_id": list(self.record_ids),
            "removed": [r is not None for r in self.rules],
            "rule": list(self.rules),
            "evidence": list(self.evidence),
        })

    def to_dict(self) -> dict[str, Any]:
        """Counts per rule, and the removed records with their rule."""
        return {
            "n_records": len(self.record_ids),
            "n_removed": len(self.removed),
            "counts": self.counts(),
            "removed": {r: rule for r, rule in zip(self.record_ids, self.rules)
                        if rule is not None},
        }

    def summary(self) -> str:
        """A few lines: records removed by each rule."""
        lines = [f"Design filter (Cochrane HSSS, sensitivity-maximising): "
                 f"{len(self.removed)} of {len(self.record_ids)} records removed"]
        for name, n in self.counts().items():
            lines.append(f"  {name:<24}{n:>8}")
        return "\n".join(lines)


def design_filter(records: pd.DataFrame | Sequence[Mapping[str, Any]], *,
                  id_column: str = "record_id", title: str = "title",
                  abstract: str = "abstract", publication_types: str = "publication_types",
                  headings: str = "keywords") -> DesignFilterResult:
    """Flag records that are not randomised trials, naming the rule that fired.

    Parameters
    ----------
    records
        A data frame (or a list of mappings) with one row per record.
    id_column
        Column holding the record id; the row position is used when it is absent.
    title, abstract
        Text columns.
    publication_types
        Column of publication types: a list, or a string separated by ';'.
    headings
        Column of subject headings/keywords (MeSH, Emtree), same format.

    Returns
    -------
    DesignFilterResult
        The rule (or None) for each record; nothing is deleted here: the store records
        the flag and can undo it.

    Examples
    --------
    >>> res = design_filter([
    ...     {"record_id": 1, "title": "Core decompression: a review",
    ...      "publication_types": "Review"},
    ...     {"record_id": 2, "title": "Stem cells for osteonecrosis",
    ...      "abstract": "A randomised trial.",
    ...      "publication_types": "Randomized Controlled Trial"}])
    >>> res.rules
    ('pt_non_trial', None)
    """
    frame = pd.DataFrame(list(records)) if not isinstance(records, pd.DataFrame) else records
    n = len(frame)

    def column(name: str) -> list[Any]:
        return frame[name].tolist() if name in frame.columns else [None] * n

    ids = column(id_column) if id_column in frame.columns else list(range(n))
    if len(set(ids)) != len(ids):
        raise DataError("record ids must be unique", column=id_column)
    rules: list[str | None] = []
    evidence: list[str | None] = []
    for t, a, p, h in zip(column(title), column(abstract), column(publication_types),
                          column(headings)):
        verdict = _first_rule(_text(t), _text(a), _as_list(p), _as_list(h))
        rules.append(None if verdict is None else verdict[0])
        evidence.append(None if verdict is None else verdict[1])
    return DesignFilterResult(tuple(ids), tuple(rules), tuple(evidence))


# --------------------------------------------------------------------------------------
# Prioritisation


MODELS = ("blend", "svm", "ensemble", "logistic", "nb")

#: The model that ranks records unless another is asked for.
DEFAULT_MODEL = "blend"

#: Weight of the inclusions against the exclusions (see :func:`_class_weights`).
INCLUSION_EMPHASIS = 9.8


def _class_weights(y: np.ndarray, emphasis: float = INCLUSION_EMPHASIS) -> dict[int, float]:
    """Class weights under which the inclusions weigh ``emphasis`` times the exclusions.

    Each inclusion weighs 1 and each exclusion n1 / (emphasis n0), rescaled so that the
    weights average 1 (the "balanced" sample weights of ASReview LAB 2+, whose default
    emphasis 9.8 was tuned on the SYNERGY reviews of many fields; van de Schoot et al.
    2021). Inclusions are rare and each one found early moves the ranking most.
    """
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    w1, w0 = 1.0, n1 / (emphasis * n0)
    scale = len(y) / (n1 * w1 + n0 * w0)
    return {1: w1 * scale, 0: w0 * scale}


#: Inclusions known at which the Rocchio half of ``blend`` weighs as much as the SVM.
ROCCHIO_HALF = 5

#: Weight of the exclusions' centroid in the Rocchio profile of ``blend``.
ROCCHIO_NEGATIVE = 0.25


def _rocchio(X: Any, labelled: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rocchio profile: centroid of the inclusions minus a quarter of the exclusions'.

    Rocchio JJ. Relevance feedback in information retrieval. In: Salton G (ed). *The
    SMART retrieval system*. Prentice-Hall, 1971:313-323. The 4:1 ratio of positive to
    negative feedback follows Buckley C, Salton G, Allan J. The effect of adding
    relevance information in a relevance feedback environment. *SIGIR* 1994:292-300;
    it was not tuned here (0 and 0.5 did as well in ``benchmarks/screening_explore.py``).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix(np.eye(3))
    >>> _rocchio(X, np.array([0, 1, 2]), np.array([1, 0, 0])).tolist()
    [1.0, -0.125, -0.125]
    """
    pos = np.asarray(X[labelled[y == 1]].mean(axis=0)).ravel()
    neg = np.asarray(X[labelled[y == 0]].mean(axis=0)).ravel()
    return pos - ROCCHIO_NEGATIVE * neg


def _ranks(v: np.ndarray) -> np.ndarray:
    """Ranks scaled to (0, 1], ties averaged, so that scores on any scale can be added."""
    from scipy.stats import rankdata

    return rankdata(v) / len(v)


def _scores(X: Any, labelled: np.ndarray, y: np.ndarray, model: str) -> np.ndarray:
    """Relevance scores of every row of X after fitting ``model`` on the labelled rows.

    ``blend`` (the default) mixes the ranks of the ``svm`` and of the Rocchio profile of
    :func:`_rocchio`, the latter with weight ``ROCCHIO_HALF / (ROCCHIO_HALF + inclusions
    known)``: a centroid is the better guess from one or two inclusions (Joachims T. A
    probabilistic analysis of the Rocchio algorithm with TFIDF for text categorization.
    *ICML* 1997), the SVM once there are more. ``svm`` is a linear support vector machine
    (squared hinge loss, C = 0.11) and ``logistic`` an L2 logistic regression (C = 10),
    both with the inclusion emphasis of :func:`_class_weights` (King G, Zeng L. Logistic
    regression in rare events data. *Polit Anal* 2001;9:137-163, on weighting rare
    events); the SVM settings are those of ASReview LAB 2+'s default model. ``ensemble``
    adds the two models' ranks (Cormack GV, Clarke CLA, Buettcher S. Reciprocal rank
    fusion outperforms Condorcet and individual rank learning methods. *SIGIR* 2009); on
    the development set it did no better than the SVM alone
    (``benchmarks/SCREENING_RESULTS.md``).
    ``nb`` is multinomial naive Bayes (ASReview's classic classifier; Ferdinands G et
    al. Performance of active learning models for screening prioritization in
    systematic reviews. *Syst Rev* 2023;12:100)
    on a set in which inclusions are oversampled to balance the classes.

    ``X`` is a :class:`~metakit.review.text_features.RecordFeatures` (or one matrix,
    used for both parts): the classifiers read its ``expanded`` rows (title counted
    twice, a record without an abstract carrying its nearest records' terms), the
    Rocchio profile its ``plain`` rows (title and abstract as written); see
    :func:`~metakit.review.text_features.record_features` for why.
    """
    F = as_record_features(X)
    if model in ("blend", "ensemble", "svm", "logistic"):
        parts = {"ensemble": ("svm", "logistic"), "blend": ("svm",)}.get(model, (model,))
        fits = [(F.expanded, *_fit_linear(F.expanded[labelled], y, m)) for m in parts]
        if model == "blend":
            fits.append((F.plain, _rocchio(F.plain, np.asarray(labelled), y), 0.0))
        # one sparse product per member: X @ [w_1 ... w_k] with a dense two-column W
        # takes scipy's slower path (3-4 times one product on 20,000 records)
        S = np.column_stack([np.asarray(M @ w).ravel() + b for M, w, b in fits])
        if model == "blend":
            share = ROCCHIO_HALF / (ROCCHIO_HALF + int((y == 1).sum()))
            return (1 - share) * _ranks(S[:, 0]) + share * _ranks(S[:, 1])
        if model != "ensemble":
            return S[:, 0]
        return sum(_ranks(S[:, j]) for j in range(S.shape[1]))
    return _fit_score(F.expanded, labelled, y, model)


def _fit_linear(Xl: Any, yl: np.ndarray, model: str) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of the ``svm`` or ``logistic`` model of :func:`_scores`."""
    if model == "logistic":
        from sklearn.linear_model import LogisticRegression

        # dual liblinear: far faster when features outnumber the screened records
        clf = LogisticRegression(C=10.0, class_weight=_class_weights(yl), max_iter=1000,
                                 solver="liblinear", dual=True, random_state=0)
    else:
        from sklearn.svm import LinearSVC

        clf = LinearSVC(C=0.11, class_weight=_class_weights(yl), random_state=0)
    # liblinear visits the records in a random order: seeded, the same decisions give
    # the same ranking in the screener and in a replay
    clf.fit(Xl, yl)
    return clf.coef_.ravel(), float(clf.intercept_[0])


def _fit_score(X: Any, labelled: np.ndarray, y: np.ndarray, model: str) -> np.ndarray:
    """Naive Bayes of :func:`_scores`, fitted on the labelled rows, scoring every row."""
    Xl, yl = X[labelled], y
    if model == "nb":
        from sklearn.naive_bayes import MultinomialNB

        idx = _balanced_oversample(yl)
        clf = MultinomialNB(alpha=3.822)
        clf.fit(Xl[idx], yl[idx])
        return clf.predict_log_proba(X)[:, 1] - clf.predict_log_proba(X)[:, 0]
    raise DataError(f"model must be one of {MODELS}, got {model!r}", column="model")


def _balanced_oversample(y: np.ndarray) -> np.ndarray:
    """Indices of a training set in which the inclusions are repeated to match the exclusions.

    A simple, deterministic stand-in for ASReview's "double balance" (which also
    down-weights exclusions with a tuned rule; Ferdinands et al. 2023): here the
    inclusions are tiled until both classes have the same size, so naive Bayes does
    not learn that inclusions are rare.
    """
    ones = np.flatnonzero(y == 1)
    zeros = np.flatnonzero(y == 0)
    if len(ones) == 0 or len(zeros) == 0:
        return np.arange(len(y))
    return np.concatenate([np.resize(ones, max(len(zeros), len(ones))), zeros])


def rank_records(texts: Sequence[str] | None, labels: Sequence[int | None] | np.ndarray, *,
                 model: str = DEFAULT_MODEL, features: Any = None) -> np.ndarray:
    """Rank unscreened records, most likely inclusion first.

    Parameters
    ----------
    texts
        Title and abstract of every record (labelled and unlabelled).
    labels
        1 (include), 0 (exclude) or None/-1 (not yet screened), per record.
    model
        "blend" (default), "svm", "ensemble", "logistic" or "nb" (see :func:`_scores`).
    features
        Precomputed features (one row per record, e.g. cached by a screening session):
        :func:`~metakit.review.text_features.record_features` of the titles and
        abstracts gives the default model's, in which records without an abstract are
        expanded by their neighbours; ``texts`` is then not used and may be None. From
        ``texts`` alone (which do not say which records lack an abstract) no record is
        expanded.

    Returns
    -------
    numpy.ndarray
        Positions of the unlabelled records, best first. Until at least one inclusion and
        one exclusion are known, the records keep their input order.

    Examples
    --------
    >>> texts = ["stem cell hip", "stem cell femoral head", "knee tendon", "shoulder tendon"]
    >>> rank_records(texts, [1, 0, None, None]).tolist()[0] in (2, 3)
    True
    """
    lab = np.array([-1 if v is None else int(v) for v in labels], dtype=int)
    n = features.shape[0] if features is not None else len(texts or [])
    if len(lab) != n:
        raise DataError(f"{n} records but {len(lab)} labels", column="labels")
    if np.any((lab != -1) & (lab != 0) & (lab != 1)):
        raise DataError("labels must be 1 (include), 0 (exclude) or None", column="labels")
    unlabelled = np.flatnonzero(lab == -1)
    labelled = np.flatnonzero(lab != -1)
    if not (np.any(lab == 1) and np.any(lab == 0)):
        return unlabelled
    X = tfidf_features(texts) if features is None else features
    scores = _scores(X, labelled, lab[labelled], model)
    # stable sort keeps input order among ties
    return unlabelled[np.argsort(-scores[unlabelled], kind="stable")]


def wss(order_labels: Sequence[int] | np.ndarray, recall: float = 0.95) -> float:
    """Work saved over sampling at a recall level (Cohen et al. 2006).

    With N records screened in the given order and the reviewer stopping as soon as
    ``ceil(recall * K)`` of the K inclusions are found after n records,
    WSS = (N - n) / N - (1 - recall).

    Parameters
    ----------
    order_labels
        Labels (1 include, 0 exclude) in the order the records were screened.
    recall
        Target recall, in (0, 1].

    Examples
    --------
    >>> wss([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], recall=0.95)   # n = 2 of N = 10
    0.75
    """
    y = np.asarray(order_labels, dtype=int)
    k = int(y.sum())
    if k == 0:
        raise DataError("WSS needs at least one inclusion", column="labels")
    target = math.ceil(recall * k - 1e-12)
    n = int(np.searchsorted(np.cumsum(y), target) + 1)
    return (len(y) - n) / len(y) - (1 - recall)


def recall_at(order_labels: Sequence[int] | np.ndarray, fraction: float = 0.10) -> float:
    """Recall after screening a fraction of the records (RRF; ASReview's "RRF@10").

    The number screened is ``floor(fraction * N)`` (the development set's protocol).

    Examples
    --------
    >>> recall_at([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1], fraction=0.10)  # 1 of 13 read
    0.3333333333333333
    """
    y = np.asarray(order_labels, dtype=int)
    k = int(y.sum())
    if k == 0:
        raise DataError("recall needs at least one inclusion", column="labels")
    n = math.floor(fraction * len(y) + 1e-12)
    return float(y[:n].sum() / k)


@dataclass(frozen=True)
class SimulationResult:
    """A replayed screening: the order in which the model presented the records.

    Attributes
    ----------
    order
        Positions of the records in the order screened, priors excluded.
    labels
        Their true labels, in that order.
    priors
        Positions of the prior records given to the model at the start.
    model, batch_size, seed
        The settings of the run (``batch_size`` 0: the cadence of
        :func:`refit_interval`).
    n_retrains
        How many times the model was fitted.
    """

    order: np.ndarray
    labels: np.ndarray
    priors: tuple[int, ...]
    model: str
    batch_size: int
    seed: int
    n_retrains: int
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def wss95(self) -> float:
        """Work saved over sampling at 95% recall, priors excluded."""
        return wss(self.labels, 0.95)

    @property
    def rrf10(self) -> float:
        """Recall after screening 10% of the records, priors excluded."""
        return recall_at(self.labels, 0.10)

    def recall_curve(self) -> np.ndarray:
        """Recall after each record screened (length N)."""
        return np.cumsum(self.labels) / self.labels.sum()

    def to_dict(self) -> dict[str, Any]:
        """The settings and the two metrics."""
        return {"model": self.model, "n_records": int(len(self.labels)),
                "n_included": int(self.labels.sum()), "priors": list(self.priors),
                "batch_size": self.batch_size, "seed": self.seed,
                "n_retrains": self.n_retrains, "wss95": self.wss95, "rrf10": self.rrf10}

    def to_frame(self) -> pd.DataFrame:
        """One row per record screened: rank, position, label, recall so far."""
        return pd.DataFrame({"rank": np.arange(1, len(self.order) + 1),
                             "record": self.order, "label": self.labels,
                             "recall": self.recall_curve()})

    def summary(self) -> str:
        """One line with WSS@95 and RRF@10."""
        return (f"{self.model}: N = {len(self.labels)}, included = {int(self.labels.sum())}, "
                f"WSS@95 = {self.wss95:.3f}, RRF@10 = {self.rrf10:.3f}")


def refit_interval(n_labelled: int, every: int | None = None) -> int:
    """Decisions between two refits of the model, as a function of records labelled.

    ``every`` when given; otherwise one refit per decision for the first 100 labelled
    records and then one per ``n_labelled // 50`` decisions (2% of what is known), so
    that the model follows every early decision, when each changes the ranking most,
    and the cost of refitting stays proportional to what the reviewer has read. The
    screener (:class:`metakit.review.session.ScreeningSession`) and
    :func:`simulate_screening` use the same cadence.

    Examples
    --------
    >>> refit_interval(40), refit_interval(500), refit_interval(500, every=10)
    (1, 10, 10)
    """
    if every is not None:
        return max(1, int(every))
    return max(1, n_labelled // 50)


def simulate_screening(texts: Sequence[str], labels: Sequence[int] | np.ndarray, *,
                       model: str = DEFAULT_MODEL, priors: Sequence[int] | None = None,
                       n_prior_included: int = 1, n_prior_excluded: int = 1,
                       batch_size: int | None = None, seed: int = 0,
                       features: Any = None) -> SimulationResult:
    """Replay a screening in which the model learns only the labels already screened.

    The run starts from the given ``priors`` (positions of records whose labels the
    model knows at the start; at least one inclusion and one exclusion), or from
    ``n_prior_included`` inclusions and ``n_prior_excluded`` exclusions drawn at random
    with ``seed``. The model is then fitted on the labels known so far, the top-ranked
    unscreened records are "screened" (their true labels revealed) until the next refit
    (:func:`refit_interval`, the screener's cadence, or every ``batch_size`` records),
    and so on until every record is screened. Once every inclusion has been found the
    remaining order no longer changes WSS or recall, so the last ranking is kept for the
    rest. TF-IDF weights are computed once on all texts (they use no labels).

    Parameters
    ----------
    texts
        Title + abstract of each record.
    labels
        True final labels (1 include, 0 exclude).
    model
        See :func:`rank_records`.
    priors
        Positions of the prior records (the protocol's priors, shared between tools).
    n_prior_included, n_prior_excluded
        Prior knowledge drawn at random when ``priors`` is None.
    batch_size
        Records screened between two refits; None for :func:`refit_interval`.
    seed
        Seed for drawing the priors.
    features
        Precomputed features (rows = records), to share across runs; as in
        :func:`rank_records`, :func:`~metakit.review.text_features.record_features`
        gives the screener's (records without an abstract expanded), ``texts`` alone
        plain TF-IDF.

    Returns
    -------
    SimulationResult
        The screening order with WSS@95 and RRF@10 (priors excluded from both).
    """
    y = np.asarray(labels, dtype=int)
    if len(y) != len(texts):
        raise DataError(f"{len(texts)} texts but {len(y)} labels", column="labels")
    if batch_size is not None and batch_size < 1:
        raise DataError("batch_size must be >= 1", column="batch_size")
    if priors is not None:
        prior_arr = np.asarray(list(priors), dtype=int)
        if (len(set(prior_arr.tolist())) != len(prior_arr) or np.any(prior_arr < 0)
                or np.any(prior_arr >= len(y))):
            raise DataError("priors must be distinct record positions", column="priors")
        if not (np.any(y[prior_arr] == 1) and np.any(y[prior_arr] == 0)):
            raise DataError("the priors need at least one inclusion and one exclusion",
                            column="priors")
    else:
        if n_prior_included < 1 or n_prior_excluded < 1:
            raise DataError("the simulation needs at least one prior inclusion and "
                            "exclusion", column="priors")
        ones, zeros = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        if len(ones) <= n_prior_included or len(zeros) <= n_prior_excluded:
            raise DataError("too few inclusions/exclusions for the priors requested",
                            column="labels")
        rng = np.random.default_rng(seed)
        prior_arr = np.concatenate([rng.choice(ones, n_prior_included, replace=False),
                                    rng.choice(zeros, n_prior_excluded, replace=False)])
    if int(y.sum()) == int(y[prior_arr].sum()):
        raise DataError("every inclusion is among the priors: nothing to find",
                        column="priors")
    X = tfidf_features(texts) if features is None else features
    screened = np.zeros(len(y), dtype=bool)
    screened[prior_arr] = True
    known = [int(i) for i in prior_arr]
    order: list[int] = []
    left_to_find = int(y.sum()) - int(y[prior_arr].sum())
    n_fits = 0
    ranked = np.flatnonzero(~screened)
    while len(order) < len(y) - len(prior_arr):
        pool = np.flatnonzero(~screened)
        if left_to_find == 0:
            # nothing left to find: the rest keeps the last ranking
            order.extend(int(i) for i in ranked if not screened[i])
            break
        idx = np.asarray(known)
        scores = _scores(X, idx, y[idx], model)
        n_fits += 1
        ranked = pool[np.argsort(-scores[pool], kind="stable")]
        take = ranked[:refit_interval(len(known), batch_size)]
        screened[take] = True
        known.extend(int(i) for i in take)
        order.extend(int(i) for i in take)
        left_to_find -= int(y[take].sum())
    order_arr = np.asarray(order, dtype=int)
    return SimulationResult(order_arr, y[order_arr], tuple(int(p) for p in prior_arr),
                            model, batch_size or 0, seed, n_fits)
