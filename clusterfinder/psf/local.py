"""The PSF measured zone by zone, for images whose PSF changes across them.

The PSF of a wide-field stack changes smoothly across it: its FWHM by a few to ~15 per
cent from one side of a tile to the other, its ellipticity by a few hundredths. One
PSF for the whole image (`measure_psf`) is then right at its centre and wrong by up to
half that change at its edges. `measure_local_psf` measures the PSF of each zone of a
grid over the image on the zone's own stars and keeps the whole image's PSF for the
zones with too few of them. The result, a `PSFGrid`, gives the PSF at any position;
`~clusterfinder.psf.attach_psf` takes one in place of a single measurement and gives
each stamp the PSF of its zone.
"""

import contextlib
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..images import load_plane
from ..utils.progress import progress_bar as _progress_bar
from ..utils.validation import check_positive_integer
from .measure import PSFMeasurement, PSFMeasurementWarning, measure_psf

__all__ = ["PSFGrid", "measure_local_psf"]

#: Largest grid (zones per axis) that `measure_local_psf` accepts.
MAX_GRID = 16


@dataclass(frozen=True, eq=False)
class PSFGrid:
    """The PSF of each zone of a grid over an image (see `measure_local_psf`).

    Attributes
    ----------
    image_shape : tuple of int
        ``(ny, nx)`` of the image.
    whole : `~clusterfinder.psf.PSFMeasurement`
        The PSF of the whole image.
    zones : tuple of tuple of `~clusterfinder.psf.PSFMeasurement`
        ``zones[iy][ix]``: the PSF of the zone in row ``iy`` (from the bottom, y) and
        column ``ix`` (x); ``whole`` where the zone has too few stars.
    measured : `numpy.ndarray`
        ``(grid, grid)`` bool: True where the zone's PSF was measured on its own stars.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from clusterfinder.psf import PSFGrid, PSFMeasurement
    >>> psf = PSFMeasurement(0.7 * u.arcsec, 3.76, 3.0, 0.0, 0 * u.deg, np.nan, 0,
    ...                      0.186 * u.arcsec / u.pix, np.full((9, 9), 1 / 81), "header")
    >>> wide = PSFMeasurement(0.8 * u.arcsec, 4.3, 3.0, 0.0, 0 * u.deg, np.nan, 0,
    ...                       0.186 * u.arcsec / u.pix, np.full((9, 9), 1 / 81), "header")
    >>> grid = PSFGrid((100, 100), psf, ((psf, wide), (psf, psf)), np.ones((2, 2), bool))
    >>> [float(p.fwhm.value) for p in grid.at([10.0, 80.0], [10.0, 20.0])]
    [0.7, 0.8]
    """

    image_shape: tuple
    whole: PSFMeasurement
    zones: tuple
    measured: np.ndarray

    def __post_init__(self):
        zones = tuple(tuple(row) for row in self.zones)
        n = len(zones)
        if n == 0 or any(len(row) != n for row in zones):
            raise ValueError("zones must be a square grid (grid rows of grid measurements)")
        for item in (self.whole, *(p for row in zones for p in row)):
            if not isinstance(item, PSFMeasurement):
                raise TypeError(f"whole and zones must be PSFMeasurement; got {item!r}")
        measured = np.array(self.measured, dtype=bool)
        if measured.shape != (n, n):
            raise ValueError(f"measured must have shape {(n, n)}; got {measured.shape}")
        measured.flags.writeable = False
        object.__setattr__(self, "zones", zones)
        object.__setattr__(self, "measured", measured)
        object.__setattr__(self, "image_shape", tuple(int(v) for v in self.image_shape))

    @property
    def grid(self):
        """Number of zones along each axis."""
        return len(self.zones)

    def edges(self):
        """``(y_edges, x_edges)``: the first pixel of each zone and, last, the image size."""
        ny, nx = self.image_shape
        return tuple(np.rint(np.linspace(0, size, self.grid + 1)).astype(int) for size in (ny, nx))

    def zone_of(self, x, y):
        """Row and column ``(iy, ix)`` of the zone holding each pixel position ``x, y``."""
        y_edges, x_edges = self.edges()
        out = []
        for value, edges in ((y, y_edges), (x, x_edges)):
            pixel = np.floor(np.asarray(value, dtype=float) + 0.5)
            index = np.searchsorted(edges, pixel, side="right") - 1
            out.append(np.clip(index, 0, self.grid - 1))
        return out[0], out[1]

    def at(self, x, y):
        """The PSF (`~clusterfinder.psf.PSFMeasurement`) at each pixel position ``x, y``."""
        iy, ix = self.zone_of(x, y)
        return [self.zones[j][i] for j, i in zip(np.ravel(iy), np.ravel(ix), strict=True)]


def measure_local_psf(
    image,
    *,
    grid=3,
    wcs=None,
    pixel_scale=None,
    size=25,
    min_stars=5,
    max_stars=60,
    mask=None,
    saturation=None,
    whole=None,
    progress_bar=False,
):
    """Measure the PSF of an image zone by zone, on the stars of each zone.

    The image is cut into ``grid`` x ``grid`` zones of equal size. The PSF of the whole
    image is measured first (`measure_psf`, with its header fallback), then that of each
    zone on the stars whose centres lie in it (each zone is measured with a margin wide
    enough to cut out the stars on its border). A zone with fewer than ``min_stars``
    usable stars keeps the whole image's PSF, and one `PSFMeasurementWarning` names
    those zones. Each zone holds ``1 / grid**2`` of the stars: on an image whose PSF
    does not change, local PSFs are noisier than the whole image's.

    Parameters
    ----------
    image : str, path-like, HDU, `~astropy.io.fits.HDUList`, `~astropy.nddata.NDData` or array
        The image, as for `measure_psf`.
    grid : int, optional
        Zones along each axis (1 to 16); 1 measures the whole image only.
    wcs, pixel_scale, size, min_stars, max_stars, mask, saturation
        As for `measure_psf` (they apply to the whole image and to every zone).
    whole : `~clusterfinder.psf.PSFMeasurement`, optional
        The PSF of the whole image when it is already known (e.g. measured on a
        central window of an image too large to read at once): it is then not
        measured again, and only one zone at a time is read.
    progress_bar : bool, optional
        Show a progress bar over the zones.

    Returns
    -------
    `PSFGrid`

    Raises
    ------
    TypeError, ValueError
        As `measure_psf`, and for a ``grid`` that is not an integer from 1 to 16 or
        leaves zones narrower than the stamps of the PSF stars.

    Examples
    --------
    >>> import dataclasses
    >>> from clusterfinder.simulate import PANDAS, simulate_field
    >>> from clusterfinder.psf import measure_local_psf
    >>> config = dataclasses.replace(PANDAS, densities={"mw_star": 6e4})
    >>> field = simulate_field(size=512, seed=1, config=config, kinds=("mw_star",),
    ...                        disc_light=False)
    >>> psfs = measure_local_psf(field.images["i"], grid=2)
    >>> psfs.measured.tolist()
    [[True, True], [True, True]]
    >>> [round(float(p.fwhm.value), 1) for p in psfs.at([100.0, 400.0], [100.0, 400.0])]
    [0.6, 0.6]
    """
    grid = check_positive_integer(grid, "grid")
    if grid > MAX_GRID:
        raise ValueError(f"grid must be at most {MAX_GRID} zones per axis; got {grid}")
    options = dict(size=size, min_stars=min_stars, max_stars=max_stars)
    if whole is None:
        whole = measure_psf(
            image, wcs=wcs, pixel_scale=pixel_scale, mask=mask, saturation=saturation, **options
        )
    elif not isinstance(whole, PSFMeasurement):
        raise TypeError(f"whole must be a PSFMeasurement or None; got {type(whole).__name__}")
    with contextlib.ExitStack() as files:
        plane = load_plane(image, "image", files)
        data = plane.data
        flags = [np.asarray(f) for f in (plane.mask, mask) if f is not None]
        for given in flags:
            if given.shape != tuple(data.shape):
                raise ValueError(
                    f"mask has shape {given.shape}; the image has shape {tuple(data.shape)}"
                )
        if saturation is None:
            saturation = plane.saturation
        margin = max(int(size) // 2, math.ceil(6.0 * whole.fwhm_pix) + 1) + 1
        ny, nx = data.shape
        if min(ny, nx) / grid < 2 * margin:
            raise ValueError(
                f"grid={grid} leaves zones of {ny // grid} x {nx // grid} pixels, narrower "
                f"than the {2 * margin} pixels that the PSF stars' stamps need; use fewer zones"
            )
        edges = tuple(np.rint(np.linspace(0, n, grid + 1)).astype(int) for n in (ny, nx))
        zones = [[whole] * grid for _ in range(grid)]
        measured = np.zeros((grid, grid), dtype=bool)
        cells = [(iy, ix) for iy in range(grid) for ix in range(grid)] if grid > 1 else []
        for iy, ix in _progress_bar(cells, enabled=progress_bar, desc="local PSF", unit="zone"):
            y0, y1 = max(edges[0][iy] - margin, 0), min(edges[0][iy + 1] + margin, ny)
            x0, x1 = max(edges[1][ix] - margin, 0), min(edges[1][ix + 1] + margin, nx)
            # One zone (and its margin) read at a time, scaled if the file is integer.
            pixels = np.asarray(data[y0:y1, x0:x1])
            bad = np.zeros(pixels.shape, dtype=bool)
            for given in flags:
                bad |= given[y0:y1, x0:x1].astype(bool)
            try:
                zones[iy][ix] = measure_psf(
                    pixels, pixel_scale=whole.pixel_scale, mask=bad, saturation=saturation,
                    **options,
                )  # fmt: skip
            except ValueError:  # too few usable stars in the zone (or none unmasked)
                continue
            measured[iy, ix] = True
    if grid == 1:
        measured[0, 0] = whole.source == "stars"
    elif not measured.all():
        missing = [(int(iy), int(ix)) for iy, ix in zip(*np.nonzero(~measured), strict=True)]
        listed = ", ".join(str(zone) for zone in missing[:8])
        if len(missing) > 8:
            listed += f" and {len(missing) - 8} more"
        warnings.warn(
            f"the PSF of {len(missing)} of the {grid * grid} zones (row, column) [{listed}] "
            f"could not be measured on their own stars (fewer than {min_stars} usable); "
            f"they use the PSF of the whole image (FWHM {whole.fwhm:.3f})",
            PSFMeasurementWarning,
            stacklevel=2,
        )
    return PSFGrid((ny, nx), whole, tuple(tuple(row) for row in zones), measured)
