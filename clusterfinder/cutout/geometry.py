"""Where each stamp lies on each band's image (the placement of stamps).

The first band (the *reference band*) sets the pixel grid of every stamp: for a
source at pixel ``(x, y)`` of the reference image, a stamp of ``S`` pixels starts at
``x0 = ceil(x - S / 2)``, ``y0 = ceil(y - S / 2)`` (the rule of
`astropy.nddata.Cutout2D`). Every other band is placed on that grid: where its image
shares the grid up to whole pixels the stamp is an integer window of it; otherwise
the stamp pixels map to the band's pixels through a local affine map (the band pixel
of stamp pixel (0, 0) and the Jacobian d(band pixel)/d(stamp pixel)), fitted at the
source by central differences through both WCS, accurate to ~1e-3 pixel over a stamp
of a few arcseconds.

For multi-extension images, a position is placed on the extension where it lies
farthest inside the edges.

Internal to `clusterfinder.cutout`: use `clusterfinder.Cutout.from_images`.
"""

import numpy as np
from astropy.wcs import NoConvergence

__all__ = []


def _world_to_pixel(wcs, coords):
    try:
        x, y = wcs.world_to_pixel(coords)
    except NoConvergence as exc:
        xy = np.array(exc.best_solution, dtype=float)
        if exc.divergent is not None:
            xy[exc.divergent] = np.nan
        x, y = xy[:, 0], xy[:, 1]
    return np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()


def _locate(planes, coords):
    """For each coordinate, the plane whose image holds it best, and its pixel position.

    The chosen plane is the one where the position lies farthest inside the edges
    (so that stamps near a CCD gap come from the CCD that covers most of them).
    """
    n = len(coords)
    best = np.zeros(n, dtype=np.intp)
    score = np.full(n, -np.inf)
    bx = np.full(n, np.nan)
    by = np.full(n, np.nan)
    for p, plane in enumerate(planes):
        x, y = _world_to_pixel(plane.wcs, coords)
        ny, nx = plane.shape
        with np.errstate(invalid="ignore"):
            edge = np.minimum.reduce([x + 0.5, nx - 0.5 - x, y + 0.5, ny - 0.5 - y])
        edge = np.where(np.isfinite(edge), edge, -np.inf)
        better = edge > score
        best[better] = p
        score[better] = edge[better]
        bx[better] = x[better]
        by[better] = y[better]
    return best, bx, by


def _affine_to_band(ref_plane, band_plane, x, y, xb, yb, x0, y0):
    """Map stamp pixels (on the reference grid) to pixels of ``band_plane``.

    Returns ``(a, jac)``: the band pixel of stamp pixel (0, 0), shape (m, 2), and the
    Jacobian d(band pixel)/d(stamp pixel), shape (m, 2, 2), fitted at the source by
    central differences of one pixel.
    """
    wref, wband = ref_plane.wcs, band_plane.wcs
    jac = np.empty((len(x), 2, 2))
    for axis, (dx, dy) in enumerate(((1.0, 0.0), (0.0, 1.0))):
        plus = _world_to_pixel(wband, wref.pixel_to_world(x + dx, y + dy))
        minus = _world_to_pixel(wband, wref.pixel_to_world(x - dx, y - dy))
        jac[:, 0, axis] = (plus[0] - minus[0]) / 2.0
        jac[:, 1, axis] = (plus[1] - minus[1]) / 2.0
    rel = np.stack([x0 - x, y0 - y], axis=1)
    a = np.stack([xb, yb], axis=1) + np.einsum("mij,mj->mi", jac, rel)
    return a, jac


class BandPlacement:
    """Where the stamps of one band come from.

    For each stamp: ``plane`` (index), ``integer`` (copied without resampling),
    ``origin`` (integer (x0, y0) on the plane, for integer stamps), ``a`` and ``jac``
    (the affine map, for resampled stamps) and ``valid`` (False when the position
    could not be placed on the band at all).
    """

    def __init__(self, n):
        self.plane = np.zeros(n, dtype=np.intp)
        self.integer = np.ones(n, dtype=bool)
        self.origin = np.zeros((n, 2), dtype=np.int64)
        self.a = np.zeros((n, 2))
        self.jac = np.tile(np.eye(2), (n, 1, 1))
        self.valid = np.ones(n, dtype=bool)
        self.x = np.full(n, np.nan)
        self.y = np.full(n, np.nan)

    def partial(self, planes, size):
        """True where a stamp reaches beyond its image (or cannot be placed)."""
        n = len(self.plane)
        out = ~self.valid.copy()
        shapes = np.array([p.shape for p in planes]).reshape(-1, 2)
        ny = shapes[self.plane, 0] if n else np.zeros(0)
        nx = shapes[self.plane, 1] if n else np.zeros(0)
        x0, y0 = self.origin[:, 0], self.origin[:, 1]
        off_int = (x0 < 0) | (y0 < 0) | (x0 + size > nx) | (y0 + size > ny)
        corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], float)
        mapped = self.a[:, None, :] + np.einsum("mij,cj->mci", self.jac, corners)
        lo = np.floor(mapped.min(axis=1)) - 1
        hi = np.floor(mapped.max(axis=1)) + 2
        off_res = (lo[:, 0] < 0) | (lo[:, 1] < 0) | (hi[:, 0] > nx - 1) | (hi[:, 1] > ny - 1)
        out |= np.where(self.integer, off_int, off_res)
        return out


def place_stamps(planes, bands, coords, pixels, size):
    """Compute the placement of every stamp in every band; return (geoms, ref x, y)."""
    ref = bands[0]
    n = len(coords) if coords is not None else len(pixels[0])
    geoms = {band: BandPlacement(n) for band in bands}
    g_ref = geoms[ref]
    if pixels is not None:
        x, y = pixels
        first = planes[ref][0]
        for band in bands:
            if len(planes[band]) != 1:
                raise ValueError(
                    f"pixel positions are ambiguous for band {band!r}: its image has "
                    f"{len(planes[band])} extensions; give positions as a SkyCoord"
                )
            if not planes[band][0].same_grid(first):
                raise ValueError(
                    f"pixel positions need all bands on one pixel grid, but band {band!r} "
                    f"({planes[band][0].label}) and band {ref!r} ({first.label}) differ in "
                    "shape or WCS; give positions as a SkyCoord"
                )
    else:
        for band in bands:
            for plane in planes[band]:
                if plane.wcs is None:
                    raise ValueError(
                        f"band {band!r} ({plane.label}) has no celestial WCS, so sky positions "
                        "cannot be placed on it; give a WCS or pixel positions"
                    )
        plane_idx, x, y = _locate(planes[ref], coords)
        g_ref.plane = plane_idx
    g_ref.valid = np.isfinite(x) & np.isfinite(y)
    far = -(size + 2)
    with np.errstate(invalid="ignore"):
        x0 = np.where(g_ref.valid, np.ceil(x - size / 2.0), far).astype(np.int64)
        y0 = np.where(g_ref.valid, np.ceil(y - size / 2.0), far).astype(np.int64)
    g_ref.origin = np.stack([x0, y0], axis=1)
    g_ref.a = g_ref.origin.astype(float)
    g_ref.x, g_ref.y = x, y
    for band in bands[1:]:
        g = geoms[band]
        same = len(planes[band]) == len(planes[ref]) and all(
            mine.same_grid(theirs) for mine, theirs in zip(planes[band], planes[ref], strict=True)
        )
        if pixels is not None or same:
            # One pixel grid for both bands: the reference placement applies as it is.
            g.plane = g_ref.plane.copy()
            g.valid = g_ref.valid.copy()
            g.origin = g_ref.origin.copy()
            g.a = g_ref.a.copy()
            g.x, g.y = x.copy(), y.copy()
            continue
        b_idx, xb, yb = _locate(planes[band], coords)
        g.plane, g.x, g.y = b_idx, xb, yb
        g.valid = g_ref.valid & np.isfinite(xb) & np.isfinite(yb)
        for p in np.unique(g_ref.plane):
            for q in np.unique(b_idx[g_ref.plane == p]):
                sel = np.flatnonzero((g_ref.plane == p) & (b_idx == q) & g.valid)
                if not len(sel):
                    continue
                a, jac = _affine_to_band(
                    planes[ref][p],
                    planes[band][q],
                    x[sel],
                    y[sel],
                    xb[sel],
                    yb[sel],
                    x0[sel].astype(float),
                    y0[sel].astype(float),
                )
                shift = a - np.stack([x0[sel], y0[sel]], axis=1)
                whole = np.rint(shift)
                integer = np.all(np.abs(jac - np.eye(2)) < 1e-6, axis=(1, 2)) & np.all(
                    np.abs(shift - whole) < 1e-4, axis=1
                )
                g.integer[sel] = integer
                g.origin[sel] = np.stack([x0[sel], y0[sel]], axis=1) + whole.astype(np.int64)
                g.a[sel] = np.where(integer[:, None], g.origin[sel], a)
                g.jac[sel] = np.where(integer[:, None, None], np.eye(2), jac)
        bad = ~g.valid
        g.origin[bad] = far
        g.a[bad] = far
        g.jac[bad] = np.eye(2)
        g.integer[bad] = True
    return geoms, x, y
