"""Detect the sources of the coming tiles in worker processes while the model classifies.

A scan that detects its own sources spends most of its host time on detection:
about 0.5 CPU-second per million pixels (``benchmarks/bench_detection.py``), so
a 4096-pixel tile costs some 8 CPU-seconds before its few thousand sources reach
the model, which on a GPU classifies them in milliseconds. ``scan(workers=N)``
therefore detects the sources of the next tiles in ``N`` processes, in the order
of the plan, while this process cuts, classifies and writes the current tile.
Detection is a function of the tile alone (see `clusterfinder.detection`), so
the catalogue is the same as that of a scan without workers.

The workers are started with the ``spawn`` method (no copy of this process, its
threads or its GPU context): a script that scans with ``workers`` must start its
work under ``if __name__ == "__main__":``, as for any `multiprocessing` pool.
"""

import itertools
import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .find import detect_in_tile
from .tiling import TiledImages

__all__ = []


def detect_unit(images, bands, tile_size, tile_index, size, zero_points):
    """The detected sources of one tile of one field (runs in a worker process).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from astropy.io import fits
    >>> from astropy.wcs import WCS
    >>> from clusterfinder.scan.detect_ahead import detect_unit
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.crval, wcs.wcs.cdelt = [10.68, 41.27], [-5.2e-5, 5.2e-5]
    >>> header = wcs.to_header()
    >>> header["PHOTZP"] = 30.0
    >>> yy, xx = np.mgrid[:96, :96]
    >>> star = 2000.0 * np.exp(-((xx - 40.3) ** 2 + (yy - 50.6) ** 2) / 4.5) / (2 * np.pi * 2.25)
    >>> rng = np.random.default_rng(0)
    >>> paths = {}
    >>> for band in ("g", "i"):
    ...     image = star + rng.normal(0.0, 0.5, (96, 96))
    ...     paths[band] = tmp / f"f_{band}.fits"
    ...     fits.PrimaryHDU(image.astype(np.float32), header).writeto(paths[band])
    >>> sources = detect_unit(paths, ("g", "i"), 96, 0, 16, None)
    >>> len(sources), round(float(sources["x"][0]), 1), round(float(sources["y"][0]), 1)
    (1, 40.3, 50.6)
    """
    with TiledImages(images, bands=bands, tile_size=tile_size, zero_points=zero_points) as field:
        return detect_in_tile(field, field.tiles[tile_index], size)


def _result(future):
    """The sources a worker detected; a clear error when a worker died."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise RuntimeError(
            "a detection worker process of the scan stopped: it was killed, ran out of "
            "memory (each worker detects on one tile of every band at a time), or could "
            "not start (workers are spawned: the script that scans must be a file, not "
            'standard input, and run its work under if __name__ == "__main__":). The '
            "finished tiles are kept: run the same scan again, with fewer workers= or "
            "none, to resume"
        ) from exc


def detected_ahead(units, fields, *, bands, tile_size, size, zero_points, workers):
    """Yield ``(unit, sources)`` for each unit, in order, detected by ``workers`` processes.

    ``sources`` is a callable that returns the tile's detected sources (or raises
    what detection raised, for the caller to handle as it handles its own
    errors). Up to ``2 * workers`` tiles are detected ahead of the one the
    caller works on; queued tiles are cancelled when the caller stops.

    Parameters
    ----------
    units : list of tuple
        ``(field_index, tile_index, subset)`` as `~clusterfinder.scan.scan` plans them.
    fields : list of tuple
        ``(name, images)`` of every field.
    bands, tile_size, zero_points
        As for `~clusterfinder.scan.TiledImages`.
    size : int
        The classifier's stamp size (detection reads at least this margin).
    workers : int
        Number of worker processes (at least 1).

    Examples
    --------
    >>> from clusterfinder.scan.detect_ahead import detected_ahead
    >>> list(detected_ahead([], [], bands=("g",), tile_size=64, size=16,
    ...                     zero_points=None, workers=1))
    []
    """
    units = iter(units)
    pending = deque()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(unit):
        field_index, tile_index, _ = unit
        images = fields[field_index][1]
        arguments = (images, bands, tile_size, tile_index, size, zero_points)
        pending.append((unit, pool.submit(detect_unit, *arguments)))

    try:
        for unit in itertools.islice(units, 2 * workers):
            submit(unit)
        while pending:
            unit, future = pending.popleft()
            following = next(units, None)
            if following is not None:
                submit(following)
            yield unit, lambda future=future: _result(future)
    finally:
        # On an error or an interrupt, do not detect the queued tiles first.
        pool.shutdown(wait=True, cancel_futures=True)
