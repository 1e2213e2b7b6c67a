"""Survey-scale scanning: classify every source of many large images.

- `find_candidates` searches one set of images (a dict band -> image) and returns
  a `~clusterfinder.CandidateCatalog`; images are read tile by tile, stamps cut and
  classified in batches.
- `scan` runs the same search over many fields, one unit of work per (field, tile),
  writing each finished unit to an output folder as it goes, so that an
  interrupted scan resumes without loss or duplicates; with ``client=`` (a
  `dask.distributed.Client`) the units run on a Dask cluster.
- `fields_from_folder` lists the fields of a folder of ``NAME_<band>.fits`` files.
"""

from .find import check_sources, find_candidates, model_identity
from .journal import ScanJournal
from .scanner import fields_from_folder, scan
from .tiling import Tile, TiledImages, assign_to_tiles, make_tiles, open_images

__all__ = [
    "ScanJournal",
    "Tile",
    "TiledImages",
    "assign_to_tiles",
    "check_sources",
    "fields_from_folder",
    "find_candidates",
    "make_tiles",
    "model_identity",
    "open_images",
    "scan",
]
