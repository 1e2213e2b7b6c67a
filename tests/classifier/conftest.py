"""Fixtures of the classifier tests."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from classifier_helpers import make_blobs


@pytest.fixture(scope="session")
def blobs():
    """(train, validation, test) Cutouts of 16x16 blob stamps."""
    return make_blobs(400, seed=1), make_blobs(150, seed=2), make_blobs(200, seed=3)
