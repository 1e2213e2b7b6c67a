"""Plots of an evaluation (smoke tests with the Agg backend)."""

import numpy as np
import pytest
from classifier_helpers import make_blobs

from clusterfinder.classifier import Evaluation
from clusterfinder.classifier.plotting import mistakes, plot_mosaic

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_evaluation_plots():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 50)
    proba = np.clip(0.3 + 0.4 * labels + rng.normal(0, 0.2, 50), 0, 1)
    ev = Evaluation.from_predictions(
        labels, proba, threshold=0.5, magnitudes=rng.uniform(18, 23, 50), mag_limits=(20, 22)
    )
    ax = ev.plot_pr_curve()
    assert ax.get_ylabel() == "purity"
    ax = ev.plot_grid("purity")
    assert len(ax.get_yticks()) == 2
    with pytest.raises(ValueError, match="metric must be a column"):
        ev.plot_grid("speed")
    no_grid = Evaluation.from_predictions(labels, proba, threshold=0.5)
    with pytest.raises(ValueError, match="no grid"):
        no_grid.plot_grid()


def test_mosaic_of_mistakes():
    cut = make_blobs(20, seed=4)
    proba = np.linspace(0, 1, 20)
    ev = Evaluation.from_predictions(cut.table["label"], proba, threshold=0.5)
    false_pos, false_neg = mistakes(ev)
    assert set(false_pos) | set(false_neg) == set(
        np.flatnonzero((proba >= 0.5) != (cut.table["label"] == 1))
    )
    fig = plot_mosaic(
        cut, false_pos, band="i", ncols=4, titles=[f"{p:.2f}" for p in proba[false_pos]]
    )
    assert len(fig.axes) >= len(false_pos)
    with pytest.raises(ValueError, match="band must be one of"):
        plot_mosaic(cut, band="r")
