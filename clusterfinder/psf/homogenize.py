"""PSF homogenisation: stamps of every field brought to one common seeing.

A classifier sees a source through the PSF of its field. Instead of telling it the
PSF (seeing-aware input), one can remove the differences: blur the stamps of each
field to a common, worse seeing, so that every stamp the classifier ever sees looks
as if taken in the same conditions. The cost is resolution: in 1.0" seeing a
0.5"-field's marginally resolved clusters look like stars.

`homogenize_psf` convolves each stamp, band by band, with the Gaussian that takes its
measured PSF (the ``psf_fwhm_<band>`` column, see `attach_psf`) to the target FWHM:
``sigma = sqrt(target**2 - fwhm**2) / 2.3548``. A Gaussian kernel makes the core of a
Moffat or Kolmogorov PSF reach the target width; it does not reshape the wings.
"""

import math

import astropy.units as u
import numpy as np
from scipy.ndimage import gaussian_filter

from .columns import psf_fwhm_arcsec

__all__ = ["homogenize_psf"]

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def homogenize_psf(cutout, target_fwhm, *, pixel_scale=None):
    """Stamps convolved so that every field's PSF has the FWHM ``target_fwhm``.

    Parameters
    ----------
    cutout : `~clusterfinder.Cutout`
        Stamps with the ``psf_fwhm_<band>`` column of each band (see `attach_psf`).
    target_fwhm : `~astropy.units.Quantity`
        The common seeing; it must not be sharper than any stamp's PSF.
    pixel_scale : `~astropy.units.Quantity`, optional
        Pixel scale of the stamps (angle per pixel); read from their WCS by default.

    Returns
    -------
    `~clusterfinder.Cutout`
        New stamps (same table, WCS and mask; invalid pixels are 0 in the data), with
        the ``psf_fwhm_<band>`` columns set to ``target_fwhm``.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from clusterfinder import Cutout
    >>> data = np.zeros((1, 1, 31, 31), dtype=np.float32)
    >>> data[0, 0, 15, 15] = 100.0
    >>> stamps = Cutout(data, bands=("g",))
    >>> stamps.table["psf_fwhm_g"] = [0.3] * u.arcsec
    >>> out = homogenize_psf(stamps, 0.9 * u.arcsec, pixel_scale=0.186 * u.arcsec / u.pix)
    >>> round(float(out.data.sum()), 3), out.table["psf_fwhm_g"][0]
    (100.0, <Quantity 0.9 arcsec>)
    """
    if not isinstance(target_fwhm, u.Quantity) or not target_fwhm.unit.is_equivalent(u.arcsec):
        raise TypeError(f"target_fwhm must be an angle Quantity; got {target_fwhm!r}")
    target = float(target_fwhm.to_value(u.arcsec))
    if not (math.isfinite(target) and target > 0):
        raise ValueError(f"target_fwhm must be positive and finite; got {target_fwhm!r}")
    bands = tuple(cutout.bands)
    missing = [
        f"psf_fwhm_{band}" for band in bands if f"psf_fwhm_{band}" not in cutout.table.colnames
    ]
    if missing:
        raise ValueError(
            f"the stamps lack the PSF columns {missing}: measure each image's PSF with "
            "measure_psf and add it with attach_psf first"
        )
    scale = _scale(cutout, pixel_scale)
    data = np.where(np.asarray(cutout.mask), 0.0, np.nan_to_num(np.asarray(cutout.data)))
    data = data.astype(np.float32)
    for k, band in enumerate(bands):
        fwhm = psf_fwhm_arcsec(cutout.table, band)
        sharper = fwhm > target * (1 + 1e-6)
        if sharper.any():
            raise ValueError(
                f"{int(sharper.sum())} stamp(s) have a {band} PSF of up to "
                f"{float(fwhm.max()):.3f} arcsec, broader than target_fwhm {target:.3f} "
                "arcsec: choose a target at least as broad as the broadest PSF"
            )
        sigma = np.sqrt(np.clip(target**2 - fwhm**2, 0.0, None)) / FWHM_PER_SIGMA / scale
        for value in np.unique(sigma):
            rows = np.flatnonzero(sigma == value)
            if value > 0:
                data[rows, k] = gaussian_filter(
                    data[rows, k], sigma=(0.0, value, value), mode="reflect"
                )
    table = cutout.table.copy()
    out = cutout._from_parts(data, np.asarray(cutout.mask), bands, table, cutout._wcs)
    for band in bands:
        out.table[f"psf_fwhm_{band}"] = np.full(len(out), target) * u.arcsec
    return out


def _scale(cutout, pixel_scale):
    """Pixel scale of the stamps in arcsec per pixel."""
    if pixel_scale is not None:
        value = u.Quantity(pixel_scale)
        if not value.unit.is_equivalent(u.arcsec / u.pix):
            raise TypeError(f"pixel_scale must be an angle per pixel; got {pixel_scale!r}")
        return float(value.to_value(u.arcsec / u.pix))
    from astropy.wcs.utils import proj_plane_pixel_scales

    wcs = cutout.stamp_wcs(0) if len(cutout) and cutout.wcs is not None else None
    if wcs is None:
        raise ValueError("the stamps carry no WCS: give pixel_scale=")
    return float(np.mean(proj_plane_pixel_scales(wcs.celestial)) * 3600.0)
