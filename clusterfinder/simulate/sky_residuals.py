"""What a survey's sky subtraction leaves behind.

Survey pipelines subtract the sky with a background map interpolated over a mesh of
cells tens of arcseconds wide. The map cannot follow the sky exactly, so a reduced image
keeps smooth residuals of a fraction of the per-pixel noise over the mesh's scale, and
the cells around a bright star, whose wings raise the background estimate there, are
over-subtracted: a shallow dark patch a mesh cell wide. A classifier trained on perfectly
flat skies can take either for part of a source.

`draw_sky_residuals` draws both for one band of a field as a sum of Gaussians, and
`SkyResiduals.add` adds them to any block of the image (the same pixels whatever the
blocks, as the rest of the renderer).
"""

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SkyResiduals", "draw_sky_residuals"]

#: Stars brighter than this (AB) in a band raise the background estimate around them.
OVERSUBTRACTED_BRIGHTER_THAN = 18.0
#: Range of the width (Gaussian sigma, pixels) of the smooth residuals.
SMOOTH_SIGMA = (100.0, 300.0)
#: Smooth residual patches per square pixel (one per ~200 x 200 pixels).
SMOOTH_DENSITY = 1.0 / 200.0**2
#: Components are evaluated out to this many sigma.
REACH = 4.0


@dataclass
class SkyResiduals:
    """Gaussian components (pixels, ADU at their peak) added to the sky of one band."""

    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    peak: np.ndarray

    def add(self, image, y0, y1, x0, x1):
        """Add the residuals to ``image``, the pixels ``[y0:y1, x0:x1]`` of the band."""
        reach = REACH * self.sigma
        hit = (
            (self.x + reach >= x0)
            & (self.x - reach < x1)
            & (self.y + reach >= y0)
            & (self.y - reach < y1)
        )
        if not hit.any():
            return
        xs = np.arange(x0, x1, dtype=float)
        ys = np.arange(y0, y1, dtype=float)
        for k in np.flatnonzero(hit):
            gx = np.exp(-0.5 * ((xs - self.x[k]) / self.sigma[k]) ** 2)
            gy = np.exp(-0.5 * ((ys - self.y[k]) / self.sigma[k]) ** 2)
            image += self.peak[k] * np.outer(gy, gx)


def draw_sky_residuals(rng, shape, *, pad, sky_sigma, amplitude, oversubtraction, mesh, stars):
    """Draw the sky-subtraction residuals of one band.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        Random stream.
    shape : tuple of int
        ``(ny, nx)`` of the image.
    pad : int
        Margin (pixels) over which smooth residuals are also drawn.
    sky_sigma : float
        Per-pixel sky noise (ADU).
    amplitude : float
        Standard deviation of the smooth residuals' peaks, in units of ``sky_sigma``.
    oversubtraction : float
        Fraction of a bright star's flux that the sky subtraction removes around it.
    mesh : float
        Width (Gaussian sigma, pixels) of the over-subtracted patch around a bright star.
    stars : tuple of ndarray
        ``(x, y, flux)`` of the stars brighter than `OVERSUBTRACTED_BRIGHTER_THAN`.

    Returns
    -------
    `SkyResiduals`

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.simulate.sky_residuals import draw_sky_residuals
    >>> stars = (np.array([50.0]), np.array([50.0]), np.array([1e5]))
    >>> residuals = draw_sky_residuals(
    ...     np.random.default_rng(0), (100, 100), pad=0, sky_sigma=2.0, amplitude=0.0,
    ...     oversubtraction=0.02, mesh=10.0, stars=stars)
    >>> image = np.zeros((100, 100))
    >>> residuals.add(image, 0, 100, 0, 100)
    >>> round(float(image.sum()), 1)  # 2 % of the star's flux, removed around it
    -2000.0
    """
    ny, nx = shape
    area = (ny + 2 * pad) * (nx + 2 * pad)
    n = int(rng.poisson(SMOOTH_DENSITY * area)) if amplitude > 0 else 0
    x = rng.uniform(-pad, nx + pad, n)
    y = rng.uniform(-pad, ny + pad, n)
    sigma = rng.uniform(*SMOOTH_SIGMA, n)
    peak = rng.normal(0.0, amplitude * sky_sigma, n)
    star_x, star_y, flux = (np.asarray(v, dtype=float) for v in stars)
    star_peak = -oversubtraction * flux / (2.0 * math.pi * mesh**2)
    return SkyResiduals(
        x=np.concatenate([x, star_x]),
        y=np.concatenate([y, star_y]),
        sigma=np.concatenate([sigma, np.full(star_x.size, float(mesh))]),
        peak=np.concatenate([peak, star_peak]),
    )
