"""Multi-band pixel stamps at sky positions (`Cutout`).

`Cutout` holds many stamps as one ``(N, bands, H, W)`` float32 array with a mask,
the band names, a per-stamp table and the WCS of each stamp.
`Cutout.from_images` cuts them out of survey images (FITS paths, HDUs,
multi-extension files, `~astropy.nddata.NDData` or array + WCS) in vectorised
batches, aligning bands that live on different pixel grids.
"""

from .core import Cutout

__all__ = ["Cutout"]
