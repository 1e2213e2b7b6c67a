"""Measure the PSF of an image from its bright, isolated, unresolved stars.

`measure_psf` finds the stars of an image that are bright, unsaturated, isolated and
as narrow as the narrowest well-populated group of sources (the stellar locus:
clusters, galaxies and blends are broader), stacks them after centring each to a
fraction of a pixel, and describes the stack with a Moffat fit, its second moments and
the share of its light in the wings. The result is a `PSFMeasurement`, which can draw
a model of the PSF at any stamp size (`PSFMeasurement.model_stamp`).
"""

import contextlib
import math
import numbers
import os
import warnings
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales
from scipy.optimize import least_squares

from ..images import ScaledPixels, _header_number, load_plane
from ..utils.exceptions import ClusterFinderWarning
from ..utils.progress import progress_bar as _progress_bar

__all__ = [
    "HEADER_FWHM_KEYWORDS",
    "PSFMeasurement",
    "PSFMeasurementWarning",
    "elliptical_moffat",
    "measure_psf",
]

#: Header keywords read, in this order, for the seeing FWHM (arcsec) of the fallback.
HEADER_FWHM_KEYWORDS = ("FWHM", "SEEING", "PSF_FWHM")

_DETECT_SIGMA = 30.0  # candidate stars peak this many noise sigmas above the local sky
_SATURATED = 0.7  # stars peaking above this fraction of the saturation level are dropped
_NEIGHBOUR_RATIO = 0.1  # a neighbour peak above this fraction of a star's peak spoils it...
_ISOLATION = 3.0  # ...when it lies within this many FWHM
_LOCUS_WIDTH = 0.1  # relative width of the stellar locus in size
_BOX = 128  # side (pixels) of the boxes in which the sky level and noise are estimated
_OVERSAMPLE = 5  # sub-pixels per pixel and axis of the pixel-integrated Moffat models
_CANDIDATES = 600  # the brightest candidates examined (more when max_stars is large)
_GAUSS_FWHM = 2.0 * math.sqrt(2.0 * math.log(2.0))
_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


class PSFMeasurementWarning(ClusterFinderWarning):
    """The PSF of an image could not be measured from its stars and was taken elsewhere."""


def elliptical_moffat(size, fwhm, beta, ellipticity, theta, *, dx=0.0, dy=0.0):
    """Pixel-integrated elliptical Moffat, ``size`` x ``size``, peak 1 before integration.

    ``fwhm`` (pixels) is the geometric mean of the FWHM along the two axes, ``theta``
    (degrees) the angle of the major axis from +x toward +y; the centre lies ``dx, dy``
    pixels from the central pixel. Each pixel is the mean of ``_OVERSAMPLE**2`` samples.

    Examples
    --------
    >>> image = elliptical_moffat(25, 3.6, 3.0, 0.0, 0.0)
    >>> image.shape, bool(image[12, 12] == image.max())
    ((25, 25), True)
    """
    alpha = fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))
    sub = (np.arange(size * _OVERSAMPLE) + 0.5) / _OVERSAMPLE - size / 2.0
    x, y = sub[None, :] - dx, sub[:, None] - dy
    cos, sin = math.cos(math.radians(theta)), math.sin(math.radians(theta))
    q = 1.0 - ellipticity
    r2 = ((x * cos + y * sin) ** 2 * q + (y * cos - x * sin) ** 2 / q) / alpha**2
    image = np.exp(-beta * np.log1p(r2))
    return image.reshape(size, _OVERSAMPLE, size, _OVERSAMPLE).mean(axis=(1, 3))


def _grid(width, dx=0.0, dy=0.0):
    """Pixel offsets (x, y) from a point ``dx, dy`` off the centre of a square grid."""
    c = np.arange(width) - width // 2
    return c[None, :] - dx, c[:, None] - dy


def _aperture(width, dx, dy, radius):
    """Fraction of each pixel of a square grid within ``radius`` of ``dx, dy`` off centre."""
    sub = (np.arange(_OVERSAMPLE) + 0.5) / _OVERSAMPLE - 0.5
    x, y = _grid(width, dx, dy)
    x = (x[..., None, None] + sub[None, :]) ** 2
    y = (y[..., None, None] + sub[:, None]) ** 2
    return (x + y <= radius**2).mean(axis=(-2, -1))


def _shape_of(image, dx, dy, radius):
    """Ellipticity ``1 - b/a`` and major-axis angle (deg) from second moments in ``radius``."""
    x, y = _grid(image.shape[0], dx, dy)
    flux = np.where(x**2 + y**2 <= radius**2, image, 0.0)
    total = float(flux.sum())
    if not total > 0:
        return 0.0, 0.0
    mxx, myy, mxy = (float((flux * m).sum()) / total for m in (x * x, y * y, x * y))
    spread = math.hypot(0.5 * (mxx - myy), mxy)
    major, minor = 0.5 * (mxx + myy) + spread, max(0.5 * (mxx + myy) - spread, 0.0)
    if not major > 0:
        return 0.0, 0.0
    theta = 0.5 * math.degrees(math.atan2(2.0 * mxy, mxx - myy)) % 180.0
    return 1.0 - math.sqrt(minor / major), theta


def _shift(cube, fx, fy):
    """Move the point ``(fx, fy)`` of each odd-sized stamp of ``cube`` to its centre."""
    width = cube.shape[-1]
    ky, kx = np.fft.fftfreq(width)[:, None], np.fft.rfftfreq(width)[None, :]
    phase = np.exp(2j * np.pi * (kx * fx[:, None, None] + ky * fy[:, None, None]))
    return np.fft.irfft2(np.fft.rfft2(cube) * phase, s=(width, width))


def _cut(array, y, x, half):
    """Square stamps of side ``2 * half + 1`` around the pixels ``y, x`` (all inside)."""
    d = np.arange(-half, half + 1)
    return array[y[:, None, None] + d[None, :, None], x[:, None, None] + d[None, None, :]]


def _clipped_median(values, axis):
    """Median of ``values`` (NaN ignored) after clipping at 3 sigma (median absolute dev.)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # slices with no finite value
        for _ in range(3):
            level = np.nanmedian(values, axis=axis, keepdims=True)
            spread = 1.4826 * np.nanmedian(np.abs(values - level), axis=axis, keepdims=True)
            values = np.where(np.abs(values - level) > 3.0 * spread, np.nan, values)
        level = np.nanmedian(values, axis=axis, keepdims=True)
        spread = 1.4826 * np.nanmedian(np.abs(values - level), axis=axis, keepdims=True)
    return np.squeeze(level, axis), np.squeeze(spread, axis)


def _sky(data, bad):
    """Sky level and noise in boxes of about `_BOX` pixels, from a subsample of pixels."""
    ny, nx = data.shape
    step = max(1, round(math.sqrt(ny * nx / 1.0e6)))
    side = max(16, _BOX // step)
    sample = np.array(data[::step, ::step], dtype=np.float32)
    sample[bad[::step, ::step]] = np.nan
    nby, nbx = -(-sample.shape[0] // side), -(-sample.shape[1] // side)
    padded = np.full((nby * side, nbx * side), np.nan, dtype=np.float32)
    padded[: sample.shape[0], : sample.shape[1]] = sample
    cells = padded.reshape(nby, side, nbx, side).transpose(0, 2, 1, 3).reshape(nby, nbx, -1)
    level, noise = _clipped_median(cells, axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # boxes (or a sample) without pixels
        level = np.nan_to_num(np.where(np.isfinite(level), level, np.nanmedian(level)))
        noise = np.nan_to_num(np.where(np.isfinite(noise), noise, np.nanmedian(noise)))
        # A noise-free image still needs a threshold: a tiny fraction of its brightest pixel.
        floor = np.nan_to_num(1e-6 * np.nanmax(np.abs(sample))) + np.finfo(np.float32).tiny
    return level.astype(float), np.maximum(noise, floor).astype(float), side * step


def _peaks(data, bad, threshold, box):
    """Local maxima of ``data`` above ``threshold`` (one value per box), not on the border."""
    ny, nx = data.shape
    ys, xs = [], []
    for j in range(threshold.shape[0]):
        y0 = j * box
        limit = np.repeat(threshold[j], box)[:nx]
        iy, ix = np.nonzero(np.asarray(data[y0 : y0 + box]) > limit)
        ys.append(iy + y0)
        xs.append(ix)
    y, x = np.concatenate(ys), np.concatenate(xs)
    inside = (y > 0) & (y < ny - 1) & (x > 0) & (x < nx - 1)
    y, x = y[inside], x[inside]
    value = np.asarray(data[y, x], dtype=float)
    keep = ~bad[y, x]
    for dy, dx in _NEIGHBOURS:  # ties go to the first pixel of a plateau in raster order
        other = np.asarray(data[y + dy, x + dx], dtype=float)
        keep &= (value > other) if (dy, dx) < (0, 0) else (value >= other)
    return y[keep], x[keep], value[keep]


def _adaptive_moments(stamps, sigma):
    """Centroid offsets and Gaussian-equivalent FWHM of background-free stamps.

    The weight is a round Gaussian that follows the source's centroid and takes the
    size of the source (adaptive moments): for a Gaussian star it converges to its sigma.
    """
    x, y = _grid(stamps.shape[-1])
    n = stamps.shape[0]
    xc, yc, s2 = np.zeros(n), np.zeros(n), np.full(n, float(sigma) ** 2)
    limit = (stamps.shape[-1] / 4.0) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(20):
            dx, dy = x[None] - xc[:, None, None], y[None] - yc[:, None, None]
            weighted = stamps * np.exp(-(dx**2 + dy**2) / (2.0 * s2[:, None, None]))
            total = weighted.sum(axis=(1, 2))
            mx = (weighted * dx).sum(axis=(1, 2)) / total
            my = (weighted * dy).sum(axis=(1, 2)) / total
            xc, yc = np.clip(xc + mx, -2.0, 2.0), np.clip(yc + my, -2.0, 2.0)
            s2 = (weighted * (dx**2 + dy**2)).sum(axis=(1, 2)) / total
            s2 = np.clip(np.where(total > 0, s2, np.nan), 0.05, limit)
    return xc, yc, _GAUSS_FWHM * np.sqrt(s2)


def _stellar_locus(sizes):
    """Indices of ``sizes`` in the narrowest well-populated group, and its typical size."""
    good = np.flatnonzero(np.isfinite(sizes))
    if good.size == 0:
        return good, math.nan
    ordered = np.sort(sizes[good])
    ends = np.searchsorted(ordered, ordered * (1.0 + _LOCUS_WIDTH), side="right")
    start = int(np.argmax(ends - np.arange(ordered.size)))  # the narrowest of the fullest
    group = ordered[start : ends[start]]
    centre = float(np.median(group))
    scatter = 1.4826 * float(np.median(np.abs(group - centre))) / centre
    tolerance = min(_LOCUS_WIDTH, max(0.03, 3.0 * scatter))
    return good[np.abs(sizes[good] / centre - 1.0) <= tolerance], centre


def _isolated(stamps, noise, radius):
    """True for background-free stamps with no neighbour peak above 1/10 of their own."""
    width = stamps.shape[-1]
    padded = np.pad(stamps, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    local = np.ones(stamps.shape, dtype=bool)
    for dy, dx in _NEIGHBOURS:
        local &= stamps >= padded[:, 1 + dy : 1 + dy + width, 1 + dx : 1 + dx + width]
    x, y = _grid(width)
    ring = (x**2 + y**2 > 2.0) & (x**2 + y**2 <= radius**2)
    peak = stamps[:, width // 2, width // 2]
    limit = np.maximum(_NEIGHBOUR_RATIO * peak, 5.0 * noise)[:, None, None]
    return ~(local & ring & (stamps > limit)).any(axis=(1, 2))


def _select_stars(data, bad, saturation, size, max_stars, guess):
    """Pick the PSF stars and return their centred, normalised stamps and a size guess.

    Returns ``(cube, flux, guess)``: ``cube`` holds the sky-subtracted, recentred,
    unit-flux stamps of the chosen stars, brightest first (it may be empty), ``flux``
    their fluxes within 4 FWHM and ``guess`` the FWHM (pixels) of the stellar locus.
    """
    ny, nx = data.shape
    level, noise, box = _sky(data, bad)
    py, px, value = _peaks(data, bad, level + _DETECT_SIGMA * noise, box)
    sky, sigma = level[py // box, px // box], noise[py // box, px // box]
    order = np.argsort(sky - value, kind="stable")  # brightest above the sky first
    if saturation is not None:
        order = order[value[order] <= _SATURATED * saturation]
    half = max(size // 2, math.ceil(_ISOLATION * guess) + 2 if guess else 0)
    for _ in range(3):
        inside = (py >= half) & (py < ny - half) & (px >= half) & (px < nx - half)
        pick = order[inside[order]][: max(_CANDIDATES, 10 * max_stars)]
        pick = pick[~_cut(bad, py[pick], px[pick], half).any(axis=(1, 2))]
        stamps = _cut(data, py[pick], px[pick], half).astype(float)
        x, y = _grid(2 * half + 1)
        ring = stamps[:, x**2 + y**2 >= (half - 2) ** 2]
        stamps -= _clipped_median(ring, axis=-1)[0][:, None, None]
        xc, yc, sizes = _adaptive_moments(stamps, (guess or 3.0) / _GAUSS_FWHM)
        _, centre = _stellar_locus(sizes)
        if not np.isfinite(centre):
            return np.empty((0, 1, 1)), np.empty(0), guess
        isolated = np.flatnonzero(
            _isolated(stamps, sigma[pick], min(_ISOLATION * centre, half)) & (xc**2 + yc**2 < 1)
        )
        members, centre = _stellar_locus(sizes[isolated])
        members = isolated[members]
        guess = centre
        if _ISOLATION * guess + 2 <= half or isolated.size == 0:
            break
        half = math.ceil(_ISOLATION * guess) + 2
    # Stamps wide enough for the wings (4 FWHM) and a ring of sky beyond them.
    half = max(size // 2, math.ceil(6.0 * guess) + 1)
    cy, cx = py[pick[members]] + np.round(yc[members]), px[pick[members]] + np.round(xc[members])
    cy, cx = cy.astype(int), cx.astype(int)
    fy, fx = yc[members] - np.round(yc[members]), xc[members] - np.round(xc[members])
    inside = np.flatnonzero((cy >= half) & (cy < ny - half) & (cx >= half) & (cx < nx - half))
    cube = _cut(data, cy[inside], cx[inside], half).astype(float)
    usable = ~_cut(bad, cy[inside], cx[inside], half).any(axis=(1, 2))
    if saturation is not None:
        usable &= ~(cube > _SATURATED * saturation).any(axis=(1, 2))
    chosen = inside[usable][:max_stars]
    cube = cube[usable][:max_stars]
    x, y = _grid(2 * half + 1)
    r2 = x**2 + y**2
    cube -= _clipped_median(cube[:, r2 >= (5.0 * guess) ** 2], axis=-1)[0][:, None, None]
    cube = _shift(cube, fx[chosen], fy[chosen])
    flux = cube[:, r2 <= (4.0 * guess) ** 2].sum(axis=-1)
    return cube[flux > 0] / flux[flux > 0, None, None], flux[flux > 0], guess


def _stack(cube, flux):
    """Weighted per-pixel mean of unit-flux stamps after clipping at 3 sigma.

    The weights grow with the stars' fluxes (capped at 5 times the median), since faint
    stars are measured against the noise and crowding of the sky around them.
    """
    weight = np.minimum(flux, 5.0 * np.median(flux))[:, None, None]
    if cube.shape[0] < 3:
        return (cube * weight).sum(axis=0) / weight.sum(axis=0)
    median = np.median(cube, axis=0)
    spread = 1.4826 * np.median(np.abs(cube - median), axis=0)
    weight = weight * (np.abs(cube - median) <= 3.0 * spread + np.finfo(float).tiny)
    return (cube * weight).sum(axis=0) / weight.sum(axis=0)


def _fit_moffat(stack, guess, ellipticity, theta):
    """Fit a pixel-integrated Moffat (shape fixed) within 4 FWHM: (fwhm, beta, dx, dy)."""
    centre = stack.shape[0] // 2
    half = min(centre, math.ceil(4.0 * guess) + 1)
    cut = stack[centre - half : centre + half + 1, centre - half : centre + half + 1]
    x, y = _grid(cut.shape[0])
    use = x**2 + y**2 <= half**2

    def residual(p):
        model = elliptical_moffat(cut.shape[0], p[3], p[4], ellipticity, theta, dx=p[1], dy=p[2])
        return (p[0] * model - cut)[use]

    start = [cut.max() * 1.2, 0.0, 0.0, guess, 3.0]
    lower = [0.0, -1.5, -1.5, 0.3 * guess, 1.05]
    upper = [np.inf, 1.5, 1.5, 3.0 * guess, 30.0]
    fit = least_squares(residual, start, bounds=(lower, upper), x_scale="jac")
    return fit.x[3], fit.x[4], fit.x[1], fit.x[2]


def _describe(stack, guess, pixel_scale, size):
    """Fit and moments of a stack: the fields of a `PSFMeasurement` (but ``n_stars``)."""
    ellipticity, theta = _shape_of(stack, 0.0, 0.0, 2.0 * guess)
    fwhm, beta, dx, dy = _fit_moffat(stack, guess, ellipticity, theta)
    # Moments inside 2 FWHM of a pixelated, truncated profile understate its ellipticity:
    # find the Moffat ellipticity whose moments match those measured.
    measured, theta = _shape_of(stack, dx, dy, 2.0 * fwhm)
    ellipticity = measured
    for _ in range(4):
        model = elliptical_moffat(stack.shape[0], fwhm, beta, ellipticity, theta, dx=dx, dy=dy)
        ellipticity += measured - _shape_of(model, dx, dy, 2.0 * fwhm)[0]
        ellipticity = float(np.clip(ellipticity, 0.0, 0.9))
    within = (stack * _aperture(stack.shape[0], dx, dy, 4.0 * fwhm)).sum()
    wings = within - (stack * _aperture(stack.shape[0], dx, dy, 2.0 * fwhm)).sum()
    stamp = _shift(stack[None], np.array([dx]), np.array([dy]))[0]
    trim = (stack.shape[0] - size) // 2
    stamp = stamp[trim : trim + size, trim : trim + size]
    return dict(
        fwhm=fwhm * pixel_scale * u.pix,
        fwhm_pix=fwhm,
        beta=beta,
        ellipticity=ellipticity,
        theta=theta * u.deg,
        wing_fraction=wings / within,
        pixel_scale=pixel_scale,
        stamp=stamp / stamp.sum(),
    )


def _as_count(name, value, minimum):
    """``value`` as an int of at least ``minimum``, or a TypeError/ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value!r}")
    return int(value)


def _as_pixel_scale(value, name="pixel_scale"):
    """``value`` as a positive scalar Quantity in arcsec/pix, or a TypeError/ValueError."""
    if (
        not isinstance(value, u.Quantity)
        or value.size != 1
        or not value.unit.is_equivalent(u.arcsec / u.pix)
    ):
        raise TypeError(
            f"{name} must be one angle per pixel Quantity (e.g. 0.186 * u.arcsec / u.pix); "
            f"got {value!r}"
        )
    scale = value.to(u.arcsec / u.pix).reshape(())
    if not (np.isfinite(scale.value) and scale.value > 0):
        raise ValueError(f"{name} must be positive and finite; got {value!r}")
    return scale


@dataclass(frozen=True, eq=False)
class PSFMeasurement:
    """The PSF of one image, as measured by `measure_psf` (or read from its header).

    Attributes
    ----------
    fwhm : `~astropy.units.Quantity`
        Full width at half maximum (arcsec): the geometric mean of the FWHM along the
        major and minor axes of the fitted Moffat profile.
    fwhm_pix : float
        The same in pixels.
    beta : float
        Moffat index of the fit (large for a Gaussian-like PSF, 2-3 for broad wings).
    ellipticity : float
        ``1 - b/a`` of the stacked star, from its flux-weighted second moments inside
        2 FWHM (converted to the ellipticity of a Moffat with the same moments).
    theta : `~astropy.units.Quantity`
        Angle of the major axis, degrees from +x toward +y, in [0, 180).
    wing_fraction : float
        Flux of the stacked star between 2 and 4 FWHM from its centre over its flux
        within 4 FWHM: 0.057, 0.035 and 0.015 for Moffat profiles of ``beta`` 2.5, 3
        and 4, more with a halo of scattered light. NaN when the PSF was not measured.
    n_stars : int
        Number of stars stacked (0 when the PSF comes from the header).
    pixel_scale : `~astropy.units.Quantity`
        Pixel scale of the image (arcsec/pix).
    stamp : `numpy.ndarray`
        The stacked star: the mean of the selected stars after subtracting each one's
        local sky, centring it by a sub-pixel shift and scaling it to unit flux; odd
        square shape, centred on the central pixel, summing to 1. A model
        (`model_stamp`) when the PSF comes from the header.
    source : str
        ``"stars"`` when measured on the image, ``"header"`` when taken from a header
        seeing keyword.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> psf = PSFMeasurement(
    ...     fwhm=0.7 * u.arcsec, fwhm_pix=0.7 / 0.186, beta=3.0, ellipticity=0.0,
    ...     theta=0 * u.deg, wing_fraction=np.nan, n_stars=0,
    ...     pixel_scale=0.186 * u.arcsec / u.pix, stamp=np.full((9, 9), 1 / 81),
    ...     source="header")
    >>> psf.fwhm, round(float(psf.model_stamp(15).sum()), 6)
    (<Quantity 0.7 arcsec>, 1.0)
    """

    fwhm: u.Quantity
    fwhm_pix: float
    beta: float
    ellipticity: float
    theta: u.Quantity
    wing_fraction: float
    n_stars: int
    pixel_scale: u.Quantity
    stamp: np.ndarray = field(repr=False)
    source: str = "stars"

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        try:
            put("fwhm", u.Quantity(self.fwhm).to(u.arcsec))
            put("theta", u.Quantity(self.theta).to(u.deg))
        except u.UnitsError:
            raise TypeError(
                f"fwhm and theta must be angle Quantities; got {self.fwhm!r}, {self.theta!r}"
            ) from None
        put("pixel_scale", _as_pixel_scale(self.pixel_scale))
        for name in ("fwhm_pix", "beta", "ellipticity", "wing_fraction"):
            put(name, float(getattr(self, name)))
        put("n_stars", int(self.n_stars))
        stamp = np.array(self.stamp, dtype=np.float64)
        if stamp.ndim != 2 or stamp.shape[0] != stamp.shape[1] or stamp.shape[0] % 2 == 0:
            raise ValueError(f"stamp must be a square image of odd side; got shape {stamp.shape}")
        stamp.flags.writeable = False
        put("stamp", stamp)
        if self.source not in ("stars", "header"):
            raise ValueError(f"source must be 'stars' or 'header'; got {self.source!r}")

    def __eq__(self, other):
        if not isinstance(other, PSFMeasurement):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def to_dict(self):
        """The measurement as a JSON-safe dict, stamp included.

        Angles are plain numbers in the units their keys name (``fwhm_arcsec``,
        ``theta_deg``, ``pixel_scale_arcsec``), a NaN wing fraction is None and the
        stamp is a nested list of rows, so that `from_dict` rebuilds the measurement
        exactly.

        Examples
        --------
        >>> import json
        >>> import astropy.units as u
        >>> import numpy as np
        >>> psf = PSFMeasurement(0.7 * u.arcsec, 3.76, 3.0, 0.0, 0 * u.deg, np.nan, 0,
        ...                      0.186 * u.arcsec / u.pix, np.full((9, 9), 1 / 81), "header")
        >>> text = json.dumps(psf.to_dict())
        >>> PSFMeasurement.from_dict(json.loads(text)) == psf
        True
        """
        wing = self.wing_fraction
        return {
            "fwhm_arcsec": float(self.fwhm.to_value(u.arcsec)),
            "fwhm_pix": self.fwhm_pix,
            "beta": self.beta,
            "ellipticity": self.ellipticity,
            "theta_deg": float(self.theta.to_value(u.deg)),
            "wing_fraction": None if math.isnan(wing) else wing,
            "n_stars": self.n_stars,
            "pixel_scale_arcsec": float(self.pixel_scale.to_value(u.arcsec / u.pix)),
            "source": self.source,
            "stamp": self.stamp.tolist(),
        }

    @classmethod
    def from_dict(cls, data):
        """Rebuild a measurement from the output of `to_dict`.

        Raises
        ------
        ValueError
            When keys are missing.
        """
        missing = [key for key in _DICT_KEYS if key not in data]
        if missing:
            raise ValueError(f"PSFMeasurement.from_dict: the dict lacks the keys {missing}")
        wing = data["wing_fraction"]
        return cls(
            fwhm=data["fwhm_arcsec"] * u.arcsec,
            fwhm_pix=data["fwhm_pix"],
            beta=data["beta"],
            ellipticity=data["ellipticity"],
            theta=data["theta_deg"] * u.deg,
            wing_fraction=math.nan if wing is None else wing,
            n_stars=data["n_stars"],
            pixel_scale=data["pixel_scale_arcsec"] * u.arcsec / u.pix,
            stamp=np.asarray(data["stamp"], dtype=np.float64),
            source=data["source"],
        )

    def model_stamp(self, size):
        """A unit-sum image of the measured PSF: an elliptical Moffat profile.

        The profile has this measurement's ``fwhm_pix``, ``beta``, ``ellipticity`` and
        ``theta``, is centred on the central pixel and integrated over each pixel
        (5 x 5 samples per pixel).

        Parameters
        ----------
        size : int
            Side of the image, pixels (odd).

        Returns
        -------
        `numpy.ndarray`
            Shape ``(size, size)``, float64, summing to 1.

        Examples
        --------
        >>> import astropy.units as u
        >>> import numpy as np
        >>> psf = PSFMeasurement(0.7 * u.arcsec, 3.76, 3.0, 0.1, 30 * u.deg, np.nan, 0,
        ...                      0.186 * u.arcsec / u.pix, np.full((9, 9), 1 / 81), "header")
        >>> image = psf.model_stamp(21)
        >>> image.shape, round(float(image.sum()), 6), bool(image[10, 10] == image.max())
        ((21, 21), 1.0, True)
        """
        size = _as_count("size", size, 1)
        if size % 2 == 0:
            raise ValueError(f"size must be odd, so that the PSF has a central pixel; got {size}")
        image = elliptical_moffat(
            size, self.fwhm_pix, self.beta, self.ellipticity, self.theta.to_value(u.deg)
        )
        return image / image.sum()


_DICT_KEYS = (
    "fwhm_arcsec",
    "fwhm_pix",
    "beta",
    "ellipticity",
    "theta_deg",
    "wing_fraction",
    "n_stars",
    "pixel_scale_arcsec",
    "source",
    "stamp",
)


def _name_of(image, plane):
    """How messages name the image: its file (and extension) or its type."""
    if isinstance(image, (str, os.PathLike)):
        return plane.label
    return f"the {type(image).__name__} image"


def measure_psf(
    image,
    *,
    wcs=None,
    pixel_scale=None,
    size=25,
    min_stars=5,
    max_stars=60,
    mask=None,
    saturation=None,
    progress_bar=False,
):
    """Measure the PSF of an image from its bright, isolated, unresolved stars.

    1. The sky level and noise are the sigma-clipped median and median absolute
       deviation in boxes of 128 pixels (so a smooth galaxy light does not matter).
    2. Candidate stars are local maxima more than 30 noise sigmas above the local
       sky, not saturated (peak below 0.7 of the saturation level), away from the
       border and from flagged or NaN pixels; only the brightest few hundred are
       examined, so the work does not grow with the number of faint sources.
    3. A candidate with a neighbour peak brighter than a tenth of its own within
       3 FWHM is dropped. The size of each one (adaptive Gaussian moments) is measured
       and only the stellar locus is kept: the narrowest group of sizes that holds
       the most sources within 10 per cent. Clusters, galaxies and blends are broader.
    4. The ``max_stars`` brightest of them are cut out with a margin of 6 FWHM, their
       local sky (clipped median beyond 5 FWHM) is subtracted, they are centred by a
       sub-pixel (Fourier) shift to their centroid, scaled to unit flux within
       4 FWHM and averaged pixel by pixel after 3-sigma clipping, each weighted by
       its flux (at most 5 times the median), since the faint ones are noisier.
    5. A pixel-integrated Moffat profile fitted to the stack within 4 FWHM gives
       the FWHM and ``beta``; the second moments inside 2 FWHM give the ellipticity
       and angle; the flux between 2 and 4 FWHM over that within 4 FWHM is the wing
       fraction.

    **Fallback.** With fewer than ``min_stars`` usable stars a
    `PSFMeasurementWarning` is emitted and, if the header holds the seeing in arcsec
    (``FWHM``, ``SEEING`` or ``PSF_FWHM``), a round Moffat of that FWHM with
    ``beta = 3`` is returned with ``source="header"``, ``n_stars=0``, a NaN wing
    fraction and its model as the stamp. Without such a keyword a `ValueError` is
    raised.

    Parameters
    ----------
    image : str, path-like, HDU, `~astropy.io.fits.HDUList`, `~astropy.nddata.NDData` or array
        The image (one science extension), sky-subtracted or not. The whole image is
        read: an integer file scaled by ``BSCALE``/``BZERO`` is converted once to
        float32 in memory (4 bytes a pixel). For an image larger than memory,
        measure a window of it (`clusterfinder.scan.find_candidates` measures a
        central window of at most 4096 x 4096 pixels).
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS giving the pixel scale; by default the image's own.
    pixel_scale : `~astropy.units.Quantity`, optional
        Pixel scale (angle per pixel), needed for a bare array; it overrides the WCS.
    size : int, optional
        Side of the stacked star `PSFMeasurement.stamp`, pixels (odd, at least 9).
    min_stars : int, optional
        Fewest stars needed to measure the PSF.
    max_stars : int, optional
        Most stars stacked (the brightest usable ones).
    mask : array-like of bool, optional
        True (non-zero) for pixels to ignore, same shape as the image; added to the
        image's own mask and to its NaN pixels.
    saturation : float, optional
        Saturation level (counts); by default the header's ``SATURATE`` (or
        ``SATLEVEL``), or none.
    progress_bar : bool, optional
        Show a progress bar over the steps.

    Returns
    -------
    `PSFMeasurement`

    Raises
    ------
    TypeError
        For no pixel scale (a bare array without ``pixel_scale=``) or arguments of the
        wrong type.
    ValueError
        For bad argument values, an image that is not 2-d or has no finite pixel, or
        too few stars and no header seeing.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:300, :300]
    >>> image = np.random.default_rng(1).normal(0.0, 1.0, (300, 300))
    >>> for y in range(30, 300, 40):
    ...     for x in range(30, 300, 40):  # 49 Gaussian stars, sigma 1.5 pixels
    ...         r2 = (xx - x - 0.3) ** 2 + (yy - y + 0.2) ** 2
    ...         image += 2000.0 * np.exp(-r2 / (2 * 1.5**2))
    >>> psf = measure_psf(image, pixel_scale=0.186 * u.arcsec / u.pix)
    >>> psf.n_stars, psf.source, psf.stamp.shape
    (49, 'stars', (25, 25))

    The fitted FWHM is that of the profile before it is integrated over the pixels
    (these stars were sampled at pixel centres, so it is a little under 2.355 x 1.5):

    >>> round(psf.fwhm_pix, 2), bool(psf.beta > 10)
    (3.43, True)
    """
    size = _as_count("size", size, 9)
    if size % 2 == 0:
        raise ValueError(f"size must be odd, so that the PSF has a central pixel; got {size}")
    min_stars = _as_count("min_stars", min_stars, 1)
    max_stars = _as_count("max_stars", max_stars, 1)
    if max_stars < min_stars:
        raise ValueError(f"max_stars ({max_stars}) must be at least min_stars ({min_stars})")
    if saturation is not None:
        try:
            saturation = float(saturation)
        except (TypeError, ValueError):
            raise TypeError(f"saturation must be a number (counts); got {saturation!r}") from None
        if not (np.isfinite(saturation) and saturation > 0):
            raise ValueError(f"saturation must be positive and finite; got {saturation!r}")
    if wcs is not None and not isinstance(wcs, WCS):
        raise TypeError(f"wcs must be an astropy.wcs.WCS; got {type(wcs).__name__}")
    if pixel_scale is not None:
        pixel_scale = _as_pixel_scale(pixel_scale)

    with contextlib.ExitStack() as files:
        plane = load_plane(image, "image", files)
        name = _name_of(image, plane)
        if pixel_scale is None:
            celestial = wcs if wcs is not None else plane.wcs
            if celestial is None or not celestial.has_celestial:
                raise TypeError(
                    f"{name} has no celestial WCS (and no wcs= was given): give "
                    "pixel_scale= (e.g. 0.186 * u.arcsec / u.pix) or wcs= so that the FWHM "
                    "can be given in arcsec"
                )
            scales = proj_plane_pixel_scales(celestial.celestial)
            pixel_scale = float(np.mean(scales)) * u.deg.to(u.arcsec) * u.arcsec / u.pix
        data = plane.data
        if isinstance(data, ScaledPixels):
            # Scaled once here, not again by every read of the stars and the sky below.
            data = np.asarray(data, dtype=np.float32)
        bad = ~np.isfinite(data)
        for flags, what in ((plane.mask, "the image's mask"), (mask, "mask")):
            if flags is None:
                continue
            flags = np.asarray(flags)
            if flags.shape != data.shape:
                raise ValueError(
                    f"{what} has shape {flags.shape} but the image has shape {data.shape}"
                )
            bad |= flags.astype(bool)
        if bad.all():
            raise ValueError(f"{name} has no finite, unmasked pixel to measure a PSF on")
        if saturation is None:
            saturation = plane.saturation
        seeing = _header_number(plane.header, HEADER_FWHM_KEYWORDS)
        scale = float(pixel_scale.to_value(u.arcsec / u.pix))
        bar = _progress_bar(total=2, enabled=progress_bar, desc="measure_psf", unit="step")
        try:
            guess = seeing / scale if seeing is not None else None
            cube, flux, guess = _select_stars(data, bad, saturation, size, max_stars, guess)
            bar.update()
            if cube.shape[0] >= min_stars:
                found = _describe(_stack(cube, flux), guess, pixel_scale, size)
                bar.update()
                return PSFMeasurement(**found, n_stars=cube.shape[0], source="stars")
        finally:
            bar.close()

    advice = "give the image a header keyword FWHM with the seeing in arcsec, or lower min_stars"
    if seeing is None:
        raise ValueError(
            f"the PSF of {name} cannot be measured: {cube.shape[0]} usable star(s) found, "
            f"{min_stars} needed, and no seeing keyword ({', '.join(HEADER_FWHM_KEYWORDS)}) "
            f"in its header; {advice}"
        )
    warnings.warn(
        f"the PSF of {name} cannot be measured: {cube.shape[0]} usable star(s) found, "
        f"{min_stars} needed; using the header seeing FWHM = {seeing:g} arcsec (round "
        "Moffat, beta = 3)",
        PSFMeasurementWarning,
        stacklevel=2,
    )
    fwhm_pix = seeing / scale
    stamp = elliptical_moffat(size, fwhm_pix, 3.0, 0.0, 0.0)
    return PSFMeasurement(
        fwhm=seeing * u.arcsec,
        fwhm_pix=fwhm_pix,
        beta=3.0,
        ellipticity=0.0,
        theta=0.0 * u.deg,
        wing_fraction=math.nan,
        n_stars=0,
        pixel_scale=pixel_scale,
        stamp=stamp / stamp.sum(),
        source="header",
    )
