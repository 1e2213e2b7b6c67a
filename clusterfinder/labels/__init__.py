"""Labelled sky positions for training and testing cluster classifiers.

`LabelSet` holds sky positions labelled 1 (star cluster) or 0 (anything else)
with their provenance; `clusterfinder.labels.readers` reads the published M31
catalogues (offline from the copies shipped with clusterfinder, online from
VizieR) from which label sets are built.
"""

from .labelset import LabelSet

__all__ = ["LabelSet"]
