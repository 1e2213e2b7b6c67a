"""Tests of clusterfinder.detection.detect_sources on synthetic images of known stars."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import NDData
from astropy.table import QTable
from detection_helpers import NOISE, make_wcs, render_stars, star_field, to_hdu

from clusterfinder.crossmatch import match_nearest
from clusterfinder.detection import detect_sources, load_images
from clusterfinder.utils import ClusterFinderWarning


def _match_pixels(sources, truth, tolerance=1.0):
    """Index of the nearest truth star per source, and whether it lies within tolerance."""
    dist = np.hypot(
        np.asarray(sources["x"])[:, None] - truth["x"][None],
        np.asarray(sources["y"])[:, None] - truth["y"][None],
    )
    return dist.argmin(axis=1), dist.min(axis=1) < tolerance


def test_positions_and_magnitudes_recovered(field):
    image, wcs, truth = field
    sources = detect_sources({"i": (image, wcs)}, zero_points=30)
    index, matched = _match_pixels(sources, truth)
    # Every star found once, nothing else (the default threshold is clean on this field).
    assert matched.all()
    assert sorted(index) == list(range(len(truth["x"])))
    dx = np.asarray(sources["x"]) - truth["x"][index]
    dy = np.asarray(sources["y"]) - truth["y"][index]
    assert np.max(np.hypot(dx, dy)) < 0.1
    # Aperture magnitudes agree with the truth within their own errors.
    pull = (np.asarray(sources["mag_i"]) - truth["mag"][index]) / sources["magerr_i"]
    assert abs(np.mean(pull)) < 1.0  # sky medians sit slightly high under star wings
    assert 0.7 < np.std(pull) < 1.4
    assert np.max(np.abs(pull)) < 4.5
    # Fluxes are on zero point 30: flux 1 = 30 AB mag.
    np.testing.assert_allclose(
        sources["mag_i"], 30 - 2.5 * np.log10(sources["flux_i"]), rtol=0, atol=1e-10
    )
    # Sky positions follow the WCS.
    expected = wcs.pixel_to_world(sources["x"], sources["y"])
    assert np.all(sources["coord"].separation(expected) < 1 * u.marcsec)
    assert not np.any(sources["flag_edge"] | sources["flag_saturated"] | sources["flag_masked"])


def test_output_columns_and_meta(field):
    image, wcs, _ = field
    sources = detect_sources({"g": (image, wcs), "i": (image, wcs)}, zero_points=30)
    assert isinstance(sources, QTable)
    assert isinstance(sources["coord"], SkyCoord)
    for name in ("x", "y", "mag_g", "magerr_g", "flux_g", "mag_i", "fluxerr_i", "area"):
        assert name in sources.colnames
    for flag in ("flag_edge", "flag_masked", "flag_saturated", "flag_blended"):
        assert sources[flag].dtype == bool
    assert sources.meta["detection"]["detection_bands"] == ["g", "i"]
    assert sources.meta["detection"]["aperture_radius_arcsec"] == pytest.approx(1.0)


def test_tiling_matches_single_pass():
    image, wcs, _ = star_field(shape=(260, 240), n=49, seed=3)
    kwargs = {"zero_points": 30, "background": "global"}
    whole = detect_sources({"i": (image, wcs)}, tile_size=4096, **kwargs)
    tiled = detect_sources({"i": (image, wcs)}, tile_size=64, tile_margin=24, **kwargs)
    assert len(tiled) == len(whole)
    index, _, matched = match_nearest(whole["coord"], tiled["coord"], 0.01 * u.arcsec)
    assert matched.all()
    assert len(set(index)) == len(index)  # no duplicates across tiles
    np.testing.assert_allclose(tiled["mag_i"][index], whole["mag_i"], atol=0.02)


def test_tiling_with_background_map():
    image, wcs, truth = star_field(shape=(256, 256), n=36, seed=4)
    sources = detect_sources({"i": (image, wcs)}, zero_points=30, tile_size=128, box_size=32)
    index, matched = _match_pixels(sources, truth)
    assert matched.all() and len(set(index)) == 36


def test_gi_stack_detects_sources_seen_in_either_band():
    shape = (200, 200)
    wcs = make_wcs(shape)
    rng = np.random.default_rng(7)
    # One star only in g, one only in i, one in both; each at ~6 sigma in its band.
    flux = 10 ** (-0.4 * (23.6 - 30))
    g = render_stars(shape, [50, 150], [50, 150], [flux, flux]) + rng.normal(0, NOISE, shape)
    i = render_stars(shape, [150, 100], [150, 60], [flux, flux]) + rng.normal(0, NOISE, shape)
    sources = detect_sources({"g": (g, wcs), "i": (i, wcs)}, zero_points=30)
    found = {
        (round(float(x)), round(float(y))) for x, y in zip(sources["x"], sources["y"], strict=True)
    }
    assert {(50, 50), (150, 150), (100, 60)} <= found
    only_g = detect_sources({"g": (g, wcs), "i": (i, wcs)}, zero_points=30, detection_band="g")
    found_g = {
        (round(float(x)), round(float(y))) for x, y in zip(only_g["x"], only_g["y"], strict=True)
    }
    assert (100, 60) not in found_g and (50, 50) in found_g


def test_forced_photometry_on_a_different_grid():
    """The i band on a coarser, shifted grid is measured at the g positions via the WCS."""
    shape = (240, 240)
    wcs_g = make_wcs(shape)
    x = np.array([60.3, 120.0, 181.7])
    y = np.array([70.1, 130.4, 170.8])
    flux = np.array([2000.0, 3000.0, 4000.0])
    rng = np.random.default_rng(2)
    g = render_stars(shape, x, y, flux) + rng.normal(0, 0.5, shape)
    # i: pixels 1.5 times larger, same sky; positions through the WCS.
    shape_i = (170, 170)
    wcs_i = make_wcs(shape_i, scale=0.279)
    sky = wcs_g.pixel_to_world(x, y)
    xi, yi = wcs_i.world_to_pixel(sky)
    i = render_stars(shape_i, xi, yi, 2 * flux, sigma=1.0) + rng.normal(0, 0.5, shape_i)
    sources = detect_sources(
        {"g": (g, wcs_g), "i": (i, wcs_i)}, zero_points=30, background="none", tile_size=100
    )
    assert sources.meta["detection"]["detection_bands"] == ["g"]
    assert len(sources) == 3
    order = np.argsort(sources["x"])
    expected = 30 - 2.5 * np.log10(2 * flux)
    np.testing.assert_allclose(sources["mag_i"][order], expected, atol=0.03)


def test_flags_edge_and_saturation():
    shape = (120, 120)
    wcs = make_wcs(shape)
    image = render_stars(shape, [2.0, 60.0], [60.0, 60.0], [5000.0, 3e5])
    image += np.random.default_rng(0).normal(0, 1, shape)
    hdu = to_hdu(image, wcs, SATURATE=1000.0)
    sources = detect_sources({"i": hdu})
    by_x = sources[np.argsort(sources["x"])]
    assert list(by_x["flag_edge"]) == [True, False]
    assert list(by_x["flag_saturated"]) == [False, True]


def test_masked_pixels_are_flagged():
    image, wcs, truth = star_field(shape=(150, 150), n=9, seed=5)
    x, y = round(truth["x"][4]), round(truth["y"][4])
    image[y + 2, x + 2] = np.nan
    sources = detect_sources({"i": (image, wcs)}, zero_points=30)
    index, matched = _match_pixels(sources, truth)
    assert matched.all()
    assert list(sources["flag_masked"]) == [i == 4 for i in index]


def test_mag_limit():
    image, wcs, truth = star_field(shape=(200, 200), n=25, seed=6)
    sources = detect_sources({"i": (image, wcs)}, zero_points=30, mag_limit=22.0)
    assert np.all(sources["mag_i"] <= 22.0)
    assert len(sources) == np.sum(truth["mag"] < 22.0)
    same = detect_sources({"i": (image, wcs)}, zero_points=30, mag_limit={"i": 22.0})
    assert len(same) == len(sources)


def test_image_forms(tmp_path):
    image, wcs, _ = star_field(shape=(128, 128), n=9, seed=8)
    hdu = to_hdu(image, wcs, zero_point=27.5)
    path = tmp_path / "field_i.fits"
    hdu.writeto(path)
    from_path = detect_sources({"i": path})
    from_hdul = detect_sources(
        {"i": fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(hdu.data, hdu.header)])}
    )
    from_nddata = detect_sources(
        {"i": NDData(image.astype(np.float32), wcs=wcs, meta=dict(hdu.header))}
    )
    assert len(from_path) == len(from_hdul) == len(from_nddata) == 9
    # The header zero point 27.5 is used: fluxes come out 10x larger than on ZP 30 ...
    direct = detect_sources({"i": (image, wcs)}, zero_points=27.5)
    np.testing.assert_allclose(from_path["mag_i"], direct["mag_i"], atol=1e-4)
    assert from_path.meta["detection"]["images"] == {"i": "field_i.fits"}
    # Where each zero point came from is recorded; a given one replaces the header's.
    assert from_path.meta["detection"]["zero_point_origins"] == {"i": "header"}
    assert direct.meta["detection"]["zero_point_origins"] == {"i": "zero_points"}
    replaced = detect_sources({"i": path}, zero_points={"i": 27.5})
    assert replaced.meta["detection"]["zero_points"] == {"i": 27.5}
    assert replaced.meta["detection"]["zero_point_origins"] == {"i": "zero_points"}


def test_empty_field_warns_and_has_columns():
    shape = (64, 64)
    image = np.random.default_rng(0).normal(0, 1, shape)
    with pytest.warns(ClusterFinderWarning, match="no source"):
        sources = detect_sources({"g": (image, make_wcs(shape))}, zero_points=30, nsigma=50)
    assert len(sources) == 0
    assert {"coord", "x", "y", "mag_g", "magerr_g", "flag_edge"} <= set(sources.colnames)
    assert isinstance(sources["coord"], SkyCoord)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"images": {}}, TypeError, "non-empty dict"),
        ({"images": {"i": np.zeros((8, 8))}}, TypeError, "images\\['i'\\]"),
        ({"detection_band": "r"}, ValueError, "detection_band"),
        ({"bands": ["z"]}, ValueError, "bands"),
        ({"aperture_radius": 2 * u.kg}, TypeError, "aperture_radius"),
        ({"aperture_radius": -1.0}, ValueError, "aperture_radius"),
        ({"nsigma": -1.0}, ValueError, "nsigma"),
        ({"npixels": 0}, ValueError, "npixels"),
        ({"background": "median"}, ValueError, "background"),
        ({"tile_size": 4}, ValueError, "tile_size"),
        ({"zero_points": {"r": 30}}, ValueError, r"zero_points names band\(s\) \['r'\]"),
        ({"zero_points": "30"}, TypeError, "zero_points must be None, a number"),
        ({"zero_points": {"i": 0}}, ValueError, r"given for band 'i' = 0 is not a plausible"),
    ],
)
def test_bad_input(kwargs, error, match):
    shape = (32, 32)
    args = {"images": {"i": (np.zeros(shape), make_wcs(shape))}, "zero_points": 30}
    args.update(kwargs)
    images = args.pop("images")
    with pytest.raises(error, match=match):
        detect_sources(images, **args)


def test_missing_zero_point_is_an_error():
    shape = (32, 32)
    with pytest.raises(ValueError, match="zero_points"):
        load_images({"i": (np.zeros(shape), make_wcs(shape))})
    hdu = fits.PrimaryHDU(np.zeros(shape), header=make_wcs(shape).to_header())
    with pytest.raises(ValueError, match="zero point"):
        load_images({"i": hdu})


def test_missing_photutils_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "photutils.segmentation", None)
    shape = (32, 32)
    with pytest.raises(ImportError, match=r"clusterfinder\[all\]"):
        detect_sources({"i": (np.zeros(shape), make_wcs(shape))}, zero_points=30)


def test_progress_bar_and_fits_path_closed(tmp_path):
    image, wcs, _ = star_field(shape=(128, 128), n=4, seed=9)
    path = tmp_path / "f.fits"
    to_hdu(image, wcs).writeto(path)
    sources = detect_sources({"i": path}, tile_size=64, progress_bar=True)
    assert len(sources) == 4
    path.unlink()  # the file was closed


def test_aperture_correction(field):
    image, wcs, truth = field
    # A 0.4" (2.15 pix) radius holds 1 - exp(-2.15**2 / (2 * 1.5**2)) = 64 % of a Gaussian star.
    kwargs = {"zero_points": 30, "aperture_radius": 0.4 * u.arcsec}
    raw = detect_sources({"i": (image, wcs)}, **kwargs)
    auto = detect_sources({"i": (image, wcs)}, aperture_correction="auto", **kwargs)
    expected = -2.5 * np.log10(1 - np.exp(-((0.4 / 0.186) ** 2) / (2 * 1.5**2)))
    measured = auto.meta["detection"]["aperture_correction_mag"]["i"]
    # Stars are point-sampled Gaussians: the sampled profile differs by ~0.02 mag.
    assert measured == pytest.approx(expected, abs=0.04)
    index, matched = _match_pixels(auto, truth)
    assert matched.all()
    offset = np.asarray(auto["mag_i"]) - truth["mag"][index]
    assert abs(np.median(offset)) < 0.02
    np.testing.assert_allclose(raw["mag_i"] - auto["mag_i"], measured)
    fixed = detect_sources({"i": (image, wcs)}, aperture_correction={"i": 0.5}, **kwargs)
    np.testing.assert_allclose(raw["mag_i"] - fixed["mag_i"], 0.5)
    np.testing.assert_allclose(fixed["flux_i"] / raw["flux_i"], 10**0.2)
    with pytest.raises(ValueError, match="aperture_correction"):
        detect_sources({"i": (image, wcs)}, aperture_correction="total", **kwargs)
    with pytest.raises(ValueError, match="aperture_correction"):
        detect_sources({"i": (image, wcs)}, aperture_correction={"g": 0.1}, **kwargs)


def test_aperture_correction_without_bright_stars_warns():
    shape = (64, 64)
    image = render_stars(shape, [30.0], [30.0], [300.0]) + np.random.default_rng(1).normal(
        0, 1, shape
    )
    with pytest.warns(ClusterFinderWarning, match="no correction"):
        sources = detect_sources(
            {"i": (image, make_wcs(shape))}, zero_points=30, aperture_correction="auto"
        )
    assert sources.meta["detection"]["aperture_correction_mag"] == {"i": 0.0}


def test_many_peaks_in_one_segment_deblend_without_warnings():
    # A plateau carrying 17 x 17 peaks: more than the 200 that photutils deblends
    # with exponential levels, so it falls back to linear ones and warns. The
    # fallback is expected (a bulge, a bright halo) and must not reach the user
    # (warnings are errors in this test suite).
    from clusterfinder.detection.segment import detect_tile

    n = 256
    yy, xx = np.mgrid[:n, :n]
    stack = np.zeros((n, n))
    stack[20:236, 20:236] = 5.0
    for cy in range(28, 230, 12):
        for cx in range(28, 230, 12):
            stack += 50.0 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 1.5**2))
    x, *_ = detect_tile(
        stack,
        np.ones((n, n)),
        np.zeros((n, n), dtype=bool),
        kernel_sigma=1.0,
        nsigma=3.0,
        npixels=5,
        deblend=True,
    )
    assert len(x) >= 17 * 17
