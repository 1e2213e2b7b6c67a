"""Shapes of the simulated point-spread function: families, ellipticity and halo.

A model trained on images made with one PSF learns that PSF, and on a field with
another one it calls stars clusters. The simulator therefore draws the PSF of each
field and band from families that real ground-based PSFs belong to:

- **Moffat** profiles ``(1 + r**2 / alpha**2) ** -beta`` with any ``beta`` (2-5 covers
  real seeing-limited PSFs; a Gaussian is the limit of large ``beta``);
- the **Kolmogorov** long-exposure profile of a telescope looking through turbulence,
  whose optical transfer function is ``exp(-3.44 (lambda f / r0) ** (5/3))``
  (Fried 1966): a sharper core and wings falling as ``r ** (-11/3)``;
- an optional faint **halo** (scattered light, a wider Moffat of ``beta = 2``) carrying a
  few per cent of the light at 2-4 times the FWHM;
- an **ellipticity** ``1 - b/a`` at any angle (tracking, optics, wind shake).

`PSFShape` describes one such PSF independent of its width; the width (FWHM, pixels)
is given separately because it is drawn per field. `PSFShape.surface_brightness`
evaluates the normalised profile anywhere; the simulator's pixel-integrated PSF
tables (`~clusterfinder.simulate.profiles.MoffatPSF`) are built from it.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import j0

from .config import moffat_alpha

__all__ = ["PSF_FAMILIES", "PSFShape", "kolmogorov_profile"]

#: The PSF families the simulator can render.
PSF_FAMILIES = ("moffat", "kolmogorov")

#: Moffat index of the halo component.
HALO_BETA = 2.0


@functools.lru_cache(maxsize=1)
def _kolmogorov_table():
    """Radial profile of the Kolmogorov PSF, tabulated in units of its FWHM.

    The profile is the Hankel transform of the transfer function ``exp(-k ** (5/3))``
    (k in arbitrary units), computed once by quadrature. Returns radii ``r / FWHM`` and
    the surface brightness normalised to unit total flux in those units.
    """
    k = np.linspace(0.0, 12.0, 24001)  # exp(-12**(5/3)) ~ 1e-28: the integrand has ended
    otf = np.exp(-(k ** (5.0 / 3.0)))
    weight = np.full(k.size, k[1] - k[0])
    weight[[0, -1]] *= 0.5
    r = np.concatenate([np.linspace(0.0, 4.0, 801)[:-1], np.geomspace(4.0, 400.0, 600)])
    profile = np.empty(r.size)
    for start in range(0, r.size, 100):
        part = r[start : start + 100, None]
        profile[start : start + 100] = (j0(2.0 * np.pi * k[None, :] * part) * (otf * k)) @ weight
    profile *= 2.0 * np.pi
    # The quadrature is exact enough to about 1e-9 of the peak; far out, use the
    # asymptotic r**(-11/3) law fitted to where the quadrature is still reliable.
    peak = profile[0]
    half = float(np.interp(-0.5 * peak, -profile[:800], r[:800]))
    tail = r > 40.0 * half
    anchor = np.flatnonzero(tail)[0]
    profile[tail] = profile[anchor] * (r[tail] / r[anchor]) ** (-11.0 / 3.0)
    radius = r / (2.0 * half)
    # Normalise to unit flux in units of the FWHM: 2 pi integral of I(r) r dr = 1.
    flux = np.trapezoid(2.0 * np.pi * radius * profile, radius)
    return radius, profile / flux


def kolmogorov_profile(r):
    """Surface brightness of a unit-flux, unit-FWHM Kolmogorov PSF at radius ``r``.

    Parameters
    ----------
    r : array-like
        Radii in units of the FWHM.

    Examples
    --------
    >>> half = kolmogorov_profile(0.5) / kolmogorov_profile(0.0)
    >>> round(float(half), 3)
    0.5
    """
    radius, profile = _kolmogorov_table()
    r = np.asarray(r, dtype=float)
    log_profile = np.interp(r, radius, np.log(profile), right=-np.inf)
    return np.exp(log_profile)


def _moffat(r2, alpha, beta):
    """Unit-flux Moffat surface brightness at squared radius ``r2``."""
    return (beta - 1.0) / (math.pi * alpha**2) * (1.0 + r2 / alpha**2) ** (-beta)


@dataclass(frozen=True)
class PSFShape:
    """The shape of a PSF, independent of its width.

    Parameters
    ----------
    family : {"moffat", "kolmogorov"}
        Profile of the core.
    beta : float, optional
        Moffat index of the core (``family="moffat"``; larger than 1).
    ellipticity : float, optional
        ``1 - b/a`` of the PSF, 0 (round) to 0.5. The axes are stretched so that the
        geometric mean of the FWHMs along them is the field's FWHM.
    angle : float, optional
        Position angle of the major axis, degrees from +x toward +y.
    halo_fraction : float, optional
        Fraction of the flux in the halo, 0 to 0.2.
    halo_scale : float, optional
        FWHM of the halo over that of the core (larger than 1).

    Examples
    --------
    >>> shape = PSFShape("kolmogorov", halo_fraction=0.04, halo_scale=3.0)
    >>> image = shape.surface_brightness(*np.meshgrid(np.arange(-40, 41.0),
    ...                                               np.arange(-40, 41.0)), fwhm=4.0)
    >>> bool(abs(image.sum() - 1.0) < 0.01)  # unit flux (truncated far wings aside)
    True
    >>> PSFShape("moffat", beta=3.0).is_plain_moffat
    True
    """

    family: str = "moffat"
    beta: float = 3.0
    ellipticity: float = 0.0
    angle: float = 0.0
    halo_fraction: float = 0.0
    halo_scale: float = 3.0

    def __post_init__(self):
        if self.family not in PSF_FAMILIES:
            raise ValueError(f"family must be one of {PSF_FAMILIES}; got {self.family!r}")
        checks = {
            "beta": (1.0, math.inf, False),
            "ellipticity": (0.0, 0.5, True),
            "halo_fraction": (0.0, 0.2, True),
            "halo_scale": (1.0, 10.0, False),
        }
        for name, (low, high, closed) in checks.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"{name} must be a number; got {value!r}")
            value = float(value)
            ok = (low <= value if closed else low < value) and value <= high
            if not (math.isfinite(value) and ok):
                kind = "[" if closed else "("
                raise ValueError(f"{name} must lie in {kind}{low:g}, {high:g}]; got {value!r}")
            object.__setattr__(self, name, value)
        angle = float(self.angle)
        if not math.isfinite(angle):
            raise ValueError(f"angle must be finite; got {self.angle!r}")
        object.__setattr__(self, "angle", angle % 180.0)

    @property
    def is_plain_moffat(self):
        """True for a round Moffat without a halo (the simulator's classic PSF)."""
        return self.family == "moffat" and self.ellipticity == 0 and self.halo_fraction == 0

    def width(self, fwhm):
        """The length (pixels) in which the simulator sizes its PSF stamps.

        The Moffat ``alpha`` for a Moffat core; for a Kolmogorov core the ``alpha`` of
        the ``beta = 3`` Moffat of the same FWHM (its wings need as much room).
        """
        beta = self.beta if self.family == "moffat" else 3.0
        stretch = 1.0 / math.sqrt(1.0 - self.ellipticity)
        return moffat_alpha(fwhm, beta) * stretch

    def halo_radius(self, fwhm):
        """Radius (pixels) out to which stamps must reach to hold the halo: 0 without one."""
        if self.halo_fraction == 0:
            return 0.0
        return 2.5 * self.halo_scale * fwhm / math.sqrt(1.0 - self.ellipticity)

    def surface_brightness(self, x, y, *, fwhm):
        """Unit-flux surface brightness (per square pixel) at offsets ``x, y`` (pixels).

        Parameters
        ----------
        x, y : array-like
            Offsets from the centre of the PSF, pixels.
        fwhm : float
            FWHM of the core, pixels.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        q = 1.0 - self.ellipticity
        if q != 1.0:
            theta = math.radians(self.angle)
            major = x * math.cos(theta) + y * math.sin(theta)
            minor = -x * math.sin(theta) + y * math.cos(theta)
            r2 = major**2 * q + minor**2 / q
        else:
            r2 = x**2 + y**2
        if self.family == "moffat":
            core = _moffat(r2, moffat_alpha(fwhm, self.beta), self.beta)
        else:
            core = kolmogorov_profile(np.sqrt(r2) / fwhm) / fwhm**2
        if self.halo_fraction == 0:
            return core
        halo_fwhm = self.halo_scale * fwhm
        halo = _moffat(r2, moffat_alpha(halo_fwhm, HALO_BETA), HALO_BETA)
        return (1.0 - self.halo_fraction) * core + self.halo_fraction * halo

    def to_dict(self):
        """A JSON-safe description (for headers and truth metadata)."""
        out = {"family": self.family}
        if self.family == "moffat":
            out["beta"] = round(self.beta, 6)
        out.update(
            ellipticity=round(self.ellipticity, 6),
            angle=round(self.angle, 4),
            halo_fraction=round(self.halo_fraction, 6),
            halo_scale=round(self.halo_scale, 6),
        )
        return out
