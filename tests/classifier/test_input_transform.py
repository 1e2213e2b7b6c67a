"""The input transform: background, asinh scaling, masking, serialisation."""

import math

import pytest
import torch

from clusterfinder.classifier import InputTransform


def test_asinh_scaling_in_physical_units():
    transform = InputTransform(bands=("g",), softening=5.0, subtract_background=False)
    data = torch.zeros(1, 1, 8, 8)
    data[0, 0, 3, 3] = 50.0
    out = transform(data)
    assert out[0, 0, 3, 3].item() == pytest.approx(math.asinh(10.0))
    assert out[0, 0, 0, 0].item() == 0.0


def test_background_is_the_median_of_the_outer_annulus():
    transform = InputTransform(bands=("g", "i"), softening=1.0)
    data = torch.full((2, 2, 16, 16), 7.0)
    data[:, :, 6:10, 6:10] += 100.0  # a source in the centre does not bias the background
    out = transform(data)
    assert torch.allclose(out[:, :, 0, 0], torch.zeros(2, 2))
    assert out[0, 0, 8, 8].item() == pytest.approx(math.asinh(100.0))


def test_masked_and_nan_pixels_become_zero_and_finite():
    transform = InputTransform(bands=("g", "i"), mask_channel=True, subtract_background=False)
    data = torch.full((1, 2, 8, 8), 20.0)
    data[0, 1, 2, 2] = float("nan")
    mask = torch.zeros_like(data, dtype=torch.bool)
    mask[0, 0, 4, 4] = True
    out = transform(data, mask)
    assert out.shape == (1, 3, 8, 8) and torch.isfinite(out).all()
    assert out[0, 1, 2, 2] == 0 and out[0, 0, 4, 4] == 0
    assert out[0, 2, 2, 2] == 1 and out[0, 2, 4, 4] == 1 and out[0, 2].sum() == 2


def test_stamp_without_valid_pixels_gives_zeros():
    transform = InputTransform(bands=("g",))
    out = transform(torch.full((1, 1, 8, 8), float("nan")))
    assert torch.equal(out, torch.zeros(1, 1, 8, 8))


def test_clip():
    transform = InputTransform(bands=("g",), clip=(-1.0, 2.0), subtract_background=False)
    out = transform(torch.tensor([[[[-1e4, 1e4]]]]))
    assert out.flatten().tolist() == [-1.0, 2.0]


def test_round_trip_through_dict_and_json():
    import json

    transform = InputTransform(bands=("i", "g"), softening=3, clip=(-2, 8), mask_channel=True)
    assert InputTransform.from_dict(json.loads(transform.to_json())) == transform
    assert transform.in_channels == 3


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"bands": "gi"}, TypeError),
        ({"bands": ()}, ValueError),
        ({"bands": ("g", "g")}, ValueError),
        ({"softening": 0}, ValueError),
        ({"softening": float("nan")}, ValueError),
        ({"background_radius": 2}, ValueError),
        ({"clip": (3, 1)}, ValueError),
    ],
)
def test_bad_settings(kwargs, error):
    with pytest.raises(error):
        InputTransform(**kwargs)


def test_unknown_keys_and_wrong_shape():
    with pytest.raises(ValueError, match="unknown input transform"):
        InputTransform.from_dict({"bands": ["g"], "gamma": 2})
    with pytest.raises(ValueError, match="expected stamps of shape"):
        InputTransform(bands=("g", "i"))(torch.zeros(1, 3, 8, 8))
