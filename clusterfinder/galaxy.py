"""Galaxy geometry: projected and deprojected galactocentric radii on the sky.

A `GalaxyGeometry` describes a disc galaxy by its centre, distance, inclination and
position angle. Positions are projected on the tangent plane at the centre (the
standard coordinates xi to the east and eta to the north), rotated so that X runs
along the major axis and Y along the minor axis, and the minor-axis offset is
stretched by ``1 / cos(inclination)`` to undo the tilt of the disc::

    R_proj    = D * (angular separation from the centre)
    R_deproj  = D * sqrt(X**2 + (Y / cos i)**2)

`M31` and `M33` hold literature values for the two Local Group spirals.
"""

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord

__all__ = ["M31", "M33", "GalaxyGeometry"]


@dataclass(frozen=True)
class GalaxyGeometry:
    """The orientation and distance of a disc galaxy on the sky.

    Parameters
    ----------
    name : str
        A name for messages and table metadata.
    center : `~astropy.coordinates.SkyCoord`
        The centre of the galaxy (a scalar celestial coordinate).
    distance : `~astropy.units.Quantity`
        Distance to the galaxy (a length).
    inclination : `~astropy.units.Quantity`
        Inclination of the disc, 0 deg face-on, 90 deg edge-on (less than 90 deg).
    position_angle : `~astropy.units.Quantity`
        Position angle of the major axis, measured from north through east.

    Examples
    --------
    >>> import astropy.units as u
    >>> from clusterfinder.galaxy import M31
    >>> radius = M31.projected_radius(M31.center.directional_offset_by(0 * u.deg, 1 * u.deg))
    >>> float(round(radius.to_value(u.kpc), 2))
    13.7
    >>> float(round(M31.angular_radius(30 * u.kpc).to_value(u.deg), 2))
    2.19
    """

    name: str
    center: SkyCoord
    distance: u.Quantity
    inclination: u.Quantity
    position_angle: u.Quantity

    def __post_init__(self):
        if not isinstance(self.center, SkyCoord) or not self.center.isscalar:
            raise TypeError("center must be a scalar SkyCoord")
        distance = u.Quantity(self.distance)
        if not distance.unit.is_equivalent(u.kpc) or not distance.to_value(u.kpc) > 0:
            raise ValueError(f"distance must be a positive length; got {self.distance!r}")
        inclination = Angle(self.inclination)
        if not 0 <= inclination.to_value(u.deg) < 90:
            raise ValueError(
                f"inclination must lie in [0, 90) deg; got {inclination.to(u.deg):.3f}"
            )
        object.__setattr__(self, "distance", distance.to(u.kpc))
        object.__setattr__(self, "inclination", inclination.to(u.deg))
        object.__setattr__(self, "position_angle", Angle(self.position_angle).to(u.deg))

    def _as_coord(self, coord):
        if not isinstance(coord, SkyCoord):
            raise TypeError(f"coord must be a SkyCoord; got {type(coord).__name__}")
        return coord.transform_to(self.center.frame)

    def tangent_plane(self, coord):
        """Standard coordinates (xi east, eta north) of ``coord`` about the centre.

        Parameters
        ----------
        coord : `~astropy.coordinates.SkyCoord`
            One position or an array of them.

        Returns
        -------
        xi, eta : `~astropy.units.Quantity`
            Gnomonic offsets in degrees.

        Raises
        ------
        ValueError
            For positions 90 deg or more from the centre.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from clusterfinder.galaxy import M31
        >>> c = SkyCoord(11.0 * u.deg, 41.5 * u.deg)
        >>> xi, eta = M31.tangent_plane(c)
        >>> xi.round(4), eta.round(4)
        (<Quantity 0.2361 deg>, <Quantity 0.2314 deg>)
        """
        coord = self._as_coord(coord)
        ra = coord.spherical.lon.radian
        dec = coord.spherical.lat.radian
        ra0 = self.center.spherical.lon.radian
        dec0 = self.center.spherical.lat.radian
        cos_c = np.sin(dec0) * np.sin(dec) + np.cos(dec0) * np.cos(dec) * np.cos(ra - ra0)
        if np.any(cos_c <= 0):
            raise ValueError(f"some positions lie 90 deg or more from the centre of {self.name}")
        xi = np.cos(dec) * np.sin(ra - ra0) / cos_c
        eta = (np.cos(dec0) * np.sin(dec) - np.sin(dec0) * np.cos(dec) * np.cos(ra - ra0)) / cos_c
        return (np.degrees(xi) * u.deg, np.degrees(eta) * u.deg)

    def disc_offsets(self, coord):
        """Offsets along the major (X) and minor (Y) axes, as angles on the sky.

        Parameters
        ----------
        coord : `~astropy.coordinates.SkyCoord`
            One position or an array of them.

        Returns
        -------
        x, y : `~astropy.units.Quantity`
            Offsets in degrees; X grows toward the position angle of the major axis.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from clusterfinder.galaxy import M31
        >>> c = SkyCoord(11.0 * u.deg, 41.5 * u.deg)
        >>> x, y = M31.disc_offsets(c)
        >>> x.round(4), y.round(4)
        (<Quantity 0.3277 deg>, <Quantity -0.0436 deg>)
        """
        xi, eta = self.tangent_plane(coord)
        pa = self.position_angle.to_value(u.rad)
        x = xi * np.sin(pa) + eta * np.cos(pa)
        y = -xi * np.cos(pa) + eta * np.sin(pa)
        return x, y

    def disc_position(self, radius, azimuth=0 * u.deg):
        """The sky position of a point in the plane of the disc.

        The inverse of `deprojected_radius`: a point at galactocentric
        ``radius`` in the disc, at ``azimuth`` measured in the disc plane from
        the major axis (0 deg points along the position angle), is projected
        on the sky.

        Parameters
        ----------
        radius : `~astropy.units.Quantity`
            Deprojected radius, a length (scalar or array).
        azimuth : `~astropy.units.Quantity`
            Angle in the disc plane from the major axis (scalar or array).

        Returns
        -------
        `~astropy.coordinates.SkyCoord`

        Examples
        --------
        >>> import astropy.units as u
        >>> from clusterfinder.galaxy import M31
        >>> point = M31.disc_position(12 * u.kpc, 90 * u.deg)
        >>> M31.deprojected_radius(point).round(6)
        <Quantity 12. kpc>
        """
        radius = u.Quantity(radius)
        if not radius.unit.is_equivalent(u.kpc):
            raise ValueError(f"radius must be a length; got {radius!r}")
        azimuth = u.Quantity(azimuth)
        if not azimuth.unit.is_equivalent(u.deg):
            raise ValueError(f"azimuth must be an angle; got {azimuth!r}")
        scale = (radius / self.distance).decompose().value
        phi = azimuth.to_value(u.rad)
        x = scale * np.cos(phi)
        y = scale * np.sin(phi) * np.cos(self.inclination.to_value(u.rad))
        pa = self.position_angle.to_value(u.rad)
        xi = x * np.sin(pa) - y * np.cos(pa)
        eta = x * np.cos(pa) + y * np.sin(pa)
        # Inverse gnomonic projection about the centre.
        ra0 = self.center.spherical.lon.radian
        dec0 = self.center.spherical.lat.radian
        rho = np.hypot(xi, eta)
        c = np.arctan(rho)
        with np.errstate(invalid="ignore", divide="ignore"):
            sin_term = np.where(rho > 0, eta * np.sin(c) * np.cos(dec0) / rho, 0.0)
        dec = np.arcsin(np.cos(c) * np.sin(dec0) + sin_term)
        ra = ra0 + np.arctan2(
            xi * np.sin(c), rho * np.cos(dec0) * np.cos(c) - eta * np.sin(dec0) * np.sin(c)
        )
        return SkyCoord(ra * u.rad, dec * u.rad, frame=self.center.frame).transform_to("icrs")

    def projected_radius(self, coord):
        """Projected galactocentric radius: distance times angular separation.

        Parameters
        ----------
        coord : `~astropy.coordinates.SkyCoord`
            One position or an array of them.

        Returns
        -------
        `~astropy.units.Quantity`
            Radius in kpc.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from clusterfinder.galaxy import M31
        >>> c = SkyCoord(11.0 * u.deg, 41.5 * u.deg)
        >>> M31.projected_radius(c).round(2)
        <Quantity 4.53 kpc>
        """
        separation = self._as_coord(coord).separation(self.center)
        return (self.distance * separation.to_value(u.rad)).to(u.kpc)

    def deprojected_radius(self, coord):
        """Galactocentric radius in the plane of the disc.

        Parameters
        ----------
        coord : `~astropy.coordinates.SkyCoord`
            One position or an array of them.

        Returns
        -------
        `~astropy.units.Quantity`
            Radius in kpc, ``D * sqrt(X**2 + (Y / cos i)**2)``.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from clusterfinder.galaxy import M31
        >>> c = SkyCoord(11.0 * u.deg, 41.5 * u.deg)
        >>> M31.deprojected_radius(c).round(2)
        <Quantity 5.22 kpc>
        """
        x, y = self.disc_offsets(coord)
        cos_i = np.cos(self.inclination.to_value(u.rad))
        angle = np.hypot(x.to_value(u.rad), y.to_value(u.rad) / cos_i)
        return (self.distance * angle).to(u.kpc)

    def angular_radius(self, radius):
        """The angle on the sky that a projected length subtends at the galaxy.

        Parameters
        ----------
        radius : `~astropy.units.Quantity`
            A length, e.g. ``30 * u.kpc``.

        Returns
        -------
        `~astropy.units.Quantity`
            The angle in degrees.

        Raises
        ------
        ValueError
            If ``radius`` is not a length.

        Examples
        --------
        >>> import astropy.units as u
        >>> from clusterfinder.galaxy import M31
        >>> M31.angular_radius(30 * u.kpc).round(3)
        <Quantity 2.19 deg>
        """
        radius = u.Quantity(radius)
        if not radius.unit.is_equivalent(u.kpc):
            raise ValueError(f"radius must be a length; got {radius!r}")
        return ((radius / self.distance).decompose().value * u.rad).to(u.deg)

    @property
    def parsec_per_arcsec(self):
        """Physical scale at the galaxy's distance, in pc per arcsec."""
        return (self.distance * (1 * u.arcsec).to_value(u.rad)).to(u.pc) / u.arcsec


#: M31 (Andromeda): centre from NED, distance 785 kpc (McConnachie et al. 2005),
#: inclination 77 deg and major-axis position angle 38 deg.
M31 = GalaxyGeometry(
    name="M31",
    center=SkyCoord("00h42m44.35s", "+41d16m08.6s", frame="icrs"),
    distance=785 * u.kpc,
    inclination=77 * u.deg,
    position_angle=38 * u.deg,
)

#: M33 (Triangulum): distance 840 kpc, inclination 56 deg, position angle 23 deg.
M33 = GalaxyGeometry(
    name="M33",
    center=SkyCoord("01h33m50.9s", "+30d39m36s", frame="icrs"),
    distance=840 * u.kpc,
    inclination=56 * u.deg,
    position_angle=23 * u.deg,
)
