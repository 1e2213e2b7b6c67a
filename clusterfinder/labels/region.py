"""Which sky positions fall inside a sky region or a footprint polygon."""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

__all__ = ["in_region", "mean_direction"]


def _tangent_wcs(center):
    """A gnomonic (TAN) WCS at ``center`` with 1 arcsec pixels.

    In a gnomonic projection great circles are straight lines, so a polygon
    whose sides are great-circle arcs stays a polygon with straight sides.
    """
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [center.icrs.ra.deg, center.icrs.dec.deg]
    wcs.wcs.crpix = [0.0, 0.0]
    wcs.wcs.cdelt = [-1.0 / 3600.0, 1.0 / 3600.0]
    return wcs


def mean_direction(coords):
    """The direction of the mean of unit vectors: a centre that works across RA = 0."""
    xyz = coords.icrs.cartesian.xyz.reshape(3, -1).mean(axis=1)
    mean = SkyCoord(x=xyz[0], y=xyz[1], z=xyz[2], representation_type="cartesian", frame="icrs")
    return SkyCoord(mean.spherical.lon, mean.spherical.lat, frame="icrs")


def in_region(coords, region):
    """True for each position inside ``region``.

    Parameters
    ----------
    coords : `~astropy.coordinates.SkyCoord`
        Positions to test.
    region : `regions.SkyRegion` or `~astropy.coordinates.SkyCoord`
        A sky region of the ``regions`` package (circle, ellipse, rectangle,
        polygon, compound...), or the vertices of a footprint polygon (at least
        three, in order, joined by great-circle arcs).

    Returns
    -------
    `numpy.ndarray` of bool

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from clusterfinder.labels.region import in_region
    >>> square = SkyCoord([10, 11, 11, 10] * u.deg, [41, 41, 42, 42] * u.deg)
    >>> in_region(SkyCoord([10.5, 12.0] * u.deg, [41.5, 41.5] * u.deg), square)
    array([ True, False])
    """
    from regions import PolygonSkyRegion, SkyRegion

    if not isinstance(coords, SkyCoord):
        raise TypeError(f"coords must be a SkyCoord; got {type(coords).__name__}")
    if isinstance(region, SkyCoord):
        if region.isscalar or region.size < 3:
            raise ValueError("a footprint polygon needs at least 3 SkyCoord vertices")
        region = PolygonSkyRegion(vertices=region.icrs.reshape(-1))
    if not isinstance(region, SkyRegion):
        raise TypeError(
            "region must be a regions SkyRegion (e.g. CircleSkyRegion, PolygonSkyRegion) or "
            f"a SkyCoord of polygon vertices; got {type(region).__name__}"
        )
    coords = coords.icrs.reshape(-1)
    if len(coords) == 0:
        return np.zeros(0, dtype=bool)
    center = getattr(region, "center", None)
    if center is None and hasattr(region, "vertices"):
        center = mean_direction(region.vertices)
    if center is None:
        center = mean_direction(coords)
    center = SkyCoord(center).icrs
    # Only the hemisphere around the centre projects sensibly on a tangent plane.
    near = coords.separation(center) < 89 * u.deg
    inside = np.zeros(len(coords), dtype=bool)
    if near.any():
        inside[near] = np.asarray(region.contains(coords[near], _tangent_wcs(center)), dtype=bool)
    return inside
