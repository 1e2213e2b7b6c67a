"""Cutout.plot: a grid of stamps."""

import sys

import numpy as np
import pytest
from astropy.table import QTable

from clusterfinder import Cutout

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture
def cutout():
    data = np.random.default_rng(1).random((5, 2, 9, 9))
    return Cutout(data, bands=("g", "i"), table=QTable({"label": [0, 1, 0, 1, 1]}))


@pytest.mark.parametrize("stretch", ["asinh", "linear", "sqrt", "log"])
def test_composite_grid(cutout, stretch):
    fig = cutout.plot(ncols=2, stretch=stretch, title="label")
    try:
        shown = [ax for ax in fig.axes if ax.images]
        assert len(shown) == 5 and len(fig.axes) == 6
        assert shown[0].images[0].get_array().shape == (9, 9, 3)
        assert shown[1].get_title() == "1"
    finally:
        plt.close(fig)


def test_single_band_and_limits(cutout):
    fig = cutout.plot(bands="i", max_stamps=2)
    try:
        assert len(fig.axes) == 2
        assert fig.axes[0].images[0].get_array().shape == (9, 9)
    finally:
        plt.close(fig)
    fig = plt.figure()
    try:
        assert cutout.plot(fig=fig, composite=False) is fig
        assert fig.axes[0].images[0].get_array().ndim == 2
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stretch": "cubic"}, "stretch"),
        ({"ncols": 0}, "ncols"),
        ({"bands": "r"}, "bands"),
        ({"title": "nope"}, "title"),
        ({"percentile": 0}, "percentile"),
    ],
)
def test_errors(cutout, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cutout.plot(**kwargs)
    with pytest.raises(ValueError, match="no stamps"):
        cutout[[]].plot()


def test_missing_matplotlib(cutout, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"clusterfinder\[all\]"):
        cutout.plot()
