"""Tests of scans on Dask distributed: same result as serial, survives a killed worker."""

import os
import signal
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

# Offline test machines: distributed probes for a public IP to name the dashboard.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Couldn't detect a suitable IP address:RuntimeWarning"
)

import _scan_helpers  # noqa: E402
from _scan_helpers import FakeClassifier  # noqa: E402
from test_scan_resume import same_catalogue  # noqa: E402

from clusterfinder import ClusterClassifier  # noqa: E402
from clusterfinder.scan import scan  # noqa: E402


@pytest.fixture
def thread_client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            dashboard_address="127.0.0.1:0",
            worker_dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_threaded_cluster_with_saved_model_equals_serial(two_fields, tmp_path, thread_client):
    folder, _, sources = two_fields
    model = ClusterClassifier(
        "small_cnn", cutout_size=16, threshold=0.0, architecture_options={"widths": (4, 4, 4, 4)}
    ).save(tmp_path / "m")
    options = {"sources": sources, "tile_size": 64, "device": "cpu", "batch_size": 32}
    serial = scan(model, folder, tmp_path / "serial", **options)
    parallel = scan(model, folder, tmp_path / "dask", client=thread_client, **options)
    same_catalogue(serial, parallel)
    assert len(parallel) == len(sources)  # threshold 0: every source, once
    # The model was loaded once per worker process (here: one process), not per task.
    from clusterfinder.scan.distributed import _MODELS, clear_worker_cache

    assert len(_MODELS) == 1
    clear_worker_cache()


@pytest.mark.slow
def test_killed_worker_is_survived(two_fields, tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(_scan_helpers)  # workers need not import the tests
    folder, _, sources = two_fields
    serial = scan(FakeClassifier(), folder, tmp_path / "serial", sources=sources, tile_size=32)
    out = tmp_path / "dask"
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            worker_dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = list(client.run(os.getpid).values())
        assert len(pids) == 2
        killed = []

        def killer():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                parts = out / "parts"
                if parts.is_dir() and len(list(parts.glob("*.fits"))) >= 4:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(time.monotonic())
                    return
                time.sleep(0.02)

        thread = threading.Thread(target=killer)
        thread.start()
        result = scan(
            FakeClassifier(delay=0.2), folder, out, sources=sources, tile_size=32, client=client
        )
        thread.join()
        assert killed, "the worker was not killed during the scan"
        assert pids[0] not in client.run(os.getpid).values()
    same_catalogue(result, serial)
    assert result.meta["failed"] == []
    assert np.all(result["n_detections"] >= 1)
