"""Fixtures of the Cutout tests.

The helpers module ``cutout_helpers`` (beside this file) is made importable here, so
that the tests work under pytest's ``importlib`` import mode too.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cutout_helpers import make_wcs


@pytest.fixture
def wcs():
    return make_wcs()
