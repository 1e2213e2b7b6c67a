"""AdaBN: batch-normalisation statistics measured again on the target stamps."""

import torch
from torch import nn

__all__ = ["adapt_batchnorm", "batchnorm_layers"]


def batchnorm_layers(model):
    """The batch-normalisation layers of ``model``, in order.

    Parameters
    ----------
    model : `torch.nn.Module`
        Any network.

    Returns
    -------
    list of `torch.nn.Module`
        Its 1-d, 2-d and 3-d batch-normalisation layers (empty when it has none).

    Examples
    --------
    >>> from clusterfinder.classifier import build_model
    >>> len(batchnorm_layers(build_model("small_cnn", in_channels=2)))
    4
    """
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def adapt_batchnorm(model, batches):
    """Replace the running statistics of every batch-normalisation layer (AdaBN).

    Each layer's running mean and variance become the average, over ``batches``, of
    the statistics of the target inputs that reach it; every weight stays as it is.
    The other layers run in evaluation mode (no dropout) meanwhile.

    Parameters
    ----------
    model : `torch.nn.Module`
        Adapted in place; left in evaluation mode.
    batches : iterable of `torch.Tensor`
        Transformed target inputs (on the model's device), each of two stamps or more.

    Returns
    -------
    int
        The number of stamps the statistics were measured on.

    Raises
    ------
    ValueError
        When the model has no batch-normalisation layer, or no batch of two
        stamps or more is given.

    Examples
    --------
    >>> import torch
    >>> from clusterfinder.classifier import build_model
    >>> net = build_model("small_cnn", in_channels=2)
    >>> adapt_batchnorm(net, [torch.randn(8, 2, 32, 32) + 3.0])
    8
    >>> float(batchnorm_layers(net)[0].running_mean.abs().sum()) > 0
    True
    """
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError(
            "the model has no batch-normalisation layer: AdaBN has nothing to adapt "
            "(use method='mmd')"
        )
    momenta = [layer.momentum for layer in layers]
    before = [
        (layer.running_mean.clone(), layer.running_var.clone(), layer.num_batches_tracked.clone())
        for layer in layers
    ]
    model.eval()
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # a cumulative average over all batches
        layer.train()
    seen = 0
    try:
        with torch.no_grad():
            for batch in batches:
                if batch.shape[0] < 2:
                    continue  # the variance of one stamp says nothing
                model(batch)
                seen += int(batch.shape[0])
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        model.eval()
        if seen == 0:  # failed or nothing measured: the model keeps its statistics
            for layer, (mean, var, count) in zip(layers, before, strict=True):
                layer.running_mean.copy_(mean)
                layer.running_var.copy_(var)
                layer.num_batches_tracked.copy_(count)
    if seen == 0:
        raise ValueError("AdaBN needs at least two target stamps in a batch; none were given")
    return seen
