"""Feature alignment by maximum mean discrepancy (MMD) between source and target."""

import math

import torch
from torch import nn

from ..classifier.augment import augment_batch
from ..classifier.freezing import last_linear_layer as feature_layer
from ..utils import progress_bar as _progress_bar

__all__ = ["adapt_mmd", "feature_layer", "mmd2"]

#: Kernel widths, in units of the median squared distance between the features.
KERNEL_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


def mmd2(source, target, *, scales=KERNEL_SCALES):
    """Squared maximum mean discrepancy between two sets of feature vectors.

    A sum of Gaussian kernels whose widths are ``scales`` times the median squared
    distance between all the vectors (multi-kernel MMD; the biased estimator, which is
    never negative).

    Parameters
    ----------
    source, target : `torch.Tensor`
        ``(N, D)`` and ``(M, D)`` feature vectors.
    scales : sequence of float, optional
        Widths of the Gaussian kernels, in units of the median squared distance.

    Returns
    -------
    `torch.Tensor`
        A scalar, differentiable.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> a, b = torch.randn(64, 8, generator=g), torch.randn(64, 8, generator=g)
    >>> bool(mmd2(a, b) < mmd2(a, b + 2.0))
    True
    """
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(
            f"source and target must be (N, D) feature arrays of the same D; got "
            f"{tuple(source.shape)} and {tuple(target.shape)}"
        )
    both = torch.cat([source, target]).float()
    distances = torch.cdist(both, both).pow(2)
    width = distances.detach().median().clamp_min(1e-6)
    kernel = sum(torch.exp(-distances / (width * s)) for s in scales)
    n = source.shape[0]
    return kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean()


def adapt_mmd(
    model,
    transform,
    source,
    target,
    *,
    epochs,
    batch_size,
    learning_rate,
    mmd_weight,
    augment,
    device,
    seed,
    progress_bar=False,
):
    """Train ``model`` further on labelled source stamps while aligning its features.

    Each step takes a batch of source stamps (with labels) and one of target stamps
    (without), runs them through the network together, and minimises the
    class-balanced cross-entropy on the source batch plus ``mmd_weight`` times the
    squared MMD (`mmd2`) between the features of the two batches (the input of the
    last linear layer, `feature_layer`). AdamW at a constant ``learning_rate``.

    Parameters
    ----------
    model : `torch.nn.Module`
        Trained in place; left on ``device`` in evaluation mode.
    transform : `~clusterfinder.classifier.InputTransform`
    source : tuple of (data, mask, labels) tensors
        Labelled stamps of the domain the model was trained on.
    target : tuple of (data, mask) tensors
        Stamps of the new survey.
    epochs, batch_size, learning_rate, mmd_weight, augment, device, seed, progress_bar
        See `ClusterClassifier.adapt <clusterfinder.ClusterClassifier.adapt>`.

    Returns
    -------
    dict
        ``loss``, ``mmd``: per epoch, the mean classification loss and squared MMD.

    Examples
    --------
    >>> import torch
    >>> from clusterfinder.adaptation import adapt_mmd
    >>> from clusterfinder.classifier import InputTransform, build_model
    >>> transform = InputTransform(bands=("g", "i"))
    >>> model = build_model("small_cnn", in_channels=transform.in_channels, widths=(4, 4, 4, 4))
    >>> g = torch.Generator().manual_seed(0)
    >>> mask = torch.zeros(16, 2, 16, 16, dtype=torch.bool)
    >>> source = (torch.randn(16, 2, 16, 16, generator=g), mask, torch.tensor([0.0, 1.0] * 8))
    >>> target = (torch.randn(16, 2, 16, 16, generator=g) + 1.0, mask)
    >>> history = adapt_mmd(model, transform, source, target, epochs=2, batch_size=8,
    ...                     learning_rate=1e-3, mmd_weight=1.0, augment=False,
    ...                     device="cpu", seed=0)
    >>> len(history["loss"]), len(history["mmd"])
    (2, 2)
    """
    data, mask, labels = source
    target_data, target_mask = target
    generator = torch.Generator().manual_seed(int(seed))
    n_pos = float(labels.sum())
    pos_weight = torch.tensor((labels.numel() - n_pos) / max(n_pos, 1.0), device=device)
    criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    captured = {}
    hook = feature_layer(model).register_forward_hook(
        lambda module, inputs, output: captured.__setitem__("features", inputs[0])
    )
    steps = max(1, math.ceil(data.shape[0] / batch_size))
    bar = _progress_bar(total=epochs * steps, enabled=progress_bar, desc="adapting", unit="batch")
    history = {"loss": [], "mmd": []}
    model.to(device)
    try:
        for _ in range(epochs):
            model.train()
            order = torch.randperm(data.shape[0], generator=generator)
            losses, discrepancies = [], []
            for start in range(0, data.shape[0], batch_size):
                index = order[start : start + batch_size]
                if index.numel() < 2:
                    continue
                pick = torch.randint(target_data.shape[0], (index.numel(),), generator=generator)
                x = torch.cat([data[index], target_data[pick]])
                m = torch.cat([mask[index], target_mask[pick]])
                if augment:
                    x, m = augment_batch(x, m, generator=generator)
                logits = model(transform(x.to(device), m.to(device))).float()
                features = captured["features"].float()
                n = index.numel()
                loss = criterion(logits[:n], labels[index].float().to(device))
                discrepancy = mmd2(features[:n], features[n:])
                optimizer.zero_grad(set_to_none=True)
                (loss + mmd_weight * discrepancy).backward()
                optimizer.step()
                losses.append(float(loss.detach()))
                discrepancies.append(float(discrepancy.detach()))
                bar.update(1)
            history["loss"].append(sum(losses) / max(len(losses), 1))
            history["mmd"].append(sum(discrepancies) / max(len(discrepancies), 1))
    finally:
        hook.remove()
        bar.close()
        model.eval()
    return history
