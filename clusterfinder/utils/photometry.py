"""Photometric zero points: reading them from headers and moving between flux scales."""

import astropy.units as u
import numpy as np

__all__ = [
    "REFERENCE_ZEROPOINT",
    "ZERO_POINT_RANGE",
    "as_magnitude",
    "check_zero_point",
    "flux_to_mag",
    "mag_to_flux",
    "read_zero_point",
    "zero_point_scale",
]

#: Every stamp handed to a model is on this AB zero point: a total of 1 is 30 AB mag.
REFERENCE_ZEROPOINT = 30.0

#: Header keywords searched, in order, for the zero point of an image.
ZERO_POINT_KEYWORDS = ("PHOTZP", "MAGZPT", "MAGZP", "ZEROPT")

#: AB zero points accepted for an image in counts (``AB = -2.5 log10(counts) + ZP``).
#: Survey images in ADU or electrons have zero points of about 22-34 (PAndAS/MegaPipe
#: and the simulator: 30); a value outside this range is a wrong or placeholder keyword
#: (e.g. ``PHOTZP = -99`` or ``0``), or an image not in counts.
ZERO_POINT_RANGE = (15.0, 40.0)


def check_zero_point(value, where):
    """Return ``value`` as a float AB zero point, or refuse it with a message naming ``where``.

    A zero point must be a finite number within `ZERO_POINT_RANGE` (15 to 40 AB, for an
    image in counts).

    Parameters
    ----------
    value : object
        The zero point (a header value, or one given by the caller).
    where : str
        Where it came from, for the message (e.g. ``"images['g'] (g.fits[0]): PHOTZP"``).

    Returns
    -------
    float

    Examples
    --------
    >>> check_zero_point(27.5, "PHOTZP")
    27.5
    >>> check_zero_point(-99, "PHOTZP")
    Traceback (most recent call last):
    ...
    ValueError: PHOTZP = -99 is not a plausible AB zero point: expected 15 to 40 ...
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where} = {value!r} is not a number; expected an AB zero point")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where} = {value!r} is not a number; expected an AB zero point such as 30"
        ) from None
    if not np.isfinite(number):
        raise ValueError(f"{where} = {value!r} is not finite; expected an AB zero point")
    low, high = ZERO_POINT_RANGE
    if not low <= number <= high:
        raise ValueError(
            f"{where} = {value!r} is not a plausible AB zero point: expected {low:g} to "
            f"{high:g} for an image in counts (AB = -2.5 log10(counts) + zero point; 30 for "
            "PAndAS and the simulator)"
        )
    return number


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

    Raises
    ------
    ValueError
        When the zero point found (or ``default``) is not a number within
        `ZERO_POINT_RANGE` (see `check_zero_point`), or there is none.

    Examples
    --------
    >>> from astropy.io import fits
    >>> read_zero_point(fits.Header({"PHOTZP": 30.0}))
    30.0
    >>> read_zero_point(fits.Header({"PHOTZP": "abc"}))
    Traceback (most recent call last):
    ...
    ValueError: header keyword PHOTZP = 'abc' is not a number; expected an AB zero point such as 30
    """
    for key in ZERO_POINT_KEYWORDS:
        if key in header:
            return check_zero_point(header[key], f"header keyword {key}")
    if default is None:
        raise ValueError(
            "the image header has no photometric zero point (looked for "
            + ", ".join(ZERO_POINT_KEYWORDS)
            + "); pass zero_points= explicitly"
        )
    return check_zero_point(default, "default")


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


def as_magnitude(value, name):
    """Return a magnitude limit as a float AB magnitude, or refuse it with a sentence.

    Accepts a real number, a `~astropy.units.Quantity` in ``mag`` and an
    `astropy.units.ABmag` magnitude (its value). Other units (another magnitude
    system such as ``STmag``, a flux) are refused.

    Parameters
    ----------
    value : float, `~astropy.units.Quantity` or `~astropy.units.Magnitude`
        The magnitude.
    name : str
        The parameter it was given as, for the message (e.g. ``"mag_max"``).

    Returns
    -------
    float

    Examples
    --------
    >>> import astropy.units as u
    >>> as_magnitude(21, "mag_max"), as_magnitude(21 * u.mag, "mag_max")
    (21.0, 21.0)
    >>> as_magnitude(21 * u.ABmag, "mag_max")
    21.0
    >>> as_magnitude(21 * u.STmag, "mag_max")
    Traceback (most recent call last):
    ...
    ValueError: mag_max must be an AB magnitude (a number, u.mag or u.ABmag); got 21.0 mag(ST)
    """
    if isinstance(value, u.Quantity):
        unit = value.unit
        if not value.isscalar:
            raise ValueError(f"{name} must be one magnitude; got an array of shape {value.shape}")
        if unit == u.mag or unit == u.ABmag:
            number = float(value.value)
        else:
            raise ValueError(
                f"{name} must be an AB magnitude (a number, u.mag or u.ABmag); got {value}"
            )
    elif isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a magnitude (a number); got {value!r}")
    else:
        number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be a finite magnitude; got {number}")
    return number
