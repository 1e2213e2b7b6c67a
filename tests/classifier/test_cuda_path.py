"""The device-dependent parts of training and prediction: layout, staging, CUDA runs.

The tests marked ``gpu`` run where a CUDA device is present (benchmarks/bench_gpu.py's
machine); the others check on the CPU what the CUDA path is built from.
"""

import numpy as np
import pytest
import torch

from clusterfinder import ClusterClassifier
from clusterfinder.classifier import training
from clusterfinder.classifier.freezing import last_linear_layer
from clusterfinder.classifier.training import memory_layout, stage_on_device

FIT = dict(epochs=3, batch_size=64, learning_rate=3e-3)


def test_memory_layout_by_device_and_use():
    cpu = torch.device("cpu")
    # CPU training keeps torch's default layout (the same weights as before for a seed).
    assert memory_layout(cpu, training=True) == torch.contiguous_format
    assert memory_layout(cpu) == torch.channels_last
    cuda = torch.device("cuda")  # a device object needs no GPU
    assert memory_layout(cuda) == torch.channels_last
    assert memory_layout(cuda, training=True) == torch.channels_last


def test_stage_on_device_leaves_cpu_tensors_alone():
    tensors = (torch.ones(3, 2), torch.zeros(3, dtype=torch.bool))
    staged = stage_on_device(tensors, torch.device("cpu"))
    assert all(a is b for a, b in zip(staged, tensors, strict=True))


def test_cpu_training_unchanged_by_channels_last_inference(blobs):
    """Prediction in channels-last leaves the trained model usable for more training."""
    train, validation, test = blobs
    first = ClusterClassifier("small_cnn", cutout_size=16, seed=3)
    first.fit(train, validation, **FIT, device="cpu", seed=3)
    first.predict_proba(test, device="cpu")
    second = ClusterClassifier("small_cnn", cutout_size=16, seed=3)
    second.fit(train, validation, **FIT, device="cpu", seed=3)
    for (name, a), b in zip(
        first.model.state_dict().items(), second.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name


@pytest.mark.gpu
def test_stage_on_device_copies_when_there_is_room():
    cuda = torch.device("cuda")
    tensors = (torch.ones(64, 2, 8, 8), torch.zeros(64, 2, 8, 8, dtype=torch.bool))
    on_gpu = stage_on_device(tensors, cuda)
    assert all(t.device.type == "cuda" for t in on_gpu)
    kept = stage_on_device(tensors, cuda, max_fraction=0.0)
    assert all(a is b for a, b in zip(kept, tensors, strict=True))


@pytest.mark.gpu
@pytest.mark.parametrize("max_fraction", [0.25, 0.0], ids=["on-gpu", "per-batch"])
def test_cuda_training_both_staging_paths(blobs, monkeypatch, max_fraction):
    original = training.stage_on_device
    monkeypatch.setattr(
        training,
        "stage_on_device",
        lambda tensors, device: original(tensors, device, max_fraction=max_fraction),
    )
    train, validation, test = blobs
    clf = ClusterClassifier("small_cnn", cutout_size=16)
    history = clf.fit(train, validation, **FIT, device="cuda")
    assert np.isfinite(np.asarray(history["val_loss"], dtype=float)).all()
    labels = np.asarray(test.table["label"]).astype(bool)
    assert (clf.predict(test, device="cuda") == labels).mean() > 0.9


@pytest.mark.gpu
def test_cuda_resnet_prediction_matches_cpu(blobs):
    """bfloat16 channels-last on CUDA against float32 on the CPU, same weights."""
    train, validation, test = blobs
    clf = ClusterClassifier("resnet18", cutout_size=16, stem="small")
    clf.fit(train, validation, **{**FIT, "epochs": 2}, device="cuda")
    p_gpu = clf.predict_proba(test, device="cuda")
    p_cpu = clf.predict_proba(test, device="cpu")
    np.testing.assert_allclose(p_gpu, p_cpu, atol=0.05)


def test_fine_tuning_the_head_only(blobs):
    """freeze="features" changes the last linear layer and nothing else."""
    train, validation, _ = blobs
    clf = ClusterClassifier("small_cnn", cutout_size=16, seed=2)
    clf.fit(train, validation, **FIT, device="cpu")
    before = {k: v.clone() for k, v in clf.model.state_dict().items()}
    clf.fit(
        train[:100], validation, **{**FIT, "learning_rate": 1e-2}, device="cpu", freeze="features"
    )
    head = last_linear_layer(clf.model)
    head_names = {
        n for n, p in clf.model.named_parameters() if any(p is q for q in head.parameters())
    }
    changed = {k for k, v in clf.model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and changed <= head_names
    assert all(p.requires_grad for p in clf.model.parameters())
    assert clf.training["freeze"] == "features"
    assert clf.training["previous"]["n_train"] == len(train)
    with pytest.raises(ValueError, match="freeze must be one of"):
        clf.fit(train, validation, **FIT, device="cpu", freeze="all")
