"""Which layers a fine-tuning run of `ClusterClassifier.fit` may change.

With few labels of a new survey, a trained model is best fine-tuned rather than
trained from scratch; with very few, only its last layer (``freeze="features"``): the
features learnt on many simulated stamps stay, and the classifier on top of them is
fitted to the new labels. Frozen batch-normalisation layers keep their statistics too.
"""

from torch import nn

__all__ = ["FREEZE_OPTIONS", "check_freeze", "freeze_layers", "last_linear_layer"]

#: What ``fit(freeze=...)`` accepts: None (train everything) or "features" (train
#: only the last linear layer).
FREEZE_OPTIONS = (None, "features")


def check_freeze(freeze):
    """``freeze`` if it is one of `FREEZE_OPTIONS`, else a ValueError."""
    if freeze not in FREEZE_OPTIONS:
        raise ValueError(f"freeze must be one of {FREEZE_OPTIONS}; got {freeze!r}")
    return freeze


def last_linear_layer(model):
    """The last `torch.nn.Linear` of ``model``: its head, whose input are its features.

    Parameters
    ----------
    model : `torch.nn.Module`
        A network ending in a linear layer (every architecture of
        `~clusterfinder.classifier.build_model` does).

    Returns
    -------
    `torch.nn.Linear`

    Raises
    ------
    ValueError
        If ``model`` has no linear layer.

    Examples
    --------
    >>> from clusterfinder.classifier import build_model
    >>> last_linear_layer(build_model("small_cnn", in_channels=2)).in_features
    96
    """
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linear:
        raise ValueError("the model has no linear layer (no head to train on its own)")
    return linear[-1]


def freeze_layers(model, freeze):
    """Stop the gradients of the frozen parameters; return the frozen norm layers.

    The caller puts the returned batch-normalisation layers in evaluation mode after
    every ``model.train()``, so that their statistics stay as trained.

    Examples
    --------
    >>> from clusterfinder.classifier import build_model
    >>> net = build_model("small_cnn", in_channels=2)
    >>> len(freeze_layers(net, "features"))
    4
    >>> sum(p.requires_grad for p in net.parameters())  # the head's weight and bias
    2
    """
    check_freeze(freeze)
    if freeze is None:
        return []
    head = set(map(id, last_linear_layer(model).parameters()))
    for parameter in model.parameters():
        parameter.requires_grad_(id(parameter) in head)
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
