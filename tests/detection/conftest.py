"""Fixtures of the detection tests."""

import pytest
from detection_helpers import star_field


@pytest.fixture
def field():
    """A 300x300 field of 60 isolated Gaussian stars (g 20-23.5) on a sky of 5 counts."""
    return star_field()
