"""Inject simulated star clusters into real survey images.

An astronomer with real images has no pixel-level truth. `inject` adds the simulator's
objects (young and old clusters, and asterisms as hard negatives) to them: each object is
drawn with the simulator's physics (`~clusterfinder.simulate.population.draw_objects`),
placed at a sky position where every image has a whole, clean stamp
(`~clusterfinder.simulate.placement`), and rendered on each image's own pixel grid with
that image's PSF and zero point (`~clusterfinder.simulate.injection_scene`). What is
drawn is decided in `~clusterfinder.simulate.injection_objects`; images are opened,
read and written by `~clusterfinder.simulate.injection_io`. The real
sky, crowding, PSF and noise stay as they are; only the objects' light (and its photon
noise) is added. Images are read and written in sections of rows, so they may be larger
than memory. The result holds the new images and a truth table.
"""

import contextlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs.utils import proj_plane_pixel_scales

from ..galaxy import M31, GalaxyGeometry
from ..utils import as_generator
from ..utils.files import atomic_write
from ..utils.progress import progress_bar as _progress_bar
from ..utils.validation import check_positive_integer, check_radius, check_seed
from .config import CLUSTER_KINDS, PANDAS
from .injection_io import (
    check_outputs,
    image_psf,
    open_images,
    output_header,
    sections,
    write_fits,
)
from .injection_objects import check_band_mapping, check_counts, check_mag_range, draw_injected
from .injection_scene import (
    FRAME_SCALE,
    image_scene,
    local_jacobians,
    pixel_psf,
    population_on_grid,
)
from .placement import ImageGrid, check_positions, draw_positions
from .profiles import PixelPSF

__all__ = ["Injection", "inject"]


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

    def labels(
        self, sources=None, *, positive_kinds=CLUSTER_KINDS, radius=1 * u.arcsec, real_label=0
    ):
        """The `~clusterfinder.labels.LabelSet` of the injected objects and real ``sources``.

        Shorthand for `LabelSet.from_injection(self.truth, sources, ...)
        <clusterfinder.labels.LabelSet.from_injection>`.

        Parameters
        ----------
        sources : None, `~astropy.coordinates.SkyCoord`, table or `~clusterfinder.LabelSet`
            The real sources of the images (positions, a table with a SkyCoord column
            ``coord``, or a label set); None for the injected objects alone, every
            label known.
        positive_kinds : str or sequence of str, optional
            Injected kinds labelled 1 (young and old clusters by default).
        radius : `~astropy.units.Quantity`, optional
            Real sources closer than this to an injected object are dropped.
        real_label : {0, 1}, optional
            Label of real sources that have none (``label_known`` False).

        Returns
        -------
        `~clusterfinder.LabelSet`

        Examples
        --------
        >>> import astropy.units as u
        >>> from clusterfinder.simulate import inject, simulate_field
        >>> real = simulate_field(size=400, seed=1, kinds=("mw_star", "m31_star"),
        ...                       fwhm=0.7 * u.arcsec, disc_light=False)
        >>> result = inject(real.images, n={"young_cluster": 2, "m31_star": 2}, seed=3)
        >>> result.labels()
        <LabelSet: 4 objects (2 clusters, 2 non-clusters)>
        """
        from ..labels import LabelSet

        return LabelSet.from_injection(
            self.truth, sources, positive_kinds=positive_kinds, radius=radius,
            real_label=real_label,
        )  # fmt: skip


def _pixel_scale(wcs):
    return float(np.mean(proj_plane_pixel_scales(wcs.celestial)) * 3600.0)


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
    >>> from clusterfinder.simulate import inject, simulate_field
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
    counts = check_counts(n)
    bands = tuple(images)
    zero_points = check_band_mapping(zero_points, "zero_points", bands)
    psfs = check_band_mapping(psfs, "psfs", bands)
    filters = check_band_mapping(filters, "filters", bands)
    gains = check_band_mapping(gains, "gains", bands)
    ranges = check_mag_range(mag_range, bands, filters)
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
        paths, truth_path = check_outputs(output, name, bands, images, overwrite)

    with contextlib.ExitStack() as stack:
        opened = open_images(images, zero_points, filters, gains, bool(source_noise), stack)
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
        used = {
            band: image_psf(plane, psfs.get(band), band) for band, (plane, *_) in opened.items()
        }
        for plane, *_ in opened.values():
            plane.release_pages()  # the stamps read to place the objects, the PSF's window
        population = draw_injected(
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
                header = output_header(plane, zero_point, total, seed)
                parts = _counted(
                    sections(
                        plane, scenes[band], model_band, gain if source_noise else None,
                        [noise_key, index], block_size, dtype,
                    ),
                    bar,
                )  # fmt: skip
                if paths is None:
                    data = np.empty(plane.shape, dtype=dtype)
                    for y0, y1, block in parts:
                        data[y0:y1] = block
                    results[band] = fits.PrimaryHDU(data=data, header=header)
                else:
                    results[band] = write_fits(paths[band], header, plane.shape, dtype, parts)
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
