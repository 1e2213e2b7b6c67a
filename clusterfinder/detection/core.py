"""Source detection and forced aperture photometry on multi-band survey images.

`detect_sources` finds sources on one band or on a noise-weighted stack of the
bands that share a pixel grid, separates blends, and measures every source with
the same circular aperture in every band. Images are processed in overlapping
tiles so that a survey field of any size is never loaded whole: each tile is read
with a margin (widened where a segment near the tile is cut by it), the sky comes
from a mesh tied to the whole image, and a source is kept by the tile whose
interior holds its centroid, so that the catalogue does not depend on the tiling.
"""

import operator
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from ..utils import ClusterFinderWarning
from ..utils import progress_bar as _progress_bar
from ..utils.photometry import REFERENCE_ZEROPOINT, zero_point_scale
from .background import BACKGROUNDS, MIN_BOX, background_section, global_sky
from .images import load_images
from .photometry import (
    GROWTH_FACTOR,
    _check_aperture_correction,
    _isolated_sources,
    _measure_aperture_corrections,
    forced_photometry,
)
from .segment import (
    MarginTooSmall,
    centroid_reach,
    check_deblend_dependency,
    detect_tile,
    import_photutils,
    smoothing_radius,
)

__all__ = ["detect_sources"]

_FLAGS = ("flag_edge", "flag_masked", "flag_saturated", "flag_blended")


def _to_pixels(value, pixel_scale, name):
    """A length in pixels from an angle Quantity, a pixel Quantity or a plain number."""
    if isinstance(value, u.Quantity):
        if value.unit.physical_type == "angle":
            pixels = value.to_value(u.arcsec) / pixel_scale
        elif value.unit == u.pix:
            pixels = value.value
        else:
            raise TypeError(f"{name} must be an angle, a number of pixels or u.pix; got {value}")
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        pixels = float(value)
    else:
        raise TypeError(f"{name} must be an angle, a number of pixels or u.pix; got {value!r}")
    if not np.isfinite(pixels) or pixels <= 0:
        raise ValueError(f"{name} must be positive; got {value}")
    return float(pixels)


def _positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _tiles(region, tile_size):
    """Yield the interiors (y0, y1, x0, x1) of the tiles that cover ``region``."""
    ry0, ry1, rx0, rx1 = region
    for y0 in range(ry0, ry1, tile_size):
        for x0 in range(rx0, rx1, tile_size):
            yield y0, min(y0 + tile_size, ry1), x0, min(x0 + tile_size, rx1)


def _outer(interior, margin, shape):
    """The block read for ``interior``: ``margin`` pixels more each way, on the image."""
    y0, y1, x0, x1 = interior
    ny, nx = shape
    return max(y0 - margin, 0), min(y1 + margin, ny), max(x0 - margin, 0), min(x1 + margin, nx)


def _check_region(region, shape):
    """``region`` (x0, y0, x1, y1) as a box (y0, y1, x0, x1) on an image of ``shape``."""
    ny, nx = shape
    if region is None:
        return 0, ny, 0, nx
    try:
        values = [operator.index(v) for v in region]
    except TypeError:
        raise TypeError(f"region must be four integers (x0, y0, x1, y1); got {region!r}") from None
    if len(values) != 4:
        raise TypeError(f"region must be four integers (x0, y0, x1, y1); got {region!r}")
    x0, y0, x1, y1 = values
    if not (0 <= x0 < x1 <= nx and 0 <= y0 < y1 <= ny):
        raise ValueError(
            f"region must satisfy 0 <= x0 < x1 <= {nx} and 0 <= y0 < y1 <= {ny} (the "
            f"detection image is {nx} x {ny} pixels); got {region!r}"
        )
    return y0, y1, x0, x1


def _band_box(ref, image, outer, pad):
    """The box of ``image`` pixels covering the reference-grid box ``outer``, padded."""
    if image.same_grid(ref):
        return outer
    y0, y1, x0, x1 = outer
    xs = np.array([x0, x1, x0, x1, (x0 + x1) / 2, (x0 + x1) / 2, x0, x1], dtype=float) - 0.5
    ys = np.array([y0, y0, y1, y1, y0, y1, (y0 + y1) / 2, (y0 + y1) / 2], dtype=float) - 0.5
    bx, by = image.wcs.world_to_pixel(ref.wcs.pixel_to_world(xs, ys))
    ny, nx = image.shape
    box = (
        int(max(np.floor(np.min(by)) - pad, 0)),
        int(min(np.ceil(np.max(by)) + pad + 1, ny)),
        int(max(np.floor(np.min(bx)) - pad, 0)),
        int(min(np.ceil(np.max(bx)) + pad + 1, nx)),
    )
    if box[1] - box[0] < 1 or box[3] - box[2] < 1:
        return None
    return box


def _read(image, box):
    y0, y1, x0, x1 = box
    return np.array(image.data[y0:y1, x0:x1], dtype=float)


def _detection_image(
    outer, *, ref, loaded, stack_bands, radius_arcsec, background, box_size, global_stats
):
    """Read the block ``outer`` of every band with its sky; stack the detection bands.

    Returns the sections (band -> (box, pixels, level, rms)), the detection image,
    its noise and its invalid pixels.
    """
    sections = {}
    for band, image in loaded.items():
        box = _band_box(ref, image, outer, int(np.ceil(radius_arcsec / image.pixel_scale)) + 2)
        if box is None:
            continue
        data = _read(image, box)
        stats = None
        if background != "auto" or min(box_size, *image.shape) < MIN_BOX:
            if band not in global_stats:
                global_stats[band] = global_sky(image.data)
            stats = global_stats[band]
        level, rms = background_section(
            image.data, box, method=background, box_size=box_size, pixels=data, global_stats=stats
        )
        sections[band] = (box, data, level, rms)
    numerator = 0.0
    weight = 0.0
    for band in stack_bands:
        _, data, level, rms = sections[band]
        scale = zero_point_scale(loaded[band].zero_point)
        noise = rms * scale
        good = np.isfinite(data) & np.isfinite(level) & np.isfinite(noise) & (noise > 0)
        w = np.where(good, 1.0 / np.where(good, noise, 1.0) ** 2, 0.0)
        numerator = numerator + w * np.where(good, (data - level) * scale, 0.0)
        weight = weight + w
    invalid = weight <= 0
    safe = np.where(invalid, 1.0, weight)
    stack = np.where(invalid, 0.0, numerator / safe)
    stack_rms = np.where(invalid, np.inf, 1.0 / np.sqrt(safe))
    return sections, stack, stack_rms, invalid


def _edges(interior, outer, shape, reach):
    """The sides of ``outer`` inside the image, and the block pixels that must be exact.

    Returns ``(bottom, top, left, right)`` (True for a side of the block that is not
    the image's edge) and the slices of the block's pixels within ``reach`` of
    ``interior``, whose segments must be exactly those of the whole image.
    """
    ny, nx = shape
    oy0, oy1, ox0, ox1 = outer
    y0, y1, x0, x1 = interior
    open_edges = (oy0 > 0, oy1 < ny, ox0 > 0, ox1 < nx)
    near = (
        slice(max(y0 - reach, oy0) - oy0, min(y1 + reach, oy1) - oy0),
        slice(max(x0 - reach, ox0) - ox0, min(x1 + reach, ox1) - ox0),
    )
    return open_edges, near


def _growth_ratios(pieces, bands, distance):
    """Band -> [curve-of-growth ratios of the sources with no other within ``distance``]."""
    if not pieces:
        return {band: [] for band in bands}
    x = np.concatenate([p["x"] for p in pieces])
    y = np.concatenate([p["y"] for p in pieces])
    isolated = _isolated_sources(x, y, distance)
    growth = {}
    for band in bands:
        ratios = np.concatenate([p[f"_growth_{band}"] for p in pieces])[isolated]
        growth[band] = [ratios[np.isfinite(ratios)]]
    return growth


def _empty_table(bands):
    table = QTable()
    table["coord"] = SkyCoord(np.zeros(0) * u.deg, np.zeros(0) * u.deg, frame="icrs")
    table["x"] = np.zeros(0)
    table["y"] = np.zeros(0)
    for band in bands:
        for prefix in ("mag", "magerr", "flux", "fluxerr"):
            table[f"{prefix}_{band}"] = np.zeros(0)
    table["area"] = np.zeros(0, dtype=int)
    table["detection_snr"] = np.zeros(0)
    for flag in _FLAGS:
        table[flag] = np.zeros(0, dtype=bool)
    return table


def detect_sources(
    images,
    *,
    bands=None,
    detection_band=None,
    nsigma=4.0,
    npixels=5,
    deblend=True,
    aperture_radius=1 * u.arcsec,
    kernel_fwhm=0.7 * u.arcsec,
    background="auto",
    box_size=64,
    mag_limit=None,
    aperture_correction=None,
    zero_points=None,
    saturation=None,
    gain=None,
    tile_size=2048,
    tile_margin=64,
    region=None,
    progress_bar=False,
):
    """Detect sources on survey images and measure them in every band.

    Parameters
    ----------
    images : dict
        Band -> FITS path, HDU, HDUList, `~astropy.nddata.NDData` or
        ``(array, WCS)`` (see `~clusterfinder.detection.load_images`).
    bands : sequence of str, optional
        Bands to measure, in order; all keys of ``images`` by default.
    detection_band : str, optional
        Detect on this band. If None, detect on the inverse-variance weighted
        stack (on zero point 30) of the bands that share the first band's pixel
        grid; the others are only measured.
    nsigma : float, optional
        Detection threshold in units of the noise of the smoothed detection image
        (a matched-filter signal-to-noise ratio). On pure Gaussian noise the default
        4 gives about 2 spurious detections per million pixels, 3 about 120.
    npixels : int, optional
        Least number of connected pixels above the threshold.
    deblend : bool, optional
        Separate blended sources (`photutils.segmentation.deblend_sources`).
    aperture_radius : `~astropy.units.Quantity` or float, optional
        Radius of the photometric aperture: an angle, or pixels of the detection
        grid (a number or ``u.pix``).
    kernel_fwhm : `~astropy.units.Quantity` or float, optional
        FWHM of the Gaussian that smooths the detection image (about the seeing).
    background : {"auto", "global", "none"}, optional
        Sky estimate on a mesh of boxes tied to the whole image (see
        `~clusterfinder.detection.estimate_background`): ``"auto"`` interpolates
        sigma-clipped medians of ``box_size`` boxes; ``"global"`` is one sigma-clipped
        level and noise for the whole image; ``"none"`` takes a sky-subtracted image
        and measures only the noise.
    box_size : int, optional
        Background box size in pixels (``"auto"``).
    mag_limit : float or dict, optional
        Drop sources fainter than this: a number keeps a source bright enough in
        at least one band; a dict band -> limit requires every listed band.
    aperture_correction : None, "auto", float or dict, optional
        None gives aperture magnitudes. A number (or dict band -> number) is
        subtracted from the magnitudes (in mag, positive = brighter). ``"auto"``
        measures it per band as the median light beyond the aperture out to three
        times its radius, on bright (``detection_snr`` > 50), isolated, unflagged
        sources, which makes point-source magnitudes close to total ones; the
        values are in ``meta["detection"]["aperture_correction_mag"]``.
    zero_points : float or dict, optional
        AB zero point of each band's image (one number for every band, or a dict
        band -> number), replacing the header's (``PHOTZP``, ``MAGZPT``, ``MAGZP``,
        ``ZEROPT``) or the NDData ``meta``'s. An image that has none is refused: a
        wrong flux scale would give wrong magnitudes silently. The values used are
        in ``meta["detection"]["zero_points"]``.
    saturation, gain : float or dict, optional
        Override the header values (``SATURATE``, ``GAIN``).
    tile_size : int, optional
        Side of the tiles processed one at a time (pixels of the detection grid).
        The result does not depend on it (nor on ``tile_margin``): see below.
    tile_margin : int, optional
        Extra pixels first read around each tile (at least enough for the
        smoothing kernel, the centroid window and the photometric apertures). Where
        a segment near the tile's interior reaches the unreliable edge of this
        block, the margin is doubled and the tile read again, so that it is always
        wide enough for the largest source.
    region : tuple of int, optional
        ``(x0, y0, x1, y1)``: return only the sources whose centroid lies in the
        pixels ``x0 <= x < x1``, ``y0 <= y < y1`` of the detection grid (centroid
        rounded to the nearest pixel), reading only the pixels around them. The
        regions of a partition of the image give, together, exactly the sources of
        one call on the whole image (this is how `~clusterfinder.scan` tiles work).
        With ``aperture_correction="auto"``, the correction is measured on the
        region's sources only.
    progress_bar : bool, optional
        Show a progress bar over tiles.

    Returns
    -------
    `~astropy.table.QTable`
        One row per source: ``coord`` (ICRS), ``x``, ``y`` (zero-based pixels of the
        detection grid), and per band ``mag_<band>``, ``magerr_<band>`` (AB aperture
        magnitudes, NaN for a non-positive flux), ``flux_<band>``,
        ``fluxerr_<band>`` (aperture flux on the reference zero point 30, so that
        a flux of 1 is 30 AB mag), then ``area`` (segment pixels),
        ``detection_snr`` and the flags ``flag_edge``, ``flag_masked``,
        ``flag_saturated`` (any band) and ``flag_blended``. An image without
        sources gives an empty table (and a `~clusterfinder.utils.ClusterFinderWarning`).

    Notes
    -----
    The image is processed in tiles of ``tile_size`` pixels, each read with a
    margin, and a source belongs to the tile whose interior holds its centroid
    (rounded to the nearest pixel). The catalogue does not depend on the tiling:
    every step gives, for the sources a tile keeps, what one pass over the whole
    image gives. The sky comes from a mesh of boxes tied to the image's pixel grid,
    not to the tile (``clusterfinder.detection.background``); the smoothed detection
    image differs from the whole image's only within the kernel's radius of a
    block edge inside the image, and a tile whose interior (widened by the centroid
    window) holds part of a segment touching that border is read again with twice
    the margin, until no segment near it is cut. Positions then agree to rounding
    (about 1e-12 pixel) and fluxes to the last bits.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from clusterfinder.detection import detect_sources
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.crval = [10.68, 41.27]
    >>> wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    >>> yy, xx = np.mgrid[:64, :64]
    >>> star = 1000.0 * np.exp(-((xx - 30.2) ** 2 + (yy - 20.7) ** 2) / (2 * 1.5**2))
    >>> image = star / (2 * np.pi * 1.5**2) + np.random.default_rng(1).normal(0, 0.5, (64, 64))
    >>> sources = detect_sources({"i": (image, wcs)}, zero_points=30, background="none")
    >>> len(sources), round(float(sources["x"][0]), 1), round(float(sources["y"][0]), 1)
    (1, 30.2, 20.7)
    >>> round(float(sources["mag_i"][0]), 1)  # 1000 counts on zero point 30
    22.5
    """
    import_photutils()
    if deblend:
        check_deblend_dependency()
    options = {
        "detection_band": detection_band,
        "nsigma": nsigma,
        "npixels": npixels,
        "deblend": deblend,
        "aperture_radius": aperture_radius,
        "kernel_fwhm": kernel_fwhm,
        "background": background,
        "box_size": box_size,
        "mag_limit": mag_limit,
        "aperture_correction": aperture_correction,
        "tile_size": tile_size,
        "tile_margin": tile_margin,
        "region": region,
        "progress_bar": progress_bar,
    }
    loaded = load_images(
        images, bands=bands, zero_points=zero_points, saturation=saturation, gain=gain
    )
    try:
        return _detect(loaded, **options)
    finally:
        for image in loaded.values():
            image.close()


def _detect(
    loaded,
    *,
    detection_band,
    nsigma,
    npixels,
    deblend,
    aperture_radius,
    kernel_fwhm,
    background,
    box_size,
    mag_limit,
    aperture_correction,
    tile_size,
    tile_margin,
    region,
    progress_bar,
):
    bands = tuple(loaded)
    if detection_band is not None and detection_band not in loaded:
        raise ValueError(f"detection_band {detection_band!r} is not one of the bands {bands}")
    ref = loaded[detection_band if detection_band is not None else bands[0]]
    if detection_band is not None:
        stack_bands = (detection_band,)
    else:
        stack_bands = tuple(b for b in bands if loaded[b].same_grid(ref))
    if not np.isfinite(nsigma) or nsigma <= 0:
        raise ValueError(f"nsigma must be a positive number; got {nsigma!r}")
    npixels = _positive_int(npixels, "npixels")
    tile_size = _positive_int(tile_size, "tile_size", 16)
    tile_margin = _positive_int(tile_margin, "tile_margin", 0)
    box_size = _positive_int(box_size, "box_size", 4)
    radius_pix = _to_pixels(aperture_radius, ref.pixel_scale, "aperture_radius")
    radius_arcsec = radius_pix * ref.pixel_scale
    kernel_sigma = _to_pixels(kernel_fwhm, ref.pixel_scale, "kernel_fwhm") / (
        2 * np.sqrt(2 * np.log(2))
    )
    corrections = _check_aperture_correction(aperture_correction, tuple(loaded))
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be 'auto', 'global' or 'none'; got {background!r}")
    region_box = _check_region(region, ref.shape)
    # Pixels past the interior whose segments must be exact (see detect_tile), and a
    # first margin that holds them, the smoothing kernel and the growth aperture.
    reach = centroid_reach(kernel_sigma) + 2
    tile_margin = max(
        tile_margin,
        int(np.ceil(GROWTH_FACTOR * radius_pix)) + 2,
        smoothing_radius(kernel_sigma) + 3 + reach,
    )
    context = {
        "ref": ref,
        "loaded": loaded,
        "stack_bands": stack_bands,
        "radius_arcsec": radius_arcsec,
        "background": background,
        "box_size": box_size,
        "global_stats": {},
    }
    tiles = list(_tiles(region_box, tile_size))
    pieces = []
    for interior in _progress_bar(tiles, enabled=progress_bar, desc="detect", unit="tile"):
        margin = tile_margin
        while True:
            outer = _outer(interior, margin, ref.shape)
            sections, stack, stack_rms, invalid = _detection_image(outer, **context)
            open_edges, near = _edges(interior, outer, ref.shape, reach)
            try:
                found = detect_tile(
                    stack,
                    stack_rms,
                    invalid,
                    kernel_sigma=kernel_sigma,
                    nsigma=nsigma,
                    npixels=npixels,
                    deblend=deblend,
                    open_edges=open_edges,
                    near=near,
                )
            except MarginTooSmall:
                # A segment near the interior is cut by the block's edge: read more.
                margin *= 2
                continue
            break
        if found is None:
            continue
        x, y, area, snr, blended = found
        oy0, _, ox0, _ = outer
        gx, gy = x + ox0, y + oy0
        y0, y1, x0, x1 = interior
        inside = (gx >= x0 - 0.5) & (gx < x1 - 0.5) & (gy >= y0 - 0.5) & (gy < y1 - 0.5)
        if not np.any(inside):
            continue
        gx, gy = gx[inside], gy[inside]
        piece = {"x": gx, "y": gy, "area": area[inside], "detection_snr": snr[inside]}
        flags = {flag: np.zeros(len(gx), dtype=bool) for flag in _FLAGS}
        flags["flag_blended"] = blended[inside]
        sky = ref.wcs.pixel_to_world(gx, gy) if len(bands) > len(stack_bands) else None
        for band in bands:
            image = loaded[band]
            scale = zero_point_scale(image.zero_point)
            growth = np.full(len(gx), np.nan)
            if band not in sections:
                # This band does not cover the tile: no measurement, off the image.
                phot = {
                    key: np.full(len(gx), np.nan) for key in ("flux", "fluxerr", "mag", "magerr")
                }
                phot |= {"edge": np.ones(len(gx), bool), "masked": np.zeros(len(gx), bool)}
                phot |= {"saturated": np.zeros(len(gx), bool)}
            else:
                box, data, level, rms = sections[band]
                if image.same_grid(ref):
                    bx, by = gx, gy
                else:
                    bx, by = image.wcs.world_to_pixel(sky)
                positions = np.column_stack([bx - box[2], by - box[0]])
                measure = {
                    "zero_point": image.zero_point,
                    "gain": image.gain,
                    "saturation": image.saturation,
                    "image_shape": image.shape,
                    "offset": (box[2], box[0]),
                }
                band_radius = radius_arcsec / image.pixel_scale
                phot = forced_photometry(data, level, rms, positions, band_radius, **measure)
                if corrections == "auto":
                    # Curve of growth on bright, clean sources; which of them are
                    # isolated is decided once all sources are known.
                    good = (piece["detection_snr"] > 50) & ~flags["flag_blended"]
                    good &= ~(phot["edge"] | phot["masked"] | phot["saturated"])
                    good &= phot["flux"] > 0
                    if np.any(good):
                        big = forced_photometry(
                            data,
                            level,
                            rms,
                            positions[good],
                            GROWTH_FACTOR * band_radius,
                            **measure,
                        )
                        growth[good] = big["flux"] / phot["flux"][good]
            piece[f"mag_{band}"] = phot["mag"]
            piece[f"magerr_{band}"] = phot["magerr"]
            piece[f"flux_{band}"] = phot["flux"] * scale
            piece[f"fluxerr_{band}"] = phot["fluxerr"] * scale
            piece[f"_growth_{band}"] = growth
            flags["flag_edge"] |= phot["edge"]
            flags["flag_masked"] |= phot["masked"]
            flags["flag_saturated"] |= phot["saturated"]
        piece.update(flags)
        pieces.append(piece)

    if corrections == "auto":
        corrections = _measure_aperture_corrections(
            _growth_ratios(pieces, bands, 2 * GROWTH_FACTOR * radius_pix)
        )
    table = _empty_table(bands)
    if pieces:
        columns = {name: np.concatenate([p[name] for p in pieces]) for name in pieces[0]}
        for band, correction in (corrections or {}).items():
            columns[f"mag_{band}"] = columns[f"mag_{band}"] - correction
            columns[f"flux_{band}"] = columns[f"flux_{band}"] * 10 ** (0.4 * correction)
            columns[f"fluxerr_{band}"] = columns[f"fluxerr_{band}"] * 10 ** (0.4 * correction)
        keep = _mag_limit_mask(columns, bands, mag_limit)
        sky = ref.wcs.pixel_to_world(columns["x"][keep], columns["y"][keep]).icrs
        table = QTable()
        table["coord"] = sky
        for name in _empty_table(bands).colnames[1:]:
            table[name] = columns[name][keep]
    if len(table) == 0:
        warnings.warn(
            "detect_sources found no source above the threshold "
            f"(nsigma={nsigma}, npixels={npixels}); returning an empty table",
            ClusterFinderWarning,
            stacklevel=3,
        )
    table.meta["detection"] = {
        "bands": list(bands),
        "detection_bands": list(stack_bands),
        "nsigma": float(nsigma),
        "npixels": npixels,
        "deblend": bool(deblend),
        "aperture_radius_arcsec": float(radius_arcsec),
        "kernel_fwhm_arcsec": float(kernel_sigma * 2 * np.sqrt(2 * np.log(2)) * ref.pixel_scale),
        "background": background,
        "zero_points": {band: loaded[band].zero_point for band in bands},
        "zero_point_origins": {band: loaded[band].zero_point_origin for band in bands},
        "flux_zero_point": REFERENCE_ZEROPOINT,
        "images": {band: loaded[band].source for band in bands},
        "aperture_correction_mag": dict(corrections or {}),
        "tile_size": tile_size,
        "region": None if region is None else [int(v) for v in np.take(region_box, [2, 0, 3, 1])],
    }
    return table


def _mag_limit_mask(columns, bands, mag_limit):
    n = len(columns["x"])
    if mag_limit is None:
        return np.ones(n, dtype=bool)
    if isinstance(mag_limit, dict):
        keep = np.ones(n, dtype=bool)
        for band, limit in mag_limit.items():
            if band not in bands:
                raise ValueError(f"mag_limit names band {band!r}, which is not in {bands}")
            keep &= np.nan_to_num(columns[f"mag_{band}"], nan=np.inf) <= float(limit)
        return keep
    mags = np.vstack([np.nan_to_num(columns[f"mag_{b}"], nan=np.inf) for b in bands])
    return mags.min(axis=0) <= float(mag_limit)
