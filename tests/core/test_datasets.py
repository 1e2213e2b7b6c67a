import astropy.units as u
import numpy as np
import pytest

from clusterfinder.datasets import field_centers, simulated_stamps
from clusterfinder.galaxy import M31


def test_field_centers_cover_the_requested_annulus():
    centers = field_centers(50, radii=(4, 20) * u.kpc, seed=7)
    radius = M31.deprojected_radius(centers).to_value(u.kpc)
    assert radius.min() >= 4 and radius.max() <= 20
    # Both inner and outer disc are represented.
    assert (radius < 8).any() and (radius > 16).any()
    again = field_centers(50, radii=(4, 20) * u.kpc, seed=7)
    assert np.array_equal(centers.ra.deg, again.ra.deg)


@pytest.fixture(scope="module")
def stamps():
    return simulated_stamps(n_fields=2, size=384, cutout_size=16, mag_max=23, seed=11)


def test_stamps_are_labelled_from_the_truth(stamps):
    table = stamps.table
    assert stamps.data.shape[1:] == (2, 16, 16)
    is_cluster = np.isin(np.asarray(table["kind"], dtype=str), ["young_cluster", "old_cluster"])
    assert np.array_equal(np.asarray(table["label"]) == 1, is_cluster)
    assert np.all(np.asarray(table["mag_g"]) <= 23)
    assert set(np.unique(table["field"]).tolist()) <= {0, 1}
    # Only stamps wholly on their image are kept.
    assert not stamps.mask.any()


def test_stamps_are_reproducible(stamps):
    again = simulated_stamps(n_fields=2, size=384, cutout_size=16, mag_max=23, seed=11)
    assert np.array_equal(stamps.data, again.data)
    other = simulated_stamps(n_fields=1, size=384, cutout_size=16, mag_max=23, seed=12)
    assert len(other) != len(stamps) or not np.array_equal(other.data, stamps.data[: len(other)])


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="n_fields"):
        simulated_stamps(n_fields=0)
    with pytest.raises(ValueError, match="band"):
        simulated_stamps(n_fields=1, band="z")
    with pytest.raises(ValueError, match="radii"):
        field_centers(2, radii=(10, 5) * u.kpc)
    with pytest.raises(ValueError, match="mag_max"):
        simulated_stamps(n_fields=1, size=128, mag_max=5, seed=1)
