import sys

import numpy as np
import pytest
from astropy.io import fits

import clusterfinder.utils.progress as progress_module
from clusterfinder.utils import ClusterFinderWarning, as_generator, progress_bar
from clusterfinder.utils.photometry import (
    flux_to_mag,
    mag_to_flux,
    read_zero_point,
    zero_point_scale,
)


def test_as_generator_is_reproducible_and_passes_generators_through():
    assert np.array_equal(as_generator(5).random(4), as_generator(5).random(4))
    rng = np.random.default_rng(1)
    assert as_generator(rng) is rng
    with pytest.raises(TypeError, match="seed"):
        as_generator(1.5)
    with pytest.raises(ValueError, match="seed"):
        as_generator(-1)


def test_progress_bar_disabled_returns_the_iterable():
    items = [1, 2, 3]
    assert progress_bar(items, enabled=False) is items
    bar = progress_bar(enabled=False, total=3)
    bar.update(2)
    bar.close()


def test_progress_bar_warns_once_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    monkeypatch.setattr(progress_module, "_warned_missing_tqdm", False)
    with pytest.warns(ClusterFinderWarning, match="tqdm"):
        assert list(progress_bar(range(3), enabled=True)) == [0, 1, 2]
    # The second call is silent (filterwarnings=error would turn a warning into a failure).
    assert list(progress_bar(range(2), enabled=True)) == [0, 1]


def test_progress_bar_uses_tqdm_when_enabled():
    pytest.importorskip("tqdm")
    bar = progress_bar(range(3), enabled=True, desc="test", unit="stamp")
    assert list(bar) == [0, 1, 2]
    assert type(bar).__module__.startswith("tqdm")


@pytest.mark.parametrize(
    ("cards", "default", "message"),
    [
        ({"PHOTZP": "abc"}, None, r"header keyword PHOTZP = 'abc' is not a number"),
        ({"MAGZPT": -99.0}, None, r"header keyword MAGZPT = -99.0 is not a plausible AB zero"),
        ({"PHOTZP": 0.0}, 30.0, r"header keyword PHOTZP = 0.0 is not a plausible AB zero"),
        ({}, 0.0, r"default = 0.0 is not a plausible AB zero point: expected 15 to 40"),
    ],
)
def test_read_zero_point_checks_what_it_reads(cards, default, message):
    """One validator for every zero point: read_zero_point uses check_zero_point."""
    with pytest.raises(ValueError, match=message):
        read_zero_point(fits.Header(cards), default=default)


def test_zero_points_and_magnitudes():
    assert read_zero_point(fits.Header({"MAGZPT": 26.5})) == 26.5
    assert read_zero_point(fits.Header(), default=30.0) == 30.0
    with pytest.raises(ValueError, match="zero point"):
        read_zero_point(fits.Header())
    with pytest.raises(ValueError, match="PHOTZP"):
        read_zero_point({"PHOTZP": float("nan")})
    # A source of magnitude m has flux 10**(-0.4 (m - zp)) counts.
    assert mag_to_flux(25.0) == pytest.approx(100.0)
    assert flux_to_mag(mag_to_flux(21.3, 27.0), 27.0) == pytest.approx(21.3)
    # Counts on zero point 27 times the scale are counts on zero point 30.
    assert mag_to_flux(20.0, 27.0) * zero_point_scale(27.0) == pytest.approx(mag_to_flux(20.0))
