"""Survey images read in blocks: opening images lazily and cutting them into tiles.

A survey image may be larger than the memory of the machine that scans it, so a
scan never loads a whole image. `open_images` opens each band memory-mapped and
keeps only its header, WCS and zero point; `make_tiles` splits the pixel grid of
the first band (the *reference* band) into square tiles; `assign_to_tiles` gives
every source to exactly one tile (the one whose core holds its centre), so that no
source is classified twice within one image (detection around a tile keeps the
sources of its core by the same rule, and gives what one pass over the whole image
gives, so a catalogue does not depend on ``tile_size``); `TiledImages.read_block` reads, for
one tile, only the pixels its stamps need, in every band, even when bands live on
different pixel grids.
"""

import contextlib
import dataclasses
import os
import warnings

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.utils.exceptions import AstropyDeprecationWarning

from ..images import (
    BandImage,  # noqa: F401 - still importable from here, as before
    load_band,
    release_pages,
    zero_points_by_band,
)
from ..utils.photometry import REFERENCE_ZEROPOINT, zero_point_scale

__all__ = ["TiledImages"]


@dataclasses.dataclass(frozen=True)
class Tile:
    """A square region of the reference band's pixel grid.

    ``x0 <= x < x1`` and ``y0 <= y < y1`` (zero-based pixel indices) is the *core*
    of the tile: the sources whose centres fall in it belong to the tile.

    Examples
    --------
    >>> from clusterfinder.scan.tiling import Tile
    >>> Tile(index=0, x0=0, y0=0, x1=100, y1=50).shape
    (50, 100)
    """

    index: int
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def shape(self):
        """``(height, width)`` of the core, in pixels."""
        return (self.y1 - self.y0, self.x1 - self.x0)


def make_tiles(shape, tile_size):
    """Split an image of ``shape`` (ny, nx) into square tiles of ``tile_size`` pixels.

    Tiles are numbered row by row from the bottom-left corner; those on the top
    and right edges are smaller when the size does not divide the image.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the reference band.
    tile_size : int
        Side of a tile in pixels (at least 16).

    Returns
    -------
    list of `Tile`

    Examples
    --------
    >>> from clusterfinder.scan.tiling import make_tiles
    >>> tiles = make_tiles((100, 250), 128)
    >>> len(tiles), tiles[-1]
    (2, Tile(index=1, x0=128, y0=0, x1=250, y1=100))
    """
    tile_size = check_tile_size(tile_size)
    ny, nx = (int(n) for n in shape)
    tiles = []
    for y0 in range(0, ny, tile_size):
        for x0 in range(0, nx, tile_size):
            tiles.append(Tile(len(tiles), x0, y0, min(x0 + tile_size, nx), min(y0 + tile_size, ny)))
    return tiles


def check_tile_size(tile_size):
    """Return ``tile_size`` as an int, or raise if it is not an integer >= 16."""
    if isinstance(tile_size, bool) or not isinstance(tile_size, (int, np.integer)):
        raise TypeError(f"tile_size must be an integer number of pixels; got {tile_size!r}")
    if tile_size < 16:
        raise ValueError(f"tile_size must be at least 16 pixels; got {tile_size}")
    return int(tile_size)


def assign_to_tiles(x, y, shape, tile_size):
    """Tile number of each pixel position, or -1 for positions off the image.

    A position belongs to the tile whose core holds the centre of its pixel
    (``round(x)``, ``round(y)``), so every position on the image has exactly one
    tile, numbered as in `make_tiles`.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.scan.tiling import assign_to_tiles
    >>> assign_to_tiles(np.array([3.0, 130.2, 260.0]), np.array([5.0, 99.4, 1.0]),
    ...                 (100, 250), 128)
    array([ 0,  1, -1])
    """
    tile_size = check_tile_size(tile_size)
    ny, nx = (int(n) for n in shape)
    ix = np.floor(np.asarray(x, dtype=float) + 0.5)
    iy = np.floor(np.asarray(y, dtype=float) + 0.5)
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    ncols = -(-nx // tile_size)
    with np.errstate(invalid="ignore"):
        tile = (iy // tile_size) * ncols + ix // tile_size
    return np.where(inside, tile, -1).astype(int)


def _describe(value):
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    return f"<{type(value).__name__}>"


def _band_image(band, value, stack, zero_point):
    """Open one entry of an ``images`` dict as a `~clusterfinder.images.BandImage`.

    ``zero_point`` (from ``zero_points=``) replaces the header's. Arrays and NDData
    that state no zero point are taken to be on 30 AB (``zero_point_origin`` is
    ``"default"``; `TiledImages` warns that this is deprecated). FITS images must
    state theirs (or be given one).
    """
    return load_band(
        value,
        band,
        label=f"the image of band {band!r}",
        zero_point=zero_point,
        default_zero_point=REFERENCE_ZEROPOINT,
        stack=stack,
    )


def _warn_default_zero_points(images):
    """Warn that images taken to be on 30 AB for want of a zero point will be refused."""
    bands = [band for band, image in images.items() if image.zero_point_origin == "default"]
    if not bands:
        return
    which = ", ".join(f"{band!r} ({images[band].source})" for band in bands)
    spelling = ", ".join(f"{band!r}: {REFERENCE_ZEROPOINT:g}" for band in bands)
    warnings.warn(
        f"the image(s) of band(s) {which} state no photometric zero point: they are taken to "
        f"be on {REFERENCE_ZEROPOINT:g} AB, but this default is deprecated and will be an "
        "error, as it is for Cutout.from_images and detect_sources; pass "
        f"zero_points={{{spelling}}} (or the images' own zero points) to keep this result",
        AstropyDeprecationWarning,
        stacklevel=4,
    )


class TiledImages:
    """The bands of one field, opened lazily, with their tiles.

    Parameters
    ----------
    images : dict
        Band -> FITS path, HDU, HDUList, `~astropy.nddata.NDData` or ``(array, WCS)``.
        Each band is read by `clusterfinder.images.load_band` and must hold one
        science image. Files are memory-mapped.
    bands : sequence of str, optional
        The bands to use, in order (default: the keys of ``images``). The first is
        the reference band whose grid is tiled.
    tile_size : int, optional
        Side of a tile in pixels of the reference band.
    zero_points : float or dict, optional
        AB zero point of each band's image (one number for every band, or a dict
        band -> number; see `clusterfinder.images.zero_points_by_band`), replacing
        the header's (``PHOTZP``, ``MAGZPT``, ``MAGZP``, ``ZEROPT``) or the NDData
        ``meta``'s. A FITS image without one is refused. An array or NDData without
        one is taken to be on 30 AB with an
        `~astropy.utils.exceptions.AstropyDeprecationWarning`: that default is
        deprecated and will become an error, as in `Cutout.from_images
        <clusterfinder.Cutout.from_images>` and
        `~clusterfinder.detection.detect_sources`.

    Attributes
    ----------
    images : dict
        Band -> `~clusterfinder.images.BandImage`.
    names : dict
        Band -> where each image came from (path, or ``<type>``).
    zero_points : dict
        Band -> the AB zero point used.
    zero_point_origins : dict
        Band -> where it came from: ``"zero_points"``, ``"header"`` or ``"default"``
        (the deprecated 30 AB).

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from clusterfinder.scan import TiledImages
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.crval, wcs.wcs.cdelt = [10.0, 41.0], [-5e-5, 5e-5]
    >>> field = TiledImages({"g": (np.zeros((300, 200)), wcs)}, tile_size=128, zero_points=27.5)
    >>> field.shape, len(field.tiles), field.zero_points, field.zero_point_origins
    ((300, 200), 6, {'g': 27.5}, {'g': 'zero_points'})
    """

    def __init__(self, images, *, bands=None, tile_size=4096, zero_points=None):
        if not isinstance(images, dict) or not images:
            raise TypeError(
                f"images must be a non-empty dict of band -> image; got {type(images).__name__}"
            )
        bands = tuple(images) if bands is None else tuple(bands)
        missing = [band for band in bands if band not in images]
        if missing:
            raise ValueError(
                f"images has no band {', '.join(map(repr, missing))}; it has "
                f"{', '.join(map(repr, images))}"
            )
        self.bands = bands
        self.tile_size = check_tile_size(tile_size)
        given = zero_points_by_band(zero_points, tuple(images))
        self._files = contextlib.ExitStack()
        try:
            self.images = {
                band: _band_image(band, images[band], self._files, given[band]) for band in bands
            }
        except BaseException:
            self.close()
            raise
        _warn_default_zero_points(self.images)
        self.names = {band: _describe(images[band]) for band in bands}
        self.zero_points = {band: image.zero_point for band, image in self.images.items()}
        self.zero_point_origins = {
            band: image.zero_point_origin for band, image in self.images.items()
        }
        self.reference = self.images[bands[0]]
        self.tiles = make_tiles(self.shape, self.tile_size)
        self.shared_grid = all(
            self.reference.same_grid(image, tolerance=1e-6) for image in self.images.values()
        )

    @property
    def shape(self):
        """``(ny, nx)`` of the reference band."""
        return self.reference.shape

    def close(self):
        """Close the files opened (images given as paths)."""
        self._files.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def footprint_coords(self):
        """Sky positions of the corners and centre of the reference image."""
        ny, nx = self.shape
        x = np.array([-0.5, nx - 0.5, nx - 0.5, -0.5, (nx - 1) / 2])
        y = np.array([-0.5, -0.5, ny - 0.5, ny - 0.5, (ny - 1) / 2])
        return self.reference.wcs.pixel_to_world(x, y)

    def pixel_positions(self, coords, band=None):
        """Pixel positions ``(x, y)`` of ``coords`` on the grid of ``band`` (reference)."""
        image = self.reference if band is None else self.images[band]
        if len(coords) == 0:
            return np.zeros(0), np.zeros(0)
        x, y = image.wcs.world_to_pixel(coords)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def tile_block(self, tile, margin):
        """Read the core of ``tile`` plus ``margin`` pixels in every band.

        Returns a dict band -> ``(array, WCS)`` of the block (float32, scaled to
        the reference zero point 30) and a dict band -> zero point (all 30); the
        WCS is shifted to the block. Other bands are read over the footprint of the tile mapped
        onto their own pixel grid.
        """
        xs = np.array([tile.x0 - margin, tile.x1 + margin, tile.x1 + margin, tile.x0 - margin])
        ys = np.array([tile.y0 - margin, tile.y0 - margin, tile.y1 + margin, tile.y1 + margin])
        corners = self.reference.wcs.pixel_to_world(xs - 0.5, ys - 0.5)
        return self._read(corners, extra=0)

    def stamp_block(self, coords, size):
        """Read the pixels that stamps of ``size`` at ``coords`` need, in every band."""
        return self._read(coords, extra=size // 2 + 2)

    def stamp_block_pixels(self, x, y, size):
        """Like `stamp_block` for bands on one grid, from reference pixel positions.

        Returns the blocks, the zero points they are on and the ``(x0, y0)`` pixel
        of the reference image at the blocks' first pixel. A band of floating-point
        pixels gives a view of its image (of the memory-mapped file: nothing is read
        until stamps are cut from it) on the image's own zero point; other bands
        (integers, scaled integers) are read and converted to float32 on zero point 30.
        `~clusterfinder.Cutout.from_images` gives back the pages it read from such a
        view band by band, as it does for the files it opens itself.
        """
        ny, nx = self.shape
        extra = size // 2 + 2
        x0 = int(np.clip(np.floor(np.min(x)) - extra, 0, nx - 1))
        x1 = int(np.clip(np.ceil(np.max(x)) + extra + 1, x0 + 1, nx))
        y0 = int(np.clip(np.floor(np.min(y)) - extra, 0, ny - 1))
        y1 = int(np.clip(np.ceil(np.max(y)) + extra + 1, y0 + 1, ny))
        blocks, zero_points = {}, {}
        for band, image in self.images.items():
            if isinstance(image.data, np.ndarray) and image.data.dtype.kind == "f":
                # Cutting stamps from a view copies only their pixels; reading the block
                # first would copy every pixel of it (most of a sparse source list's).
                blocks[band] = (image.data[y0:y1, x0:x1], None)
                zero_points[band] = image.zero_point
            else:
                blocks[band] = (self._block(image, x0, x1, y0, y1), None)
                zero_points[band] = REFERENCE_ZEROPOINT
        return blocks, zero_points, (x0, y0)

    @staticmethod
    def _block(image, x0, x1, y0, y1):
        """Pixels ``[y0:y1, x0:x1]`` of ``image`` as float32 on zero point 30."""
        try:
            block = np.array(image.data[y0:y1, x0:x1], dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise OSError(
                f"cannot read the pixels of band {image.band!r} ({image.source}): {exc}"
            ) from None
        release_pages(image.data)
        scale = zero_point_scale(image.zero_point)
        if scale != 1.0:
            block *= np.float32(scale)
        return block

    def _read(self, coords, extra):
        blocks, zero_points = {}, {}
        for band, image in self.images.items():
            x, y = self.pixel_positions(coords, band)
            ny, nx = image.shape
            if len(x) == 0 or not np.all(np.isfinite(x) & np.isfinite(y)):
                x0, x1, y0, y1 = 0, 0, 0, 0
            else:
                x0 = int(np.clip(np.floor(x.min()) - extra, 0, nx))
                x1 = int(np.clip(np.ceil(x.max()) + extra + 1, 0, nx))
                y0 = int(np.clip(np.floor(y.min()) - extra, 0, ny))
                y1 = int(np.clip(np.ceil(y.max()) + extra + 1, 0, ny))
            if x1 - x0 < 1 or y1 - y0 < 1:
                # Nothing of this band is needed; a 1-pixel block keeps the WCS valid.
                x0, y0 = min(max(x0, 0), nx - 1), min(max(y0, 0), ny - 1)
                x1, y1 = x0 + 1, y0 + 1
            block = self._block(image, x0, x1, y0, y1)
            blocks[band] = (block, image.wcs.slice((slice(y0, y1), slice(x0, x1))))
            zero_points[band] = REFERENCE_ZEROPOINT
        return blocks, zero_points


def open_images(images, *, bands=None, tile_size=4096, zero_points=None):
    """Open the bands of one field lazily; see `TiledImages`.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from clusterfinder.scan.tiling import open_images
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> open_images({"g": (np.zeros((64, 64)), wcs)}, tile_size=32, zero_points=30).shape
    (64, 64)
    """
    return TiledImages(images, bands=bands, tile_size=tile_size, zero_points=zero_points)


def as_skycoord(value, name="coords"):
    """Return ``value`` as a one-dimensional `~astropy.coordinates.SkyCoord`."""
    if not isinstance(value, SkyCoord):
        raise TypeError(f"{name} must be a SkyCoord; got {type(value).__name__}")
    return value.reshape((1,)) if value.isscalar else value
