"""The steps of `ClusterClassifier.fit <clusterfinder.ClusterClassifier.fit>`.

`fit_classifier` does them in order:

1. check the labels and the options, and the checkpoint folder
   (`~clusterfinder.classifier.training.check_checkpoint_dir`), before any stamp is
   read;
2. read the stamps as the model reads them (its bands, size and scale) and refuse
   those that hold no image (`~clusterfinder.classifier.checks`);
3. train the network in place, reproducibly (`train_arrays`, around
   `~clusterfinder.classifier.training.train_model`);
4. choose the decision threshold on the validation stamps, unless the network
   learned nothing (`~clusterfinder.classifier.divergence`), and measure the
   validation metrics at it;
5. record what was done and what the model saw (`training_record`).
"""

import warnings

import numpy as np
import torch

from ..psf.columns import psf_fwhm_arcsec
from ..utils import ClusterFinderWarning
from .checks import (
    check_fit_options,
    check_labels,
    check_threshold,
    check_training_stamps,
    column_ranges,
)
from .divergence import divergence_message
from .freezing import check_freeze
from .metrics import Evaluation, choose_threshold
from .training import check_checkpoint_dir, resolve_device, train_model

__all__ = ["fit_classifier", "train_arrays", "training_record"]

# Warnings of fit point at its caller: (_threshold_after_training, fit_classifier,
# ClusterClassifier.fit, the caller).
_STACKLEVEL = 4


def fit_classifier(
    model,
    transform,
    train,
    validation,
    *,
    arrays,
    threshold,
    seed,
    epochs,
    batch_size,
    learning_rate,
    weight_decay,
    class_weight,
    patience,
    augment,
    device,
    progress_bar,
    checkpoint_dir,
    overwrite,
    threshold_strategy,
    target_purity,
    target_recall,
    description,
    freeze=None,
):
    """Train ``model`` in place on labelled stamps, then choose the decision threshold.

    Parameters
    ----------
    model : `torch.nn.Module`
        The network of a `~clusterfinder.ClusterClassifier`; left on the CPU, in
        evaluation mode, with the weights of the best epoch.
    transform : `~clusterfinder.classifier.InputTransform`
        Its input transform.
    train, validation : `~clusterfinder.Cutout`
        Labelled stamps.
    arrays : callable
        ``arrays(cutout, name)`` gives the data and mask of the stamps as the model
        reads them, after checking them (``ClusterClassifier._arrays``).
    threshold : float
        The model's threshold, kept when none can be chosen.
    seed : int
        Seed of training (the model's ``seed`` when ``fit`` gets None).
    epochs, batch_size, learning_rate, weight_decay, class_weight, patience, \
augment, device, progress_bar, checkpoint_dir, overwrite, threshold_strategy, \
target_purity, target_recall, description, freeze
        As for `ClusterClassifier.fit <clusterfinder.ClusterClassifier.fit>`.

    Returns
    -------
    history : `~astropy.table.QTable`
    threshold : float
    metrics : dict
        The validation metrics at ``threshold``.
    record : dict
        What was done (`training_record`).
    """
    y_train = check_labels(train, None, "train")
    y_val = check_labels(validation, None, "validation")
    check_fit_options(
        y_train, y_val, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed
    )
    check_freeze(freeze)
    if checkpoint_dir is not None:
        check_checkpoint_dir(checkpoint_dir, overwrite=overwrite)
    device = resolve_device(device)
    train_data, train_mask = arrays(train, "train")
    val_data, val_mask = arrays(validation, "validation")
    check_training_stamps(train_data, train_mask, len(transform.bands), "train")
    check_training_stamps(val_data, val_mask, len(transform.bands), "validation")
    history, best_epoch, val_proba = train_arrays(
        model,
        transform,
        (train_data, train_mask, y_train),
        (val_data, val_mask, y_val),
        seed=int(seed),
        device=device,
        epochs=int(epochs),
        batch_size=int(batch_size),
        learning_rate=float(learning_rate),
        weight_decay=float(weight_decay),
        class_weight=class_weight,
        patience=patience,
        augment=augment,
        checkpoint_dir=checkpoint_dir,
        progress_bar=progress_bar,
        freeze=freeze,
    )
    model.to("cpu").eval()
    threshold = _threshold_after_training(
        history,
        y_val,
        val_proba,
        threshold=threshold,
        learning_rate=learning_rate,
        strategy=threshold_strategy,
        target_purity=target_purity,
        target_recall=target_recall,
    )
    threshold = check_threshold(threshold)
    metrics = Evaluation.from_predictions(y_val, val_proba, threshold=threshold).as_dict()
    record = training_record(
        train,
        transform.bands,
        y_train,
        y_val,
        history,
        best_epoch,
        description=description,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        class_weight=class_weight,
        augment=augment,
        seed=seed,
        device=device,
        threshold_strategy=threshold_strategy,
        target_purity=target_purity,
        target_recall=target_recall,
        freeze=freeze,
    )
    return history, threshold, metrics, record


def train_arrays(model, transform, train, validation, *, seed, device, **options):
    """`train_model` on arrays, reproducibly and leaving the global random state alone.

    ``train`` and ``validation`` are ``(data, mask, labels)`` numpy arrays; the other
    options are those of `train_model`. Inside, PyTorch is seeded with ``seed``
    (its global random state is restored afterwards) and, on the CPU, runs only
    deterministic algorithms: the same seed and data give the same weights bit for bit.
    """

    def tensors(data, mask, labels):
        return (
            torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(mask)),
            torch.from_numpy(labels.astype(np.float32)),
        )

    deterministic = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True)
        try:
            return train_model(
                model,
                transform,
                tensors(*train),
                tensors(*validation),
                device=device,
                seed=int(seed),
                **options,
            )
        finally:
            torch.use_deterministic_algorithms(deterministic)


def training_record(train, bands, y_train, y_val, history, best_epoch, *, description, **options):
    """What a run of ``fit`` did, for ``ClusterClassifier.training`` (stored with the model).

    ``options`` are the ``batch_size``, ``learning_rate``, ``weight_decay``,
    ``class_weight``, ``augment``, ``seed``, ``device``, ``threshold_strategy``,
    ``target_purity`` and ``target_recall`` of the run. The record also holds
    ``history.meta["diverged"]`` when training diverged, and what the model saw
    (``psf_fwhm_range``, ``mag_range``: band -> [smallest, largest] over the
    ``train`` stamps), so that it can say when it is asked about something else.
    """
    record = {
        "description": description
        or f"{len(y_train)} training stamps ({int(y_train.sum())} clusters), "
        f"{len(y_val)} validation stamps ({int(y_val.sum())} clusters)",
        "n_train": len(y_train),
        "n_train_positive": int(y_train.sum()),
        "n_validation": len(y_val),
        "n_validation_positive": int(y_val.sum()),
        "epochs_run": len(history),
        "best_epoch": int(best_epoch),
        "batch_size": int(options["batch_size"]),
        "learning_rate": float(options["learning_rate"]),
        "weight_decay": float(options["weight_decay"]),
        "class_weight": options["class_weight"],
        "augment": bool(options["augment"]),
        "seed": int(options["seed"]),
        "device": str(options["device"]),
        "freeze": options.get("freeze"),
        "threshold_strategy": {
            "strategy": options["threshold_strategy"],
            "target_purity": options["target_purity"],
            "target_recall": options["target_recall"],
        },
    }
    diverged = history.meta.get("diverged")
    if diverged is not None:
        record["diverged"] = dict(diverged)
    for key, column, values in (
        ("psf_fwhm_range", "psf_fwhm_{}", psf_fwhm_arcsec),
        ("mag_range", "mag_{}", None),
    ):
        seen = column_ranges(train, bands, column, values)
        if seen:
            record[key] = seen
    return record


def _threshold_after_training(
    history,
    labels,
    probabilities,
    *,
    threshold,
    learning_rate,
    strategy="f1",
    target_purity=None,
    target_recall=None,
):
    """The decision threshold after training: chosen on the validation stamps, or kept.

    The threshold is chosen with `~clusterfinder.classifier.choose_threshold` on the
    validation ``labels`` and ``probabilities``, unless the network learned nothing
    (``history.meta["diverged"]`` not usable) or the validation stamps hold no
    cluster: then ``threshold`` is returned as it is. A divergence, and a threshold
    left as it was, are told in a `~clusterfinder.utils.ClusterFinderWarning` that
    points at the caller of ``ClusterClassifier.fit``.
    """
    diverged = history.meta.get("diverged")
    # A threshold chosen on the probabilities of a network that learned nothing
    # (untrained weights back, or a loss far above chance) would mean nothing.
    learned = diverged is None or diverged["usable"]
    if diverged is not None:
        message = divergence_message(diverged, learning_rate)
        if not learned:
            message += f"; the threshold is left at {threshold}"
        warnings.warn(message, ClusterFinderWarning, stacklevel=_STACKLEVEL)
    if learned and labels.any():
        return choose_threshold(
            labels,
            probabilities,
            strategy=strategy,
            target_purity=target_purity,
            target_recall=target_recall,
        )
    if learned:
        warnings.warn(
            f"the validation set has no cluster: the threshold is left at {threshold}",
            ClusterFinderWarning,
            stacklevel=_STACKLEVEL,
        )
    return threshold
