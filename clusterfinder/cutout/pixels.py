"""Copying pixels of many stamps at once, and resampling them onto another grid.

Windows that lie inside an image are gathered for a whole batch of stamps by one
fancy-indexing call on a sliding-window view of the (possibly memory-mapped) image;
windows that reach beyond the image are gathered with clipped index arrays and a mask
of the pixels off the image. Resampling uses Keys cubic convolution (a = -0.5), whose
weights sum to 1, with counts multiplied by the ratio of pixel areas so that the total
flux of a source is kept.

Internal to `clusterfinder.cutout`: use `clusterfinder.Cutout.from_images`.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = []


def _window_shape(size):
    """``(height, width)`` of a window given as one int (square) or a pair."""
    if isinstance(size, tuple):
        return int(size[0]), int(size[1])
    return int(size), int(size)


def _gather(image, x0, y0, size):
    """Copy windows of ``size`` (an int, square, or (height, width)) at (x0, y0).

    Returns ``(stamps, off)``: an array (m, height, width) of the image's dtype, and a
    bool array of the same shape that is True off the image (None when every window
    lies inside). Windows inside the image are gathered in one fancy-indexing call
    on a sliding-window view (no Python loop over objects).
    """
    m = len(x0)
    ny, nx = image.shape
    height, width = _window_shape(size)
    inside = (x0 >= 0) & (y0 >= 0) & (x0 + width <= nx) & (y0 + height <= ny)
    if inside.all():
        if m == 1:  # one window (a region): a plain slice reads the file row by row
            return image[y0[0] : y0[0] + height, x0[0] : x0[0] + width][None], None
        return sliding_window_view(image, (height, width))[y0, x0], None
    out = np.zeros((m, height, width), dtype=image.dtype)
    if inside.any():
        k = np.flatnonzero(inside)
        out[k] = sliding_window_view(image, (height, width))[y0[k], x0[k]]
    off = np.zeros((m, height, width), dtype=bool)
    k = np.flatnonzero(~inside)
    iy = y0[k, None] + np.arange(height)
    ix = x0[k, None] + np.arange(width)
    valid = ((iy >= 0) & (iy < ny))[:, :, None] & ((ix >= 0) & (ix < nx))[:, None, :]
    values = image[np.clip(iy, 0, ny - 1)[:, :, None], np.clip(ix, 0, nx - 1)[:, None, :]]
    out[k] = np.where(valid, values, 0)
    off[k] = ~valid
    return out, off


def gather_stamps(plane, x0, y0, size):
    """Gather stamps and their invalid pixels (off the image, non-finite or flagged).

    ``size`` is the stamp width, or (height, width) for rectangular windows.

    Returns ``(stamps, invalid)``: the stamps in the image's dtype with invalid pixels
    set to 0, and a bool array (True = invalid), or None when no pixel is invalid.
    """
    data = plane.data
    scaled = getattr(data, "raw", None) is not None  # a clusterfinder.images.ScaledPixels
    stamps, invalid = _gather(data.raw if scaled else data, x0, y0, size)
    if scaled:  # gather the raw integers, scale only the stamps
        stamps = data.scale(stamps)
        if invalid is not None:
            stamps[invalid] = 0
    if data.dtype.kind == "f":
        finite = np.isfinite(stamps)
        if not finite.all():
            stamps = np.where(finite, stamps, 0)
            invalid = ~finite if invalid is None else invalid | ~finite
    if plane.mask is not None:
        flagged, _ = _gather(plane.mask, x0, y0, size)
        flagged = flagged != 0
        if flagged.any():
            stamps = np.where(flagged, 0, stamps)
            invalid = flagged if invalid is None else invalid | flagged
    return stamps, invalid


def _keys_weights(t):
    """Keys (a = -0.5) cubic-convolution weights of taps -1, 0, 1, 2 at fraction ``t``.

    ``t`` in [0, 1) is the offset of the sample from tap 0. The four weights sum to 1
    for any ``t`` (so a shifted source keeps its flux), and are (0, 1, 0, 0) at 0.
    """
    t = t.astype(np.float32)
    t2 = t * t
    return (
        (t - t2) * (0.5 * t - 0.5),  # = -0.5 t^3 + t^2 - 0.5 t
        (1.5 * t - 2.5) * t2 + 1.0,
        ((2.0 - 1.5 * t) * t + 0.5) * t,
        (0.5 * t - 0.5) * t2,
    )


def resample_stamps(plane, a, jac, size):
    """Resample ``plane`` on stamp grids given by affine maps (m stamps)."""
    m = len(a)
    steps = np.arange(size, dtype=float)
    jx, iy = steps[None, None, :], steps[None, :, None]
    u_ = a[:, 0, None, None] + jac[:, 0, 0, None, None] * jx + jac[:, 0, 1, None, None] * iy
    v_ = a[:, 1, None, None] + jac[:, 1, 0, None, None] * jx + jac[:, 1, 1, None, None] * iy
    wx0 = np.floor(u_.min(axis=(1, 2))).astype(np.int64) - 1
    wy0 = np.floor(v_.min(axis=(1, 2))).astype(np.int64) - 1
    lu = u_ - wx0[:, None, None]
    lv = v_ - wy0[:, None, None]
    width = int(max(np.ceil(lu.max()), np.ceil(lv.max()))) + 3 if m else 4
    window, bad = gather_stamps(plane, wx0, wy0, width)
    iu = np.floor(lu).astype(np.int64)
    iv = np.floor(lv).astype(np.int64)
    wu = _keys_weights(lu - iu)
    wv = _keys_weights(lv - iv)
    base = (np.arange(m, dtype=np.int64) * width * width)[:, None, None] + iv * width + iu
    flat = window.astype(np.float32).ravel()
    out = np.zeros((m, size, size), dtype=np.float32)
    row = np.empty_like(out)
    for ty in range(4):
        row[:] = 0.0
        for tx in range(4):
            values = np.take(flat, base + ((ty - 1) * width + tx - 1))
            values *= wu[tx]
            row += values
        row *= wv[ty]
        out += row
    masked = np.zeros((m, size, size), dtype=bool)
    if bad is not None:
        flat_bad = bad.ravel()
        for ty in range(4):
            for tx in range(4):
                used = (np.abs(wv[ty]) > 1e-6) & (np.abs(wu[tx]) > 1e-6)
                masked |= np.take(flat_bad, base + ((ty - 1) * width + tx - 1)) & used
    area = np.abs(np.linalg.det(jac)).astype(np.float32)
    out *= area[:, None, None]
    out[masked] = 0.0
    return out, masked
