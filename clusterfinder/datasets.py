"""Labelled stamp sets cut from simulated survey fields.

Training and evaluating a classifier needs labelled stamps. On real data they
come from a `~clusterfinder.LabelSet` built from catalogues; offline they come
from the simulator, whose truth table says what every object is. This module
draws a set of fields spread over the disc of a galaxy, labels their objects
from the truth, and cuts the stamps.

The fields of a set are placed at random deprojected radii and azimuths within
``radii`` (inner and outer disc), each with its own seeing when
``fwhm="random"``. Everything follows from ``seed``: two calls with the same
arguments return the same stamps bit for bit, and sets made with different
seeds share no field.
"""

import numpy as np
from astropy import units as u
from astropy.table import QTable

from .galaxy import M31
from .simulate.config import CLUSTER_KINDS
from .utils import as_generator
from .utils import progress_bar as _progress_bar
from .utils.photometry import as_magnitude
from .utils.validation import check_positive_integer

__all__ = ["CLUSTER_KINDS", "field_centers", "label_from_truth", "simulated_stamps"]


def _check_radii(radii):
    radii = u.Quantity(radii)
    if not radii.unit.is_equivalent(u.kpc) or radii.shape != (2,):
        raise ValueError(
            f"radii must be two lengths (inner, outer), e.g. (4, 20) * u.kpc; got {radii!r}"
        )
    if not 0 <= radii[0] < radii[1]:
        raise ValueError(f"radii must satisfy 0 <= inner < outer; got {radii}")
    return radii.to(u.kpc)


def field_centers(n_fields, *, radii=(4, 20) * u.kpc, galaxy=M31, seed=0):
    """Sky positions of ``n_fields`` fields spread over the disc of a galaxy.

    Deprojected radii are drawn uniformly between the two ``radii`` and disc
    azimuths uniformly in 0-360 deg.

    Parameters
    ----------
    n_fields : int
        Number of fields.
    radii : `~astropy.units.Quantity`
        Inner and outer deprojected radius.
    galaxy : `~clusterfinder.galaxy.GalaxyGeometry`
        The galaxy (M31 by default).
    seed : None, int or `numpy.random.Generator`
        Random seed.

    Returns
    -------
    `~astropy.coordinates.SkyCoord`

    Examples
    --------
    >>> import astropy.units as u
    >>> from clusterfinder.datasets import field_centers
    >>> from clusterfinder.galaxy import M31
    >>> centers = field_centers(3, radii=(5, 6) * u.kpc, seed=1)
    >>> radius = M31.deprojected_radius(centers)
    >>> bool(((radius > 5 * u.kpc) & (radius < 6 * u.kpc)).all())
    True
    """
    if isinstance(n_fields, bool) or not isinstance(n_fields, (int, np.integer)) or n_fields < 1:
        raise ValueError(f"n_fields must be a positive integer; got {n_fields!r}")
    radii = _check_radii(radii)
    rng = as_generator(seed)
    radius = rng.uniform(radii[0].value, radii[1].value, n_fields) * u.kpc
    azimuth = rng.uniform(0, 360, n_fields) * u.deg
    return galaxy.disc_position(radius, azimuth)


def simulated_stamps(
    *,
    n_fields,
    size=1024,
    cutout_size=32,
    radii=(4, 20) * u.kpc,
    mag_max=23.0,
    band="g",
    positive_kinds=CLUSTER_KINDS,
    config=None,
    galaxy=M31,
    fwhm="random",
    randomize=True,
    measure_psf=False,
    psf_grid=1,
    seed=0,
    progress_bar=False,
):
    """Simulate fields over a galaxy's disc and cut a labelled stamp per object.

    Every object of the truth tables brighter than ``mag_max`` in ``band``
    whose stamp lies wholly on its image becomes one stamp, labelled 1 if its
    kind is in ``positive_kinds`` and 0 otherwise.

    Parameters
    ----------
    n_fields : int
        Number of fields to simulate.
    size : int
        Side of each field in pixels.
    cutout_size : int
        Side of each stamp in pixels.
    radii : `~astropy.units.Quantity`
        Inner and outer deprojected radius of the field centres.
    mag_max : float or `~astropy.units.Quantity`
        Faintest magnitude kept, in ``band`` (a number, or in ``u.mag`` or ``u.ABmag``).
    band : str
        Band of the magnitude cut.
    positive_kinds : sequence of str
        Kinds labelled as clusters (young and old clusters by default).
    config : `~clusterfinder.simulate.SurveyConfig`, optional
        The survey (PAndAS by default).
    galaxy : `~clusterfinder.galaxy.GalaxyGeometry`
        The galaxy (M31 by default).
    fwhm : None, "random" or `~astropy.units.Quantity`
        Seeing of each field, as in `~clusterfinder.simulate.simulate_field`. With
        ``randomize`` and ``"random"``, the randomisation draws the seeing.
    randomize : bool or `~clusterfinder.simulate.DomainRandomization`
        Domain randomisation of every field (seeing, PSF family and shape, depth, noise
        correlation, hard negatives; see `~clusterfinder.simulate.DomainRandomization`).
        On by default: a model trained on one sky learns that sky. False gives the fixed
        configured fields of earlier versions.
    measure_psf : bool
        Measure each field's PSF in every band on its stars
        (`clusterfinder.psf.measure_psf`) and add it to the stamps as the
        ``psf_*`` columns that seeing-aware models read
        (`clusterfinder.classifier.psf_input`).
    psf_grid : int
        With ``measure_psf``, the zones along each axis of a field in which the PSF
        is measured (`clusterfinder.psf.measure_local_psf`), so that each stamp gets
        the PSF of its own zone: for fields whose PSF varies across them (the
        ``psf_variation`` of `~clusterfinder.simulate.DomainRandomization`). 1
        (default) measures the whole field.
    seed : int
        Random seed of the whole set.
    progress_bar : bool
        Show a progress bar over the fields.

    Returns
    -------
    `~clusterfinder.Cutout`
        The stamps, with a table holding ``coord``, ``label``, ``kind``,
        ``mag_g``, ``mag_i``, ``reff``, ``r_deproj``, ``field`` (the index of
        the field the stamp comes from) and ``seeing_<band>`` (the true FWHM of
        the field's PSF in each band, arcsec).

    Examples
    --------
    >>> from clusterfinder.datasets import simulated_stamps
    >>> stamps = simulated_stamps(n_fields=1, size=256, cutout_size=16, seed=3)
    >>> stamps.data.shape[1:]
    (2, 16, 16)
    >>> sorted(set(stamps.table["label"].tolist())) <= [0, 1]
    True
    """
    from .cutout import Cutout
    from .labels import LabelSet
    from .simulate import PANDAS, simulate_field

    config = PANDAS if config is None else config
    mag_max = as_magnitude(mag_max, "mag_max")
    if band not in config.bands:
        raise ValueError(f"band must be one of {tuple(config.bands)}; got {band!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    if isinstance(positive_kinds, str):
        positive_kinds = (positive_kinds,)
    psf_grid = check_positive_integer(psf_grid, "psf_grid")
    if psf_grid > 1 and not measure_psf:
        raise ValueError(f"psf_grid={psf_grid} needs measure_psf=True (the PSF it zones)")
    sequence = np.random.SeedSequence(seed)
    center_seed, *field_seeds = sequence.spawn(n_fields + 1)
    centers = field_centers(n_fields, radii=radii, galaxy=galaxy, seed=as_generator(center_seed))

    parts = []
    fields = _progress_bar(
        range(n_fields), enabled=progress_bar, desc="simulating fields", unit="field"
    )
    for index in fields:
        field_seed = int(field_seeds[index].generate_state(1)[0])
        field = simulate_field(
            size=size,
            center=centers[index],
            config=config,
            seed=field_seed,
            fwhm=fwhm,
            randomize=randomize,
            galaxy=galaxy,
        )
        truth = field.truth
        bright = np.asarray(truth[f"mag_{band}"]) <= mag_max
        if not bright.any():
            continue
        labels = LabelSet.from_truth(truth[bright], positive_kinds=positive_kinds)
        table = QTable(labels.table, copy=True)
        table["field"] = np.full(len(table), index, dtype=np.int32)
        for name, image in field.images.items():
            table[f"seeing_{name}"] = np.full(len(table), image.header["FWHM"]) * u.arcsec
        stamps = Cutout.from_images(
            field.images, labels.coords, cutout_size=cutout_size, table=table
        )
        if measure_psf:
            from .psf import attach_psf, measure_local_psf
            from .psf import measure_psf as measure

            if psf_grid > 1:
                psfs = {
                    b: measure_local_psf(image, grid=psf_grid) for b, image in field.images.items()
                }
            else:
                psfs = {b: measure(image) for b, image in field.images.items()}
            attach_psf(stamps, psfs)
        whole = ~stamps.mask.any(axis=(1, 2, 3))
        parts.append(stamps[whole])
    if not parts:
        raise ValueError(
            f"no object brighter than {band} = {mag_max} was simulated; raise mag_max or n_fields"
        )
    return Cutout.concatenate(parts)


def label_from_truth(
    sources, truth, *, radius=0.6 * u.arcsec, mag_max=24.0, band="g", positive_kinds=CLUSTER_KINDS
):
    """Label detected sources with the simulated object each one is.

    Each source takes the kind of the nearest truth object brighter than
    ``mag_max`` within ``radius`` (fainter objects are background to a
    detection); sources with none are of kind ``"none"``.

    Parameters
    ----------
    sources : `~astropy.table.Table`
        Detected sources with a ``coord`` column.
    truth : `~astropy.table.QTable`
        The simulator's truth table (``coord``, ``kind``, ``mag_<band>``).
    radius : `~astropy.units.Quantity`
        Largest separation of a match.
    mag_max : float or `~astropy.units.Quantity`
        Faintest truth object that a source may be matched to (a number, or in ``u.mag``
        or ``u.ABmag``).
    band : str
        Band of ``mag_max``.
    positive_kinds : sequence of str
        Kinds labelled 1.

    Returns
    -------
    kind : `numpy.ndarray` of str
        The matched kind per source.
    label : `numpy.ndarray` of int
        1 where the kind is in ``positive_kinds``.
    index : `numpy.ndarray` of int
        Row of the matched truth object, -1 where none.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder.datasets import label_from_truth
    >>> truth = QTable({"coord": SkyCoord([10, 10.01] * u.deg, [41, 41] * u.deg),
    ...                 "kind": ["young_cluster", "mw_star"], "mag_g": [20.0, 19.0]})
    >>> sources = QTable({"coord": SkyCoord([10.0, 10.5] * u.deg, [41, 41] * u.deg)})
    >>> kind, label, index = label_from_truth(sources, truth)
    >>> kind.tolist(), label.tolist()
    (['young_cluster', 'none'], [1, 0])
    """
    from .crossmatch import match_nearest

    mag_max = as_magnitude(mag_max, "mag_max")

    for name, table, needed in (
        ("sources", sources, ("coord",)),
        ("truth", truth, ("coord", "kind", f"mag_{band}")),
    ):
        missing = [c for c in needed if c not in table.colnames]
        if missing:
            raise ValueError(f"{name} lacks the columns {missing}; it has {table.colnames}")
    bright = np.flatnonzero(np.asarray(truth[f"mag_{band}"], dtype=float) <= mag_max)
    index, _, matched = match_nearest(sources["coord"], truth["coord"][bright], radius)
    index = np.where(matched, bright[np.maximum(index, 0)], -1)
    kinds = np.asarray(truth["kind"], dtype=str)
    kind = np.where(matched, kinds[np.maximum(index, 0)], "none")
    if isinstance(positive_kinds, str):
        positive_kinds = (positive_kinds,)
    label = np.isin(kind, list(positive_kinds)).astype(int)
    return kind, label, index
