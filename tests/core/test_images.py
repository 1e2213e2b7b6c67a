"""Tests of clusterfinder.images, the one image loader of cutouts, detection and scans."""

import contextlib
import mmap

import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import NDData
from cutout_helpers import make_wcs

from clusterfinder import Cutout
from clusterfinder.detection import BandImage as DetectionBandImage
from clusterfinder.detection import load_images
from clusterfinder.images import (
    BandImage,
    ScaledPixels,
    _memory_map,
    load_band,
    load_plane,
    load_planes,
)
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
    with pytest.raises(
        ValueError, match=r"no photometric zero point for band 'g' \(images\['g'\]\): none"
    ):
        load_band(fits.PrimaryHDU(data, header=header()), "g", default_zero_point=30)
    with pytest.raises(ValueError, match=r"zero_points=\{'g': ...\}"):
        load_band((data, wcs), "g")
    assert load_band((data, wcs), "g", default_zero_point=30).zero_point == 30.0
    nddata = NDData(data, wcs=wcs, meta={"header": fits.Header({"MAGZPT": 26.0})})
    assert load_band(nddata, "g").zero_point == 26.0
    assert load_band(NDData(data, wcs=wcs, meta={"PHOTZP": 25.0}), "g").zero_point == 25.0


def test_a_refused_header_zero_point_is_recorded_and_raised_only_when_used(tmp_path):
    path = tmp_path / "g.fits"
    fits.PrimaryHDU(np.ones((6, 7)), header=header(PHOTZP=-99.0)).writeto(path)
    with contextlib.ExitStack() as stack:
        plane = load_plane(path, "images['g']", stack)
        # Opening the image records the header's problem; it uses no zero point yet.
        assert plane.zero_point is None
        assert plane.zero_point_problem.startswith(
            "images['g'] (g.fits[0]): header keyword PHOTZP = -99.0 is not a plausible"
        )
        # A zero point given explicitly replaces the header's.
        assert plane.resolve_zero_point(27.5, band="g") == 27.5
        with pytest.raises(ValueError, match=r"the zero point given for band 'g' = 99"):
            plane.resolve_zero_point(99, band="g")
        # The default of headerless images does not replace a FITS header's bad value.
        for default in (None, 30.0):
            with pytest.raises(
                ValueError, match=r"PHOTZP = -99.0 .*\(zero_points=\{'g': \.\.\.\}\)"
            ):
                plane.resolve_zero_point(band="g", default=default)
    # NDData metadata and the header given with an array follow the same rule.
    nddata = NDData(np.ones((6, 7)), wcs=make_wcs(), meta={"PHOTZP": "n/a"})
    with pytest.raises(ValueError, match=r"images\['g'\].meta: header keyword PHOTZP = 'n/a'"):
        load_band(nddata, "g", default_zero_point=30)
    assert load_band(nddata, "g", zero_point=28).zero_point == 28.0
    pair = (np.ones((6, 7)), header(MAGZPT=1000.0))
    with pytest.raises(ValueError, match=r"MAGZPT = 1000.0 is not a plausible"):
        load_band(pair, "g")
    assert load_band(pair, "g", zero_point=31).zero_point == 31.0


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


# -- integer images scaled by BSCALE/BZERO/BLANK, as archives deliver them -------------------


def _memory_map_of(data):
    base = data
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    return base


def write_uint16(path, physical, **cards):
    """uint16 pixels: FITS stores them as int16 with BZERO = 32768."""
    fits.PrimaryHDU(physical.astype(np.uint16), header=header(PHOTZP=30.0, **cards)).writeto(path)
    with fits.open(path, do_not_scale_image_data=True) as hdul:
        assert hdul[0].header["BITPIX"] == 16 and hdul[0].header["BZERO"] == 32768


def write_scaled_int16(path, physical, *, blank_at=None):
    """int16 pixels with BSCALE = 0.5, BZERO = 8000 and BLANK = -32768; physical values back."""
    hdu = fits.PrimaryHDU(physical.astype(np.float64), header=header(PHOTZP=30.0))
    hdu.scale("int16", bscale=0.5, bzero=8000.0)
    if blank_at is not None:
        hdu.data[blank_at] = -32768
        hdu.header["BLANK"] = -32768
    hdu.writeto(path)
    expected = (8000.0 + 0.5 * hdu.data.astype(np.float64)).astype(np.float32)
    if blank_at is not None:
        expected[blank_at] = np.nan
    return expected


def test_uint16_image_reads_memory_mapped_with_bzero_applied(tmp_path):
    path = tmp_path / "archive_g.fits"
    physical = (np.arange(60 * 70).reshape(60, 70) * 15) % 65536  # up to 65535
    write_uint16(path, physical)
    image = load_band(path, "g")
    assert isinstance(image.data, ScaledPixels) and image.data.dtype == np.float32
    assert _memory_map_of(image.data) is not None  # the raw integers stay on disk
    np.testing.assert_array_equal(np.asarray(image.data), physical.astype(np.float32))
    assert float(image.data[59, 69]) == float(physical[59, 69])
    image.close()
    # Every reader of images takes them: detection, scans, cutouts.
    loaded = load_images({"g": path})["g"]
    assert loaded.data[0, 1] == 15.0
    loaded.close()
    with TiledImages({"g": path}, tile_size=32) as field:
        blocks, _ = field.tile_block(field.tiles[0], 0)
        np.testing.assert_array_equal(blocks["g"][0][:32, :32], physical[:32, :32])
    cut = Cutout.from_images({"g": path}, [(10.0, 20.0), (-1.0, 2.0)], cutout_size=5)
    np.testing.assert_array_equal(cut.data[0, 0], physical[18:23, 8:13])
    # x0 = ceil(-1 - 2.5) = -3: three columns off the image, masked and 0 (not BZERO).
    assert cut.mask[1, 0, :, :3].all() and not cut.mask[1, 0, :, 3:].any()
    assert (cut.data[1, 0, :, :3] == 0).all()
    np.testing.assert_array_equal(cut.data[1, 0, :, 3:], physical[0:5, 0:2])


def test_bscale_bzero_blank_image_is_scaled_and_blank_is_masked(tmp_path):
    path = tmp_path / "scaled_g.fits"
    rng = np.random.default_rng(3)
    expected = write_scaled_int16(path, rng.uniform(0, 20000, (40, 50)), blank_at=(12, 30))
    with contextlib.ExitStack() as stack:
        (plane,) = load_planes(path, "images['g']", stack)
        np.testing.assert_array_equal(np.asarray(plane.data), expected)
        assert np.isnan(plane.data[12, 30])
    cut = Cutout.from_images({"g": path}, [(30.0, 12.0), (10.0, 10.0)], cutout_size=3)
    assert cut.mask[0, 0, 1, 1] and cut.mask[0, 0].sum() == 1 and cut.data[0, 0, 1, 1] == 0
    np.testing.assert_array_equal(cut.data[1, 0], expected[9:12, 9:12])


def test_scaled_mask_extension_flags_by_physical_value(tmp_path):
    # A uint16 DQ extension is int16 + BZERO on disk: raw -32768 is a good pixel (0).
    dq = np.zeros((6, 7), np.uint16)
    dq[2, 3] = 4
    hdus = [
        fits.PrimaryHDU(header=fits.Header({"PHOTZP": 27.0})),
        fits.ImageHDU(np.ones((6, 7), np.float32), header=header(), name="SCI"),
        fits.ImageHDU(dq, name="DQ"),
    ]
    path = tmp_path / "mosaic_g.fits"
    fits.HDUList(hdus).writeto(path)
    with contextlib.ExitStack() as stack:
        (plane,) = load_planes(path, "images['g']", stack)
        assert plane.mask.dtype == bool and plane.mask.sum() == 1 and plane.mask[2, 3]


def test_hdulists_opened_by_the_caller(tmp_path):
    path = tmp_path / "archive_g.fits"
    physical = np.arange(30 * 20).reshape(30, 20) + 40000
    write_uint16(path, physical)
    with fits.open(path) as hdul:  # astropy scales (in memory)
        assert load_band(hdul, "g").data[1, 0] == 40020
    with fits.open(path, do_not_scale_image_data=True) as hdul:  # raw: scaled by us
        assert load_band(hdul, "g").data[1, 0] == 40020
    with fits.open(path, memmap=True) as hdul:  # astropy refuses to scale a memory map
        with pytest.raises(OSError, match=r"images\['g'\].*memmap=True.*pass the file path"):
            load_band(hdul, "g")


def test_scaled_pixels_convert_in_blocks(monkeypatch):
    import clusterfinder.images as images

    monkeypatch.setattr(images, "_SCALE_BLOCK_PIXELS", 10)  # 2 rows of 5 at a time
    raw = np.arange(35, dtype=np.int16).reshape(7, 5)
    pixels = ScaledPixels(raw, bscale=2.0, bzero=-1.0, blank=34)
    out = np.asarray(pixels)
    assert out.dtype == np.float32 and np.isnan(out[6, 4])
    np.testing.assert_array_equal(out.ravel()[:-1], 2.0 * np.arange(34) - 1.0)
    assert pixels.shape == (7, 5) and len(pixels) == 7 and "bscale=2" in repr(pixels)


def test_only_views_of_files_clusterfinder_mapped_may_release_pages(tmp_path):
    path = tmp_path / "g.fits"
    header = make_wcs().to_header()
    header["PHOTZP"] = 30.0
    fits.PrimaryHDU(np.ones((64, 64), np.float32), header=header).writeto(path)
    with contextlib.ExitStack() as stack:
        own = load_plane(str(path), "g", stack)
        assert own.release
        # A block of a file clusterfinder opened (as a scan cuts stamps from) is its own.
        view = load_plane((own.data[8:40, 8:40], None), "g", stack)
        assert view.release
        # The caller's arrays, memory-mapped or not, are never released: a copy-on-write
        # map may hold changes that only exist in memory.
        with fits.open(path, memmap=True) as hdul:
            theirs = load_plane((hdul[0].data[8:40, 8:40], None), "g", stack)
            assert _memory_map(theirs.data) is not None and not theirs.release
        assert not load_plane((np.ones((8, 8)), None), "g", stack).release
