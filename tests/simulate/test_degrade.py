"""Degrading sharp images to a survey's seeing, pixels, zero point and noise."""

import dataclasses

import astropy.units as u
import numpy as np
import pytest

from clusterfinder.simulate import PANDAS, degrade_image, resample_flux

HST = 0.05 * u.arcsec / u.pix


def _gaussian(n, sigma, centre=None):
    c = (n - 1) / 2.0 if centre is None else centre
    yy, xx = np.mgrid[:n, :n]
    image = np.exp(-((xx - c) ** 2 + (yy - c) ** 2) / (2.0 * sigma**2))
    return image / image.sum()


def _half_max_fwhm(image):
    """FWHM (pixels) from the area above half the peak, for a well-sampled round profile."""
    area = (image >= image.max() / 2.0).sum()
    return 2.0 * np.sqrt(area / np.pi)


def test_resample_flux_sums_blocks_and_splits_pixels():
    rng = np.random.default_rng(1)
    data = rng.random((12, 18))
    binned = resample_flux(data, 3.0)
    assert binned.shape == (4, 6)
    np.testing.assert_allclose(binned, data.reshape(4, 3, 6, 3).sum(axis=(1, 3)))
    # A uniform image: every output pixel holds factor**2 of it, centred on the input.
    out = resample_flux(np.ones((10, 10)), 2.5)
    np.testing.assert_allclose(out, 6.25)
    # Subdividing spreads each pixel evenly; the total is kept.
    fine = resample_flux(data, 0.5)
    assert fine.shape == (24, 36)
    np.testing.assert_allclose(fine.sum(), data.sum())
    np.testing.assert_allclose(fine[:2, :2], data[0, 0] / 4)


def test_resample_flux_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        resample_flux(np.ones(5), 2.0)
    with pytest.raises(ValueError, match="positive"):
        resample_flux(np.ones((5, 5)), 0.0)
    with pytest.raises(ValueError, match="no whole pixel"):
        resample_flux(np.ones((5, 5)), 6.0)


def test_point_source_keeps_its_magnitude():
    hst = np.zeros((120, 120))
    hst[60, 60] = 500.0
    image = degrade_image(hst, pixel_scale=HST, zero_point=25.94, noise=False)
    assert image.shape == (32, 32)  # 6 arcsec / 0.186
    magnitude = PANDAS.zero_point - 2.5 * np.log10(image.sum())
    assert magnitude == pytest.approx(25.94 - 2.5 * np.log10(500.0), abs=0.01)
    assert np.unravel_index(image.argmax(), image.shape) in {(16, 16), (15, 15), (15, 16), (16, 15)}


@pytest.mark.parametrize("source_fwhm", [0.0, 0.1])
def test_reaches_the_seeing(source_fwhm):
    # Survey pixels as fine as the input's, so that the FWHM can be read off the image.
    fine = dataclasses.replace(PANDAS, pixel_scale=0.05 * u.arcsec / u.pix)
    sigma = source_fwhm / 2.3548 / 0.05
    hst = _gaussian(161, sigma) if source_fwhm else np.pad(np.ones((1, 1)), 80)
    image = degrade_image(
        hst, pixel_scale=HST, zero_point=30.0, config=fine, band="i",
        fwhm=0.8 * u.arcsec, source_fwhm=source_fwhm * u.arcsec, noise=False,
    )  # fmt: skip
    assert _half_max_fwhm(image) * 0.05 == pytest.approx(0.8, rel=0.03)
    assert image.sum() == pytest.approx(1.0, rel=0.01)


def test_distance_ratio_moves_the_object():
    hst = np.zeros((100, 100))
    hst[50, 50] = 100.0
    near = degrade_image(hst, pixel_scale=HST, zero_point=30.0, noise=False)
    closer = degrade_image(hst, pixel_scale=HST, zero_point=30.0, distance_ratio=2.0, noise=False)
    # Twice as close: four times the flux, twice the field of view in survey pixels.
    assert closer.shape == (53, 53) and near.shape == (26, 26)
    assert closer.sum() == pytest.approx(4.0 * near.sum(), rel=0.01)
    # An extended object looks smaller when farther away.
    blob = _gaussian(200, 20.0)  # sigma 1 arcsec
    far = degrade_image(blob, pixel_scale=HST, zero_point=30.0, distance_ratio=0.5, noise=False)
    same = degrade_image(blob, pixel_scale=HST, zero_point=30.0, noise=False)
    assert _half_max_fwhm(far / far.max()) < 0.7 * _half_max_fwhm(same / same.max())


def test_noise_follows_the_survey_depth_and_gain():
    flat = np.zeros((1000, 1000))
    image = degrade_image(flat, pixel_scale=HST, zero_point=30.0, seed=3)
    assert image.std() == pytest.approx(PANDAS.sky_sigma("i"), rel=0.03)
    again = degrade_image(flat, pixel_scale=HST, zero_point=30.0, seed=3)
    np.testing.assert_array_equal(image, again)
    other = degrade_image(flat, pixel_scale=HST, zero_point=30.0, seed=4)
    assert not np.array_equal(image, other)
    # A bright uniform patch: sky plus the Poisson noise of the source (gain 30 in i).
    level = 2000.0 / (3.72**2)  # input units per pixel, 2000 ADU per survey pixel
    bright = degrade_image(flat + level, pixel_scale=HST, zero_point=30.0, seed=5)
    inner = bright[20:-20, 20:-20]
    expected = np.sqrt(PANDAS.sky_sigma("i") ** 2 + inner.mean() / PANDAS.band("i").gain)
    assert inner.std() == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"data": np.ones(10)}, ValueError, "2-D"),
        ({"data": np.full((50, 50), np.nan)}, ValueError, "non-finite"),
        ({"pixel_scale": 0.05}, TypeError, "angle Quantity"),
        ({"pixel_scale": -0.05 * u.arcsec}, ValueError, "positive"),
        ({"fwhm": 0.6}, TypeError, "angle Quantity"),
        ({"source_fwhm": 0.7 * u.arcsec}, ValueError, "not sharper"),
        ({"config": "PAndAS"}, TypeError, "SurveyConfig"),
        ({"band": "z"}, ValueError, "unknown band"),
        ({"distance_ratio": 0}, ValueError, "distance_ratio"),
        ({"zero_point": "AB"}, TypeError, "zero_point"),
    ],
)
def test_bad_input(kwargs, error, match):
    arguments = {"data": np.zeros((50, 50)), "pixel_scale": HST, "zero_point": 25.9, **kwargs}
    data = arguments.pop("data")
    with pytest.raises(error, match=match):
        degrade_image(data, **arguments)


def test_source_psf_grows_with_the_move():
    # 0.5" input PSF shown twice as close is a 1.0" PSF: sharper than 0.8" no more.
    with pytest.raises(ValueError, match="at the new distance"):
        degrade_image(
            np.zeros((60, 60)), pixel_scale=HST, zero_point=30.0, fwhm=0.8 * u.arcsec,
            source_fwhm=0.5 * u.arcsec, distance_ratio=2.0,
        )  # fmt: skip
