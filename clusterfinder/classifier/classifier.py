"""`ClusterClassifier`: the model that tells star clusters from everything else."""

import astropy.units as u
import numpy as np
import torch

from ..utils.validation import check_precision
from .architectures import build_model
from .checks import (
    PIXEL_SCALE_TOLERANCE,  # noqa: F401 (importable from here, as before)
    as_pixel_scale,
    check_batch_size,
    check_labels,
    check_model_options,
    check_pixel_scale,
    check_threshold,
    torch_seed,
    warn_empty,
    warn_psf_outside_training,
)
from .fitting import fit_classifier
from .metadata import (
    FORMAT_VERSION,  # noqa: F401 (importable from here, as before)
    classifier_from_state,
    model_metadata,
)
from .metrics import Evaluation
from .persistence import load_weights, save_weights
from .predict import predict_batches, stamp_arrays, stamp_inputs
from .training import resolve_device

__all__ = ["ClusterClassifier"]

#: Pixel scale of PAndAS (CFHT/MegaCam), the default survey.
DEFAULT_PIXEL_SCALE = 0.186 * u.arcsec / u.pix


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
    seed : int, `numpy.random.Generator` or None, optional
        Seed of the initial weights (and of training, unless ``fit`` gets one). A
        Generator or None is turned into an integer (its next draw, or a draw from
        fresh entropy), which the model records.
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
        transform = check_model_options(
            architecture, bands=bands, transform=transform, cutout_size=cutout_size, seed=seed
        )
        self._architecture = architecture
        self._transform = transform
        self._cutout_size = int(cutout_size)
        self._seed = torch_seed(seed)
        self._pixel_scale = as_pixel_scale(pixel_scale)
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
        self._threshold = check_threshold(value)

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
        check_pixel_scale(pixel_scale, self._pixel_scale, name=name)

    def _arrays(self, cutout, name="cutout"):
        """Data and mask of ``cutout`` in the model's band order and stamp size."""
        return stamp_arrays(cutout, name=name, **self._input_options())

    def _inputs(self, cutout, name="cutout"):
        """Data, mask and distinct PSFs of ``cutout`` (see `~.predict.stamp_inputs`)."""
        return stamp_inputs(cutout, name=name, **self._input_options())

    def _input_options(self):
        return {
            "bands": self.bands,
            "cutout_size": self._cutout_size,
            "pixel_scale": self._pixel_scale,
            "psf_channels": self._transform.psf_channels,
        }

    # -- prediction -------------------------------------------------------------------------

    def predict_proba(
        self, cutout, *, batch_size=256, device="auto", precision="auto", progress_bar=False
    ):
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
        precision : {"auto", "float32", "bfloat16"}, optional
            The network's arithmetic: ``"auto"`` is bfloat16 mixed precision on
            CUDA and float32 on the CPU; ``"bfloat16"`` on the CPU is about twice
            as fast on processors with bfloat16 instructions and changed no
            decision of the bundled models on held-out fields of the
            simulator they were trained on
            (``benchmarks/bench_precision.py``); ``"float32"`` everywhere gives
            results reproducible bit for bit on the CPU.
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
        batch_size = check_batch_size(batch_size)
        precision = check_precision(precision)
        # The PSF channels of a seeing-aware model are added batch by batch.
        data, mask, psf = self._inputs(cutout)
        device = resolve_device(device)
        warn_empty(mask)
        warn_psf_outside_training(self.training, cutout, self.bands)
        return predict_batches(
            self._model,
            self._transform,
            data,
            mask,
            psf=psf,
            batch_size=batch_size,
            device=device,
            precision=precision,
            progress_bar=progress_bar,
        )

    def predict(
        self, cutout, *, batch_size=256, device="auto", precision="auto", progress_bar=False
    ):
        """True for stamps classified as clusters (``predict_proba >= threshold``).

        The options are those of `predict_proba`.

        Returns
        -------
        ndarray of bool
        """
        proba = self.predict_proba(
            cutout,
            batch_size=batch_size,
            device=device,
            precision=precision,
            progress_bar=progress_bar,
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
        overwrite=False,
        threshold_strategy="f1",
        target_purity=None,
        target_recall=None,
        description=None,
        freeze=None,
    ):
        """Train the model, then choose the decision threshold on ``validation``.

        Training starts from the model's current weights: on a model from
        `from_pretrained` or `load` it fine-tunes them (e.g. on a few hundred
        labelled stamps of a new survey, with a smaller ``learning_rate``).

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
        seed : int or `numpy.random.Generator`, optional
            Seed of shuffling, augmentation and dropout (default: the model's
            ``seed``; a Generator gives its next draw). Same seed, same data, CPU:
            same weights bit for bit.
        checkpoint_dir : path-like, optional
            Write the weights (``epoch_NNN.pt`` state_dict files) every epoch in
            this folder (created, with its parents, if needed). It is checked
            before training starts: a file, or a folder that cannot be written
            in, is refused, and so is a folder that holds the checkpoints of an
            earlier run (``epoch_*.pt``), unless ``overwrite``.
        overwrite : bool, optional
            Replace the checkpoints of an earlier run in ``checkpoint_dir``.
        threshold_strategy : {"f1"}, optional
            Without a target: the threshold that maximises F1 on validation.
        target_purity, target_recall : float, optional
            Instead, the threshold reaching this purity (best recall) or recall
            (best purity) on validation.
        description : str, optional
            What the training data are, stored with the model.
        freeze : {None, "features"}, optional
            ``"features"``: train only the last linear layer (the head); every other
            weight and the batch-normalisation statistics stay as they are. For
            fine-tuning on very few labels (`clusterfinder.classifier.freezing`).

        Returns
        -------
        `~astropy.table.QTable`
            The history: ``epoch``, ``train_loss``, ``val_loss``, ``val_f1``
            (at 0.5), ``val_auc``, ``learning_rate``, ``time``.

        Raises
        ------
        ValueError
            Labels that are not 0 or 1 (or of one class only in ``train``), bad
            options, and stamps the model cannot read or learn from (the message
            names them), all before training starts.
        FileExistsError
            ``checkpoint_dir`` holds ``epoch_*.pt`` files and ``overwrite`` is
            False.
        NotADirectoryError, PermissionError
            ``checkpoint_dir`` (or a parent) is a file, or cannot be written in.

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
        seed = self._seed if seed is None else torch_seed(seed)
        history, threshold, metrics, record = fit_classifier(
            self._model,
            self._transform,
            train,
            validation,
            arrays=self._arrays,
            threshold=self._threshold,
            seed=seed,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            class_weight=class_weight,
            patience=patience,
            augment=augment,
            device=device,
            progress_bar=progress_bar,
            checkpoint_dir=checkpoint_dir,
            overwrite=overwrite,
            threshold_strategy=threshold_strategy,
            target_purity=target_purity,
            target_recall=target_recall,
            description=description,
            freeze=freeze,
        )
        if self.training is not None:
            record["previous"] = self.training  # what the weights were trained on before
        self.threshold = threshold
        self.metrics, self.history, self.training = metrics, history, record
        return history

    def adapt(
        self,
        target,
        *,
        method="mmd",
        source=None,
        validation=None,
        epochs=3,
        batch_size=128,
        learning_rate=1e-4,
        mmd_weight=1.0,
        augment=True,
        device="auto",
        seed=None,
        progress_bar=False,
        description=None,
    ):
        """Adapt the model to a survey whose stamps carry no labels.

        See `clusterfinder.adaptation` and the "Adapting to a new survey" page of the
        documentation: ``"adabn"`` measures the batch-normalisation statistics again
        on ``target``; ``"mmd"`` trains further on labelled ``source`` stamps while
        aligning the features of source and target stamps. The model changes in place;
        ``training["adaptation"]`` (saved with the model) lists every adaptation.

        Parameters
        ----------
        target : `~clusterfinder.Cutout`
            Stamps of the new survey, as the model reads them (bands, scale, PSF
            columns for a seeing-aware model); labels, if any, are not used.
        method : {"mmd", "adabn"}, optional
            ``"mmd"`` (the default) closed 66 % of the F1 gap between a seeing-blind
            simulator-trained model and one trained on the target's own labels in
            benchmarks/bench_adaptation.py, ``"adabn"`` 27 %.
        source : `~clusterfinder.Cutout`, optional
            Labelled stamps of the domain the model was trained on (``"mmd"`` only,
            where it is required), e.g. from
            `clusterfinder.datasets.simulated_stamps`.
        validation : `~clusterfinder.Cutout`, optional
            Labelled stamps, best of the target survey: the threshold is chosen again on
            them (best F1). Without, the threshold is kept.
        epochs, batch_size, learning_rate : optional
            Passes over ``source``, stamps per batch, AdamW learning rate (``"mmd"``;
            ``batch_size`` also for ``"adabn"``).
        mmd_weight : float, optional
            Weight of the squared MMD against the classification loss (``"mmd"``).
        augment : bool, optional
            Rotations, flips and sub-pixel shifts of both batches (``"mmd"``).
        device : str or `torch.device`, optional
        seed : int or `numpy.random.Generator`, optional
            Default: the model's ``seed``.
        progress_bar : bool, optional
        description : str, optional
            What the target stamps are, stored with the model.

        Returns
        -------
        dict
            What was done (also appended to ``training["adaptation"]``).

        Raises
        ------
        ValueError
            An unknown method, ``"mmd"`` without ``source``, bad options, or stamps
            the model cannot read, before the model changes.

        Examples
        --------
        >>> import numpy as np
        >>> from clusterfinder import ClusterClassifier, Cutout
        >>> clf = ClusterClassifier("small_cnn", cutout_size=16)
        >>> rng = np.random.default_rng(0)
        >>> target = Cutout(rng.normal(50, 5, (32, 2, 16, 16)), bands=("g", "i"))
        >>> record = clf.adapt(target, method="adabn", device="cpu")
        >>> record["method"], record["n_target"], len(clf.training["adaptation"])
        ('adabn', 32, 1)
        """
        from ..adaptation.run import adapt_classifier

        threshold, record = adapt_classifier(
            self._model,
            self._transform,
            target,
            arrays=self._arrays,
            threshold=self._threshold,
            method=method,
            source=source,
            validation=validation,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            mmd_weight=mmd_weight,
            augment=augment,
            device=device,
            seed=self._seed if seed is None else torch_seed(seed),
            progress_bar=progress_bar,
            description=description,
        )
        self.threshold = threshold
        training = dict(self.training or {})
        training["adaptation"] = [*training.get("adaptation", []), record]
        self.training = training
        return record

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
        labels = check_labels(cutout, labels, "cutout")
        threshold = self._threshold if threshold is None else check_threshold(threshold)
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
        return model_metadata(self, architecture_options=self._options, seed=self._seed)

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
        return classifier_from_state(
            cls,
            state_dict,
            meta,
            source=str(path),
            bands=bands,
            pixel_scale=pixel_scale,
            cutout_size=cutout_size,
        )

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

    def find_candidates(
        self,
        images,
        sources=None,
        *,
        threshold=None,
        batch_size=256,
        device="auto",
        precision="auto",
        tile_size=4096,
        zero_points=None,
        progress_bar=False,
        keep_all=False,
    ):
        """Classify the sources of a set of images; the candidates as a catalogue.

        The same search as `clusterfinder.scan.find_candidates` with this model:
        the images are read tile by tile (memory-mapped when they are files), so
        they may be larger than memory. To search many fields, resumably, use
        `clusterfinder.scan.scan`.

        Parameters
        ----------
        images : dict
            Band -> FITS path, HDU, HDUList, `~astropy.nddata.NDData` or
            ``(array, WCS)``. Every band of the model (`bands`) must be a key; each
            image needs a celestial WCS and a photometric zero point (see
            ``zero_points``).
        sources : `~astropy.table.Table`, optional
            The sources to classify: a SkyCoord column ``coord`` (or ``ra`` and
            ``dec`` in degrees) and any other columns, which are kept. Sources off
            the image of the first band are skipped. If None, sources are detected
            on the images with `clusterfinder.detection.detect_sources`.
        threshold : float, optional
            Keep the sources with ``prob_cluster >= threshold``; this model's
            `threshold` by default.
        batch_size : int, optional
            Stamps per forward pass of the model.
        device : str, optional
            ``"auto"`` (a GPU when there is one), ``"cpu"``, ``"cuda"``...
        precision : {"auto", "float32", "bfloat16"}, optional
            The network's arithmetic (see `predict_proba`).
        tile_size : int, optional
            Side, in pixels of the first band, of the tiles in which the images are
            read (at least 16). The result does not depend on it.
        zero_points : float or dict, optional
            AB zero point of each band's image: one number for every band, or a
            dict band -> number; by default read from the header (``PHOTZP``,
            ``MAGZPT``, ``MAGZP``, ``ZEROPT``) or the NDData ``meta``. A FITS
            image without one is refused; an array or NDData without one is taken
            to be on 30 AB with an
            `~astropy.utils.exceptions.AstropyDeprecationWarning`.
        progress_bar : bool, optional
            Show a progress bar over the tiles.
        keep_all : bool, optional
            Return every source with its probability, not only the candidates.

        Returns
        -------
        `~clusterfinder.CandidateCatalog`
            One row per source kept: the source columns, ``x``, ``y``,
            ``prob_cluster``, ``flag_edge`` and ``flag_masked``; ``meta`` holds
            the provenance (model, threshold, images, the zero points used and
            where each came from). Empty, with a warning, when no source lies on
            the images.

        Raises
        ------
        TypeError
            If ``images`` is not a dict, or ``sources`` is not a table.
        ValueError
            If a band of the model is missing from ``images``, an option is out of
            range (``threshold``, ``batch_size``, ``tile_size``), or the images are
            not what the model reads (a pixel scale more than 2% from the model's,
            a header naming another band's filter), before any source is
            classified.

        Examples
        --------
        >>> import numpy as np
        >>> from astropy.table import QTable
        >>> from astropy.wcs import WCS
        >>> from clusterfinder import ClusterClassifier
        >>> wcs = WCS(naxis=2)
        >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        >>> wcs.wcs.crval, wcs.wcs.crpix = [10.68, 41.27], [40.5, 40.5]
        >>> wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
        >>> images = {b: (np.zeros((80, 80), np.float32), wcs) for b in ("g", "i")}
        >>> sources = QTable({"coord": wcs.pixel_to_world([20, 60], [30, 50])})
        >>> clf = ClusterClassifier("small_cnn", cutout_size=16)
        >>> cands = clf.find_candidates(images, sources, zero_points=30, device="cpu",
        ...                             keep_all=True)
        >>> len(cands), cands.meta["zero_points"]
        (2, {'g': 30.0, 'i': 30.0})
        """
        from ..scan import find_candidates

        return find_candidates(
            self,
            images,
            sources,
            threshold=threshold,
            batch_size=batch_size,
            device=device,
            precision=precision,
            tile_size=tile_size,
            zero_points=zero_points,
            progress_bar=progress_bar,
            keep_all=keep_all,
        )
