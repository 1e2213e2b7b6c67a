"""Tests of `clusterfinder.classifier.morphology_features`."""

import warnings

import numpy as np
import pytest
from astropy.table import QTable

import clusterfinder.classifier.features as features_module
from clusterfinder import Cutout
from clusterfinder.classifier import morphology_features

SIZE = 32
CENTRE = (SIZE - 1) / 2.0
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def gaussian(x0, y0, sigma_major, sigma_minor=None, angle=0.0, total=1000.0, size=SIZE):
    """A point-sampled elliptical 2-d Gaussian of ``total`` counts."""
    sigma_minor = sigma_major if sigma_minor is None else sigma_minor
    y, x = np.mgrid[:size, :size].astype(float)
    cos, sin = np.cos(angle), np.sin(angle)
    u = (x - x0) * cos + (y - y0) * sin
    v = -(x - x0) * sin + (y - y0) * cos
    norm = total / (2.0 * np.pi * sigma_major * sigma_minor)
    return norm * np.exp(-0.5 * ((u / sigma_major) ** 2 + (v / sigma_minor) ** 2))


def make_cutout(stamps, bands=("g",), x0=None, y0=None, mask=None):
    """A Cutout of (N, B, S, S) stamps with optional source positions."""
    table = None
    if x0 is not None:
        table = QTable({"x_stamp": np.asarray(x0, float), "y_stamp": np.asarray(y0, float)})
    return Cutout(np.asarray(stamps, dtype=np.float32), bands=bands, mask=mask, table=table)


def as_array(table, name):
    return np.asarray(table[name], dtype=float)


# -- shape and size ---------------------------------------------------------------------


def test_elliptical_gaussian_shape_matches_analytic_values():
    rng = np.random.default_rng(1)
    x0 = CENTRE + rng.uniform(-0.5, 0.5, 6)
    y0 = CENTRE + rng.uniform(-0.5, 0.5, 6)
    stamps = [[gaussian(x, y, 2.0, 1.2, angle=0.6) + 20.0] for x, y in zip(x0, y0, strict=True)]
    table = morphology_features(make_cutout(stamps, x0=x0, y0=y0), radius=11.0)

    expected_fwhm = FWHM_PER_SIGMA * np.sqrt((2.0**2 + 1.2**2) / 2.0)
    np.testing.assert_allclose(as_array(table, "fwhm"), expected_fwhm, rtol=0.01)
    np.testing.assert_allclose(as_array(table, "ellipticity"), 1.0 - 1.2 / 2.0, atol=0.01)
    np.testing.assert_allclose(as_array(table, "bkg_g"), 20.0, atol=1e-4)


def test_shape_agrees_with_photutils_data_properties_and_gini():
    morphology = pytest.importorskip("photutils.morphology")
    rng = np.random.default_rng(2)
    x0 = CENTRE + rng.uniform(-0.5, 0.5, 4)
    y0 = CENTRE + rng.uniform(-0.5, 0.5, 4)
    stamps = [
        [gaussian(x, y, 1.0 + k, 0.8 + 0.2 * k, angle=k) + rng.normal(0, 0.5, (SIZE, SIZE))]
        for k, (x, y) in enumerate(zip(x0, y0, strict=True))
    ]
    table = morphology_features(make_cutout(stamps, x0=x0, y0=y0), radius=6.0)

    y, x = np.mgrid[:SIZE, :SIZE]
    for k in range(len(stamps)):
        image = np.asarray(stamps[k][0], dtype=np.float32) - table["bkg_g"][k]
        outside = np.hypot(x - x0[k], y - y0[k]) > 6.0
        props = morphology.data_properties(image, mask=outside)
        assert table["fwhm"][k] == pytest.approx(props.fwhm.value, rel=1e-5)
        assert table["ellipticity"][k] == pytest.approx(props.ellipticity.value, abs=1e-5)
        assert table["gini"][k] == pytest.approx(morphology.gini(image, mask=outside), rel=1e-5)


def test_point_source_is_smaller_and_more_concentrated_than_an_extended_one():
    stamps = [[gaussian(CENTRE, CENTRE, 1.0)], [gaussian(CENTRE, CENTRE, 2.5)]]
    point, extended = morphology_features(make_cutout(stamps))
    assert point["fwhm"] < extended["fwhm"]
    assert point["peak_ratio"] > extended["peak_ratio"]
    assert point["gini"] > extended["gini"]
    # concentration is the magnitude difference m(inner) - m(radius): a point source
    # has most of its light inside the inner aperture, hence the smaller value
    assert 0 < point["concentration"] < extended["concentration"]
    assert point["fwhm"] == pytest.approx(FWHM_PER_SIGMA, rel=0.02)


def test_concentration_is_the_magnitude_difference_of_two_apertures():
    pytest.importorskip("photutils")
    from photutils.aperture import CircularAperture, aperture_photometry

    image = gaussian(CENTRE + 0.3, CENTRE - 0.2, 1.7)
    cutout = make_cutout([[image]], x0=[CENTRE + 0.3], y0=[CENTRE - 0.2])
    table = morphology_features(cutout, radius=6.0, inner_radius=2.0)
    image = image.astype(np.float32) - table["bkg_g"][0]

    def flux(r):
        aperture = CircularAperture((CENTRE + 0.3, CENTRE - 0.2), r)
        return aperture_photometry(image, aperture, method="exact")["aperture_sum"][0]

    assert table["concentration"][0] == pytest.approx(2.5 * np.log10(flux(6.0) / flux(2.0)))
    peak = image[np.hypot(*np.mgrid[:SIZE, :SIZE] - CENTRE) < 7].max()
    assert table["peak_ratio"][0] == pytest.approx(peak / flux(6.0))


def test_asymmetry_is_zero_for_a_symmetric_source_and_grows_with_an_offset_blob():
    round_ = gaussian(CENTRE, CENTRE, 2.0)
    lopsided = round_ + gaussian(CENTRE + 2.5, CENTRE, 0.8, total=300.0)
    table = morphology_features(make_cutout([[round_], [lopsided]]), radius=5.0)
    assert table["asymmetry"][0] == pytest.approx(0.0, abs=1e-6)
    assert table["asymmetry"][1] > 0.1
    # by hand, on the pixels within the radius of the stamp centre
    y, x = np.mgrid[:SIZE, :SIZE]
    near = np.hypot(x - CENTRE, y - CENTRE) <= 5.0
    image = lopsided.astype(np.float32) - table["bkg_g"][1]
    expected = np.abs(image - image[::-1, ::-1])[near].sum() / np.abs(image)[near].sum()
    assert table["asymmetry"][1] == pytest.approx(expected, rel=1e-6)


# -- photometry and background ---------------------------------------------------------


def test_aperture_flux_agrees_with_photutils_exact_aperture_photometry():
    pytest.importorskip("photutils")
    from photutils.aperture import CircularAperture, aperture_photometry

    rng = np.random.default_rng(3)
    x0 = CENTRE + rng.uniform(-0.5, 0.5, 8)
    y0 = CENTRE + rng.uniform(-0.5, 0.5, 8)
    stamps = [[gaussian(x, y, 1.5, total=5000.0) + 100.0] for x, y in zip(x0, y0, strict=True)]
    table = morphology_features(make_cutout(stamps, x0=x0, y0=y0), aperture_radius=3.0)
    for k in range(len(stamps)):
        image = np.asarray(stamps[k][0], dtype=np.float32)
        aperture = CircularAperture((x0[k], y0[k]), 3.0)
        # with the true background (100) and with ours: the partial-pixel weights are exact
        truth = aperture_photometry(image - 100.0, aperture, method="exact")["aperture_sum"][0]
        ours = aperture_photometry(image - table["bkg_g"][k], aperture, method="exact")
        assert table["flux_g"][k] == pytest.approx(truth, rel=0.01)
        assert table["flux_g"][k] == pytest.approx(ours["aperture_sum"][0], rel=1e-6)
        assert table["mag_g"][k] == pytest.approx(30.0 - 2.5 * np.log10(truth), abs=0.01)


def test_colour_of_a_source_of_known_fluxes():
    g = gaussian(CENTRE, CENTRE, 1.5, total=2000.0)
    i = gaussian(CENTRE, CENTRE, 1.5, total=500.0)
    r = gaussian(CENTRE, CENTRE, 1.5, total=1000.0)
    table = morphology_features(make_cutout([[g + 3.0, r + 1.0, i + 7.0]], bands=("g", "r", "i")))
    assert table["color_g_r"][0] == pytest.approx(-2.5 * np.log10(2.0), abs=1e-4)
    assert table["color_r_i"][0] == pytest.approx(-2.5 * np.log10(2.0), abs=1e-4)
    assert "color_g_i" not in table.colnames
    # with a large aperture, magnitudes are the total ones
    cutout = make_cutout([[g, r, i]], bands=("g", "r", "i"))
    wide = morphology_features(cutout, radius=10.0, aperture_radius=10.0)
    assert wide["mag_g"][0] == pytest.approx(30.0 - 2.5 * np.log10(2000.0), abs=1e-3)
    assert wide["mag_i"][0] == pytest.approx(30.0 - 2.5 * np.log10(500.0), abs=1e-3)


def test_background_subtraction_recovers_a_constant_background():
    source = gaussian(CENTRE, CENTRE, 1.5, total=3000.0)
    flat = morphology_features(make_cutout([[source]]))
    offset = morphology_features(make_cutout([[source + 250.0]]))
    assert offset["bkg_g"][0] == pytest.approx(flat["bkg_g"][0] + 250.0, abs=1e-3)
    for name in ("flux_g", "fwhm", "ellipticity", "gini", "asymmetry", "concentration"):
        assert offset[name][0] == pytest.approx(flat[name][0], rel=1e-4, abs=1e-6), name


def test_background_is_the_sigma_clipped_median_of_the_outer_pixels():
    stats = pytest.importorskip("astropy.stats")
    rng = np.random.default_rng(4)
    stamps = rng.normal(50.0, 4.0, (5, 2, SIZE, SIZE))
    stamps[:, :, :3, :] += rng.exponential(300.0, (5, 2, 3, SIZE))  # a bright neighbour
    stamps = stamps.astype(np.float32)
    mask = rng.random(stamps.shape) < 0.05
    table = morphology_features(make_cutout(stamps, bands=("g", "i"), mask=mask), radius=5.0)
    y, x = np.mgrid[:SIZE, :SIZE]
    outer = np.hypot(x - CENTRE, y - CENTRE) > 5.0
    for k in range(5):
        for b, band in enumerate(("g", "i")):
            values = stamps[k, b][outer & ~mask[k, b]]
            expected = stats.sigma_clipped_stats(values, sigma=3.0, maxiters=5)[1]
            assert table[f"bkg_{band}"][k] == pytest.approx(expected, abs=1e-4)
            assert abs(expected - 50.0) < abs(np.median(values) - 50.0)


# -- masks and degenerate stamps -------------------------------------------------------


def test_masked_pixels_outside_the_source_are_ignored():
    source = gaussian(CENTRE, CENTRE, 1.5, total=3000.0)
    source[np.hypot(*np.mgrid[:SIZE, :SIZE] - CENTRE) > 5.0] = 0.0  # a flat outer ring
    clean = np.array([[source + 10.0, 0.5 * source + 20.0]], dtype=np.float32)
    dirty = clean.copy()
    mask = np.zeros(clean.shape, dtype=bool)
    mask[0, :, :4, :] = True  # e.g. off the image edge
    mask[0, 0, 20, 25] = True  # a cosmic ray
    dirty[mask] = 1e6
    expected = morphology_features(make_cutout(clean, bands=("g", "i")))
    table = morphology_features(make_cutout(dirty, bands=("g", "i"), mask=mask))
    for name in expected.colnames:
        assert table[name][0] == pytest.approx(expected[name][0], rel=1e-6, abs=1e-9), name


def test_masked_pixel_inside_the_aperture_counts_as_background():
    source = gaussian(CENTRE, CENTRE, 1.5, total=3000.0) + 10.0
    data = np.array([[source, source]], dtype=np.float32)
    mask = np.zeros(data.shape, dtype=bool)
    mask[0, 0, 16, 16] = True  # the brightest pixel of g, fully inside the aperture
    data[mask] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = morphology_features(make_cutout(data, bands=("g", "i"), mask=mask))
    row = table[0]
    assert all(np.isfinite(row[name]) for name in table.colnames)
    lost = source[16, 16] - 10.0
    assert row["flux_g"] == pytest.approx(row["flux_i"] - lost, rel=1e-4)
    assert row["masked_frac_g"] == pytest.approx(1.0 / (np.pi * 3.0**2))
    assert row["masked_frac_i"] == 0.0


def test_unmeasurable_stamps_give_nan_without_warnings():
    good = gaussian(CENTRE, CENTRE, 1.5) + 5.0
    data = np.array([[good], [good], [np.zeros_like(good)], [-good], [good]], dtype=np.float32)
    mask = np.zeros(data.shape, dtype=bool)
    mask[1] = True  # all pixels masked
    mask[4, 0] = np.hypot(*np.mgrid[:SIZE, :SIZE] - CENTRE) > 5.0  # no background pixel
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = morphology_features(make_cutout(data, mask=mask), radius=5.0)
    assert np.isfinite([table[name][0] for name in table.colnames]).all()
    assert table["masked_frac_g"][1] == pytest.approx(1.0)
    for k in (1, 4):
        assert np.isnan([table[name][k] for name in table.colnames if "masked" not in name]).all()
    blank = table[2]  # a flat zero stamp: zero flux
    assert blank["flux_g"] == 0.0
    for name in ("mag_g", "concentration", "fwhm", "ellipticity", "asymmetry", "peak_ratio"):
        assert np.isnan(blank[name]), name
    negative = table[3]  # a hole: negative flux, no positive pixel for the moments
    assert negative["flux_g"] < 0
    assert np.isnan(negative["mag_g"]) and np.isnan(negative["fwhm"])


# -- positions, layout, errors ---------------------------------------------------------


def test_source_position_comes_from_the_table_or_the_centre():
    shifted = gaussian(CENTRE + 3.0, CENTRE - 2.0, 1.5)
    centred = gaussian(CENTRE, CENTRE, 1.5)
    data = [[shifted], [centred], [centred]]
    table = morphology_features(
        make_cutout(data, x0=[CENTRE + 3.0, np.nan, CENTRE], y0=[CENTRE - 2.0, np.nan, CENTRE])
    )
    np.testing.assert_allclose(as_array(table, "flux_g"), table["flux_g"][2], rtol=1e-4)
    np.testing.assert_allclose(as_array(table, "fwhm"), table["fwhm"][2], rtol=1e-4)


def test_output_rows_follow_the_stamps_and_chunks_do_not_matter(monkeypatch):
    rng = np.random.default_rng(5)
    n = 1000
    totals = rng.uniform(100.0, 10000.0, n)
    sigmas = rng.uniform(0.8, 3.0, n)
    pairs = zip(sigmas, totals, strict=True)
    data = np.array([[gaussian(CENTRE, CENTRE, s, total=t)] for s, t in pairs])
    data += rng.normal(0.0, 0.1, data.shape)
    cutout = make_cutout(np.concatenate([data, 0.3 * data], axis=1), bands=("g", "i"))
    table = morphology_features(cutout)

    assert isinstance(table, QTable) and len(table) == n
    assert table.colnames == [
        *("bkg_g", "bkg_i", "flux_g", "flux_i", "mag_g", "mag_i"),
        *("masked_frac_g", "masked_frac_i", "color_g_i", "concentration", "fwhm"),
        *("ellipticity", "gini", "asymmetry", "peak_ratio"),
    ]
    # fwhm follows sigma (not linearly: the moments are truncated at the radius)
    fwhm = as_array(table, "fwhm")
    assert np.corrcoef(np.argsort(np.argsort(fwhm)), np.argsort(np.argsort(sigmas)))[0, 1] > 0.99
    small = sigmas < 1.2  # nearly all the light inside the 3-pixel aperture
    ratio = as_array(table, "flux_g")[small] / totals[small]
    assert np.all((ratio > 0.9) & (ratio <= 1.01))

    monkeypatch.setattr(features_module, "_CHUNK", 7)
    chunked = morphology_features(cutout[:50])
    for name in table.colnames:
        np.testing.assert_allclose(as_array(chunked, name), as_array(table, name)[:50], rtol=1e-12)


def test_empty_cutout_gives_an_empty_table_with_all_columns():
    table = morphology_features(make_cutout(np.zeros((0, 2, SIZE, SIZE)), bands=("g", "i")))
    assert len(table) == 0
    assert "color_g_i" in table.colnames and "fwhm" in table.colnames


def test_bad_arguments_raise_clear_errors():
    cutout = make_cutout([[gaussian(CENTRE, CENTRE, 1.5)]])
    with pytest.raises(TypeError, match="Cutout"):
        morphology_features(np.zeros((1, 1, SIZE, SIZE)))
    with pytest.raises(TypeError, match="radius must be a number"):
        morphology_features(cutout, radius="5")
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="radius must be a positive"):
            morphology_features(cutout, radius=bad)
    with pytest.raises(ValueError, match="aperture_radius must be a positive"):
        morphology_features(cutout, aperture_radius=0)
    with pytest.raises(ValueError, match="inner_radius must be less than radius"):
        morphology_features(cutout, inner_radius=6.0)
    with pytest.raises(ValueError, match="aperture_radius must not exceed radius"):
        morphology_features(cutout, aperture_radius=7.0)
    small = make_cutout(np.zeros((1, 1, 11, 11)))
    with pytest.raises(ValueError, match=r"11x11 pixels .* expected at least 13"):
        morphology_features(small, radius=5.0)
