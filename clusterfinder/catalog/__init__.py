"""Candidate catalogues: the output of a cluster search.

`CandidateCatalog` (a `~astropy.table.QTable`) holds the candidates with their
positions, probabilities, magnitudes, flags and provenance, and the operations that
follow a scan: de-duplication, cross-matching with known catalogues, radius cuts,
file and region export, and a sky map.
"""

from .catalog import FLAG_COLUMNS, REQUIRED_COLUMNS, CandidateCatalog, provenance
from .matching import crossmatch, deduplicate, known_coords
from .regions import to_regions, write_regions

__all__ = [
    "FLAG_COLUMNS",
    "REQUIRED_COLUMNS",
    "CandidateCatalog",
    "crossmatch",
    "deduplicate",
    "known_coords",
    "provenance",
    "to_regions",
    "write_regions",
]
