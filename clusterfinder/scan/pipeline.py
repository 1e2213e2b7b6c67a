"""The units of a scan in this process, with stamps cut ahead in threads, across units.

A scan without Dask does its units (tiles) one after another. Cutting stamps
(reading pixels, gathering windows) releases the GIL, so worker threads cut the
stamps of the next chunks of sources while this thread classifies one and writes
the parts of finished units. The next chunks may belong to the next units: a scan
of many small tiles (a few thousand sources each, one chunk per tile) keeps the
threads busy too, where cutting ahead within a tile alone would leave them idle.
Units still finish, and are reported, in their order.

Internal to `clusterfinder.scan`.
"""

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = []


class _InFlight:
    """One unit whose chunks are being cut or classified."""

    def __init__(self, unit, work=None, close=None, error=None):
        self.unit, self.work, self.close, self.error = unit, work, close, error
        self.left = len(work.chunks) if work is not None else 0


def _done(func, *args):
    """A finished `~concurrent.futures.Future` holding ``func(*args)`` or its error."""
    future = Future()
    try:
        future.set_result(func(*args))
    except BaseException as exc:  # handed to whoever takes the result
        future.set_exception(exc)
    return future


def run_units(units, start, classify, *, finished, failed, threads, errors, progress):
    """Do ``units`` in order, cutting the stamps of up to ``threads`` chunks ahead.

    Parameters
    ----------
    units : iterable
        The units, in order.
    start : callable
        ``start(unit)`` returns ``(work, close)``: the unit's
        `~clusterfinder.scan.find.TileWork` and a callable that closes what it opened
        (called once every chunk of the unit is cut).
    classify : callable
        ``classify(work, cut)`` classifies one cut chunk (``cut`` is what
        ``work.cut`` returned).
    finished : callable
        ``finished(unit, work)`` once every chunk of a unit is classified.
    failed : callable
        ``failed(unit, error)`` for a unit whose ``start``, cutting or classifying
        raised one of ``errors``; its other chunks are dropped.
    threads : int
        Worker threads cutting stamps (1: each chunk is cut when its turn comes).
        Chunks of a field whose bands lie on different grids are cut in this thread
        (WCS objects are not safe across threads).
    errors : tuple of type
        The exceptions that fail a unit; any other stops the run.
    progress : object
        Its ``update(1)`` is called as each unit ends.

    Notes
    -----
    ``finished`` and ``failed`` are called in the order of ``units``. At most
    ``threads + 1`` chunks are cut and not yet classified at any time, which bounds
    the memory as cutting ahead within one tile does.
    """
    pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None
    queue = deque()  # (unit in flight, future of one chunk's cut or None), in order
    opened = []

    def settle(entry):
        if entry.close is not None:
            entry.close()
            opened.remove(entry)
        if entry.error is None:
            finished(entry.unit, entry.work)
        else:
            failed(entry.unit, entry.error)
        progress.update(1)

    def push(entry, submit=None, *args):
        while len(queue) > max(threads, 1):
            take()
        queue.append((entry, None if submit is None else submit(*args)))

    def take():
        entry, future = queue.popleft()
        if future is None:  # a unit without chunks, or one that failed to start
            settle(entry)
            return
        entry.left -= 1
        try:
            cut = future.result()
            if entry.error is None:
                classify(entry.work, cut)
        except errors as exc:
            if entry.error is None:
                entry.error = exc
        if entry.left == 0:
            settle(entry)

    try:
        for unit in units:
            try:
                work, close = start(unit)
            except errors as exc:
                push(_InFlight(unit, error=exc))
                continue
            entry = _InFlight(unit, work, close)
            opened.append(entry)
            if not work.chunks:
                push(entry)
            for index in work.chunks:
                submit = pool.submit if pool is not None and work.threaded else _done
                push(entry, submit, work.cut, index)
        while queue:
            take()
    finally:
        if pool is not None:
            # Cuts still running read the files: let them end before they are closed.
            pool.shutdown(wait=True, cancel_futures=True)
        for entry in opened:
            entry.close()
