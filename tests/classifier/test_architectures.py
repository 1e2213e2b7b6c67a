"""Model construction by name, adapted to two bands and small stamps."""

import pytest
import torch
from torch import nn

from clusterfinder.classifier import build_model, list_architectures
from clusterfinder.classifier.architectures import count_parameters


@pytest.mark.parametrize("name", list_architectures())
def test_forward_two_bands_32px(name):
    torch.manual_seed(0)
    net = build_model(name, in_channels=2, cutout_size=32).eval()
    with torch.inference_mode():
        out = net(torch.randn(2, 2, 32, 32))
    assert out.shape == (2,)
    assert torch.isfinite(out).all()


def test_list_contains_the_paper_model_and_the_fast_one():
    names = list_architectures()
    assert names[0] == "small_cnn"
    assert {"resnet50", "resnet18", "vgg16_bn", "densenet121", "efficientnet_b0"} <= set(names)


def test_small_cnn_is_compact_and_takes_any_stamp_size():
    net = build_model("small_cnn", in_channels=3)
    assert 50_000 < count_parameters(net) < 150_000
    with torch.inference_mode():
        assert net.eval()(torch.zeros(1, 3, 64, 64)).shape == (1,)


def test_resnet_stem_small_and_standard():
    small = build_model("resnet18", in_channels=2, cutout_size=32).net
    assert small.conv1.kernel_size == (3, 3) and small.conv1.stride == (1, 1)
    assert isinstance(small.maxpool, nn.Identity)
    assert small.conv1.in_channels == 2
    standard = build_model("resnet18", in_channels=2, cutout_size=32, stem="standard").net
    assert standard.conv1.kernel_size == (7, 7) and standard.conv1.stride == (2, 2)
    assert isinstance(standard.maxpool, nn.MaxPool2d)
    # "auto" picks the standard stem for large stamps.
    large = build_model("resnet18", in_channels=2, cutout_size=128).net
    assert large.conv1.kernel_size == (7, 7)


def test_same_seed_same_initial_weights():
    torch.manual_seed(3)
    a = build_model("small_cnn", in_channels=2).state_dict()
    torch.manual_seed(3)
    b = build_model("small_cnn", in_channels=2).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "resnet51", "in_channels": 2}, "architecture must be one of"),
        ({"name": "small_cnn", "in_channels": 0}, "in_channels"),
        ({"name": "small_cnn", "in_channels": 2, "cutout_size": 2}, "cutout_size"),
        ({"name": "resnet18", "in_channels": 2, "stem": "tiny"}, "stem must be"),
        ({"name": "vit_b_16", "in_channels": 2, "cutout_size": 30}, "multiple of"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_model(**kwargs)


def test_options_only_for_small_cnn():
    with pytest.raises(TypeError, match="takes no options"):
        build_model("resnet18", in_channels=2, widths=(8,))
    net = build_model("small_cnn", in_channels=2, widths=(8, 8, 8, 8))
    assert count_parameters(net) < 5_000
