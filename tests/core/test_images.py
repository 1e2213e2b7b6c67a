"""Tests of clusterfinder.images, the one image loader of cutouts, detection and scans."""

import contextlib

import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import NDData
from cutout_helpers import make_wcs

from clusterfinder.detection import BandImage as DetectionBandImage
from clusterfinder.detection import load_images
from clusterfinder.images import BandImage, load_band, load_plane, load_planes
from clusterfinder.scan import TiledImages
from clusterfinder.scan.tiling import BandImage as ScanBandImage


def header(**cards):
    head = make_wcs().to_header()
    for key, value in cards.items():
        head[key] = value
    return head


def mosaic(n=2):
    hdus = [fits.PrimaryHDU(header=fits.Header({"PHOTZP": 27.0}))]
    for k in range(n):
        hdus.append(
            fits.ImageHDU(np.full((6, 7), float(k)), header=header(), name="SCI", ver=k + 1)
        )
        hdus.append(fits.ImageHDU(np.zeros((6, 7), np.int16), name="DQ", ver=k + 1))
        hdus.append(fits.ImageHDU(np.ones((6, 7)), name="WHT", ver=k + 1))
    return fits.HDUList(hdus)


def test_one_class_for_every_user():
    assert DetectionBandImage is BandImage
    assert ScanBandImage is BandImage


def test_mosaic_gives_planes_with_masks_and_primary_zero_point():
    with contextlib.ExitStack() as stack:
        planes = load_planes(mosaic(3), "images['g']", stack)
    assert [p.extension for p in planes] == [1, 4, 7]
    assert [float(p.data[0, 0]) for p in planes] == [0.0, 1.0, 2.0]
    assert all(p.mask is not None and p.mask.shape == (6, 7) for p in planes)
    assert all(p.zero_point == 27.0 for p in planes)


def test_single_image_users_refuse_mosaics_clearly(tmp_path):
    path = tmp_path / "mosaic_g.fits"
    mosaic(2).writeto(path)
    with contextlib.ExitStack() as stack, pytest.raises(ValueError, match=r"holds 2 image ext"):
        load_plane(path, "images['g']", stack)
    with pytest.raises(ValueError, match=r"images\['g'\] holds 2 image extensions"):
        load_images({"g": path})
    with pytest.raises(ValueError, match=r"band 'g' holds 2 image extensions"):
        TiledImages({"g": path})
    # One extension of it is fine, and keeps the primary zero point.
    one = mosaic(1)
    assert load_images({"g": one})["g"].zero_point == 27.0


def test_load_band_reads_header_and_closes_its_file(tmp_path):
    path = tmp_path / "f_i.fits"
    cards = {"PHOTZP": 28.5, "SATURATE": 6.0e4, "GAIN": 1.6}
    fits.PrimaryHDU(np.arange(20.0).reshape(4, 5), header=header(**cards)).writeto(path)
    image = load_band(path, "i")
    assert (image.zero_point, image.saturation, image.gain) == (28.5, 6.0e4, 1.6)
    assert image.source == "f_i.fits" and image.shape == (4, 5)
    assert image.header["PHOTZP"] == 28.5
    assert float(image.data[3, 4]) == 19.0
    image.close()
    assert image.data is None
    # Explicit values win over the header.
    image = load_band(path, "i", zero_point=30, saturation=1.0, gain=2.0)
    assert (image.zero_point, image.saturation, image.gain) == (30.0, 1.0, 2.0)
    image.close()


def test_zero_point_rules():
    wcs = make_wcs()
    data = np.zeros((5, 5))
    with pytest.raises(ValueError, match=r"images\['g'\].*no photometric zero point"):
        load_band(fits.PrimaryHDU(data, header=header()), "g", default_zero_point=30)
    with pytest.raises(ValueError, match=r"zero_points=\{'g': ...\}"):
        load_band((data, wcs), "g")
    assert load_band((data, wcs), "g", default_zero_point=30).zero_point == 30.0
    nddata = NDData(data, wcs=wcs, meta={"header": fits.Header({"MAGZPT": 26.0})})
    assert load_band(nddata, "g").zero_point == 26.0
    assert load_band(NDData(data, wcs=wcs, meta={"PHOTZP": 25.0}), "g").zero_point == 25.0


def test_wcs_is_required_by_load_band():
    with pytest.raises(TypeError, match=r"images\['g'\] has no WCS"):
        load_band(np.zeros((5, 5)), "g", zero_point=30)
    hdu = fits.PrimaryHDU(np.zeros((5, 5)), header=fits.Header({"PHOTZP": 30.0}))
    with pytest.raises(ValueError, match=r"images\['g'\].*no celestial WCS"):
        load_band(hdu, "g")
    # Cutouts at pixel positions do not need one.
    with contextlib.ExitStack() as stack:
        assert load_planes(hdu, "images['g']", stack)[0].wcs is None


def test_truncated_file_is_an_oserror_for_every_user(tmp_path):
    good = tmp_path / "g.fits"
    fits.PrimaryHDU(np.zeros((64, 64)), header=header(PHOTZP=30.0)).writeto(good)
    raw = good.read_bytes()
    bad = tmp_path / "cut_g.fits"
    bad.write_bytes(raw[: len(raw) // 2])
    with contextlib.ExitStack() as stack, pytest.raises(OSError, match=r"images\['g'\].*truncated"):
        load_planes(bad, "images['g']", stack)
    with pytest.raises(OSError, match="truncated"):
        load_images({"g": bad})


def test_same_grid_tolerance():
    wcs = make_wcs()
    a = load_band((np.zeros((10, 10)), wcs), "g", zero_point=30)
    b = load_band((np.zeros((10, 10)), make_wcs(crpix=(50.5005, 50.5))), "i", zero_point=30)
    assert a.same_grid(b)  # 5e-4 pixel apart: the same grid for detection
    assert not a.same_grid(b, tolerance=1e-6)
    c = load_band((np.zeros((10, 11)), wcs), "r", zero_point=30)
    assert not a.same_grid(c)
