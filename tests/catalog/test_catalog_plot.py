"""The sky map of a candidate catalogue."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS

from clusterfinder import CandidateCatalog

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture
def cands():
    coords = SkyCoord([10.680, 10.684, 10.690] * u.deg, [41.268, 41.270, 41.273] * u.deg)
    return CandidateCatalog.from_table(QTable({"coord": coords, "prob_cluster": [0.2, 0.7, 0.95]}))


def _wcs(shape=(200, 200)):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.684, 41.270]
    wcs.wcs.crpix = [shape[1] / 2, shape[0] / 2]
    wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    return wcs


def test_scatter_map(cands):
    ax = cands.plot(colorbar=False)
    points = ax.collections[0]
    np.testing.assert_allclose(points.get_array(), [0.2, 0.7, 0.95])
    assert ax.xaxis_inverted()  # RA grows to the east, to the left
    plt.close(ax.figure)


def test_map_over_image(cands):
    wcs = _wcs()
    image = np.random.default_rng(0).normal(0, 1, (200, 200))
    hdu = fits.PrimaryHDU(image, header=wcs.to_header())
    ax = cands.plot(image=hdu)
    offsets = ax.collections[0].get_offsets()
    x, y = wcs.world_to_pixel(cands["coord"])
    np.testing.assert_allclose(offsets[:, 0], x)
    np.testing.assert_allclose(offsets[:, 1], y)
    plt.close(ax.figure)
    fig, axis = plt.subplots(subplot_kw={"projection": wcs})
    assert cands.plot(ax=axis, image=image, wcs=wcs) is axis
    plt.close(fig)


def test_bad_image_input(cands):
    with pytest.raises(TypeError, match="wcs"):
        cands.plot(image=np.zeros((10, 10)))
    with pytest.raises(ValueError, match="two-dimensional"):
        cands.plot(image=np.zeros(10), wcs=_wcs())


def test_empty_catalogue_plots(cands):
    ax = cands[:0].plot()
    plt.close(ax.figure)
