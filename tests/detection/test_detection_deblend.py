"""Deblending only the segments that can split gives the catalogue of deblending all."""

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from clusterfinder.detection import detect_sources, segment
from clusterfinder.detection.segment import segments_with_several_peaks
from clusterfinder.simulate import simulate_field


@pytest.fixture(scope="module")
def crowded_field():
    """A simulated field near the bulge of M31: bright, crowded, many blends."""
    field = simulate_field(size=384, seed=4, center=SkyCoord(10.74, 41.34, unit="deg"))
    return dict(field.images)


def _deblend_everything(smoothed, segmentation, labels):
    return np.asarray(labels)


def test_same_catalogue_as_deblending_every_segment(crowded_field, monkeypatch):
    fast = detect_sources(crowded_field)
    assert np.count_nonzero(fast["flag_blended"]) >= 10  # the field does have blends
    monkeypatch.setattr(segment, "segments_with_several_peaks", _deblend_everything)
    full = detect_sources(crowded_field)
    assert len(fast) == len(full)
    for name in ("x", "y", "area", "detection_snr", "flag_blended", "mag_g", "mag_i"):
        np.testing.assert_array_equal(np.asarray(fast[name]), np.asarray(full[name]))


def test_peak_count_per_segment():
    image = np.zeros((7, 12))
    image[1, 1:4] = [1.0, 3.0, 1.0]  # one peak
    image[1, 6:9] = [3.0, 1.0, 2.0]  # two peaks
    image[4:6, 1:3] = 2.0  # a plateau: four pixels as bright as their neighbours
    image[4, 8] = np.nan  # no finite peak
    segmentation = np.zeros(image.shape, dtype=int)
    segmentation[1, 1:4] = 1
    segmentation[1, 6:9] = 2
    segmentation[4:6, 1:3] = 3
    segmentation[4, 8] = 4
    labels = np.array([1, 2, 3, 4])
    np.testing.assert_array_equal(
        segments_with_several_peaks(image, segmentation, labels), [2, 3, 4]
    )


def test_a_neighbour_outside_the_segment_does_not_hide_its_peak():
    # The bright pixel right of the segment is not part of it (masked, say): the
    # segment's own brightest pixel is still its one peak.
    image = np.array([[0.0, 1.0, 2.0, 1.5, 9.0]])
    segmentation = np.array([[0, 1, 1, 1, 0]])
    assert segments_with_several_peaks(image, segmentation, np.array([1])).size == 0
