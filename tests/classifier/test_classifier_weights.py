"""The weights registry: local paths, bundled files and checked downloads."""

import http.server
import threading

import pytest

from clusterfinder import ClusterClassifier
from clusterfinder.classifier import WeightsEntry, list_weights, weights
from clusterfinder.classifier.persistence import file_sha256


@pytest.fixture
def saved(tmp_path):
    clf = ClusterClassifier("small_cnn", cutout_size=16, threshold=0.3)
    (tmp_path / "src").mkdir()
    path = clf.save(tmp_path / "src" / "model")
    return clf, path


@pytest.fixture
def no_network(monkeypatch):
    import pooch

    def fail(*args, **kwargs):
        raise AssertionError("no download may happen here")

    monkeypatch.setattr(pooch, "retrieve", fail)


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving the folder tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def registry(monkeypatch, tmp_path):
    """An isolated registry and cache folder."""
    monkeypatch.setattr(weights, "WEIGHTS_REGISTRY", dict(weights.WEIGHTS_REGISTRY))
    monkeypatch.setenv("CLUSTERFINDER_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_local_path_never_downloads(saved, no_network):
    _clf, path = saved
    assert ClusterClassifier.from_pretrained(path).threshold == 0.3
    assert ClusterClassifier.from_pretrained(str(path.with_suffix(""))).threshold == 0.3
    with pytest.raises(FileNotFoundError, match="no model weights"):
        ClusterClassifier.from_pretrained(path.parent / "absent.safetensors")


def test_default_model_missing_gives_clear_error(monkeypatch, tmp_path, no_network):
    monkeypatch.setattr(weights, "BUNDLED_DIR", tmp_path / "empty")
    with pytest.raises(
        FileNotFoundError, match=f"default model '{weights.DEFAULT_WEIGHTS}' is not"
    ):
        ClusterClassifier.from_pretrained()


def test_bundled_file_is_used_offline(saved, monkeypatch, tmp_path, no_network):
    _clf, path = saved
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / f"{weights.DEFAULT_WEIGHTS}.safetensors").write_bytes(path.read_bytes())
    monkeypatch.setattr(weights, "BUNDLED_DIR", bundled)
    assert weights.DEFAULT_WEIGHTS in list_weights()
    assert ClusterClassifier.from_pretrained().threshold == 0.3


def test_unknown_name(registry):
    with pytest.raises(ValueError, match="neither an existing file nor a registered"):
        ClusterClassifier.from_pretrained("no_such_model")


def test_download_checked_and_cached(saved, server, registry):
    _clf, path = saved
    root, url = server
    (root / "m.safetensors").write_bytes(path.read_bytes())
    digest = file_sha256(path)
    weights.register_weights(WeightsEntry("test_dl", url=f"{url}/m.safetensors", sha256=digest))
    loaded = ClusterClassifier.from_pretrained("test_dl")
    assert loaded.threshold == 0.3
    assert loaded.source_metadata["name"] == "test_dl"
    assert loaded.source_metadata["sha256"] == digest
    cached = registry / f"test_dl-{digest[:12]}.safetensors"
    assert cached.is_file() and file_sha256(cached) == digest
    # The second time the cache is used: the server may be gone.
    (root / "m.safetensors").unlink()
    assert weights.resolve_weights("test_dl") == cached


def test_corrupt_download_is_removed(saved, server, registry):
    _clf, path = saved
    root, url = server
    good = path.read_bytes()
    (root / "m.safetensors").write_bytes(good[:-5] + b"XXXXX")
    weights.register_weights(
        WeightsEntry("test_bad", url=f"{url}/m.safetensors", sha256=file_sha256(path))
    )
    with pytest.raises(ValueError, match="corrupt: its sha256 does not match"):
        ClusterClassifier.from_pretrained("test_bad")
    assert not registry.exists() or not any(registry.iterdir())


def test_unreachable_server(saved, registry):
    _clf, _path = saved
    weights.register_weights(
        WeightsEntry("test_gone", url="http://127.0.0.1:9/m.safetensors", sha256="0" * 64)
    )
    with pytest.raises(OSError, match="could not download weights 'test_gone'"):
        weights.resolve_weights("test_gone")


def test_entry_validation():
    with pytest.raises(ValueError, match="64 hexadecimal"):
        WeightsEntry("x", url="http://h/x", sha256="abc")
    with pytest.raises(ValueError, match="need a sha256"):
        WeightsEntry("x", url="http://h/x", sha256=None)
    entry = WeightsEntry("x", url=None, sha256="A" * 64)
    assert entry.cache_filename == "x-aaaaaaaaaaaa.safetensors"
    with pytest.raises(ValueError, match="already registered"):
        weights.register_weights(WeightsEntry(weights.DEFAULT_WEIGHTS, url=None, sha256=None))


def test_bundled_entries_match_their_files():
    """Each bundled registry entry's sha256 is that of its file and of its sidecar."""
    import json

    bundled = [e for e in weights.WEIGHTS_REGISTRY.values() if e.bundled_path.is_file()]
    assert weights.DEFAULT_WEIGHTS in {e.name for e in bundled}
    for entry in bundled:
        assert file_sha256(entry.bundled_path) == entry.sha256
        sidecar = json.loads(entry.bundled_path.with_suffix(".json").read_text())
        assert sidecar["sha256"] == entry.sha256
        assert sidecar["transform"].get("psf_channels", False) == entry.meta["psf_channels"]
        assert sidecar["architecture"] == entry.meta["architecture"]
        assert sidecar["bands"] == entry.meta["bands"]
        assert sidecar["pixel_scale"] == pytest.approx(entry.meta["pixel_scale"])
        assert entry.metadata == sidecar
        # The entry's transform is the one the loaded model uses.
        assert entry.transform == ClusterClassifier.from_pretrained(entry.name).transform


def test_entry_transform_without_file():
    from clusterfinder.classifier import InputTransform

    recorded = InputTransform(bands=("g", "i"), psf_channels=True).to_dict()
    entry = WeightsEntry("remote", url=None, sha256=None, meta={"transform": recorded})
    assert entry.transform == InputTransform(bands=("g", "i"), psf_channels=True)
    with pytest.raises(ValueError, match="record no input transform"):
        _ = WeightsEntry("bare", url=None, sha256=None).transform


def test_cache_dir_from_config_then_environment(monkeypatch, tmp_path):
    from clusterfinder import conf

    monkeypatch.setenv("CLUSTERFINDER_CACHE", str(tmp_path / "from_env"))
    assert weights.cache_dir() == tmp_path / "from_env"
    with conf.set_temp("cache_dir", str(tmp_path / "from_conf")):
        assert weights.cache_dir() == tmp_path / "from_conf"
    monkeypatch.delenv("CLUSTERFINDER_CACHE")
    assert weights.cache_dir().name != "from_env"
