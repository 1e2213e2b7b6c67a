"""Stamps cut in worker threads, chunk by chunk, give the rows of one serial pass."""

import numpy as np
from _scan_helpers import FakeClassifier

from clusterfinder.scan import TiledImages, find
from clusterfinder.scan.find import classify_tile


def rows_of(paths, sources, **options):
    with TiledImages(paths, bands=("g", "i"), tile_size=4096) as field:
        return classify_tile(
            field, field.tiles[0], sources, FakeClassifier(), threshold=0.5, keep_all=True,
            **options,
        )  # fmt: skip


def test_prefetched_chunks_equal_one_pass(two_fields, monkeypatch):
    _, paths, sources = two_fields
    mine = sources[:40]  # the sources of field "a"
    whole = rows_of(paths[0], mine)
    monkeypatch.setattr(find, "PREFETCH_THREADS", 4)
    threaded = rows_of(paths[0], mine, chunk_size=3)
    monkeypatch.setattr(find, "PREFETCH_THREADS", 1)
    serial = rows_of(paths[0], mine, chunk_size=3)
    for other in (threaded, serial):
        assert other.colnames == whole.colnames
        for name in whole.colnames:
            if name == "coord":
                assert np.all(other[name].separation(whole[name]).value == 0)
            else:
                np.testing.assert_array_equal(np.asarray(other[name]), np.asarray(whole[name]))


def test_prefetched_keeps_order_and_raises_from_workers():
    seen = list(find._prefetched(lambda k: k * k, list(range(20)), threads=3))
    assert seen == [k * k for k in range(20)]

    def broken(k):
        if k == 5:
            raise OSError("cannot read the pixels")
        return k

    gen = find._prefetched(broken, list(range(10)), threads=3)
    out = []
    try:
        for value in gen:
            out.append(value)
    except OSError as exc:
        assert "cannot read" in str(exc)
    assert out == [0, 1, 2, 3, 4]
