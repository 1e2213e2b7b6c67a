"""Checks of what `~clusterfinder.ClusterClassifier` is given, before any work is done.

A classifier reads stamps of one pixel scale, on one flux scale (the reference zero
point), in its bands and at least its stamp size; stamps that say (in their WCS or
their table's ``meta``) that they are otherwise are refused, with the reason, rather
than classified as if they were right. Training stamps must hold an image in every
band, and labels must be 0 or 1. Stamps that can still be classified but whose
probabilities carry little information (an empty band, a seeing the model was not
trained on) are named in a `~clusterfinder.utils.ClusterFinderWarning`.

Every function raises `ValueError` or `TypeError` with a message that names the
parameter, what was expected and what was given (see :ref:`conventions`).
"""

import math
import warnings

import astropy.units as u
import numpy as np

from ..psf.columns import psf_fwhm_arcsec
from ..utils import ClusterFinderWarning, as_generator
from ..utils.photometry import REFERENCE_ZEROPOINT
from ..utils.validation import check_batch_size, check_positive_integer, check_seed, check_threshold
from .architectures import list_architectures
from .transform import InputTransform

__all__ = [
    "PIXEL_SCALE_TOLERANCE",
    "as_pixel_scale",
    "check_batch_size",
    "check_fit_options",
    "check_labels",
    "check_learning_rate",
    "check_model_options",
    "check_pixel_scale",
    "check_stamps",
    "check_threshold",
    "check_training_stamps",
    "column_ranges",
    "format_indices",
    "stamp_pixel_scales",
    "torch_seed",
    "warn_empty",
    "warn_psf_outside_training",
]

#: Largest relative difference between the pixel scale of the stamps (or of the images
#: given to `ClusterClassifier.load`) and the model's: 2%, 0.3 pixel at the edge of a
#: 32-pixel stamp. The scale of a survey varies by less over its field.
PIXEL_SCALE_TOLERANCE = 0.02


# -- options ----------------------------------------------------------------------------


def as_pixel_scale(value, name="pixel_scale"):
    """``value`` as a positive `~astropy.units.Quantity` in arcsec/pix (None stays None).

    A plain number is taken as arcsec/pix.

    Examples
    --------
    >>> as_pixel_scale(0.186)
    <Quantity 0.186 arcsec / pix>
    """
    if value is None:
        return None
    if isinstance(value, u.Quantity):
        try:
            value = value.to(u.arcsec / u.pix)
        except u.UnitConversionError:
            raise ValueError(
                f"{name} must be in arcsec/pix (an angle per pixel); got {value}"
            ) from None
    else:
        value = float(value) * u.arcsec / u.pix
    if not (np.isfinite(value.value) and value.value > 0):
        raise ValueError(f"{name} must be positive; got {value}")
    return value


def torch_seed(seed, name="seed"):
    """``seed`` (None, an integer >= 0 or a `numpy.random.Generator`) as the int that seeds PyTorch.

    An integer is kept; a Generator gives its next draw (so the same generator state
    gives the same model), None a draw from fresh entropy. The int is what the model
    records.

    Examples
    --------
    >>> import numpy as np
    >>> torch_seed(7), torch_seed(np.random.default_rng(0)) == torch_seed(np.random.default_rng(0))
    (7, True)
    """
    seed = check_seed(seed, name)
    if seed is None or isinstance(seed, np.random.Generator):
        return int(as_generator(seed).integers(2**63))
    return seed


def check_model_options(architecture, *, bands, transform, cutout_size, seed):
    """Check the options of `ClusterClassifier <clusterfinder.ClusterClassifier>`.

    Returns
    -------
    `~clusterfinder.classifier.InputTransform`
        ``transform``, or the default one for ``bands`` when it is None.
    """
    if architecture not in list_architectures():
        raise ValueError(
            f"architecture must be one of {', '.join(list_architectures())}; got {architecture!r}"
        )
    if transform is None:
        transform = InputTransform(bands=tuple(bands) if not isinstance(bands, str) else bands)
    elif not isinstance(transform, InputTransform):
        raise TypeError(
            f"transform must be an InputTransform or None; got {type(transform).__name__}"
        )
    if isinstance(bands, str) or tuple(bands) != transform.bands:
        raise ValueError(
            f"bands {bands!r} differ from the bands of the transform {transform.bands!r}"
        )
    if isinstance(cutout_size, bool) or not isinstance(cutout_size, (int, np.integer)):
        raise TypeError(f"cutout_size must be an integer number of pixels; got {cutout_size!r}")
    check_seed(seed)
    return transform


def check_fit_options(y_train, y_val, *, epochs, batch_size, learning_rate, seed):
    """Check the labels and the options of `ClusterClassifier.fit`, before any work."""
    if len(set(y_train.tolist())) < 2:
        got = (
            f"all {len(y_train)} are labelled {int(y_train[0])}" if len(y_train) else "it is empty"
        )
        raise ValueError(f"train must contain both clusters (label 1) and non-clusters (0); {got}")
    if len(y_val) == 0:
        raise ValueError("validation must contain at least one stamp")
    check_positive_integer(epochs, "epochs")
    check_batch_size(batch_size)
    check_learning_rate(learning_rate)
    check_seed(seed)


def check_learning_rate(learning_rate):
    """``learning_rate`` as a float if it is a positive finite number, else a ValueError."""
    if not (
        isinstance(learning_rate, (int, float))
        and not isinstance(learning_rate, bool)
        and math.isfinite(learning_rate)
        and learning_rate > 0
    ):
        raise ValueError(f"learning_rate must be a positive finite number; got {learning_rate!r}")
    return float(learning_rate)


# -- stamps -----------------------------------------------------------------------------


def check_pixel_scale(pixel_scale, model_scale, *, name="pixel_scale"):
    """Refuse a pixel scale more than `PIXEL_SCALE_TOLERANCE` away from ``model_scale``.

    Nothing is checked when ``model_scale`` is None; see
    `ClusterClassifier.check_pixel_scale <clusterfinder.ClusterClassifier.check_pixel_scale>`.
    """
    given = as_pixel_scale(pixel_scale, name)
    if model_scale is None:
        return
    model = model_scale.to_value(u.arcsec / u.pix)
    value = given.to_value(u.arcsec / u.pix)
    if not math.isclose(value, model, rel_tol=PIXEL_SCALE_TOLERANCE):
        raise ValueError(
            f"{name} are at {value:.4g} arcsec/pix but the model reads images at "
            f"{model:.4g} arcsec/pix (a difference of {abs(value / model - 1):.0%}, more "
            f"than {PIXEL_SCALE_TOLERANCE:.0%}): sources would look "
            f"{model / value:.3g} times their size to it. Resample the images to "
            f"{model:.4g} arcsec/pix, or use a model made for {value:.4g} arcsec/pix "
            "(ClusterClassifier(..., pixel_scale=...))"
        )


def check_stamps(cutout, *, bands, cutout_size, pixel_scale, name="cutout"):
    """Refuse stamps a model of these ``bands``, ``cutout_size`` and scale cannot read.

    In this order: not a `~clusterfinder.Cutout` (`TypeError`); a band missing; a pixel
    scale (WCS, ``meta["pixel_scale"]``) or zero point (``meta["refzp"]``) other than
    the model's; stamps smaller than ``cutout_size``.
    """
    if not all(hasattr(cutout, attr) for attr in ("data", "mask", "bands")):
        raise TypeError(f"{name} must be a clusterfinder Cutout; got {type(cutout).__name__}")
    given = tuple(cutout.bands)
    missing = [band for band in bands if band not in given]
    if missing:
        raise ValueError(
            f"the model reads bands {tuple(bands)} but {name} has bands {given} "
            f"(missing: {', '.join(missing)})"
        )
    for scale, where in stamp_pixel_scales(cutout):
        check_pixel_scale(scale, pixel_scale, name=f"{name} stamps ({where})")
    _check_zero_point(cutout, name)
    size = np.shape(cutout.data)[-1]
    if size < cutout_size:
        raise ValueError(
            f"the model reads {cutout_size}x{cutout_size} pixel stamps but "
            f"{name} has {size}x{size}; cut larger stamps"
        )


def _check_zero_point(cutout, name):
    """Refuse stamps whose table says they are on another zero point than the reference."""
    meta = getattr(getattr(cutout, "table", None), "meta", None) or {}
    refzp = meta.get("refzp")
    if refzp is None:
        return
    try:
        refzp = float(refzp)
    except (TypeError, ValueError):
        refzp = math.nan
    if not math.isclose(refzp, REFERENCE_ZEROPOINT, abs_tol=1e-6):
        raise ValueError(
            f"the table of {name} says its stamps are on zero point {meta['refzp']!r} "
            f"(meta['refzp']) but models read stamps on the reference zero point "
            f"{REFERENCE_ZEROPOINT:g} AB: rescale the stamps by "
            f"10**(-0.4 * (refzp - {REFERENCE_ZEROPOINT:g})) and set meta['refzp'], "
            "or cut them again with Cutout.from_images"
        )


def _wcs_pixel_scale(wcs):
    """Pixel scale of a celestial WCS (square root of the pixel area), or None."""
    from astropy.wcs.utils import proj_plane_pixel_area

    try:
        if not wcs.has_celestial:
            return None
        celestial = wcs.celestial
        unit = u.Unit(celestial.wcs.cunit[0] or "deg")
        value = math.sqrt(abs(float(proj_plane_pixel_area(celestial)))) * unit / u.pix
        value = value.to(u.arcsec / u.pix)
    except Exception:  # a WCS without a usable celestial part: no scale to check
        return None
    return value if np.isfinite(value.value) and value.value > 0 else None


def stamp_pixel_scales(cutout):
    """``(scale, where)`` for each pixel scale the stamps declare: WCS, then meta."""
    out = []
    stamp_wcs = getattr(cutout, "wcs", None)
    if stamp_wcs is not None:
        if hasattr(stamp_wcs, "bases") and hasattr(stamp_wcs, "index"):
            index = np.asarray(stamp_wcs.index)
            bases = [stamp_wcs.bases[k] for k in np.unique(index[index >= 0])]
        else:
            bases = list({id(w): w for w in stamp_wcs if w is not None}.values())
        scales = {}
        for base in bases:
            scale = _wcs_pixel_scale(base)
            if scale is not None:
                scales.setdefault(round(float(scale.value), 6), scale)
        out.extend((scale, "pixel scale from their WCS") for scale in scales.values())
    meta = getattr(getattr(cutout, "table", None), "meta", None) or {}
    if meta.get("pixel_scale") is not None:
        out.append((meta["pixel_scale"], "meta['pixel_scale'] of their table"))
    return out


def check_labels(cutout, labels, name):
    """The 0/1 labels of the stamps of ``cutout`` (by default its ``label`` column), as int."""
    if labels is None:
        table = getattr(cutout, "table", None)
        if table is None or "label" not in table.colnames:
            raise ValueError(f"{name} has no 'label' column in its table; add one or pass labels=")
        labels = table["label"]
    labels = np.asarray(labels)
    if labels.shape != (len(cutout),):
        raise ValueError(
            f"labels of {name} must have one value per stamp ({len(cutout)}); "
            f"got shape {labels.shape}"
        )
    if labels.size and not np.isin(labels, (0, 1)).all():
        raise ValueError(f"labels of {name} must be 0 or 1")
    return labels.astype(int)


def _unusable_stamps(data, mask, nbands, chunk=4096):
    """Indices of stamps with a band without a valid pixel, and with a constant band.

    Only the first ``nbands`` channels (the bands, not the PSF channels) are looked at.
    Worked through in chunks of stamps so that no copy of a large training set is made.
    """
    empty, constant = [], []
    for start in range(0, len(data), chunk):
        x = np.asarray(data[start : start + chunk, :nbands], dtype=np.float32)
        bad = np.asarray(mask[start : start + chunk, :nbands], dtype=bool) | ~np.isfinite(x)
        no_valid = bad.all(axis=(2, 3))
        high = np.where(bad, -np.inf, x).max(axis=(2, 3))
        low = np.where(bad, np.inf, x).min(axis=(2, 3))
        flat = ~no_valid & (high == low)
        empty.append(start + np.flatnonzero(no_valid.any(axis=1)))
        constant.append(start + np.flatnonzero(flat.any(axis=1) & ~no_valid.any(axis=1)))
    if not empty:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    return np.concatenate(empty), np.concatenate(constant)


def check_training_stamps(data, mask, nbands, name):
    """Refuse a training or validation set with stamps a network cannot learn from."""
    empty, constant = _unusable_stamps(data, mask, nbands)
    problems = []
    if len(empty):
        problems.append(
            f"{len(empty)} have a band without any finite, unmasked pixel (all NaN, "
            f"infinite or masked; indices {format_indices(empty)})"
        )
    if len(constant):
        problems.append(
            f"{len(constant)} have a band whose pixels all hold the same value (blank or "
            f"filled; indices {format_indices(constant)})"
        )
    if problems:
        bad = np.union1d(empty, constant)
        raise ValueError(
            f"{len(bad)} of the {len(data)} stamps of {name} hold no image to learn from: "
            f"{'; '.join(problems)}. Remove them before training, e.g. "
            f"{name}[np.setdiff1d(np.arange(len({name})), bad)]"
        )


def format_indices(index, n=10):
    """The first ``n`` indices, then how many more.

    Examples
    --------
    >>> format_indices(range(12), n=3)
    '0, 1, 2, ... (9 more)'
    """
    shown = ", ".join(str(int(k)) for k in index[:n])
    return shown + (f", ... ({len(index) - n} more)" if len(index) > n else "")


# -- warnings ---------------------------------------------------------------------------


def warn_empty(mask):
    """Warn about stamps with a band without any valid pixel (called by ``predict_proba``)."""
    empty = mask.all(axis=(2, 3)).any(axis=1)
    if empty.any():
        warnings.warn(
            f"{int(empty.sum())} stamp(s) have a band with no valid pixel (all masked or "
            "NaN); their probabilities carry no information",
            ClusterFinderWarning,
            stacklevel=3,
        )


def column_ranges(cutout, bands, column, values=None):
    """Band -> [smallest, largest] finite value of ``column.format(band)`` over the stamps.

    ``values(table, band)`` reads the column as numbers (plain values by default); bands
    whose column is missing or has no finite value are left out.
    """
    table = getattr(cutout, "table", None)
    out = {}
    for band in bands:
        name = column.format(band)
        if table is None or name not in table.colnames:
            continue
        raw = values(table, band) if values else getattr(table[name], "value", table[name])
        finite = np.asarray(raw, dtype=float)
        finite = finite[np.isfinite(finite)]
        if finite.size:
            out[band] = [float(finite.min()), float(finite.max())]
    return out


def warn_psf_outside_training(training, cutout, bands):
    """Warn when stamps come from fields whose seeing the model never saw in training.

    ``training`` is the model's record of its training (``ClusterClassifier.training``);
    called by ``predict_proba``.
    """
    trained = (training or {}).get("psf_fwhm_range") or {}
    given = column_ranges(cutout, bands, "psf_fwhm_{}", psf_fwhm_arcsec)
    for band, (low, high) in trained.items():
        if band not in given:
            continue
        table = cutout.table
        fwhm = psf_fwhm_arcsec(table, band)
        outside = (fwhm < 0.95 * low) | (fwhm > 1.05 * high)
        if outside.any():
            warnings.warn(
                f"{int(outside.sum())} stamp(s) come from fields whose {band} PSF FWHM "
                f"({given[band][0]:.2f}-{given[band][1]:.2f} arcsec) lies outside what "
                f"this model was trained on ({low:.2f}-{high:.2f} arcsec); their "
                "probabilities are extrapolations",
                ClusterFinderWarning,
                stacklevel=3,
            )
