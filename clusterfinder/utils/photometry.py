"""Photometric zero points: reading them from headers and moving between flux scales."""

import numpy as np

__all__ = [
    "REFERENCE_ZEROPOINT",
    "flux_to_mag",
    "mag_to_flux",
    "read_zero_point",
    "zero_point_scale",
]

#: Every stamp handed to a model is on this AB zero point: a total of 1 is 30 AB mag.
REFERENCE_ZEROPOINT = 30.0

#: Header keywords searched, in order, for the zero point of an image.
ZERO_POINT_KEYWORDS = ("PHOTZP", "MAGZPT", "MAGZP", "ZEROPT")


def read_zero_point(header, default=None):
    """Return the AB zero point stored in a FITS header.

    Parameters
    ----------
    header : `~astropy.io.fits.Header` or dict-like
        The header to search for ``PHOTZP``, ``MAGZPT``, ``MAGZP`` or ``ZEROPT``.
    default : float, optional
        Returned when none of those keywords is present. If `None`, a missing
        zero point is an error.

    Returns
    -------
    float

    Examples
    --------
    >>> from astropy.io import fits
    >>> read_zero_point(fits.Header({"PHOTZP": 30.0}))
    30.0
    """
    for key in ZERO_POINT_KEYWORDS:
        if key in header:
            value = float(header[key])
            if not np.isfinite(value):
                raise ValueError(f"header keyword {key} holds a non-finite zero point: {value}")
            return value
    if default is None:
        raise ValueError(
            "the image header has no photometric zero point (looked for "
            + ", ".join(ZERO_POINT_KEYWORDS)
            + "); pass zero_points= explicitly"
        )
    return float(default)


def zero_point_scale(zero_point, reference=REFERENCE_ZEROPOINT):
    """Factor that brings counts on ``zero_point`` to the ``reference`` zero point.

    Examples
    --------
    >>> zero_point_scale(27.5)
    10.0
    """
    return float(10.0 ** (-0.4 * (zero_point - reference)))


def mag_to_flux(mag, zero_point=REFERENCE_ZEROPOINT):
    """Counts of a source of AB magnitude ``mag`` on ``zero_point``.

    Examples
    --------
    >>> float(mag_to_flux(25.0))
    100.0
    """
    return 10.0 ** (-0.4 * (np.asarray(mag, dtype=float) - zero_point))


def flux_to_mag(flux, zero_point=REFERENCE_ZEROPOINT):
    """AB magnitude of ``flux`` counts on ``zero_point`` (NaN for non-positive flux).

    Examples
    --------
    >>> float(flux_to_mag(100.0))
    25.0
    """
    flux = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, zero_point - 2.5 * np.log10(flux), np.nan)
