"""Reading the footprints (``position_bounds``) of CAOM planes from a TAP answer."""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

__all__ = ["footprint_centre", "footprint_vertices"]


def footprint_vertices(bounds):
    """(ra, dec) vertices in degrees of one CAOM footprint, or None if unreadable.

    TAP services serialise ``position_bounds`` either as a DALI polygon (a flat
    array of doubles, xtype ``polygon``) or as an STC-S-like string
    (``polygon 10.1 41.2 ...`` / ``circle ra dec r``).
    """
    if np.ma.is_masked(bounds):
        return None
    if isinstance(bounds, (str, bytes)):
        text = bounds.decode() if isinstance(bounds, bytes) else bounds
        words = text.replace("(", " ").replace(")", " ").replace(",", " ").split()
        numbers = []
        for word in words:
            try:
                numbers.append(float(word))
            except ValueError:
                continue
        if words and words[0].lower() == "circle" and len(numbers) >= 2:
            return np.array([numbers[:2]])
        values = np.array(numbers)
    else:
        values = np.ma.filled(np.ma.asarray(bounds, dtype=float), np.nan).ravel()
    if values.size < 2 or values.size % 2 or not np.all(np.isfinite(values)):
        return None
    return values.reshape(-1, 2)


def footprint_centre(bounds):
    """(ra, dec) in degrees of the mean of a footprint's vertices; NaNs if unreadable."""
    points = footprint_vertices(bounds)
    if points is None:
        return np.nan, np.nan
    vectors = SkyCoord(points[:, 0] * u.deg, points[:, 1] * u.deg).cartesian.xyz.value
    mean = vectors.mean(axis=1)
    centre = SkyCoord(*mean, representation_type="cartesian").spherical
    return centre.lon.to_value(u.deg), centre.lat.to_value(u.deg)
