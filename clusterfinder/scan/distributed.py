"""Running the units of a scan on a Dask cluster.

`clusterfinder.scan.scan` with ``client=`` (a `dask.distributed.Client`) submits
one task per unit of work (a tile of a field) and collects the results as they
complete, writing each unit's part file at once on the client side, so that the
output folder needs to be reachable only from the client (the images must be
readable from the workers).

The model is loaded once per worker, not once per task:

- given as a path, each worker loads the weights file the first time it needs it
  and keeps it in a per-process cache keyed by the fingerprint of the weights
  (checked after loading, so a file changed during the scan is refused);
- given as an object, it is scattered once to every worker
  (``client.scatter(..., broadcast=True)``) and each task receives the worker's
  copy.

Dask reruns the tasks of a worker that dies (up to its ``allowed-failures``
setting), and a part file is written only from a completed result, so a lost
worker costs only time; the catalogue is the same as a serial scan's.
"""

import os
import threading
import uuid

from ..utils import progress_bar as _progress_bar
from .find import model_identity
from .scanner import READ_ERRORS, load_classifier, run_unit

__all__ = ["clear_worker_cache", "run_distributed", "worker_classifier"]

_MODELS = {}
_LOCK = threading.Lock()
_THREADS_SET = False


def worker_classifier(path, fingerprint):
    """The classifier saved at ``path``, loaded once per process and cached.

    Parameters
    ----------
    path : str
        The weights file (as for `~clusterfinder.ClusterClassifier.load`).
    fingerprint : str
        The expected fingerprint of the weights (`~clusterfinder.scan.find.model_identity`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from clusterfinder import ClusterClassifier
    >>> from clusterfinder.scan.find import model_identity
    >>> from clusterfinder.scan.distributed import clear_worker_cache, worker_classifier
    >>> clf = ClusterClassifier("small_cnn", cutout_size=16,
    ...                         architecture_options={"widths": (4, 4, 4, 4)})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = clf.save(pathlib.Path(tmp) / "model")
    ...     key = model_identity(clf)["fingerprint"]
    ...     worker_classifier(path, key) is worker_classifier(path, key)
    True
    >>> clear_worker_cache()
    """
    with _LOCK:
        clf = _MODELS.get(fingerprint)
        if clf is None:
            clf, _ = load_classifier(path)
            actual = model_identity(clf)["fingerprint"]
            if actual != fingerprint:
                raise ValueError(
                    f"the weights file {path} changed during the scan (fingerprint {actual[:12]}, "
                    f"expected {fingerprint[:12]})"
                )
            _MODELS[fingerprint] = clf
    return clf


def clear_worker_cache():
    """Forget the classifiers cached in this process."""
    with _LOCK:
        _MODELS.clear()


def _limit_threads(client_pid):
    """In a worker process, let torch use as many threads as the worker has."""
    global _THREADS_SET
    if _THREADS_SET or os.getpid() == client_pid:
        return
    try:
        from distributed import get_worker

        nthreads = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        return
    import torch

    torch.set_num_threads(max(1, int(nthreads)))
    _THREADS_SET = True


def _unit_task(images, bands, tile_size, tile_index, sources, model, options):
    """One unit on a worker: ``("ok", rows, n_sources)`` or ``("failed", reason)``."""
    _limit_threads(options.get("client_pid"))
    if isinstance(model, tuple) and model and model[0] == "path":
        classifier = worker_classifier(model[1], model[2])
    else:
        classifier = model
    try:
        rows, n_sources = run_unit(
            images, bands, tile_size, tile_index, sources, classifier, options
        )
    except READ_ERRORS as exc:
        return ("failed", str(exc))
    return ("ok", rows, n_sources)


def run_distributed(
    client,
    units,
    fields,
    bands,
    tile_size,
    classifier,
    model_path,
    fingerprint,
    options,
    *,
    finished,
    failed,
    progress_bar=False,
):
    """Run ``units`` on ``client``; call ``finished(unit, rows, n)`` or ``failed(unit, reason)``.

    Called by `clusterfinder.scan.scan`; see there for the parameters.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - dask is an optional dependency
        raise ImportError(
            "client= needs the optional package dask[distributed] (pip install 'dask[distributed]')"
        ) from None
    if not isinstance(client, Client):
        raise TypeError(f"client must be a dask.distributed.Client; got {type(client).__name__}")
    if not units:
        return
    if model_path is not None:
        model = ("path", os.path.abspath(model_path), fingerprint)
    else:
        model = client.scatter(classifier, broadcast=True, hash=False)
    token = uuid.uuid4().hex[:8]
    futures, where = [], {}
    for k, tile_index, subset in units:
        name, images = fields[k]
        unit_options = {**options, "field": name, "client_pid": os.getpid()}
        future = client.submit(
            _unit_task,
            images,
            bands,
            tile_size,
            tile_index,
            subset,
            model,
            unit_options,
            key=f"clusterfinder-scan-{token}-{k:05d}-{tile_index:05d}",
            pure=False,
        )
        futures.append(future)
        where[future.key] = (k, tile_index)
    bar = _progress_bar(enabled=progress_bar, total=len(units), desc="scanning", unit="tile")
    try:
        for future in as_completed(futures):
            unit = where[future.key]
            try:
                result = future.result()
            except Exception as exc:
                if type(exc).__name__ != "KilledWorker":
                    raise
                failed(unit, f"its task killed {exc.args[-1] if exc.args else 'workers'}")
            else:
                if result[0] == "ok":
                    finished(unit, result[1], result[2])
                else:
                    failed(unit, result[1])
            future.release()  # free the result on the worker
            bar.update(1)
    finally:
        pending = [future for future in futures if not future.done()]
        if pending:
            client.cancel(pending)
        bar.close()
        if not isinstance(model, tuple):
            model.release()
