"""Plots of a classifier's performance (matplotlib is optional).

- `plot_pr_curve`: purity against recall, with the operating threshold marked;
- `plot_threshold_grid`: the threshold x limiting-magnitude grid as a heat map;
- `plot_mosaic`: stamps side by side, e.g. the false positives or false
  negatives of an evaluation (`mistakes` selects them).
"""

import numpy as np

from .metrics import precision_recall_curve

__all__ = ["mistakes", "plot_mosaic", "plot_pr_curve", "plot_threshold_grid"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is optional
        raise ImportError("plotting needs the optional package matplotlib") from None
    return plt


def _axes(ax):
    if ax is not None:
        return ax
    return _pyplot().subplots()[1]


def plot_pr_curve(evaluation, ax=None):
    """Purity-recall curve of an `~clusterfinder.classifier.Evaluation`.

    Parameters
    ----------
    evaluation : `~clusterfinder.classifier.Evaluation`
        What `ClusterClassifier.evaluate <clusterfinder.ClusterClassifier.evaluate>`
        returns; its chosen threshold is marked on the curve.
    ax : `matplotlib.axes.Axes`, optional
        Where to draw; a new figure by default.

    Returns
    -------
    `matplotlib.axes.Axes`

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from clusterfinder.classifier import Evaluation
    >>> ev = Evaluation.from_predictions([1, 0, 1, 0], [0.9, 0.2, 0.7, 0.6], threshold=0.5)
    >>> plot_pr_curve(ev).get_xlabel()
    'recall'
    """
    ax = _axes(ax)
    purity, recall, _ = precision_recall_curve(evaluation.labels, evaluation.probabilities)
    ax.step(recall, purity, where="post", label=f"PR-AUC {evaluation.pr_auc:.3f}")
    ax.plot(
        [evaluation.recall],
        [evaluation.purity],
        "o",
        label=f"threshold {evaluation.threshold:.3f}",
    )
    ax.set_xlabel("recall")
    ax.set_ylabel("purity")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    return ax


def plot_threshold_grid(grid, metric="f1", ax=None):
    """Heat map of ``metric`` over the threshold x limiting-magnitude grid.

    Parameters
    ----------
    grid : `~astropy.table.QTable`
        The grid of `~clusterfinder.classifier.threshold_magnitude_grid` (or the
        ``grid`` of an `~clusterfinder.classifier.Evaluation`).
    metric : str, optional
        The column to show: ``"f1"``, ``"purity"``, ``"recall"`` or ``"accuracy"``.
    ax : `matplotlib.axes.Axes`, optional
        Where to draw; a new figure by default.

    Returns
    -------
    `matplotlib.axes.Axes`

    Raises
    ------
    ValueError
        If there is no grid (an evaluation without magnitudes) or ``metric`` is
        not one of its columns.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from clusterfinder.classifier.metrics import threshold_magnitude_grid
    >>> grid = threshold_magnitude_grid([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6],
    ...     [18.5, 19.5, 20.5, 22.5], thresholds=[0.3, 0.5], mag_limits=(20, 23))
    >>> plot_threshold_grid(grid).get_ylabel()
    'limiting magnitude'
    """
    if grid is None or len(grid) == 0:
        raise ValueError("there is no grid to plot (the evaluation had no magnitudes)")
    if metric not in grid.colnames:
        raise ValueError(f"metric must be a column of the grid; got {metric!r}")
    ax = _axes(ax)
    thresholds = np.unique(np.asarray(grid["threshold"], dtype=float))
    limits = np.unique(np.asarray(grid["mag_limit"], dtype=float))
    image = np.full((limits.size, thresholds.size), np.nan)
    rows = np.searchsorted(limits, np.asarray(grid["mag_limit"], dtype=float))
    cols = np.searchsorted(thresholds, np.asarray(grid["threshold"], dtype=float))
    image[rows, cols] = np.asarray(grid[metric], dtype=float)
    mesh = ax.imshow(image, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(thresholds.size), [f"{t:.2f}" for t in thresholds], rotation=90)
    ax.set_yticks(range(limits.size), [f"{m:g}" for m in limits])
    ax.set_xlabel("threshold")
    ax.set_ylabel("limiting magnitude")
    ax.figure.colorbar(mesh, ax=ax, label=metric)
    return ax


def mistakes(evaluation):
    """Indices of the false positives and false negatives of an evaluation.

    Parameters
    ----------
    evaluation : `~clusterfinder.classifier.Evaluation`
        The objects are called clusters at its ``threshold``.

    Returns
    -------
    false_positives, false_negatives : ndarray of int
        Indices into the evaluated objects (and so into the stamps evaluated).

    Examples
    --------
    >>> from clusterfinder.classifier import Evaluation
    >>> ev = Evaluation.from_predictions([1, 0, 1, 0], [0.9, 0.2, 0.3, 0.6], threshold=0.5)
    >>> [i.tolist() for i in mistakes(ev)]
    [[3], [2]]
    """
    called = evaluation.probabilities >= evaluation.threshold
    truth = evaluation.labels.astype(bool)
    return np.flatnonzero(called & ~truth), np.flatnonzero(~called & truth)


def plot_mosaic(cutout, indices=None, *, band=None, ncols=8, titles=None, softening=5.0):
    """Show stamps of ``cutout`` in a grid (asinh-scaled), one band.

    Parameters
    ----------
    cutout : `~clusterfinder.Cutout`
    indices : array of int, optional
        Stamps to show (default: the first ``ncols * 4``).
    band : str, optional
        Band to show; default the first.
    ncols : int, optional
    titles : sequence of str, optional
        One title per stamp shown (e.g. probabilities).
    softening : float, optional
        Softening of the asinh display stretch, in counts per pixel.

    Returns
    -------
    `matplotlib.figure.Figure`

    Raises
    ------
    ValueError
        If ``band`` is not a band of ``cutout``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from clusterfinder import Cutout
    >>> cut = Cutout(np.ones((6, 2, 16, 16)), bands=("g", "i"))
    >>> fig = plot_mosaic(cut, [0, 2, 4], band="i", titles=["a", "b", "c"])
    >>> len(fig.axes)
    3
    """
    plt = _pyplot()
    indices = np.arange(min(len(cutout), ncols * 4)) if indices is None else np.asarray(indices)
    band = cutout.bands[0] if band is None else band
    if band not in cutout.bands:
        raise ValueError(f"band must be one of {cutout.bands}; got {band!r}")
    channel = cutout.bands.index(band)
    n = max(len(indices), 1)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.5 * ncols, 1.5 * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= len(indices):
            continue
        stamp = np.arcsinh(cutout.data[indices[k], channel] / softening)
        ax.imshow(stamp, origin="lower", cmap="gray_r")
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=7)
    return fig
