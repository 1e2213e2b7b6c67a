"""Survey-scale scanning: classify every source of many large images.

- `find_candidates` searches one set of images (a dict band -> image) and returns
  a `~clusterfinder.CandidateCatalog`; images are read tile by tile, stamps cut and
  classified in batches.
- `scan` runs the same search over many fields, one unit of work per (field, tile),
  writing each finished unit to an output folder as it goes, so that an
  interrupted scan resumes without loss or duplicates; with ``client=`` (a
  `dask.distributed.Client`) the units run on a Dask cluster.
- `fields_from_folder` lists the fields of a folder of ``NAME_<band>.fits`` files.
- `TiledImages` opens the bands of one field lazily, for users who walk its tiles
  themselves.

The modules of this package (``find``, ``scanner``, ``tiling``, ``journal``,
``distributed``) are its implementation: names that are not listed above may change
without notice. Earlier versions also exported some of them from here; those
imports still work for now, with an `~astropy.utils.exceptions.AstropyDeprecationWarning`
that says where the name lives.
"""

import importlib
import sys
import warnings

from astropy.utils.exceptions import AstropyDeprecationWarning

from .find import find_candidates
from .scanner import fields_from_folder, scan
from .tiling import TiledImages

__all__ = ["TiledImages", "fields_from_folder", "find_candidates", "scan"]

#: Names this package exported before they became internal: name -> (module of this
#: package that defines it, what to use instead or None for "internal").
_DEPRECATED = {
    "ScanJournal": ("journal", None),
    "Tile": ("tiling", None),
    "assign_to_tiles": ("tiling", None),
    "check_sources": ("find", None),
    "make_tiles": ("tiling", None),
    "model_identity": ("find", None),
    "open_images": ("tiling", "clusterfinder.scan.TiledImages(images, ...)"),
}


def __getattr__(name):
    if name not in _DEPRECATED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, instead = _DEPRECATED[name]
    where = f"{__name__}.{module_name}"
    value = getattr(importlib.import_module(where), name)
    if sys._getframe(1).f_code.co_filename.startswith("<frozen importlib"):
        # ``from clusterfinder.scan import NAME`` first asks the import system whether
        # NAME is a submodule, then the importing line asks again: warn once, there.
        return value
    if instead is None:
        advice = (
            f"it is internal to clusterfinder and may change without notice; import it "
            f"from {where} if you depend on it"
        )
    else:
        advice = f"use {instead} instead"
    warnings.warn(
        f"{__name__}.{name} is deprecated and will be removed from {__name__}: {advice}",
        AstropyDeprecationWarning,
        stacklevel=2,
    )
    return value
