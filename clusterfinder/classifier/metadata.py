"""What is stored with a model's weights, and reading it back.

`ClusterClassifier.save <clusterfinder.ClusterClassifier.save>` writes, beside the
weights (`~clusterfinder.classifier.persistence`), the metadata that rebuild the model
and say what it is (`model_metadata`): its options (architecture, bands, stamp size,
pixel scale, input transform, threshold, seed), what it was trained on
(`~clusterfinder.classifier.fitting.training_record`), its metrics, its training
history (`history_to_dict`) and the versions of the packages that made it.

`ClusterClassifier.load <clusterfinder.ClusterClassifier.load>` rebuilds the model
(`classifier_from_state`): it reads the options back (`model_options`), refuses a
model that does not fit the data it is meant for (`check_model_fits_data`) and
weights that do not fit the architecture (`load_state`).
"""

import datetime
import math

import numpy as np
import torch

from .checks import PIXEL_SCALE_TOLERANCE, as_pixel_scale
from .transform import InputTransform

__all__ = [
    "FORMAT_VERSION",
    "check_model_fits_data",
    "classifier_from_state",
    "history_table",
    "history_to_dict",
    "load_state",
    "model_metadata",
    "model_options",
    "versions",
]

#: Version of the metadata layout written by `ClusterClassifier.save`.
FORMAT_VERSION = 1


def versions():
    """Versions of clusterfinder, torch and torchvision (None when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    from clusterfinder import __version__

    try:  # read from the installed metadata: importing torchvision takes seconds
        torchvision_version = version("torchvision")
    except PackageNotFoundError:
        torchvision_version = None
    return {
        "clusterfinder": __version__,
        "torch": torch.__version__,
        "torchvision": torchvision_version,
    }


# -- written ----------------------------------------------------------------------------


def model_metadata(clf, *, architecture_options, seed):
    """Everything stored with the weights of ``clf``, as a JSON-serialisable dict.

    ``architecture_options`` and ``seed`` are those ``clf`` was built with. See
    `ClusterClassifier.metadata <clusterfinder.ClusterClassifier.metadata>`.
    """
    pixel_scale = clf.pixel_scale
    return {
        "format_version": FORMAT_VERSION,
        "architecture": clf.architecture,
        "architecture_options": architecture_options,
        "bands": list(clf.bands),
        "cutout_size": clf.cutout_size,
        "pixel_scale": None if pixel_scale is None else float(pixel_scale.value),
        "pixel_scale_unit": "arcsec / pix",
        "transform": clf.transform.to_dict(),
        "threshold": clf.threshold,
        "seed": seed,
        "training": clf.training,
        "metrics": clf.metrics,
        "history": history_to_dict(clf.history),
        "versions": versions(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def history_to_dict(history):
    """The training history table as JSON-serialisable column lists (NaN -> None).

    Examples
    --------
    >>> from astropy.table import QTable
    >>> history_to_dict(QTable({"epoch": [1, 2], "val_loss": [0.5, float("nan")]}))
    {'epoch': [1, 2], 'val_loss': [0.5, None]}
    """
    if history is None:
        return None
    stored = {
        name: [
            float(v) if np.isfinite(v) else None
            for v in np.asarray(getattr(column, "value", column), dtype=float)
        ]
        for name, column in history.columns.items()
    }
    stored["epoch"] = [int(v) for v in stored["epoch"]]
    return stored


def history_table(history):
    """The training history table from its stored form (a dict of column lists).

    None values, JSON's stand-in for NaN, become NaN again, so that a loaded model
    saves as it loads.
    """
    from astropy.table import QTable

    if not isinstance(history, dict):
        raise ValueError(f"the stored training history must be a mapping; got {history!r}")
    columns = {}
    for name, values in history.items():
        if name == "epoch":
            columns[name] = np.asarray(values, dtype=int)
        else:
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
    return QTable(columns)


# -- read -------------------------------------------------------------------------------


def classifier_from_state(cls, state_dict, meta, *, source, bands, pixel_scale, cutout_size):
    """The classifier (of class ``cls``) that weights and metadata read from ``source`` make.

    ``bands``, ``pixel_scale`` and ``cutout_size`` are those of the data the model is
    meant for (None: not checked); see `check_model_fits_data`. Used by
    `ClusterClassifier.load <clusterfinder.ClusterClassifier.load>`.
    """
    options = model_options(meta, source)
    check_model_fits_data(
        options, source, bands=bands, pixel_scale=pixel_scale, cutout_size=cutout_size
    )
    clf = cls(
        options.pop("architecture"),
        threshold=meta.get("threshold", 0.5),
        seed=int(meta.get("seed", 0)),
        **options,
    )
    load_state(clf.model, state_dict, source, clf.architecture)
    history = meta.get("history")
    # The training history comes back as the table that fit returned (None values,
    # JSON's stand-in for NaN, become NaN again), so a loaded model saves as it loads.
    clf.history = None if history is None else history_table(history)
    clf.metrics = meta.get("metrics")
    clf.training = meta.get("training")
    clf.source_metadata = meta
    return clf


def model_options(meta, source):
    """The options of the model that metadata ``meta`` (read from ``source``) describe.

    Returns
    -------
    dict
        ``architecture``, ``bands``, ``cutout_size``, ``transform``, ``pixel_scale``
        (arcsec/pix, or None), ``stem`` and ``architecture_options``: the arguments
        of `ClusterClassifier <clusterfinder.ClusterClassifier>`.

    Raises
    ------
    ValueError
        Metadata of a newer format, or incomplete.
    """
    try:
        version = int(meta.get("format_version", 0))
        if version > FORMAT_VERSION:
            raise ValueError(
                f"{source!r} was written by a newer clusterfinder (format {version}); "
                "upgrade clusterfinder to read it"
            )
        transform = InputTransform.from_dict(meta["transform"])
        model_bands = tuple(meta["bands"])
        model_scale = meta.get("pixel_scale")
        model_size = int(meta["cutout_size"])
        options = dict(meta.get("architecture_options") or {})
        stem = options.pop("stem", "auto")
        architecture = meta["architecture"]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{source!r} has incomplete model metadata (missing {exc})") from None
    return {
        "architecture": architecture,
        "bands": model_bands,
        "cutout_size": model_size,
        "transform": transform,
        "pixel_scale": model_scale,
        "stem": stem,
        "architecture_options": options,
    }


def check_model_fits_data(options, source, *, bands=None, pixel_scale=None, cutout_size=None):
    """Refuse a stored model (``options`` from `model_options`) unfit for the data.

    ``bands``, ``pixel_scale`` and ``cutout_size`` are those of the data, as given to
    `ClusterClassifier.load <clusterfinder.ClusterClassifier.load>`; None is not checked.
    """
    model_bands, model_scale = options["bands"], options["pixel_scale"]
    model_size = options["cutout_size"]
    if bands is not None:
        wanted = (bands,) if isinstance(bands, str) else tuple(bands)
        if set(wanted) != set(model_bands):
            raise ValueError(
                f"the model at {source!r} was trained on bands {model_bands}, "
                f"not {wanted}: it cannot classify these stamps"
            )
    if pixel_scale is not None and model_scale is not None:
        wanted_scale = as_pixel_scale(pixel_scale)
        if not math.isclose(wanted_scale.value, model_scale, rel_tol=PIXEL_SCALE_TOLERANCE):
            raise ValueError(
                f"the model at {source!r} was trained at {model_scale} arcsec/pix, "
                f"not {wanted_scale.value:g} arcsec/pix: resample the images or train a "
                "model for this pixel scale"
            )
    if cutout_size is not None and int(cutout_size) < model_size:
        raise ValueError(
            f"the model at {source!r} reads {model_size}-pixel stamps; "
            f"{int(cutout_size)}-pixel stamps are too small"
        )


def load_state(model, state_dict, source, architecture):
    """Put the weights ``state_dict`` (read from ``source``) into ``model``, in eval mode.

    Raises
    ------
    ValueError
        Tensor names or shapes that are not those of ``model`` (an ``architecture``
        network), named.
    """
    _check_fits_architecture(model.state_dict(), state_dict, source, architecture)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(
            f"the weights in {source!r} do not fit a {architecture} model: {first}"
        ) from None
    model.eval()


def _check_fits_architecture(expected, given, source, architecture):
    """Refuse weights whose tensor names or shapes are not those of the architecture."""
    missing = [name for name in expected if name not in given]
    unexpected = [name for name in given if name not in expected]
    shapes = [
        f"{name} {tuple(given[name].shape)} instead of {tuple(tensor.shape)}"
        for name, tensor in expected.items()
        if name in given and tuple(given[name].shape) != tuple(tensor.shape)
    ]
    problems = []
    for what, items in (
        ("missing tensors", missing),
        ("unknown tensors", unexpected),
        ("wrong shapes", shapes),
    ):
        if items:
            shown = ", ".join(items[:3]) + (
                f", ... ({len(items) - 3} more)" if len(items) > 3 else ""
            )
            problems.append(f"{len(items)} {what} ({shown})")
    if problems:
        raise ValueError(
            f"the weights in {source!r} do not fit a {architecture} model with the options "
            f"its metadata gives: {'; '.join(problems)}. The file is corrupt, or its weights "
            "and metadata come from different models"
        )
