"""The vectorised windowed centroid."""

import numpy as np

from clusterfinder.detection.centroid import windowed_centroids


def _gaussian(shape, x, y, sigma, flux=1.0):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return flux * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


def test_point_and_extended_sources_converge():
    rng = np.random.default_rng(0)
    x_true = rng.uniform(20, 80, 30)
    y_true = rng.uniform(20, 80, 30)
    for sigma_source in (1.0, 1.5, 4.0):  # narrower, equal to and wider than the window
        image = sum(
            _gaussian((100, 100), x, y, sigma_source) for x, y in zip(x_true, y_true, strict=True)
        )
        # One source at a time, so that neighbours do not matter here.
        for x, y in zip(x_true[:5], y_true[:5], strict=True):
            single = _gaussian((100, 100), x, y, sigma_source)
            cx, cy = windowed_centroids(single, np.array([x + 0.4]), np.array([y - 0.3]), 1.5)
            assert abs(cx[0] - x) < 1e-3 and abs(cy[0] - y) < 1e-3
        assert image.shape == (100, 100)


def test_neighbour_segments_are_ignored():
    image = _gaussian((60, 60), 30.2, 30.0, 1.5) + _gaussian((60, 60), 33.5, 30.0, 1.5)
    segmentation = np.zeros((60, 60), dtype=int)
    segmentation[:, :32] = 1
    segmentation[:, 32:] = 2
    plain, _ = windowed_centroids(image, np.array([30.0]), np.array([30.0]), 1.5)
    masked, _ = windowed_centroids(
        image, np.array([30.0]), np.array([30.0]), 1.5, labels=[1], segmentation=segmentation
    )
    assert abs(masked[0] - 30.2) < abs(plain[0] - 30.2)


def test_failures_fall_back_and_empty_input():
    image = np.zeros((20, 20))
    x, y = windowed_centroids(image, np.array([5.3]), np.array([6.7]), 1.5)
    assert (x[0], y[0]) == (5.3, 6.7)
    x, y = windowed_centroids(image, np.zeros(0), np.zeros(0), 1.5)
    assert len(x) == len(y) == 0
    # Near the edge and with invalid pixels, still finite.
    star = _gaussian((20, 20), 1.2, 10.0, 1.5)
    invalid = np.zeros((20, 20), dtype=bool)
    invalid[10, 3] = True
    x, y = windowed_centroids(star, np.array([1.0]), np.array([10.0]), 1.5, invalid=invalid)
    assert abs(x[0] - 1.2) < 0.2 and abs(y[0] - 10.0) < 0.2
