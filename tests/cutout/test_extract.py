"""Cutout.from_images: inputs, centring, alignment across grids, masks, zero points, errors."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import CCDData, Cutout2D, NDData
from astropy.table import QTable
from astropy.wcs import WCS
from cutout_helpers import CENTER, centroid, gaussian_image, make_wcs, offsets

from clusterfinder import Cutout
from clusterfinder.cutout.extract import size_in_pixels
from clusterfinder.utils import ClusterFinderWarning


def write_image(path, data, wcs, **keywords):
    header = wcs.to_header() if wcs is not None else fits.Header()
    for key, value in keywords.items():
        header[key] = value
    fits.PrimaryHDU(data, header=header).writeto(path)
    return path


@pytest.fixture
def noise_image():
    return np.random.default_rng(3).normal(size=(120, 140)).astype(np.float32)


# -- centring and agreement with Cutout2D -----------------------------------------------------


@pytest.mark.parametrize("size", [7, 8, 33])
def test_equals_cutout2d_from_memmapped_file(tmp_path, noise_image, size):
    wcs = make_wcs(crpix=(70.5, 60.5))
    path = write_image(tmp_path / "g.fits", noise_image, wcs, PHOTZP=30.0)
    rng = np.random.default_rng(1)
    x = rng.uniform(size, 140 - size, 50)
    y = rng.uniform(size, 120 - size, 50)
    coords = wcs.pixel_to_world(x, y)
    cut = Cutout.from_images({"g": path}, coords, cutout_size=size)
    assert not cut.mask.any()
    for k in range(50):
        expected = Cutout2D(noise_image, (x[k], y[k]), size, wcs=wcs)
        np.testing.assert_array_equal(cut.data[k, 0], expected.data)
        # the stamp WCS is the image WCS shifted, like Cutout2D's
        sx, sy = cut.stamp_wcs(k).world_to_pixel(coords[k])
        assert abs(sx - cut.table["x_stamp"][k]) < 1e-6 and abs(sy - cut.table["y_stamp"][k]) < 1e-6
        ex, ey = expected.wcs.world_to_pixel(coords[k])
        assert abs(sx - ex) < 1e-6 and abs(sy - ey) < 1e-6
    # the source lies within half a pixel of the stamp centre
    centre = (size - 1) / 2
    assert np.all(np.abs(cut.table["x_stamp"] - centre) <= 0.5 + 1e-9)
    assert np.all(np.abs(cut.table["y_stamp"] - centre) <= 0.5 + 1e-9)
    np.testing.assert_allclose(cut.table["x"], x, atol=1e-6)


def test_pixel_positions_and_tuple_form(noise_image, wcs):
    xy = np.array([[10.0, 20.0], [30.4, 40.6]])
    a = Cutout.from_images({"g": (noise_image, wcs)}, xy, cutout_size=5, zero_points=30)
    b = Cutout.from_images(
        {"g": (noise_image, wcs)}, (xy[:, 0], xy[:, 1]), cutout_size=5, zero_points=30
    )
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.data[0, 0], noise_image[18:23, 8:13])
    np.testing.assert_array_equal(a.data[1, 0], noise_image[39:44, 28:33])
    # with a WCS the sky position is known
    assert isinstance(a.coords, SkyCoord)
    np.testing.assert_allclose(wcs.world_to_pixel(a.coords)[0], xy[:, 0], atol=1e-6)


def test_bare_array_needs_pixel_positions(noise_image):
    cut = Cutout.from_images({"g": noise_image}, [(5, 5)], cutout_size=3, zero_points=30)
    assert cut.coords is None and cut.stamp_wcs(0) is None and cut.wcs is None
    with pytest.raises(ValueError, match="no celestial WCS"):
        Cutout.from_images({"g": noise_image}, CENTER, cutout_size=3, zero_points=30)


def test_size_as_angle(noise_image, wcs):
    cut = Cutout.from_images(
        {"g": (noise_image, wcs)}, CENTER, cutout_size=2 * u.arcsec, zero_points=30
    )
    assert cut.stamp_size == 11  # 2 / 0.186 = 10.75 -> nearest odd
    assert size_in_pixels(12 * u.arcsec, wcs) == 65
    assert size_in_pixels(1.86 * u.arcsec, wcs) == 11  # a tie (10.0) goes up
    assert size_in_pixels(u.Quantity(9, u.pix)) == 9
    assert size_in_pixels(9.0) == 9


@pytest.mark.parametrize(
    ("size", "error"),
    [
        (0, ValueError),
        (-3, ValueError),
        (2.5, TypeError),
        (True, TypeError),
        ("9", TypeError),
        (3 * u.kg, TypeError),
        (-1 * u.arcsec, ValueError),
    ],
)
def test_size_errors(noise_image, wcs, size, error):
    with pytest.raises(error, match="size"):
        Cutout.from_images({"g": (noise_image, wcs)}, CENTER, cutout_size=size, zero_points=30)


# -- several bands -----------------------------------------------------------------------------


def test_bands_on_different_grids_are_aligned():
    """Gaussian sources on two grids (offset, rotated, 0.25"/pix vs 0.186"/pix)."""
    coords = offsets(12, half_width=5.0, seed=2)
    w_g = make_wcs(crpix=(60.5, 60.5))
    w_i = make_wcs(crpix=(44.3, 51.8), scale=0.25, rotation=25.0)
    g = gaussian_image(w_g, (120, 120), coords, flux=1000.0)
    i = gaussian_image(w_i, (100, 100), coords, flux=1000.0)
    cut = Cutout.from_images({"g": (g, w_g), "i": (i, w_i)}, coords, cutout_size=31, zero_points=30)
    assert cut.stamp_size == 31 and not cut.mask.any()
    worst = 0.0
    for k in range(len(coords)):
        xs, ys = cut.table["x_stamp"][k], cut.table["y_stamp"][k]
        cg = centroid(cut.data[k, 0], xs, ys)
        ci = centroid(cut.data[k, 1], xs, ys)
        worst = max(worst, abs(cg[0] - ci[0]), abs(cg[1] - ci[1]))
    assert worst < 0.05
    # flux is conserved by the resampling (sum over the whole stamp)
    np.testing.assert_allclose(
        cut.data[:, 1].sum(axis=(1, 2)), cut.data[:, 0].sum(axis=(1, 2)), rtol=2e-3
    )
    for col in ("x_i", "y_i"):
        assert col in cut.table.colnames
    xi, yi = w_i.world_to_pixel(coords)
    np.testing.assert_allclose(cut.table["x_i"], xi, atol=1e-6)
    np.testing.assert_allclose(cut.table["y_i"], yi, atol=1e-6)


def test_isolated_source_centred_in_every_band():
    coord = CENTER.spherical_offsets_by(0.37 * u.arcsec, -0.81 * u.arcsec)
    w_g = make_wcs(crpix=(40.2, 40.9))
    w_i = make_wcs(crpix=(35.7, 33.1), scale=0.3, rotation=-40.0)
    g = gaussian_image(w_g, (80, 80), coord)
    i = gaussian_image(w_i, (70, 70), coord)
    cut = Cutout.from_images({"g": (g, w_g), "i": (i, w_i)}, coord, cutout_size=21, zero_points=30)
    xs, ys = cut.table["x_stamp"][0], cut.table["y_stamp"][0]
    for b in range(2):
        cx, cy = centroid(cut.data[0, b], xs, ys, radius=8)
        assert abs(cx - xs) < 0.05 and abs(cy - ys) < 0.05


def test_integer_shifted_grids_are_copied_not_resampled(noise_image):
    w_g = make_wcs(crpix=(70.5, 60.5))
    w_i = make_wcs(crpix=(67.5, 65.5))  # same scale, shifted by (-3, +5) pixels
    coords = w_g.pixel_to_world([30.2, 80.7], [40.4, 70.1])
    cut = Cutout.from_images(
        {"g": (noise_image, w_g), "i": (noise_image * 2, w_i)},
        coords,
        cutout_size=9,
        zero_points=30,
    )
    x0 = np.ceil(np.array([30.2, 80.7]) - 4.5).astype(int)
    y0 = np.ceil(np.array([40.4, 70.1]) - 4.5).astype(int)
    for k in range(2):
        np.testing.assert_array_equal(
            cut.data[k, 0], noise_image[y0[k] : y0[k] + 9, x0[k] : x0[k] + 9]
        )
        np.testing.assert_array_equal(
            cut.data[k, 1], 2 * noise_image[y0[k] + 5 : y0[k] + 14, x0[k] - 3 : x0[k] + 6]
        )


def test_band_selection_and_order(noise_image, wcs):
    images = {"g": (noise_image, wcs), "r": (noise_image + 1, wcs), "i": (noise_image + 2, wcs)}
    cut = Cutout.from_images(images, CENTER, cutout_size=5, bands=("i", "g"), zero_points=30)
    assert cut.bands == ("i", "g")
    np.testing.assert_allclose(cut.data[0, 0] - 2, cut.data[0, 1], atol=1e-6)
    assert Cutout.from_images(images, CENTER, cutout_size=5, zero_points=30).bands == (
        "g",
        "r",
        "i",
    )
    with pytest.raises(ValueError, match="not keys of images"):
        Cutout.from_images(images, CENTER, cutout_size=5, bands=("z",), zero_points=30)


def test_pixel_positions_need_one_grid(noise_image):
    images = {"g": (noise_image, make_wcs()), "i": (noise_image, make_wcs(crpix=(1.0, 2.0)))}
    with pytest.raises(ValueError, match="one pixel grid"):
        Cutout.from_images(images, [(10, 10)], cutout_size=5, zero_points=30)


# -- multi-extension images (one extension per CCD) ------------------------------------------


def make_mosaic(tmp_path, *, with_mask=False):
    """Two 'CCDs' side by side on the sky, as a multi-extension file."""
    rng = np.random.default_rng(5)
    hdus = [fits.PrimaryHDU(header=fits.Header({"PHOTZP": 30.0}))]
    ccds = []
    # the second CCD starts at pixel x = 66 of the first: a gap of two pixels
    for k, crpix_x in enumerate((60.5, -5.5)):
        wcs = make_wcs(crpix=(crpix_x, 30.5))
        data = rng.normal(size=(60, 64)).astype(np.float32) + 100 * k
        header = wcs.to_header()
        header["EXTNAME"] = "SCI"
        header["EXTVER"] = k + 1
        hdus.append(fits.ImageHDU(data, header=header))
        ccds.append((data, wcs))
        hdus.append(fits.ImageHDU(np.ones((60, 64), np.float32), name="WHT"))
        if with_mask:
            dq = np.zeros((60, 64), dtype=np.int16)
            dq[30, 10 + k] = 4
            mask_hdu = fits.ImageHDU(dq, name="DQ")
            mask_hdu.header["EXTVER"] = k + 1
            hdus.append(mask_hdu)
    path = tmp_path / "mosaic.fits"
    fits.HDUList(hdus).writeto(path)
    return path, ccds


def test_multi_extension_picks_the_extension_holding_each_position(tmp_path):
    path, ccds = make_mosaic(tmp_path)
    coords = SkyCoord(
        [ccds[0][1].pixel_to_world(20.3, 30.1), ccds[1][1].pixel_to_world(40.6, 25.2)]
    )
    cut = Cutout.from_images({"g": path}, coords, cutout_size=9)
    assert cut.table["ext_g"].tolist() == [1, 3]
    for k, (x, y) in enumerate([(20.3, 30.1), (40.6, 25.2)]):
        data = ccds[k][0]
        np.testing.assert_array_equal(cut.data[k, 0], Cutout2D(data, (x, y), 9).data)
        sx, sy = cut.stamp_wcs(k).world_to_pixel(coords[k])
        assert abs(sx - cut.table["x_stamp"][k]) < 1e-6
        assert abs(sy - cut.table["y_stamp"][k]) < 1e-6
    # the primary-header zero point applies to the extensions; hdulist input works too
    with fits.open(path) as hdul:
        again = Cutout.from_images({"g": hdul}, coords, cutout_size=9)
    np.testing.assert_array_equal(again.data, cut.data)


def test_position_in_gap_between_extensions_is_masked(tmp_path):
    path, ccds = make_mosaic(tmp_path)
    near_edge = ccds[0][1].pixel_to_world(61.0, 30.0)  # 3 pixels inside the first CCD
    cut = Cutout.from_images({"g": path}, near_edge, cutout_size=11)
    assert cut.table["off_image"][0]
    assert cut.mask[0, 0, :, 8:].all() and not cut.mask[0, 0, :, :8].any()
    assert (cut.data[0, 0][cut.mask[0, 0]] == 0).all()


def test_mask_extension_flags_pixels(tmp_path):
    path, ccds = make_mosaic(tmp_path, with_mask=True)
    coords = SkyCoord([ccds[0][1].pixel_to_world(10, 30), ccds[1][1].pixel_to_world(11, 30)])
    cut = Cutout.from_images({"g": path}, coords, cutout_size=5)
    assert cut.mask.sum() == 2
    assert cut.mask[0, 0, 2, 2] and cut.mask[1, 0, 2, 2]


# -- masks, NaN, off-image ---------------------------------------------------------------------


def test_nan_pixels_and_nddata_mask(noise_image, wcs):
    image = noise_image.copy()
    image[50, 50] = np.nan
    flags = np.zeros(image.shape, dtype=bool)
    flags[51, 50] = True
    nd = NDData(image, wcs=wcs, mask=flags, meta={"PHOTZP": 30.0})
    cut = Cutout.from_images({"g": nd}, [(50.0, 50.0)], cutout_size=3)
    assert cut.data[0, 0, 1, 1] == 0 and cut.mask[0, 0, 1, 1] and cut.mask[0, 0, 2, 1]
    assert cut.mask.sum() == 2 and np.isfinite(cut.data).all()


def test_ccddata_input(noise_image, wcs):
    ccd = CCDData(noise_image, unit="adu", wcs=wcs, meta={"MAGZPT": 27.5})
    cut = Cutout.from_images({"g": ccd}, [(50.0, 50.0)], cutout_size=3)
    np.testing.assert_allclose(cut.data[0, 0], 10 * noise_image[49:52, 49:52], rtol=1e-6)


def test_off_image_mask_and_raise(noise_image, wcs):
    nx = noise_image.shape[1]
    xy = np.array([[50.0, 50.0], [1.0, 1.0], [nx + 100.0, 50.0]])
    cut = Cutout.from_images({"g": (noise_image, wcs)}, xy, cutout_size=7, zero_points=30)
    assert cut.table["off_image"].tolist() == [False, True, True]
    assert not cut.mask[0].any()
    assert (
        cut.mask[1, 0, :2].all()
        and cut.mask[1, 0, :, :2].all()
        and not cut.mask[1, 0, 2:, 2:].any()
    )
    np.testing.assert_array_equal(cut.data[1, 0, 2:, 2:], noise_image[:5, :5])
    assert cut.mask[2].all() and (cut.data[2] == 0).all()
    with pytest.raises(ValueError, match=r"2 of 3 positions .*indices 1, 2"):
        Cutout.from_images(
            {"g": (noise_image, wcs)}, xy, cutout_size=7, zero_points=30, off_image="raise"
        )
    with pytest.raises(ValueError, match="off_image"):
        Cutout.from_images(
            {"g": (noise_image, wcs)}, xy, cutout_size=7, zero_points=30, off_image="drop"
        )


def test_position_on_the_far_side_of_the_sky(noise_image, wcs):
    far = SkyCoord(190 * u.deg, -41 * u.deg)
    cut = Cutout.from_images(
        {"g": (noise_image, wcs)}, SkyCoord([CENTER, far]), cutout_size=5, zero_points=30
    )
    assert cut.mask[1].all() and not cut.mask[0].any()
    assert np.isnan(cut.table["x"][1]) and cut.stamp_wcs(1) is None


def test_empty_positions(noise_image, wcs):
    for empty in (SkyCoord([], [], unit="deg"), np.zeros((0, 2)), []):
        cut = Cutout.from_images(
            {"g": (noise_image, wcs), "i": (noise_image, wcs)}, empty, cutout_size=9, zero_points=30
        )
        assert len(cut) == 0 and cut.data.shape == (0, 2, 9, 9)


# -- zero points -------------------------------------------------------------------------------


def test_zero_points_from_headers_and_arguments(tmp_path, noise_image, wcs):
    g = write_image(tmp_path / "g.fits", noise_image, wcs, PHOTZP=30.0)
    i = write_image(tmp_path / "i.fits", noise_image, wcs, MAGZPT=25.0)
    cut = Cutout.from_images({"g": g, "i": i}, CENTER, cutout_size=5)
    np.testing.assert_allclose(cut.data[0, 1], 100 * cut.data[0, 0], rtol=1e-6)
    # an explicit zero point wins over the header
    cut = Cutout.from_images({"g": g, "i": i}, CENTER, cutout_size=5, zero_points={"i": 30.0})
    np.testing.assert_array_equal(cut.data[0, 1], cut.data[0, 0])
    cut = Cutout.from_images({"g": g, "i": i}, CENTER, cutout_size=5, zero_points=31.0)
    np.testing.assert_allclose(cut.data[0, 0], noise_image[47:52, 47:52] / 10**0.4, rtol=1e-6)


def test_missing_zero_point_is_an_error(tmp_path, noise_image, wcs):
    path = write_image(tmp_path / "g.fits", noise_image, wcs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClusterFinderWarning)
        with pytest.raises(
            ValueError, match=r"no photometric zero point for band 'g'.*zero_points"
        ):
            Cutout.from_images({"g": path}, CENTER, cutout_size=5)
    with pytest.raises(ValueError, match="zero_points names band"):
        Cutout.from_images({"g": path}, CENTER, cutout_size=5, zero_points={"z": 30})
    with pytest.raises(TypeError, match="zero_points"):
        Cutout.from_images({"g": path}, CENTER, cutout_size=5, zero_points="30")
    with pytest.raises(ValueError, match="finite"):
        Cutout.from_images({"g": path}, CENTER, cutout_size=5, zero_points=np.nan)


@pytest.mark.parametrize("zero_points", [-99.0, 0, 1000.0, {"g": 5.0}, {"i": 41.0}])
def test_implausible_explicit_zero_points_are_refused(tmp_path, noise_image, wcs, zero_points):
    """Given zero points are range-checked (15-40 AB) like the headers' ones."""
    g = write_image(tmp_path / "g.fits", noise_image, wcs, PHOTZP=30.0)
    i = write_image(tmp_path / "i.fits", noise_image, wcs, PHOTZP=30.0)
    band = next(iter(zero_points)) if isinstance(zero_points, dict) else "g"
    value = zero_points[band] if isinstance(zero_points, dict) else zero_points
    with pytest.raises(
        ValueError,
        match=rf"the zero point given for band '{band}' = {value!r} is not a plausible AB zero "
        r"point: expected 15 to 40",
    ):
        Cutout.from_images({"g": g, "i": i}, CENTER, cutout_size=5, zero_points=zero_points)


# -- tables ------------------------------------------------------------------------------------


def test_caller_table_is_carried(noise_image, wcs):
    coords = offsets(4)
    meta = QTable({"label": [1, 0, 0, 1], "mag_g": [20.0, 21, 22, 23] * u.mag, "x": [0, 0, 0, 0]})
    cut = Cutout.from_images(
        {"g": (noise_image, wcs)}, coords, cutout_size=5, zero_points=30, table=meta
    )
    assert cut.table.colnames[:6] == ["coord", "x", "y", "x_stamp", "y_stamp", "off_image"]
    assert cut.table["label"].tolist() == [1, 0, 0, 1]
    assert cut.table["mag_g"].unit == u.mag
    np.testing.assert_allclose(cut.table["x"], wcs.world_to_pixel(coords)[0])  # ours win
    assert meta["x"].tolist() == [0, 0, 0, 0]  # the caller's table is not modified
    with pytest.raises(ValueError, match="3 rows but there are 4"):
        Cutout.from_images(
            {"g": (noise_image, wcs)}, coords, cutout_size=5, zero_points=30, table=meta[:3]
        )


# -- wrong input -------------------------------------------------------------------------------


def test_input_errors(tmp_path, noise_image, wcs):
    good = {"g": (noise_image, wcs)}
    with pytest.raises(TypeError, match="non-empty dict"):
        Cutout.from_images([noise_image], CENTER, cutout_size=5)
    with pytest.raises(TypeError, match="non-empty dict"):
        Cutout.from_images({}, CENTER, cutout_size=5)
    with pytest.raises(TypeError, match=r"images\['g'\] must be a FITS path"):
        Cutout.from_images({"g": 3}, CENTER, cutout_size=5, zero_points=30)
    with pytest.raises(FileNotFoundError, match="no such file"):
        Cutout.from_images({"g": str(tmp_path / "missing.fits")}, CENTER, cutout_size=5)
    with pytest.raises(TypeError, match="positions must be"):
        Cutout.from_images(good, "00h42m +41d", cutout_size=5, zero_points=30)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        Cutout.from_images(good, np.zeros((3, 3)), cutout_size=5, zero_points=30)
    with pytest.raises(ValueError, match="finite"):
        Cutout.from_images(good, [(np.nan, 1.0)], cutout_size=5, zero_points=30)
    with pytest.raises(ValueError, match="2-d image"):
        Cutout.from_images(
            {"g": (np.zeros((2, 3, 4)), wcs)}, [(1, 1)], cutout_size=3, zero_points=30
        )
    with pytest.raises(TypeError, match=r"astropy\.wcs\.WCS"):
        Cutout.from_images({"g": (noise_image, "wcs")}, [(1, 1)], cutout_size=3, zero_points=30)
    spectral = WCS(naxis=2)
    spectral.wcs.ctype = ["WAVE", "FREQ"]
    with pytest.raises(ValueError, match="no celestial WCS"):
        Cutout.from_images({"g": (noise_image, spectral)}, [(1, 1)], cutout_size=3, zero_points=30)
    table_file = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(QTable({"a": [1]}))]).writeto(table_file)
    with pytest.raises(ValueError, match="no image extension"):
        Cutout.from_images({"g": table_file}, CENTER, cutout_size=3, zero_points=30)
    text = tmp_path / "not.fits"
    text.write_text("hello")
    with pytest.raises(OSError, match="cannot read"):
        Cutout.from_images({"g": text}, CENTER, cutout_size=3, zero_points=30)


def test_mask_extension_shape_mismatch(tmp_path, noise_image, wcs):
    path = tmp_path / "bad.fits"
    fits.HDUList(
        [
            fits.PrimaryHDU(noise_image, header=wcs.to_header()),
            fits.ImageHDU(np.zeros((3, 3)), name="MASK"),
        ]
    ).writeto(path)
    with pytest.raises(ValueError, match="mask extension"):
        Cutout.from_images({"g": path}, CENTER, cutout_size=3, zero_points=30)


def test_progress_bar_runs(noise_image, wcs):
    cut = Cutout.from_images(
        {"g": (noise_image, wcs)}, offsets(5), cutout_size=5, zero_points=30, progress_bar=True
    )
    assert len(cut) == 5


def test_positions_in_another_frame(noise_image, wcs):
    coords = offsets(6)
    a = Cutout.from_images({"g": (noise_image, wcs)}, coords, cutout_size=7, zero_points=30)
    b = Cutout.from_images(
        {"g": (noise_image, wcs)}, coords.galactic, cutout_size=7, zero_points=30
    )
    np.testing.assert_array_equal(a.data, b.data)


def test_pages_released_during_a_pass_give_the_same_stamps(tmp_path, noise_image, monkeypatch):
    from clusterfinder.cutout import extract

    wcs = make_wcs(crpix=(70.5, 60.5))
    path = write_image(tmp_path / "g.fits", noise_image, wcs, PHOTZP=30.0)
    coords = wcs.pixel_to_world(np.linspace(5, 130, 300), np.linspace(5, 110, 300))
    expected = Cutout.from_images({"g": path}, coords, cutout_size=9)
    monkeypatch.setattr(extract, "RELEASE_BYTES", 1)
    monkeypatch.setattr(extract, "BATCH_PIXELS", 81 * 64)
    again = Cutout.from_images({"g": path}, coords, cutout_size=9)
    np.testing.assert_array_equal(again.data, expected.data)
    np.testing.assert_array_equal(again.mask, expected.mask)


def test_tile_compressed_and_integer_images(tmp_path, wcs):
    image = np.arange(100 * 100, dtype=np.int32).reshape(100, 100) % 1000
    header = wcs.to_header()
    header["PHOTZP"] = 30.0
    path = tmp_path / "compressed.fits"
    hdu = fits.CompImageHDU(image, header=header, compression_type="RICE_1")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    cut = Cutout.from_images({"g": path}, [(20.0, 30.0)], cutout_size=5)
    np.testing.assert_array_equal(cut.data[0, 0], image[28:33, 18:23].astype(np.float32))
    assert cut.data.dtype == np.float32 and not cut.mask.any()


def test_size_is_still_accepted_with_a_deprecation_warning():
    """``cutout_size`` is the package's one stamp-size name; ``size`` still works."""
    from astropy.utils.exceptions import AstropyDeprecationWarning

    image = np.arange(100.0).reshape(10, 10)
    new = Cutout.from_images({"g": image}, [(4.0, 5.0)], cutout_size=3, zero_points=30)
    with pytest.warns(AstropyDeprecationWarning, match='"size" was deprecated'):
        old = Cutout.from_images({"g": image}, [(4.0, 5.0)], size=3, zero_points=30)
    np.testing.assert_array_equal(old.data, new.data)
    with pytest.raises(TypeError, match="cutout_size must be an integer number of pixels"):
        Cutout.from_images({"g": image}, [(4.0, 5.0)], cutout_size=2.5, zero_points=30)
