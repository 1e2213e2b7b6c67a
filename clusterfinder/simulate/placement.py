"""Where injected objects may go: inside every image, clear of its edges and flagged pixels.

An object injected into real images must leave a whole, clean stamp around it in each
of them: `clear_stamps` says, for pixel positions on one image, whether the square of
``stamp_size`` pixels around each lies on the image and holds no NaN and no flagged
pixel. `draw_positions` draws positions uniformly over the sky covered by the first
image, keeps those that are clear on every image and at least ``min_separation`` from
each other, and stops when it has enough; `check_positions` refuses given positions
that are not clear. Only the pixels of the stamps tested are read, so the images may be
memory maps of any size.
"""

import math

import numpy as np
from astropy.coordinates import SkyCoord

__all__ = ["ImageGrid", "check_positions", "clear_stamps", "draw_positions"]

#: Candidates drawn per object still to place, in each round of `draw_positions`.
_ROUND_FACTOR = 4
#: `draw_positions` gives up after this many candidates per object asked for.
_MAX_CANDIDATES_PER_OBJECT = 200


class ImageGrid:
    """The pixels of one image as placement sees them: data, flags, WCS and a label.

    Parameters
    ----------
    data : array-like
        2-d pixels (a memory map is fine: only stamps are read).
    mask : array-like or None
        Non-zero where a pixel is flagged.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the pixels.
    label : str
        How messages name the image (e.g. ``"images['g']"``).
    release : callable, optional
        Gives back the memory pages of the stamps read so far (for memory maps of
        files; see `clusterfinder.images.Plane.release_pages`).

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.cdelt = [-5e-5, 5e-5]
    >>> ImageGrid(np.zeros((20, 30)), None, wcs, "images['g']").shape
    (20, 30)
    """

    def __init__(self, data, mask, wcs, label, *, release=None):
        self.data = data
        self.mask = mask
        self.wcs = wcs
        self.label = label
        self.release = release

    def release_pages(self):
        """Give back the pages of the stamps read so far, if the grid knows how."""
        if self.release is not None:
            self.release()

    @property
    def shape(self):
        """``(ny, nx)``."""
        return tuple(self.data.shape)

    def to_pixel(self, coords):
        """Zero-based pixel positions ``(x, y)`` of sky positions ``coords``."""
        x, y = self.wcs.world_to_pixel(coords)
        return np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))


def clear_stamps(grid, x, y, stamp_size):
    """True where the stamp of ``stamp_size`` pixels around ``(x, y)`` is whole and clean.

    A stamp is the square of ``stamp_size`` pixels (rounded up to odd) centred on the
    pixel nearest to ``(x, y)``. It is clear when it lies entirely on the image and
    holds no NaN (or infinite) pixel and no flagged pixel.

    Parameters
    ----------
    grid : `ImageGrid`
    x, y : array-like
        Zero-based pixel positions.
    stamp_size : int
        Side of the stamp, pixels.

    Returns
    -------
    `numpy.ndarray` of bool

    Examples
    --------
    >>> import numpy as np
    >>> data = np.zeros((40, 40))
    >>> data[30, 30] = np.nan
    >>> grid = ImageGrid(data, None, None, "g")
    >>> clear_stamps(grid, [20.2, 3.0, 28.0], [20.0, 20.0, 29.0], 9).tolist()
    [True, False, False]
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    half = int(stamp_size) // 2
    ny, nx = grid.shape
    ok = np.isfinite(x) & np.isfinite(y)
    ix = np.rint(np.where(ok, x, 0.0)).astype(np.int64)
    iy = np.rint(np.where(ok, y, 0.0)).astype(np.int64)
    ok &= (ix - half >= 0) & (ix + half < nx) & (iy - half >= 0) & (iy + half < ny)
    for k in np.flatnonzero(ok):
        rows = slice(iy[k] - half, iy[k] + half + 1)
        cols = slice(ix[k] - half, ix[k] + half + 1)
        if not np.all(np.isfinite(np.asarray(grid.data[rows, cols], dtype=float))):
            ok[k] = False
        elif grid.mask is not None and np.any(np.asarray(grid.mask[rows, cols])):
            ok[k] = False
    return ok


def _clear_everywhere(grids, coords, stamp_size):
    ok = np.ones(len(coords), dtype=bool)
    for grid in grids:
        if not ok.any():
            break
        x, y = grid.to_pixel(coords)
        ok &= clear_stamps(grid, x, y, stamp_size)
        grid.release_pages()
    return ok


def check_positions(grids, coords, stamp_size, *, name="positions"):
    """Refuse positions whose stamp is not whole and clean on every image.

    Parameters
    ----------
    grids : sequence of `ImageGrid`
    coords : `~astropy.coordinates.SkyCoord`
        One-dimensional.
    stamp_size : int
        Side of the stamp, pixels of each image.
    name : str, optional
        The parameter that gave ``coords``, for the message.

    Raises
    ------
    ValueError
        Naming the first positions refused and the first image that refuses each.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.crval = [10.0, 41.0]
    >>> wcs.wcs.cdelt = [-5e-5, 5e-5]
    >>> grid = ImageGrid(np.zeros((100, 100)), None, wcs, "images['g']")
    >>> check_positions([grid], wcs.pixel_to_world([50, 99], [50, 50]), 16)
    Traceback (most recent call last):
    ...
    ValueError: positions [1] cannot take an injected object: ...
    """
    bad = {}
    for grid in grids:
        x, y = grid.to_pixel(coords)
        for k in np.flatnonzero(~clear_stamps(grid, x, y, stamp_size)):
            bad.setdefault(int(k), grid.label)
        grid.release_pages()
    if bad:
        shown = sorted(bad)[:10]
        where = "; ".join(f"{k}: {bad[k]}" for k in shown[:3])
        more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
        raise ValueError(
            f"{name} {shown}{more} cannot take an injected object: the stamp of {stamp_size} "
            f"pixels around each must lie inside every image, with no NaN or flagged pixel "
            f"({where}); move or drop them, or lower stamp_size"
        )


def draw_positions(grids, n, rng, *, stamp_size, min_separation):
    """Draw ``n`` sky positions whose stamps are whole and clean on every image.

    Candidates are drawn uniformly over the pixels of the first image (a uniform density
    on the sky for the usual projections), in rounds; each is kept if its stamp is clear
    on every image (`clear_stamps`) and it lies at least ``min_separation`` from every
    position kept before it.

    Parameters
    ----------
    grids : sequence of `ImageGrid`
        The first one is where candidates are drawn.
    n : int
        Number of positions.
    rng : `numpy.random.Generator`
    stamp_size : int
        Side of the stamp, pixels of each image.
    min_separation : `~astropy.units.Quantity`
        Smallest angle between two positions.

    Returns
    -------
    `~astropy.coordinates.SkyCoord`
        ``n`` positions, in the order they were kept.

    Raises
    ------
    ValueError
        When ``n`` positions cannot be found among ``200 n`` candidates (images that
        barely overlap, or mostly flagged, or too many objects for the area).

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.crval = [10.0, 41.0]
    >>> wcs.wcs.cdelt = [-5e-5, 5e-5]
    >>> grid = ImageGrid(np.zeros((200, 200)), None, wcs, "images['g']")
    >>> coords = draw_positions([grid], 5, np.random.default_rng(1), stamp_size=32,
    ...                         min_separation=3 * u.arcsec)
    >>> len(coords), bool(np.all(clear_stamps(grid, *grid.to_pixel(coords), 32)))
    (5, True)
    """
    first = grids[0]
    ny, nx = first.shape
    kept_x, kept_y = [], []
    cells = {}
    # Separations are tested in the first image's pixels (a local, conformal grid).
    scale = _pixel_scale_arcsec(first.wcs)
    limit = float(min_separation.to_value("arcsec")) / scale
    drawn = 0
    while len(kept_x) < n:
        if drawn >= _MAX_CANDIDATES_PER_OBJECT * n:
            raise ValueError(
                f"could place only {len(kept_x)} of {n} objects after {drawn} random "
                f"candidates: too few places where a stamp of {stamp_size} pixels lies "
                f"inside every image with no NaN or flagged pixel, at least "
                f"{min_separation} apart; ask for fewer objects, or lower stamp_size or "
                "min_separation"
            )
        batch = _ROUND_FACTOR * (n - len(kept_x)) + 16
        drawn += batch
        x = rng.uniform(-0.5, nx - 0.5, batch)
        y = rng.uniform(-0.5, ny - 0.5, batch)
        coords = first.wcs.pixel_to_world(x, y)
        ok = _clear_everywhere(grids, coords, stamp_size)
        for k in np.flatnonzero(ok):
            if len(kept_x) == n:
                break
            if limit > 0 and _crowded(cells, x[k], y[k], limit, kept_x, kept_y):
                continue
            if limit > 0:
                key = (math.floor(x[k] / limit), math.floor(y[k] / limit))
                cells.setdefault(key, []).append(len(kept_x))
            kept_x.append(x[k])
            kept_y.append(y[k])
    coords = first.wcs.pixel_to_world(np.array(kept_x), np.array(kept_y))
    return SkyCoord(coords.icrs.ra, coords.icrs.dec, frame="icrs")


def _crowded(cells, x, y, limit, kept_x, kept_y):
    cx, cy = math.floor(x / limit), math.floor(y / limit)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for j in cells.get((cx + dx, cy + dy), ()):
                if (kept_x[j] - x) ** 2 + (kept_y[j] - y) ** 2 < limit**2:
                    return True
    return False


def _pixel_scale_arcsec(wcs):
    from astropy.wcs.utils import proj_plane_pixel_scales

    return float(np.mean(proj_plane_pixel_scales(wcs.celestial)) * 3600.0)
