"""Multi-band pixel stamps at sky positions (`Cutout`).

`Cutout` holds many stamps as one ``(N, bands, H, W)`` float32 array with a mask,
the band names, a per-stamp table and the WCS of each stamp.
`Cutout.from_images` cuts them out of survey images (FITS paths, HDUs,
multi-extension files, `~astropy.nddata.NDData` or array + WCS) in vectorised
batches, aligning bands that live on different pixel grids.

Besides `Cutout`, users meet three modules of this package through its methods:
``io`` (`Cutout.read`/`Cutout.write`), ``plot`` (`Cutout.plot`) and ``wcs`` (the
sequence of per-stamp WCS that `Cutout.wcs` is). The others (``extract``,
``regions``, ``geometry``, ``pixels``) are how stamps are cut: internal, and free to
change; use `Cutout.from_images`.
"""

from .core import Cutout

__all__ = ["Cutout"]
