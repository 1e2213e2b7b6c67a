"""`ClusterClassifier`: the model that tells star clusters from everything else."""

import datetime
import math
import warnings

import astropy.units as u
import numpy as np
import torch

from ..psf.columns import psf_fwhm_arcsec
from ..utils import ClusterFinderWarning
from ..utils import progress_bar as _progress_bar
from ..utils.photometry import REFERENCE_ZEROPOINT
from .architectures import build_model, list_architectures
from .metrics import Evaluation, choose_threshold
from .persistence import load_weights, save_weights
from .psf_input import psf_images
from .training import autocast_context, divergence_message, resolve_device, train_model
from .transform import InputTransform

__all__ = ["ClusterClassifier"]

#: Pixel scale of PAndAS (CFHT/MegaCam), the default survey.
DEFAULT_PIXEL_SCALE = 0.186 * u.arcsec / u.pix

#: Version of the metadata layout written by `ClusterClassifier.save`.
FORMAT_VERSION = 1

#: Largest relative difference between the pixel scale of the stamps (or of the images
#: given to `ClusterClassifier.load`) and the model's: 2%, 0.3 pixel at the edge of a
#: 32-pixel stamp. The scale of a survey varies by less over its field.
PIXEL_SCALE_TOLERANCE = 0.02


def _as_pixel_scale(value, name="pixel_scale"):
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


def _check_threshold(value):
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1; got {value}")
    return value


def _versions():
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


class ClusterClassifier:
    """A binary classifier of multi-band stamps: star cluster or not.

    Parameters
    ----------
    architecture : str, optional
        Network, one of `~clusterfinder.classifier.list_architectures`.
        ``"resnet50"`` is the architecture of Zhang et al. (2025);
        ``"small_cnn"`` is fast and is the bundled default model.
    bands : tuple of str, optional
        The bands the model reads, in the order of its input channels. Stamps
        with the bands in another order are reordered.
    cutout_size : int, optional
        Stamp side in pixels (32 px is 6" at 0.186"/pix). Larger stamps are
        cropped to it around their sources (`~clusterfinder.Cutout.crop`);
        smaller ones are refused.
    transform : `~clusterfinder.classifier.InputTransform`, optional
        Flux scaling and masking; by default ``InputTransform(bands=bands)``.
    threshold : float, optional
        Decision threshold on P(cluster); `fit` replaces it with the one chosen
        on the validation set.
    seed : int, optional
        Seed of the initial weights (and of training, unless ``fit`` gets one).
    pixel_scale : `~astropy.units.Quantity`, optional
        Pixel scale of the training images (arcsec/pix), stored with the model
        so that it can refuse images of another scale: stamps whose WCS (or
        whose table's ``meta["pixel_scale"]``, in arcsec/pix) gives a scale more
        than 2% away are refused by `fit`, `predict_proba` and `evaluate`.
        Stamps that carry neither cannot be checked.
    stem : {"auto", "small", "standard"}, optional
        First layers of torchvision networks; see
        `~clusterfinder.classifier.build_model`.
    architecture_options : dict, optional
        Extra options of the architecture (``widths=``, ``dropout=`` for
        ``"small_cnn"``).

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder import ClusterClassifier, Cutout
    >>> clf = ClusterClassifier("small_cnn", bands=("g", "i"), cutout_size=16)
    >>> clf.bands, clf.cutout_size, clf.threshold
    (('g', 'i'), 16, 0.5)
    >>> stamps = Cutout(np.zeros((3, 2, 20, 20), np.float32), bands=("i", "g"))
    >>> p = clf.predict_proba(stamps)
    >>> p.shape, p.dtype, bool(((p > 0) & (p < 1)).all())
    ((3,), dtype('float64'), True)
    """

    def __init__(
        self,
        architecture="resnet50",
        *,
        bands=("g", "i"),
        cutout_size=32,
        transform=None,
        threshold=0.5,
        seed=0,
        pixel_scale=DEFAULT_PIXEL_SCALE,
        stem="auto",
        architecture_options=None,
    ):
        if architecture not in list_architectures():
            raise ValueError(
                f"architecture must be one of {', '.join(list_architectures())}; "
                f"got {architecture!r}"
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
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
        self._architecture = architecture
        self._transform = transform
        self._cutout_size = int(cutout_size)
        self._seed = int(seed)
        self._pixel_scale = _as_pixel_scale(pixel_scale)
        self._options = {"stem": stem, **dict(architecture_options or {})}
        self.threshold = threshold
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._seed)
            self._model = build_model(
                architecture,
                in_channels=transform.in_channels,
                cutout_size=self._cutout_size,
                **self._options,
            )
        self._model.eval()
        self.history = None
        self.metrics = None
        self.training = None
        #: Metadata of the file the model was loaded from (None if built here).
        self.source_metadata = None

    # -- what the model expects -------------------------------------------------------------

    @property
    def architecture(self):
        """Name of the network architecture."""
        return self._architecture

    @property
    def bands(self):
        """The bands the model reads, in channel order."""
        return self._transform.bands

    @property
    def cutout_size(self):
        """Stamp side in pixels that the model reads."""
        return self._cutout_size

    @property
    def pixel_scale(self):
        """Pixel scale of the training images (arcsec/pix), or None if unknown."""
        return self._pixel_scale

    @property
    def transform(self):
        """The `~clusterfinder.classifier.InputTransform`."""
        return self._transform

    @property
    def model(self):
        """The underlying `torch.nn.Module` (stamps after the transform -> logits)."""
        return self._model

    @property
    def threshold(self):
        """Decision threshold: `predict` is ``predict_proba >= threshold``."""
        return self._threshold

    @threshold.setter
    def threshold(self, value):
        self._threshold = _check_threshold(value)

    def __repr__(self):
        return (
            f"<ClusterClassifier {self._architecture}, bands={self.bands}, "
            f"cutout_size={self._cutout_size}, threshold={self._threshold:.3f}>"
        )

    # -- input checks -----------------------------------------------------------------------

    def check_pixel_scale(self, pixel_scale, *, name="pixel_scale"):
        """Refuse a pixel scale more than 2% away from the model's.

        `predict_proba`, `fit` and `evaluate` call this with the scale of the
        stamps (from their WCS); call it yourself for images whose stamps carry no
        WCS. Nothing is checked when the model does not know its pixel scale.

        Parameters
        ----------
        pixel_scale : `~astropy.units.Quantity` or float
            Angle per pixel (a float is in arcsec/pix).
        name : str, optional
            What the scale belongs to, for the message.

        Raises
        ------
        ValueError
            Naming both scales.

        Examples
        --------
        >>> import astropy.units as u
        >>> from clusterfinder import ClusterClassifier
        >>> clf = ClusterClassifier("small_cnn", pixel_scale=0.186 * u.arcsec / u.pix)
        >>> clf.check_pixel_scale(0.187 * u.arcsec / u.pix)
        >>> clf.check_pixel_scale(0.372, name="images of field 7")
        Traceback (most recent call last):
        ...
        ValueError: images of field 7 are at 0.372 arcsec/pix but the model reads images ...
        """
        given = _as_pixel_scale(pixel_scale, name)
        if self._pixel_scale is None:
            return
        model = self._pixel_scale.to_value(u.arcsec / u.pix)
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

    def _check_stamps_match(self, cutout, name):
        """Refuse stamps of another pixel scale or flux scale than the model reads."""
        for scale, where in _stamp_pixel_scales(cutout):
            self.check_pixel_scale(scale, name=f"{name} stamps ({where})")
        meta = getattr(getattr(cutout, "table", None), "meta", None) or {}
        refzp = meta.get("refzp")
        if refzp is not None:
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

    def _arrays(self, cutout, name="cutout"):
        """Data and mask of ``cutout`` in the model's band order and stamp size."""
        if not all(hasattr(cutout, attr) for attr in ("data", "mask", "bands")):
            raise TypeError(f"{name} must be a clusterfinder Cutout; got {type(cutout).__name__}")
        given = tuple(cutout.bands)
        missing = [band for band in self.bands if band not in given]
        if missing:
            raise ValueError(
                f"the model reads bands {self.bands} but {name} has bands {given} "
                f"(missing: {', '.join(missing)})"
            )
        self._check_stamps_match(cutout, name)
        size = np.shape(cutout.data)[-1]
        if size < self._cutout_size:
            raise ValueError(
                f"the model reads {self._cutout_size}x{self._cutout_size} pixel stamps but "
                f"{name} has {size}x{size}; cut larger stamps"
            )
        if size > self._cutout_size and hasattr(cutout, "crop"):
            # The pixels that Cutout.from_images would have cut at the model's size (the
            # same stamps a scan gives the model), not merely the middle of the stamp.
            cutout = cutout.crop(self._cutout_size)
        data, mask = np.asarray(cutout.data), np.asarray(cutout.mask)
        order = [given.index(band) for band in self.bands]
        if order != list(range(len(given))):
            data, mask = data[:, order], mask[:, order]
        if data.shape[-1] > self._cutout_size:
            start = (size - self._cutout_size) // 2
            window = slice(start, start + self._cutout_size)
            data, mask = data[..., window, window], mask[..., window, window]
        if self._transform.psf_channels:
            psf = psf_images(
                getattr(cutout, "table", None), self.bands, self._cutout_size, self.pixel_scale
            )
            data = np.concatenate([np.asarray(data, dtype=np.float32), psf], axis=1)
            mask = np.concatenate([mask, np.zeros(psf.shape, dtype=bool)], axis=1)
        return data, mask

    def _warn_psf_outside_training(self, cutout):
        """Warn when stamps come from fields whose seeing the model never saw in training."""
        trained = (self.training or {}).get("psf_fwhm_range") or {}
        given = _column_ranges(cutout, self.bands, "psf_fwhm_{}", psf_fwhm_arcsec)
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

    def _labels(self, cutout, labels, name):
        if labels is None:
            table = getattr(cutout, "table", None)
            if table is None or "label" not in table.colnames:
                raise ValueError(
                    f"{name} has no 'label' column in its table; add one or pass labels="
                )
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

    @staticmethod
    def _warn_empty(mask):
        empty = mask.all(axis=(2, 3)).any(axis=1)
        if empty.any():
            warnings.warn(
                f"{int(empty.sum())} stamp(s) have a band with no valid pixel (all masked or "
                "NaN); their probabilities carry no information",
                ClusterFinderWarning,
                stacklevel=3,
            )

    # -- prediction -------------------------------------------------------------------------

    def predict_proba(self, cutout, *, batch_size=256, device="auto", progress_bar=False):
        """P(cluster) for every stamp of ``cutout``.

        Parameters
        ----------
        cutout : `~clusterfinder.Cutout`
            Stamps with (at least) the model's bands, at least `cutout_size`
            pixels wide (larger stamps are cropped around their sources with
            `~clusterfinder.Cutout.crop`), at the model's pixel scale and on
            the reference zero point (both checked where the stamps say them:
            WCS, ``meta["pixel_scale"]``, ``meta["refzp"]``). Masked and NaN
            pixels are set to 0 after scaling; a warning names stamps that
            have a band without any valid pixel.
        batch_size : int, optional
            Stamps per forward pass.
        device : str or `torch.device`, optional
            ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``...
        progress_bar : bool, optional
            Show a progress bar over the batches.

        Returns
        -------
        ndarray of float64
            One probability per stamp, in [0, 1]; never NaN.

        Raises
        ------
        ValueError
            Stamps of another pixel scale, zero point or too small; stamps whose
            pixels overflow the network (the message lists them).
        RuntimeError
            A broken model: NaN probabilities on finite input (the message lists
            the stamps and, where it can, the weights at fault).
        """
        data, mask = self._arrays(cutout)
        batch_size = _check_batch_size(batch_size)
        device = resolve_device(device)
        self._warn_empty(mask)
        self._warn_psf_outside_training(cutout)
        model = self._model.to(device).eval()
        # On the CPU, the channels-last layout makes the convolutions about 1.5x
        # faster (benchmarks/bench_inference.py); the results are the same.
        layout = torch.channels_last if device.type == "cpu" else torch.contiguous_format
        model = model.to(memory_format=layout)
        context, _ = autocast_context(device)
        out = np.empty(len(data), dtype=np.float64)
        starts = range(0, len(data), batch_size)
        bar = _progress_bar(starts, enabled=progress_bar, desc="classifying", unit="batch")
        with torch.inference_mode(), context:
            for start in bar:
                stop = start + batch_size
                x = torch.from_numpy(np.ascontiguousarray(data[start:stop])).to(device)
                m = torch.from_numpy(np.ascontiguousarray(mask[start:stop])).to(device)
                x = self._transform(x, m).contiguous(memory_format=layout)
                logits = model(x).float()
                out[start:stop] = torch.sigmoid(logits).double().cpu().numpy()
        if not np.isfinite(out).all():  # one pass over N numbers: nothing next to the network
            self._explain_nonfinite(np.flatnonzero(~np.isfinite(out)), data, mask, device)
        return out

    def _explain_nonfinite(self, bad, data, mask, device):
        """Raise for stamps whose probability is NaN: are the stamps or the model at fault?"""
        which = f"{len(bad)} of {len(data)} stamp(s) (indices {_indices(bad)})"
        broken = [
            name
            for name, tensor in self._model.state_dict().items()
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
        ]
        if broken:
            raise RuntimeError(
                f"the model gives NaN probabilities for {which}: its weights hold non-finite "
                f"values ({', '.join(broken[:3])}{', ...' if len(broken) > 3 else ''}). The "
                "model is broken (a corrupt file, or a training run that diverged); load or "
                "train it again"
            )
        model = self._model.to(device).eval()
        x = torch.from_numpy(np.ascontiguousarray(data[bad])).to(device)
        m = torch.from_numpy(np.ascontiguousarray(mask[bad])).to(device)
        with torch.inference_mode():
            x = self._transform(x, m)
            finite_input = torch.isfinite(x).flatten(1).all(dim=1).cpu().numpy()
            finite_output = torch.isfinite(model(x).float()).cpu().numpy()
        if not finite_input.all():
            pixels = np.asarray(data[bad], dtype=np.float64)
            valid = np.isfinite(pixels) & ~np.asarray(mask[bad], dtype=bool)
            largest = float(np.abs(np.where(valid, pixels, 0.0)).max()) if valid.any() else 0.0
            raise ValueError(
                f"the stamps give NaN probabilities for {which}: their scaled pixels are not "
                f"finite (largest absolute pixel value {largest:.3g} counts on zero point "
                f"{REFERENCE_ZEROPOINT:g}, beyond what float32 arithmetic holds). Mask such "
                "pixels or check the zero points of the images"
            )
        if finite_output.all() and device.type == "cuda":
            raise RuntimeError(
                f"the model gives NaN probabilities for {which} with mixed precision on "
                f"{device} but finite ones in float32: its activations overflow the reduced "
                "precision; run on the CPU (device='cpu')"
            )
        raise RuntimeError(
            f"the model gives NaN probabilities for {which} although their scaled pixels are "
            "finite: the model is broken (e.g. a negative batch-normalisation variance); "
            "load or train it again"
        )

    def predict(self, cutout, *, batch_size=256, device="auto", progress_bar=False):
        """True for stamps classified as clusters (``predict_proba >= threshold``).

        Returns
        -------
        ndarray of bool
        """
        proba = self.predict_proba(
            cutout, batch_size=batch_size, device=device, progress_bar=progress_bar
        )
        return proba >= self._threshold

    # -- training ---------------------------------------------------------------------------

    def fit(
        self,
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
        progress_bar=False,
        seed=None,
        checkpoint_dir=None,
        threshold_strategy="f1",
        target_purity=None,
        target_recall=None,
        description=None,
    ):
        """Train the model, then choose the decision threshold on ``validation``.

        Parameters
        ----------
        train, validation : `~clusterfinder.Cutout`
            Labelled stamps: their tables need an integer ``label`` column
            (1 = cluster), and ``train`` both classes. ``validation`` drives
            early stopping and the threshold; keep a third set apart for the
            final `evaluate`. Stamps are checked as by `predict_proba` (pixel
            scale, zero point, size), and refused, before training starts, when
            a band of a stamp holds no image: no finite unmasked pixel, or all
            pixels equal.
        epochs : int, optional
            Largest number of passes over ``train``.
        batch_size : int, optional
        learning_rate : float, optional
            Peak learning rate of the one-cycle schedule (AdamW).
        weight_decay : float, optional
        class_weight : {"balanced", None}, optional
            ``"balanced"`` weighs clusters by ``n_negative / n_positive``.
        patience : int or None, optional
            Stop after this many epochs without a better validation loss; the
            best weights are restored. None: run all epochs.
        augment : bool, optional
            Random 90-degree rotations, flips and sub-pixel shifts.
        device : str or `torch.device`, optional
            Mixed precision is used on CUDA only.
        progress_bar : bool, optional
        seed : int, optional
            Seed of shuffling, augmentation and dropout (default: the model's
            ``seed``). Same seed, same data, CPU: same weights bit for bit.
        checkpoint_dir : path-like, optional
            Write the weights (``epoch_NNN.pt`` state_dict files) every epoch.
        threshold_strategy : {"f1"}, optional
            Without a target: the threshold that maximises F1 on validation.
        target_purity, target_recall : float, optional
            Instead, the threshold reaching this purity (best recall) or recall
            (best purity) on validation.
        description : str, optional
            What the training data are, stored with the model.

        Returns
        -------
        `~astropy.table.QTable`
            The history: ``epoch``, ``train_loss``, ``val_loss``, ``val_f1``
            (at 0.5), ``val_auc``, ``learning_rate``, ``time``.

        Warns
        -----
        `~clusterfinder.utils.ClusterFinderWarning`
            When training diverges. A loss that is not finite stops training,
            and the best epoch before is restored (the weights from before
            training if there is none). When the restored weights learned
            nothing (their validation loss is more than 10 times that of a
            network that says 0.5 for every stamp,
            `~clusterfinder.classifier.training.DIVERGENCE_FACTOR`), the
            threshold is not chosen but left as it was. ``training["diverged"]``
            records what happened.
        """
        y_train = self._labels(train, None, "train")
        y_val = self._labels(validation, None, "validation")
        if len(set(y_train.tolist())) < 2:
            got = (
                f"all {len(y_train)} are labelled {int(y_train[0])}"
                if len(y_train)
                else "it is empty"
            )
            raise ValueError(
                f"train must contain both clusters (label 1) and non-clusters (0); {got}"
            )
        if len(y_val) == 0:
            raise ValueError("validation must contain at least one stamp")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if not (
            isinstance(learning_rate, (int, float))
            and not isinstance(learning_rate, bool)
            and math.isfinite(learning_rate)
            and learning_rate > 0
        ):
            raise ValueError(
                f"learning_rate must be a positive finite number; got {learning_rate!r}"
            )
        seed = self._seed if seed is None else seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
        device = resolve_device(device)
        train_data, train_mask = self._arrays(train, "train")
        val_data, val_mask = self._arrays(validation, "validation")
        _check_training_stamps(train_data, train_mask, len(self.bands), "train")
        _check_training_stamps(val_data, val_mask, len(self.bands), "validation")

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
                history, best_epoch, val_proba = train_model(
                    self._model,
                    self._transform,
                    tensors(train_data, train_mask, y_train),
                    tensors(val_data, val_mask, y_val),
                    epochs=int(epochs),
                    batch_size=int(batch_size),
                    learning_rate=float(learning_rate),
                    weight_decay=float(weight_decay),
                    class_weight=class_weight,
                    patience=patience,
                    augment=augment,
                    device=device,
                    seed=int(seed),
                    checkpoint_dir=checkpoint_dir,
                    progress_bar=progress_bar,
                )
            finally:
                torch.use_deterministic_algorithms(deterministic)
        self._model.to("cpu").eval()
        diverged = history.meta.get("diverged")
        # A threshold chosen on the probabilities of a network that learned nothing
        # (untrained weights back, or a loss far above chance) would mean nothing.
        learned = diverged is None or diverged["usable"]
        if diverged is not None:
            message = divergence_message(diverged, learning_rate)
            if not learned:
                message += f"; the threshold is left at {self._threshold}"
            warnings.warn(message, ClusterFinderWarning, stacklevel=2)
        if learned and y_val.any():
            self.threshold = choose_threshold(
                y_val,
                val_proba,
                strategy=threshold_strategy,
                target_purity=target_purity,
                target_recall=target_recall,
            )
        elif learned:
            warnings.warn(
                f"the validation set has no cluster: the threshold is left at {self._threshold}",
                ClusterFinderWarning,
                stacklevel=2,
            )
        self.metrics = Evaluation.from_predictions(
            y_val, val_proba, threshold=self._threshold
        ).as_dict()
        self.history = history
        self.training = {
            "description": description
            or f"{len(y_train)} training stamps ({int(y_train.sum())} clusters), "
            f"{len(y_val)} validation stamps ({int(y_val.sum())} clusters)",
            "n_train": len(y_train),
            "n_train_positive": int(y_train.sum()),
            "n_validation": len(y_val),
            "n_validation_positive": int(y_val.sum()),
            "epochs_run": len(history),
            "best_epoch": int(best_epoch),
            "batch_size": int(batch_size),
            "learning_rate": float(learning_rate),
            "weight_decay": float(weight_decay),
            "class_weight": class_weight,
            "augment": bool(augment),
            "seed": int(seed),
            "device": str(device),
            "threshold_strategy": {
                "strategy": threshold_strategy,
                "target_purity": target_purity,
                "target_recall": target_recall,
            },
        }
        if diverged is not None:
            self.training["diverged"] = dict(diverged)
        # What the model saw, so that it can say when it is asked about something else.
        for key, column, values in (
            ("psf_fwhm_range", "psf_fwhm_{}", psf_fwhm_arcsec),
            ("mag_range", "mag_{}", None),
        ):
            seen = _column_ranges(train, self.bands, column, values)
            if seen:
                self.training[key] = seen
        return history

    # -- evaluation -------------------------------------------------------------------------

    def evaluate(
        self,
        cutout,
        *,
        labels=None,
        threshold=None,
        thresholds=None,
        mag_limits=(19, 20, 21, 22, 23),
        mag_column="mag_g",
        batch_size=256,
        device="auto",
        progress_bar=False,
    ):
        """Purity, recall, F1, accuracy, ROC-AUC and PR-AUC on labelled stamps.

        Parameters
        ----------
        cutout : `~clusterfinder.Cutout`
        labels : array of int, optional
            True classes; by default the ``label`` column of ``cutout.table``.
        threshold : float, optional
            Threshold of the scalar metrics (default: the model's).
        thresholds : array of float, optional
            Thresholds of the grid (default 0.05, 0.10, ..., 0.95).
        mag_limits : sequence of float, optional
            Limiting magnitudes of the grid: each row counts the stamps brighter
            than the limit. Empty for no grid.
        mag_column : str, optional
            Table column with the magnitudes; without it there is no grid.
        batch_size, device, progress_bar
            As for `predict_proba`.

        Returns
        -------
        `~clusterfinder.classifier.Evaluation`
        """
        labels = self._labels(cutout, labels, "cutout")
        threshold = self._threshold if threshold is None else _check_threshold(threshold)
        proba = self.predict_proba(
            cutout, batch_size=batch_size, device=device, progress_bar=progress_bar
        )
        table = getattr(cutout, "table", None)
        magnitudes = None
        if table is not None and mag_column in table.colnames:
            magnitudes = np.asarray(u.Quantity(table[mag_column]).value, dtype=float)
        return Evaluation.from_predictions(
            labels,
            proba,
            threshold=threshold,
            magnitudes=magnitudes,
            thresholds=thresholds,
            mag_limits=tuple(mag_limits) if magnitudes is not None else (),
        )

    # -- persistence ------------------------------------------------------------------------

    def metadata(self):
        """Everything stored with the weights, as a JSON-serialisable dict."""
        history = None
        if self.history is not None:
            history = {
                name: [
                    float(v) if np.isfinite(v) else None
                    for v in np.asarray(getattr(column, "value", column), dtype=float)
                ]
                for name, column in self.history.columns.items()
            }
            history["epoch"] = [int(v) for v in history["epoch"]]
        return {
            "format_version": FORMAT_VERSION,
            "architecture": self._architecture,
            "architecture_options": self._options,
            "bands": list(self.bands),
            "cutout_size": self._cutout_size,
            "pixel_scale": None if self._pixel_scale is None else float(self._pixel_scale.value),
            "pixel_scale_unit": "arcsec / pix",
            "transform": self._transform.to_dict(),
            "threshold": self._threshold,
            "seed": self._seed,
            "training": self.training,
            "metrics": self.metrics,
            "history": history,
            "versions": _versions(),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }

    def save(self, path, *, overwrite=False):
        """Write ``<path>.safetensors`` and the ``<path>.json`` metadata.

        Without the optional package safetensors, ``<path>.pt`` (a plain
        state_dict) is written instead. Returns the path of the weights file.

        Parameters
        ----------
        path : str or path-like
            Base name of the files (a ``.safetensors``, ``.pt`` or ``.json``
            suffix is dropped); its folder must exist.
        overwrite : bool, optional
            Replace existing files. Without it (the default, as for every
            ``write`` of clusterfinder) an existing file is a `FileExistsError`
            that names it.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from clusterfinder import ClusterClassifier
        >>> clf = ClusterClassifier("small_cnn", threshold=0.6)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = clf.save(pathlib.Path(tmp) / "model")
        ...     ClusterClassifier.load(path).threshold
        0.6
        """
        weights_path, _ = save_weights(
            path, self._model.state_dict(), self.metadata(), overwrite=overwrite
        )
        return weights_path

    @classmethod
    def load(cls, path, *, bands=None, pixel_scale=None, cutout_size=None):
        """Read a model written by `save` (never unpickles arbitrary objects).

        Parameters
        ----------
        path : str or path-like
            The weights file, the JSON sidecar, or their common base name.
        bands : sequence of str, optional
            The bands you will give the model: refused, with the reason, if the
            model was trained on other bands.
        pixel_scale : `~astropy.units.Quantity` or float, optional
            The pixel scale of your images (arcsec/pix): refused if it differs
            by more than 2% from the training scale (as are stamps of another
            scale, later, by `predict_proba`).
        cutout_size : int, optional
            The stamp size you will give: refused if smaller than the model's.

        Returns
        -------
        `ClusterClassifier`
        """
        state_dict, meta = load_weights(path)
        return cls._from_state(
            state_dict,
            meta,
            source=str(path),
            bands=bands,
            pixel_scale=pixel_scale,
            cutout_size=cutout_size,
        )

    @classmethod
    def _from_state(cls, state_dict, meta, *, source, bands, pixel_scale, cutout_size):
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
        if bands is not None:
            wanted = (bands,) if isinstance(bands, str) else tuple(bands)
            if set(wanted) != set(model_bands):
                raise ValueError(
                    f"the model at {source!r} was trained on bands {model_bands}, "
                    f"not {wanted}: it cannot classify these stamps"
                )
        if pixel_scale is not None and model_scale is not None:
            wanted_scale = _as_pixel_scale(pixel_scale)
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
        clf = cls(
            architecture,
            bands=model_bands,
            cutout_size=model_size,
            transform=transform,
            threshold=meta.get("threshold", 0.5),
            seed=int(meta.get("seed", 0)),
            pixel_scale=model_scale,
            stem=stem,
            architecture_options=options,
        )
        _check_fits_architecture(clf._model.state_dict(), state_dict, source, architecture)
        try:
            clf._model.load_state_dict(state_dict, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ValueError(
                f"the weights in {source!r} do not fit a {architecture} model: {first}"
            ) from None
        clf._model.eval()
        history = meta.get("history")
        # The training history comes back as the table that fit returned (None values,
        # JSON's stand-in for NaN, become NaN again), so a loaded model saves as it loads.
        clf.history = None if history is None else _history_table(history)
        clf.metrics = meta.get("metrics")
        clf.training = meta.get("training")
        clf.source_metadata = meta
        return clf

    @classmethod
    def from_pretrained(cls, name_or_path=None, *, bands=None, pixel_scale=None, cutout_size=None):
        """A trained model by registered name or local path.

        Parameters
        ----------
        name_or_path : str or path-like, optional
            A local file (always used as is: no network), or a name of the
            registry (`~clusterfinder.classifier.list_weights`): bundled with
            the package, or downloaded once into the cache (see
            `~clusterfinder.classifier.weights`). Default: the bundled default
            model.
        bands, pixel_scale, cutout_size : optional
            As for `load`: refuse a model that does not fit your data.

        Returns
        -------
        `ClusterClassifier`
        """
        from .weights import list_weights, resolve_weights

        path = resolve_weights(name_or_path)
        clf = cls.load(path, bands=bands, pixel_scale=pixel_scale, cutout_size=cutout_size)
        if isinstance(name_or_path, str) and name_or_path in list_weights():
            clf.source_metadata["name"] = name_or_path
        return clf

    # -- searching images -------------------------------------------------------------------

    def find_candidates(self, images, sources=None, **kwargs):
        """Classify the sources of a set of images; the candidates as a catalogue.

        A shortcut for `clusterfinder.scan.find_candidates` with this model; see
        there for ``images``, ``sources`` (None: detect them) and the options.

        Returns
        -------
        `~clusterfinder.CandidateCatalog`
        """
        from ..scan import find_candidates

        return find_candidates(self, images, sources, **kwargs)


def _column_ranges(cutout, bands, column, values=None):
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


def _stamp_pixel_scales(cutout):
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


def _check_training_stamps(data, mask, nbands, name):
    """Refuse a training or validation set with stamps a network cannot learn from."""
    empty, constant = _unusable_stamps(data, mask, nbands)
    problems = []
    if len(empty):
        problems.append(
            f"{len(empty)} have a band without any finite, unmasked pixel (all NaN, "
            f"infinite or masked; indices {_indices(empty)})"
        )
    if len(constant):
        problems.append(
            f"{len(constant)} have a band whose pixels all hold the same value (blank or "
            f"filled; indices {_indices(constant)})"
        )
    if problems:
        bad = np.union1d(empty, constant)
        raise ValueError(
            f"{len(bad)} of the {len(data)} stamps of {name} hold no image to learn from: "
            f"{'; '.join(problems)}. Remove them before training, e.g. "
            f"{name}[np.setdiff1d(np.arange(len({name})), bad)]"
        )


def _indices(index, n=10):
    shown = ", ".join(str(int(k)) for k in index[:n])
    return shown + (f", ... ({len(index) - n} more)" if len(index) > n else "")


def _history_table(history):
    """The training history table from its stored form (a dict of column lists)."""
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


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be a positive integer; got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size}")
    return int(batch_size)
