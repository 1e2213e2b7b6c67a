"""The steps of `ClusterClassifier.adapt <clusterfinder.ClusterClassifier.adapt>`.

`adapt_classifier` checks the options and the stamps before any work, reads the
stamps as the model reads them, adapts the network in place (AdaBN or MMD),
chooses the threshold again when labelled source validation stamps are given, and
returns the record stored with the model.
"""

import datetime

import numpy as np
import torch

from ..classifier.checks import check_labels, check_learning_rate, check_training_stamps
from ..classifier.metrics import choose_threshold
from ..classifier.predict import predict_batches
from ..classifier.training import resolve_device
from ..utils.validation import check_batch_size, check_positive_integer
from .batchnorm import adapt_batchnorm
from .mmd import adapt_mmd

__all__ = ["adapt_classifier"]

METHODS = ("adabn", "mmd")


def _tensors(data, mask):
    return (
        torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)),
        torch.from_numpy(np.ascontiguousarray(mask)),
    )


def adapt_classifier(
    model,
    transform,
    target,
    *,
    arrays,
    threshold,
    method,
    source,
    validation,
    epochs,
    batch_size,
    learning_rate,
    mmd_weight,
    augment,
    device,
    seed,
    progress_bar,
    description,
):
    """Adapt ``model`` in place to the stamps of ``target``; return (threshold, record).

    Parameters are those of `ClusterClassifier.adapt
    <clusterfinder.ClusterClassifier.adapt>`; ``arrays(cutout, name)`` reads stamps as
    the model does, and ``threshold`` is the model's, kept unless ``validation`` is
    given.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    batch_size = check_batch_size(batch_size)
    if method == "mmd":
        if source is None:
            raise ValueError(
                "method='mmd' needs source=: labelled stamps of the domain the model was "
                "trained on (e.g. clusterfinder.datasets.simulated_stamps), to keep it a "
                "classifier while its features are aligned; or use method='adabn'"
            )
        epochs = check_positive_integer(epochs, "epochs")
        learning_rate = check_learning_rate(learning_rate)
        weight_ok = isinstance(mmd_weight, (int, float)) and np.isfinite(mmd_weight)
        if not (weight_ok and mmd_weight >= 0):
            raise ValueError(f"mmd_weight must be a finite number >= 0; got {mmd_weight!r}")
    y_source = check_labels(source, None, "source") if method == "mmd" else None
    if y_source is not None and len(set(y_source.tolist())) < 2:
        raise ValueError("source must contain both clusters (label 1) and non-clusters (0)")
    y_val = check_labels(validation, None, "validation") if validation is not None else None
    device = resolve_device(device)
    nbands = len(transform.bands)

    target_data, target_mask = arrays(target, "target")
    check_training_stamps(target_data, target_mask, nbands, "target")
    if len(target_data) < 2:
        raise ValueError(f"target needs at least two stamps; got {len(target_data)}")
    record = {
        "method": method,
        "n_target": len(target_data),
        "description": description or f"{len(target_data)} unlabelled target stamps",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "device": str(device),
    }
    model.to(device)
    if method == "adabn":
        data, mask = _tensors(target_data, target_mask)

        def batches():
            for start in range(0, len(data), batch_size):
                x = data[start : start + batch_size].to(device)
                yield transform(x, mask[start : start + batch_size].to(device))

        adapt_batchnorm(model, batches())
        record["batch_size"] = batch_size
    else:
        source_data, source_mask = arrays(source, "source")
        check_training_stamps(source_data, source_mask, nbands, "source")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            history = adapt_mmd(
                model,
                transform,
                (*_tensors(source_data, source_mask), torch.from_numpy(y_source.astype("float32"))),
                _tensors(target_data, target_mask),
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=float(learning_rate),
                mmd_weight=float(mmd_weight),
                augment=bool(augment),
                device=device,
                seed=int(seed),
                progress_bar=progress_bar,
            )
        record.update(
            n_source=len(source_data),
            epochs=int(epochs),
            batch_size=batch_size,
            learning_rate=float(learning_rate),
            mmd_weight=float(mmd_weight),
            augment=bool(augment),
            seed=int(seed),
            history=history,
        )
    model.to("cpu").eval()
    if validation is not None:
        val_data, val_mask = arrays(validation, "validation")
        probabilities = predict_batches(
            model, transform, val_data, val_mask, batch_size=batch_size, device=device
        )
        model.to("cpu").eval()
        threshold = float(choose_threshold(y_val, probabilities))
        record["threshold_from"] = f"validation ({len(y_val)} labelled stamps)"
    else:
        record["threshold_from"] = "kept from before the adaptation"
    record["threshold"] = float(threshold)
    return threshold, record
