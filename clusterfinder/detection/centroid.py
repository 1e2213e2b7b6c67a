"""Windowed centroids, vectorised over many sources.

The windowed centroid (SExtractor's ``XWIN_IMAGE``) weights the pixels with a
circular Gaussian window that follows the current estimate, and iterates::

    x[n+1] = x[n] + k * sum(w * I * (x_i - x[n])) / sum(w * I)

SExtractor's factor k = 2 is exact for a Gaussian source as wide as the window,
but overshoots for narrower sources and crawls for wider ones; here k is set per
source and step from the window-weighted variance (exact for any Gaussian width).
It is nearly as precise as a PSF fit for isolated point sources and much less
sensitive to noise than plain image moments.
photutils computes it too (``SourceCatalog.x_centroid_win``), but through the
half-light radius of every source, which costs milliseconds per source; here the
window width is fixed (about the seeing) and all sources iterate together as one
array operation.
"""

import numpy as np

__all__ = ["windowed_centroids"]


def windowed_centroids(
    image, x, y, sigma, *, labels=None, segmentation=None, invalid=None, iterations=20
):
    """Refine source positions with a Gaussian-windowed centroid.

    Parameters
    ----------
    image : `numpy.ndarray`
        Background-subtracted pixels.
    x, y : `numpy.ndarray`
        Starting positions (zero-based pixels), e.g. moment centroids.
    sigma : float
        Standard deviation of the window, pixels (about the PSF's).
    labels : `numpy.ndarray` of int, optional
        The segment label of each source; with ``segmentation``, pixels of other
        segments are left out (deblended neighbours do not pull the centroid).
    segmentation : `numpy.ndarray` of int, optional
        Segmentation map of ``image`` (0 = background).
    invalid : `numpy.ndarray` of bool, optional
        Pixels to leave out.
    iterations : int, optional
        Largest number of iterations.

    Returns
    -------
    x, y : `numpy.ndarray`
        Refined positions; the starting position where the iteration fails (no
        positive flux in the window, or a shift larger than the window).

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.detection.centroid import windowed_centroids
    >>> yy, xx = np.mgrid[:32, :32]
    >>> star = np.exp(-((xx - 14.3) ** 2 + (yy - 17.6) ** 2) / (2 * 1.5**2))
    >>> x, y = windowed_centroids(star, np.array([14.0]), np.array([18.0]), 1.5)
    >>> round(float(x[0]), 3), round(float(y[0]), 3)
    (14.3, 17.6)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) == 0:
        return x.copy(), y.copy()
    half = int(np.ceil(4 * sigma))
    size = 2 * half + 1
    padded = np.pad(np.asarray(image, dtype=float), half, mode="constant")
    usable = np.ones(padded.shape, dtype=bool)
    usable[:half, :] = usable[-half:, :] = False
    usable[:, :half] = usable[:, -half:] = False
    if invalid is not None:
        usable[half:-half, half:-half] &= ~invalid
    x0 = np.round(x).astype(int)
    y0 = np.round(y).astype(int)
    offsets = np.arange(-half, half + 1)
    rows = (y0[:, None] + half + offsets[None, :])[:, :, None]
    cols = (x0[:, None] + half + offsets[None, :])[:, None, :]
    values = padded[rows, cols]
    ok = usable[rows, cols]
    if segmentation is not None and labels is not None:
        seg = np.pad(segmentation, half, mode="constant")[rows, cols]
        ok &= (seg == 0) | (seg == np.asarray(labels)[:, None, None])
    values = np.where(ok, values, 0.0)
    values = values.reshape(len(x), size * size)
    # Pixel coordinates of every stamp, relative to its integer centre (flattened).
    grid = offsets.astype(float)
    dx_grid = np.broadcast_to(grid[None, :], (size, size)).ravel()
    dy_grid = np.broadcast_to(grid[:, None], (size, size)).ravel()
    cx = x - x0
    cy = y - y0
    active = np.ones(len(x), dtype=bool)
    # Each source iterates until its own step is small: its result does not depend on
    # which other sources are refined with it (a tiled detection gives the same).
    moving = np.ones(len(x), dtype=bool)
    for _ in range(iterations):
        index = np.flatnonzero(moving)
        if index.size == 0:
            break
        dx = dx_grid[None, :] - cx[index, None]
        dy = dy_grid[None, :] - cy[index, None]
        weight = np.exp(-(dx**2 + dy**2) / (2 * sigma**2)) * values[index]
        total = weight.sum(axis=1)
        good = total > 0
        safe = np.where(good, total, 1.0)
        mean_x = (weight * dx).sum(axis=1) / safe
        mean_y = (weight * dy).sum(axis=1) / safe
        # For a Gaussian source the weighted mean moves by sigma_w^2 / (sigma_w^2 +
        # sigma_s^2) of the offset; its weighted variance gives that fraction.
        variance = (weight * (dx**2 + dy**2)).sum(axis=1) / safe / 2
        variance -= (mean_x**2 + mean_y**2) / 2
        factor = 1.0 / np.clip(1.0 - variance / sigma**2, 0.1, 1.0)
        step_x = np.where(good, factor * mean_x, 0.0)
        step_y = np.where(good, factor * mean_y, 0.0)
        cx[index] += step_x
        cy[index] += step_y
        active[index] &= good
        moving[index] = good & (np.hypot(step_x, step_y) >= 1e-4)
    failed = ~active | ~np.isfinite(cx) | ~np.isfinite(cy) | (np.hypot(cx, cy) > half / 2)
    out_x = np.where(failed, x, x0 + cx)
    out_y = np.where(failed, y, y0 + cy)
    return out_x, out_y
