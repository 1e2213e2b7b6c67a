"""Sharp, finely sampled images (Hubble, say) as a ground-based survey would see them.

Real pixels of labelled clusters mostly come from space telescopes, at a resolution
and depth no ground-based survey has. `degrade_image` turns such an image into the
survey's: it optionally moves the object to another distance, blurs it to the survey's
seeing with a Moffat kernel, resamples it onto the survey's pixels conserving flux,
converts it to the survey's zero point and adds the survey's sky and source noise
(from a `SurveyConfig`). The light of everything in the input (the host galaxy, the
neighbours of the object) is kept: only the instrument changes.
"""

import math

import astropy.units as u
import numpy as np
from scipy.signal import fftconvolve

from .config import PANDAS, SurveyConfig, _angle_arcsec, moffat_alpha
from .profiles import MoffatPSF

__all__ = ["degrade_image", "resample_flux"]


def _arcsec(value, name):
    """``value`` (a positive angle Quantity) in arcsec, as a float."""
    return float(_angle_arcsec(value, name).value)


def _pixel_scale(value):
    if isinstance(value, u.Quantity) and value.unit.is_equivalent(u.arcsec / u.pix):
        value = value.to(u.arcsec / u.pix).value * u.arcsec
    return _arcsec(value, "pixel_scale")


def _edges(n_out, factor, n_in):
    """Input-pixel coordinates of the edges of ``n_out`` output pixels, centred on the input."""
    return (n_in - n_out * factor) / 2.0 + factor * np.arange(n_out + 1)


def resample_flux(data, factor):
    """Resample an image onto pixels ``factor`` times larger, conserving flux.

    Each input pixel is taken as uniform over its area, and each output pixel
    receives the exact flux of the part of the input it covers. The output grid
    is centred on the input: ``floor(n / factor)`` pixels along an axis of ``n``.

    Parameters
    ----------
    data : array
        A 2-D image of fluxes per pixel.
    factor : float
        Output pixel size in input pixels (above 1 to bin, below 1 to subdivide).

    Returns
    -------
    `numpy.ndarray`

    Examples
    --------
    >>> import numpy as np
    >>> out = resample_flux(np.ones((10, 10)), 2.5)
    >>> out.shape, float(out[0, 0]), float(out.sum())
    ((4, 4), 6.25, 100.0)
    """
    data = np.asarray(data, dtype=float)
    factor = float(factor)
    if data.ndim != 2:
        raise ValueError(f"data must be a 2-D image; got shape {data.shape}")
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"factor must be positive and finite; got {factor}")
    ny, nx = data.shape
    out_shape = (math.floor(ny / factor + 1e-9), math.floor(nx / factor + 1e-9))
    if min(out_shape) < 1:
        raise ValueError(
            f"an image of {data.shape} pixels holds no whole pixel {factor} times larger"
        )
    # Flux below each corner (cumulative sums), then linear in between: exact for
    # pixels of uniform brightness, since the cumulative sum of such an image is
    # piecewise linear along each axis.
    table = np.zeros((ny + 1, nx + 1))
    table[1:, 1:] = data.cumsum(axis=0).cumsum(axis=1)
    ey, ex = _edges(out_shape[0], factor, ny), _edges(out_shape[1], factor, nx)
    rows = np.stack([np.interp(ey, np.arange(ny + 1), table[:, j]) for j in range(nx + 1)], 1)
    corners = np.stack([np.interp(ex, np.arange(nx + 1), row) for row in rows])
    return np.diff(np.diff(corners, axis=0), axis=1)


def degrade_image(
    data,
    *,
    pixel_scale,
    zero_point,
    config=PANDAS,
    band="i",
    fwhm=None,
    source_fwhm=0.0 * u.arcsec,
    distance_ratio=1.0,
    noise=True,
    seed=None,
):
    """An image as the survey of ``config`` would record it in ``band``.

    Parameters
    ----------
    data : array
        The sharp image (2-D, fluxes per pixel on the AB ``zero_point``), finite
        everywhere.
    pixel_scale : `~astropy.units.Quantity`
        Its pixel scale (e.g. ``0.05 * u.arcsec / u.pix`` for ACS/WFC drizzled).
    zero_point : float
        AB magnitude of one unit of ``data`` (``AB = -2.5 log10(flux) + zero_point``).
    config : `SurveyConfig`, optional
        The survey (pixel scale, zero point, depth, PSF, gain); `PANDAS` by default.
    band : str, optional
        The band of ``config`` that the input stands for (its PSF and noise).
    fwhm : `~astropy.units.Quantity`, optional
        Seeing of the result; the band's nominal FWHM by default.
    source_fwhm : `~astropy.units.Quantity`, optional
        FWHM of the input's own PSF. The Moffat kernel has the width
        ``sqrt(fwhm**2 - (distance_ratio * source_fwhm)**2)``, which is exact for
        Gaussians and close enough when the input PSF is much sharper than the
        seeing.
    distance_ratio : float, optional
        Distance of the object in the input over the distance it should appear
        at (e.g. 840 / 785 to show an M33 cluster at the distance of M31): angles
        grow and fluxes grow by the square of it.
    noise : bool, optional
        Add the survey's sky noise (from its depth) and the Poisson noise of the
        sources (from its gain); otherwise the noiseless image is returned.
    seed : int or `numpy.random.Generator`, optional
        Randomness of the noise.

    Returns
    -------
    `numpy.ndarray`
        The image on the survey's pixels (flux per pixel on ``config.zero_point``),
        centred on the input; its side is the input's angular size at the new
        distance divided by the survey's pixel scale, rounded down. The input is
        reflected about its edges for the blurring, so the outermost ``fwhm`` of
        the result is approximate.

    Examples
    --------
    >>> import numpy as np
    >>> import astropy.units as u
    >>> hst = np.zeros((100, 100))
    >>> hst[50, 50] = 1000.0  # a point source of 1000 e-/s
    >>> image = degrade_image(hst, pixel_scale=0.05 * u.arcsec / u.pix, zero_point=25.94,
    ...                       noise=False)
    >>> image.shape
    (26, 26)
    >>> round(float(30 - 2.5 * np.log10(image.sum())), 2)  # AB mag: 25.94 - 2.5 log10(1000)
    18.44
    """
    if not isinstance(config, SurveyConfig):
        raise TypeError(f"config must be a SurveyConfig; got {type(config).__name__}")
    conf = config.band(band)
    data = np.asarray(data, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"data must be a 2-D image; got shape {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError(
            f"data has {int((~np.isfinite(data)).sum())} non-finite pixels: fill them first "
            "(blurring would spread them over the whole image)"
        )
    scale_in = _pixel_scale(pixel_scale)
    try:
        zero_point = float(zero_point)
        ratio = float(distance_ratio)
    except (TypeError, ValueError):
        raise TypeError("zero_point and distance_ratio must be numbers") from None
    if not math.isfinite(zero_point):
        raise ValueError(f"zero_point must be finite; got {zero_point}")
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"distance_ratio must be positive; got {distance_ratio!r}")
    seeing = _arcsec(conf.fwhm if fwhm is None else fwhm, "fwhm")
    # At the new distance an input pixel, and the input PSF, span ``ratio`` times more.
    scale_at = scale_in * ratio
    sharp = 0.0
    if not (isinstance(source_fwhm, u.Quantity) and source_fwhm.value == 0):  # zero: no PSF
        sharp = _arcsec(source_fwhm, "source_fwhm") * ratio
    if sharp >= seeing:
        raise ValueError(
            f"the input PSF ({sharp:.3f} arcsec at the new distance) is not sharper than "
            f"the seeing to reach ({seeing:.3f} arcsec): it cannot be degraded to it"
        )
    kernel_fwhm = math.sqrt(seeing**2 - sharp**2) / scale_at  # input pixels
    radius = math.ceil(6.0 * moffat_alpha(kernel_fwhm, conf.moffat_beta))
    kernel = MoffatPSF(
        kernel_fwhm, conf.moffat_beta, small_radius=radius, large_radius=radius
    ).stamp(0.0, 0.0, radius)
    kernel /= kernel.sum()
    padded = np.pad(data, radius, mode="reflect")
    blurred = fftconvolve(padded, kernel, mode="same")[radius:-radius, radius:-radius]
    image = resample_flux(blurred, config.arcsec_per_pixel / scale_at)
    image *= ratio**2 * 10.0 ** (0.4 * (config.zero_point - zero_point))
    if not noise:
        return image
    rng = np.random.default_rng(seed)
    sky = config.sky_sigma(band, None if fwhm is None else seeing * u.arcsec)
    variance = sky**2 + np.clip(image, 0.0, None) / conf.gain
    return image + rng.standard_normal(image.shape) * np.sqrt(variance)
