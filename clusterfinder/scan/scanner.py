"""Scanning many fields: `scan`, resumable, serial or on a Dask cluster.

A scan is split into units of work, one per (field, tile). The plan is made up
front from the image headers (nothing but headers is read): the tiles of every
field and, when a source list is given, the sources of each tile. Each finished
unit is written at once to the output folder (see `clusterfinder.scan.journal`);
a resumed scan skips the units already written. When all units are done, the
parts are merged into one catalogue with duplicates from overlapping fields
removed. A field that cannot be read (missing, corrupt or truncated file, no
WCS) is reported, listed in the manifest's ``failed`` list and skipped; the rest
of the scan goes on.
"""

import contextlib
import hashlib
import os
import re
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord, search_around_sky
from astropy.utils.exceptions import AstropyDeprecationWarning

from ..images import zero_points_by_band
from ..utils import ClusterFinderWarning
from ..utils import progress_bar as _progress_bar
from ..utils.validation import (
    check_batch_size,
    check_positive_integer,
    check_precision,
    check_radius,
)
from . import find as _find
from ._order import scan_order
from .detect_ahead import detected_ahead
from .find import (
    TileWork,
    _empty_rows,
    check_field,
    check_sources,
    check_threshold,
    default_chunk_size,
    detect_in_tile,
    field_psfs,
    model_identity,
    needs_psf,
    predict_options,
    to_catalog,
    with_psf,
)
from .journal import ScanJournal, merge_rows
from .pipeline import run_units
from .tiling import TiledImages, assign_to_tiles, check_tile_size

__all__ = ["fields_from_folder", "scan"]

_FITS_SUFFIX = r"\.(?:fits?|fts)(?:\.gz|\.fz)?"

#: Errors that mean "this field or tile cannot be read": reported and skipped.
READ_ERRORS = (OSError, ValueError, EOFError)


def fields_from_folder(path, *, bands=("g", "i")):
    """List the fields of a folder of ``NAME_<band>.fits`` images.

    Parameters
    ----------
    path : str or path-like
        The folder. Files named ``NAME_<band>.fits`` (also ``.fit``, ``.fts``,
        optionally ``.gz`` or ``.fz``) make up field ``NAME``.
    bands : sequence of str, optional
        The bands every field needs; a field missing one is skipped with a warning.

    Returns
    -------
    dict
        Field name -> dict band -> path, sorted by name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from clusterfinder.scan import fields_from_folder
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("m001_g.fits", "m001_i.fits", "m002_g.fits", "m002_i.fits"):
    ...         _ = (pathlib.Path(tmp) / name).write_bytes(b"")
    ...     fields = fields_from_folder(tmp)
    >>> list(fields), sorted(fields["m001"])
    (['m001', 'm002'], ['g', 'i'])
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"path must be a folder of FITS images; {str(folder)!r} is not a folder")
    bands = (bands,) if isinstance(bands, str) else tuple(bands)
    if not bands:
        raise ValueError("bands is empty")
    pattern = re.compile(
        r"^(?P<name>.+)_(?P<band>" + "|".join(map(re.escape, bands)) + ")" + _FITS_SUFFIX + "$"
    )
    found = {}
    for item in sorted(folder.iterdir()):
        match = pattern.match(item.name)
        if match and item.is_file():
            found.setdefault(match["name"], {})[match["band"]] = str(item)
    fields = {}
    for name in sorted(found):
        missing = [band for band in bands if band not in found[name]]
        if missing:
            warnings.warn(
                f"field {name!r} in {folder} has no image for band(s) {', '.join(missing)}; "
                "it is skipped",
                ClusterFinderWarning,
                stacklevel=2,
            )
            continue
        fields[name] = {band: found[name][band] for band in bands}
    return fields


def _field_name(images, k):
    first = next(iter(images.values()))
    stem = Path(os.fspath(first)).name
    stem = re.sub(_FITS_SUFFIX + "$", "", stem)
    band = next(iter(images))
    if stem.endswith(f"_{band}"):
        stem = stem[: -len(band) - 1]
    return stem or f"field{k:04d}"


def _normalise_fields(fields, bands):
    """Return a list of (name, dict band -> str path)."""
    if isinstance(fields, (str, os.PathLike)):
        folder = fields
        fields = fields_from_folder(folder, bands=bands)
        if not fields:
            raise ValueError(
                f"fields: found no NAME_<band>.fits images with bands {bands} in {folder}"
            )
    if isinstance(fields, dict) and fields and all(isinstance(v, dict) for v in fields.values()):
        items = list(fields.items())
    elif isinstance(fields, dict):
        items = [(None, fields)]
    else:
        try:
            items = [(None, f) for f in fields]
        except TypeError:
            raise TypeError(
                "fields must be a folder, a list of dicts band -> FITS path or a dict name -> "
                f"dict band -> FITS path; got {type(fields).__name__}"
            ) from None
    out, seen = [], set()
    for k, (name, images) in enumerate(items):
        if not isinstance(images, dict):
            raise TypeError(f"fields[{k}] must be a dict band -> FITS path; got {images!r}")
        missing = [band for band in bands if band not in images]
        if missing:
            raise ValueError(f"fields[{k}] has no image for band(s) {', '.join(missing)}")
        for band in bands:
            if not isinstance(images[band], (str, os.PathLike)):
                raise TypeError(
                    f"a scan reads FITS files: fields[{k}][{band!r}] must be a path; got "
                    f"{type(images[band]).__name__}"
                )
        name = str(name) if name is not None else _field_name(images, k)
        if name in seen:
            name = f"{name}-{k}"
        seen.add(name)
        out.append((name, {band: str(Path(os.fspath(images[band]))) for band in bands}))
    if not out:
        raise ValueError("fields is empty: there is nothing to scan")
    return out


def load_classifier(classifier):
    """Return ``(classifier object, path or None)``; a path is loaded with ``load``."""
    if isinstance(classifier, (str, os.PathLike)):
        from ..classifier import ClusterClassifier

        return ClusterClassifier.load(classifier), str(classifier)
    return classifier, None


def _sources_sha256(sources):
    if sources is None:
        return None
    coords = sources["coord"].icrs
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(coords.ra.deg, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(coords.dec.deg, dtype=np.float64).tobytes())
    return digest.hexdigest()


#: PSFs measured in this process, by field (band -> path and modification time).
_PSF_CACHE = {}


def _field_psfs(field, images):
    """The PSFs of a field's images, measured once per process (see `field_psfs`)."""
    key = tuple(sorted((band, str(p), os.stat(p).st_mtime_ns) for band, p in images.items()))
    if key not in _PSF_CACHE:
        _PSF_CACHE.clear()  # one field at a time: units of a field run together
        _PSF_CACHE[key] = field_psfs(field)
    return _PSF_CACHE[key]


def run_unit(images, bands, tile_size, tile_index, sources, classifier, options):
    """Do one unit of work: classify the sources of one tile of one field.

    Parameters
    ----------
    images : dict
        Band -> FITS path of the field.
    bands : tuple of str
        The classifier's bands.
    tile_size, tile_index : int
        Which tile.
    sources : `~astropy.table.QTable` or None
        The sources of the tile (None: detect them).
    classifier : `~clusterfinder.ClusterClassifier`
        The model.
    options : dict
        ``threshold``, ``batch_size``, ``device``, ``precision``, ``keep_all``,
        ``field`` (its name) and ``zero_points`` (band -> AB zero point or None, as
        given to `scan`).

    Returns
    -------
    rows : `~astropy.table.QTable`
        The rows kept, with a ``field`` column.
    n_sources : int
        How many sources were classified.
    """
    field, work = start_unit(images, bands, tile_size, tile_index, sources, classifier, options)
    with field:
        work.run(classifier, _predict_options(options))
    return unit_rows(work, options)


def start_unit(images, bands, tile_size, tile_index, sources, classifier, options):
    """Open the images of a unit and plan its work: ``(field, work)``.

    ``field`` is the opened `~clusterfinder.scan.TiledImages` (the caller closes it
    once the stamps are cut) and ``work`` the unit's `~clusterfinder.scan.find.TileWork`,
    its sources detected first if ``sources`` is None. The parameters are those of
    `run_unit` (``options["field"]`` is not read here).
    """
    field = TiledImages(
        images, bands=bands, tile_size=tile_size, zero_points=options.get("zero_points")
    )
    try:
        tile = field.tiles[tile_index]
        size = int(classifier.cutout_size)
        if sources is None:
            sources = detect_in_tile(field, tile, size)
        # A seeing-aware model reads the field's PSF: measured as find_candidates does
        # (central window of each image), once per field in this process.
        psfs = _field_psfs(field, images) if needs_psf(classifier) else None
        work = TileWork(
            field,
            tile,
            with_psf(sources, psfs),
            size,
            chunk_size=default_chunk_size(options["batch_size"]),
        )
    except BaseException:
        field.close()
        raise
    return field, work


def unit_rows(work, options):
    """The rows a unit keeps, with its ``field`` column, and its number of sources."""
    rows = work.rows(threshold=options["threshold"], keep_all=options["keep_all"])
    rows["field"] = np.full(len(rows), options["field"], dtype=f"U{max(1, len(options['field']))}")
    return rows, len(work.sources)


def _predict_options(options):
    return predict_options(
        batch_size=options["batch_size"], device=options["device"], precision=options["precision"]
    )


def _open_fields(fields, bands, tile_size, failures, zero_points=None):
    """Open every field (headers only); those that cannot be read are None in the list.

    ``failures`` receives ``(name, exception)`` for each of them. The caller closes
    the fields opened.
    """
    opened = []
    try:
        for name, images in fields:
            try:
                field = TiledImages(
                    images, bands=bands, tile_size=tile_size, zero_points=zero_points
                )
            except READ_ERRORS as exc:
                failures.append((name, exc))
                opened.append(None)
                continue
            opened.append(field)
    except BaseException:
        _close_fields(opened)
        raise
    return opened


def _close_fields(opened):
    for field in opened:
        if field is not None:
            field.close()


def _check_fields(fields, opened, classifier):
    """Refuse, before any work, a field that the model cannot read (see `check_field`)."""
    for (name, images), field in zip(fields, opened, strict=True):
        if field is not None:
            check_field(field, classifier, images, name=name)


def _place(fields, opened, sources, units):
    if sources is None:
        for k, field in enumerate(opened):
            if field is not None:
                units.extend((k, tile.index, None) for tile in field.tiles)
        return
    # Pre-select the sources near each field with one k-d tree search, then place them.
    good = [k for k, field in enumerate(opened) if field is not None]
    if not good or len(sources) == 0:
        return
    ra, dec, radii = [], [], []
    for k in good:
        corners = opened[k].footprint_coords().icrs
        ra.append(corners[-1].ra.deg)
        dec.append(corners[-1].dec.deg)
        radii.append(corners[-1].separation(corners[:-1]).max().to_value(u.deg))
    centres = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")
    radius = max(radii) * 1.01 * u.deg + 1 * u.arcsec
    coords = sources["coord"]
    which, near, _, _ = search_around_sky(centres, coords, radius)
    for j, k in enumerate(good):
        field = opened[k]
        candidates = np.sort(near[which == j])
        subset = sources[candidates]
        x, y = field.pixel_positions(subset["coord"])
        tile_of = assign_to_tiles(x, y, field.shape, field.tile_size)
        if not np.any(tile_of >= 0):
            warnings.warn(
                f"field {fields[k][0]!r} holds none of the sources",
                ClusterFinderWarning,
                stacklevel=3,
            )
        for tile in field.tiles:
            in_tile = tile_of == tile.index
            if np.any(in_tile):
                units.append((k, tile.index, subset[in_tile]))


def scan(
    classifier,
    fields,
    output,
    *,
    sources=None,
    threshold=None,
    batch_size=256,
    device="auto",
    precision="auto",
    tile_size=4096,
    zero_points=None,
    keep_all=False,
    radius=0.5 * u.arcsec,
    resume=True,
    overwrite=False,
    client=None,
    workers=None,
    progress_bar=False,
):
    """Search many fields for cluster candidates, resumably, serially or with Dask.

    Parameters
    ----------
    classifier : `~clusterfinder.ClusterClassifier` or path
        The model, or the path of saved weights (loaded once per Dask worker): a
        ``.safetensors`` (or ``.pt``) file, or the base name the files share, as
        for `~clusterfinder.ClusterClassifier.load`.
    fields : str, path-like, list of dict or dict
        A folder of ``NAME_<band>.fits`` images (see `fields_from_folder`), a list
        of dicts band -> FITS path, or a dict field name -> dict band -> path.
    output : str or path-like
        Output folder: ``manifest.json``, ``parts/`` (one file per finished unit)
        and the merged catalogue ``candidates.ecsv``.
    sources : `~astropy.table.Table`, optional
        Sources to classify, for all fields (``coord`` or ``ra``/``dec``, plus any
        columns, which are kept, and a ``source_index``: the row in ``sources``).
        If None, sources are detected on each tile.
    threshold : float, optional
        Keep rows with ``prob_cluster >= threshold`` (the classifier's by default).
    batch_size, device, precision : optional
        As for `~clusterfinder.ClusterClassifier.predict_proba`. A scan resumes
        only with the same ``precision``.
    tile_size : int, optional
        Side of a tile (a unit of work), in pixels.
    zero_points : float or dict, optional
        AB zero point of the images of each band, for every field: one number for
        every band, or a dict band -> number (the other bands read from their
        headers). By default each image's is read from its header (``PHOTZP``,
        ``MAGZPT``, ``MAGZP``, ``ZEROPT``); a field whose image has none is refused
        like an unreadable one (listed in ``failed``). A scan resumes only with the
        same ``zero_points``.
    keep_all : bool, optional
        Keep every source, not only candidates.
    radius : `~astropy.units.Quantity`, optional
        Detected sources closer than this on overlapping fields are one source.
    resume : bool, optional
        Skip units already done by an earlier run of the same scan in ``output``;
        refused, with the reason, if that scan used another model, threshold,
        field list, source list or tiling. False starts over.
    overwrite : bool, optional
        Replace a ``candidates.ecsv``, part files or ``manifest.json`` in ``output``
        that were not written by a scan (no scan manifest accounts for them); by
        default they are refused before any work. An input is never replaced.
    client : `dask.distributed.Client`, optional
        Run the units on this Dask cluster (see `clusterfinder.scan.distributed`).
    workers : int, optional
        When sources are detected (no ``sources``), detect those of the next tiles
        in this many worker processes while this process cuts, classifies and
        writes (see `clusterfinder.scan.detect_ahead`); the catalogue is the same.
        None (the default) detects in this process. Worth it when detection is
        what limits the scan: on a GPU, or with spare CPU cores. Not used with
        given ``sources`` (nothing to detect) and refused with ``client`` (Dask
        workers already run whole tiles in parallel). A script that uses it must
        start its work under ``if __name__ == "__main__":`` (workers are spawned).
    progress_bar : bool, optional
        Show a progress bar over the units.

    Returns
    -------
    `~clusterfinder.CandidateCatalog`
        The merged catalogue (also written to ``output/candidates.ecsv``), with a
        ``field`` column and ``n_detections``; ``meta`` holds the provenance, the
        fields, the number of sources classified, the ``failed`` list and the zero
        points used (``field_zero_points``: field -> band -> AB zero point).

    Raises
    ------
    TypeError, ValueError
        When the first two arguments fit neither order (see Notes).
    ValueError
        Before any work and before ``output`` is touched, for a field the model
        cannot read: an image whose pixel scale is more than 2% from the model's
        (e.g. binned 2 x 2), or a band whose header names another band's filter
        (g and i swapped). The message names the field and the band. (A field
        whose files cannot be read is skipped and listed in ``failed`` instead.)

    Notes
    -----
    The classifier comes first, as in `find_candidates`. Earlier versions took
    ``scan(fields, classifier, output, ...)``; that order still works for one
    release, with an `~astropy.utils.exceptions.AstropyDeprecationWarning`. Since
    both the fields and the classifier may be paths, the order is decided from
    what the two arguments are, never guessed:

    - the first is a classifier object: the classifier first (the new order);
    - the second is a classifier object: the old order (warns);
    - the first is a dict or a list (only fields can be): the old order (warns);
    - both are paths: saved weights then a folder is the new order; a folder
      then saved weights the old one (warns); any other pair (two folders, two
      weights files, a path that is neither, or one that is both and fits both
      orders) is refused with a `ValueError` that names the two orders. A weights
      path followed by a dict or a list is the new order.

    Arguments given by keyword (``classifier=``, ``fields=``) keep their meaning.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from astropy.io import fits
    >>> from astropy.table import QTable
    >>> from astropy.wcs import WCS
    >>> from clusterfinder import ClusterClassifier
    >>> from clusterfinder.scan import scan
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.crval, wcs.wcs.cdelt = [10.68, 41.27], [-5.2e-5, 5.2e-5]
    >>> header = wcs.to_header()
    >>> header["PHOTZP"] = 30.0
    >>> for band in ("g", "i"):
    ...     fits.PrimaryHDU(np.ones((64, 64), np.float32), header).writeto(tmp / f"m1_{band}.fits")
    >>> sources = QTable({"coord": wcs.pixel_to_world([10, 40], [20, 50])})
    >>> clf = ClusterClassifier("small_cnn", cutout_size=16, threshold=0.0,
    ...                         architecture_options={"widths": (4, 4, 4, 4)})
    >>> cands = scan(clf, tmp, tmp / "out", sources=sources, device="cpu")
    >>> len(cands), sorted(p.name for p in (tmp / "out").iterdir())
    (2, ['candidates.ecsv', 'manifest.json', 'parts'])

    The classifier may be the path of its saved weights; two folders are refused:

    >>> weights = clf.save(tmp / "model")
    >>> cands = scan(weights, tmp, tmp / "out2", sources=sources, device="cpu")
    >>> scan(tmp, tmp / "out", tmp / "out3")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: scan cannot tell which argument is the classifier: ... is a folder and ...

    See :ref:`scanning` for more.
    """
    classifier, fields, old_order = scan_order(classifier, fields)
    if workers is not None:
        workers = check_positive_integer(workers, "workers")
        if client is not None:
            raise ValueError(
                "workers= detects the next tiles in local processes; with client= the Dask "
                "workers already run whole tiles in parallel: give one or the other"
            )
    if old_order:
        warnings.warn(
            "scan(fields, classifier, output, ...) is deprecated: give the classifier first, "
            "scan(classifier, fields, output, ...), as find_candidates(classifier, images, ...) "
            "takes it; the old order will stop working in a future release",
            AstropyDeprecationWarning,
            stacklevel=2,
        )
    clf, model_path = load_classifier(classifier)
    identity = model_identity(clf)
    threshold = check_threshold(threshold, clf)
    batch_size = check_batch_size(batch_size)
    precision = check_precision(precision)
    bands = tuple(clf.bands)
    tile_size = check_tile_size(tile_size)
    radius = check_radius(radius)
    fields = _normalise_fields(fields, bands)
    given = zero_points_by_band(zero_points, bands)
    given = None if all(value is None for value in given.values()) else given
    if sources is not None:
        sources = check_sources(sources).copy(copy_data=False)
        sources["source_index"] = np.arange(len(sources))
    settings = {
        "model_name": identity["name"],
        "model_sha256": identity["sha256"],
        "model_fingerprint": identity["fingerprint"],
        "model_path": model_path,
        "threshold": threshold,
        "bands": list(bands),
        "cutout_size": int(clf.cutout_size),
        "tile_size": tile_size,
        "keep_all": bool(keep_all),
        "sources_sha256": _sources_sha256(sources),
        "n_input_sources": None if sources is None else len(sources),
        "precision": precision,
        "fields": [{"name": name, "images": images} for name, images in fields],
    }
    if given is not None:
        settings["zero_points"] = given
    inputs = {"the classifier": model_path}
    for name, images in fields:
        inputs.update({f"the {band} image of field {name!r}": images[band] for band in images})
    # The plan is made from the headers of every field; a field the model cannot read
    # (another pixel scale, g and i swapped) is refused before the output is touched.
    failures = []
    opened = _open_fields(fields, bands, tile_size, failures, given)
    field_zero_points = {
        name: field.zero_points
        for (name, _), field in zip(fields, opened, strict=True)
        if field is not None
    }
    try:
        _check_fields(fields, opened, clf)
        journal = ScanJournal.start(
            output, settings, resume=resume, overwrite=overwrite, inputs=inputs
        )
        for name, exc in failures:
            journal.record_failure(name, exc)
        units = []
        _place(fields, opened, sources, units)
    finally:
        _close_fields(opened)
    done = journal.done_units()
    todo = [unit for unit in units if (unit[0], unit[1]) not in done]
    options = {
        "threshold": threshold,
        "batch_size": int(batch_size),
        "device": device,
        "precision": precision,
        "keep_all": bool(keep_all),
        "zero_points": given,
    }

    def finished(unit, rows, n_sources):
        journal.write_part(unit, rows, n_sources=n_sources)

    def failed(unit, reason):
        journal.record_failure(fields[unit[0]][0], reason, tile=int(unit[1]))

    if client is None:
        _scan_here(
            todo,
            fields,
            clf,
            options,
            bands=bands,
            tile_size=tile_size,
            detect_workers=workers if sources is None else None,
            finished=finished,
            failed=failed,
            progress_bar=progress_bar,
        )
    else:
        from .distributed import run_distributed

        run_distributed(
            client,
            todo,
            fields,
            bands,
            tile_size,
            clf,
            model_path,
            identity["fingerprint"],
            options,
            finished=finished,
            failed=failed,
            progress_bar=progress_bar,
        )
    return _finish(journal, units, identity, threshold, fields, radius, field_zero_points)


def _scan_here(
    todo, fields, classifier, options, *, bands, tile_size, detect_workers, finished, failed,
    progress_bar,
):  # fmt: skip
    """Do the units in this process, stamps cut ahead in threads (`run_units`).

    With ``detect_workers``, the sources of the next tiles are detected in that many
    worker processes (`detected_ahead`).
    """
    if detect_workers is not None:
        ahead = detected_ahead(
            todo,
            fields,
            bands=bands,
            tile_size=tile_size,
            size=int(classifier.cutout_size),
            zero_points=options["zero_points"],
            workers=detect_workers,
        )
    else:
        ahead = ((unit, None) for unit in todo)
    predict = _predict_options(options)

    def start(item):
        (k, tile_index, subset), detected = item
        images = fields[k][1]
        subset = subset if detected is None else detected()
        field, work = start_unit(images, bands, tile_size, tile_index, subset, classifier, options)
        return work, field.close

    def classify(work, cut):
        work.add(*cut, classifier, predict)

    def done(item, work):
        (k, tile_index, _), _ = item
        rows, n = unit_rows(work, {**options, "field": fields[k][0]})
        finished((k, tile_index), rows, n)

    def fail(item, error):
        (k, tile_index, _), _ = item
        failed((k, tile_index), error)

    bar = _progress_bar(enabled=progress_bar, desc="scanning", unit="tile", total=len(todo))
    # closing: an error or an interrupt stops the detection workers at once.
    with contextlib.closing(ahead), contextlib.closing(bar):
        run_units(
            ahead,
            start,
            classify,
            finished=done,
            failed=fail,
            threads=_find.PREFETCH_THREADS,
            errors=READ_ERRORS,
            progress=bar,
        )


def _finish(journal, units, identity, threshold, fields, radius, field_zero_points):
    """Merge the parts of every finished unit and write the catalogue."""
    done = journal.done_units()
    finished = sorted((k, t) for k, t, _ in units if (k, t) in done)
    tables, n_sources = journal.read_parts(finished)
    rows = merge_rows(tables, radius=radius)
    if rows is None:
        rows = _empty_rows(journal.manifest["bands"])
        rows["field"] = np.zeros(0, dtype="U1")
        rows["n_detections"] = np.zeros(0, dtype=int)
    if n_sources == 0:
        warnings.warn(
            "the scan found no source to classify: the candidate catalogue is empty",
            ClusterFinderWarning,
            stacklevel=3,
        )
    manifest = journal.manifest
    manifest["n_units"] = len(units)
    manifest["n_units_done"] = len(finished)
    manifest["n_sources_classified"] = n_sources
    manifest["n_rows"] = len(rows)
    manifest["complete"] = len(finished) == len(units) and not manifest["failed"]
    catalog = to_catalog(
        rows,
        identity=identity,
        threshold=threshold,
        images=[name for name, _ in fields],
        meta={
            "date_utc": manifest["created_utc"],
            "keep_all": manifest["keep_all"],
            "tile_size": manifest["tile_size"],
            "precision": manifest["precision"],
            "n_sources": n_sources,
            "failed": manifest["failed"],
            "dedup_radius_arcsec": float(radius.to_value(u.arcsec)),
            "field_zero_points": field_zero_points,
        },
    )
    catalog.write(journal.catalog_path, overwrite=True)
    manifest["catalog"] = journal.CATALOG
    journal.save_manifest()
    return catalog
