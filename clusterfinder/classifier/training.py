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
  such a model (`~clusterfinder.classifier.divergence`). A large but finite
  loss alone does not stop training: with a high learning rate the first epochs
  often reach 10-1e5 times that level and the network still converges;
- checkpoints: ``checkpoint_dir`` receives the weights of every epoch
  (``epoch_NNN.pt``); `check_checkpoint_dir` refuses, before training, a folder
  that cannot be written in or that holds the checkpoints of an earlier run;
- reproducibility: all randomness (initial weights, shuffling, augmentation,
  dropout) comes from ``seed``; on the CPU the same seed gives the same weights
  bit for bit;
- on CUDA: mixed precision (bfloat16, or float16 with loss scaling), the
  channels-last memory layout that tensor cores read, and the training stamps
  copied to the GPU once when they take less than a quarter of its free memory
  (augmentation then runs there too); otherwise each batch is copied there. The
  CPU path keeps torch's default layout.
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
from ..utils.outputs import check_output_dir, overwrite_hint
from .augment import augment_batch
from .divergence import (
    DIVERGENCE_FACTOR,
    divergence_message,
    divergence_record,
    finite_weights,
    nonfinite_loss,
)
from .freezing import freeze_layers
from .metrics import binary_metrics, roc_auc

__all__ = [
    "DIVERGENCE_FACTOR",
    "check_checkpoint_dir",
    "divergence_message",
    "memory_layout",
    "resolve_device",
    "stage_on_device",
    "train_model",
]


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


def memory_layout(device, *, training=False):
    """The memory layout of stamps and network on ``device``.

    Channels-last on CUDA, where tensor cores read it without a transpose, and for
    inference on the CPU (about 1.5x faster, benchmarks/bench_inference.py); training
    on the CPU keeps torch's default layout, so a seed gives the same weights bit for
    bit as it always has.

    Examples
    --------
    >>> import torch
    >>> memory_layout(torch.device("cpu"), training=True)
    torch.contiguous_format
    """
    if device.type == "cpu" and training:
        return torch.contiguous_format
    return torch.channels_last


def stage_on_device(tensors, device, *, max_fraction=0.25):
    """``tensors`` ready to be batched on ``device``: copied there when there is room.

    On CUDA the tensors are copied to the GPU once when together they take less than
    ``max_fraction`` of its free memory (a training set of 10,000 two-band 32-pixel
    stamps is about 100 MB); otherwise, and on the CPU, they are returned as they are
    and each batch is copied to the device when it is used.
    """
    if device.type != "cuda":
        return tuple(tensors)
    size = sum(t.element_size() * t.numel() for t in tensors)
    free, _ = torch.cuda.mem_get_info(device)
    if size < max_fraction * free:
        return tuple(t.to(device) for t in tensors)
    return tuple(tensors)


def _batches(n, batch_size, generator=None):
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _forward_all(model, transform, data, mask, batch_size, device):
    """Logits of every stamp, in eval mode, without gradients."""
    model.eval()
    context, _ = autocast_context(device)
    layout = memory_layout(device, training=True)
    outputs = []
    with torch.inference_mode(), context:
        for index in _batches(data.shape[0], batch_size):
            x = data[index].to(device, non_blocking=True)
            m = mask[index].to(device, non_blocking=True)
            x = transform(x, m).contiguous(memory_format=layout)
            outputs.append(model(x).float().cpu())
    return torch.cat(outputs) if outputs else torch.zeros(0)


def check_checkpoint_dir(path, *, overwrite=False, name="checkpoint_dir"):
    """Check, before training, that the checkpoints can be written in folder ``path``.

    The folder may not exist yet (it is created, with its missing parents, at the end
    of the first epoch), but must not hold the checkpoints (``epoch_*.pt``) of an
    earlier run: they would be replaced one by one, and a shorter run would leave
    the later epochs of the earlier one beside its own.

    Parameters
    ----------
    path : str or path-like
        The checkpoint folder.
    overwrite : bool, optional
        Allow replacing the checkpoints of an earlier run.
    name : str, optional
        The option or parameter that gave ``path``, for the messages
        (``"--checkpoint-dir"`` on the command line).

    Returns
    -------
    `pathlib.Path`
        ``path``.

    Raises
    ------
    FileExistsError
        The folder holds ``epoch_*.pt`` files and ``overwrite`` is False.
    NotADirectoryError, PermissionError
        As for `~clusterfinder.utils.outputs.check_output_dir`: ``path`` or a
        parent is a file, or the folder cannot be written in.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (pathlib.Path(tmp) / "epoch_001.pt").write_bytes(b"")
    ...     check_checkpoint_dir(pathlib.Path(tmp) / "new").name
    ...     try:
    ...         check_checkpoint_dir(tmp)
    ...     except FileExistsError as exc:
    ...         print(str(exc).replace(tmp, "..."))  # doctest: +NORMALIZE_WHITESPACE
    'new'
    checkpoint_dir: '...' holds checkpoints of an earlier run (epoch_001.pt...); pass
    overwrite=True to replace them, or choose another folder
    """
    folder = check_output_dir(path, name=name)
    earlier = sorted(folder.glob("epoch_*.pt")) if folder.is_dir() else []
    if earlier and not overwrite:
        raise FileExistsError(
            f"{name}: {str(folder)!r} holds checkpoints of an earlier run "
            f"({earlier[0].name}...); pass {overwrite_hint(name)} to "
            "replace them, or choose another folder"
        )
    return folder


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
    freeze=None,
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
augment, device, seed, checkpoint_dir, progress_bar, freeze
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
    # Validation logits come back to the CPU, where the labels stay.
    val_criterion = torch.nn.BCEWithLogitsLoss(
        pos_weight=None if pos_weight is None else pos_weight.cpu()
    )

    generator = torch.Generator().manual_seed(int(seed))
    layout = memory_layout(device, training=True)
    model.to(device, memory_format=layout)
    data, mask, labels = stage_on_device((data, mask, labels), device)
    val_data, val_mask = stage_on_device((val_data, val_mask), device)
    frozen_norms = freeze_layers(model, freeze)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=weight_decay)
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
            for layer in frozen_norms:
                layer.eval()  # frozen statistics
            total, count = 0.0, 0
            for index in _batches(data.shape[0], batch_size, generator):
                if index.numel() < 2 and data.shape[0] >= 2:
                    continue  # batch normalisation needs two stamps
                x = data[index].to(device, non_blocking=True)
                m = mask[index].to(device, non_blocking=True)
                if augment:
                    x, m = augment_batch(x, m, generator=generator)
                x = transform(x, m).contiguous(memory_format=layout)
                y = labels[index].to(device, non_blocking=True)
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
            stopped = nonfinite_loss(epoch, val_loss, train_loss, check_train=scaler is None)
            if stopped is None and not finite_weights(model):
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
        for parameter in model.parameters():
            parameter.requires_grad_(True)
    model.load_state_dict(best[1])
    logits = _forward_all(model, transform, val_data, val_mask, 4 * batch_size, device)
    probabilities = torch.sigmoid(logits).double().numpy()
    table = QTable(history)
    table["time"].unit = "s"
    table.meta["best_epoch"] = best[2]
    table.meta["reference_loss"] = reference
    diverged = divergence_record(stopped, best[0], best[2], reference)
    if diverged is not None:
        table.meta["diverged"] = diverged
    return table, best[2], np.asarray(probabilities)
