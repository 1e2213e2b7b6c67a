"""Inject simulated star clusters into real survey images.

An astronomer with real images has no pixel-level truth. `inject` adds the simulator's
objects (young and old clusters, and asterisms as hard negatives) to them: each object is
drawn with the simulator's physics (`~clusterfinder.simulate.population.draw_objects`),
placed at a sky position where every image has a whole, clean stamp
(`~clusterfinder.simulate.placement`), and rendered on each image's own pixel grid with
that image's PSF and zero point (`~clusterfinder.simulate.injection_scene`). The real
sky, crowding, PSF and noise stay as they are; only the objects' light (and its photon
noise) is added. Images are read and written in sections of rows, so they may be larger
than memory. The result holds the new images and a truth table.
"""

import contextlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs.utils import proj_plane_pixel_scales

from ..galaxy import M31, GalaxyGeometry
from ..images import load_plane
from ..utils import as_generator
from ..utils.files import atomic_write
from ..utils.outputs import check_output_dir, check_output_file
from ..utils.photometry import as_magnitude
from ..utils.progress import progress_bar as _progress_bar
from ..utils.validation import check_positive_integer, check_radius, check_seed
from .config import KINDS, PANDAS
from .injection_scene import (
    EXTINCTION,
    FRAME_SCALE,
    add_source_noise,
    image_scene,
    local_jacobians,
    pixel_psf,
    population_on_grid,
)
from .placement import ImageGrid, check_positions, draw_positions
from .population import INJECTABLE_KINDS, Population, band_magnitude, draw_objects
from .profiles import PixelPSF

__all__ = ["Injection", "inject"]

#: Header keywords removed from an input header before it heads an output image.
_STRUCTURE_KEYWORDS = (
    "SIMPLE", "XTENSION", "BITPIX", "EXTEND", "PCOUNT", "GCOUNT", "BSCALE", "BZERO", "BLANK",
    "CHECKSUM", "DATASUM",
)  # fmt: skip


@dataclass
class Injection:
    """What `inject` returns: the new images, the truth table and the PSFs used.

    Attributes
    ----------
    images : dict
        Band -> `~astropy.io.fits.PrimaryHDU` (in memory) or `~pathlib.Path` of the FITS
        file written (with ``output=``).
    truth : `~astropy.table.QTable`
        One row per injected object: ``coord`` (`~astropy.coordinates.SkyCoord`), ``name``,
        ``kind``, ``mag_<band>`` for every image (the flux added, AB), ``reff`` (arcsec),
        ``profile``, ``gamma``, ``concentration``, ``ellipticity``, ``pa`` (position angle
        of the major axis, east of north), ``nstars``, ``ebv``, and ``x_<band>``,
        ``y_<band>`` (zero-based pixel position on each image).
    psfs : dict
        Band -> the `~clusterfinder.psf.PSFMeasurement` (or
        `~clusterfinder.simulate.profiles.PixelPSF`) the objects were rendered with.
    truth_path : `~pathlib.Path` or None
        Where the truth table was written (with ``output=``).

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> truth = QTable({"coord": SkyCoord([10.0] * u.deg, [41.0] * u.deg),
    ...                 "kind": ["young_cluster"]})
    >>> result = Injection(images={}, truth=truth)
    >>> result.labels(SkyCoord([10.1] * u.deg, [41.0] * u.deg))
    <LabelSet: 2 objects (1 cluster, 1 non-cluster)>
    """

    images: dict
    truth: QTable
    psfs: dict = field(default_factory=dict)
    truth_path: Path | None = None

    def labels(self, sources=None, **options):
        """The `~clusterfinder.labels.LabelSet` of the injected objects and real ``sources``.

        Shorthand for `LabelSet.from_injection(self.truth, sources, **options)
        <clusterfinder.labels.LabelSet.from_injection>`.
        """
        from ..labels import LabelSet

        return LabelSet.from_injection(self.truth, sources, **options)


def _check_counts(n):
    if isinstance(n, dict):
        counts = {}
        for kind, count in n.items():
            if kind not in INJECTABLE_KINDS:
                raise ValueError(
                    f"n names kind {kind!r}, which cannot be injected; expected kinds among "
                    f"{INJECTABLE_KINDS}"
                )
            counts[kind] = check_positive_integer(count, f"n[{kind!r}]")
        if not counts:
            raise ValueError("n is an empty dict; give at least one kind -> number of objects")
        return counts
    return {"young_cluster": check_positive_integer(n, "n")}


def _check_mapping(value, name, bands):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict band -> value; got {type(value).__name__}")
    unknown = [band for band in value if band not in bands]
    if unknown:
        raise ValueError(f"{name} names band(s) {unknown} that are not in images {list(bands)}")
    return dict(value)


def _open(images, zero_points, filters, gains, source_noise, stack):
    """Band -> (plane, zero point, simulator band, gain), every image checked."""
    opened = {}
    for band, image in images.items():
        if not isinstance(band, str) or not band:
            raise TypeError(f"images must be keyed by band names (strings); got {band!r}")
        label = f"images[{band!r}]"
        plane = load_plane(image, label, stack)
        if plane.wcs is None:
            if plane.kind == "array" and plane.header is None:
                raise TypeError(
                    f"{label} has no WCS: give (array, WCS) so that objects can be placed on "
                    "the sky"
                )
            raise ValueError(
                f"{label} ({plane.label}) has no celestial WCS: objects cannot be placed on it "
                "(add CTYPE/CRVAL/CRPIX/CD keywords to its header)"
            )
        zero_point = plane.resolve_zero_point(zero_points.get(band), band=band, label=label)
        model_band = filters.get(band, band)
        if model_band not in EXTINCTION:
            raise ValueError(
                f"band {band!r} is not one whose magnitudes the simulator models "
                f"({', '.join(EXTINCTION)}); pass filters={{{band!r}: 'g'}} (the nearest of "
                "them) to inject its objects with that band's magnitudes"
            )
        gain = gains.get(band, plane.gain)
        if gain is not None:
            if isinstance(gain, (bool, np.bool_)) or not isinstance(gain, (int, float, np.number)):
                raise TypeError(f"gains[{band!r}] must be a number (e-/count); got {gain!r}")
            gain = float(gain)
            if not (math.isfinite(gain) and gain > 0):
                raise ValueError(f"gains[{band!r}] must be a positive number; got {gain!r}")
        elif source_noise:
            raise ValueError(
                f"{label} has no gain (header keyword GAIN or EGAIN) for the photon noise of "
                f"the injected light; pass gains={{{band!r}: ...}} (electrons per count) or "
                "source_noise=False"
            )
        opened[band] = (plane, zero_point, model_band, gain)
    return opened


def _measure(plane, psf, band):
    """The PSF of ``plane``: ``psf`` if given, else measured on its central window."""
    from ..psf import PSFMeasurement, measure_psf
    from ..scan.find import PSF_WINDOW

    if psf is not None:
        if not isinstance(psf, (PSFMeasurement, PixelPSF)):
            raise TypeError(
                "psfs values must be PSFMeasurement (e.g. from clusterfinder.psf.measure_psf) "
                f"or PixelPSF objects; got {type(psf).__name__}"
            )
        return psf
    ny, nx = plane.shape
    y0, x0 = max(0, (ny - PSF_WINDOW) // 2), max(0, (nx - PSF_WINDOW) // 2)
    window = (slice(y0, y0 + PSF_WINDOW), slice(x0, x0 + PSF_WINDOW))
    header = fits.Header(plane.header) if isinstance(plane.header, fits.Header) else fits.Header()
    header.update(plane.wcs[window].to_header())
    hdu = fits.ImageHDU(np.asarray(plane.data[window], dtype=np.float32), header=header)
    mask = None if plane.mask is None else np.asarray(plane.mask[window]) != 0
    try:
        return measure_psf(hdu, saturation=plane.saturation, mask=mask)
    except ValueError as exc:
        raise ValueError(
            f"images[{band!r}] ({plane.label}): {exc}; or give its PSF with "
            f"psfs={{{band!r}: ...}} (a PSFMeasurement)"
        ) from None


def _pixel_scale(wcs):
    return float(np.mean(proj_plane_pixel_scales(wcs.celestial)) * 3600.0)


#: Rounds of drawing before `inject` gives up filling ``mag_range``.
_MAG_RANGE_ROUNDS = 50


def _check_mag_range(mag_range, bands, filters):
    """Simulator band -> (bright, faint) from ``mag_range`` (band -> pair of magnitudes)."""
    if mag_range is None:
        return {}
    ranges = {}
    for band, limits in _check_mapping(mag_range, "mag_range", bands).items():
        try:
            bright, faint = limits
        except (TypeError, ValueError):
            raise TypeError(
                f"mag_range[{band!r}] must be a pair (bright, faint) of AB magnitudes; "
                f"got {limits!r}"
            ) from None
        bright = as_magnitude(bright, f"mag_range[{band!r}][0]")
        faint = as_magnitude(faint, f"mag_range[{band!r}][1]")
        if not bright < faint:
            raise ValueError(
                f"mag_range[{band!r}] must be (bright, faint) with bright < faint; got {limits!r}"
            )
        ranges[filters.get(band, band)] = (bright, faint)
    return ranges


def _magnitudes(population, model_band):
    """Total AB magnitude (zero point free) of each object in a simulator band."""
    n = len(population.objects["x"])
    flux = np.zeros(n)
    for part in (population.points, population.extended):
        mag = band_magnitude(part["mag_g"], part["mag_i"], model_band)
        mag = mag + EXTINCTION[model_band] * np.asarray(part["ebv"], dtype=float)
        flux += np.bincount(part["owner"], 10.0 ** (-0.4 * mag), minlength=n)
    with np.errstate(divide="ignore"):
        return -2.5 * np.log10(flux)


def _draw(counts, rng, ranges, **options):
    """The objects to inject: ``counts`` of each kind, within ``ranges`` if any."""
    if not ranges:
        return draw_objects(counts, rng, **options)
    need, chosen, drawn = dict(counts), [], dict.fromkeys(counts, 0)
    for _ in range(_MAG_RANGE_ROUNDS):
        batch = {kind: 4 * left + 16 for kind, left in need.items() if left}
        if not batch:
            break
        population = draw_objects(batch, rng, **options)
        ok = np.ones(len(population.objects["x"]), dtype=bool)
        for model_band, (bright, faint) in ranges.items():
            mags = _magnitudes(population, model_band)
            ok &= (mags >= bright) & (mags <= faint)
        for kind in batch:
            index = np.flatnonzero(ok & (population.objects["kind"] == kind))[: need[kind]]
            chosen.append(population.take(index))
            need[kind] -= index.size
            drawn[kind] += batch[kind]
    short = {kind: counts[kind] - left for kind, left in need.items() if left}
    if short:
        kind = next(iter(short))
        raise ValueError(
            f"only {short[kind]} of {counts[kind]} {kind} objects fall within mag_range "
            f"among {drawn[kind]} drawn; widen mag_range (the simulator's magnitudes are "
            "those of M31's clusters, moved by the distance of galaxy=)"
        )
    population = Population.concatenate(chosen)
    order = np.argsort([KINDS.index(str(k)) for k in population.objects["kind"]], kind="stable")
    return population.take(order)


def _output_header(plane, zero_point, n, seed):
    if isinstance(plane.header, fits.Header):
        header = plane.header.copy()
        for key in _STRUCTURE_KEYWORDS:
            header.remove(key, ignore_missing=True, remove_all=True)
        for key in [k for k in header if k.startswith("NAXIS")]:
            header.remove(key, ignore_missing=True, remove_all=True)
    else:
        header = plane.wcs.to_header()
    from clusterfinder import __version__

    header["PHOTZP"] = (zero_point, "AB = -2.5 log10(counts) + PHOTZP")
    header["INJCOUNT"] = (n, "simulated objects injected by clusterfinder")
    header["INJSEED"] = (seed if isinstance(seed, int) else -1, "seed of the injection")
    header["HISTORY"] = f"clusterfinder {__version__}: {n} simulated objects injected"
    return header


def _sections(plane, scene, band, gain, key, block_size, dtype):
    """``(y0, y1, pixels)`` of each section of rows of the image with the objects added."""
    ny, nx = plane.shape
    psf = scene.state[band].psf
    reach = psf.large_radius + 1
    ext = scene.population.extended
    comp_y = np.concatenate([scene.population.points["y"], ext["y"]])
    comp_r = np.concatenate(
        [np.full(len(scene.population.points["y"]), reach), np.ceil(ext["rt"] + psf.reach) + 2]
    )
    for y0 in range(0, ny, block_size):
        y1 = min(y0 + block_size, ny)
        block = np.array(plane.data[y0:y1], dtype=dtype)
        if np.any((comp_y + comp_r >= y0 - 1) & (comp_y - comp_r < y1 + 1)):
            model = scene.render(band, y0, y1, 0, nx)
            if gain is not None:
                add_source_noise(model, gain, key=key, y0=y0, x0=0)
            bad = ~np.isfinite(block)
            if plane.mask is not None:
                bad |= np.asarray(plane.mask[y0:y1]) != 0
            model[bad] = 0.0
            block += model
        yield y0, y1, block
        plane.release_pages()


def _write_fits(path, header, shape, dtype, sections):
    ny, nx = shape
    itemsize = np.dtype(dtype).itemsize

    def write(tmp):
        head = fits.PrimaryHDU(data=np.zeros((1, 1), dtype=dtype), header=header).header
        head["NAXIS1"] = nx
        head["NAXIS2"] = ny
        text = head.tostring().encode("ascii")
        with open(tmp, "r+b") as handle:
            handle.write(text)
            handle.truncate(len(text) + math.ceil(nx * ny * itemsize / 2880) * 2880)
            for y0, _, block in sections:
                handle.seek(len(text) + y0 * nx * itemsize)
                handle.write(
                    np.ascontiguousarray(block, dtype=np.dtype(dtype).newbyteorder(">")).tobytes()
                )

    return atomic_write(path, write, suffix=".fits")


def _position_angle(theta):
    """Sky position angle (deg, east of north) of a frame angle (rad from west to north)."""
    return np.mod(np.degrees(np.arctan2(-np.cos(theta), np.sin(theta))), 180.0)


def _truth(coords, population, bands, mags, pixels, meta):
    objects = population.objects
    table = QTable()
    table["coord"] = coords
    table["name"] = np.array([f"injected-{k}" for k in range(len(coords))])
    table["kind"] = objects["kind"]
    for band in bands:
        table[f"mag_{band}"] = mags[band]
    table["reff"] = objects["reff"] * u.arcsec
    for key in ("profile", "gamma", "concentration", "ellipticity"):
        table[key] = objects[key]
    table["pa"] = _position_angle(objects["theta"]) * u.deg
    table["nstars"] = objects["nstars"]
    table["ebv"] = objects["ebv"]
    for band in bands:
        table[f"x_{band}"], table[f"y_{band}"] = pixels[band]
    table.meta.update(meta)
    return table


def inject(
    images,
    n=100,
    *,
    positions=None,
    zero_points=None,
    psfs=None,
    filters=None,
    gains=None,
    source_noise=True,
    hard_negatives=True,
    mag_range=None,
    stamp_size=32,
    min_separation=None,
    galaxy=M31,
    output=None,
    name="injected",
    overwrite=False,
    block_size=512,
    seed=0,
    progress_bar=False,
):
    """Add simulated star clusters (and hard negatives) to real images.

    Each object is drawn with the simulator's physics: young clusters with PHAT
    magnitudes, colours and sizes, EFF or King profiles and their brightest stars drawn
    one by one; old clusters with King profiles; asterisms (chance groups of disc
    stars, hard negatives). It is placed at a sky position where every image has a
    whole stamp of ``stamp_size`` pixels with no NaN or flagged pixel, and rendered on
    each image's own pixel grid at that position (bands on different grids are fine),
    with the image's PSF and zero point. The flux added is exactly the object's
    magnitude (``truth["mag_<band>"]``); with ``source_noise`` its photon noise is
    added too. NaN and flagged pixels are never changed. Images are read and written
    in sections of ``block_size`` rows: the result does not depend on it.

    Parameters
    ----------
    images : dict
        Band -> image: a FITS path (memory-mapped), an HDU, an
        `~astropy.nddata.NDData`, or ``(array, WCS)``; one science image per band, with
        a celestial WCS and a zero point.
    n : int or dict, optional
        Number of young clusters, or a dict kind -> number with kinds among
        ``"young_cluster"``, ``"old_cluster"`` and ``"asterism"``.
    positions : `~astropy.coordinates.SkyCoord`, optional
        Where to put the objects (as many as ``n`` asks for, in the order of the truth
        table: asterisms, young clusters, old clusters); drawn at random by default.
        A position whose stamp is not whole and clean on every image is refused.
    zero_points : dict, optional
        Band -> AB zero point, for images whose header has none (``PHOTZP``...).
    psfs : dict, optional
        Band -> `~clusterfinder.psf.PSFMeasurement` (the objects are drawn with its
        elliptical Moffat fit) or `~clusterfinder.simulate.profiles.PixelPSF`. Bands left
        out are measured with `~clusterfinder.psf.measure_psf` on the stars of the central
        4096 x 4096 pixels of their image.
    filters : dict, optional
        Band -> the simulator band (``u``, ``g``, ``r``, ``i``, ``z`` or ``y``) whose
        magnitudes it receives; by default the band's own name.
    gains : dict, optional
        Band -> electrons per count, for the photon noise; by default the header's
        ``GAIN`` (or ``EGAIN``).
    source_noise : bool, optional
        Add the photon noise of the injected light (needs a gain for every band).
    hard_negatives : bool, optional
        Draw asterisms as the simulator's hard negatives (brighter members, wider).
    mag_range : dict, optional
        Band -> ``(bright, faint)``: inject only objects whose total magnitude in that
        band lies within (objects are drawn from the simulator's distributions and kept
        if they do), e.g. ``{"g": (19, 23)}`` for a completeness curve.
    stamp_size : int, optional
        Side (pixels of each image) of the stamp that must be whole and clean around
        each object; use the cutout size of the model to train.
    min_separation : `~astropy.units.Quantity`, optional
        Smallest angle between two injected objects; by default one stamp side of the
        coarsest image, so that no stamp holds two injected objects' centres.
    galaxy : `~clusterfinder.galaxy.GalaxyGeometry`, optional
        The host galaxy: its distance sets the clusters' magnitudes and angular sizes.
    output : str or path-like, optional
        Folder to write ``{name}_{band}.fits`` and ``{name}_truth.ecsv`` into (created if
        needed); the images are then never held in memory. By default the images are
        returned in memory.
    name : str, optional
        Stem of the files written.
    overwrite : bool, optional
        Replace existing files (never an input image).
    block_size : int, optional
        Rows per section read and written.
    seed : None, int or `numpy.random.Generator`, optional
        The same seed gives the same objects, positions and pixels.
    progress_bar : bool, optional
        Show a progress bar over the sections.

    Returns
    -------
    `Injection`
        ``images`` (HDUs, or paths with ``output=``), ``truth`` and ``psfs``;
        `Injection.labels` makes the `~clusterfinder.labels.LabelSet`.

    Raises
    ------
    TypeError, ValueError
        For an image without a celestial WCS or a zero point, bad options, positions
        that cannot take an object, or too little clean area for ``n`` objects.
    FileExistsError
        For an output file that exists, without ``overwrite=True``.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from clusterfinder.simulate import simulate_field
    >>> from clusterfinder.simulate.inject import inject
    >>> field = simulate_field(size=400, seed=1, kinds=("mw_star", "m31_star"),
    ...                        fwhm=0.7 * u.arcsec, disc_light=False)  # the "real" images
    >>> result = inject(field.images, n=5, seed=2)
    >>> truth = result.truth
    >>> len(truth), truth.colnames[:4], result.images["g"].header["INJCOUNT"]
    (5, ['coord', 'name', 'kind', 'mag_g'], 5)
    >>> round(float(result.psfs["g"].fwhm.to_value(u.arcsec)), 1)  # measured on the image's stars
    0.7

    The flux added is the truth's (plus its photon noise, which sums to nearly zero):

    >>> added = result.images["g"].data - field.images["g"].data
    >>> expected = np.sum(10 ** (-0.4 * (truth["mag_g"] - 30.0)))
    >>> bool(abs(added.sum() / expected - 1) < 0.01)
    True
    """
    if not isinstance(images, dict) or not images:
        raise TypeError(f"images must be a non-empty dict band -> image; got {images!r}")
    counts = _check_counts(n)
    bands = tuple(images)
    zero_points = _check_mapping(zero_points, "zero_points", bands)
    psfs = _check_mapping(psfs, "psfs", bands)
    filters = _check_mapping(filters, "filters", bands)
    gains = _check_mapping(gains, "gains", bands)
    ranges = _check_mag_range(mag_range, bands, filters)
    stamp_size = check_positive_integer(stamp_size, "stamp_size")
    block_size = check_positive_integer(block_size, "block_size")
    if min_separation is not None:
        min_separation = check_radius(min_separation, "min_separation")
    if not isinstance(galaxy, GalaxyGeometry):
        raise TypeError(f"galaxy must be a GalaxyGeometry; got {type(galaxy).__name__}")
    seed = check_seed(seed)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**63)
    position_rng, object_rng, noise_rng = as_generator(seed).spawn(3)
    noise_key = int(noise_rng.integers(2**63))
    total = sum(counts.values())

    paths = truth_path = None
    if output is not None:
        paths, truth_path = _check_outputs(output, name, bands, images, overwrite)

    with contextlib.ExitStack() as stack:
        opened = _open(images, zero_points, filters, gains, bool(source_noise), stack)
        grids = [
            ImageGrid(p.data, p.mask, p.wcs, f"images[{b!r}]", release=p.release_pages)
            for b, (p, *_) in opened.items()
        ]
        scales = {band: _pixel_scale(plane.wcs) for band, (plane, *_) in opened.items()}
        if positions is None:
            if min_separation is None:
                min_separation = stamp_size * max(scales.values()) * u.arcsec
            coords = draw_positions(
                grids, total, position_rng, stamp_size=stamp_size, min_separation=min_separation
            )
        else:
            coords = _check_given_positions(positions, total, grids, stamp_size)
        used = {band: _measure(plane, psfs.get(band), band) for band, (plane, *_) in opened.items()}
        for plane, *_ in opened.values():
            plane.release_pages()  # the stamps read to place the objects, the PSF's window
        population = _draw(
            counts, object_rng, ranges, arcsec_per_pixel=FRAME_SCALE, galaxy=galaxy,
            disc_model=PANDAS.disc, hard_negatives=bool(hard_negatives),
        )  # fmt: skip
        scenes, mags, pixels = {}, {}, {}
        for band, (plane, zero_point, model_band, _) in opened.items():
            x, y, jac = local_jacobians(plane.wcs, coords)
            scene = image_scene(
                population_on_grid(population, x, y, jac), plane.shape, pixel_psf(used[band]),
                band=model_band, zero_point=zero_point, pixel_scale=scales[band],
            )  # fmt: skip
            scenes[band] = scene
            mags[band] = zero_point - 2.5 * np.log10(scene.object_flux(model_band))
            pixels[band] = (x, y)

        n_sections = sum(math.ceil(p.shape[0] / block_size) for p, *_ in opened.values())
        bar = _progress_bar(total=n_sections, enabled=progress_bar, desc="inject", unit="section")
        results = {}
        try:
            for index, (band, (plane, zero_point, model_band, gain)) in enumerate(opened.items()):
                dtype = np.float64 if plane.data.dtype == np.float64 else np.float32
                header = _output_header(plane, zero_point, total, seed)
                sections = _counted(
                    _sections(
                        plane, scenes[band], model_band, gain if source_noise else None,
                        [noise_key, index], block_size, dtype,
                    ),
                    bar,
                )  # fmt: skip
                if paths is None:
                    data = np.empty(plane.shape, dtype=dtype)
                    for y0, y1, block in sections:
                        data[y0:y1] = block
                    results[band] = fits.PrimaryHDU(data=data, header=header)
                else:
                    results[band] = _write_fits(paths[band], header, plane.shape, dtype, sections)
        finally:
            bar.close()

    meta = _meta(seed, counts, opened, used, stamp_size, min_separation, source_noise, galaxy)
    meta["mag_range"] = {band: list(limits) for band, limits in ranges.items()}
    truth = _truth(coords, population, bands, mags, pixels, meta)
    if truth_path is not None:
        atomic_write(
            truth_path, lambda tmp: truth.write(tmp, format="ascii.ecsv", overwrite=True),
            suffix=".ecsv",
        )  # fmt: skip
    return Injection(images=results, truth=truth, psfs=used, truth_path=truth_path)


def _counted(sections, bar):
    for item in sections:
        yield item
        bar.update()


def _check_outputs(output, name, bands, images, overwrite):
    if not isinstance(name, str) or not name or os.sep in name or name.startswith("."):
        raise ValueError(f"name must be a plain, non-empty file name stem; got {name!r}")
    folder = check_output_dir(output, name="output")
    inputs = {f"images[{band!r}]": image for band, image in images.items()}
    folder_exists = folder.is_dir()
    paths = {band: folder / f"{name}_{band}.fits" for band in bands}
    truth_path = folder / f"{name}_truth.ecsv"
    if folder_exists:
        for path in [*paths.values(), truth_path]:
            check_output_file(path, overwrite=overwrite, inputs=inputs, name="output")
    folder.mkdir(parents=True, exist_ok=True)
    return paths, truth_path


def _check_given_positions(positions, total, grids, stamp_size):
    if not isinstance(positions, SkyCoord):
        raise TypeError(f"positions must be a SkyCoord; got {type(positions).__name__}")
    coords = positions.reshape((1,)) if positions.isscalar else positions
    if coords.ndim != 1 or len(coords) != total:
        raise ValueError(
            f"positions holds {coords.size} position(s) but n asks for {total} object(s); "
            "give one position per object"
        )
    from ..crossmatch import check_finite_coords

    check_finite_coords(coords, "positions")
    check_positions(grids, coords, stamp_size)
    icrs = coords.icrs
    return SkyCoord(icrs.ra, icrs.dec, frame="icrs")


def _meta(seed, counts, opened, used, stamp_size, min_separation, source_noise, galaxy):
    from clusterfinder import __version__

    def describe(psf):
        if isinstance(psf, PixelPSF):
            return {"fwhm_pix": psf.fwhm, **psf.shape.to_dict()}
        data = psf.to_dict()
        data.pop("stamp")
        return data

    return {
        "seed": int(seed) if isinstance(seed, int) else str(seed),
        "version": __version__,
        "counts": dict(counts),
        "zero_point": {band: item[1] for band, item in opened.items()},
        "filters": {band: item[2] for band, item in opened.items()},
        "gain": {band: item[3] for band, item in opened.items()},
        "source_noise": bool(source_noise),
        "psf": {band: describe(psf) for band, psf in used.items()},
        "stamp_size": stamp_size,
        "min_separation_arcsec": (
            None if min_separation is None else float(min_separation.to_value(u.arcsec))
        ),
        "galaxy": galaxy.name,
    }
