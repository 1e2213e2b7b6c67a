"""find_candidates and scan take precision=, record it and resume only with the same."""

import numpy as np
import pytest

from clusterfinder import CandidateCatalog, ClusterClassifier
from clusterfinder.scan import find_candidates, scan


@pytest.fixture
def model():
    return ClusterClassifier(
        "small_cnn",
        cutout_size=16,
        threshold=0.0,
        architecture_options={"widths": (4, 4, 4, 4)},
        seed=0,
    )


def test_find_candidates_records_the_precision(one_field, model):
    paths, sources = one_field
    full = find_candidates(model, paths, sources, device="cpu", keep_all=True)
    half = find_candidates(model, paths, sources, device="cpu", keep_all=True, precision="bfloat16")
    assert full.meta["precision"] == "auto" and half.meta["precision"] == "bfloat16"
    difference = np.abs(np.asarray(half["prob_cluster"]) - np.asarray(full["prob_cluster"]))
    assert difference.max() < 0.05 and difference.max() > 0
    with pytest.raises(ValueError, match="precision must be one of"):
        find_candidates(model, paths, sources, device="cpu", precision="half")


def test_scan_resumes_only_with_the_same_precision(one_field, model, tmp_path):
    paths, sources = one_field
    out = tmp_path / "out"
    first = scan(model, [paths], out, sources=sources, device="cpu", precision="bfloat16")
    assert first.meta["precision"] == "bfloat16"
    with pytest.raises(ValueError, match="made with precision bfloat16, not auto"):
        scan(model, [paths], out, sources=sources, device="cpu")
    again = scan(model, [paths], out, sources=sources, device="cpu", precision="bfloat16")
    np.testing.assert_array_equal(again["prob_cluster"], first["prob_cluster"])
    assert CandidateCatalog.read(out / "candidates.ecsv").meta["precision"] == "bfloat16"


def test_scan_refuses_an_unknown_precision_before_writing(one_field, model, tmp_path):
    paths, sources = one_field
    with pytest.raises(ValueError, match="precision must be one of"):
        scan(model, [paths], tmp_path / "out", sources=sources, precision="float16")
    assert not (tmp_path / "out").exists()


def test_scans_from_before_the_option_resume_as_auto(one_field, model, tmp_path):
    import json

    paths, sources = one_field
    out = tmp_path / "out"
    first = scan(model, [paths], out, sources=sources, device="cpu")
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["precision"]  # a manifest written before precision= existed
    (out / "manifest.json").write_text(json.dumps(manifest))
    again = scan(model, [paths], out, sources=sources, device="cpu")
    np.testing.assert_array_equal(again["prob_cluster"], first["prob_cluster"])
    with pytest.raises(ValueError, match="made with precision auto, not bfloat16"):
        scan(model, [paths], out, sources=sources, device="cpu", precision="bfloat16")
