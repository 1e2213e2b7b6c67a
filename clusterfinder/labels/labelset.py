"""`LabelSet`: labelled sky positions (cluster or not) with their provenance.

A `LabelSet` wraps an `~astropy.table.QTable` with a `~astropy.coordinates.SkyCoord`
column ``coord`` and an integer column ``label`` (1: star cluster, 0: anything
else), plus optional ``mag_g``, ``mag_i``, ``source`` (catalogue of origin),
``name``, ``split`` and any other columns. It is built from catalogues
(`LabelSet.from_catalogs`), from the simulator's truth table
(`LabelSet.from_truth`) or from objects injected into real images
(`LabelSet.from_injection`), cut by magnitude and sky region (`LabelSet.select`),
balanced (`LabelSet.balance`) and split without leaks (`LabelSet.split`).
"""

import difflib
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table, vstack
from astropy.utils.decorators import deprecated_renamed_argument

from ..crossmatch import check_finite_coords
from ..simulate.config import CLUSTER_KINDS
from ..utils import ClusterFinderWarning
from ..utils.files import atomic_write
from ..utils.outputs import check_output_file
from ..utils.photometry import as_magnitude
from ..utils.rows import concatenation_items, merged_meta, row_index
from .balance import balance_indices
from .merge import merge_catalogs
from .region import in_region
from .split import SPLIT_NAMES, check_fractions, group_split, leak_groups

__all__ = ["LabelSet"]


class LabelSet:
    """Labelled sky positions: star clusters (label 1) and non-clusters (label 0).

    Parameters
    ----------
    table : `~astropy.table.QTable` or `~astropy.table.Table`
        One row per object, with a `~astropy.coordinates.SkyCoord` column
        ``coord`` and an integer (or boolean) column ``label`` holding only 0
        and 1. Other columns (``mag_g``, ``mag_i``, ``source``, ``name``,
        ``split``...) are kept. The table is copied.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder.labels import LabelSet
    >>> table = QTable({"coord": SkyCoord([10.0, 10.1, 10.2] * u.deg, [41.0] * 3 * u.deg),
    ...                 "label": [1, 0, 0], "mag_g": [19.5, 20.1, 22.3]})
    >>> labels = LabelSet(table)
    >>> labels
    <LabelSet: 3 objects (1 cluster, 2 non-clusters)>
    >>> labels.labels
    array([1, 0, 0], dtype=int8)
    >>> len(labels.select(mag_max={"g": 21}))
    2
    """

    def __init__(self, table):
        if isinstance(table, LabelSet):
            table = table.table
        if not isinstance(table, Table):
            raise TypeError(f"table must be an astropy QTable or Table; got {type(table).__name__}")
        missing = [c for c in ("coord", "label") if c not in table.colnames]
        if missing:
            raise ValueError(
                f"a LabelSet table needs the columns 'coord' (SkyCoord) and 'label' (0/1); "
                f"missing {missing}; found columns {table.colnames}"
            )
        table = QTable(table, copy=True)
        if not isinstance(table["coord"], SkyCoord):
            raise TypeError(
                f"column 'coord' must be a SkyCoord; got {type(table['coord']).__name__}"
            )
        if table["coord"].ndim != 1:
            raise ValueError("column 'coord' must be a one-dimensional SkyCoord")
        table["label"] = _check_labels(table["label"])
        self._table = table
        self._conflicts = None

    # -- basic access ---------------------------------------------------------------
    @property
    def table(self):
        """The underlying `~astropy.table.QTable` (not a copy)."""
        return self._table

    @property
    def coords(self):
        """Sky positions, a `~astropy.coordinates.SkyCoord` array."""
        return self._table["coord"]

    @property
    def labels(self):
        """Labels as an int8 `numpy.ndarray`: 1 cluster, 0 non-cluster."""
        return np.asarray(self._table["label"], dtype=np.int8)

    @property
    def meta(self):
        """The table's metadata (provenance, selection and split records)."""
        return self._table.meta

    @property
    def n_positive(self):
        """Number of clusters (label 1)."""
        return int(self.labels.sum())

    @property
    def n_negative(self):
        """Number of non-clusters (label 0)."""
        return len(self) - self.n_positive

    @property
    def conflicts(self):
        """Objects listed as both cluster and non-cluster by `from_catalogs` (or `None`)."""
        return self._conflicts

    def __len__(self):
        return len(self._table)

    def __getitem__(self, item):
        if isinstance(item, str):
            return self._table[item]
        return self._new(self._table[row_index(item, len(self), name="LabelSet", rows="objects")])

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def __repr__(self):
        n_pos, n_neg = self.n_positive, self.n_negative
        text = (
            f"<LabelSet: {len(self)} object{'s' if len(self) != 1 else ''} "
            f"({n_pos} cluster{'s' if n_pos != 1 else ''}, "
            f"{n_neg} non-cluster{'s' if n_neg != 1 else ''})"
        )
        if "split" in self._table.colnames and len(self):
            values, counts = np.unique(np.asarray(self._table["split"]), return_counts=True)
            text += "; split " + ", ".join(f"{v}: {c}" for v, c in zip(values, counts, strict=True))
        return text + ">"

    def _new(self, table):
        new = LabelSet.__new__(LabelSet)
        new._table = table
        new._conflicts = None
        return new

    # -- building ---------------------------------------------------------------------
    @classmethod
    @deprecated_renamed_argument("match_radius", "radius", "0.1")
    def from_catalogs(cls, positives=None, negatives=None, *, radius=1 * u.arcsec, conflict="drop"):
        """Build a label set by cross-matching catalogues of clusters and non-clusters.

        Entries closer than ``radius`` are merged into one object (chains
        of neighbours too: friends of friends); merged objects keep the names
        and catalogues of all their entries (``names``, ``sources``,
        ``n_merged``). An object given both as a cluster and a non-cluster is
        resolved by ``conflict``, reported by a
        `~clusterfinder.utils.ClusterFinderWarning` with the count, and listed
        in `LabelSet.conflicts`.

        Parameters
        ----------
        positives, negatives : table, list of tables or dict name -> table
            Catalogues (e.g. from `clusterfinder.labels.readers` or VizieR) with
            a SkyCoord column ``coord`` or RA/Dec columns; ``name`` and
            ``mag_*`` columns are carried over.
        radius : `~astropy.units.Quantity`
            Largest separation between two entries of one object (an angle). It was
            called ``match_radius`` before version 0.1: that name still works, with an
            `~astropy.utils.exceptions.AstropyDeprecationWarning`.
        conflict : {'drop', 'positive', 'negative'}
            Drop conflicting objects, or keep them with label 1 or label 0.

        Returns
        -------
        `LabelSet`

        Examples
        --------
        >>> import astropy.units as u
        >>> from clusterfinder.labels import LabelSet
        >>> from clusterfinder.labels.readers import read_caldwell2011, read_rbc
        >>> labels = LabelSet.from_catalogs([read_caldwell2011(), read_rbc()],
        ...                                 radius=2 * u.arcsec)
        >>> labels
        <LabelSet: 632 objects (632 clusters, 0 non-clusters)>
        >>> int((labels.table["n_merged"] > 1).sum())
        353
        >>> row = labels[labels["name"] == "B225-G280"]
        >>> str(row["names"][0]), str(row["sources"][0])
        ('B225-G280; Bol225/SKHB280', 'Caldwell2011; RBCv5')
        """
        table, conflicts = merge_catalogs(positives, negatives, radius=radius, conflict=conflict)
        new = cls(table)
        new._conflicts = conflicts
        return new

    @classmethod
    @deprecated_renamed_argument("label_sets", "items", "0.1")
    def concatenate(cls, items):
        """Join label sets row by row (e.g. real and simulated labels).

        Columns missing from some inputs are masked there; nothing is merged (use
        `from_catalogs` to merge duplicates). `Cutout.concatenate
        <clusterfinder.Cutout.concatenate>` and `CandidateCatalog.concatenate
        <clusterfinder.CandidateCatalog.concatenate>` join their objects the same way.

        Parameters
        ----------
        items : sequence of `LabelSet`
            At least one. Before version 0.1 this argument was called
            ``label_sets``: that keyword still works, with an
            `~astropy.utils.exceptions.AstropyDeprecationWarning`.

        Returns
        -------
        `LabelSet`
            The rows of ``items`` one after the other. Its ``meta`` merges those of
            ``items``: a value they share is kept once, and where they differ the
            last one wins.

        Raises
        ------
        TypeError
            If ``items`` is not a sequence, or one of them is not a `LabelSet`.
        ValueError
            If ``items`` is empty, or a column cannot be joined (e.g. ``coord`` in
            different frames).

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder.labels import LabelSet
        >>> a = LabelSet(QTable({"coord": SkyCoord([1] * u.deg, [2] * u.deg), "label": [1]}))
        >>> LabelSet.concatenate([a, a[[0, 0]]])
        <LabelSet: 3 objects (3 clusters, 0 non-clusters)>
        """
        items = concatenation_items(items, LabelSet)
        try:
            table = vstack([item.table for item in items], metadata_conflicts="silent")
        except Exception as exc:  # astropy raises several types for mixin conflicts
            raise ValueError(f"cannot concatenate the label sets: {exc}") from exc
        table.meta = merged_meta(item.meta for item in items)
        return cls(table)

    @classmethod
    def from_truth(cls, truth, *, positive_kinds=None, kinds=None):
        """Build a label set from the simulator's truth table.

        Parameters
        ----------
        truth : `~astropy.table.QTable`
            A truth table with the columns ``coord`` and ``kind`` (and usually
            ``mag_g``, ``mag_i``), as written by `clusterfinder.simulate`.
        positive_kinds : str or sequence of str, optional
            Kinds labelled 1 (clusters); every other kind is labelled 0. By default
            `clusterfinder.simulate.CLUSTER_KINDS` (young and old clusters), as
            everywhere in the package; before version 0.1 only young clusters were,
            and a call that leaves this out on a truth table with old clusters warns
            (a `FutureWarning`). A kind that is
            neither one of the simulator's (``young_cluster``, ``old_cluster``,
            ``mw_star``, ``m31_star``, ``asterism``, ``galaxy``, ``hii_region``) nor
            present in ``truth`` is refused (a typo would otherwise label nothing).
        kinds : sequence of str, optional
            Keep only objects of these kinds (by default all of them); unknown kinds are
            refused as for ``positive_kinds``.

        Returns
        -------
        `LabelSet`
            Every column of ``truth`` plus ``label`` and ``source``
            (``"truth"``); ``name`` is the row number when truth has none.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder.labels import LabelSet
        >>> truth = QTable({"coord": SkyCoord([10.0, 10.1, 10.2] * u.deg, [41.0] * 3 * u.deg),
        ...                 "kind": ["young_cluster", "mw_star", "galaxy"],
        ...                 "mag_g": [20.0, 19.0, 22.0], "mag_i": [19.8, 18.1, 21.0]})
        >>> LabelSet.from_truth(truth)
        <LabelSet: 3 objects (1 cluster, 2 non-clusters)>
        >>> LabelSet.from_truth(truth, kinds=["young_cluster", "galaxy"]).labels
        array([1, 0], dtype=int8)
        """
        if not isinstance(truth, Table):
            raise TypeError(f"truth must be an astropy QTable; got {type(truth).__name__}")
        missing = [c for c in ("coord", "kind") if c not in truth.colnames]
        if missing:
            raise ValueError(
                f"truth needs the columns 'coord' and 'kind'; missing {missing}; "
                f"found columns {truth.colnames}"
            )
        kind = np.char.strip(np.asarray(truth["kind"], dtype=str))
        present = sorted({str(k) for k in kind})
        default_positives = positive_kinds is None
        if default_positives:
            positive_kinds = CLUSTER_KINDS
        positive_kinds = _check_kinds(positive_kinds, "positive_kinds", present)
        table = QTable(truth, copy=True)
        if "name" not in table.colnames:
            table["name"] = np.array([str(k) for k in range(len(table))])
        if kinds is not None:
            kinds = _check_kinds(kinds, "kinds", present)
            unknown = sorted(set(kinds) - set(kind))
            keep = np.isin(kind, list(kinds))
            if not keep.any():
                raise ValueError(
                    f"no object of kinds {list(kinds)} in truth; kinds present: {present}"
                )
            table = table[keep]
            kind = kind[keep]
            table.meta["kinds_absent"] = unknown
        if default_positives and "old_cluster" in kind:
            warnings.warn(
                "LabelSet.from_truth labels young and old clusters 1 by default "
                "(clusterfinder.simulate.CLUSTER_KINDS), as the rest of the package does; "
                "earlier versions labelled only young clusters. Pass "
                "positive_kinds=('young_cluster',) for that, or positive_kinds="
                "CLUSTER_KINDS to silence this warning",
                FutureWarning,
                stacklevel=2,
            )
        table["label"] = np.isin(kind, list(positive_kinds)).astype(np.int8)
        table["source"] = np.full(len(table), "truth")
        table.meta["positive_kinds"] = list(positive_kinds)
        return cls(table)

    @classmethod
    def from_injection(
        cls, truth, sources=None, *, positive_kinds=CLUSTER_KINDS,
        radius=1 * u.arcsec, real_label=0,
    ):  # fmt: skip
        """Build a label set from objects injected into real images and their real sources.

        The injected objects (the truth of `clusterfinder.simulate.inject`) are labelled by
        kind: clusters 1, asterisms and stars 0. The real sources (a catalogue of the images, or the
        detections on them) are added as the background: each keeps its own label when it
        has one (a `LabelSet`, or a table with a ``label`` column), else gets
        ``real_label`` with ``label_known`` False (most real sources are not clusters, but
        that is not known for each one). Real sources within ``radius`` of an
        injected object are dropped: a detection there is most likely the injected object
        itself.

        Parameters
        ----------
        truth : `~astropy.table.QTable`
            The truth table of `~clusterfinder.simulate.inject`.
        sources : None, `~astropy.coordinates.SkyCoord`, table or `LabelSet`, optional
            The real sources (positions, a table with a SkyCoord column ``coord``, or a
            label set).
        positive_kinds : str or sequence of str, optional
            Injected kinds labelled 1.
        radius : `~astropy.units.Quantity`, optional
            Real sources closer than this to an injected object are dropped.
        real_label : {0, 1}, optional
            Label of real sources that have none.

        Returns
        -------
        `LabelSet`
            Injected rows first (``source`` ``"injected"``, ``injected`` True), then the
            real ones (``injected`` False); ``label_known`` tells labels that are known
            from defaults.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder.labels import LabelSet
        >>> truth = QTable({"coord": SkyCoord([10.0, 10.01] * u.deg, [41.0] * 2 * u.deg),
        ...                 "kind": ["young_cluster", "asterism"], "mag_g": [20.0, 21.0]})
        >>> detected = SkyCoord([10.0, 10.02, 10.03] * u.deg, [41.0] * 3 * u.deg)
        >>> labels = LabelSet.from_injection(truth, detected)
        >>> labels  # the detection on the injected cluster is dropped
        <LabelSet: 4 objects (1 cluster, 3 non-clusters)>
        >>> labels["label_known"].tolist()
        [True, True, False, False]
        """
        from .injected import injection_table

        injected, real = injection_table(
            truth, sources, positive_kinds=positive_kinds, radius=radius,
            real_label=real_label,
        )  # fmt: skip
        if real is None:
            return cls(injected)
        joined = vstack([injected, real], metadata_conflicts="silent")
        joined.meta.update(injected.meta)
        return cls(joined)

    # -- selection ----------------------------------------------------------------------
    def select(self, *, mag_max=None, mag_min=None, region=None, label=None, keep_unknown=False):
        """Objects within magnitude limits, a sky region and/or of one label.

        Parameters
        ----------
        mag_max, mag_min : dict band -> float, optional
            Keep objects with ``mag_<band> <= mag_max[band]`` (and
            ``>= mag_min[band]``), e.g. ``mag_max={"g": 21}``. A limit may also be
            a Quantity in ``u.mag`` or ``u.ABmag`` (``{"g": 21 * u.ABmag}``).
        region : `regions.SkyRegion` or `~astropy.coordinates.SkyCoord`, optional
            Keep objects inside a sky region, or inside the polygon whose
            vertices are the given SkyCoord (at least 3).
        label : {0, 1}, optional
            Keep only this class.
        keep_unknown : bool, optional
            Keep objects with no magnitude in a cut band (masked or NaN);
            dropped by default.

        Returns
        -------
        `LabelSet`
            The selected rows; ``meta["selection"]`` records the cuts.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from regions import CircleSkyRegion
        >>> from clusterfinder.labels import LabelSet
        >>> from clusterfinder.labels.readers import read_phat_ap
        >>> phat = LabelSet.from_catalogs([read_phat_ap()])
        >>> len(phat.select(mag_max={"g": 21}))
        881
        >>> circle = CircleSkyRegion(SkyCoord(11.4, 41.7, unit="deg"), 5 * u.arcmin)
        >>> len(phat.select(region=circle))
        85
        """
        keep = np.ones(len(self), dtype=bool)
        record = []
        for limits, compare, word in (
            (mag_max, np.less_equal, "<="),
            (mag_min, np.greater_equal, ">="),
        ):
            if limits is None:
                continue
            if not isinstance(limits, dict):
                raise TypeError(
                    f"mag_max and mag_min must be dicts band -> magnitude, e.g. {{'g': 21}}; "
                    f"got {limits!r}"
                )
            for band, limit in limits.items():
                column = f"mag_{band}"
                if column not in self._table.colnames:
                    raise ValueError(
                        f"no column {column!r} for a magnitude cut in band {band!r}; "
                        f"magnitude columns present: "
                        f"{[c for c in self._table.colnames if c.startswith('mag_')]}"
                    )
                limit = as_magnitude(limit, f"{'mag_max' if word == '<=' else 'mag_min'}[{band!r}]")
                mags = _plain_magnitudes(self._table[column])
                known = np.isfinite(mags)
                with np.errstate(invalid="ignore"):
                    passes = compare(mags, limit)
                keep &= np.where(known, passes, keep_unknown)
                record.append(f"{column} {word} {limit}")
        if region is not None:
            keep &= in_region(self.coords, region)
            record.append(f"region {type(region).__name__}")
        if label is not None:
            if label not in (0, 1):
                raise ValueError(f"label must be 0 or 1; got {label!r}")
            keep &= self.labels == label
            record.append(f"label == {label}")
        new = self._new(self._table[keep])
        new.meta["selection"] = [*self.meta.get("selection", []), *record]
        return new

    def balance(self, strategy="undersample", *, ratio=1.0, seed=0):
        """Balance the classes by undersampling, oversampling or weights.

        See `clusterfinder.labels.balance` for the exact rules.

        Parameters
        ----------
        strategy : {'undersample', 'oversample', 'weights'}
            Drop members of the larger class, repeat members of the smaller
            one, or add a ``weight`` column.
        ratio : float
            Wanted number of non-clusters per cluster.
        seed : None, int or `numpy.random.Generator`
            Seeds the draws; the same seed gives the same rows.

        Returns
        -------
        `LabelSet`

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder.labels import LabelSet
        >>> table = QTable({"coord": SkyCoord(range(6) * u.deg, [0] * 6 * u.deg),
        ...                 "label": [1, 0, 0, 0, 0, 0]})
        >>> LabelSet(table).balance("undersample", ratio=2, seed=0)
        <LabelSet: 3 objects (1 cluster, 2 non-clusters)>
        >>> LabelSet(table).balance("oversample", ratio=1, seed=0)
        <LabelSet: 10 objects (5 clusters, 5 non-clusters)>
        """
        index, weights = balance_indices(self.labels, strategy=strategy, ratio=ratio, seed=seed)
        new = self._new(self._table[index])
        if strategy == "weights":
            new.table["weight"] = weights
        new.meta["balance"] = {"strategy": strategy, "ratio": float(ratio)}
        return new

    def split(self, fractions=(0.7, 0.15, 0.15), *, radius=5 * u.arcsec, block_size=None, seed=0):
        """Split into train, validation (and test) sets that do not leak.

        Objects closer than ``radius`` to each other (chains too), and objects
        in one sky block of side ``block_size`` if given, always go to the same
        part; groups are dealt so that each part gets about its fraction of each
        class (see `clusterfinder.labels.split`).

        Parameters
        ----------
        fractions : sequence of float
            Fractions of (train, validation, test), or of (train, test); they
            must sum to 1.
        radius : `~astropy.units.Quantity`
            Sources closer than this stay together (an angle).
        block_size : `~astropy.units.Quantity`, optional
            Side of square sky blocks kept whole (an angle).
        seed : None, int or `numpy.random.Generator`
            Seeds the order in which groups are dealt.

        Returns
        -------
        tuple of `LabelSet`
            One per fraction, each with a ``split`` column (``"train"``,
            ``"validation"``, ``"test"``, or ``"train"``/``"test"`` for two
            fractions) and ``meta["split"]`` recording the fractions reached.

        Raises
        ------
        ValueError
            If a position is not finite (NaN), or if a part with a non-zero fraction
            would be empty (too few objects, or too few groups of neighbours, for the
            parts asked for). A fraction of 0 gives an empty part, as asked.

        Warns
        -----
        `~clusterfinder.utils.ClusterFinderWarning`
            When a non-empty part lacks one of the classes that the label set holds
            (e.g. a test set without a cluster), naming the part and its counts.

        Examples
        --------
        >>> import astropy.units as u
        >>> from clusterfinder.labels import LabelSet
        >>> from clusterfinder.labels.readers import read_phat_ap
        >>> phat = LabelSet.from_catalogs([read_phat_ap()])
        >>> train, validation, test = phat.split((0.7, 0.15, 0.15), radius=5 * u.arcsec, seed=0)
        >>> len(train), len(validation), len(test)
        (1034, 222, 221)
        """
        values = check_fractions(fractions)
        names = SPLIT_NAMES if len(values) == 3 else (SPLIT_NAMES[0], SPLIT_NAMES[2])
        if len(self) == 0:
            raise ValueError("cannot split an empty LabelSet")
        check_finite_coords(self.coords, "the LabelSet to split (column 'coord')")
        groups = leak_groups(self.coords, radius=radius, block_size=block_size)
        assignment = group_split(groups, self.labels, values, seed=seed)
        counts = np.bincount(assignment, minlength=len(values))
        _check_parts(names, values, counts, assignment, self.labels, groups, radius)
        reached = counts / len(self)
        record = {
            "fractions": [float(v) for v in values],
            "reached": [float(v) for v in reached],
            "radius": str(u.Quantity(radius)),
            "block_size": None if block_size is None else str(u.Quantity(block_size)),
            "seed": seed if isinstance(seed, (int, type(None))) else "generator",
        }
        parts = []
        for k, name in enumerate(names):
            part = self._new(self._table[assignment == k])
            part.table["split"] = np.full(len(part), name)
            part.meta["split"] = dict(record, part=name)
            parts.append(part)
        return tuple(parts)

    # -- input/output -------------------------------------------------------------------
    def write(self, path, *, overwrite=False):
        """Write the label set to an ECSV file (atomically).

        The table with its ``meta`` (provenance, selection and split records) is
        written as astropy writes ECSV: the ``coord`` column keeps its frame.

        Parameters
        ----------
        path : str or `~pathlib.Path`
            Output file (``.ecsv``).
        overwrite : bool, optional
            Replace an existing file. Otherwise an existing ``path`` is refused and
            left as it is.

        Raises
        ------
        FileExistsError
            If ``path`` exists and ``overwrite`` is False (the message names
            ``overwrite=True``). Before version 0.1 this was a plain `OSError`, of
            which `FileExistsError` is a subclass.
        IsADirectoryError, FileNotFoundError, NotADirectoryError, PermissionError
            If ``path`` is a folder, or its folder is missing, not a folder or not
            writable.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder.labels import LabelSet
        >>> labels = LabelSet(QTable({"coord": SkyCoord([1, 2] * u.deg, [3, 4] * u.deg),
        ...                           "label": [1, 0]}))
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "labels.ecsv"
        ...     labels.write(path)
        ...     LabelSet.read(path)
        <LabelSet: 2 objects (1 cluster, 1 non-cluster)>
        """
        path = check_output_file(Path(path), overwrite=overwrite, name="LabelSet.write")
        atomic_write(path, lambda tmp: self._table.write(tmp, format="ascii.ecsv", overwrite=True))

    @classmethod
    def read(cls, path):
        """Read a label set written by `LabelSet.write` (or any ECSV with coord/label).

        Parameters
        ----------
        path : str or `~pathlib.Path`
            An ECSV file.

        Returns
        -------
        `LabelSet`
            With the columns and the ``meta`` of the file.

        Raises
        ------
        FileNotFoundError
            If there is no such file.
        IsADirectoryError
            If ``path`` is a folder.
        ValueError
            If the file is not an ECSV table (binary, truncated, another format) or
            lacks the ``coord`` and ``label`` columns of a label set.
        TypeError
            If its ``coord`` column is not a `~astropy.coordinates.SkyCoord` or its
            labels are not integers.

        Examples
        --------
        >>> from clusterfinder.labels import LabelSet
        >>> LabelSet.read("no-such-labels.ecsv")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no such file: no-such-labels.ecsv
        """
        if Path(path).is_dir():
            raise IsADirectoryError(f"{path} is a folder; give a LabelSet ECSV file")
        if not Path(path).is_file():
            raise FileNotFoundError(f"no such file: {path}")
        try:
            table = QTable.read(path, format="ascii.ecsv")
        except UnicodeDecodeError:
            raise ValueError(
                f"cannot read {path} as a LabelSet: it is not text (a binary file?); expected "
                "an ECSV table written by LabelSet.write"
            ) from None
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ValueError(
                f"cannot read {path} as a LabelSet: {reason}; expected an ECSV table written "
                "by LabelSet.write (a truncated or foreign file?)"
            ) from None
        try:
            return cls(table)
        except TypeError as exc:
            raise TypeError(f"{path} is not a LabelSet file: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{path} is not a LabelSet file: {exc}") from None


def _plain_magnitudes(column):
    """Float magnitudes (NaN where masked) of a column: plain, masked, mag or ABmag."""
    values = column
    if isinstance(values, u.Quantity):
        mask = getattr(values, "mask", None)
        data = np.array(getattr(values, "unmasked", values).value, dtype=float)
        if mask is not None:
            data[np.asarray(mask)] = np.nan
        return data
    return np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)


def _check_parts(names, fractions, counts, assignment, labels, groups, radius):
    """Refuse empty parts that were asked for; warn of parts that lack a class."""
    for name, fraction, count in zip(names, fractions, counts, strict=True):
        if fraction > 0 and count == 0:
            n_groups = len(np.unique(groups))
            raise ValueError(
                f"LabelSet.split: part {name!r} (fraction {fraction:g}) would get no object: "
                f"the {len(labels)} objects form {n_groups} group(s) that stay whole "
                f"(neighbours within radius={u.Quantity(radius)} and any sky block), too few "
                f"for fractions {[float(f) for f in fractions]}; give more objects, fewer "
                "parts (two fractions) or a larger fraction to this part"
            )
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    lacking = []
    for k, (name, count) in enumerate(zip(names, counts, strict=True)):
        if count == 0:
            continue
        pos = int(labels[assignment == k].sum())
        neg = int(count) - pos
        if (pos == 0 and n_pos) or (neg == 0 and n_neg):
            lacking.append(f"{name!r} has {pos} cluster(s) and {neg} non-cluster(s)")
    if lacking:
        warnings.warn(
            f"LabelSet.split: part {'; part '.join(lacking)} (the LabelSet has {n_pos} "
            f"cluster(s) and {n_neg} non-cluster(s)); a model cannot be trained or scored on "
            "a part without both classes: give more objects or other fractions",
            ClusterFinderWarning,
            stacklevel=3,
        )


def _check_kinds(kinds, name, present):
    """``kinds`` as a tuple of str; names neither simulated nor in the truth are refused."""
    if isinstance(kinds, str):
        kinds = (kinds,)
    try:
        kinds = tuple(kinds)
    except TypeError:
        raise TypeError(f"{name} must be a kind or a sequence of kinds; got {kinds!r}") from None
    if not kinds or not all(isinstance(k, str) for k in kinds):
        raise TypeError(f"{name} must be a kind or a non-empty sequence of kinds; got {kinds!r}")
    from ..simulate.config import KINDS

    known = list(KINDS) + [k for k in present if k not in KINDS]
    unknown = [k for k in kinds if k not in known]
    if unknown:
        hints = [difflib.get_close_matches(k, known, n=1) for k in unknown]
        hint = "; ".join(
            f"{k!r}: did you mean {h[0]!r}?" for k, h in zip(unknown, hints, strict=True) if h
        )
        raise ValueError(
            f"{name} names unknown kind(s) {unknown}; the known kinds are "
            f"{', '.join(known)}" + (f" ({hint})" if hint else "")
        )
    return kinds


def _check_labels(column):
    values = np.ma.asarray(column)
    if np.ma.getmaskarray(values).any():
        raise ValueError("column 'label' has missing (masked) values; every row needs 0 or 1")
    values = np.asarray(values)
    if values.dtype.kind == "b":
        return values.astype(np.int8)
    if values.dtype.kind not in "iuf":
        raise TypeError(f"column 'label' must hold integers 0 or 1; got dtype {values.dtype}")
    bad = ~np.isin(values, (0, 1))
    if bad.any():
        raise ValueError(
            f"column 'label' must hold only 0 (not a cluster) and 1 (cluster); "
            f"found {sorted(set(np.unique(values[bad]).tolist()))[:5]}"
        )
    return values.astype(np.int8)
