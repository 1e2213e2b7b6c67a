"""Domain randomisation: every field of a training set seen through a different sky.

A classifier trained on fields that all share one PSF family, one depth and white noise
learns those, not what makes a cluster: on a field rendered otherwise it calls stars
clusters. `DomainRandomization` lists what the simulator varies from field to field
(and band to band) when asked to, with ranges taken from ground-based surveys like
PAndAS; `draw_conditions` makes one field's draw. Everything is seeded.

What varies, per field and band:

- **seeing**: the best band's FWHM from a log-normal distribution (PAndAS: median
  ~0.6" in i, 0.45-1.0" overall); the other bands keep their configured ratio to it
  times a random factor, and g is never sharper than i;
- **PSF family and shape**: Moffat with ``beta`` 2-5 or Kolmogorov, ellipticity up to
  0.1 at any angle, and, on some fields, a halo of a few per cent of the light at 2-4
  times the FWHM (see `~clusterfinder.simulate.psf.PSFShape`);
- **depth**: the 5-sigma limit moved by up to +-0.3 mag;
- **astrometry**: each band's light displaced from the field's WCS by up to 0.1" in any
  direction, as the bands of a survey, registered separately, are;
- **sky-subtraction residuals**: smooth patches of up to a few tenths of the sky noise
  over 20-55", and a shallow over-subtracted patch around stars brighter than 18 mag
  (`~clusterfinder.simulate.sky_residuals`);
- **PSF variation across the field** (off by default): the FWHM changing by a
  fraction of itself and the ellipticity by a few hundredths from one side of the
  image to the other, along random directions, as in a wide-field stack
  (`~clusterfinder.simulate.PSFVariation`);
- **correlated noise**: on most fields the noise is that of a resampled stack, white
  noise smoothed by a bilinear interpolation kernel at a random sub-pixel phase
  (per-pixel sigma unchanged, neighbouring pixels correlated);
- **hard negatives**: chance asterisms drawn from the bright end of the disc stars'
  luminosity function (from g = 19.5 instead of 21), spread over up to 1.5"; OB
  associations whose sub-groups of bright blue stars are lumpy extended sources
  (`~clusterfinder.simulate.associations`); compact background galaxies down to
  r_e = 0.1"; compact HII regions down to r_e = 0.5".
"""

import math
from dataclasses import dataclass, field

import numpy as np

from .psf import PSFShape
from .psf_variation import PSFVariation

__all__ = ["DomainRandomization", "FieldConditions", "draw_conditions"]


def _range(value, name, low, high):
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair of numbers (low, high); got {value!r}") from None
    if not (math.isfinite(a) and math.isfinite(b) and low <= a <= b <= high):
        raise ValueError(f"{name} must satisfy {low:g} <= low <= high <= {high:g}; got {value!r}")
    return (a, b)


def _fraction(value, name):
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability between 0 and 1; got {value!r}")
    return value


@dataclass(frozen=True)
class DomainRandomization:
    """What the simulator varies between fields, and over which ranges.

    Parameters
    ----------
    seeing : tuple of float
        Range (arcsec) of every band's FWHM.
    seeing_median : float
        Median FWHM (arcsec) of the sharpest band (log-normal distribution).
    seeing_spread : float
        Standard deviation of the natural log of that FWHM.
    band_ratio_jitter : tuple of float
        Range of the factor applied to the configured ratio of each other band's FWHM
        to the sharpest band's.
    kolmogorov_fraction : float
        Probability that a band's PSF is Kolmogorov rather than Moffat.
    beta : tuple of float
        Range of the Moffat index.
    ellipticity : tuple of float
        Range of the PSF ellipticity ``1 - b/a`` (any angle).
    halo_probability : float
        Probability that a band's PSF has a halo.
    halo_fraction : tuple of float
        Range of the fraction of the light in the halo.
    halo_scale : tuple of float
        Range of the halo's FWHM over the core's.
    depth_offset : float
        Largest change (mag) of the 5-sigma depth of a band.
    correlated_noise_probability : float
        Probability that a field's noise is correlated by resampling.
    astrometric_error : float
        Largest displacement (arcsec) of a band's light from the field's WCS; each band
        is displaced independently, uniformly over the disc of that radius.
    sky_residual : tuple of float
        Range of the standard deviation of the smooth sky-subtraction residuals, in
        units of the band's per-pixel sky noise.
    oversubtraction : tuple of float
        Range of the fraction of a bright star's flux that the sky subtraction removes
        around it.
    mesh : tuple of float
        Range of the width (Gaussian sigma, arcsec) of the patch over which it does.
    hard_negatives : bool
        Draw bright chance asterisms, OB associations, compact galaxies and compact
        HII regions.
    associations : bool
        With ``hard_negatives``, draw OB associations too (False leaves them out, to
        measure what they change).
    psf_variation : tuple of float
        Range of the fractional change of a band's FWHM across the image (0 to 0.3;
        ``(0.0, 0.15)`` spans stacked wide-field tiles); off, ``(0, 0)``, by default.
    psf_ellipticity_gradient : tuple of float
        Range of the change of a band's PSF ellipticity across the image (0 to 0.2;
        ``(0.0, 0.04)`` is typical); off by default.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.simulate import PANDAS, DomainRandomization
    >>> from clusterfinder.simulate.randomize import draw_conditions
    >>> conditions = draw_conditions(DomainRandomization(), PANDAS, np.random.default_rng(1))
    >>> 0.45 <= conditions.fwhm["i"] <= conditions.fwhm["g"] <= 1.0
    True
    """

    seeing: tuple = (0.45, 1.0)
    seeing_median: float = 0.62
    seeing_spread: float = 0.22
    band_ratio_jitter: tuple = (0.93, 1.05)
    kolmogorov_fraction: float = 0.5
    beta: tuple = (2.0, 5.0)
    ellipticity: tuple = (0.0, 0.1)
    halo_probability: float = 0.5
    halo_fraction: tuple = (0.01, 0.06)
    halo_scale: tuple = (2.0, 4.0)
    depth_offset: float = 0.3
    correlated_noise_probability: float = 0.7
    astrometric_error: float = 0.1
    sky_residual: tuple = (0.0, 0.3)
    oversubtraction: tuple = (0.0, 0.03)
    mesh: tuple = (5.0, 12.0)
    hard_negatives: bool = True
    associations: bool = True
    psf_variation: tuple = (0.0, 0.0)
    psf_ellipticity_gradient: tuple = (0.0, 0.0)

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "seeing", _range(self.seeing, "seeing", 0.1, 3.0))
        median = float(self.seeing_median)
        if not self.seeing[0] <= median <= self.seeing[1]:
            raise ValueError(f"seeing_median must lie within seeing {self.seeing}; got {median}")
        set_(self, "seeing_median", median)
        spread = float(self.seeing_spread)
        if not 0.0 <= spread <= 2.0:
            raise ValueError(f"seeing_spread must lie in [0, 2]; got {spread}")
        set_(self, "seeing_spread", spread)
        set_(
            self, "band_ratio_jitter", _range(self.band_ratio_jitter, "band_ratio_jitter", 0.5, 2.0)
        )
        set_(self, "beta", _range(self.beta, "beta", 1.01, 50.0))
        set_(self, "ellipticity", _range(self.ellipticity, "ellipticity", 0.0, 0.5))
        set_(self, "halo_fraction", _range(self.halo_fraction, "halo_fraction", 0.0, 0.2))
        set_(self, "halo_scale", _range(self.halo_scale, "halo_scale", 1.01, 10.0))
        for name in ("kolmogorov_fraction", "halo_probability", "correlated_noise_probability"):
            set_(self, name, _fraction(getattr(self, name), name))
        offset = float(self.depth_offset)
        if not 0.0 <= offset <= 2.0:
            raise ValueError(f"depth_offset must lie in [0, 2] mag; got {offset}")
        set_(self, "depth_offset", offset)
        error = float(self.astrometric_error)
        if not 0.0 <= error <= 1.0:
            raise ValueError(f"astrometric_error must lie in [0, 1] arcsec; got {error}")
        set_(self, "astrometric_error", error)
        set_(self, "sky_residual", _range(self.sky_residual, "sky_residual", 0.0, 10.0))
        set_(self, "oversubtraction", _range(self.oversubtraction, "oversubtraction", 0.0, 0.5))
        set_(self, "mesh", _range(self.mesh, "mesh", 0.5, 120.0))
        set_(self, "hard_negatives", bool(self.hard_negatives))
        set_(self, "associations", bool(self.associations))
        set_(self, "psf_variation", _range(self.psf_variation, "psf_variation", 0.0, 0.3))
        set_(
            self,
            "psf_ellipticity_gradient",
            _range(self.psf_ellipticity_gradient, "psf_ellipticity_gradient", 0.0, 0.2),
        )


@dataclass(frozen=True)
class FieldConditions:
    """One field's draw: seeing and PSF shape per band, depth offsets, noise phase.

    ``noise_shift`` is the sub-pixel phase ``(dy, dx)`` of the bilinear resampling that
    correlates the noise, or None for white noise. ``band_offsets`` maps each band to the
    displacement ``(dy, dx)`` (arcsec) of its light from the WCS, and ``sky_residuals``
    to its ``(amplitude, oversubtraction, mesh)`` (see `DomainRandomization`);
    ``psf_variation`` maps each band whose PSF changes across the image to its
    `~clusterfinder.simulate.PSFVariation` (bands without one have a constant PSF).
    """

    fwhm: dict
    psf: dict
    depth_offset: dict = field(default_factory=dict)
    noise_shift: tuple | None = None
    band_offsets: dict = field(default_factory=dict)
    sky_residuals: dict = field(default_factory=dict)
    psf_variation: dict = field(default_factory=dict)


def draw_conditions(randomization, config, rng):
    """Draw one field's `FieldConditions` for a survey ``config``."""
    r = randomization
    nominal = {band: conf.fwhm.to_value("arcsec") for band, conf in config.bands.items()}
    sharpest = min(nominal, key=nominal.get)
    low, high = r.seeing
    best = float(np.clip(r.seeing_median * math.exp(r.seeing_spread * rng.normal()), low, high))
    fwhm, psf, depth = {}, {}, {}
    for band in config.bands:
        ratio = nominal[band] / nominal[sharpest]
        if band != sharpest:
            ratio = max(1.0, ratio * rng.uniform(*r.band_ratio_jitter))
        fwhm[band] = float(np.clip(best * ratio, low, high))
        kolmogorov = rng.random() < r.kolmogorov_fraction
        beta = rng.uniform(*r.beta)
        ellipticity = rng.uniform(*r.ellipticity)
        angle = rng.uniform(0.0, 180.0)
        halo = rng.random() < r.halo_probability
        halo_fraction = rng.uniform(*r.halo_fraction)
        halo_scale = rng.uniform(*r.halo_scale)
        psf[band] = PSFShape(
            "kolmogorov" if kolmogorov else "moffat",
            beta=beta if not kolmogorov else 3.0,
            ellipticity=ellipticity,
            angle=angle,
            halo_fraction=halo_fraction if halo else 0.0,
            halo_scale=halo_scale,
        )
        depth[band] = float(rng.uniform(-r.depth_offset, r.depth_offset))
    correlated = rng.random() < r.correlated_noise_probability
    shift = tuple(float(v) for v in rng.uniform(0.0, 1.0, 2))
    # Drawn last, so that the draws above stay those of earlier versions.
    offsets = {}
    for band in config.bands:
        radius = r.astrometric_error * math.sqrt(rng.random())
        angle = rng.uniform(0.0, 2.0 * math.pi)
        offsets[band] = (radius * math.sin(angle), radius * math.cos(angle))
    residuals = {
        band: (rng.uniform(*r.sky_residual), rng.uniform(*r.oversubtraction), rng.uniform(*r.mesh))
        for band in config.bands
    }
    # Drawn after everything else, so that fields without a variation keep their draws.
    variations = {}
    for band in config.bands:
        variation = PSFVariation(
            fwhm_change=rng.uniform(*r.psf_variation),
            fwhm_angle=rng.uniform(0.0, 360.0),
            ellipticity_change=rng.uniform(*r.psf_ellipticity_gradient),
            ellipticity_angle=rng.uniform(0.0, 360.0),
            ellipticity_orientation=rng.uniform(0.0, 180.0),
        )
        if not variation.is_constant:
            variations[band] = variation
    return FieldConditions(
        fwhm=fwhm,
        psf=psf,
        depth_offset=depth,
        noise_shift=shift if correlated else None,
        band_offsets=offsets,
        sky_residuals=residuals,
        psf_variation=variations,
    )
