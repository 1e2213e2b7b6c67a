"""Metrics in numpy, cross-checked against scikit-learn."""

import numpy as np
import pytest

from clusterfinder.classifier import (
    Evaluation,
    binary_metrics,
    choose_threshold,
    compare_classifiers,
    pr_auc,
    precision_recall_curve,
    roc_auc,
    roc_curve,
    threshold_magnitude_grid,
)

metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture(params=[0, 1, 2])
def scores(request):
    rng = np.random.default_rng(request.param)
    labels = (rng.random(500) < 0.3).astype(int)
    # Rounded probabilities make many ties, the hard case.
    proba = np.clip(rng.normal(0.35 + 0.3 * labels, 0.2), 0, 1).round(2)
    return labels, proba


def test_scalar_metrics_match_sklearn(scores):
    labels, proba = scores
    for threshold in (0.2, 0.5, 0.669):
        pred = proba >= threshold
        m = binary_metrics(labels, proba, threshold)
        assert m["purity"] == pytest.approx(metrics.precision_score(labels, pred))
        assert m["recall"] == pytest.approx(metrics.recall_score(labels, pred))
        assert m["f1"] == pytest.approx(metrics.f1_score(labels, pred))
        assert m["accuracy"] == pytest.approx(metrics.accuracy_score(labels, pred))
        assert m["tp"] + m["fp"] + m["fn"] + m["tn"] == labels.size


def test_aucs_match_sklearn(scores):
    labels, proba = scores
    assert roc_auc(labels, proba) == pytest.approx(metrics.roc_auc_score(labels, proba))
    assert pr_auc(labels, proba) == pytest.approx(metrics.average_precision_score(labels, proba))


def test_curves_match_sklearn(scores):
    labels, proba = scores
    fpr, tpr, _ = roc_curve(labels, proba)
    ref_fpr, ref_tpr, _ = metrics.roc_curve(labels, proba, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    purity, recall, thresholds = precision_recall_curve(labels, proba)
    ref_p, ref_r, ref_t = metrics.precision_recall_curve(labels, proba)
    # scikit-learn may drop the thresholds above the one reaching full recall.
    n = ref_t.size
    np.testing.assert_allclose(thresholds[-n:], ref_t)
    np.testing.assert_allclose(purity[-n - 1 :], ref_p)
    np.testing.assert_allclose(recall[-n - 1 :], ref_r)


def test_choose_threshold_maximises_f1(scores):
    labels, proba = scores
    chosen = choose_threshold(labels, proba)
    grid = np.unique(proba)
    best = max(metrics.f1_score(labels, proba >= t) for t in grid)
    assert metrics.f1_score(labels, proba >= chosen) == pytest.approx(best)
    # It lies strictly between two distinct probabilities (a margin on both sides).
    assert chosen not in set(proba.tolist())


def test_choose_threshold_with_targets(scores):
    labels, proba = scores
    t = choose_threshold(labels, proba, target_purity=0.8)
    assert binary_metrics(labels, proba, t)["purity"] >= 0.8
    # The lowest such threshold: a bit lower and purity falls under the target.
    below = proba[proba < t].max()
    assert binary_metrics(labels, proba, below)["purity"] < 0.8
    t = choose_threshold(labels, proba, target_recall=0.9)
    assert binary_metrics(labels, proba, t)["recall"] >= 0.9
    above = proba[proba >= t].min()
    higher = proba[proba > above].min()
    assert binary_metrics(labels, proba, higher)["recall"] < 0.9


def test_choose_threshold_errors():
    with pytest.raises(ValueError, match="no cluster"):
        choose_threshold([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="at most one"):
        choose_threshold([0, 1], [0.1, 0.2], target_purity=0.9, target_recall=0.9)
    with pytest.raises(ValueError, match="no threshold reaches purity"):
        choose_threshold([1, 0], [0.1, 0.9], target_purity=1.0)
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        choose_threshold([1, 0], [0.1, 0.9], target_recall=1.5)


def test_undefined_metrics_are_nan():
    m = binary_metrics([0, 0, 1], [0.1, 0.2, 0.3], threshold=0.9)
    assert np.isnan(m["purity"]) and m["recall"] == 0 and m["f1"] == 0
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))
    assert np.isnan(pr_auc([0, 0], [0.2, 0.3]))


def test_input_checks():
    with pytest.raises(ValueError, match="same length"):
        binary_metrics([0, 1], [0.5])
    with pytest.raises(ValueError, match=r"0 \(not a cluster\) or 1"):
        binary_metrics([0, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="finite"):
        roc_auc([0, 1], [0.5, np.nan])


def test_grid_counts_brighter_sources_only(scores):
    labels, proba = scores
    mags = np.linspace(18, 24, labels.size)
    grid = threshold_magnitude_grid(
        labels, proba, mags, thresholds=[0.3, 0.669], mag_limits=(20, 21, 22)
    )
    assert len(grid) == 6
    assert grid.colnames[:4] == ["threshold", "mag_limit", "n", "n_positive"]
    row = grid[(grid["mag_limit"] == 21) & (grid["threshold"] == 0.669)][0]
    keep = mags < 21
    assert row["n"] == keep.sum()
    assert row["recall"] == pytest.approx(metrics.recall_score(labels[keep], proba[keep] >= 0.669))


def test_evaluation_summary(scores):
    labels, proba = scores
    ev = Evaluation.from_predictions(
        labels, proba, threshold=0.5, magnitudes=np.full(labels.size, 20.0), mag_limits=(21,)
    )
    assert ev.n == 500 and len(ev.grid) == 19
    d = ev.as_dict()
    assert d["f1"] == pytest.approx(metrics.f1_score(labels, proba >= 0.5))
    assert "PR-AUC" in str(ev)


def _pair(n=400, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    good = np.clip(labels + rng.normal(0, 0.3, n), 0, 1)
    poor = np.clip(labels + rng.normal(0, 0.9, n), 0, 1)
    return labels, good, poor


def test_compare_classifiers_difference_and_interval():
    labels, good, poor = _pair()
    result = compare_classifiers(labels, good, poor, seed=0)
    expected = binary_metrics(labels, good)["f1"] - binary_metrics(labels, poor)["f1"]
    assert result["difference"] == pytest.approx(expected)
    assert 0 < result["low"] < result["difference"] < result["high"]
    # The same classifier against itself: no difference in any resampling.
    same = compare_classifiers(labels, good, good, seed=0)
    assert same["difference"] == same["low"] == same["high"] == 0
    # Each classifier's own threshold is used.
    shifted = compare_classifiers(labels, good, good * 0.5, threshold_b=0.25, seed=0)
    assert shifted["difference"] == pytest.approx(0.0)
    # Reproducible with a seed; other metrics; a wider interval at higher confidence.
    assert compare_classifiers(labels, good, poor, seed=0) == result
    recall = compare_classifiers(labels, good, poor, metric="recall", seed=0)
    assert recall["metric_a"] == pytest.approx(binary_metrics(labels, good)["recall"])
    wide = compare_classifiers(labels, good, poor, confidence=0.99, seed=0)
    assert wide["low"] <= result["low"] and wide["high"] >= result["high"]


def test_compare_classifiers_interval_matches_a_plain_bootstrap():
    # The vectorised resampling against a direct loop with the same draws.
    labels, good, poor = _pair(n=150, seed=3)
    rng = np.random.default_rng(7)
    diffs = []
    for _ in range(300):
        k = np.repeat(np.arange(150), rng.multinomial(150, np.full(150, 1 / 150)))
        diffs.append(
            binary_metrics(labels[k], good[k])["f1"] - binary_metrics(labels[k], poor[k])["f1"]
        )
    low, high = np.percentile(diffs, [2.5, 97.5])
    result = compare_classifiers(labels, good, poor, n_resamples=300, seed=7)
    assert (result["low"], result["high"]) == pytest.approx((low, high))


def test_compare_classifiers_a_tie_is_not_called_a_win():
    # Two equally good classifiers: the interval holds zero.
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 300)
    one = np.clip(labels + rng.normal(0, 0.6, 300), 0, 1)
    two = np.clip(labels + rng.normal(0, 0.6, 300), 0, 1)
    result = compare_classifiers(labels, one, two, seed=0)
    assert result["low"] < 0 < result["high"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "auc"}, "metric must be one of"),
        ({"confidence": 1.5}, "confidence"),
        ({"n_resamples": 0}, "n_resamples"),
        ({"n_resamples": 2.5}, "n_resamples"),
    ],
)
def test_compare_classifiers_bad_input(kwargs, match):
    labels, good, poor = _pair(n=20)
    with pytest.raises(ValueError, match=match):
        compare_classifiers(labels, good, poor, **kwargs)
    with pytest.raises(ValueError, match="same length"):
        compare_classifiers(labels, good, poor[:-1])
    with pytest.raises(ValueError, match="no sources"):
        compare_classifiers([], [], [])
