"""Saving and loading a Cutout (one FITS file)."""

import os

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS
from cutout_helpers import make_wcs, offsets

from clusterfinder import Cutout


@pytest.fixture
def cutout():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(80, 90)).astype(np.float32)
    image[40, 45] = np.nan
    wcs = make_wcs(crpix=(45.5, 40.5))
    table = QTable({"label": [1, 0, 1, 0, 0, 1], "mag_g": np.linspace(19, 22, 6) * u.mag})
    return Cutout.from_images(
        {"g": (image, wcs), "i": (2 * image, make_wcs(crpix=(40.2, 38.9), scale=0.2))},
        offsets(6, half_width=8.0),
        cutout_size=15,
        zero_points={"g": 30.0, "i": 29.0},
        table=table,
    )


def test_round_trip(tmp_path, cutout):
    path = tmp_path / "stamps.fits"
    cutout.write(path)
    back = Cutout.read(path)
    assert back.bands == cutout.bands and back.stamp_size == cutout.stamp_size
    np.testing.assert_array_equal(back.data, cutout.data)
    np.testing.assert_array_equal(back.mask, cutout.mask)
    assert cutout.mask.any()
    assert back.table.colnames == cutout.table.colnames
    assert back.coords.separation(cutout.coords).max() < 1e-6 * u.arcsec
    assert back.table["mag_g"].unit == u.mag
    assert back.table["label"].tolist() == cutout.table["label"].tolist()
    for k in range(len(cutout)):
        a, b = cutout.stamp_wcs(k), back.stamp_wcs(k)
        np.testing.assert_allclose(
            b.world_to_pixel(cutout.coords[k]), a.world_to_pixel(cutout.coords[k]), atol=1e-8
        )
        assert b.pixel_shape == (15, 15)
    assert [f.name for f in tmp_path.iterdir()] == ["stamps.fits"]  # no temporary file left


def test_round_trip_of_a_subset_and_user_wcs(tmp_path):
    sip = WCS(
        fits.Header(
            {
                "CTYPE1": "RA---TAN-SIP",
                "CTYPE2": "DEC--TAN-SIP",
                "CRVAL1": 10.0,
                "CRVAL2": 41.0,
                "CRPIX1": 5.0,
                "CRPIX2": 5.0,
                "CD1_1": -5e-5,
                "CD2_2": 5e-5,
                "CD1_2": 0.0,
                "CD2_1": 0.0,
                "A_ORDER": 2,
                "B_ORDER": 2,
                "A_2_0": 1e-5,
                "B_0_2": -2e-5,
            }
        )
    )
    cut = Cutout(np.ones((3, 1, 9, 9)), bands="g", wcs=[sip, None, make_wcs()])
    path = tmp_path / "sub.fits"
    cut[1:].write(path)
    back = Cutout.read(path)
    assert back.stamp_wcs(0) is None
    cut[:1].write(path, overwrite=True)
    back = Cutout.read(path)
    assert back.stamp_wcs(0).sip is not None
    np.testing.assert_allclose(
        back.stamp_wcs(0).pixel_to_world_values(7.0, 1.0),
        sip.pixel_to_world_values(7.0, 1.0),
        atol=1e-12,
    )


def test_empty_cutout_round_trip(tmp_path):
    path = tmp_path / "empty.fits"
    Cutout(np.zeros((0, 2, 5, 5)), bands=("g", "i")).write(path)
    back = Cutout.read(path)
    assert len(back) == 0 and back.bands == ("g", "i") and back.stamp_size == 5


def test_overwrite_and_errors(tmp_path, cutout):
    path = tmp_path / "stamps.fits"
    cutout.write(path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        cutout.write(path)
    cutout[:2].write(path, overwrite=True)
    assert len(Cutout.read(path)) == 2
    with pytest.raises(FileNotFoundError, match="folder"):
        cutout.write(tmp_path / "missing" / "c.fits")
    with pytest.raises(IsADirectoryError):
        cutout.write(tmp_path)
    other = tmp_path / "plain.fits"
    fits.PrimaryHDU(np.zeros((3, 3))).writeto(other)
    with pytest.raises(ValueError, match="not a clusterfinder Cutout file"):
        Cutout.read(other)
    with pytest.raises(FileNotFoundError):
        Cutout.read(tmp_path / "nothing.fits")


def test_failed_write_leaves_no_file(tmp_path, cutout, monkeypatch):
    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fits.HDUList, "writeto", broken)
    with pytest.raises(OSError, match="disk full"):
        cutout.write(tmp_path / "c.fits")
    assert os.listdir(tmp_path) == []


def test_nested_table_metadata_round_trips(tmp_path):
    # The simulator's truth carries dicts in its meta; FITS keywords cannot hold them.
    import numpy as np
    from astropy.table import QTable

    from clusterfinder import Cutout

    meta = {"fwhm": {"g": 0.67, "i": 0.6}, "kinds": ["young_cluster"], "seed": 3}
    cut = Cutout(np.ones((2, 1, 5, 5)), bands="g", table=QTable({"label": [0, 1]}, meta=meta))
    cut.write(tmp_path / "stamps.fits")
    assert Cutout.read(tmp_path / "stamps.fits").table.meta == meta


def test_small_integer_labels_come_back_as_integers(tmp_path):
    # astropy alone would read an int8 column back as bool
    table = QTable({"label": np.array([0, 1, 1], dtype=np.int8)})
    cut = Cutout(np.zeros((3, 1, 4, 4)), bands="g", table=table)
    cut.write(tmp_path / "c.fits")
    back = Cutout.read(tmp_path / "c.fits")
    assert back.table["label"].dtype.kind == "i"
    assert back.table["label"].tolist() == [0, 1, 1]
