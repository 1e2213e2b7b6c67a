"""Units done in order while stamps are cut ahead in threads, across units."""

import threading
import time

import numpy as np
import pytest
from _scan_helpers import FakeClassifier

from clusterfinder.scan import find, scan
from clusterfinder.scan.pipeline import run_units


class FakeWork:
    """A unit's work: ``chunks`` chunks whose cut sleeps a little and may raise."""

    def __init__(self, unit, chunks, *, threaded=True, broken=None, log=None):
        self.unit, self.chunks, self.threaded = unit, list(range(chunks)), threaded
        self.broken, self.log = broken, log
        self.added = []

    def cut(self, index):
        time.sleep(0.002 * (1 + (index + self.unit) % 3))  # finish out of order
        with self.log["lock"]:
            self.log["cut"] += 1
            self.log["most"] = max(self.log["most"], self.log["cut"] - self.log["classified"])
        if index == self.broken:
            raise OSError(f"unit {self.unit} chunk {index} unreadable")
        return (self.unit, index)


def run(specs, *, threads, classify_error=None, log=None):
    """Run units described by ``specs`` (unit -> dict of FakeWork options or an error)."""
    log = {} if log is None else log
    log.update(lock=threading.Lock(), cut=0, classified=0, most=0, started=[], closed=[])
    events, closed = [], log["closed"]

    def start(unit):
        spec = specs[unit]
        if isinstance(spec, Exception):
            raise spec
        log["started"].append(unit)
        return FakeWork(unit, log=log, **spec), lambda: closed.append(unit)

    def classify(work, cut):
        assert cut == (work.unit, work.chunks[len(work.added)])  # chunks in order
        if classify_error is not None and cut == classify_error[0]:
            raise classify_error[1]
        work.added.append(cut)
        with log["lock"]:
            log["classified"] += 1

    def finished(unit, work):
        assert len(work.added) == len(work.chunks)
        events.append(("done", unit))

    def failed(unit, error):
        events.append(("failed", unit, str(error)))

    class Progress:
        count = 0

        def update(self, n):
            self.count += n

    progress = Progress()
    run_units(
        list(specs),
        start,
        classify,
        finished=finished,
        failed=failed,
        threads=threads,
        errors=(OSError, ValueError),
        progress=progress,
    )
    return events, closed, log, progress.count


SPECS = {
    0: {"chunks": 3},
    1: {"chunks": 0},  # no source in this tile
    2: ValueError("unit 2 cannot be opened"),
    3: {"chunks": 4, "broken": 1},  # a chunk of unit 3 cannot be read
    4: {"chunks": 1, "threaded": False},  # bands on different grids: cut in this thread
    5: {"chunks": 5},
}


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_units_end_in_order_whatever_fails(threads):
    events, closed, _, count = run(SPECS, threads=threads)
    assert events == [
        ("done", 0),
        ("done", 1),
        ("failed", 2, "unit 2 cannot be opened"),
        ("failed", 3, "unit 3 chunk 1 unreadable"),
        ("done", 4),
        ("done", 5),
    ]
    assert sorted(closed) == [0, 1, 3, 4, 5] and len(closed) == 5  # each opened unit once
    assert count == len(SPECS)


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_chunks_of_the_next_units_are_cut_ahead_within_the_bound(threads):
    specs = {unit: {"chunks": 1 + unit % 2} for unit in range(10)}
    events, _, log, _ = run(specs, threads=threads)
    assert events == [("done", unit) for unit in range(10)]
    # Never more than threads + 1 chunks cut and not yet classified (the memory
    # bound); with threads, chunks of later units are cut ahead.
    assert log["most"] <= max(threads, 1) + 1
    if threads > 2:
        assert log["most"] >= 3


def test_another_error_stops_the_run_and_closes_every_unit():
    specs = {unit: {"chunks": 2} for unit in range(6)}
    log = {}
    with pytest.raises(RuntimeError, match="network"):
        run(specs, threads=3, classify_error=((2, 1), RuntimeError("network broke")), log=log)
    assert 3 <= len(log["started"]) < 6  # stopped before the last units
    assert sorted(log["closed"]) == log["started"]


def test_an_error_in_classify_fails_only_its_unit():
    specs = {unit: {"chunks": 2} for unit in range(4)}
    events, closed, _, _ = run(specs, threads=2, classify_error=((1, 0), ValueError("bad shape")))
    assert events == [("done", 0), ("failed", 1, "bad shape"), ("done", 2), ("done", 3)]
    assert sorted(closed) == [0, 1, 2, 3]


def test_scan_of_many_small_tiles_equals_a_scan_without_threads(two_fields, tmp_path, monkeypatch):
    folder, _, sources = two_fields
    threaded = scan(FakeClassifier(), folder, tmp_path / "a", sources=sources, tile_size=32)
    monkeypatch.setattr(find, "PREFETCH_THREADS", 1)
    serial = scan(FakeClassifier(), folder, tmp_path / "b", sources=sources, tile_size=32)
    assert threaded.colnames == serial.colnames and len(threaded) == len(serial) > 0
    for name in threaded.colnames:
        if name == "coord":
            assert np.all(threaded[name].separation(serial[name]).value == 0)
        else:
            np.testing.assert_array_equal(np.asarray(threaded[name]), np.asarray(serial[name]))
    texts = [(tmp_path / out / "candidates.ecsv").read_text().splitlines() for out in "ab"]
    assert [[line for line in text if "date_utc" not in line] for text in texts] == [
        [line for line in texts[1] if "date_utc" not in line]
    ] * 2
