"""Resampling a band once per region of the reference grid, then cutting stamps from it.

A band on another pixel grid than the reference band could be resampled stamp by
stamp, each stamp through an affine map fitted at its source (`resample_stamps`).
Where stamps crowd together, most pixels are then resampled several times, and each
small stamp pays for its own index arithmetic. Here the stamps of one pair of images
(reference plane, band plane) are grouped into *regions*: rectangles of the
reference grid that hold several stamps. Each region is resampled once, through one
affine map fitted at its centre, and its stamps are cut out of it by integer
windows, as for a band that shares the reference grid.

The result is the per-stamp result, computed in another order:

- the Keys (a = -0.5) weights, the taps whose weight counts for the mask
  (``|w| > 1e-6``), the ratio of pixel areas and the order of the float32 sums are
  those of `resample_stamps`;
- when the two grids differ by a shift, a rotation and a change of scale about a
  common tangent point, the map between them is affine and the two paths sample the
  band at the same positions (to ~1e-9 pixel): stamps agree to float32 rounding;
- otherwise (another tangent point, distortion terms) a region is only used where
  its affine map agrees with the exact WCS-to-WCS map to `REGION_TOLERANCE` pixel at
  its corners and edge midpoints; regions are split until they do, and a stamp that
  no region can hold keeps the per-stamp path.

When the band's axes are parallel to the reference axes (no rotation: a shift and
a change of scale), a region is resampled as two one-dimensional passes (columns,
then rows: 8 taps per pixel instead of 16) in strips of rows that stay in the
processor cache. A rotated band is resampled by blocks with the general kernel;
there, the saving is that of pixels shared by overlapping stamps.

Regions are planned by splitting the stamps at the middle of their bounding box
(along its longer side) until each part is compact: its bounding box at most
`REGION_SIDE` pixels on a side and not much larger than its stamps together
(`SEPARABLE_WASTE`, `GENERAL_WASTE`). A stamp left alone keeps the per-stamp path.

Internal to `clusterfinder.cutout`: use `clusterfinder.Cutout.from_images`.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .geometry import _affine_to_band, _world_to_pixel
from .pixels import _keys_weights, gather_stamps, resample_stamps

__all__ = []

#: Largest error (pixels of the band) allowed between a region's affine map and the
#: exact WCS-to-WCS map, checked at the corners and edge midpoints of the region.
REGION_TOLERANCE = 1e-5

#: Largest side of a region, in pixels of the reference grid (bounds the memory of
#: the region's window and result to about 17 MiB each, float32, reused from one
#: region to the next).
REGION_SIDE = 2048

#: A region resampled in two passes is used when its area is at most this many times
#: the summed area of its stamps (such a region costs less per pixel than a stamp).
SEPARABLE_WASTE = 3.0

#: The same for the general (rotated) kernel, which costs as much per pixel as a
#: stamp: a region pays only where stamps overlap.
GENERAL_WASTE = 1.0

#: Off-diagonal Jacobian terms whose effect over a region stays below this many
#: pixels are treated as zero (the axes of the two grids are parallel).
PARALLEL_TOLERANCE = 1e-6

#: Pixels of a region resampled at a time by the two-pass kernel (strips of rows
#: small enough to stay in the processor cache).
STRIP_PIXELS = 1 << 16


class Region:
    """A rectangle of the reference grid resampled at once, and the stamps it holds.

    ``members``: indices of the stamps; ``x0``, ``y0``: its first pixel on the
    reference image; ``width``, ``height``: its size; ``a``: the band pixel of its
    pixel (0, 0); ``jac``: d(band pixel)/d(reference pixel).
    """

    def __init__(self, members, x0, y0, width, height):
        self.members = members
        self.x0, self.y0 = int(x0), int(y0)
        self.width, self.height = int(width), int(height)
        self.a = None
        self.jac = None

    def parallel(self):
        """True when the two-pass kernel applies (axes parallel over the region)."""
        return (
            abs(self.jac[0, 1]) * self.height < PARALLEL_TOLERANCE
            and abs(self.jac[1, 0]) * self.width < PARALLEL_TOLERANCE
        )


def _bbox(origins, npix):
    lo = origins.min(axis=0)
    hi = origins.max(axis=0) + npix
    return lo, hi - lo


def _split(members, origins):
    """Split ``members`` in two at the middle of their origins' range (longer axis)."""
    span = np.ptp(origins, axis=0)
    axis = int(np.argmax(span))
    if span[axis] == 0:
        return None
    mid = origins[:, axis].min() + span[axis] / 2.0
    low = origins[:, axis] < mid
    return (members[low], origins[low]), (members[~low], origins[~low])


def _fit(ref_plane, band_plane, regions):
    """Fit each region's affine map at its centre; return its largest error (pixels)."""
    x0 = np.array([r.x0 for r in regions], dtype=float)
    y0 = np.array([r.y0 for r in regions], dtype=float)
    w = np.array([r.width for r in regions], dtype=float) - 1.0
    h = np.array([r.height for r in regions], dtype=float) - 1.0
    xc, yc = x0 + w / 2.0, y0 + h / 2.0
    xb, yb = _world_to_pixel(band_plane.wcs, ref_plane.wcs.pixel_to_world(xc, yc))
    a, jac = _affine_to_band(ref_plane, band_plane, xc, yc, xb, yb, x0, y0)
    # corners and edge midpoints, relative to the region origin
    fx = np.array([0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0])
    fy = np.array([0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 0.5])
    dx = w[:, None] * fx
    dy = h[:, None] * fy
    px, py = _world_to_pixel(
        band_plane.wcs,
        ref_plane.wcs.pixel_to_world((x0[:, None] + dx).ravel(), (y0[:, None] + dy).ravel()),
    )
    ex = a[:, 0, None] + jac[:, 0, 0, None] * dx + jac[:, 0, 1, None] * dy - px.reshape(dx.shape)
    ey = a[:, 1, None] + jac[:, 1, 0, None] * dx + jac[:, 1, 1, None] * dy - py.reshape(dy.shape)
    with np.errstate(invalid="ignore"):
        error = np.max(np.maximum(np.abs(ex), np.abs(ey)), axis=1)
    error = np.where(np.isfinite(error), error, np.inf)
    for k, region in enumerate(regions):
        region.a, region.jac = a[k], jac[k]
    return error


def plan_regions(ref_plane, band_plane, members, origins, npix):
    """Group stamps into regions.

    Parameters
    ----------
    ref_plane, band_plane : `clusterfinder.images.Plane`
        The reference image the stamps are placed on, and the band image to resample.
    members : int array (m,)
        Indices of the stamps (all resampled from ``band_plane``).
    origins : int array (m, 2)
        Their first pixel (x0, y0) on the reference image.
    npix : int
        Stamp width.

    Returns
    -------
    regions : list of `Region`
        With their affine maps fitted.
    singles : int array
        Stamps left to the per-stamp path.
    """
    members = np.asarray(members, dtype=np.intp)
    origins = np.asarray(origins, dtype=np.int64).reshape(-1, 2)
    regions, singles = [], []
    side = max(REGION_SIDE, 2 * npix)
    loosest = max(SEPARABLE_WASTE, GENERAL_WASTE)

    def split(part, into):
        halves = _split(*part)
        if halves is None:
            singles.append(part[0])
        else:
            into.extend(halves)

    pending = [(members, origins)] if len(members) else []
    while pending:
        candidates, following = [], []
        for part in pending:
            if len(part[0]) < 2:
                singles.append(part[0])
                continue
            (rx0, ry0), (width, height) = _bbox(part[1], npix)
            stamps_area = len(part[0]) * npix * npix
            if width <= side and height <= side and width * height <= loosest * stamps_area:
                candidates.append((Region(part[0], rx0, ry0, width, height), part))
            else:
                split(part, following)
        if candidates:
            error = _fit(ref_plane, band_plane, [region for region, _ in candidates])
            for (region, part), err in zip(candidates, error, strict=True):
                limit = SEPARABLE_WASTE if region.parallel() else GENERAL_WASTE
                area = region.width * region.height
                if err <= REGION_TOLERANCE and area <= limit * len(part[0]) * npix * npix:
                    regions.append(region)
                else:
                    split(part, following)
        pending = following
    singles = np.concatenate(singles) if singles else np.zeros(0, dtype=np.intp)
    return regions, singles


class Workspace:
    """Float32 buffers reused from one region to the next.

    A region's arrays are a few MiB; allocated afresh for every region, each would be
    handed out by the system page by page again (minor faults, and compaction where
    the system gives large arrays huge pages), which costs as much as resampling it.
    """

    def __init__(self):
        self._flat = {}

    def array(self, name, shape):
        """A float32 array of ``shape`` (contents undefined) from buffer ``name``."""
        size = int(np.prod(shape))
        flat = self._flat.get(name)
        if flat is None or flat.size < size:
            flat = self._flat[name] = np.empty(size, dtype=np.float32)
        return flat[:size].reshape(shape)


def _contiguous(index):
    """True when ``index`` counts up by one (its taps are a slice)."""
    return len(index) < 2 or bool(np.all(np.diff(index) == 1))


def _resample_parallel(plane, a, jac, height, width, workspace):
    """Resample ``plane`` on a region whose axes are parallel to the band's axes.

    Two one-dimensional Keys passes (columns, then rows), in strips of
    `STRIP_PIXELS` pixels; the products and the order of the float32 sums are those of
    `resample_stamps`, so the values are the same.
    """
    u = a[0] + jac[0, 0] * np.arange(width, dtype=float)
    v = a[1] + jac[1, 1] * np.arange(height, dtype=float)
    wx0 = int(np.floor(u.min())) - 1
    wy0 = int(np.floor(v.min())) - 1
    lu, lv = u - wx0, v - wy0
    iu = np.floor(lu).astype(np.int64)
    iv = np.floor(lv).astype(np.int64)
    wu = _keys_weights(lu - iu)
    wv = [w[:, None] for w in _keys_weights(lv - iv)]
    # one weight for a whole axis (a shift without change of scale): multiply by a
    # number, not a row of equal numbers (the same products, faster)
    wu_f = [w[0] if np.all(w == w[0]) else w for w in wu]
    wv_f = [w[0, 0] if np.all(w == w[0, 0]) else w for w in wv]
    win_w, win_h = int(iu.max()) + 3, int(iv.max()) + 3
    window, bad = gather_stamps(plane, np.array([wx0]), np.array([wy0]), (win_h, win_w))
    pixels = workspace.array("window", (win_h, win_w))
    np.copyto(pixels, window[0])  # native float32 (FITS files are big-endian)
    window = pixels
    # taps of the column pass: slices where the columns advance by one pixel
    col_slice = _contiguous(iu)
    cols = [iu + (tx - 1) for tx in range(4)]
    row_slice = _contiguous(iv)
    out = workspace.array("out", (height, width))
    masked = None
    if bad is not None:
        bad = bad[0]
        masked = np.zeros((height, width), dtype=bool)
        used_u = [np.abs(w) > 1e-6 for w in wu]
        used_v = [np.abs(w) > 1e-6 for w in wv]
    strip_rows = max(8, STRIP_PIXELS // width)
    for r0 in range(0, height, strip_rows):
        r1 = min(height, r0 + strip_rows)
        rows = iv[r0:r1]
        lo, hi = int(rows.min()) - 1, int(rows.max()) + 3
        strip = window[lo:hi]
        tmp = np.empty((hi - lo, width), dtype=np.float32)
        buf = np.empty_like(tmp)
        for tx in range(4):
            c = cols[tx]
            values = strip[:, c[0] : c[0] + width] if col_slice else np.take(strip, c, axis=1)
            if tx == 0:  # 0 + x is x: start the sum with the first product
                np.multiply(values, wu_f[tx], out=tmp)
            else:
                tmp += np.multiply(values, wu_f[tx], out=buf)
        acc = out[r0:r1]
        buf = np.empty_like(acc)
        for ty in range(4):
            first = int(rows[0]) + ty - 1 - lo
            values = tmp[first : first + r1 - r0] if row_slice else tmp[rows + (ty - 1 - lo)]
            weight = wv_f[ty] if np.ndim(wv_f[ty]) == 0 else wv_f[ty][r0:r1]
            if ty == 0:
                np.multiply(values, weight, out=acc)
            else:
                acc += np.multiply(values, weight, out=buf)
        if bad is not None:
            strip_bad = bad[lo:hi]
            bad_x = np.zeros((hi - lo, width), dtype=bool)
            for tx in range(4):
                bad_x |= np.take(strip_bad, cols[tx], axis=1) & used_u[tx]
            for ty in range(4):
                masked[r0:r1] |= bad_x[rows + (ty - 1 - lo)] & used_v[ty][r0:r1]
    return out, masked


def _resample_general(plane, a, jac, height, width, workspace, block=64):
    """Resample ``plane`` on a region of any orientation, block by block.

    Each block is a `resample_stamps` stamp, so the values, the area factor and the
    mask are exactly its. One row of blocks is resampled at a time (bounded
    temporaries, as the per-stamp path's batches).
    """
    nby, nbx = -(-height // block), -(-width // block)
    out = workspace.array("out", (nby * block, nbx * block))
    masked = None
    offsets = np.stack([np.arange(nbx) * block, np.zeros(nbx)], axis=1).astype(float)
    jacs = np.broadcast_to(jac, (nbx, 2, 2))
    for row in range(nby):
        starts = a[None, :] + (offsets + np.array([0.0, row * block])) @ jac.T
        blocks, bad = resample_stamps(plane, starts, jacs, block)
        rows = slice(row * block, (row + 1) * block)
        out[rows] = blocks.transpose(1, 0, 2).reshape(block, nbx * block)
        if bad.any():
            if masked is None:
                masked = np.zeros(out.shape, dtype=bool)
            masked[rows] = bad.transpose(1, 0, 2).reshape(block, nbx * block)
    out = out[:height, :width]
    return out, None if masked is None else masked[:height, :width]


def resample_region(plane, region, workspace=None):
    """Resample ``plane`` on ``region``; return (pixels, mask or None), flux kept.

    Counts are multiplied by the ratio of pixel areas and masked pixels set to 0,
    as `resample_stamps` does. With a `Workspace`, the pixels are a view of its
    buffer, valid until the next call with it.
    """
    args = (plane, region.a, region.jac, region.height, region.width)
    workspace = Workspace() if workspace is None else workspace
    if not region.parallel():
        return _resample_general(*args, workspace)
    out, masked = _resample_parallel(*args, workspace)
    out *= np.float32(abs(np.linalg.det(region.jac)))
    if masked is not None:
        out[masked] = 0.0
    return out, masked


def cut_region(pixels, masked, region, origins, npix):
    """Cut the stamps at ``origins`` (reference pixels) out of a resampled region."""
    ox = origins[:, 0] - region.x0
    oy = origins[:, 1] - region.y0
    stamps = sliding_window_view(pixels, (npix, npix))[oy, ox]
    bad = None if masked is None else sliding_window_view(masked, (npix, npix))[oy, ox]
    return stamps, bad
