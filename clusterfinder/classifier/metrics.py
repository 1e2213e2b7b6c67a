"""Classification metrics, threshold choice and the threshold x magnitude grid.

Purity is the astronomers' name for precision: the fraction of the objects
called clusters that are clusters. Recall (completeness) is the fraction of the
clusters that are found. Everything here is plain numpy; a metric whose
denominator is zero (e.g. purity when nothing is called a cluster) is NaN.
"""

import dataclasses

import numpy as np
from astropy.table import QTable

__all__ = [
    "Evaluation",
    "binary_metrics",
    "choose_threshold",
    "compare_classifiers",
    "pr_auc",
    "precision_recall_curve",
    "roc_auc",
    "roc_curve",
    "threshold_magnitude_grid",
]


def _check_inputs(labels, probabilities):
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=float)
    if labels.shape != probabilities.shape or labels.ndim != 1:
        raise ValueError(
            "labels and probabilities must be 1-d arrays of the same length; got shapes "
            f"{labels.shape} and {probabilities.shape}"
        )
    if labels.size and not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (not a cluster) or 1 (cluster)")
    if not np.isfinite(probabilities).all():
        raise ValueError("probabilities must be finite")
    return labels.astype(bool), probabilities


def _ratio(numerator, denominator):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)


#: Each metric from the counts of true/false positives/negatives.
_COUNT_METRICS = {
    "purity": lambda tp, fp, fn, tn: _ratio(tp, tp + fp),
    "recall": lambda tp, fp, fn, tn: _ratio(tp, tp + fn),
    "f1": lambda tp, fp, fn, tn: _ratio(2 * tp, 2 * tp + fp + fn),
    "accuracy": lambda tp, fp, fn, tn: _ratio(tp + tn, tp + fp + fn + tn),
}


def binary_metrics(labels, probabilities, threshold=0.5):
    """Purity, recall, F1 and accuracy of the decision ``probability >= threshold``.

    Parameters
    ----------
    labels : array of int
        True classes, 1 for a cluster and 0 otherwise.
    probabilities : array of float
        P(cluster) per object.
    threshold : float or array of float, optional
        Decision threshold(s); with an array, every output is an array.

    Returns
    -------
    dict
        ``n``, ``tp``, ``fp``, ``fn``, ``tn``, ``purity``, ``recall``, ``f1`` and
        ``accuracy``.

    Examples
    --------
    >>> m = binary_metrics([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1], threshold=0.5)
    >>> float(m["purity"]), float(m["recall"]), float(m["accuracy"])
    (0.5, 0.5, 0.5)
    """
    labels, probabilities = _check_inputs(labels, probabilities)
    threshold = np.asarray(threshold, dtype=float)
    called = probabilities[:, None] >= threshold.reshape(-1)[None, :]
    tp = (called & labels[:, None]).sum(axis=0)
    fp = (called & ~labels[:, None]).sum(axis=0)
    fn = (~called & labels[:, None]).sum(axis=0)
    tn = (~called & ~labels[:, None]).sum(axis=0)
    out = {"n": np.full(tp.shape, labels.size), "tp": tp, "fp": fp, "fn": fn, "tn": tn}
    out.update({name: score(tp, fp, fn, tn) for name, score in _COUNT_METRICS.items()})
    if threshold.ndim == 0:
        out = {key: value[0] for key, value in out.items()}
    return out


def compare_classifiers(
    labels,
    probabilities_a,
    probabilities_b,
    *,
    threshold_a=0.5,
    threshold_b=0.5,
    metric="f1",
    n_resamples=2000,
    confidence=0.95,
    seed=None,
):
    """How much better classifier ``a`` is than ``b`` on the same sources, with an interval.

    The difference ``metric(a) - metric(b)`` comes with a paired bootstrap
    interval: the sources are resampled with replacement, the same resampling for
    both classifiers, so that the sources they both get right or both get wrong
    do not blur the comparison. An interval that excludes zero is a difference
    that the test set can tell apart from the luck of which sources it holds.

    Parameters
    ----------
    labels : array of int
        True classes (1 cluster, 0 not) of the test sources.
    probabilities_a, probabilities_b : array of float
        P(cluster) of each source from the two classifiers.
    threshold_a, threshold_b : float, optional
        Each classifier's decision threshold.
    metric : {"f1", "purity", "recall", "accuracy"}, optional
        What to compare.
    n_resamples : int, optional
        Number of bootstrap resamplings.
    confidence : float, optional
        Coverage of the interval (percentile bootstrap).
    seed : int or `numpy.random.Generator`, optional
        Randomness of the resampling.

    Returns
    -------
    dict
        ``difference`` (on the sources as given), ``low`` and ``high`` (the
        interval), ``metric_a`` and ``metric_b``. Resamplings where the metric
        is undefined (e.g. purity with nothing called a cluster) are left out.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 2, 500)
    >>> sharp = np.clip(labels + rng.normal(0, 0.3, 500), 0, 1)  # a good classifier
    >>> vague = np.clip(labels + rng.normal(0, 0.8, 500), 0, 1)  # a worse one
    >>> result = compare_classifiers(labels, sharp, vague, seed=1)
    >>> bool(result["low"] > 0), round(float(result["difference"]), 2)
    (True, 0.19)
    """
    labels, probabilities_a = _check_inputs(labels, probabilities_a)
    _, probabilities_b = _check_inputs(labels, probabilities_b)
    if metric not in _COUNT_METRICS:
        raise ValueError(f"metric must be one of {sorted(_COUNT_METRICS)}; got {metric!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1; got {confidence!r}")
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer; got {n_resamples!r}")
    if labels.size == 0:
        raise ValueError("no sources to compare on")
    score = _COUNT_METRICS[metric]
    outcomes = []
    for probabilities, threshold in (
        (probabilities_a, threshold_a),
        (probabilities_b, threshold_b),
    ):
        called = probabilities >= float(threshold)
        outcomes.append(
            np.stack([called & labels, called & ~labels, ~called & labels, ~called & ~labels])
        )
    outcomes = np.stack(outcomes).astype(np.int64)  # (classifier, outcome, source)
    metric_a, metric_b = (float(score(*o.sum(axis=1))) for o in outcomes)

    rng = np.random.default_rng(seed)
    n = labels.size
    differences = []
    # Resampling counts in blocks, so that memory stays bounded for large test sets.
    block = max(1, min(int(n_resamples), 2_000_000 // n))
    for start in range(0, int(n_resamples), block):
        size = min(block, int(n_resamples) - start)
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=size)  # (resample, source)
        counts = outcomes @ weights.T  # (classifier, outcome, resample)
        differences.append(score(*counts[0]) - score(*counts[1]))
    differences = np.concatenate(differences)
    differences = differences[np.isfinite(differences)]
    tail = 50.0 * (1.0 - confidence)
    low, high = (
        np.percentile(differences, [tail, 100.0 - tail]) if differences.size else (np.nan,) * 2
    )
    return {
        "difference": metric_a - metric_b,
        "low": float(low),
        "high": float(high),
        "metric_a": metric_a,
        "metric_b": metric_b,
    }


def _sorted_counts(labels, probabilities):
    """Cumulative TP and FP counts at each distinct threshold, highest first."""
    order = np.argsort(-probabilities, kind="mergesort")
    p = probabilities[order]
    y = labels[order]
    last = np.r_[np.flatnonzero(np.diff(p)), y.size - 1]
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    return tp, fp, p[last]


def roc_curve(labels, probabilities):
    """False-positive rate, true-positive rate and thresholds (decreasing).

    Parameters
    ----------
    labels : array-like of int or bool
        True classes: 1 (cluster) or 0.
    probabilities : array-like of float
        P(cluster) of each object, in [0, 1].

    Returns
    -------
    fpr, tpr, thresholds : ndarray
        The rates at each threshold, from (0, 0) at an infinite threshold to
        (1, 1); NaN where a class is absent.

    Raises
    ------
    ValueError
        If the two are not 1-d arrays of the same length, a label is not 0 or 1,
        or a probability is not finite.

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([0, 1], [0.2, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 1.0], [0.0, 1.0, 1.0])
    """
    labels, probabilities = _check_inputs(labels, probabilities)
    tp, fp, thresholds = _sorted_counts(labels, probabilities)
    tp = np.r_[0, tp]
    fp = np.r_[0, fp]
    return (
        _ratio(fp, np.full(fp.shape, fp[-1])),
        _ratio(tp, np.full(tp.shape, tp[-1])),
        np.r_[np.inf, thresholds],
    )


def roc_auc(labels, probabilities):
    """Area under the ROC curve (NaN if only one class is present).

    Computed from ranks (the Mann-Whitney statistic), with ties counted half.

    Parameters
    ----------
    labels : array-like of int or bool
        True classes: 1 (cluster) or 0.
    probabilities : array-like of float
        P(cluster) of each object, in [0, 1].

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the two are not 1-d arrays of the same length, a label is not 0 or 1,
        or a probability is not finite.

    Examples
    --------
    >>> float(roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    labels, probabilities = _check_inputs(labels, probabilities)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.nan
    order = np.argsort(probabilities, kind="mergesort")
    sorted_p = probabilities[order]
    ranks = np.empty(labels.size)
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_p, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    rank_sum = ranks[labels].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def precision_recall_curve(labels, probabilities):
    """Purity (precision), recall and thresholds, with increasing thresholds.

    The last point is purity 1 and recall 0, as in scikit-learn.

    Parameters
    ----------
    labels : array-like of int or bool
        True classes: 1 (cluster) or 0.
    probabilities : array-like of float
        P(cluster) of each object, in [0, 1].

    Returns
    -------
    purity, recall, thresholds : ndarray
        ``purity`` and ``recall`` have one more value than ``thresholds`` (the
        last point).

    Raises
    ------
    ValueError
        If the two are not 1-d arrays of the same length, a label is not 0 or 1,
        or a probability is not finite.

    Examples
    --------
    >>> purity, recall, thr = precision_recall_curve([1, 0, 1], [0.3, 0.6, 0.9])
    >>> purity.round(3).tolist(), recall.tolist(), thr.tolist()
    ([0.667, 0.5, 1.0, 1.0], [1.0, 0.5, 0.5, 0.0], [0.3, 0.6, 0.9])
    """
    labels, probabilities = _check_inputs(labels, probabilities)
    tp, fp, thresholds = _sorted_counts(labels, probabilities)
    purity = tp / (tp + fp)
    recall = _ratio(tp, np.full(tp.shape, labels.sum()))
    return np.r_[purity[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def pr_auc(labels, probabilities):
    """Area under the purity-recall curve, as average precision (NaN without positives).

    Average precision is the sum over thresholds of the purity times the gain in
    recall; it does not interpolate linearly, which would be optimistic.

    Parameters
    ----------
    labels : array-like of int or bool
        True classes: 1 (cluster) or 0.
    probabilities : array-like of float
        P(cluster) of each object, in [0, 1].

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the two are not 1-d arrays of the same length, a label is not 0 or 1,
        or a probability is not finite.

    Examples
    --------
    >>> float(pr_auc([0, 1, 1], [0.3, 0.6, 0.9]))
    1.0
    """
    labels, probabilities = _check_inputs(labels, probabilities)
    if not labels.any():
        return np.nan
    purity, recall, _ = precision_recall_curve(labels, probabilities)
    return float(-np.sum(np.diff(recall) * purity[:-1]))


def choose_threshold(
    labels, probabilities, *, strategy="f1", target_purity=None, target_recall=None
):
    """Pick a decision threshold from validation data.

    Parameters
    ----------
    labels, probabilities : array
        Validation classes and P(cluster).
    strategy : {"f1"}, optional
        Without a target, the threshold that maximises F1 (ties: the lowest).
        The threshold returned lies midway between the chosen probability and
        the next lower one, which makes the same decisions on the validation
        data and leaves a margin on both sides.
    target_purity : float, optional
        The lowest threshold whose purity reaches this value (the highest recall
        at that purity).
    target_recall : float, optional
        The highest threshold whose recall still reaches this value (the highest
        purity at that recall).

    Returns
    -------
    float

    Examples
    --------
    >>> choose_threshold([0, 0, 1, 1], [0.1, 0.7, 0.6, 0.9])
    0.35
    >>> choose_threshold([0, 0, 1, 1], [0.1, 0.7, 0.6, 0.9], target_purity=1.0)
    0.8
    """
    labels, probabilities = _check_inputs(labels, probabilities)
    if target_purity is not None and target_recall is not None:
        raise ValueError("give at most one of target_purity and target_recall")
    if strategy != "f1":
        raise ValueError(f"strategy must be 'f1'; got {strategy!r}")
    if not labels.any():
        raise ValueError("cannot choose a threshold: the validation labels have no cluster")
    # Counts at every distinct probability used as threshold, in increasing order.
    tp, fp, candidates = (a[::-1] for a in _sorted_counts(labels, probabilities))
    n_pos = labels.sum()
    metrics = {
        "purity": tp / (tp + fp),
        "recall": tp / n_pos,
        "f1": 2 * tp / (tp + fp + n_pos),
    }
    for name, target in (("target_purity", target_purity), ("target_recall", target_recall)):
        if target is not None and not 0 < target <= 1:
            raise ValueError(f"{name} must be in (0, 1]; got {target!r}")
    if target_purity is not None:
        ok = np.flatnonzero(np.nan_to_num(metrics["purity"]) >= target_purity)
        if ok.size == 0:
            raise ValueError(
                f"no threshold reaches purity {target_purity} on the validation data "
                f"(best: {np.nanmax(metrics['purity']):.3f})"
            )
        best = ok[0]
    elif target_recall is not None:
        best = np.flatnonzero(np.nan_to_num(metrics["recall"]) >= target_recall)[-1]
    else:
        best = int(np.nanargmax(metrics["f1"]))
    # Any threshold between the chosen probability and the next lower one makes the
    # same decisions on the validation set: take the middle of that gap.
    if best == 0:
        return float(candidates[0])
    return float((candidates[best] + candidates[best - 1]) / 2)


def threshold_magnitude_grid(
    labels, probabilities, magnitudes, *, thresholds, mag_limits=(19, 20, 21, 22, 23)
):
    """Metrics over a grid of thresholds and limiting magnitudes.

    For each limiting magnitude, only objects brighter than it (``mag < limit``)
    are counted, as in Zhang et al. (2025).

    Parameters
    ----------
    labels : array-like of int or bool
        True classes: 1 (cluster) or 0.
    probabilities : array-like of float
        P(cluster) of each object, in [0, 1].
    magnitudes : array-like of float
        Magnitude of each object (in the band the limits refer to).
    thresholds : array-like of float
        Decision thresholds on P(cluster).
    mag_limits : sequence of float, optional
        Limiting magnitudes; ``numpy.inf`` counts every object.

    Returns
    -------
    `~astropy.table.QTable`
        Columns ``threshold``, ``mag_limit``, ``n``, ``n_positive``, ``purity``,
        ``recall``, ``f1`` and ``accuracy``; one row per pair.

    Raises
    ------
    ValueError
        For the inputs the metric functions refuse, or ``magnitudes`` not one per
        object.

    Examples
    --------
    >>> grid = threshold_magnitude_grid(
    ...     [1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6], [18.5, 19.5, 20.5, 22.5],
    ...     thresholds=[0.5], mag_limits=(20, 23))
    >>> grid["n"].tolist(), grid["recall"].tolist()
    ([2, 4], [1.0, 0.5])
    """
    labels, probabilities = _check_inputs(labels, probabilities)
    magnitudes = np.asarray(magnitudes, dtype=float)
    if magnitudes.shape != labels.shape:
        raise ValueError(
            f"magnitudes must have one value per object ({labels.size}); got {magnitudes.shape}"
        )
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=float))
    rows = {k: [] for k in ("threshold", "mag_limit", "n", "n_positive")}
    rows.update({k: [] for k in ("purity", "recall", "f1", "accuracy")})
    for limit in mag_limits:
        keep = magnitudes < limit
        metrics = binary_metrics(labels[keep], probabilities[keep], thresholds)
        rows["threshold"].extend(thresholds)
        rows["mag_limit"].extend([float(limit)] * thresholds.size)
        rows["n"].extend([int(keep.sum())] * thresholds.size)
        rows["n_positive"].extend([int(labels[keep].sum())] * thresholds.size)
        for key in ("purity", "recall", "f1", "accuracy"):
            rows[key].extend(np.atleast_1d(metrics[key]).tolist())
    return QTable(rows)


@dataclasses.dataclass
class Evaluation:
    """Result of `ClusterClassifier.evaluate <clusterfinder.ClusterClassifier.evaluate>`.

    Attributes
    ----------
    threshold : float
        The decision threshold the scalar metrics are given at.
    n, n_positive : int
        Number of objects and of clusters among them.
    purity, recall, f1, accuracy, roc_auc, pr_auc : float
        Metrics (NaN where undefined).
    grid : `~astropy.table.QTable` or None
        The threshold x limiting-magnitude grid (None without magnitudes).
    labels, probabilities : ndarray
        The inputs, for plots and further analysis.

    Examples
    --------
    >>> ev = Evaluation.from_predictions([1, 0, 1, 0], [0.9, 0.2, 0.7, 0.6], threshold=0.5)
    >>> round(ev.purity, 3), ev.recall
    (0.667, 1.0)
    """

    threshold: float
    n: int
    n_positive: int
    purity: float
    recall: float
    f1: float
    accuracy: float
    roc_auc: float
    pr_auc: float
    grid: QTable | None = None
    labels: np.ndarray | None = dataclasses.field(default=None, repr=False)
    probabilities: np.ndarray | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_predictions(
        cls, labels, probabilities, *, threshold, magnitudes=None, thresholds=None, mag_limits=()
    ):
        """Compute every metric from labels and probabilities.

        Parameters
        ----------
        labels : array-like of int or bool
            True classes: 1 (cluster) or 0.
        probabilities : array-like of float
            P(cluster) of each object.
        threshold : float
            The decision threshold of the scalar metrics.
        magnitudes : array-like of float, optional
            Magnitude of each object; with ``mag_limits``, adds the grid.
        thresholds : array-like of float, optional
            Thresholds of the grid (0.05 to 0.95 in steps of 0.05 by default).
        mag_limits : sequence of float, optional
            Limiting magnitudes of the grid (see `threshold_magnitude_grid`).

        Returns
        -------
        `Evaluation`

        Raises
        ------
        ValueError
            If labels and probabilities are not 1-d arrays of the same length, a
            label is not 0 or 1, or a probability is not finite.

        Examples
        --------
        >>> ev = Evaluation.from_predictions(
        ...     [1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6], threshold=0.5,
        ...     magnitudes=[18.5, 19.5, 20.5, 22.5], thresholds=[0.5], mag_limits=(20, 23))
        >>> ev.recall, ev.grid["recall"].tolist()
        (0.5, [1.0, 0.5])
        """
        labels, probabilities = _check_inputs(labels, probabilities)
        scalar = binary_metrics(labels, probabilities, threshold)
        grid = None
        if magnitudes is not None and len(mag_limits):
            grid = threshold_magnitude_grid(
                labels,
                probabilities,
                magnitudes,
                thresholds=np.linspace(0.05, 0.95, 19) if thresholds is None else thresholds,
                mag_limits=mag_limits,
            )
        return cls(
            threshold=float(threshold),
            n=int(labels.size),
            n_positive=int(labels.sum()),
            purity=float(scalar["purity"]),
            recall=float(scalar["recall"]),
            f1=float(scalar["f1"]),
            accuracy=float(scalar["accuracy"]),
            roc_auc=float(roc_auc(labels, probabilities)),
            pr_auc=float(pr_auc(labels, probabilities)),
            grid=grid,
            labels=labels.astype(int),
            probabilities=probabilities,
        )

    def as_dict(self):
        """The scalar metrics as a plain dictionary (JSON-serialisable).

        NaN metrics (undefined, e.g. the recall without clusters) become None.

        Examples
        --------
        >>> ev = Evaluation.from_predictions([0, 0], [0.2, 0.7], threshold=0.5)
        >>> ev.as_dict()["recall"], ev.as_dict()["accuracy"]
        (None, 0.5)
        """
        keys = ("threshold", "n", "n_positive", "purity", "recall", "f1", "accuracy")
        out = {key: getattr(self, key) for key in (*keys, "roc_auc", "pr_auc")}
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in out.items()}

    def __str__(self):
        lines = [
            f"threshold {self.threshold:.3f}: {self.n} objects, {self.n_positive} clusters",
            f"  purity   {self.purity:.4f}",
            f"  recall   {self.recall:.4f}",
            f"  F1       {self.f1:.4f}",
            f"  accuracy {self.accuracy:.4f}",
            f"  ROC-AUC  {self.roc_auc:.4f}",
            f"  PR-AUC   {self.pr_auc:.4f}",
        ]
        return "\n".join(lines)

    def plot_pr_curve(self, ax=None):
        """Plot the purity-recall curve (needs matplotlib).

        Parameters
        ----------
        ax : `matplotlib.axes.Axes`, optional
            Where to draw; a new figure by default.

        Returns
        -------
        `matplotlib.axes.Axes`

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> ev = Evaluation.from_predictions([1, 0, 1, 0], [0.9, 0.2, 0.7, 0.6], threshold=0.5)
        >>> ev.plot_pr_curve().get_ylabel()
        'purity'
        """
        from .plotting import plot_pr_curve

        return plot_pr_curve(self, ax=ax)

    def plot_grid(self, metric="f1", ax=None):
        """Plot the threshold x magnitude grid of ``metric`` as a heat map.

        Parameters
        ----------
        metric : str, optional
            ``"f1"``, ``"purity"``, ``"recall"`` or ``"accuracy"``.
        ax : `matplotlib.axes.Axes`, optional
            Where to draw; a new figure by default.

        Returns
        -------
        `matplotlib.axes.Axes`

        Raises
        ------
        ValueError
            If the evaluation has no grid (it was made without magnitudes), or
            ``metric`` is not one of its columns.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> ev = Evaluation.from_predictions(
        ...     [1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6], threshold=0.5,
        ...     magnitudes=[18.5, 19.5, 20.5, 22.5], mag_limits=(20, 23))
        >>> ev.plot_grid("purity").get_xlabel()
        'threshold'
        """
        from .plotting import plot_threshold_grid

        return plot_threshold_grid(self.grid, metric=metric, ax=ax)
