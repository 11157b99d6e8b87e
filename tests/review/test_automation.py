"""Design filter rules, ranking, and the WSS / RRF metrics against hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from metakit.errors import DataError
from metakit.review.automation import (
    DESIGN_RULES,
    design_filter,
    rank_records,
    recall_at,
    simulate_screening,
    wss,
)
from metakit.review.text_features import (
    RecordFeatures,
    expand_bare_records,
    record_features,
    record_texts,
    tfidf_features,
)

RCT_ABSTRACT = ("Sixty patients were randomly assigned to core decompression with or "
                "without bone marrow cells; the primary outcome was collapse at 2 years.")

RECORDS = [
    # (id, title, abstract, publication types, headings) -> expected rule
    (1, "Stem cells for osteonecrosis: a narrative overview", "We summarise trials.",
     "Review", "", "pt_non_trial"),
    (2, "Femoral head collapse after cell therapy", "A 43-year-old man ...",
     "Case Reports", "", "pt_non_trial"),
    (3, "Comment on: bone marrow cells for the hip", "", "Comment; Letter", "",
     "pt_non_trial"),
    (4, "Bone marrow concentrate in a rabbit model of osteonecrosis",
     "Twenty rabbits received ethanol injections in two groups.", "Journal Article", "",
     "animal_only"),
    (5, "Cell therapy for osteonecrosis", "Two groups were compared.", "Journal Article",
     "Animals; Osteonecrosis/therapy", "animal_only"),
    (6, "Core decompression with bone marrow cells: a randomised controlled trial",
     RCT_ABSTRACT, "Randomized Controlled Trial", "Humans", None),
    (7, "Cell therapy for the hip: a systematic review and meta-analysis",
     "We pooled randomized controlled trials.", "Journal Article", "", "title_non_trial_design"),
    (8, "Long-term outcome of core decompression", "We followed 120 hips for 10 years.",
     "Journal Article", "", "no_trial_terms"),
    # a letter that reports a trial is kept: a trial type always wins
    (9, "Letter: results of our randomised trial", RCT_ABSTRACT,
     "Letter; Randomized Controlled Trial", "", None),
    # the rat is in a trial of people? no: human terms keep it
    (10, "Rat-bite fever in patients after hip surgery", "Patients were randomly allocated.",
     "Journal Article", "", None),
    # no text at all: no evidence, kept
    (11, "", "", "", "", None),
    # HSSS #5: drug therapy subheading keeps a record without text terms
    (12, "Alendronate for osteonecrosis", "Hips were followed for five years.",
     "Journal Article", "Osteonecrosis/drug therapy; Humans", None),
    # a placebo-controlled study with no publication type
    (13, "Iloprost versus placebo in bone marrow oedema", "Double-blind study.", "", "",
     None),
]


@pytest.fixture
def result():
    rows = [dict(record_id=r[0], title=r[1], abstract=r[2], publication_types=r[3],
                 keywords=r[4]) for r in RECORDS]
    return design_filter(rows)


def test_each_record_gets_its_rule(result):
    expected = {r[0]: r[5] for r in RECORDS}
    assert dict(zip(result.record_ids, result.rules)) == expected


def test_counts_and_evidence(result):
    counts = result.counts()
    assert set(counts) == {r.name for r in DESIGN_RULES}
    assert counts == {"pt_non_trial": 3, "animal_only": 2, "title_non_trial_design": 1,
                      "no_trial_terms": 1}
    frame = result.to_frame().set_index("record_id")
    assert "review" in frame.loc[1, "evidence"]
    assert "rabbit" in frame.loc[4, "evidence"]
    assert result.kept == (6, 9, 10, 11, 12, 13)


def test_list_valued_columns_and_duplicate_ids():
    res = design_filter([{"id": "a", "title": "x", "publication_types": ["Editorial"]},
                         {"id": "b", "title": "y trial", "publication_types": ["News",
                          "Clinical Trial, Phase III"]}], id_column="id")
    assert res.rules == ("pt_non_trial", None)
    with pytest.raises(DataError):
        design_filter([{"record_id": 1, "title": "a"}, {"record_id": 1, "title": "b"}])


# --- metrics -------------------------------------------------------------------------

def test_wss_hand_calculation():
    # N = 20, K = 4 inclusions at screening positions 1, 2, 5, 12.
    # 95% recall needs ceil(0.95 * 4) = 4 inclusions -> n = 12 records read.
    # WSS@95 = (20 - 12) / 20 - 0.05 = 0.40 - 0.05 = 0.35.
    y = np.zeros(20, int)
    y[[0, 1, 4, 11]] = 1
    assert wss(y, 0.95) == pytest.approx(0.35)
    # WSS@50: ceil(0.5 * 4) = 2 inclusions -> n = 2; (20 - 2)/20 - 0.5 = 0.40
    assert wss(y, 0.50) == pytest.approx(0.40)
    # RRF@10: floor(0.1 * 20) = 2 records read, 2 of 4 inclusions found -> 0.5
    assert recall_at(y, 0.10) == pytest.approx(0.5)
    # N = 29: floor(2.9) = 2 records read (not ceil = 3); inclusions at 1, 3, 21
    # -> 1 of 3 found after 2 records
    y3 = np.zeros(29, int)
    y3[[0, 2, 20]] = 1
    assert recall_at(y3, 0.10) == pytest.approx(1 / 3)
    # random-like order with the last inclusion last: n = N -> WSS = -0.05
    y2 = np.zeros(20, int)
    y2[[3, 19]] = 1
    assert wss(y2, 0.95) == pytest.approx(-0.05)


def test_metrics_need_an_inclusion():
    with pytest.raises(DataError):
        wss([0, 0, 0])
    with pytest.raises(DataError):
        recall_at([0, 0])


# --- ranking and simulation -----------------------------------------------------------

def _toy_corpus(n=300, k=15, seed=1):
    """Inclusions speak of stem cells in the femoral head; exclusions of other topics."""
    rng = np.random.default_rng(seed)
    on = ["stem", "cell", "marrow", "femoral", "head", "osteonecrosis", "decompression"]
    off = ["knee", "tendon", "shoulder", "cartilage", "ankle", "spine", "fracture",
           "elbow", "wrist", "ligament", "hip", "cell", "therapy", "outcome"]
    texts, labels = [], []
    for i in range(n):
        inc = i < k
        words = list(rng.choice(on, 6)) + list(rng.choice(off, 6)) if inc else \
            list(rng.choice(off, 12))
        texts.append(" ".join(words))
        labels.append(int(inc))
    return texts, np.array(labels)


def test_rank_puts_similar_records_first():
    texts, y = _toy_corpus()
    labels = [None] * len(y)
    labels[0], labels[20] = 1, 0
    order = rank_records(texts, labels)
    assert len(order) == len(y) - 2 and 0 not in order and 20 not in order
    top = order[:14]
    # 14 inclusions left among 298: a random top 14 holds 14 * 14 / 298 = 0.66 of them
    assert y[top].sum() >= 10


def test_rank_without_both_classes_keeps_input_order():
    assert rank_records(["a", "b", "c"], [1, None, None]).tolist() == [1, 2]
    with pytest.raises(DataError):
        rank_records(["a", "b"], [1, 2])


@pytest.mark.parametrize("model", ["blend", "ensemble", "logistic", "nb", "svm"])
def test_simulation_finds_inclusions_early(model):
    texts, y = _toy_corpus()
    res = simulate_screening(texts, y, model=model, batch_size=5, seed=3)
    assert len(res.order) == len(y) - 2
    assert sorted(res.order.tolist() + list(res.priors)) == list(range(len(y)))
    # 14 inclusions among 298: random order would give WSS@95 near 0, RRF@10 near 0.1
    assert res.wss95 > 0.8
    assert res.rrf10 == pytest.approx(1.0)
    assert res.to_dict()["model"] == model


def test_simulation_model_never_sees_unscreened_labels(monkeypatch):
    # Spy on the fitting function: at every refit the training rows must be exactly the
    # priors plus the records screened so far, with their true labels.
    import metakit.review.automation as auto

    calls = []
    real = auto._scores

    def spy(X, labelled, y_known, model):
        calls.append((np.asarray(labelled).copy(), np.asarray(y_known).copy()))
        return real(X, labelled, y_known, model)

    monkeypatch.setattr(auto, "_scores", spy)
    texts, y = _toy_corpus()
    res = simulate_screening(texts, y, batch_size=7, seed=0)
    assert len(calls) == res.n_retrains >= 2
    for i, (labelled, y_known) in enumerate(calls):
        expected = list(res.priors) + res.order[: 7 * i].tolist()
        assert labelled.tolist() == expected
        assert y_known.tolist() == y[expected].tolist()


def test_simulation_uses_the_given_priors_and_the_screener_cadence(monkeypatch):
    import metakit.review.automation as auto

    calls = []
    real = auto._scores

    def spy(X, labelled, y_known, model):
        calls.append(len(labelled))
        return real(X, labelled, y_known, model)

    monkeypatch.setattr(auto, "_scores", spy)
    texts, y = _toy_corpus(n=300, k=15)
    res = simulate_screening(texts, y, priors=[3, 200])
    assert res.priors == (3, 200) and 3 not in res.order and 200 not in res.order
    # refit after every record while fewer than 100 are known (refit_interval)
    assert calls[:5] == [2, 3, 4, 5, 6]
    assert [auto.refit_interval(n) for n in (2, 99, 100, 149, 150, 1000)] == \
        [1, 1, 2, 2, 3, 20]
    with pytest.raises(DataError, match="at least one inclusion and one exclusion"):
        simulate_screening(texts, y, priors=[20, 21])


def test_rocchio_profile_hand_calculation():
    # inclusion e1; exclusions e2 and e3: centroids (1, 0, 0) and (0, 0.5, 0.5), so the
    # profile is (1, 0, 0) - 0.25 (0, 0.5, 0.5) = (1, -0.125, -0.125)
    import scipy.sparse as sp

    import metakit.review.automation as auto

    X = sp.csr_matrix(np.eye(3))
    profile = auto._rocchio(X, np.array([0, 1, 2]), np.array([1, 0, 0]))
    assert profile.tolist() == [1.0, -0.125, -0.125]


@pytest.mark.parametrize("two_matrices", [False, True])
def test_blend_weights_rocchio_by_the_inclusions_known(two_matrices):
    # blend = (1 - s) rank(svm) + s rank(Rocchio), s = 5 / (5 + inclusions known), with
    # ranks scaled to (0, 1]; checked against scipy's ranks of the two parts. With two
    # matrices the SVM part must be the SVM fitted on the expanded rows alone and the
    # Rocchio part the profile of the plain rows alone (the rows of another corpus stand
    # in for the expansion, so that the two differ everywhere)
    from scipy.stats import rankdata

    import metakit.review.automation as auto

    texts, y = _toy_corpus(n=60, k=8)
    plain = tfidf_features(texts)
    expanded = tfidf_features(_toy_corpus(n=60, k=8, seed=7)[0]) if two_matrices else plain
    X = RecordFeatures(plain, expanded) if two_matrices else plain
    for labelled in (np.array([0, 20]), np.array([0, 1, 2, 20, 21, 22, 23])):
        yl = y[labelled]
        share = 5 / (5 + int(yl.sum()))
        svm = auto._scores(expanded, labelled, yl, "svm")
        rocchio = np.asarray(plain @ auto._rocchio(plain, labelled, yl)).ravel()
        expected = ((1 - share) * rankdata(svm) + share * rankdata(rocchio)) / len(y)
        assert auto._scores(X, labelled, yl, "blend") == pytest.approx(expected)
        assert auto._scores(X, labelled, yl, "svm") == pytest.approx(svm)


def test_expansion_adds_the_cosine_weighted_mean_of_the_nearest_records():
    # hand calculation with k = 2 neighbours and weight 0.5; rows 3 and 4 have no
    # abstract. Row 3 = (1, 0, 0): cosines 0.8 (row 0), 0.6 (row 1), 0 (row 2) and
    # 0.99 (row 4, itself without an abstract, allowed), so its neighbours are rows 4 and
    # 0: expanded = (1, 0, 0) + 0.5 (0.99 x4 + 0.8 x0) / 1.79, at unit length. Row 4 =
    # (0.99, 0.141, 0): cosines 0.99 x 0.8 + 0.141 x 0.6 = 0.8766 (row 0), 0.594 (row 1)
    # and 0.99 (row 3): neighbours rows 3 and 0, each taken as it was before expansion
    import scipy.sparse as sp

    x = np.array([[0.8, 0.6, 0.0], [0.6, 0.0, 0.8], [0.0, 0.0, 1.0],
                  [1.0, 0.0, 0.0], [0.99, 0.141, 0.0]])
    E = expand_bare_records(sp.csr_matrix(x), [True, True, True, False, False],
                            weight=0.5, neighbours=2).toarray()
    row3 = x[3] + 0.5 * (0.99 * x[4] + 0.8 * x[0]) / 1.79
    row4 = x[4] + 0.5 * (0.99 * x[3] + 0.8766 * x[0]) / (0.99 + 0.8766)
    assert E[3] == pytest.approx(row3 / np.linalg.norm(row3))
    assert E[4] == pytest.approx(row4 / np.linalg.norm(row4))
    # records with an abstract are left as they are
    assert E[:3] == pytest.approx(x[:3])


def test_expansion_leaves_empty_records_and_small_pools_alone():
    # a record with neither title nor abstract has no nearest neighbour (every cosine
    # is 0): expanding it would copy arbitrary records into it
    import scipy.sparse as sp

    X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [0.0, 0.0]]))
    E = expand_bare_records(X, [True, True, False, False], neighbours=2)
    assert E.toarray()[3].tolist() == [0.0, 0.0]
    # no more records than neighbours asked for: nothing changes
    E = expand_bare_records(X, [True, False, False, False], neighbours=4)
    assert E.toarray() == pytest.approx(X.toarray())
    with pytest.raises(DataError, match="abstract"):
        expand_bare_records(X, [True, False])


def test_record_features_expands_only_records_without_an_abstract():
    # more records than EXPANSION_NEIGHBOURS (5) are needed
    titles = ["Stem cells for osteonecrosis", "Core decompression of the femoral head",
              "Knee tendon repair", "Shoulder arthroscopy", "Ankle fracture fixation",
              "Osteonecrosis of the femoral head", "Hip"]
    abstracts = ["Marrow stem cells were implanted into the necrotic femoral head.",
                 "Core decompression relieved pain in osteonecrosis of the hip.",
                 "Patellar tendon ruptures were repaired with sutures.",
                 "Rotator cuff tears were repaired arthroscopically in sixty patients.",
                 "Plates and screws were compared for fractures of the ankle.",
                 float("nan"), "n/a"]
    F = record_features(titles, abstracts)
    doubled = tfidf_features(record_texts(titles, abstracts))
    changed = np.flatnonzero(np.asarray(abs(F.expanded - doubled).sum(axis=1)).ravel() > 1e-12)
    # "n/a" is shorter than MIN_ABSTRACT_CHARS, so record 6 counts as without one too
    assert changed.tolist() == [5, 6]
    # the Rocchio profile's rows are those of the text as written (title once)
    plain = tfidf_features([f"{t} {a}" for t, a in zip(titles[:5], abstracts[:5])]
                           + ["Osteonecrosis of the femoral head", "Hip n/a"])
    assert abs(F.plain - plain).sum() == pytest.approx(0.0)
    assert F[[0, 3]].expanded.shape == (2, F.shape[1])
