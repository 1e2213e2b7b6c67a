"""Helpers of the Cutout tests: small synthetic images with a TAN WCS."""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

CENTER = SkyCoord(10.0 * u.deg, 41.0 * u.deg)


def make_wcs(crpix=(50.5, 50.5), scale=0.186, rotation=0.0, crval=(10.0, 41.0)):
    """A TAN WCS with pixel ``scale`` (arcsec) rotated by ``rotation`` (deg)."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(crval)
    wcs.wcs.crpix = list(crpix)
    s = scale / 3600.0
    c, n = np.cos(np.radians(rotation)), np.sin(np.radians(rotation))
    wcs.wcs.cd = np.array([[-s * c, s * n], [s * n, s * c]])
    wcs.wcs.set()
    return wcs


def gaussian_image(wcs, shape, coords, *, sigma=0.5, flux=1000.0):
    """Image with circular Gaussians (``sigma`` arcsec, total ``flux``) at ``coords``."""
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    image = np.zeros(shape)
    x, y = wcs.world_to_pixel(coords)
    scale = np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3600.0
    s = sigma / scale
    for xi, yi in zip(np.atleast_1d(x), np.atleast_1d(y), strict=True):
        image += (
            flux / (2 * np.pi * s * s) * np.exp(-((xx - xi) ** 2 + (yy - yi) ** 2) / (2 * s * s))
        )
    return image.astype(np.float32)


def centroid(stamp, x, y, radius=4.0):
    """First moment of ``stamp`` within ``radius`` pixels of (x, y)."""
    yy, xx = np.mgrid[0 : stamp.shape[0], 0 : stamp.shape[1]]
    near = (xx - x) ** 2 + (yy - y) ** 2 < radius**2
    w = stamp * near
    return (w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()


def offsets(n, *, half_width=6.0, seed=0):
    """``n`` sky positions within ``half_width`` arcsec of CENTER."""
    rng = np.random.default_rng(seed)
    return CENTER.spherical_offsets_by(
        rng.uniform(-half_width, half_width, n) * u.arcsec,
        rng.uniform(-half_width, half_width, n) * u.arcsec,
    )
