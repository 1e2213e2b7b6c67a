"""Vectorised extraction of multi-band stamps from survey images.

How a stamp is placed (the centring convention)
-----------------------------------------------
The first band (the *reference band*) sets the pixel grid of every stamp. For a
source at pixel ``(x, y)`` of the reference image, a stamp of ``S`` pixels starts at
the integer pixel ``x0 = ceil(x - S / 2)``, ``y0 = ceil(y - S / 2)`` (the rule of
`astropy.nddata.Cutout2D`, with which the reference band agrees pixel for pixel), so
the source lies at stamp pixel ``(x - x0, y - y0)``, within half a pixel of the stamp
centre ``((S - 1) / 2, (S - 1) / 2)``. That sub-pixel position is recorded in the
``x_stamp`` and ``y_stamp`` columns of the table. The reference band is never
resampled.

Every other band is brought onto the same stamp grid, so that a source sits on the
same stamp pixel in all bands:

- if the band shares the reference grid up to an integer shift (same pixel scale and
  orientation, offset by whole pixels) its pixels are copied as they are;
- otherwise the band is resampled at the sky positions of the stamp pixels, with
  Keys cubic convolution (a = -0.5), whose weights sum to 1; counts are multiplied
  by the ratio of pixel areas, so the total flux of a source is kept. Where stamps
  crowd, the band is resampled once per *region* of the reference grid that holds
  several of them, through one affine map fitted at the region's centre, and the
  stamps are cut out of the region (``clusterfinder.cutout.regions``); a stamp that no
  region holds (an isolated one, or where the map between the grids is too far
  from affine over a region) is resampled on its own, through a local affine map
  fitted at its source (accurate to ~1e-3 pixel over a stamp of a few arcseconds).
  Both give the same pixels (see ``clusterfinder.cutout.regions`` for the tolerance).

Pixels are gathered for many stamps at once by fancy indexing of a sliding-window
view of the (memory-mapped) image; stamps are processed in batches sorted by image
and row so that reading a large file walks through it once.
"""

import contextlib
import os
import re
from collections.abc import Mapping

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable, Table
from astropy.wcs.utils import proj_plane_pixel_scales

from ..images import load_planes
from ..utils import progress_bar as _progress_bar
from ..utils.photometry import REFERENCE_ZEROPOINT, zero_point_scale
from .core import Cutout
from .geometry import place_stamps
from .pixels import gather_stamps, resample_stamps
from .regions import Workspace, cut_region, plan_regions, resample_region
from .wcs import StampWCS

__all__ = [
    "FILTER_KEYWORDS",
    "check_filters",
    "cutouts_from_images",
    "filter_band",
    "size_in_pixels",
]

#: Stamps are extracted in batches of about this many pixels per band (8 MiB of
#: float32: small enough for the allocator to reuse the buffers between batches).
BATCH_PIXELS = 1 << 21

#: Header keywords that name an image's filter, searched in this order (the simulator
#: and MegaCam write ``FILTER``; HST ``FILTNAM1``/``FILTER1``/``FILTER2``).
FILTER_KEYWORDS = ("FILTER", "FILTNAM", "FILTNAM1", "FILTNAM2", "FILTER1", "FILTER2", "BAND")

#: Pages of a memory-mapped file that clusterfinder opened are given back to the
#: system after about this many bytes of it were read (so that the resident memory
#: of a pass over a file much larger than memory stays bounded).
RELEASE_BYTES = 256 << 20

# -- arguments ------------------------------------------------------------------------------


def size_in_pixels(size, wcs=None, *, name="cutout_size"):
    """Return the stamp width in pixels for ``size``.

    Parameters
    ----------
    size : int or `~astropy.units.Quantity`
        A number of pixels (an integer, or a Quantity in ``pix``), or an angle. An
        angle is divided by the mean pixel scale of ``wcs`` and rounded to the
        nearest *odd* number of pixels (ties go up), so that the stamp has a central
        pixel.
    wcs : `~astropy.wcs.WCS`, optional
        Needed when ``size`` is an angle.
    name : str, optional
        The argument that gave ``size``, for the messages.

    Returns
    -------
    int

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    >>> size_in_pixels(64), size_in_pixels(12 * u.arcsec, wcs), size_in_pixels(32 * u.pix)
    (64, 65, 32)
    """
    if isinstance(size, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number of pixels or an angle; got a bool")
    if isinstance(size, u.Quantity):
        if size.isscalar and size.unit == u.pix:
            size = size.value
        elif size.isscalar and size.unit.is_equivalent(u.deg):
            if wcs is None:
                raise ValueError(
                    f"{name} is an angle but the first band has no WCS to convert it to "
                    f"pixels; give {name} in pixels"
                )
            scale = float(np.mean(proj_plane_pixel_scales(wcs.celestial)))
            unit = u.Unit(wcs.celestial.wcs.cunit[0] or "deg")
            npix = size.to_value(unit) / scale
            if not np.isfinite(npix) or npix <= 0:
                raise ValueError(f"{name} must be a positive angle; got {size}")
            return int(np.floor(npix / 2.0)) * 2 + 1
        else:
            raise TypeError(
                f"{name} must be a number of pixels or a scalar angle Quantity; got {size!r}"
            )
    if isinstance(size, (int, np.integer)):
        npix = int(size)
    elif isinstance(size, (float, np.floating)) and float(size).is_integer():
        npix = int(size)
    else:
        raise TypeError(
            f"{name} must be an integer number of pixels or an angle Quantity; got {size!r}"
        )
    if npix < 1:
        raise ValueError(f"{name} must be at least 1 pixel; got {npix}")
    return npix


def _parse_positions(positions):
    """Return (SkyCoord or None, (x, y) float arrays or None)."""
    if isinstance(positions, SkyCoord):
        return (positions.reshape((1,)) if positions.isscalar else positions.ravel()), None
    if isinstance(positions, tuple):
        if len(positions) != 2:
            raise ValueError(
                f"pixel positions as a tuple must be (x, y); got a tuple of {len(positions)} items"
            )
        try:
            x = np.atleast_1d(np.asarray(positions[0], dtype=float)).ravel()
            y = np.atleast_1d(np.asarray(positions[1], dtype=float)).ravel()
        except (TypeError, ValueError):
            raise TypeError("pixel positions (x, y) must hold numbers") from None
        if x.shape != y.shape:
            raise ValueError(f"x and y of positions differ in length: {x.size} and {y.size}")
    elif isinstance(positions, (np.ndarray, list)):
        try:
            xy = np.asarray(positions, dtype=float)
        except (TypeError, ValueError):
            raise TypeError("pixel positions must be an (N, 2) array of numbers") from None
        if xy.size == 0:
            xy = xy.reshape(0, 2)
        if xy.ndim == 1 and xy.shape == (2,):
            xy = xy[None, :]
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(f"pixel positions must be an (N, 2) array of x, y; got {xy.shape}")
        x, y = xy[:, 0].copy(), xy[:, 1].copy()
    else:
        raise TypeError(
            "positions must be a SkyCoord, an (N, 2) array of pixel x, y or a tuple of x and "
            f"y arrays; got {type(positions).__name__}"
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("pixel positions must be finite")
    return None, (x, y)


def _resolve_zero_points(planes, zero_points, bands):
    """Return, per band, a list of zero points (one per plane)."""
    given = {}
    if zero_points is None:
        pass
    elif isinstance(zero_points, Mapping):
        unknown = set(zero_points) - set(bands)
        if unknown:
            raise ValueError(
                f"zero_points names band(s) {sorted(unknown)} that are not among {bands}"
            )
        given = dict(zero_points)
    elif isinstance(zero_points, (int, float, np.integer, np.floating)) and not isinstance(
        zero_points, bool
    ):
        given = dict.fromkeys(bands, zero_points)
    else:
        raise TypeError(
            "zero_points must be None, a number or a dict band -> zero point; got "
            f"{type(zero_points).__name__}"
        )
    # The plane checks the zero point it uses (given, or its header's: 15-40 AB).
    return {
        band: [
            plane.resolve_zero_point(given.get(band), band=band, label=f"images[{band!r}]")
            for plane in planes[band]
        ]
        for band in bands
    }


def _header_value(header, key):
    """``header[key]`` for a FITS header or a dict-like ``meta`` (any case), or None."""
    if header is None or not hasattr(header, "get"):
        return None
    for name in (key, key.lower()) if not isinstance(header, fits.Header) else (key,):
        try:
            value = header.get(name)
        except Exception:  # an unparsable card: no filter to read
            value = None
        if value is not None:
            return value
    return None


def filter_band(value, bands):
    """The one band of ``bands`` that a filter name names, or None.

    The name is split at spaces, dots, dashes, underscores, colons and slashes; a
    piece that is a band name (any case, optionally followed by ``'`` or digits, as in
    ``i2``) names that band. Names that point at no band, or at several, give None:
    only a clear name counts.

    Examples
    --------
    >>> bands = ("g", "i")
    >>> [filter_band(v, bands) for v in ("g.MP9401", "i.MP9702", "SDSS i", "HSC-I2", "g'")]
    ['g', 'i', 'i', 'i', 'g']
    >>> [filter_band(v, bands) for v in ("F814W", "r.MP9601", "gri.MP9605", "g i", "")]
    [None, None, None, None, None]
    """
    text = str(value).strip().lower()
    if not text:
        return None
    lower = {band.lower(): band for band in bands}
    if text in lower:
        return lower[text]
    named = set()
    for piece in re.split(r"[\s._:/\-]+", text):
        match = re.fullmatch(r"(.+?)(?:'|\d+)?", piece)
        name = match.group(1) if match else piece
        if piece in lower:
            named.add(lower[piece])
        elif len(name) == 1 and name in lower:
            named.add(lower[name])
    return named.pop() if len(named) == 1 else None


def _primary_header(image, planes):
    """The primary header of a multi-extension image (the filter is often only there)."""
    if not any(plane.extension != 0 for plane in planes):
        return None
    if isinstance(image, fits.HDUList):
        return image[0].header if len(image) else None
    if isinstance(image, (str, os.PathLike)):
        try:
            return fits.getheader(os.fspath(image), 0)
        except (OSError, IndexError):
            return None
    return None


def check_filters(headers, *, bands=None):
    """Band -> filter name read from image headers; refuse an image of another band.

    An image given as one band whose header names another of the bands in use (for
    example the image of g with ``FILTER = 'i.MP9702'``) is refused: g and i swapped
    go unnoticed by everything else and turn most stars into cluster candidates.
    Filter names that name no band in use, or none clearly (`filter_band`), pass.
    The keywords are `FILTER_KEYWORDS`; a header that names its own band wins over
    one that names another.

    Parameters
    ----------
    headers : dict
        Band -> header (`~astropy.io.fits.Header` or dict-like), or a list of the
        headers of that band's image (extensions, primary header); None is skipped.
    bands : sequence of str, optional
        The bands in use (default: the keys of ``headers``); a filter that names one
        of them for another band's image is a mismatch.

    Returns
    -------
    dict
        Band -> the first filter name found (bands without one are left out).

    Raises
    ------
    ValueError
        Naming the band, the keyword, its value and the band it names.

    Examples
    --------
    >>> check_filters({"g": {"FILTER": "g.MP9401"}, "i": {"FILTER": "i.MP9702"}})
    {'g': 'g.MP9401', 'i': 'i.MP9702'}
    >>> check_filters({"g": {"FILTER": "i.MP9702"}, "i": {"FILTER": "g.MP9401"}})
    Traceback (most recent call last):
    ...
    ValueError: images['g'] has FILTER = 'i.MP9702' in its header, which names band 'i', ...
    """
    in_use = tuple(dict.fromkeys((*headers, *(bands or ()))))
    in_use = tuple(band for band in in_use if isinstance(band, str))
    found = {}
    for band, band_headers in headers.items():
        if not isinstance(band_headers, (list, tuple)):
            band_headers = [band_headers]
        named, other = False, None
        for header in band_headers:
            for key in FILTER_KEYWORDS:
                value = _header_value(header, key)
                if value is None or isinstance(value, bool) or str(value).strip() == "":
                    continue
                found.setdefault(band, str(value).strip())
                which = filter_band(value, in_use)
                if which == band:
                    named = True
                elif which is not None and other is None:
                    other = (key, str(value).strip(), which)
        if other is not None and not named:
            key, value, which = other
            raise ValueError(
                f"images[{band!r}] has {key} = {value!r} in its header, which names band "
                f"{which!r}, another of the bands {in_use}: the images look swapped. Give "
                f"each band the image taken through its filter (images[{which!r}] = ...)"
            )
    return found


def _check_filters(images, planes, bands):
    """`check_filters` on the headers of the images of ``bands`` (all extensions)."""
    headers = {
        band: [plane.header for plane in planes[band]]
        + [_primary_header(images[band], planes[band])]
        for band in bands
    }
    return check_filters(headers, bands=tuple(images))


# -- the main entry point ---------------------------------------------------------------------


def _merge_table(ours, table, n):
    if table is None:
        return ours
    if isinstance(table, Table):
        caller = QTable(table, copy=True)
    elif isinstance(table, Mapping):
        caller = QTable(dict(table))
    else:
        raise TypeError(f"table must be an astropy Table or None; got {type(table).__name__}")
    if len(caller) != n:
        raise ValueError(f"table has {len(caller)} rows but there are {n} positions")
    for name in ours.colnames:
        if name in caller.colnames:
            caller.remove_column(name)
    for k, name in enumerate(ours.colnames):
        caller.add_column(ours[name], name=name, index=k)
    caller.meta.update(ours.meta)
    return caller


def cutouts_from_images(
    images,
    positions,
    *,
    cutout_size,
    bands=None,
    zero_points=None,
    table=None,
    off_image="mask",
    progress_bar=False,
):
    """Cut multi-band stamps out of images: the implementation of `Cutout.from_images`.

    The parameters and the result are those of `Cutout.from_images
    <clusterfinder.Cutout.from_images>`.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(100.0).reshape(10, 10)
    >>> cut = cutouts_from_images({"g": image}, [(4.0, 5.0)], cutout_size=3, zero_points=30)
    >>> cut.data[0, 0]
    array([[43., 44., 45.],
           [53., 54., 55.],
           [63., 64., 65.]], dtype=float32)
    """
    if not isinstance(images, Mapping) or not images:
        raise TypeError(
            "images must be a non-empty dict band -> image (path, HDU, HDUList, NDData or "
            f"(array, WCS)); got {type(images).__name__}"
        )
    if bands is None:
        bands = tuple(images)
    else:
        bands = (bands,) if isinstance(bands, str) else tuple(bands)
        missing = [band for band in bands if band not in images]
        if missing:
            raise ValueError(f"bands {missing} are not keys of images {list(images)}")
        if not bands:
            raise ValueError("bands is empty")
    if not all(isinstance(band, str) for band in bands):
        raise TypeError(f"band names must be strings; got {bands!r}")
    if off_image not in ("mask", "raise"):
        raise ValueError(f"off_image must be 'mask' or 'raise'; got {off_image!r}")

    coords, pixels = _parse_positions(positions)
    with contextlib.ExitStack() as stack:
        planes = {band: load_planes(images[band], f"images[{band!r}]", stack) for band in bands}
        filters = _check_filters(images, planes, bands)
        zps = _resolve_zero_points(planes, zero_points, bands)
        ref = bands[0]
        npix = size_in_pixels(cutout_size, planes[ref][0].wcs)
        geoms, x, y = place_stamps(planes, bands, coords, pixels, npix)
        n = len(x)
        partial = np.zeros(n, dtype=bool)
        for band in bands:
            partial |= geoms[band].partial(planes[band], npix)
        if off_image == "raise" and partial.any():
            bad = np.flatnonzero(partial)
            shown = ", ".join(str(k) for k in bad[:20]) + (" ..." if len(bad) > 20 else "")
            raise ValueError(
                f"{len(bad)} of {n} positions give stamps that reach beyond the image(s) "
                f"(indices {shown}); use off_image='mask' to keep them with masked pixels"
            )
        data = np.empty((n, len(bands), npix, npix), dtype=np.float32)
        mask = np.zeros((n, len(bands), npix, npix), dtype=bool)
        _extract_all(planes, bands, geoms, zps, npix, data, mask, progress_bar)

    ours = QTable()
    if coords is not None:
        ours["coord"] = coords
    elif planes[ref][0].wcs is not None:
        ours["coord"] = planes[ref][0].wcs.pixel_to_world(x, y)
    ours["x"] = x
    ours["y"] = y
    origin = geoms[ref].origin
    ours["x_stamp"] = np.where(geoms[ref].valid, x - origin[:, 0], np.nan)
    ours["y_stamp"] = np.where(geoms[ref].valid, y - origin[:, 1], np.nan)
    ours["off_image"] = partial
    shared = all(len(planes[b]) == 1 and planes[b][0].same_grid(planes[ref][0]) for b in bands)
    if not shared:
        if len(planes[ref]) > 1:
            ours[f"ext_{ref}"] = np.array([p.extension for p in planes[ref]])[geoms[ref].plane]
        for band in bands[1:]:
            ours[f"x_{band}"] = geoms[band].x
            ours[f"y_{band}"] = geoms[band].y
            if len(planes[band]) > 1:
                exts = np.array([p.extension for p in planes[band]])
                ours[f"ext_{band}"] = exts[geoms[band].plane]
    ours.meta["refzp"] = REFERENCE_ZEROPOINT
    ours.meta["refband"] = ref
    if filters:
        ours.meta["filters"] = filters
    merged = _merge_table(ours, table, n)

    bases = [p.wcs for p in planes[ref]]
    has_wcs = np.array([w is not None for w in bases])
    index = np.where(geoms[ref].valid & has_wcs[geoms[ref].plane], geoms[ref].plane, -1)
    wcs = StampWCS([w for w in bases], index, origin.astype(float), npix)
    return Cutout._from_parts(data, mask, bands, merged, wcs)


def _extract_all(planes, bands, geoms, zps, npix, data, mask, progress_bar):
    """Fill ``data`` and ``mask`` band by band in sorted batches."""
    n = data.shape[0]
    batch = max(64, BATCH_PIXELS // (npix * npix))
    bar = _progress_bar(
        enabled=progress_bar, total=n * len(bands), desc="cutting stamps", unit="stamp"
    )
    try:
        for b, band in enumerate(bands):
            g = geoms[band]
            order = np.lexsort((g.origin[:, 0], g.origin[:, 1], ~g.integer, g.plane))
            touched = [0] * len(planes[band])
            done = _extract_regions(planes, bands, geoms, zps, npix, data, mask, b, touched)
            for start in range(0, n, batch):
                sel = order[start : start + batch]
                for p in np.unique(g.plane[sel]):
                    plane = planes[band][p]
                    scale = np.float32(zero_point_scale(zps[band][p]))
                    in_p = sel[g.plane[sel] == p]
                    whole = in_p[g.integer[in_p]]
                    if len(whole):
                        stamps, bad = gather_stamps(
                            plane, g.origin[whole, 0], g.origin[whole, 1], npix
                        )
                        if scale != 1:
                            stamps = np.multiply(stamps, scale, dtype=np.float32)
                        data[whole, b] = stamps
                        if bad is not None:
                            hit = bad.any(axis=(1, 2))
                            mask[whole[hit], b] = bad[hit]
                    resampled = in_p[~g.integer[in_p] & ~done[in_p]]
                    for r in range(0, len(resampled), max(16, batch // 8)):
                        part = resampled[r : r + max(16, batch // 8)]
                        stamps, bad = resample_stamps(plane, g.a[part], g.jac[part], npix)
                        if scale != 1:
                            stamps *= scale
                        data[part, b] = stamps
                        mask[part, b] = bad
                    rows = np.ptp(g.origin[in_p, 1]) + npix if len(in_p) else 0
                    touched[p] += int(min(rows, plane.shape[0])) * plane.data[0].nbytes
                    if touched[p] > RELEASE_BYTES:
                        plane.release_pages()
                        touched[p] = 0
                bar.update(len(sel))
            for plane in planes[band]:
                plane.release_pages()
    finally:
        bar.close()


def _extract_regions(planes, bands, geoms, zps, npix, data, mask, b, touched):
    """Fill the stamps of band ``b`` that a resampled region can hold (see `regions`).

    Returns the bool array of the stamps filled; the others keep the per-stamp path.
    """
    band, ref = bands[b], bands[0]
    g, g_ref = geoms[band], geoms[ref]
    done = np.zeros(len(g.plane), dtype=bool)
    todo = np.flatnonzero(~g.integer & g.valid)
    if b == 0 or not len(todo):
        return done
    pairs = np.unique(np.stack([g_ref.plane[todo], g.plane[todo]], axis=1), axis=0)
    for p, q in pairs:
        members = todo[(g_ref.plane[todo] == p) & (g.plane[todo] == q)]
        plane = planes[band][q]
        found, _ = plan_regions(planes[ref][p], plane, members, g_ref.origin[members], npix)
        scale = np.float32(zero_point_scale(zps[band][q]))
        batch = max(64, BATCH_PIXELS // (npix * npix))
        workspace = Workspace()
        for region in sorted(found, key=lambda item: (item.y0, item.x0)):
            pixels, masked = resample_region(plane, region, workspace)
            origin = g_ref.origin[region.members]
            # by row, then column: neighbouring stamps share cache lines of the region
            members = region.members[np.lexsort((origin[:, 0], origin[:, 1]))]
            for start in range(0, len(members), batch):
                rows = members[start : start + batch]
                stamps, bad = cut_region(pixels, masked, region, g_ref.origin[rows], npix)
                data[rows, b] = stamps if scale == 1 else np.multiply(stamps, scale)
                if bad is not None:
                    mask[rows, b] = bad
            done[region.members] = True
            touched[q] += region.height * plane.data[0].nbytes
            if touched[q] > RELEASE_BYTES:
                plane.release_pages()
                touched[q] = 0
    return done
