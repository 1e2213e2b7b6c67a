"""The training loop behind `ClusterClassifier.fit <clusterfinder.ClusterClassifier.fit>`.

Choices, each a keyword of ``fit``:

- loss: binary cross-entropy on the logit; class imbalance is handled by
  weighting the positive class by ``n_negative / n_positive``
  (``class_weight="balanced"``), so that both classes weigh the same in total;
- optimiser: AdamW with weight decay, and a one-cycle schedule over the
  planned number of epochs (a short warm-up, then a cosine decay);
- augmentation: `~clusterfinder.classifier.augment.augment_batch` (random
  90-degree rotations, flips, sub-pixel shifts), on the training set only;
- early stopping: training stops when the validation loss has not improved for
  ``patience`` epochs, and the weights of the best epoch are restored;
- divergence: training stops when a loss or a weight is not finite (NaN weights
  never recover; the training loss counts only without float16 loss scaling,
  which skips the steps that overflow) and the best epoch before is restored, or the
  weights from before training if there is none. A run whose best validation
  loss is still more than `DIVERGENCE_FACTOR` times that of a network that
  knows nothing (P = 0.5 for every stamp) has diverged too; ``fit`` warns with
  a `~clusterfinder.utils.ClusterFinderWarning` and chooses no threshold from
  such a model. A large but finite loss alone does not stop training: with a
  high learning rate the first epochs often reach 10-1e5 times that level and
  the network still converges;
- reproducibility: all randomness (initial weights, shuffling, augmentation,
  dropout) comes from ``seed``; on the CPU the same seed gives the same weights
  bit for bit;
- mixed precision (bfloat16, or float16 with loss scaling) on CUDA only.
"""

import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
from astropy.table import QTable

from ..utils import progress_bar as _progress_bar
from ..utils.files import atomic_write
from .augment import augment_batch
from .metrics import binary_metrics, roc_auc

__all__ = ["DIVERGENCE_FACTOR", "divergence_message", "resolve_device", "train_model"]

#: A trained network has diverged when its best validation loss exceeds this many times
#: that of a network that knows nothing (logit 0, P = 0.5, for every stamp: ln 2 per
#: stamp, class-weighted). A network that learned anything, even badly, scores below
#: that level; ``learning_rate=1e6`` gave 1e28-1e31.
DIVERGENCE_FACTOR = 10.0


def resolve_device(device):
    """A `torch.device` for ``device`` ("auto", "cpu", "cuda", "cuda:1", or a device).

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto" or device is None:
        resolved = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif isinstance(device, str):
        try:
            resolved = torch.device(device)
        except RuntimeError:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}"
            ) from None
    else:
        raise TypeError(f"device must be a string or a torch.device; got {type(device).__name__}")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but no CUDA device is available")
    return resolved


def autocast_context(device):
    """Mixed-precision context: bf16/fp16 autocast on CUDA, nothing on the CPU."""
    if device.type != "cuda":
        return torch.autocast("cpu", enabled=False), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype), dtype


def _batches(n, batch_size, generator=None):
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _forward_all(model, transform, data, mask, batch_size, device):
    """Logits of every stamp, in eval mode, without gradients."""
    model.eval()
    context, _ = autocast_context(device)
    outputs = []
    with torch.inference_mode(), context:
        for index in _batches(data.shape[0], batch_size):
            x = transform(data[index].to(device), mask[index].to(device))
            outputs.append(model(x).float().cpu())
    return torch.cat(outputs) if outputs else torch.zeros(0)


def _save_checkpoint(model, directory, epoch):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"epoch_{epoch:03d}.pt"
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return atomic_write(target, lambda tmp: torch.save(state, tmp))


def train_model(
    model,
    transform,
    train,
    validation,
    *,
    epochs=20,
    batch_size=128,
    learning_rate=1e-3,
    weight_decay=1e-4,
    class_weight="balanced",
    patience=5,
    augment=True,
    device="auto",
    seed=0,
    checkpoint_dir=None,
    progress_bar=False,
):
    """Train ``model`` in place and return its history.

    Parameters
    ----------
    model : `torch.nn.Module`
        Maps transformed stamps to ``(N,)`` logits.
    transform : `~clusterfinder.classifier.InputTransform`
    train, validation : tuple of (data, mask, labels) tensors
        ``data`` float32 ``(N, B, H, W)`` in flux units, ``mask`` bool of the
        same shape, ``labels`` float ``(N,)`` of 0/1.
    epochs, batch_size, learning_rate, weight_decay, class_weight, patience, \
augment, device, seed, checkpoint_dir, progress_bar
        See `ClusterClassifier.fit <clusterfinder.ClusterClassifier.fit>`.

    Returns
    -------
    history : `~astropy.table.QTable`
        One row per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``val_f1``,
        ``val_auc``, ``learning_rate``, ``time`` (s).
        ``meta`` holds ``best_epoch``, ``reference_loss`` (the validation loss
        of a network that knows nothing) and, when training diverged,
        ``diverged`` (see `divergence_message`, which says it in words; the
        caller warns).
    best_epoch : int
        0 when no epoch ended with a finite validation loss: the weights from
        before training are back.
    validation_probabilities : ndarray
        P(cluster) of the validation stamps with the restored best weights.
    """
    device = resolve_device(device)
    data, mask, labels = train
    val_data, val_mask, val_labels = validation
    n_pos = float(labels.sum())
    n_neg = float(labels.numel() - n_pos)
    if class_weight == "balanced":
        pos_weight = torch.tensor(n_neg / max(n_pos, 1.0), device=device)
    elif class_weight is None:
        pos_weight = None
    else:
        raise ValueError(f"class_weight must be 'balanced' or None; got {class_weight!r}")
    criterion = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    val_criterion = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)

    generator = torch.Generator().manual_seed(int(seed))
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    steps_per_epoch = max(1, math.ceil(data.shape[0] / batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=learning_rate,
        total_steps=epochs * steps_per_epoch,
        pct_start=min(0.3, 1.0 / max(epochs, 1) + 0.05),
    )
    context, amp_dtype = autocast_context(device)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None

    history = {k: [] for k in ("epoch", "train_loss", "val_loss", "val_f1", "val_auc")}
    history.update(learning_rate=[], time=[])
    # What training falls back to if no epoch ends with a finite loss, and the loss of a
    # network that knows nothing, which a diverged one is measured against.
    initial = copy.deepcopy(model.state_dict())
    reference = float(val_criterion(torch.zeros(val_labels.shape), val_labels.float()))
    best = (math.inf, initial, 0)  # (val_loss, state_dict, epoch)
    stopped = None
    stale = 0
    bar = _progress_bar(
        total=epochs * steps_per_epoch, enabled=progress_bar, desc="training", unit="batch"
    )
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            model.train()
            total, count = 0.0, 0
            for index in _batches(data.shape[0], batch_size, generator):
                if index.numel() < 2 and data.shape[0] >= 2:
                    continue  # batch normalisation needs two stamps
                x, m = data[index], mask[index]
                if augment:
                    x, m = augment_batch(x, m, generator=generator)
                x = transform(x.to(device), m.to(device))
                y = labels[index].to(device)
                optimizer.zero_grad(set_to_none=True)
                with context:
                    loss = criterion(model(x).float(), y)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                scheduler.step()
                total += float(loss.detach()) * index.numel()
                count += index.numel()
                bar.update(1)
            logits = _forward_all(model, transform, val_data, val_mask, 4 * batch_size, device)
            val_loss = float(val_criterion(logits, val_labels.float()))
            train_loss = total / max(count, 1)
            prob = torch.sigmoid(logits).double().numpy()
            y_val = val_labels.numpy().astype(int)
            finite = bool(np.isfinite(prob).all())
            history["epoch"].append(epoch)
            history["train_loss"].append(train_loss)
            history["val_loss"].append(val_loss)
            history["val_f1"].append(
                float(binary_metrics(y_val, prob, 0.5)["f1"]) if finite else math.nan
            )
            history["val_auc"].append(float(roc_auc(y_val, prob)) if finite else math.nan)
            history["learning_rate"].append(optimizer.param_groups[0]["lr"])
            history["time"].append(time.perf_counter() - start)
            if checkpoint_dir is not None:
                _save_checkpoint(model, checkpoint_dir, epoch)
            stopped = _nonfinite_loss(epoch, val_loss, train_loss, check_train=scaler is None)
            if stopped is None and not _finite_weights(model):
                # A blown-up batch-normalisation variance (inf) can still give finite,
                # meaningless outputs: such weights are no epoch to go back to.
                stopped = {"epoch": int(epoch), "which": "weights"}
            if stopped is not None:
                break
            if val_loss < best[0]:
                best = (val_loss, copy.deepcopy(model.state_dict()), epoch)
                stale = 0
            else:
                stale += 1
                if patience is not None and stale >= patience:
                    break
    finally:
        bar.close()
    model.load_state_dict(best[1])
    logits = _forward_all(model, transform, val_data, val_mask, 4 * batch_size, device)
    probabilities = torch.sigmoid(logits).double().numpy()
    table = QTable(history)
    table["time"].unit = "s"
    table.meta["best_epoch"] = best[2]
    table.meta["reference_loss"] = reference
    diverged = _diverged(stopped, best[0], best[2], reference)
    if diverged is not None:
        table.meta["diverged"] = diverged
    return table, best[2], np.asarray(probabilities)


def _finite_weights(model):
    """True if every floating-point parameter and buffer of ``model`` is finite."""
    return all(
        bool(torch.isfinite(tensor).all())
        for tensor in model.state_dict().values()
        if tensor.is_floating_point()
    )


def _nonfinite_loss(epoch, val_loss, train_loss, *, check_train):
    """``{"epoch", "which"}`` when a loss of ``epoch`` is not finite, else None.

    A non-finite training loss counts only without float16 loss scaling
    (``check_train``), which skips the steps whose gradients overflow.
    """
    if not math.isfinite(val_loss):
        return {"epoch": int(epoch), "which": "validation"}
    if check_train and not math.isfinite(train_loss):
        return {"epoch": int(epoch), "which": "training"}
    return None


def _diverged(stopped, best_loss, best_epoch, reference):
    """What went wrong (a dict for ``history.meta["diverged"]``), or None.

    Training diverged when it stopped on a non-finite loss, or when even its best
    validation loss is more than `DIVERGENCE_FACTOR` times ``reference``. ``usable``
    says whether the restored weights learned anything (a threshold may be chosen
    on them).
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
    """Say in words what ``history.meta["diverged"]`` (from `train_model`) means.

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
