"""scan(workers=N) detects the next tiles in worker processes: same catalogue."""

import multiprocessing

import numpy as np
import pytest
from _scan_helpers import FakeClassifier, make_field

from clusterfinder.scan import scan
from clusterfinder.scan.detect_ahead import detected_ahead
from clusterfinder.simulate import simulate_field

pytestmark = pytest.mark.filterwarnings("ignore:.*candidate catalogue is empty")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """A 512 px simulated field (g, i) written as FITS: 4 tiles of 256 px."""
    folder = tmp_path_factory.mktemp("fields")
    paths = simulate_field(size=512, seed=3).write(folder, name="m1")
    return {"m1": {band: str(path) for band, path in paths.items()}}


def _sorted(table):
    table = table.copy()
    table.sort(["y", "x"])
    return table


def test_same_catalogue_with_worker_processes(simulated, tmp_path):
    serial = scan(FakeClassifier(threshold=0.0), simulated, tmp_path / "serial", tile_size=256)
    ahead = scan(
        FakeClassifier(threshold=0.0), simulated, tmp_path / "ahead", tile_size=256, workers=2
    )
    assert len(serial) > 50
    serial, ahead = _sorted(serial), _sorted(ahead)
    assert len(ahead) == len(serial)
    for name in ("x", "y", "prob_cluster", "mag_g", "mag_i", "area", "flag_blended"):
        np.testing.assert_array_equal(np.asarray(ahead[name]), np.asarray(serial[name]))
    assert ahead.meta["n_sources"] == serial.meta["n_sources"]


def test_resumed_with_workers_after_a_serial_start(simulated, tmp_path):
    out = tmp_path / "out"
    scan(FakeClassifier(threshold=0.0), simulated, out, tile_size=256)
    (out / "candidates.ecsv").unlink()
    parts = sorted((out / "parts").iterdir())
    for part in parts[1:]:  # three of four tiles to do again
        part.unlink()
    clf = FakeClassifier(threshold=0.0)
    resumed = scan(clf, simulated, out, tile_size=256, workers=1)
    assert clf.calls == 3
    reference = scan(FakeClassifier(threshold=0.0), simulated, tmp_path / "ref", tile_size=256)
    np.testing.assert_array_equal(_sorted(resumed)["x"], _sorted(reference)["x"])


@pytest.mark.parametrize(
    ("workers", "error"), [(0, ValueError), (-1, ValueError), (2.0, TypeError), (True, TypeError)]
)
def test_bad_workers_refused(simulated, tmp_path, workers, error):
    with pytest.raises(error, match="workers must be a positive integer"):
        scan(FakeClassifier(), simulated, tmp_path / "out", workers=workers)
    assert not (tmp_path / "out").exists()


def test_workers_and_a_dask_client_refused(simulated, tmp_path):
    with pytest.raises(ValueError, match="give one or the other"):
        scan(FakeClassifier(), simulated, tmp_path / "out", workers=2, client=object())


def test_given_sources_need_no_workers(tmp_path):
    paths, sources = make_field(tmp_path, "f")
    fields = {"f": paths}
    with_workers = scan(FakeClassifier(), fields, tmp_path / "a", sources=sources, workers=3)
    without = scan(FakeClassifier(), fields, tmp_path / "b", sources=sources)
    np.testing.assert_array_equal(with_workers["prob_cluster"], without["prob_cluster"])


def test_detection_errors_reach_the_caller_in_order(simulated, tmp_path):
    images = simulated["m1"]
    missing = {band: str(tmp_path / f"gone_{band}.fits") for band in images}
    fields = [("m1", images), ("gone", missing)]
    units = [(0, 0, None), (1, 0, None), (0, 3, None)]
    ahead = detected_ahead(
        units, fields, bands=("g", "i"), tile_size=256, size=15, zero_points=None, workers=2
    )
    seen = []
    for unit, detected in ahead:
        try:
            seen.append((unit[:2], len(detected())))
        except OSError:
            seen.append((unit[:2], "error"))
    assert [s[0] for s in seen] == [(0, 0), (1, 0), (0, 3)]
    assert seen[1][1] == "error" and seen[0][1] > 0 and seen[2][1] > 0


def test_stopping_early_cancels_the_queue(simulated):
    units = [(0, k, None) for k in range(4)] * 3
    ahead = detected_ahead(
        units,
        list(simulated.items()),
        bands=("g", "i"),
        tile_size=256,
        size=15,
        zero_points=None,
        workers=1,
    )
    unit, detected = next(ahead)
    assert unit == (0, 0, None) and len(detected()) > 0
    assert multiprocessing.active_children()
    ahead.close()  # the worker is shut down, the queued tiles cancelled
    assert not multiprocessing.active_children()
    with pytest.raises(StopIteration):
        next(ahead)


def test_workers_that_cannot_start_stop_the_scan_clearly(simulated, tmp_path):
    """Spawned workers cannot import a script read from standard input: a clear error."""
    import json
    import subprocess
    import sys

    out = tmp_path / "out"
    script = (
        "from clusterfinder import ClusterClassifier\n"
        "from clusterfinder.scan import scan\n"
        "clf = ClusterClassifier('small_cnn', cutout_size=16, threshold=0.0,\n"
        "                        architecture_options={'widths': (4, 4, 4, 4)}, seed=0)\n"
        f"scan(clf, {json.dumps(simulated)}, {str(out)!r}, tile_size=256, workers=1)\n"
    )
    child = subprocess.run(
        [sys.executable, "-"], input=script, capture_output=True, text=True, timeout=300
    )
    assert child.returncode != 0
    assert "could not start" in child.stderr and "standard input" in child.stderr
    assert (out / "manifest.json").exists()
