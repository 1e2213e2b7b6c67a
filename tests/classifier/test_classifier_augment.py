"""Augmentation: symmetries of the square and sub-pixel shifts, all bands together."""

import torch

from clusterfinder.classifier.augment import augment_batch


def test_rotations_and_flips_keep_flux_and_colour():
    x = torch.rand(64, 2, 9, 9)
    x[:, 1] = 2 * x[:, 0]
    y, mask = augment_batch(x, generator=torch.Generator().manual_seed(1), max_shift=0)
    assert torch.allclose(y.sum(dim=(2, 3)), x.sum(dim=(2, 3)))
    assert torch.allclose(y[:, 1], 2 * y[:, 0])
    assert not mask.any()
    # Every stamp is one of the eight symmetries of the original.
    for a, b in zip(x, y, strict=True):
        options = [torch.rot90(f, k, dims=(-2, -1)) for f in (a, a.flip(-1)) for k in range(4)]
        assert any(torch.equal(b, o) for o in options)
    assert not torch.equal(x, y)


def test_same_generator_seed_same_result():
    x = torch.rand(16, 2, 8, 8)
    a = augment_batch(x, generator=torch.Generator().manual_seed(5))[0]
    b = augment_batch(x, generator=torch.Generator().manual_seed(5))[0]
    assert torch.equal(a, b)


def test_subpixel_shift_moves_the_centroid_and_keeps_flux():
    yy, xx = torch.meshgrid(torch.arange(15.0), torch.arange(15.0), indexing="ij")
    blob = torch.exp(-((xx - 7) ** 2 + (yy - 7) ** 2) / 4.0)
    x = blob.expand(32, 2, 15, 15).clone()
    y, _ = augment_batch(x, generator=torch.Generator().manual_seed(0), rotate=False, flip=False)
    flux = y.sum(dim=(2, 3))
    assert torch.allclose(flux, x.sum(dim=(2, 3)), rtol=1e-3)
    cx = (y[:, 0] * xx).sum(dim=(1, 2)) / flux[:, 0]
    assert (cx - 7).abs().max() <= 0.5 + 1e-4
    assert (cx - 7).abs().max() > 0.05
    assert torch.allclose(y[:, 0], y[:, 1])


def test_mask_moves_with_the_pixels_and_nan_is_masked():
    x = torch.zeros(8, 1, 6, 6)
    x[:, 0, 0, 0] = float("nan")
    y, mask = augment_batch(x, generator=torch.Generator().manual_seed(2), max_shift=0)
    assert torch.isfinite(y).all()
    assert mask.sum(dim=(1, 2, 3)).eq(1).all()
    corners = mask[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.any(dim=1).all()
