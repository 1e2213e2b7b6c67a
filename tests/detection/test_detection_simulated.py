"""detect_sources on a simulated PAndAS-like field: bright objects are all found."""

import astropy.units as u
import numpy as np
import pytest

from clusterfinder.crossmatch import match_nearest

simulate = pytest.importorskip("clusterfinder.simulate")


@pytest.fixture(scope="module")
def simulated():
    from clusterfinder.detection import detect_sources

    field = simulate.simulate_field(size=512, seed=1)
    return field, detect_sources(field.images)


def test_bright_truth_objects_are_detected(simulated):
    field, sources = simulated
    truth = field.truth
    _, _, matched = match_nearest(truth["coord"], sources["coord"], 0.5 * u.arcsec)
    inside = (truth["x"] > 5) & (truth["x"] < 506) & (truth["y"] > 5) & (truth["y"] < 506)
    bright = inside & (np.asarray(truth["mag_g"]) < 22)
    assert bright.sum() >= 5
    assert matched[bright].mean() > 0.95


def test_star_magnitudes_close_to_truth(simulated):
    field, sources = simulated
    truth = field.truth
    index, _, matched = match_nearest(truth["coord"], sources["coord"], 0.5 * u.arcsec)
    stars = matched & np.isin(truth["kind"], ["mw_star", "m31_star"]) & (truth["mag_g"] < 24)
    assert stars.sum() >= 10
    for band in field.bands:
        offset = np.asarray(sources[f"mag_{band}"])[index[stars]] - truth[f"mag_{band}"][stars]
        # Aperture magnitudes (r = 1") miss the Moffat wings: slightly faint, never bright.
        assert -0.05 < np.median(offset) < 0.25
