"""Fixtures of the scan tests: small synthetic two-band fields written as FITS files."""

import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import vstack

sys.path.insert(0, str(Path(__file__).parent))

from _scan_helpers import PIXEL_SCALE, make_field


@pytest.fixture
def one_field(tmp_path):
    """One 160x160 field with 40 sources: (paths dict band -> file, sources table)."""
    return make_field(tmp_path, "a", size=160, n_sources=40, seed=1)


@pytest.fixture
def two_fields(tmp_path):
    """Two fields overlapping by 60 pixels; (folder, list of paths, all sources)."""
    shift = 100 * PIXEL_SCALE / np.cos(np.radians(41.27))
    pa, sa = make_field(tmp_path, "a", size=160, n_sources=40, seed=1)
    pb, sb = make_field(tmp_path, "b", size=160, n_sources=40, seed=2, crval=(10.68 + shift, 41.27))
    return tmp_path, [pa, pb], vstack([sa, sb])
