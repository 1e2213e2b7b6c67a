"""A PSF that changes smoothly across a field, as in a wide-field stack.

The PSF of a MegaCam stack is not the same everywhere: optics, focal-plane tilt and the
dithers that went into the stack make its FWHM change by a few to ~15 per cent across a
tile and its ellipticity by a few hundredths, in a coherent pattern. `PSFVariation`
describes such a pattern for one band of a field as two planes over the image:

- the **FWHM** is the field's FWHM times ``1 + fwhm_change / 2 * u``, where ``u`` runs
  from -1 to +1 across the image along the direction ``fwhm_angle``: ``fwhm_change`` is
  the fractional difference between the widest and the sharpest PSF of the image;
- the **ellipticity**, as the vector ``e (cos 2 theta, sin 2 theta)``, is the field's
  plus ``ellipticity_change / 2 * v (cos 2 phi, sin 2 phi)``, ``v`` running from -1 to +1
  along ``ellipticity_angle`` and ``phi = ellipticity_orientation``: both the
  ellipticity and the angle of the PSF change across the image.

At the centre of the image the PSF is the field's (the ``FWHM``, ``PSFELL`` and
``PSFANG`` of the headers); outside the image (the margin in which objects are drawn
too) it keeps the value of the nearest edge. The simulator renders it with
`~clusterfinder.simulate.varying_psf.VaryingPSF`.
"""

import math
from dataclasses import dataclass

import numpy as np

from .psf import PSFShape

__all__ = ["PSFVariation"]

#: Largest ellipticity the varying PSF may reach (that of `PSFShape`).
MAX_ELLIPTICITY = 0.5
#: Largest FWHM change per interval between interpolation nodes (see `PSFVariation.nodes`).
NODE_STEP = 0.075
#: Most interpolation nodes along each axis (each node is a PSF table in memory).
MAX_NODES = 3


@dataclass(frozen=True)
class PSFVariation:
    """How the PSF of one band changes across the image (see the module's description).

    Parameters
    ----------
    fwhm_change : float
        Fractional change of the FWHM across the image (``(max - min) / FWHM``), 0 to 0.3.
    fwhm_angle : float
        Direction in which the FWHM grows, degrees from +x toward +y.
    ellipticity_change : float
        Change of the ellipticity vector across the image, 0 to 0.3.
    ellipticity_angle : float
        Direction (degrees from +x toward +y) along which it changes.
    ellipticity_orientation : float
        Position angle (degrees) of the ellipticity added at the far end of that direction.

    Examples
    --------
    >>> from clusterfinder.simulate import PSFShape, PSFVariation
    >>> variation = PSFVariation(fwhm_change=0.1, fwhm_angle=0.0)
    >>> fwhm, shapes = variation.at([-0.5, 49.5, 99.5], [50.0] * 3, fwhm=4.0,
    ...                             shape=PSFShape(), image_shape=(100, 100))
    >>> [round(float(f), 3) for f in fwhm]  # 10 % wider at +x than at -x
    [3.8, 4.0, 4.2]
    """

    fwhm_change: float = 0.0
    fwhm_angle: float = 0.0
    ellipticity_change: float = 0.0
    ellipticity_angle: float = 0.0
    ellipticity_orientation: float = 0.0

    def __post_init__(self):
        for name, high in (("fwhm_change", 0.3), ("ellipticity_change", 0.3)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"{name} must be a number; got {value!r}")
            value = float(value)
            if not (math.isfinite(value) and 0.0 <= value <= high):
                raise ValueError(f"{name} must lie in [0, {high:g}]; got {value!r}")
            object.__setattr__(self, name, value)
        for name, period in (
            ("fwhm_angle", 360.0),
            ("ellipticity_angle", 360.0),
            ("ellipticity_orientation", 180.0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"{name} must be a number (degrees); got {value!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"{name} must be finite; got {value!r}")
            object.__setattr__(self, name, float(value) % period)

    @property
    def is_constant(self):
        """True when the PSF is the same everywhere (both changes are 0)."""
        return self.fwhm_change == 0 and self.ellipticity_change == 0

    @property
    def nodes(self):
        """Interpolation nodes along each axis of the image that render this variation.

        Two (the corners) for a change of up to `NODE_STEP`, three (corners and
        middles) beyond: between nodes the PSF is a weighted mean of the nodes' PSFs,
        whose FWHM falls short of the planned one by at most ~0.4 per cent up to a
        change of 0.15 (~1.5 per cent midway between nodes for the largest, 0.3).
        """
        return int(min(MAX_NODES, 1 + max(1, math.ceil(self.fwhm_change / NODE_STEP))))

    def at(self, x, y, *, fwhm, shape, image_shape):
        """The FWHM and `PSFShape` at pixel positions ``x, y`` of an image.

        Parameters
        ----------
        x, y : array-like
            Pixel positions (zero-based, pixel centres on integers).
        fwhm : float
            FWHM at the centre of the image (any unit; the result has the same).
        shape : `~clusterfinder.simulate.PSFShape`
            The PSF at the centre of the image.
        image_shape : tuple of int
            ``(ny, nx)``.

        Returns
        -------
        fwhm : `numpy.ndarray`
            FWHM at each position.
        shapes : list of `~clusterfinder.simulate.PSFShape`
            The PSF's shape at each position (its ellipticity and angle changed).
        """
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        u = _ramp(x, y, self.fwhm_angle, image_shape)
        widths = fwhm * (1.0 + 0.5 * self.fwhm_change * u)
        v = 0.5 * self.ellipticity_change * _ramp(x, y, self.ellipticity_angle, image_shape)
        theta = math.radians(2.0 * shape.angle)
        phi = math.radians(2.0 * self.ellipticity_orientation)
        e1 = shape.ellipticity * math.cos(theta) + v * math.cos(phi)
        e2 = shape.ellipticity * math.sin(theta) + v * math.sin(phi)
        ellipticity = np.minimum(np.hypot(e1, e2), MAX_ELLIPTICITY)
        angle = 0.5 * np.degrees(np.arctan2(e2, e1)) % 180.0
        shapes = [
            _with_ellipticity(shape, float(e), float(a))
            for e, a in zip(ellipticity.ravel(), angle.ravel(), strict=True)
        ]
        return widths, shapes

    def header_cards(self):
        """FITS header cards ``(keyword, value, comment)`` recording the variation."""
        return [
            ("PSFVAR", round(self.fwhm_change, 6), "PSF FWHM change across the image (frac.)"),
            ("PSFVARAN", round(self.fwhm_angle, 4), "[deg] direction of growing FWHM, +x to +y"),
            ("PSFEGRAD", round(self.ellipticity_change, 6), "PSF ellipticity change across"),
            ("PSFEGRAN", round(self.ellipticity_angle, 4), "[deg] direction of that change"),
            ("PSFEGROR", round(self.ellipticity_orientation, 4), "[deg] PA of the added ellip."),
        ]

    def to_dict(self):
        """A JSON-safe description (for the truth metadata)."""
        return {
            "fwhm_change": round(self.fwhm_change, 6),
            "fwhm_angle": round(self.fwhm_angle, 4),
            "ellipticity_change": round(self.ellipticity_change, 6),
            "ellipticity_angle": round(self.ellipticity_angle, 4),
            "ellipticity_orientation": round(self.ellipticity_orientation, 4),
        }


def _ramp(x, y, angle, image_shape):
    """-1 to +1 across the image along ``angle`` (degrees); the edge value outside it."""
    ny, nx = image_shape
    cx = np.clip(2.0 * (x + 0.5) / nx - 1.0, -1.0, 1.0)
    cy = np.clip(2.0 * (y + 0.5) / ny - 1.0, -1.0, 1.0)
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    # Rounded so that an axis-aligned direction gives exact zeros, not 6e-17 terms.
    cos, sin = round(cos, 12), round(sin, 12)
    return (cos * cx + sin * cy) / (abs(cos) + abs(sin))


def _with_ellipticity(shape, ellipticity, angle):
    if ellipticity == shape.ellipticity and angle == shape.angle:
        return shape
    return PSFShape(
        shape.family,
        beta=shape.beta,
        ellipticity=ellipticity,
        angle=angle,
        halo_fraction=shape.halo_fraction,
        halo_scale=shape.halo_scale,
    )
