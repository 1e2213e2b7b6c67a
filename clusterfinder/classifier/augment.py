"""Data augmentation that respects the physics of survey stamps.

A star cluster looks the same whatever its orientation on the sky and wherever
it falls within a pixel, so training stamps are rotated by multiples of 90
degrees, mirrored and shifted by a fraction of a pixel. All bands move together
(colours are never altered: there is no colour or brightness jitter, since the
colour of a source is one of the things that tells a young cluster from a
foreground star). The shift is bilinear and is applied to the fluxes before the
input transform; the mask moves with the pixels.
"""

import torch
import torch.nn.functional as F

__all__ = ["augment_batch"]


def augment_batch(data, mask=None, *, generator=None, rotate=True, flip=True, max_shift=0.5):
    """Randomly rotate, flip and sub-pixel shift a batch of stamps.

    Parameters
    ----------
    data : `torch.Tensor`
        Stamps ``(N, B, H, W)`` with ``H == W``; non-finite pixels must be
        flagged in ``mask`` (they are zeroed before the shift).
    mask : `torch.Tensor` of bool, optional
        True on invalid pixels; transformed with the data.
    generator : `torch.Generator`, optional
        Source of randomness (a CPU generator), for reproducible training.
    rotate, flip : bool, optional
        Random multiples of 90 degrees; random mirror along the x axis (with the
        rotations this gives all eight symmetries of the square).
    max_shift : float, optional
        Largest shift along each axis, in pixels (0 for none).

    Returns
    -------
    data, mask : `torch.Tensor`
        The augmented batch and its mask of invalid pixels (always returned,
        since non-finite pixels are zeroed and flagged).

    Examples
    --------
    >>> import torch
    >>> from clusterfinder.classifier.augment import augment_batch
    >>> x = torch.rand(4, 2, 8, 8)
    >>> y, _ = augment_batch(x, generator=torch.Generator().manual_seed(0), max_shift=0)
    >>> torch.allclose(y.sum(dim=(2, 3)), x.sum(dim=(2, 3)))
    True
    """
    if data.ndim != 4 or data.shape[-1] != data.shape[-2]:
        raise ValueError(f"data must be square stamps (N, B, H, H); got {tuple(data.shape)}")
    n = data.shape[0]
    if n == 0:
        return data, torch.zeros_like(data, dtype=torch.bool) if mask is None else mask
    if mask is None:
        mask = torch.zeros_like(data, dtype=torch.bool)
    # Pixels that are invalid or not finite are zeroed so that they do not spread.
    mask = mask | ~torch.isfinite(data)
    data = data.masked_fill(mask, 0.0)

    def draw(high, size):
        return torch.randint(high, (size,), generator=generator).to(data.device)

    if flip:
        flipped = draw(2, n).bool()[:, None, None, None]
        data = torch.where(flipped, data.flip(-1), data)
        mask = torch.where(flipped, mask.flip(-1), mask)
    if rotate:
        turns = draw(4, n)
        data = data.clone()
        mask = mask.clone()
        for k in range(1, 4):
            chosen = turns == k
            if bool(chosen.any()):
                data[chosen] = torch.rot90(data[chosen], k, dims=(-2, -1))
                mask[chosen] = torch.rot90(mask[chosen], k, dims=(-2, -1))
    if max_shift > 0:
        size = data.shape[-1]
        shifts = (torch.rand((n, 2), generator=generator) * 2 - 1) * max_shift
        shifts = shifts.to(device=data.device, dtype=torch.float32)
        theta = torch.zeros((n, 2, 3), device=data.device, dtype=torch.float32)
        theta[:, 0, 0] = 1
        theta[:, 1, 1] = 1
        # affine_grid works in normalised coordinates: one pixel is 2 / size.
        theta[:, :, 2] = shifts * 2 / size
        grid = F.affine_grid(theta, list(data.shape), align_corners=False)
        data = F.grid_sample(
            data.float(), grid, mode="bilinear", padding_mode="border", align_corners=False
        ).to(data.dtype)
        moved = F.grid_sample(
            mask.float(), grid, mode="bilinear", padding_mode="border", align_corners=False
        )
        mask = moved > 0
    return data, mask
