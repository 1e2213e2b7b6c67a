"""Class balance of a labelled set: undersampling, oversampling or weights.

Catalogue-built label sets are rarely balanced: a survey field holds far more
stars and galaxies than clusters. `balance_indices` states three remedies with
one parameter, ``ratio``, the wanted number of non-clusters (label 0) per
cluster (label 1):

``"undersample"``
    Keep every member of the rarer class (relative to ``ratio``) and draw,
    without replacement, just enough of the other class.
``"oversample"``
    Keep every source and repeat randomly drawn members of the rarer class
    (with replacement) until the ratio is reached.
``"weights"``
    Keep every source once and give each a weight such that the weights of the
    non-clusters add up to ``ratio`` times those of the clusters, with a mean
    weight of 1.

Draws use ``seed`` and the returned rows keep the original order (repeats
follow their original), so the same seed gives the same result bit for bit.
"""

import numpy as np

from ..utils import as_generator

__all__ = ["STRATEGIES", "balance_indices"]

#: The balancing strategies understood by `balance_indices`.
STRATEGIES = ("undersample", "oversample", "weights")


def balance_indices(labels, *, strategy="undersample", ratio=1.0, seed=0):
    """Rows (and weights) of a class-balanced selection.

    Parameters
    ----------
    labels : array of int
        Class per source, 0 or 1; both classes must be present.
    strategy : {'undersample', 'oversample', 'weights'}
        How to reach the ratio (see the module docstring).
    ratio : float
        Wanted number of label-0 sources per label-1 source (positive).
    seed : None, int or `numpy.random.Generator`
        Seeds the random draws.

    Returns
    -------
    index : `numpy.ndarray` of int
        Rows to keep, sorted (a row may repeat when oversampling).
    weights : `numpy.ndarray` of float
        One weight per kept row (all 1 except for ``"weights"``).

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.labels.balance import balance_indices
    >>> labels = np.array([1, 0, 0, 0, 0, 1])
    >>> index, _ = balance_indices(labels, strategy="undersample", seed=0)
    >>> int(labels[index].sum()), len(index)
    (2, 4)
    >>> _, weights = balance_indices(labels, strategy="weights")
    >>> weights.tolist()
    [1.5, 0.75, 0.75, 0.75, 0.75, 1.5]
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}; got {strategy!r}")
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.integer, np.floating)):
        raise TypeError(f"ratio must be a positive number; got {ratio!r}")
    if not (np.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratio must be a positive number; got {ratio!r}")
    labels = np.asarray(labels)
    positive = np.flatnonzero(labels == 1)
    negative = np.flatnonzero(labels == 0)
    if len(positive) == 0 or len(negative) == 0:
        raise ValueError(
            f"balancing needs both classes; got {len(positive)} label-1 and "
            f"{len(negative)} label-0 sources"
        )
    rng = as_generator(seed)
    if strategy == "weights":
        n = len(labels)
        # Class totals proportional to (1, ratio), normalised to a mean weight of 1.
        w_pos = n / (len(positive) * (1.0 + ratio))
        w_neg = n * ratio / (len(negative) * (1.0 + ratio))
        weights = np.where(labels == 1, w_pos, w_neg).astype(float)
        return np.arange(n), weights
    wanted_neg = ratio * len(positive)
    if strategy == "undersample":
        if len(negative) > wanted_neg:
            keep = max(1, round(wanted_neg))
            negative = rng.choice(negative, size=keep, replace=False)
        else:
            keep = max(1, round(len(negative) / ratio))
            positive = rng.choice(positive, size=min(keep, len(positive)), replace=False)
        index = np.sort(np.concatenate([positive, negative]))
    else:
        if len(negative) < wanted_neg:
            extra = rng.choice(negative, size=round(wanted_neg) - len(negative), replace=True)
        else:
            wanted_pos = len(negative) / ratio
            extra = rng.choice(positive, size=round(wanted_pos) - len(positive), replace=True)
        index = np.sort(np.concatenate([np.arange(len(labels)), extra]), kind="stable")
    return index, np.ones(len(index))
