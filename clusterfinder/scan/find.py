"""Classify every source of one set of images: `find_candidates`.

This is the single-field search behind ``ClusterClassifier.find_candidates``. The
images are opened memory-mapped and cut into tiles (`clusterfinder.scan.tiling`);
for each tile, the sources whose centres fall in it (given, or detected on the
tile with `clusterfinder.detection.detect_sources`) are cut into stamps in
vectorised batches and classified in batches. Only the pixels a tile needs are
read, so images larger than memory can be searched. The same per-tile step,
`classify_tile`, is what `clusterfinder.scan.scan` runs for each unit of work.

Only `find_candidates` is public (as ``clusterfinder.scan.find_candidates``); the
other names of this module are internal to `clusterfinder.scan`.
"""

import hashlib
import os
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table, vstack

from ..utils import ClusterFinderWarning, validation
from ..utils import progress_bar as _progress_bar
from .tiling import TiledImages, assign_to_tiles

__all__ = ["find_candidates"]

#: Columns computed by the search; a source table's own columns of these names are replaced.
COMPUTED_COLUMNS = ("x", "y", "prob_cluster")

#: Extra pixels first read around a tile for source detection, so that sources near
#: the edge of a tile are detected whole (their centres still decide the tile);
#: detection widens it where a segment is cut by it.
DETECTION_MARGIN = 32

#: Largest side (pixels) of the central window of an image whose stars measure its PSF.
PSF_WINDOW = 4096


def fainter_than_training(rows, classifier):
    """True for sources fainter, in some band, than every training source of the model.

    None when the model does not know its training magnitudes or ``rows`` has no
    ``mag_<band>`` column for them.
    """
    training = getattr(classifier, "training", None) or {}
    faint, known = np.zeros(len(rows), dtype=bool), False
    for band, (_, faintest) in (training.get("mag_range") or {}).items():
        name = f"mag_{band}"
        if name in rows.colnames:
            known = True
            mags = np.asarray(getattr(rows[name], "value", rows[name]), dtype=float)
            faint |= np.nan_to_num(mags, nan=-np.inf) > faintest
    return faint if known else None


def needs_psf(classifier):
    """True when a model reads the PSF (seeing-aware) or knows the seeing it trained on."""
    transform = getattr(classifier, "transform", None)
    training = getattr(classifier, "training", None) or {}
    return bool(getattr(transform, "psf_channels", False) or training.get("psf_fwhm_range"))


def with_psf(sources, psfs):
    """``sources`` with the PSF columns of ``psfs`` (a new table; None: unchanged)."""
    from ..psf import psf_columns

    if psfs is None:
        return sources
    sources = sources.copy(copy_data=False)
    for name, column in psf_columns(psfs, len(sources)).items():
        sources[name] = column
    return sources


def field_psfs(field):
    """Band -> PSF measured on the stars of the central window of each image of ``field``."""
    from astropy.io import fits

    from ..psf import measure_psf

    out = {}
    for band, image in field.images.items():
        ny, nx = image.data.shape
        y0, x0 = max(0, (ny - PSF_WINDOW) // 2), max(0, (nx - PSF_WINDOW) // 2)
        window = (slice(y0, y0 + PSF_WINDOW), slice(x0, x0 + PSF_WINDOW))
        # The header travels with the window: its seeing keyword is measure_psf's fallback.
        header = fits.Header() if image.header is None else image.header.copy()
        header.update(image.wcs[window].to_header())
        hdu = fits.ImageHDU(np.asarray(image.data[window], dtype=np.float32), header=header)
        out[band] = measure_psf(hdu, saturation=image.saturation)
    return out


def _filter_headers(image, given):
    """The headers that may name the filter of ``image``: its own, and the file's primary."""
    from astropy.io import fits

    headers = [image.header]
    if isinstance(image.header, fits.Header) and "XTENSION" in image.header:
        # An extension of a multi-extension file: the filter is often only in the primary.
        if isinstance(given, (str, os.PathLike)):
            try:
                headers.append(fits.getheader(os.fspath(given), 0))
            except (OSError, IndexError):
                pass
        elif isinstance(given, fits.HDUList) and len(given):
            headers.append(given[0].header)
    return headers


def check_field(field, classifier, images, *, name=None):
    """Refuse a field that the model cannot read, before any of its pixels is used.

    Each band's image must have the model's pixel scale
    (`ClusterClassifier.check_pixel_scale
    <clusterfinder.ClusterClassifier.check_pixel_scale>`, when the model has that
    method) and no band's header may name the filter of another of the model's bands
    (`clusterfinder.cutout.extract.check_filters`). `find_candidates` and
    `~clusterfinder.scan.scan` call this once per field, before the sources are
    detected: the stamps cut from a shared pixel grid carry no WCS and no header, so
    the checks of the model on its stamps cannot see either.

    Parameters
    ----------
    field : `~clusterfinder.scan.TiledImages`
        The opened images.
    classifier : `~clusterfinder.ClusterClassifier`
        The model.
    images : dict
        Band -> image as given (a path names its file in the messages and gives the
        primary header of a multi-extension file).
    name : str, optional
        The field's name, for the messages (a scan's fields).

    Raises
    ------
    ValueError
        Naming the field, the band, its file and what is wrong.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.io import fits
    >>> from astropy.wcs import WCS
    >>> from clusterfinder import ClusterClassifier
    >>> from clusterfinder.scan import TiledImages
    >>> from clusterfinder.scan.find import check_field
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.cdelt = [-0.372 / 3600, 0.372 / 3600]  # binned 2 x 2
    >>> header = wcs.to_header()
    >>> header["PHOTZP"] = 30.0
    >>> images = {b: fits.ImageHDU(np.zeros((64, 64), np.float32), header) for b in "gi"}
    >>> clf = ClusterClassifier("small_cnn", cutout_size=16)
    >>> with TiledImages(images) as field:
    ...     check_field(field, clf, images, name="m1")
    Traceback (most recent call last):
    ...
    ValueError: field 'm1': the pixels of images['g'] are at 0.372 arcsec/pix but the model ...
    """
    from ..cutout.extract import check_filters

    prefix = "" if name is None else f"field {name!r}: "
    check_scale = getattr(classifier, "check_pixel_scale", None)
    headers = {}
    for band, image in field.images.items():
        given = images.get(band) if isinstance(images, dict) else None
        label = f"images[{band!r}]"
        if isinstance(given, (str, os.PathLike)):
            label += f" ({os.path.basename(os.fspath(given))})"
        if check_scale is not None:
            check_scale(image.pixel_scale * u.arcsec / u.pix, name=f"{prefix}the pixels of {label}")
        headers[band] = _filter_headers(image, given)
    try:
        check_filters(headers, bands=field.bands)
    except ValueError as exc:
        raise ValueError(f"{prefix}{exc}") from None


def check_sources(sources, name="sources"):
    """Return ``sources`` as a `~astropy.table.QTable` with a SkyCoord column ``coord``.

    A table with ``ra`` and ``dec`` columns (degrees) instead of ``coord`` is
    accepted. Anything else is refused with the reason.

    Examples
    --------
    >>> from astropy.table import Table
    >>> from clusterfinder.scan.find import check_sources
    >>> check_sources(Table({"ra": [10.68], "dec": [41.27]}))["coord"].dec.deg
    array([41.27])
    """
    if not isinstance(sources, Table):
        raise TypeError(
            f"{name} must be an astropy Table or QTable with a SkyCoord column 'coord'; "
            f"got {type(sources).__name__}"
        )
    table = QTable(sources, copy=False)
    if "coord" not in table.colnames:
        if {"ra", "dec"} <= set(table.colnames):
            ra, dec = table["ra"], table["dec"]
            ra = ra if isinstance(ra, u.Quantity) else np.asarray(ra, dtype=float) * u.deg
            dec = dec if isinstance(dec, u.Quantity) else np.asarray(dec, dtype=float) * u.deg
            table = table.copy(copy_data=False)
            table.add_column(SkyCoord(ra, dec, frame="icrs"), name="coord", index=0)
            table.remove_columns(["ra", "dec"])
        else:
            raise ValueError(
                f"{name} needs a SkyCoord column 'coord' (or 'ra' and 'dec' in degrees); "
                f"it has {', '.join(table.colnames) or 'no columns'}"
            )
    if not isinstance(table["coord"], SkyCoord):
        raise TypeError(
            f"column 'coord' of {name} must be a SkyCoord; got {type(table['coord']).__name__}"
        )
    if table["coord"].isscalar or table["coord"].ndim != 1:
        raise ValueError(f"column 'coord' of {name} must be one-dimensional")
    return table


def _state_fingerprint(model):
    """sha256 over the names, shapes, dtypes and bytes of a torch model's tensors."""
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def model_identity(classifier):
    """Name, weights-file sha256 and a fingerprint of a classifier's weights.

    The fingerprint (a sha256 over the weight tensors themselves) identifies the
    model whether it was loaded from a file or is still in memory; a scan compares
    it to refuse resuming with another model.

    Returns
    -------
    dict
        ``name`` (str), ``sha256`` (sha256 of the weights file, or None),
        ``fingerprint`` (str).

    Examples
    --------
    >>> from clusterfinder import ClusterClassifier
    >>> from clusterfinder.scan.find import model_identity
    >>> identity = model_identity(ClusterClassifier("small_cnn", cutout_size=16))
    >>> identity["name"], len(identity["fingerprint"])
    ('small_cnn', 64)
    """
    for attribute in ("predict_proba", "threshold", "bands", "cutout_size"):
        if not hasattr(classifier, attribute):
            raise TypeError(
                f"classifier must be a ClusterClassifier (or have predict_proba, threshold, "
                f"bands and cutout_size); got {type(classifier).__name__} without {attribute}"
            )
    meta = getattr(classifier, "source_metadata", None) or {}
    name = meta.get("name") or meta.get("weights_name") or getattr(classifier, "name", None)
    if not name:
        name = getattr(classifier, "architecture", None) or type(classifier).__name__
    sha256 = meta.get("sha256") or getattr(classifier, "weights_sha256", None)
    model = getattr(classifier, "model", None)
    if hasattr(model, "state_dict"):
        fingerprint = _state_fingerprint(model)
    elif sha256:
        fingerprint = sha256
    else:
        raise TypeError(
            "cannot identify the classifier's weights: it has neither a torch model "
            "(.model) nor a recorded weights sha256"
        )
    return {"name": str(name), "sha256": sha256, "fingerprint": fingerprint}


def check_threshold(threshold, classifier):
    """The decision threshold: ``threshold`` if given, else the classifier's."""
    if threshold is None:
        return validation.check_threshold(classifier.threshold, "the classifier's threshold")
    return validation.check_threshold(threshold)


def detect_in_tile(field, tile, size):
    """Sources detected around ``tile`` whose centroids lie in its core.

    `clusterfinder.detection.detect_sources` runs on the field's images with
    ``region`` set to the tile's core, in blocks of its default ``tile_size``: it
    reads each block and a margin (at least `DETECTION_MARGIN` or ``size``
    pixels, widened where a segment is cut by it), takes the sky from a mesh tied
    to the whole image, and keeps the sources whose
    centroid (rounded to the nearest pixel) lies in the core, the rule of
    `~clusterfinder.scan.tiling.assign_to_tiles`. So each source is found by exactly one
    tile, and the sources and their measurements are those of one pass over the
    whole image, whatever ``tile_size``.
    """
    try:
        from ..detection import detect_sources
    except ImportError as exc:  # pragma: no cover - detection is part of the package
        raise ImportError(
            f"source detection is not available ({exc}); pass sources= explicitly"
        ) from None
    margin = max(DETECTION_MARGIN, size)
    # The opened images themselves: detection reads around the tile as it needs.
    images = {band: (image.data, image.wcs) for band, image in field.images.items()}
    with warnings.catch_warnings():
        # An empty tile is normal in a scan; the search as a whole warns when empty.
        warnings.filterwarnings("ignore", "detect_sources found no source", ClusterFinderWarning)
        found = detect_sources(
            images,
            bands=field.bands,
            zero_points={band: image.zero_point for band, image in field.images.items()},
            saturation={band: image.saturation for band, image in field.images.items()},
            gain={band: image.gain for band, image in field.images.items()},
            region=(tile.x0, tile.y0, tile.x1, tile.y1),
            # detect_sources' own blocks (2048 px), not the whole tile at once: same
            # catalogue; on a 4096-pixel tile of a simulated g/i field 0.45 instead of
            # 0.66 CPU-s per Mpix and 1.2 instead of 2.3 GB at most.
            tile_margin=margin,
        )
    return check_sources(found, "the detected sources")


def _empty_rows(bands):
    rows = QTable()
    rows["coord"] = SkyCoord(np.zeros(0) * u.deg, np.zeros(0) * u.deg, frame="icrs")
    rows["x"] = np.zeros(0)
    rows["y"] = np.zeros(0)
    rows["prob_cluster"] = np.zeros(0)
    rows["flag_edge"] = np.zeros(0, dtype=bool)
    rows["flag_masked"] = np.zeros(0, dtype=bool)
    return rows


#: Worker threads that cut the stamps of the next chunks while the model classifies
#: one (reading pixels and cutting stamps release the GIL; a GPU classifies faster
#: than one thread cuts). Used where all bands share one pixel grid: stamps are then
#: placed by pixel, and no WCS object (not safe across threads) is used.
PREFETCH_THREADS = min(4, os.cpu_count() or 1)


def _prefetched(work, items, *, threads):
    """``work(item)`` for every item, in order, up to ``threads`` ahead in threads."""
    if len(items) < 2 or threads < 2:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending = deque()
        items = iter(items)
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) > threads:
                break
        for item in items:
            done = pending.popleft().result()
            pending.append(pool.submit(work, item))
            yield done
        while pending:
            yield pending.popleft().result()


def classify_tile(
    field,
    tile,
    sources,
    classifier,
    *,
    threshold,
    batch_size=256,
    device="auto",
    precision="auto",
    keep_all=False,
    chunk_size=None,
):
    """Classify the sources of one tile; return one row per source kept.

    Parameters
    ----------
    field : `~clusterfinder.scan.TiledImages`
        The opened images.
    tile : `~clusterfinder.scan.tiling.Tile`
        Which tile.
    sources : `~astropy.table.QTable` or None
        The sources of this tile (column ``coord``); None detects them.
    classifier : `~clusterfinder.ClusterClassifier`
        The model.
    threshold : float
        Rows with ``prob_cluster >= threshold`` are kept (all with ``keep_all``).
    batch_size, device, precision
        Passed to ``classifier.predict_proba`` (``precision`` only when it is not
        ``"auto"``, so that a classifier without that option still works).
    keep_all : bool, optional
        Keep every source.
    chunk_size : int, optional
        Stamps cut and classified at once (bounds the memory); by default
        ``max(2048, 8 * batch_size)``.

    Returns
    -------
    `~astropy.table.QTable`
        The source columns, then ``x``, ``y`` (pixel on the reference band's image),
        ``prob_cluster``, ``flag_edge`` (the stamp reaches past the image edge) and
        ``flag_masked`` (the stamp holds invalid pixels) and, when the model knows the
        magnitudes it was trained on and the sources have theirs, ``flag_faint`` (fainter
        than every training source: an extrapolation), in the order of ``sources``.
    """
    work = TileWork(
        field,
        tile,
        sources,
        int(classifier.cutout_size),
        chunk_size=chunk_size or default_chunk_size(batch_size),
    )
    work.run(classifier, predict_options(batch_size=batch_size, device=device, precision=precision))
    return work.rows(threshold=threshold, keep_all=keep_all)


def default_chunk_size(batch_size):
    """Stamps cut and classified at once by default: ``max(2048, 8 * batch_size)``."""
    return max(2048, 8 * int(batch_size))


def predict_options(*, batch_size, device, precision):
    """The options of ``classifier.predict_proba`` in a search.

    ``precision`` is passed only when it is not ``"auto"``, so that a classifier
    without that option still works.
    """
    options = {"batch_size": batch_size, "device": device, "progress_bar": False}
    if precision != "auto":
        options["precision"] = precision
    return options


class TileWork:
    """The sources of one tile: their stamps, cut chunk by chunk, and their rows.

    Chunks are horizontal strips of sources (sorted by ``y``), so that each needs a
    small block of the images. `cut` may run in a worker thread where the bands
    share one pixel grid (`threaded`): stamps are then placed by pixel and no WCS
    object, which is not safe across threads, is used. `add` classifies a cut chunk;
    `rows` gives the tile's rows in the order of its sources.

    Parameters
    ----------
    field : `~clusterfinder.scan.TiledImages`
        The opened images (left open; close them after the last `cut`).
    tile : `~clusterfinder.scan.tiling.Tile`
        Which tile.
    sources : `~astropy.table.QTable` or None
        The sources of this tile (column ``coord``); None detects them.
    size : int
        The stamp size.
    chunk_size : int
        Stamps cut and classified at once.
    """

    def __init__(self, field, tile, sources, size, *, chunk_size):
        if sources is None:
            sources = detect_in_tile(field, tile, size)
        self.field, self.sources, self.size = field, sources, int(size)
        self.x, self.y = field.pixel_positions(sources["coord"])
        self.order = np.argsort(self.y, kind="stable")
        self.chunks = [
            self.order[start : start + chunk_size]
            for start in range(0, len(self.order), chunk_size)
        ]
        self._parts = []

    @property
    def threaded(self):
        """Whether `cut` may run in worker threads (all bands on one pixel grid)."""
        return self.field.shared_grid

    def cut(self, index):
        """Stamps of the sources ``index`` (one chunk): ``(index, coords, Cutout)``."""
        from ..cutout import Cutout

        field, size = self.field, self.size
        chunk_coords = self.sources["coord"][index]
        if field.shared_grid:
            # All bands on one grid: place stamps by pixel, no WCS transform needed.
            x, y = self.x[index], self.y[index]
            blocks, zero_points, (x0, y0) = field.stamp_block_pixels(x, y, size)
            positions = (x - x0, y - y0)
        else:
            blocks, zero_points = field.stamp_block(chunk_coords, size)
            positions = chunk_coords
        table = self.sources[index]
        table.remove_columns([c for c in table.colnames if c in COMPUTED_COLUMNS])
        cut = Cutout.from_images(
            blocks,
            positions,
            cutout_size=size,
            bands=field.bands,
            zero_points=zero_points,
            table=table,
        )
        return index, chunk_coords, cut

    def add(self, index, chunk_coords, cut, classifier, options):
        """Classify one cut chunk (what `cut` returned) and keep its rows."""
        proba = np.asarray(classifier.predict_proba(cut, **options), dtype=float)
        if proba.shape != (len(index),):
            raise ValueError(
                f"classifier.predict_proba returned shape {proba.shape} for {len(index)} stamps"
            )
        rows = cut.table
        edge = np.asarray(rows["off_image"], dtype=bool)
        rows.remove_columns(
            [c for c in rows.colnames if c in ("x_stamp", "y_stamp", "off_image")]
            + [c for c in rows.colnames if c.startswith(("x_", "y_", "ext_"))]
        )
        if "coord" in rows.colnames:
            rows.remove_column("coord")
        rows.add_column(chunk_coords, name="coord", index=0)
        rows["x"] = self.x[index]
        rows["y"] = self.y[index]
        rows["prob_cluster"] = proba
        masked = cut.mask.reshape(len(index), -1).any(axis=1)
        flags = [("flag_edge", edge), ("flag_masked", masked)]
        faint = fainter_than_training(rows, classifier)
        if faint is not None:
            flags.append(("flag_faint", faint))
        for name, value in flags:
            old = np.asarray(rows[name], dtype=bool) if name in rows.colnames else False
            rows[name] = value | old
        self._parts.append(rows)

    def run(self, classifier, options):
        """Cut and classify every chunk, the next ones cut in worker threads (`add`)."""
        threads = PREFETCH_THREADS if self.threaded else 1
        for cut in _prefetched(self.cut, self.chunks, threads=threads):
            self.add(*cut, classifier, options)

    def rows(self, *, threshold, keep_all):
        """The rows of every chunk added, in the order of the sources.

        Those with ``prob_cluster >= threshold``, or all with ``keep_all``.
        """
        if not self._parts:
            return _empty_rows(self.field.bands)
        parts = self._parts
        rows = parts[0] if len(parts) == 1 else vstack(parts, metadata_conflicts="silent")
        rows = rows[np.argsort(self.order, kind="stable")]
        rows.meta = {}
        if not keep_all:
            rows = rows[rows["prob_cluster"] >= threshold]
        return rows


def find_candidates(
    classifier,
    images,
    sources=None,
    *,
    threshold=None,
    batch_size=256,
    device="auto",
    precision="auto",
    tile_size=4096,
    zero_points=None,
    progress_bar=False,
    keep_all=False,
):
    """Classify the sources of a set of images and return the cluster candidates.

    Parameters
    ----------
    classifier : `~clusterfinder.ClusterClassifier`
        The model; its ``bands`` must be keys of ``images`` and its
        ``cutout_size`` sets the stamps.
    images : dict
        Band -> FITS path (memory-mapped), HDU, HDUList, `~astropy.nddata.NDData`
        or ``(array, WCS)``. Every image needs a celestial WCS and a photometric
        zero point (see ``zero_points``).
    sources : `~astropy.table.Table`, optional
        The sources to classify: a SkyCoord column ``coord`` (or ``ra``/``dec`` in
        degrees) and any other columns (magnitudes ``mag_<band>``...), which are
        kept. Sources off the reference (first) band's image are skipped. If None,
        sources are detected on the images with
        `clusterfinder.detection.detect_sources`, tile by tile.
    threshold : float, optional
        Keep sources with ``prob_cluster >= threshold``; the classifier's
        ``threshold`` by default.
    batch_size : int, optional
        Stamps per forward pass of the model.
    device : str, optional
        ``"auto"``, ``"cpu"``, ``"cuda"``...
    precision : {"auto", "float32", "bfloat16"}, optional
        The network's arithmetic (see `~clusterfinder.ClusterClassifier.predict_proba`);
        recorded in the catalogue's ``meta``.
    tile_size : int, optional
        Side of the tiles, in pixels of the reference band, in which images are read.
    zero_points : float or dict, optional
        AB zero point of each band's image: one number for every band, or a dict
        band -> number (the other bands read from their headers). By default it is
        read from the header (``PHOTZP``, ``MAGZPT``, ``MAGZP``, ``ZEROPT``) or the
        NDData ``meta``. A FITS image without one is refused, as in
        `Cutout.from_images <clusterfinder.Cutout.from_images>`. An array or NDData
        without one is still taken to be on 30 AB, with an
        `~astropy.utils.exceptions.AstropyDeprecationWarning`: that default is
        deprecated and will become an error. The zero points used, and where each
        came from, are in the catalogue's ``meta``.
    progress_bar : bool, optional
        Show a progress bar over the tiles.
    keep_all : bool, optional
        Return every source with its probability, not only the candidates.

    Returns
    -------
    `~clusterfinder.CandidateCatalog`
        One row per source kept, in the order of ``sources`` (tile by tile for
        detected sources): the source columns, ``x``, ``y``, ``prob_cluster``,
        ``flag_edge``, ``flag_masked``. ``meta`` holds the provenance (weights name
        and sha256, threshold, package versions, date, images) and the
        ``zero_points`` used (band -> AB) with their ``zero_point_origins`` (band ->
        ``"zero_points"``, ``"header"`` or ``"default"``). An empty catalogue (and
        a warning) when there is no source on the images.

    Raises
    ------
    ValueError
        Before any source is detected or classified, for images the model cannot
        read: a pixel scale more than 2% from the model's (e.g. images binned
        2 x 2), or a band whose header names another band's filter (g and i
        swapped).

    Examples
    --------
    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.table import QTable
    >>> from astropy.wcs import WCS
    >>> from clusterfinder import ClusterClassifier
    >>> from clusterfinder.scan import find_candidates
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.crval, wcs.wcs.crpix = [10.68, 41.27], [50.5, 50.5]
    >>> wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    >>> images = {b: (np.zeros((100, 100), np.float32), wcs) for b in ("g", "i")}
    >>> sources = QTable({"coord": wcs.pixel_to_world([20, 70], [30, 60]),
    ...                   "mag_g": [20.1, 21.5]})
    >>> clf = ClusterClassifier("small_cnn", cutout_size=16, threshold=0.0)
    >>> cands = find_candidates(clf, images, sources, device="cpu", zero_points=30)
    >>> len(cands), cands["x"].round(3).tolist(), cands.meta["threshold"]
    (2, [20.0, 70.0], 0.0)
    >>> cands.meta["zero_points"], cands.meta["zero_point_origins"]["g"]
    ({'g': 30.0, 'i': 30.0}, 'zero_points')
    """
    identity = model_identity(classifier)
    threshold = check_threshold(threshold, classifier)
    batch_size = validation.check_batch_size(batch_size)
    precision = validation.check_precision(precision)
    if sources is not None:
        sources = check_sources(sources)
    with TiledImages(
        images, bands=tuple(classifier.bands), tile_size=tile_size, zero_points=zero_points
    ) as field:
        # Before the long work: the images must be what the model reads.
        check_field(field, classifier, images)
        predict = {"batch_size": batch_size, "device": device, "precision": precision}
        rows, n_sources = _search_field(
            field, sources, classifier, threshold, predict, keep_all, progress_bar
        )
        names = field.names
        used = {"zero_points": field.zero_points, "zero_point_origins": field.zero_point_origins}
    if rows:
        table = rows[0] if len(rows) == 1 else vstack(rows, metadata_conflicts="silent")
    else:
        table = _empty_rows(tuple(classifier.bands))
    if "_row" in table.colnames:
        table = table[np.argsort(np.asarray(table["_row"]), kind="stable")]
        table.remove_column("_row")
    if n_sources == 0:
        what = "no source was detected" if sources is None else "none of the sources lies"
        warnings.warn(
            f"{what} on the images: the candidate catalogue is empty",
            ClusterFinderWarning,
            stacklevel=2,
        )
    return to_catalog(
        table,
        identity=identity,
        threshold=threshold,
        images=names,
        meta={
            "keep_all": bool(keep_all),
            "tile_size": int(tile_size),
            "precision": precision,
            "n_sources": n_sources,
            **used,
        },
    )


def _search_field(field, sources, classifier, threshold, predict, keep_all, progress_bar):
    """Classify the sources of every tile of ``field``; return (list of rows, n_sources).

    ``predict`` holds the ``batch_size``, ``device`` and ``precision`` of the model.
    """
    psfs = field_psfs(field) if needs_psf(classifier) else None
    if sources is not None:
        sources = check_sources(sources)
        sources = sources.copy(copy_data=False)
        sources["_row"] = np.arange(len(sources))
        x, y = field.pixel_positions(sources["coord"])
        tile_of = assign_to_tiles(x, y, field.shape, field.tile_size)
    rows, n_sources = [], 0
    for tile in _progress_bar(field.tiles, enabled=progress_bar, desc="tiles", unit="tile"):
        if sources is None:
            subset = detect_in_tile(field, tile, int(classifier.cutout_size))
        else:
            subset = sources[tile_of == tile.index]
        n_sources += len(subset)
        if len(subset) == 0:
            continue
        part = classify_tile(
            field,
            tile,
            with_psf(subset, psfs),
            classifier,
            threshold=threshold,
            keep_all=keep_all,
            **predict,
        )
        if len(part):
            rows.append(part)
    return rows, n_sources


def to_catalog(table, *, identity, threshold, images, meta=None):
    """Wrap rows as a `~clusterfinder.CandidateCatalog` with the provenance of a search."""
    from ..catalog import CandidateCatalog

    extra = {"model_fingerprint": identity["fingerprint"]}
    extra.update(meta or {})
    return CandidateCatalog.from_table(
        table,
        threshold=threshold,
        weights=identity["name"],
        weights_sha256=identity["sha256"],
        images=images,
        meta=extra,
    )
