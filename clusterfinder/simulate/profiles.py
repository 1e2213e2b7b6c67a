"""Light profiles of the simulator: the Moffat PSF and the profiles of extended objects.

Point sources are drawn from a pixel-integrated Moffat PSF, tabulated once per band as a
two-dimensional cumulative sum of a finely sampled PSF (16 sub-pixels per pixel). Any
pixel-integrated stamp at a sub-pixel position (quantised to 1/16 pixel) is then four
look-ups per pixel. Extended objects (EFF and King clusters, Sersic galaxies and HII
regions) are sampled on an oversampled grid, convolved with the PSF and binned to pixels.
Every stamp is normalised to the object's total flux, so that flux is conserved exactly.
"""

import functools
import math

import numpy as np
from scipy.optimize import brentq
from scipy.signal import fftconvolve

from .psf import PSFShape

__all__ = [
    "MoffatPSF",
    "PixelPSF",
    "extended_stamp",
    "radial_profile",
    "sample_radii",
    "scale_for_reff",
]

#: Sub-pixel resolution of the tabulated PSF (positions are quantised to 1/PSF_OVERSAMPLE).
PSF_OVERSAMPLE = 16

#: Truncation radius of EFF and Sersic profiles, in units of the half-light radius.
TRUNCATION = 6.0


class PixelPSF:
    """A pixel-integrated PSF of any `~clusterfinder.simulate.psf.PSFShape` at any position.

    Parameters
    ----------
    fwhm : float
        Full width at half maximum of the core, in pixels.
    shape : `~clusterfinder.simulate.psf.PSFShape`
        Family, ellipticity and halo of the PSF.
    small_radius : int, optional
        Half-size of the stamps of faint stars (default ``ceil(5 alpha)``, or the halo's
        reach if larger).
    large_radius : int, optional
        Half-size of the stamps of bright stars (default ``ceil(14 alpha)``).

    Examples
    --------
    >>> from clusterfinder.simulate.psf import PSFShape
    >>> psf = PixelPSF(3.6, PSFShape("kolmogorov", ellipticity=0.08, angle=30.0))
    >>> stamp = psf.stamp(0.25, -0.1, 10)
    >>> stamp.shape, round(float(stamp.sum()), 12)
    ((21, 21), 1.0)
    """

    def __init__(self, fwhm, shape, *, small_radius=None, large_radius=None):
        self.fwhm = float(fwhm)
        self.shape = shape
        self.alpha = shape.width(self.fwhm)
        #: Radius (pixels) within which the light of the PSF is followed around a source.
        self.reach, small, large = self.radii(self.fwhm, shape)
        self.small_radius = int(small_radius or small)
        self.large_radius = int(large_radius or max(self.small_radius, large))
        os_ = PSF_OVERSAMPLE
        half = (self.large_radius + 1) * os_
        centres = (np.arange(-half, half) + 0.5) / os_
        cells = self._evaluate(centres[None, :], centres[:, None])
        table = np.zeros((2 * half + 1, 2 * half + 1))
        table[1:, 1:] = cells.cumsum(axis=0).cumsum(axis=1)
        self._table = table
        self._half = half
        self._library = None
        self._kernels = {}

    @staticmethod
    def radii(fwhm, shape):
        """``(reach, small_radius, large_radius)`` (pixels) by default for ``fwhm, shape``.

        The constructor raises the large radius to the small one where that is larger.
        """
        alpha = shape.width(fwhm)
        reach = max(5.0 * alpha, shape.halo_radius(fwhm))
        return reach, max(6, math.ceil(reach)), math.ceil(14.0 * alpha)

    def _evaluate(self, x, y):
        """The PSF's surface brightness on a grid (any normalisation)."""
        if self.shape.is_plain_moffat:
            beta = self.shape.beta
            return (1.0 + (x**2 + y**2) / self.alpha**2) ** (-beta)
        return self.shape.surface_brightness(x, y, fwhm=self.fwhm)

    @property
    def noise_area(self):
        """Noise-equivalent area ``1 / sum(P**2)`` (pixels) of a star centred on a pixel."""
        centre = self.library[PSF_OVERSAMPLE // 2, PSF_OVERSAMPLE // 2]
        return float(1.0 / np.sum(centre**2))

    @classmethod
    @functools.lru_cache(maxsize=8)
    def cached(cls, fwhm, shape):
        """A shared instance for ``fwhm, shape`` (the tables take a moment to build)."""
        return cls(fwhm, shape)

    def _sum_boxes(self, qy, qx, radius):
        """Sums of the tabulated PSF over the pixels of a stamp at phases ``qy, qx``."""
        os_ = PSF_OVERSAMPLE
        j = np.arange(-radius, radius + 1)
        qy = np.atleast_1d(qy)[:, None]
        qx = np.atleast_1d(qx)[:, None]
        low_y = os_ * j[None, :] - os_ // 2 - qy + self._half
        low_x = os_ * j[None, :] - os_ // 2 - qx + self._half
        high_y = low_y + os_
        high_x = low_x + os_
        t = self._table
        boxes = (
            t[high_y[:, :, None], high_x[:, None, :]]
            - t[low_y[:, :, None], high_x[:, None, :]]
            - t[high_y[:, :, None], low_x[:, None, :]]
            + t[low_y[:, :, None], low_x[:, None, :]]
        )
        return boxes / boxes.sum(axis=(1, 2), keepdims=True)

    @staticmethod
    def phases(x):
        """Split positions into integer pixels and sub-pixel phases (1/16 pixel units)."""
        q = np.rint(np.asarray(x, dtype=float) * PSF_OVERSAMPLE).astype(np.int64)
        pix = np.floor_divide(q + PSF_OVERSAMPLE // 2, PSF_OVERSAMPLE)
        return pix, q - PSF_OVERSAMPLE * pix

    def stamp(self, x, y, radius):
        """Unit-flux stamp of half-size ``radius`` for a star at offset ``x, y`` from a pixel.

        ``x`` and ``y`` are in pixels; the stamp is centred on pixel ``round(x), round(y)``.
        """
        (_, qx), (_, qy) = self.phases(x), self.phases(y)
        return self._sum_boxes(qy, qx, int(radius))[0]

    @property
    def library(self):
        """Unit-flux small stamps for every phase, shape (16, 16, 2r+1, 2r+1)."""
        if self._library is None:
            os_ = PSF_OVERSAMPLE
            q = np.arange(-os_ // 2, os_ // 2)
            qy, qx = np.meshgrid(q, q, indexing="ij")
            stamps = self._sum_boxes(qy.ravel(), qx.ravel(), self.small_radius)
            size = 2 * self.small_radius + 1
            self._library = stamps.reshape(os_, os_, size, size)
        return self._library

    def kernel(self, oversample):
        """The PSF sampled on a grid ``oversample`` times finer than pixels (sum 1, odd size)."""
        if oversample not in self._kernels:
            half = math.ceil(self.reach * oversample)
            u = np.arange(-half, half + 1) / oversample
            kernel = self._evaluate(u[None, :], u[:, None])
            self._kernels[oversample] = kernel / kernel.sum()
        return self._kernels[oversample]


class MoffatPSF(PixelPSF):
    """A pixel-integrated round Moffat PSF at any sub-pixel position.

    Parameters
    ----------
    fwhm : float
        Full width at half maximum in pixels.
    beta : float
        Moffat power index.
    small_radius : int, optional
        Half-size of the stamps of faint stars (default ``ceil(5 alpha)``).
    large_radius : int, optional
        Half-size of the stamps of bright stars (default ``ceil(14 alpha)``).

    Examples
    --------
    >>> psf = MoffatPSF(3.6, 3.0)
    >>> stamp = psf.stamp(0.25, -0.1, 10)
    >>> stamp.shape, round(float(stamp.sum()), 12)
    ((21, 21), 1.0)
    """

    def __init__(self, fwhm, beta, *, small_radius=None, large_radius=None):
        self.beta = float(beta)
        super().__init__(
            fwhm,
            PSFShape("moffat", beta=self.beta),
            small_radius=small_radius,
            large_radius=large_radius,
        )


def _sersic_b(n):
    # Ciotti & Bertin (1999) asymptotic expansion of b_n.
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n**2)


def radial_profile(r, profile, scale, *, gamma=None, concentration=None, sersic_n=None, rt=None):
    """Surface brightness (arbitrary normalisation) of a radial profile at radius ``r``.

    Parameters
    ----------
    r : array-like
        Radii, in the unit of ``scale``.
    profile : {"eff", "king", "sersic"}
        EFF (Elson, Fall & Freeman 1987) ``(1 + r**2/a**2)**(-gamma/2)`` with ``a = scale``;
        King (1962) with core radius ``scale`` and tidal radius ``scale * 10**concentration``;
        Sersic ``exp(-b_n ((r/scale)**(1/n) - 1))`` with ``scale`` the effective radius.
    scale : float
        Scale radius of the profile.
    rt : float, optional
        Truncation radius (EFF and Sersic); the King tidal radius comes from the concentration.

    Examples
    --------
    >>> float(radial_profile(0.0, "eff", 1.0, gamma=2.5))
    1.0
    """
    r = np.asarray(r, dtype=float)
    if profile == "eff":
        values = (1.0 + (r / scale) ** 2) ** (-gamma / 2.0)
    elif profile == "king":
        tidal = scale * 10.0**concentration
        values = 1.0 / np.sqrt(1.0 + (r / scale) ** 2) - 1.0 / math.sqrt(1.0 + (tidal / scale) ** 2)
        values = np.where(r < tidal, values, 0.0) ** 2
        return values
    elif profile == "sersic":
        values = np.exp(-_sersic_b(sersic_n) * ((r / scale) ** (1.0 / sersic_n) - 1.0))
    else:
        raise ValueError(f"profile must be 'eff', 'king' or 'sersic'; got {profile!r}")
    if rt is not None:
        values = np.where(r < rt, values, 0.0)
    return values


def _enclosed(profile, scale, rmax, npoints=4000, **shape):
    r = np.linspace(0.0, rmax, npoints)
    integrand = radial_profile(r, profile, scale, **shape) * r
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (integrand[1:] + integrand[:-1]))])
    return r, cumulative / cumulative[-1]


def scale_for_reff(profile, reff, **shape):
    """Scale radius (and truncation radius) giving a projected half-light radius ``reff``.

    EFF and Sersic profiles are truncated at ``TRUNCATION * reff``; a King profile ends at its
    tidal radius. Returns ``(scale, rt)``.

    Examples
    --------
    >>> scale, rt = scale_for_reff("king", 1.0, concentration=1.0)
    >>> round(rt / scale, 6)
    10.0
    """
    reff = float(reff)
    if profile == "king":
        c = shape["concentration"]
        r, light = _enclosed("king", 1.0, 10.0**c, concentration=c)
        half = float(np.interp(0.5, light, r))
        scale = reff / half
        return scale, scale * 10.0**c
    rt = TRUNCATION * reff

    def excess(log_scale):
        r, light = _enclosed(profile, math.exp(log_scale), rt, rt=rt, **shape)
        return float(np.interp(reff, r, light)) - 0.5

    log_scale = brentq(excess, math.log(reff) - 8.0, math.log(reff) + 6.0, xtol=1e-6)
    return math.exp(log_scale), rt


def sample_radii(rng, n, profile, scale, rt, **shape):
    """Draw ``n`` projected radii from a profile's light distribution (inverse CDF)."""
    r, light = _enclosed(profile, scale, rt, rt=rt if profile != "king" else None, **shape)
    return np.interp(rng.random(n), light, r)


def extended_stamp(psf, x, y, profile, scale, rt, ellipticity, theta, **shape):
    """Unit-flux PSF-convolved stamp of an extended object at offset ``x, y`` from a pixel.

    Parameters
    ----------
    psf : `MoffatPSF`
        The PSF of the band.
    x, y : float
        Sub-pixel offset of the centre from the stamp's central pixel (within +-0.5).
    profile, scale, rt : str, float, float
        See `radial_profile`; lengths in pixels.
    ellipticity, theta : float
        ``1 - b/a`` and position angle of the major axis (radians from +x toward +y).

    Returns
    -------
    ndarray
        The stamp (odd square size) summing to 1.
    """
    radius = math.ceil(rt + psf.reach) + 1
    # The PSF (FWHM of several pixels) smooths everything: 3 samples per pixel suffice for
    # compact objects, and larger ones are smooth on the pixel scale already.
    extent = min(scale, rt / TRUNCATION) * (1.0 - ellipticity)
    oversample = 1 if extent > 2.0 else 3
    n = (2 * radius + 1) * oversample
    u = -radius - 0.5 + (np.arange(n) + 0.5) / oversample
    dx = u[None, :] - x
    dy = u[:, None] - y
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    major = dx * cos_t + dy * sin_t
    minor = (-dx * sin_t + dy * cos_t) / (1.0 - ellipticity)
    r = np.hypot(major, minor)
    image = radial_profile(r, profile, scale, rt=rt if profile != "king" else None, **shape)
    image = fftconvolve(image, psf.kernel(oversample), mode="same")
    size = 2 * radius + 1
    image = image.reshape(size, oversample, size, oversample).sum(axis=(1, 3))
    image = np.clip(image, 0.0, None)
    return image / image.sum()
