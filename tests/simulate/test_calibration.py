"""Tests of the PHAT calibration of the simulated young clusters."""

import astropy.units as u
import numpy as np
import pytest

from clusterfinder.galaxy import M31, M33
from clusterfinder.simulate import phat_distributions
from clusterfinder.simulate.calibration import draw_young_clusters


def test_phat_distributions_are_real_ab_magnitudes():
    real = phat_distributions()
    assert len(real) == 1477
    assert real["reff"].unit == u.arcsec and real["reff_pc"].unit == u.pc
    # first row of the catalogue: APID 1, F475W 18.77, F814W 17.69 (Vega)
    assert real["mag_g"][0] == pytest.approx(18.77 - 0.10)
    assert real["mag_i"][0] == pytest.approx(17.69 + 0.42)
    assert real["reff_pc"][0].value == pytest.approx(0.60 * 3.806, rel=1e-3)
    assert np.isnan(real["mag_i"]).sum() > 100  # upper limits are not measurements


def test_drawn_clusters_follow_phat():
    real = phat_distributions()
    g, i, reff_pc = draw_young_clusters(np.random.default_rng(0), 20000)
    assert np.median(g) == pytest.approx(np.nanmedian(real["mag_g"]), abs=0.1)
    both = np.isfinite(real["mag_i"]) & np.isfinite(real["mag_g"])
    assert np.median((g - i)[g < 21]) == pytest.approx(
        np.median(real["color_gi"][both & (real["mag_g"] < 21)]), abs=0.1
    )
    assert np.median(reff_pc) == pytest.approx(np.nanmedian(real["reff_pc"].value), rel=0.05)
    assert np.percentile(g, 95) == pytest.approx(np.nanpercentile(real["mag_g"], 95), abs=0.2)


def test_distance_moves_magnitudes_not_sizes():
    g31, _, r31 = draw_young_clusters(np.random.default_rng(1), 100, galaxy=M31)
    g33, _, r33 = draw_young_clusters(np.random.default_rng(1), 100, galaxy=M33)
    shift = 5 * np.log10(840 / 785)
    assert np.allclose(g33 - g31, shift)
    assert np.allclose(r33, r31)
