"""Small helpers shared across the package (warnings, progress bars, random seeds)."""

from .exceptions import ClusterFinderWarning
from .progress import progress_bar
from .random import as_generator

__all__ = ["ClusterFinderWarning", "as_generator", "progress_bar"]
