import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from clusterfinder.galaxy import M31, M33, GalaxyGeometry


def test_m31_scale_matches_design_figures():
    # DESIGN.md: 1" = 3.81 pc and 30 kpc = 2.19 deg at 785 kpc.
    assert M31.parsec_per_arcsec.to_value(u.pc / u.arcsec) == pytest.approx(3.806, abs=1e-3)
    assert M31.angular_radius(30 * u.kpc).to_value(u.deg) == pytest.approx(2.19, abs=5e-3)


def test_projected_radius_is_distance_times_separation():
    point = M31.center.directional_offset_by(123 * u.deg, 0.5 * u.deg)
    expected = 785 * np.radians(0.5)
    assert M31.projected_radius(point).to_value(u.kpc) == pytest.approx(expected, rel=1e-9)


def test_deprojection_along_the_axes():
    # On the major axis the deprojected radius equals the projected one; on the
    # minor axis it is larger by 1 / cos(i).
    major = M31.center.directional_offset_by(M31.position_angle, 0.3 * u.deg)
    minor = M31.center.directional_offset_by(M31.position_angle + 90 * u.deg, 0.3 * u.deg)
    assert M31.deprojected_radius(major).value == pytest.approx(
        M31.projected_radius(major).value, rel=1e-4
    )
    ratio = M31.deprojected_radius(minor) / M31.projected_radius(minor)
    assert ratio.decompose().value == pytest.approx(1 / np.cos(np.radians(77)), rel=1e-3)


@pytest.mark.parametrize("galaxy", [M31, M33])
def test_disc_position_inverts_deprojection(galaxy):
    radius = np.array([0.5, 3, 8, 15, 25]) * u.kpc
    azimuth = np.array([0, 45, 90, 200, 300]) * u.deg
    points = galaxy.disc_position(radius, azimuth)
    assert np.allclose(galaxy.deprojected_radius(points).to_value(u.kpc), radius.value, rtol=1e-9)
    x, y = galaxy.disc_offsets(points)
    cos_i = np.cos(galaxy.inclination)
    measured = np.degrees(np.arctan2((y / cos_i).value, x.value))
    difference = (measured - azimuth.value + 180) % 360 - 180
    assert np.allclose(difference, 0, atol=1e-6)


def test_bad_input_is_refused_with_the_parameter_named():
    with pytest.raises(TypeError, match="coord"):
        M31.projected_radius((10.0, 41.0))
    with pytest.raises(ValueError, match="radius"):
        M31.angular_radius(3 * u.deg)
    with pytest.raises(ValueError, match="radius"):
        M31.disc_position(1 * u.deg)
    with pytest.raises((TypeError, ValueError), match="inclination"):
        GalaxyGeometry("x", SkyCoord(0 * u.deg, 0 * u.deg), 1 * u.Mpc, 95 * u.deg, 0 * u.deg)
