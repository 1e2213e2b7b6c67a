"""Tests of the survey configurations and the light profiles of the simulator."""

import dataclasses
import math

import astropy.units as u
import numpy as np
import pytest

from clusterfinder.simulate import HSC, PANDAS, BandConfig, DiscModel, SurveyConfig
from clusterfinder.simulate.config import moffat_alpha, pixel_noise_area
from clusterfinder.simulate.profiles import MoffatPSF, extended_stamp, scale_for_reff


def _band(**changes):
    values = {
        "depth": 26.0,
        "fwhm": 0.67 * u.arcsec,
        "moffat_beta": 3.0,
        "gain": 50.0,
        "saturation": 17.0,
    }
    values.update(changes)
    return BandConfig(**values)


def test_presets():
    assert PANDAS.pixel_scale == 0.186 * u.arcsec / u.pix
    assert PANDAS.zero_point == 30
    assert PANDAS.bands["g"].depth == 26.0 and PANDAS.bands["i"].depth == 25.3
    assert PANDAS.bands["g"].fwhm == 0.67 * u.arcsec
    assert PANDAS.bands["i"].fwhm == 0.60 * u.arcsec
    assert PANDAS.bands["g"].gain == 50 and PANDAS.bands["i"].gain == 30
    assert HSC.pixel_scale == 0.168 * u.arcsec / u.pix
    assert HSC.bands["g"].depth > PANDAS.bands["g"].depth
    with pytest.raises(dataclasses.FrozenInstanceError):
        PANDAS.zero_point = 25


def test_sky_sigma_follows_the_depth_formula():
    fwhm_pix = 0.67 / 0.186
    sigma_psf = math.sqrt(pixel_noise_area(fwhm_pix, 3.0) / (4 * math.pi))
    expected = 10 ** (-0.4 * (26.0 - 30)) / (5 * math.sqrt(4 * math.pi) * sigma_psf)
    assert PANDAS.sky_sigma("g") == pytest.approx(expected)
    # one magnitude deeper -> 2.512 times less noise
    deeper = dataclasses.replace(PANDAS, bands={"g": _band(depth=27.0), "i": PANDAS.bands["i"]})
    assert PANDAS.sky_sigma("g") / deeper.sky_sigma("g") == pytest.approx(10**0.4)
    # worse seeing -> less noise per pixel for the same point-source depth
    assert PANDAS.sky_sigma("g", 0.9 * u.arcsec) < PANDAS.sky_sigma("g")


def test_saturation_level_is_peak_of_a_saturation_mag_star():
    alpha = moffat_alpha(0.67 / 0.186, 3.0)
    peak = 2.0 / (math.pi * alpha**2)
    assert PANDAS.saturation_level("g") == pytest.approx(10 ** (0.4 * 13) * peak)


def test_moffat_fwhm_relation():
    alpha = moffat_alpha(4.0, 2.5)
    assert 2 * alpha * math.sqrt(2 ** (1 / 2.5) - 1) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"fwhm": -0.5 * u.arcsec}, ValueError, "fwhm"),
        ({"fwhm": 0 * u.arcsec}, ValueError, "fwhm"),
        ({"fwhm": 0.7}, TypeError, "fwhm"),
        ({"fwhm": 0.7 * u.m}, TypeError, "fwhm"),
        ({"moffat_beta": 1.0}, ValueError, "moffat_beta"),
        ({"gain": 0}, ValueError, "gain"),
        ({"depth": "deep"}, TypeError, "depth"),
        ({"saturation": float("nan")}, ValueError, "saturation"),
    ],
)
def test_band_config_errors(changes, error, match):
    with pytest.raises(error, match=match):
        _band(**changes)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"pixel_scale": 0.186}, TypeError, "pixel_scale"),
        ({"pixel_scale": -0.186 * u.arcsec / u.pix}, ValueError, "pixel_scale"),
        ({"bands": {}}, TypeError, "bands"),
        ({"bands": {"g": 26.0}}, TypeError, "BandConfig"),
        ({"densities": {"quasar": 10.0}}, ValueError, "unknown kind"),
        ({"densities": {"galaxy": -1.0}}, ValueError, "galaxy"),
        ({"bands": {"r": BandConfig(25, 0.7 * u.arcsec, 3, 10, 17)}}, ValueError, "band"),
        ({"disc": "exponential"}, TypeError, "disc"),
    ],
)
def test_survey_config_errors(changes, error, match):
    with pytest.raises(error, match=match):
        dataclasses.replace(PANDAS, **changes)


def test_unknown_band_lookup():
    with pytest.raises(ValueError, match="unknown band 'r'"):
        PANDAS.sky_sigma("r")


def test_custom_survey_with_r_band():
    disc = DiscModel(disc_mu0={"r": 20.0}, bulge_mue={"r": 19.0})
    config = SurveyConfig(
        name="one band",
        pixel_scale=0.2 * u.arcsec,
        bands={"r": _band(fwhm=0.8 * u.arcsec)},
        disc=disc,
    )
    assert config.pixel_scale.unit == u.arcsec / u.pix
    from clusterfinder.simulate import simulate_field

    field = simulate_field(size=48, seed=1, config=config, kinds=("mw_star", "galaxy"))
    assert field.bands == ("r",)
    assert "mag_r" in field.truth.colnames


def test_psf_stamps_sum_to_one_and_centroid():
    psf = MoffatPSF(3.6, 3.0)
    for dx, dy in [(0.0, 0.0), (0.3, -0.2), (-0.49, 0.45)]:
        stamp = psf.stamp(dx, dy, 12)
        assert stamp.sum() == pytest.approx(1.0, abs=1e-12)
        grid = np.arange(-12, 13)
        cx = (stamp.sum(axis=0) * grid).sum()
        cy = (stamp.sum(axis=1) * grid).sum()
        # the truncated Moffat is centred to the 1/16-pixel quantisation
        assert cx == pytest.approx(dx, abs=0.04) and cy == pytest.approx(dy, abs=0.04)
    library = psf.library
    assert library.shape[:2] == (16, 16)
    assert np.allclose(library.sum(axis=(2, 3)), 1.0)


@pytest.mark.parametrize(
    ("profile", "shape"),
    [("eff", {"gamma": 2.5}), ("king", {"concentration": 1.2}), ("sersic", {"sersic_n": 4.0})],
)
def test_profiles_have_the_requested_half_light_radius(profile, shape):
    from clusterfinder.simulate.profiles import _enclosed

    scale, rt = scale_for_reff(profile, 5.0, **shape)
    r, light = _enclosed(profile, scale, rt, rt=None if profile == "king" else rt, **shape)
    assert np.interp(5.0, r, light) == pytest.approx(0.5, abs=2e-3)
    stamp = extended_stamp(MoffatPSF(3.6, 3.0), 0.2, -0.1, profile, scale, rt, 0.3, 0.5, **shape)
    assert stamp.sum() == pytest.approx(1.0)
    assert stamp.shape[0] % 2 == 1
