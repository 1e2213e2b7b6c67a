"""Table metadata through file formats that hold only flat keywords (FITS, VOTable).

A table's ``meta`` may hold nested dicts and lists (the simulator's
configuration, a model's provenance). FITS headers and VOTable INFO elements
cannot hold them, so the whole ``meta`` travels as one JSON string.
"""

import json

import numpy as np
from astropy import units as u

__all__ = ["META_KEYWORD", "meta_from_json", "meta_to_json"]

#: Header keyword (or INFO name) under which the JSON text of ``meta`` is stored.
META_KEYWORD = "CFMETA"


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, u.Quantity):
        return str(value)
    return str(value)


def meta_to_json(meta):
    """The JSON text of a table's ``meta``; numpy values become numbers, others text.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.utils.meta import meta_from_json, meta_to_json
    >>> meta_from_json(meta_to_json({"seed": np.int64(3), "fwhm": {"g": 0.67}}))
    {'seed': 3, 'fwhm': {'g': 0.67}}
    """
    return json.dumps(dict(meta), default=_json_default)


def meta_from_json(text):
    """The ``meta`` dict stored by `meta_to_json`."""
    return json.loads(text)
