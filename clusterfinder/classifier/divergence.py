"""When training has diverged, and what ``fit`` says and does about it.

The training loop (`~clusterfinder.classifier.training.train_model`) stops when a
loss or a weight is not finite (`nonfinite_loss`, `finite_weights`): NaN weights
never recover. The training loss counts only without float16 loss scaling, which
skips the steps that overflow. The best epoch before is restored, or the weights
from before training if there is none. A run whose best validation loss is still
more than `DIVERGENCE_FACTOR` times that of a network that knows nothing (P = 0.5
for every stamp) has diverged too (`divergence_record`). A large but finite loss
alone does not stop training: with a high learning rate the first epochs often reach
10-1e5 times that level and the network still converges.

`ClusterClassifier.fit <clusterfinder.ClusterClassifier.fit>` then warns with
`divergence_message`, and chooses no threshold from a network that learned nothing
(`~clusterfinder.classifier.fitting`).
"""

import math

import torch

__all__ = [
    "DIVERGENCE_FACTOR",
    "divergence_message",
    "divergence_record",
    "finite_weights",
    "nonfinite_loss",
]

#: A trained network has diverged when its best validation loss exceeds this many times
#: that of a network that knows nothing (logit 0, P = 0.5, for every stamp: ln 2 per
#: stamp, class-weighted). A network that learned anything, even badly, scores below
#: that level; ``learning_rate=1e6`` gave 1e28-1e31.
DIVERGENCE_FACTOR = 10.0


def finite_weights(model):
    """True if every floating-point parameter and buffer of ``model`` is finite."""
    return all(
        bool(torch.isfinite(tensor).all())
        for tensor in model.state_dict().values()
        if tensor.is_floating_point()
    )


def nonfinite_loss(epoch, val_loss, train_loss, *, check_train):
    """``{"epoch", "which"}`` when a loss of ``epoch`` is not finite, else None.

    A non-finite training loss counts only without float16 loss scaling
    (``check_train``), which skips the steps whose gradients overflow.

    Examples
    --------
    >>> nonfinite_loss(3, float("nan"), 0.6, check_train=True)
    {'epoch': 3, 'which': 'validation'}
    >>> nonfinite_loss(1, 50.0, 0.6, check_train=True) is None  # large, finite: may recover
    True
    """
    if not math.isfinite(val_loss):
        return {"epoch": int(epoch), "which": "validation"}
    if check_train and not math.isfinite(train_loss):
        return {"epoch": int(epoch), "which": "training"}
    return None


def divergence_record(stopped, best_loss, best_epoch, reference):
    """What went wrong (a dict for ``history.meta["diverged"]``), or None.

    Training diverged when it stopped on a non-finite loss (``stopped``, from
    `nonfinite_loss`), or when even its best validation loss is more than
    `DIVERGENCE_FACTOR` times ``reference``. ``usable`` says whether the restored
    weights learned anything (a threshold may be chosen on them).
    """
    usable = best_epoch > 0 and best_loss <= DIVERGENCE_FACTOR * reference
    if stopped is None and usable:
        return None
    return {
        "stopped_epoch": None if stopped is None else stopped["epoch"],
        "which": None if stopped is None else stopped["which"],
        "restored_epoch": int(best_epoch),
        "restored_loss": float(best_loss) if best_epoch else None,
        "reference_loss": float(reference),
        "usable": bool(usable),
    }


def divergence_message(diverged, learning_rate):
    """Say in words what ``history.meta["diverged"]`` (from `divergence_record`) means.

    Examples
    --------
    >>> print(divergence_message({"stopped_epoch": 2, "which": "validation",
    ...     "restored_epoch": 1, "restored_loss": 0.21, "reference_loss": 0.69,
    ...     "usable": True}, 0.03))  # doctest: +NORMALIZE_WHITESPACE
    training diverged: the validation loss was not finite at epoch 2, where training
    stopped; the weights of epoch 1 (validation loss 0.21) were restored; lower
    learning_rate (now 0.03)
    >>> print(divergence_message({"stopped_epoch": None, "which": None,
    ...     "restored_epoch": 3, "restored_loss": 1e28, "reference_loss": 0.69,
    ...     "usable": False}, 1e6))  # doctest: +NORMALIZE_WHITESPACE
    training diverged: its best validation loss (1e+28, epoch 3) is more than 10 times
    that of a network that knows nothing (0.69, P = 0.5 for every stamp); the weights of
    epoch 3 were restored; lower learning_rate (now 1e+06)
    """
    epoch, restored = diverged["restored_epoch"], diverged["restored_loss"]
    what = []
    if diverged["stopped_epoch"] is not None:
        which = diverged["which"]
        what.append(
            f"the {'weights were' if which == 'weights' else which + ' loss was'} not finite "
            f"at epoch {diverged['stopped_epoch']}, where training stopped"
        )
    if epoch and not diverged["usable"]:
        what.append(
            f"{'no earlier epoch did better: ' if what else ''}its best validation loss "
            f"({restored:.3g}, epoch {epoch}) is more than {DIVERGENCE_FACTOR:g} times that "
            f"of a network that knows nothing ({diverged['reference_loss']:.3g}, P = 0.5 "
            "for every stamp)"
        )
    if epoch and diverged["usable"]:
        back = f"the weights of epoch {epoch} (validation loss {restored:.3g}) were restored"
    elif epoch:
        back = f"the weights of epoch {epoch} were restored"
    else:
        back = "no earlier epoch to go back to: the weights from before training were restored"
    advice = f"lower learning_rate (now {learning_rate:g})"
    return f"training diverged: {'; '.join(what)}; {back}; {advice}"
