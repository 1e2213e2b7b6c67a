"""Sky background on a mesh tied to the image's own pixel grid.

Detection reads a survey image in tiles, and a source catalogue must not depend on
how the image was cut. A background estimated on each tile as if it were an image
of its own (a mesh of boxes starting at the tile's corner, edge effects at the
tile's borders) changes with the tiling, and with it the detection threshold,
the segments and the fluxes near every tile edge. Here the mesh belongs to the
image: box ``(j, i)`` always holds the pixels ``[j * box, (j + 1) * box)`` by
``[i * box, (i + 1) * box)`` of the whole image (boxes at the top and right edges
are smaller when ``box`` does not divide the image), and the sky on a section is
computed from the boxes around it only:

1. each box gives a sigma-clipped median (the level) and standard deviation (the
   noise) of its valid pixels; a box more than half invalid (NaN, masked) has none;
2. the mesh is smoothed with a 3x3 median filter of the valid boxes (this also
   fills a box without a value from its neighbours);
3. the level and noise at a pixel are interpolated bilinearly between the centres
   of the four boxes around it (held constant beyond the outermost centres).

So the sky at a pixel depends on the pixels of the boxes at most two boxes away
and on nothing else: `background_section` reads that much around the section it
is asked for, and returns, pixel for pixel, the values a single pass over the
whole image would give, bit for bit, whatever the section. A pixel with no valid
box within two boxes (inside a large masked region) gets NaN level and noise,
and is treated as invalid.

``method="global"`` and ``"none"`` use one level and noise for the whole image,
measured on all of it (on a fixed, regular sample of at most `GLOBAL_SAMPLE`
pixels for larger images), again independent of any tiling.
"""

import warnings

import numpy as np

__all__ = ["BACKGROUNDS", "GLOBAL_SAMPLE", "background_section", "global_sky"]

#: The sky estimates `background_section` knows.
BACKGROUNDS = ("auto", "global", "none")

#: Largest number of pixels sampled for the whole-image ("global") sky statistics.
GLOBAL_SAMPLE = 4_194_304

#: Smallest mesh box (pixels); smaller images fall back to one global estimate.
MIN_BOX = 8


def _clip_stats(values, axis=None):
    """Sigma-clipped (3 sigma, 10 iterations) median and std along ``axis``."""
    from astropy.stats import sigma_clip
    from astropy.utils.exceptions import AstropyUserWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are left NaN
        # NaN marks invalid pixels and the padding of partial boxes: expected here.
        warnings.filterwarnings("ignore", "Input data contains invalid", AstropyUserWarning)
        clipped = sigma_clip(values, sigma=3.0, maxiters=10, axis=axis, masked=False, copy=False)
        return np.nanmedian(clipped, axis=axis), np.nanstd(clipped, axis=axis)


def global_sky(data, *, mask=None):
    """Sigma-clipped median and standard deviation of a whole image.

    Images of more than `GLOBAL_SAMPLE` pixels are sampled on a regular grid
    (every ``step``-th row and column, the same whatever part of the image is
    being processed), so that the statistics of a large memory-mapped image cost
    a bounded read.

    Parameters
    ----------
    data : array-like
        The whole two-dimensional image (NaN where invalid); may be memory-mapped.
    mask : `numpy.ndarray` of bool, optional
        Pixels to ignore, besides non-finite ones.

    Returns
    -------
    level, rms : float
        NaN when fewer than 10 pixels are valid.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.detection.background import global_sky
    >>> level, rms = global_sky(np.random.default_rng(0).normal(10.0, 2.0, (128, 128)))
    >>> round(level), round(rms)
    (10, 2)
    """
    ny, nx = data.shape
    step = max(1, int(np.ceil(np.sqrt(ny * nx / GLOBAL_SAMPLE))))
    sample = np.array(data[::step, ::step], dtype=float)
    if mask is not None:
        sample[np.asarray(mask, dtype=bool)[::step, ::step]] = np.nan
    sample = sample[np.isfinite(sample)]
    if sample.size < 10:
        return np.nan, np.nan
    level, rms = _clip_stats(sample)
    return float(level), float(rms)


def _box_centres(n, box):
    """Centres (pixels) of the boxes of a mesh of ``box`` along an axis of ``n`` pixels."""
    starts = np.arange(0, n, box)
    return (starts + np.minimum(starts + box, n) - 1) / 2.0


def _mesh_stats(pixels, box, mesh_shape):
    """Clipped median and std of each box of ``pixels``, whose corner is a box corner.

    ``mesh_shape`` is the number of boxes along each axis; the last ones may be
    partial. Boxes with fewer than half their pixels valid are NaN.
    """
    nby, nbx = mesh_shape
    ny, nx = pixels.shape
    padded = np.full((nby * box, nbx * box), np.nan)
    padded[:ny, :nx] = pixels
    boxes = padded.reshape(nby, box, nbx, box).swapaxes(1, 2).reshape(nby * nbx, box * box)
    heights = np.minimum(box, ny - box * np.arange(nby))
    widths = np.minimum(box, nx - box * np.arange(nbx))
    size = (heights[:, None] * widths[None, :]).ravel()
    n_good = np.isfinite(boxes).sum(axis=1)
    valid = (2 * n_good >= size) & (n_good >= 3)
    level = np.full(nby * nbx, np.nan)
    rms = np.full(nby * nbx, np.nan)
    if np.any(valid):
        level[valid], rms[valid] = _clip_stats(boxes[valid], axis=1)
    return level.reshape(nby, nbx), rms.reshape(nby, nbx)


def _median3(mesh):
    """3x3 median filter of the finite values of ``mesh`` (NaN beyond its edges)."""
    ny, nx = mesh.shape
    padded = np.pad(mesh, 1, constant_values=np.nan)
    shifted = np.stack([padded[dy : dy + ny, dx : dx + nx] for dy in range(3) for dx in range(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN neighbourhoods stay NaN
        return np.nanmedian(shifted, axis=0)


def _weights(coords, centres):
    """Indices of the two nodes around each coordinate and the weight of the second."""
    n = len(centres)
    upper = np.clip(np.searchsorted(centres, coords, side="right"), 1, max(n - 1, 1))
    lower = upper - 1
    upper = np.minimum(upper, n - 1)
    span = centres[upper] - centres[lower]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(span > 0, (coords - centres[lower]) / np.where(span > 0, span, 1.0), 0.0)
    return lower, upper, np.clip(t, 0.0, 1.0)


def _interpolate(mesh, ylow, yup, ty, xlow, xup, tx):
    """Bilinear interpolation of ``mesh`` with per-pixel renormalisation over NaN nodes.

    Every output pixel is computed from its own four nodes only, with element-wise
    operations, so that its value does not depend on the section it belongs to.
    """
    good = np.isfinite(mesh)
    values = np.where(good, mesh, 0.0)
    rows = (1.0 - tx) * values[:, xlow] + tx * values[:, xup]
    out = (1.0 - ty)[:, None] * rows[ylow] + ty[:, None] * rows[yup]
    if good.all():
        return out
    weight_rows = (1.0 - tx) * good[:, xlow] + tx * good[:, xup]
    weight = (1.0 - ty)[:, None] * weight_rows[ylow] + ty[:, None] * weight_rows[yup]
    complete_rows = good[:, xlow] & good[:, xup]
    complete = complete_rows[ylow] & complete_rows[yup]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(complete, out, np.where(weight > 0, out / weight, np.nan))


def background_section(
    data, box, *, method="auto", box_size=64, pixels=None, global_stats=None, mask=None
):
    """Sky level and noise on one section of an image, from the image's own mesh.

    The values at a pixel do not depend on the section asked for: they are the
    ones an estimate over the whole image gives (see the module's description).

    Parameters
    ----------
    data : array-like
        The whole two-dimensional image (may be memory-mapped); pixels around the
        section are read from it as the mesh needs.
    box : tuple of int
        The section ``(y0, y1, x0, x1)``: pixels ``data[y0:y1, x0:x1]``.
    method : {"auto", "global", "none"}, optional
        ``"auto"``: the mesh of boxes of ``box_size`` pixels; ``"global"``: one
        level and noise for the whole image (`global_sky`); ``"none"``: level 0
        (a sky-subtracted image) and the whole image's noise.
    box_size : int, optional
        Side of the mesh boxes (``"auto"``), clipped to the image's smaller side;
        below `MIN_BOX` pixels the global estimate is used.
    pixels : `numpy.ndarray`, optional
        ``data[y0:y1, x0:x1]`` as floats, when already read (saves reading it again
        when the section and its surrounding boxes coincide).
    global_stats : tuple of float, optional
        ``(level, rms)`` of `global_sky`, when already measured for this image.
    mask : `numpy.ndarray` of bool, optional
        Pixels of the whole image to ignore, besides non-finite ones.

    Returns
    -------
    level, rms : `numpy.ndarray`
        Arrays of the section's shape; NaN where nothing valid is near.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.detection.background import background_section
    >>> image = np.random.default_rng(0).normal(10.0, 2.0, (256, 256))
    >>> whole, _ = background_section(image, (0, 256, 0, 256), box_size=32)
    >>> part, _ = background_section(image, (100, 180, 30, 90), box_size=32)
    >>> bool(np.array_equal(part, whole[100:180, 30:90]))
    True
    """
    if method not in BACKGROUNDS:
        raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}; got {method!r}")
    ny, nx = data.shape
    y0, y1, x0, x1 = (int(v) for v in box)
    shape = (y1 - y0, x1 - x0)
    size = int(min(box_size, ny, nx))
    if method != "auto" or size < MIN_BOX:
        level, rms = global_sky(data, mask=mask) if global_stats is None else global_stats
        level = 0.0 if method == "none" and np.isfinite(rms) else level
        return np.full(shape, level), np.full(shape, rms)
    mesh_ny, mesh_nx = -(-ny // size), -(-nx // size)
    # Nodes that the section's pixels interpolate between, and the boxes their
    # median filter reads: at most two boxes beyond the section on each side.
    node_y0, node_y1 = max(y0 // size - 1, 0), min((y1 - 1) // size + 1, mesh_ny - 1)
    node_x0, node_x1 = max(x0 // size - 1, 0), min((x1 - 1) // size + 1, mesh_nx - 1)
    box_y0, box_y1 = max(node_y0 - 1, 0), min(node_y1 + 1, mesh_ny - 1)
    box_x0, box_x1 = max(node_x0 - 1, 0), min(node_x1 + 1, mesh_nx - 1)
    ry0, ry1 = box_y0 * size, min((box_y1 + 1) * size, ny)
    rx0, rx1 = box_x0 * size, min((box_x1 + 1) * size, nx)
    if pixels is not None and (ry0, ry1, rx0, rx1) == (y0, y1, x0, x1):
        region = np.array(pixels, dtype=float)
    else:
        region = np.array(data[ry0:ry1, rx0:rx1], dtype=float)
    if mask is not None:
        region[np.asarray(mask, dtype=bool)[ry0:ry1, rx0:rx1]] = np.nan
    level, rms = _mesh_stats(region, size, (box_y1 - box_y0 + 1, box_x1 - box_x0 + 1))
    keep = (
        slice(node_y0 - box_y0, node_y1 - box_y0 + 1),
        slice(node_x0 - box_x0, node_x1 - box_x0 + 1),
    )
    level, rms = _median3(level)[keep], _median3(rms)[keep]
    centres_y = _box_centres(ny, size)[node_y0 : node_y1 + 1]
    centres_x = _box_centres(nx, size)[node_x0 : node_x1 + 1]
    ywts = _weights(np.arange(y0, y1, dtype=float), centres_y)
    xwts = _weights(np.arange(x0, x1, dtype=float), centres_x)
    return _interpolate(level, *ywts, *xwts), _interpolate(rms, *ywts, *xwts)
