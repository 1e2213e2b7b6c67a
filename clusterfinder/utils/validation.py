"""Checks of the options that recur across clusterfinder (private to the package).

One function per kind of option, so that a radius, a threshold, a batch size or a
seed is refused the same way wherever it is given: `TypeError` for a value of the
wrong type, `ValueError` for a value of the right type out of range, and one message
per check that names the parameter, says what was expected and shows what was given
(see :ref:`conventions`).

Not part of the public API: import from ``clusterfinder.utils.validation`` inside the
package only.
"""

import numbers

import astropy.units as u
import numpy as np

__all__ = [
    "PRECISIONS",
    "check_batch_size",
    "check_positive_integer",
    "check_precision",
    "check_radius",
    "check_seed",
    "check_threshold",
]


def _given(value):
    """``value`` as shown after "got" in a message: a Quantity as text, anything else as repr."""
    return str(value) if isinstance(value, u.Quantity) else repr(value)


def check_radius(value, name="radius"):
    """``value``, a positive finite angle, as a `~astropy.units.Quantity` in arcsec.

    Parameters
    ----------
    value : `~astropy.units.Quantity`
        A scalar angle (an `~astropy.coordinates.Angle` is one too).
    name : str, optional
        The parameter, for the message.

    Returns
    -------
    `~astropy.units.Quantity`
        ``value`` in arcsec (an `~astropy.coordinates.Angle` stays one).

    Raises
    ------
    TypeError
        If ``value`` is not a Quantity with angle units.
    ValueError
        If it is not one finite value above zero.

    Examples
    --------
    >>> import astropy.units as u
    >>> check_radius(0.5 * u.arcmin)
    <Quantity 30. arcsec>
    >>> check_radius(1.0)
    Traceback (most recent call last):
    ...
    TypeError: radius must be a positive angle Quantity ...; got 1.0
    """
    message = (
        f"{name} must be a positive angle Quantity (one finite value), e.g. 1 * u.arcsec; "
        f"got {_given(value)}"
    )
    if not isinstance(value, u.Quantity) or value.unit.physical_type != "angle":
        raise TypeError(message)
    if not value.isscalar or not np.isfinite(value.value) or not value.value > 0:
        raise ValueError(message)
    return value.to(u.arcsec)


def check_threshold(value, name="threshold"):
    """``value``, a probability threshold, as a float in [0, 1].

    Parameters
    ----------
    value : float
        A real number (int, float or numpy scalar; not a bool, a string or an array).
    name : str, optional
        The parameter, for the message.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number, or is a bool.
    ValueError
        If it lies outside [0, 1] (NaN included).

    Examples
    --------
    >>> check_threshold(1)
    1.0
    >>> check_threshold(1.5)
    Traceback (most recent call last):
    ...
    ValueError: threshold must be a number in [0, 1]; got 1.5
    """
    message = f"{name} must be a number in [0, 1]; got {_given(value)}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(message)
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(message)
    return value


def check_positive_integer(value, name):
    """``value``, a positive integer (not a bool), as an int.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (a float such as 2.0 included), or is a bool.
    ValueError
        If it is below 1.

    Examples
    --------
    >>> check_positive_integer(3, "epochs")
    3
    """
    message = f"{name} must be a positive integer; got {_given(value)}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(message)
    if value < 1:
        raise ValueError(message)
    return int(value)


def check_batch_size(value, name="batch_size"):
    """``value``, a number of stamps per batch, as a positive int (see `check_positive_integer`).

    Examples
    --------
    >>> check_batch_size(0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive integer; got 0
    """
    return check_positive_integer(value, name)


def check_seed(value, name="seed"):
    """``value``, a seed: None, a non-negative integer or a `numpy.random.Generator`.

    An integer comes back as an int; None and a Generator come back unchanged (pass
    the result to `clusterfinder.utils.as_generator` for the draws).

    Raises
    ------
    TypeError
        If ``value`` is none of these (a bool or a float included).
    ValueError
        If it is a negative integer.

    Examples
    --------
    >>> check_seed(3)
    3
    >>> check_seed(1.5)
    Traceback (most recent call last):
    ...
    TypeError: seed must be None, a non-negative integer or a numpy.random.Generator; got 1.5
    """
    if value is None or isinstance(value, np.random.Generator):
        return value
    message = (
        f"{name} must be None, a non-negative integer or a numpy.random.Generator; "
        f"got {_given(value)}"
    )
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(message)
    if value < 0:
        raise ValueError(message)
    return int(value)


#: The arithmetic a classifier's network can predict in (``precision=``).
PRECISIONS = ("auto", "float32", "bfloat16")


def check_precision(value, name="precision"):
    """``value``, one of `PRECISIONS`; a ValueError naming them otherwise.

    Examples
    --------
    >>> check_precision("bfloat16")
    'bfloat16'
    >>> check_precision("fp16")
    Traceback (most recent call last):
    ...
    ValueError: precision must be one of 'auto', 'float32', 'bfloat16'; got 'fp16'
    """
    if not isinstance(value, str) or value not in PRECISIONS:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, PRECISIONS))}; got {_given(value)}"
        )
    return value
