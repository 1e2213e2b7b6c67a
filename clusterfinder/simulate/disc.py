"""The smooth light of the host galaxy over a field, and the crowding that follows it.

The surface brightness of the disc (exponential in the deprojected radius) and the bulge
(Sersic in the projected radius) is computed on a coarse grid of nodes every
`GRID_STEP` pixels over the whole field, once, and interpolated bilinearly to any pixel.
Because every pixel is interpolated from the same nodes, a block of the image gets the
same values whatever the block layout. The same grid gives the local density factor of
disc objects (resolved stars, young clusters, HII regions) relative to the reference radius.
"""

import math

import astropy.units as u
import numpy as np
from scipy.ndimage import map_coordinates

__all__ = ["GRID_STEP", "DiscLight"]

#: Largest density factor of resolved disc stars: near the bulge the stars blend into the
#: smooth light rather than growing in number without bound (about one star per 3 arcsec^2
#: at the default density).
MAX_CROWDING = 4.0

#: Spacing of the grid of nodes on which the galaxy light is computed (pixels).
GRID_STEP = 32


def _sersic_b(n):
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n**2)


class DiscLight:
    """Disc and bulge light of ``galaxy`` on the pixels of an image.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the image.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the image.
    config : `~clusterfinder.simulate.SurveyConfig`
        Gives the `~clusterfinder.simulate.DiscModel`, the pixel scale and zero point.
    galaxy : `~clusterfinder.galaxy.GalaxyGeometry`
        Centre, distance and orientation of the disc.
    pad : int
        Margin (pixels) around the image also covered by the grid.
    """

    def __init__(self, shape, wcs, config, galaxy, *, pad=0):
        ny, nx = shape
        self.pad = pad
        step = GRID_STEP
        self._origin = -pad - step
        ky = math.ceil((ny + 2 * pad) / step) + 3
        kx = math.ceil((nx + 2 * pad) / step) + 3
        ys = self._origin + step * np.arange(ky)
        xs = self._origin + step * np.arange(kx)
        xx, yy = np.meshgrid(xs.astype(float), ys.astype(float))
        coords = wcs.pixel_to_world(xx, yy)
        self.r_proj = galaxy.projected_radius(coords).to_value(u.kpc)
        self.r_deproj = galaxy.deprojected_radius(coords).to_value(u.kpc)
        disc = config.disc
        h = disc.scale_length.to_value(u.kpc)
        re = disc.bulge_re.to_value(u.kpc)
        b = _sersic_b(disc.bulge_n)
        pixel_area = config.arcsec_per_pixel**2
        self._maps = {}
        for band in config.bands:
            mu_disc = disc.disc_mu0[band] + 2.5 / math.log(10.0) * self.r_deproj / h
            mu_bulge = disc.bulge_mue[band] + 2.5 / math.log(10.0) * b * (
                (self.r_proj / re) ** (1.0 / disc.bulge_n) - 1.0
            )
            flux = 10.0 ** (-0.4 * (mu_disc - config.zero_point))
            flux = flux + 10.0 ** (-0.4 * (mu_bulge - config.zero_point))
            self._maps[band] = flux * pixel_area
        # Density factors relative to the disc at the reference radius (light of the first
        # band): the whole galaxy light for crowding, the disc alone for star formation.
        first = next(iter(config.bands))
        r_ref = disc.reference_radius.to_value(u.kpc)
        reference = 10.0 ** (-0.4 * (disc.disc_mu0[first] + 2.5 / math.log(10.0) * r_ref / h))
        reference *= 10.0 ** (0.4 * config.zero_point) * pixel_area
        self._factors = {
            "all": np.minimum(self._maps[first] / reference, MAX_CROWDING),
            "disc": np.minimum(np.exp(-(self.r_deproj - r_ref) / h), MAX_CROWDING),
        }

    def _interpolate(self, grid, y, x):
        fy = (np.asarray(y, dtype=float) - self._origin) / GRID_STEP
        fx = (np.asarray(x, dtype=float) - self._origin) / GRID_STEP
        fy, fx = np.broadcast_arrays(fy, fx)
        return map_coordinates(grid, [fy, fx], order=1, mode="nearest")

    def image(self, band, y0, y1, x0, x1):
        """Galaxy light (ADU per pixel) on the pixels ``[y0:y1, x0:x1]``.

        Bilinear interpolation done as two separable passes of element-wise operations, so
        that each pixel's value depends only on its own position.
        """
        grid = self._maps[band]
        fx = (np.arange(x0, x1, dtype=float) - self._origin) / GRID_STEP
        fy = (np.arange(y0, y1, dtype=float) - self._origin) / GRID_STEP
        ix = np.clip(np.floor(fx).astype(np.int64), 0, grid.shape[1] - 2)
        iy = np.clip(np.floor(fy).astype(np.int64), 0, grid.shape[0] - 2)
        tx = fx - ix
        ty = (fy - iy)[:, None]
        rows = grid[:, ix] * (1.0 - tx) + grid[:, ix + 1] * tx
        return rows[iy] * (1.0 - ty) + rows[iy + 1] * ty

    def factor(self, which, y, x):
        """Density factor ``"all"`` (galaxy light) or ``"disc"`` at pixel positions."""
        return self._interpolate(self._factors[which], y, x)

    def max_factor(self, which):
        """Largest density factor over the grid (for thinning)."""
        return float(self._factors[which].max())
