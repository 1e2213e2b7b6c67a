"""clusterfinder: find star clusters in wide-field survey images with deep learning.

The package is organised around four public classes that follow the flow of data
from survey images to a vetted list of cluster candidates:

- `Cutout`: multi-band pixel stamps at sky positions;
- `LabelSet`: labelled sky positions built from catalogues;
- `ClusterClassifier`: the model, its training, evaluation and prediction;
- `CandidateCatalog`: the output table of candidates.

`clusterfinder.simulate` makes PAndAS-like survey images with a truth table, the
offline default on which everything runs, is tested and is benchmarked.
"""

try:
    from ._version import version as __version__
except ImportError:  # pragma: no cover - only without an install
    __version__ = "0.0.0"

from .config import conf
from .utils.photometry import REFERENCE_ZEROPOINT

__all__ = [
    "REFERENCE_ZEROPOINT",
    "CandidateCatalog",
    "ClusterClassifier",
    "Cutout",
    "LabelSet",
    "__version__",
    "conf",
]

# The public classes are imported on first use, so that ``import clusterfinder``
# stays quick and does not load PyTorch until a model is needed.
_LAZY_CLASSES = {
    "Cutout": "clusterfinder.cutout",
    "LabelSet": "clusterfinder.labels",
    "ClusterClassifier": "clusterfinder.classifier",
    "CandidateCatalog": "clusterfinder.catalog",
}


def __getattr__(name):
    if name in _LAZY_CLASSES:
        import importlib

        return getattr(importlib.import_module(_LAZY_CLASSES[name]), name)
    raise AttributeError(f"module 'clusterfinder' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_CLASSES))
