"""The point-spread function (PSF) of a survey image, measured from its own stars.

A star cluster in M31 is only marginally resolved from the ground: it is a cluster
rather than a star because it is somewhat wider than the PSF of its field. The
classifier therefore needs each field's PSF, and `measure_psf` measures it from the
bright isolated stars of the image: their stacked image, the width and Moffat index of
a fitted Moffat profile, the ellipticity and the light in the wings, returned as a
`PSFMeasurement`. `attach_psf` adds a measured PSF to stamps cut from the image, as the
``psf_*`` columns that seeing-aware classifiers read; `homogenize_psf` blurs stamps of
many fields to one common seeing.
"""

from .columns import PSF_QUANTITIES, attach_psf, psf_column_names, psf_columns
from .homogenize import homogenize_psf
from .local import PSFGrid, measure_local_psf
from .measure import PSFMeasurement, PSFMeasurementWarning, elliptical_moffat, measure_psf

__all__ = [
    "PSF_QUANTITIES",
    "PSFGrid",
    "PSFMeasurement",
    "PSFMeasurementWarning",
    "attach_psf",
    "elliptical_moffat",
    "homogenize_psf",
    "measure_local_psf",
    "measure_psf",
    "psf_column_names",
    "psf_columns",
]
