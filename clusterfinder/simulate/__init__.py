"""Simulated survey images with a truth table: the offline default and the test bed.

`simulate_field` draws a catalogue of objects (Milky Way stars, resolved M31 stars,
asterisms, young and old star clusters, background galaxies, HII regions) over a patch of
the M31 disc, renders them with a PSF (a Moffat by default; Moffat, Kolmogorov, halo and
ellipticity with `PSFShape`) on top of the smooth disc light, adds sky and Poisson noise
and saturation, and returns the images (one per band) with their truth table.
`DomainRandomization` draws each field's seeing, PSF (and, on request, its variation
across the image, `PSFVariation`), depth, noise correlation and hard negatives from
realistic ranges, so that a model trained on many fields has seen many
skies. `write_field` does the same block by block into FITS files, for fields too large to
hold in memory. The survey is described by a `SurveyConfig` (presets `PANDAS`, `HSC`).
`degrade_image` shows a real, sharper image (from Hubble, say) as the survey would.
`inject` adds simulated clusters (and hard negatives) to a user's real images, with
each image's own PSF and zero point, and returns the new images with their truth.
"""

from .calibration import phat_distributions
from .config import CLUSTER_KINDS, HSC, KINDS, PANDAS, BandConfig, DiscModel, SurveyConfig
from .degrade import degrade_image, resample_flux
from .field import SimulatedField, simulate_field, write_field
from .injection import Injection, inject
from .psf import PSFShape
from .psf_variation import PSFVariation
from .randomize import DomainRandomization

__all__ = [
    "CLUSTER_KINDS",
    "HSC",
    "KINDS",
    "PANDAS",
    "BandConfig",
    "DiscModel",
    "DomainRandomization",
    "Injection",
    "PSFShape",
    "PSFVariation",
    "SimulatedField",
    "SurveyConfig",
    "degrade_image",
    "inject",
    "phat_distributions",
    "resample_flux",
    "simulate_field",
    "write_field",
]
