"""Source detection and aperture photometry on survey images.

`detect_sources` builds the source list that cutouts and the classifier work on
when no catalogue is given: photutils segmentation with deblending on one band or a
noise-weighted stack of bands, and forced aperture photometry in every band, tile by
tile so that images of any size fit in memory.
"""

from .core import detect_sources
from .images import BandImage, load_images
from .photometry import estimate_background, forced_photometry

__all__ = ["BandImage", "detect_sources", "estimate_background", "forced_photometry", "load_images"]
