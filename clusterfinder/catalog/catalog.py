"""The candidate catalogue: the table that a cluster search hands to its users.

`CandidateCatalog` is an `~astropy.table.QTable` with a `~astropy.coordinates.SkyCoord`
column ``coord`` and the probability ``prob_cluster`` that each source is a star
cluster, plus magnitudes (``mag_<band>``, ``magerr_<band>``), quality flags and the
provenance of the search in ``meta``. Its methods cover what happens to a list of
candidates after a scan: merging duplicates, cross-matching with known catalogues,
cutting on galactocentric radius, export to ECSV/FITS/VOTable and to region files,
and a sky map.
"""

import datetime
import importlib.metadata
import warnings
from collections.abc import Mapping

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io.registry import UnifiedReadWriteMethod
from astropy.table import QTable, Table, vstack
from astropy.utils.exceptions import AstropyDeprecationWarning

from ..galaxy import M31, GalaxyGeometry
from ..utils import ClusterFinderWarning
from ..utils.meta import meta_to_json
from ..utils.photometry import as_magnitude
from ..utils.rows import concatenation_items, merged_meta, row_index
from ..utils.validation import check_threshold
from .io import CatalogRead, CatalogWrite, register_catalog_formats

__all__ = ["FLAG_COLUMNS", "REQUIRED_COLUMNS", "CandidateCatalog", "provenance"]

#: Columns every candidate catalogue must hold.
REQUIRED_COLUMNS = ("coord", "prob_cluster")

#: The quality flags, boolean columns (True = the problem is present). A catalogue may
#: carry any subset of them; their meaning is fixed across the package.
FLAG_COLUMNS = {
    "flag_edge": "the stamp or the photometric aperture reaches past the image edge",
    "flag_masked": "the stamp or the aperture holds invalid (masked or NaN) pixels",
    "flag_saturated": "a pixel of the aperture is at or above the saturation level",
    "flag_blended": "the source was split from a larger segment by deblending",
    "flag_faint": "the source is fainter than every source the model was trained on",
}

#: Names of the packages whose versions are recorded in the provenance.
_VERSIONED_PACKAGES = ("clusterfinder", "astropy", "numpy", "torch", "photutils")


def _package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def provenance(*, threshold=None, weights=None, weights_sha256=None, images=None):
    """Return the provenance record stored in a candidate catalogue's ``meta``.

    Parameters
    ----------
    threshold : float, optional
        The probability threshold of the classifier that produced the catalogue.
    weights : str, optional
        Name (or path) of the model weights.
    weights_sha256 : str, optional
        SHA-256 digest of the weights file.
    images : dict or list of str, optional
        The images searched (e.g. band -> file name).

    Returns
    -------
    dict
        Plain Python values only, so that every output format can store it:
        ``date_utc`` (ISO 8601), ``<package>_version`` for clusterfinder, astropy,
        numpy, torch and photutils (None when not installed), and the arguments.

    Raises
    ------
    TypeError
        If ``threshold`` is not a number.
    ValueError
        If ``threshold`` lies outside [0, 1] or is not finite.

    Examples
    --------
    >>> from clusterfinder.catalog import provenance
    >>> record = provenance(threshold=0.669, weights="resnet50-pandas")
    >>> record["threshold"], record["weights"]
    (0.669, 'resnet50-pandas')
    >>> record["date_utc"].endswith("+00:00")
    True
    """
    record = {"date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    for name in _VERSIONED_PACKAGES:
        record[f"{name}_version"] = _package_version(name)
    if threshold is not None:
        record["threshold"] = check_threshold(threshold)
    if weights is not None:
        record["weights"] = str(weights)
    if weights_sha256 is not None:
        record["weights_sha256"] = str(weights_sha256)
    if images is not None:
        if isinstance(images, dict):
            record["images"] = {str(key): str(value) for key, value in images.items()}
        elif isinstance(images, (str, bytes)):
            record["images"] = [str(images)]
        else:
            record["images"] = [str(value) for value in images]
    return record


def _check_quantity(value, name, physical_type):
    if not isinstance(value, u.Quantity) or value.unit.physical_type != physical_type:
        raise TypeError(f"{name} must be a Quantity with {physical_type} units; got {value!r}")
    if not value.isscalar or not np.isfinite(value.value) or value.value < 0:
        raise ValueError(f"{name} must be a finite, non-negative scalar; got {value}")
    return value


def _as_plain(values, unit=None):
    """Return a column's values as a plain float array (Quantity -> value in ``unit``)."""
    if isinstance(values, u.Quantity):
        return values.to_value(unit) if unit is not None else values.value
    return np.asarray(values, dtype=float)


class CandidateCatalog(QTable):
    """Star-cluster candidates: a `~astropy.table.QTable` with positions and probabilities.

    Build one with `CandidateCatalog.from_table` (which checks the columns and records
    the provenance), or read one with `CandidateCatalog.read`. Any table operation
    (slicing, boolean masks, `~astropy.table.vstack`, sorting) keeps the class.

    Columns: ``coord`` (`~astropy.coordinates.SkyCoord`) and ``prob_cluster`` (0-1) are
    required; magnitudes ``mag_<band>`` and ``magerr_<band>`` (AB) and the boolean
    flags of `FLAG_COLUMNS` are expected where known. Methods add ``n_detections``
    (`deduplicate`), ``known_<name>``, ``name_<name>``, ``sep_<name>``, ``known``,
    ``status`` (`crossmatch`), ``r_proj`` and ``r_deproj`` (`select_radius`).

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder import CandidateCatalog
    >>> table = QTable({"coord": SkyCoord([10.68, 10.70] * u.deg, [41.27, 41.30] * u.deg),
    ...                 "prob_cluster": [0.92, 0.31], "mag_g": [19.8, 21.4]})
    >>> cands = CandidateCatalog.from_table(table, threshold=0.669)
    >>> len(cands), cands.meta["threshold"]
    (2, 0.669)
    >>> type(cands[cands["prob_cluster"] > 0.5]).__name__
    'CandidateCatalog'
    >>> len(cands.above_threshold())
    1
    """

    @classmethod
    def from_table(
        cls,
        table,
        *,
        threshold=None,
        weights=None,
        weights_sha256=None,
        images=None,
        meta=None,
    ):
        """Check a table of candidates and wrap it, with provenance, as a catalogue.

        Parameters
        ----------
        table : `~astropy.table.Table` or `~astropy.table.QTable`
            Must hold ``coord`` (a `~astropy.coordinates.SkyCoord`; columns ``ra`` and
            ``dec`` in degrees are turned into one) and ``prob_cluster``. The table is
            copied.
        threshold : float, optional
            The probability threshold of the classifier that made the candidates
            (between 0 and 1).
        weights : str, optional
            Name (or path) of the model weights.
        weights_sha256 : str, optional
            SHA-256 digest of the weights file.
        images : dict or list of str, optional
            The images searched (e.g. band -> file name).
        meta : dict, optional
            Further metadata, merged last.

        Returns
        -------
        `CandidateCatalog`
            A copy of ``table``. Its ``meta`` is the `provenance` record (date and
            package versions), then ``table.meta``, then ``threshold``, ``weights``,
            ``weights_sha256`` and ``images`` where given, then ``meta``.

        Raises
        ------
        TypeError
            If ``table`` is not a table or ``coord`` is not a SkyCoord, or
            ``threshold`` is not a number.
        ValueError
            If required columns are missing, the probabilities lie outside 0-1, a flag
            column is not boolean, or ``threshold`` lies outside 0-1.

        Examples
        --------
        >>> from astropy.table import Table
        >>> from clusterfinder import CandidateCatalog
        >>> table = Table({"ra": [10.68], "dec": [41.27], "prob_cluster": [0.92]})
        >>> cands = CandidateCatalog.from_table(table, threshold=0.669, weights="v2")
        >>> cands.colnames, cands.meta["weights"]
        (['coord', 'prob_cluster'], 'v2')
        """
        if not isinstance(table, Table):
            raise TypeError(f"table must be an astropy Table or QTable; got {type(table).__name__}")
        data = QTable(table, copy=True)
        if "coord" not in data.colnames and {"ra", "dec"} <= set(data.colnames):
            ra = data["ra"] if isinstance(data["ra"], u.Quantity) else data["ra"] * u.deg
            dec = data["dec"] if isinstance(data["dec"], u.Quantity) else data["dec"] * u.deg
            data.add_column(SkyCoord(ra, dec, frame="icrs"), name="coord", index=0)
            data.remove_columns(["ra", "dec"])
        record = provenance()
        record.update(dict(table.meta))
        explicit = provenance(
            threshold=threshold, weights=weights, weights_sha256=weights_sha256, images=images
        )
        for key in ("threshold", "weights", "weights_sha256", "images"):
            if key in explicit:
                record[key] = explicit[key]
        record.update(meta or {})
        data.meta = record
        catalog = cls(data, copy=False)
        catalog.validate()
        return catalog

    def validate(self):
        """Check the required columns and their types; raise if something is wrong.

        `from_table`, `read` and `write` call it; call it yourself after changing
        columns by hand.

        Returns
        -------
        None

        Raises
        ------
        ValueError
            If ``coord`` or ``prob_cluster`` is missing, a probability lies outside
            [0, 1], or a flag column is not boolean.
        TypeError
            If ``coord`` is not a SkyCoord.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog
        >>> cands = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([10.6] * u.deg, [41.2] * u.deg), "prob_cluster": [0.9]}))
        >>> cands["prob_cluster"][0] = 1.5
        >>> cands.validate()
        Traceback (most recent call last):
        ...
        ValueError: column 'prob_cluster' must lie in [0, 1]; 1 value(s) do not (first: 1.5)
        """
        missing = [name for name in REQUIRED_COLUMNS if name not in self.colnames]
        if missing:
            raise ValueError(
                f"a candidate catalogue needs the column(s) {', '.join(missing)}; "
                f"the table has {', '.join(self.colnames) or 'no columns'}"
            )
        if not isinstance(self["coord"], SkyCoord):
            raise TypeError(
                f"column 'coord' must be a SkyCoord; got {type(self['coord']).__name__}"
            )
        prob = _as_plain(self["prob_cluster"])
        bad = np.isfinite(prob) & ((prob < 0) | (prob > 1))
        if np.any(bad):
            raise ValueError(
                f"column 'prob_cluster' must lie in [0, 1]; {int(bad.sum())} value(s) do not "
                f"(first: {prob[bad][0]})"
            )
        for name in self.colnames:
            if name.startswith("flag_") and np.asarray(self[name]).dtype != bool:
                raise ValueError(f"flag column {name!r} must be boolean")

    # -- rows ------------------------------------------------------------------------

    def __getitem__(self, item):
        # Column names and single rows go to QTable as they are (an int gives a Row,
        # as for every astropy table); every other index is checked as the indices of
        # Cutout and LabelSet are, so that a bad one is a TypeError or IndexError.
        if isinstance(item, str):
            return self.columns[item]  # what QTable does, without a second call
        if isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            return super().__getitem__(item)
        if isinstance(item, np.ndarray) and item.shape == () and item.dtype.kind in "iu":
            return super().__getitem__(int(item))
        if self._is_list_or_tuple_of_str(item):
            return super().__getitem__(item)
        return super().__getitem__(
            row_index(item, len(self), name="CandidateCatalog", rows="candidates")
        )

    @classmethod
    def concatenate(cls, items):
        """Join candidate catalogues row by row (e.g. the catalogues of several fields).

        Columns missing from some inputs are masked there; nothing is merged (use
        `deduplicate` for sources seen twice). `Cutout.concatenate
        <clusterfinder.Cutout.concatenate>` and `LabelSet.concatenate
        <clusterfinder.LabelSet.concatenate>` join their objects the same way.

        Parameters
        ----------
        items : sequence of `CandidateCatalog`
            At least one.

        Returns
        -------
        `CandidateCatalog`
            The rows of ``items`` one after the other. Its ``meta`` merges those of
            ``items``: a value they share is kept once, and where they differ the
            last one wins; then ``meta["parts"]`` keeps the ``meta`` of each input,
            in order, so that no provenance is lost.

        Raises
        ------
        TypeError
            If ``items`` is not a sequence, or one of them is not a
            `CandidateCatalog`.
        ValueError
            If ``items`` is empty, or a column cannot be joined (e.g. ``coord`` in
            different frames).

        Warns
        -----
        `~clusterfinder.utils.ClusterFinderWarning`
            When the inputs were made with different thresholds (``meta["threshold"]``):
            `above_threshold` of the result uses the last one.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog
        >>> field1 = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([10.6, 10.7] * u.deg, [41.2, 41.3] * u.deg),
        ...     "prob_cluster": [0.9, 0.4]}), threshold=0.669)
        >>> field2 = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([11.0] * u.deg, [41.8] * u.deg),
        ...     "prob_cluster": [0.8]}), threshold=0.669)
        >>> both = CandidateCatalog.concatenate([field1, field2])
        >>> len(both), both["prob_cluster"].tolist(), both.meta["threshold"]
        (3, [0.9, 0.4, 0.8], 0.669)
        """
        if isinstance(items, Table):
            raise TypeError(
                "items must be a sequence of CandidateCatalog objects; got one "
                f"{type(items).__name__} (put it in a list)"
            )
        items = concatenation_items(items, CandidateCatalog)
        thresholds = {repr(item.meta.get("threshold")) for item in items}
        if len(thresholds) > 1:
            warnings.warn(
                f"CandidateCatalog.concatenate: the catalogues were made with different "
                f"thresholds ({', '.join(sorted(thresholds))}); the result keeps the last in "
                "meta['threshold'] and each one in meta['parts']",
                ClusterFinderWarning,
                stacklevel=2,
            )
        try:
            table = vstack(
                [QTable(item, copy=False) for item in items], metadata_conflicts="silent"
            )
        except Exception as exc:  # astropy raises several types for mixin conflicts
            raise ValueError(f"cannot concatenate the catalogues: {exc}") from exc
        metas = [dict(item.meta) for item in items]
        table.meta = merged_meta(metas)
        if len({meta_to_json(meta) for meta in metas}) > 1:
            table.meta["parts"] = metas
        out = cls(table, copy=False)
        out.validate()
        return out

    # -- I/O -------------------------------------------------------------------------

    #: Read a catalogue from a file in any astropy table format: see
    #: `~clusterfinder.catalog.io.CatalogRead`.
    read = UnifiedReadWriteMethod(CatalogRead)

    #: Write the catalogue to a file in any astropy table format, atomically: see
    #: `~clusterfinder.catalog.io.CatalogWrite`.
    write = UnifiedReadWriteMethod(CatalogWrite)

    # -- selections ------------------------------------------------------------------

    def select(self, *, prob_min=None, mag_max=None, band=None):
        """Return the candidates with ``prob_cluster >= prob_min`` and magnitude cuts.

        Parameters
        ----------
        prob_min : float, optional
            Lowest probability kept.
        mag_max : dict band -> float or `~astropy.units.Quantity`, optional
            Keep candidates with ``mag_<band> <= mag_max[band]`` for every band given,
            e.g. ``mag_max={"g": 21}``, the form of `LabelSet.select
            <clusterfinder.LabelSet.select>`; a number or a Quantity in ``u.mag`` or
            ``u.ABmag``. Sources without a magnitude are dropped. Before version 0.1 it
            was one number with ``band=`` (``mag_max=21, band="g"``): that still works,
            with an `~astropy.utils.exceptions.AstropyDeprecationWarning`.
        band : str, optional
            Deprecated: the band of a scalar ``mag_max`` (default ``"g"``).

        Returns
        -------
        `CandidateCatalog`
            The rows that pass every cut, in their order; ``meta`` is kept.

        Raises
        ------
        TypeError
            If ``prob_min`` is not a number, or a limit of ``mag_max`` is neither a
            number nor a magnitude Quantity.
        ValueError
            If ``prob_min`` lies outside 0-1, the catalogue has no ``mag_<band>``
            column for a band of ``mag_max``, a limit is not finite, or ``band=`` is
            given with a dict ``mag_max``.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog
        >>> cands = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([10.6, 10.7, 10.8] * u.deg, [41.2] * 3 * u.deg),
        ...     "prob_cluster": [0.9, 0.8, 0.2], "mag_g": [20.5, 21.5, 19.0]}))
        >>> len(cands.select(prob_min=0.5, mag_max={"g": 21}))
        1
        """
        keep = np.ones(len(self), dtype=bool)
        if prob_min is not None:
            keep &= _as_plain(self["prob_cluster"]) >= check_threshold(prob_min, "prob_min")
        if mag_max is not None and not isinstance(mag_max, Mapping):
            band = "g" if band is None else band
            warnings.warn(
                f"select(mag_max=<number>, band=...) is deprecated since 0.1; use "
                f"select(mag_max={{{band!r}: ...}}), as LabelSet.select does",
                AstropyDeprecationWarning,
                stacklevel=2,
            )
            mag_max = {band: mag_max}
        elif band is not None:
            raise ValueError(
                "band= goes only with a single-number mag_max (deprecated); give the band "
                "in the dict: mag_max={'g': 21}"
            )
        for name, limit in (mag_max or {}).items():
            column = f"mag_{name}"
            if column not in self.colnames:
                raise ValueError(
                    f"no column {column!r} for a magnitude cut in band {name!r}; the "
                    f"catalogue has "
                    f"{', '.join(c for c in self.colnames if c.startswith('mag_')) or 'none'}"
                )
            limit = as_magnitude(limit, f"mag_max[{name!r}]")
            mags = _as_plain(self[column], u.mag)
            with np.errstate(invalid="ignore"):
                keep &= np.nan_to_num(mags, nan=np.inf) <= limit
        return self[keep]

    def above_threshold(self):
        """Return the candidates at or above the classifier threshold stored in ``meta``.

        The same as ``select(prob_min=self.meta["threshold"])``: the candidates the
        classifier that made the catalogue calls clusters.

        Returns
        -------
        `CandidateCatalog`
            The rows with ``prob_cluster >= meta["threshold"]``.

        Raises
        ------
        ValueError
            If ``meta`` has no ``threshold``.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog
        >>> cands = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([10.6, 10.7] * u.deg, [41.2, 41.3] * u.deg),
        ...     "prob_cluster": [0.9, 0.5]}), threshold=0.669)
        >>> cands.above_threshold()["prob_cluster"].tolist()
        [0.9]
        """
        if self.meta.get("threshold") is None:
            raise ValueError(
                "the catalogue's meta has no 'threshold'; use select(prob_min=...) instead"
            )
        return self.select(prob_min=self.meta["threshold"])

    def select_radius(
        self, max_radius=30 * u.kpc, *, min_radius=None, galaxy=M31, deprojected=False
    ):
        """Keep the candidates within a galactocentric radius range.

        Adds the columns ``r_proj`` (projected radius, kpc) and, with
        ``deprojected=True``, ``r_deproj`` (radius in the disc plane, kpc), both from
        `~clusterfinder.galaxy.GalaxyGeometry`.

        Parameters
        ----------
        max_radius : `~astropy.units.Quantity`, optional
            Largest radius kept (a length); the default 30 kpc is the cut of
            Zhang et al. (2025) for M31. None keeps everything beyond ``min_radius``.
        min_radius : `~astropy.units.Quantity`, optional
            Smallest radius kept (a length).
        galaxy : `~clusterfinder.galaxy.GalaxyGeometry`, optional
            The galaxy, M31 by default.
        deprojected : bool, optional
            Cut on the deprojected radius instead of the projected one.

        Returns
        -------
        `CandidateCatalog`
            The rows within the range, with ``r_proj`` (and ``r_deproj``) added and
            the cut recorded in ``meta["radius_cut"]``.

        Raises
        ------
        TypeError
            If ``galaxy`` is not a `~clusterfinder.galaxy.GalaxyGeometry`, or a
            radius is not a Quantity with length units.
        ValueError
            If a radius is negative, not finite or not a scalar.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog
        >>> from clusterfinder.galaxy import M31
        >>> far = M31.center.directional_offset_by(0 * u.deg, 3 * u.deg)
        >>> cands = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([M31.center, far]), "prob_cluster": [0.9, 0.8]}))
        >>> inner = cands.select_radius(30 * u.kpc)
        >>> len(inner), round(float(cands.select_radius(None)["r_proj"][1].value), 1)
        (1, 41.1)
        """
        if not isinstance(galaxy, GalaxyGeometry):
            raise TypeError(f"galaxy must be a GalaxyGeometry; got {type(galaxy).__name__}")
        if max_radius is not None:
            max_radius = _check_quantity(max_radius, "max_radius", "length")
        if min_radius is not None:
            min_radius = _check_quantity(min_radius, "min_radius", "length")
        out = self.copy()
        coords = self["coord"]
        if len(out):
            out["r_proj"] = galaxy.projected_radius(coords).to(u.kpc)
        else:
            out["r_proj"] = np.zeros(0) * u.kpc
        column = "r_proj"
        if deprojected:
            column = "r_deproj"
            out["r_deproj"] = (
                galaxy.deprojected_radius(coords).to(u.kpc) if len(out) else np.zeros(0) * u.kpc
            )
        radius = out[column]
        keep = np.ones(len(out), dtype=bool)
        if max_radius is not None:
            keep &= radius <= max_radius
        if min_radius is not None:
            keep &= radius >= min_radius
        out.meta["radius_cut"] = {
            "galaxy": galaxy.name,
            "column": column,
            "min_kpc": None if min_radius is None else float(min_radius.to_value(u.kpc)),
            "max_kpc": None if max_radius is None else float(max_radius.to_value(u.kpc)),
        }
        return out[keep]

    # -- matching, export, plotting (implemented in sibling modules) ----------------

    def deduplicate(self, radius=0.5 * u.arcsec, *, keep="max_prob"):
        """Merge detections of one source (overlapping fields or tiles) into one row.

        Candidates closer than ``radius``, directly or through a chain of neighbours
        (friends of friends), form one group; each group keeps one row, and
        ``n_detections`` counts the rows merged into it (adding up earlier counts when
        the catalogue was de-duplicated before). This is
        `clusterfinder.catalog.matching.deduplicate`.

        Parameters
        ----------
        radius : `~astropy.units.Quantity`, optional
            Linking length, an angle (0.5 arcsec by default).
        keep : {"max_prob", "first"}, optional
            Keep the row with the highest ``prob_cluster`` (NaN counts as lowest), or
            the first row of each group.

        Returns
        -------
        `CandidateCatalog`
            One row per group, in the order in which groups first appear, with
            ``n_detections``; ``meta["deduplicate"]`` records the radius and rule.

        Raises
        ------
        TypeError
            If ``radius`` is not an angle Quantity.
        ValueError
            If ``radius`` is not positive and finite, ``keep`` is not one of the two
            rules, or a position is not finite.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog
        >>> cands = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([10.0, 10.00005, 10.1] * u.deg, [41.0] * 3 * u.deg),
        ...     "prob_cluster": [0.7, 0.9, 0.4]}))
        >>> merged = cands.deduplicate(0.5 * u.arcsec)
        >>> merged["prob_cluster"].tolist(), merged["n_detections"].tolist()
        ([0.9, 0.4], [2, 1])
        """
        from .matching import deduplicate

        return deduplicate(self, radius, keep=keep)

    def crossmatch(self, catalogs, *, radius=1 * u.arcsec):
        """Flag the candidates that are in known catalogues ("known") or not ("new").

        Each candidate is matched with its nearest counterpart in each catalogue.
        This is `clusterfinder.catalog.matching.crossmatch`.

        Parameters
        ----------
        catalogs : dict
            Catalogue name (letters, digits, underscores: it names columns) ->
            catalogue: a table with a SkyCoord column ``coord`` or RA/Dec columns
            (``ra``/``dec``, ``RAdeg``/``DEdeg``, ``RAJ2000``/``DEJ2000``... in degrees,
            or sexagesimal strings), a `~clusterfinder.LabelSet`, or a
            `~astropy.coordinates.SkyCoord` (see
            `~clusterfinder.catalog.matching.known_coords`).
        radius : `~astropy.units.Quantity` or dict, optional
            Largest separation of a match, an angle (1 arcsec by default); or a dict
            catalogue name -> angle.

        Returns
        -------
        `CandidateCatalog`
            A new catalogue (this one is left unchanged) with, for each catalogue
            ``NAME``, ``known_NAME`` (bool), ``name_NAME`` (the counterpart's name, ""
            if none) and ``sep_NAME`` (arcsec, NaN if none); then ``known`` (in any
            catalogue) and ``status`` (``"known"`` or ``"new"``).

        Raises
        ------
        TypeError
            If ``catalogs`` is not a non-empty dict, a catalogue is of no known form,
            or a radius is not an angle Quantity.
        ValueError
            If a catalogue name is not letters, digits and underscores, a dict
            ``radius`` lacks a catalogue, a radius is not positive, a catalogue has no
            positions, or a position is not finite.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog
        >>> cands = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([10.0, 10.5] * u.deg, [41.0, 41.0] * u.deg),
        ...     "prob_cluster": [0.9, 0.8]}))
        >>> known = QTable({"ra": [10.0001] * u.deg, "dec": [41.0] * u.deg, "name": ["B001"]})
        >>> out = cands.crossmatch({"rbc": known}, radius=1 * u.arcsec)
        >>> out["name_rbc"].tolist(), out["status"].tolist()
        (['B001', ''], ['known', 'new'])
        """
        from .matching import crossmatch

        return crossmatch(self, catalogs, radius=radius)

    def to_regions(self, *, radius=1 * u.arcsec, format="ds9"):
        """Return the candidates as `regions.Regions` of sky circles.

        Each circle is labelled with the candidate's name (when there is a ``name``
        column) and probability, and coloured cyan for known and red for new
        candidates after `crossmatch` (green otherwise). This is
        `clusterfinder.catalog.regions.to_regions`.

        Parameters
        ----------
        radius : `~astropy.units.Quantity`, optional
            Circle radius, an angle (1 arcsec by default).
        format : {"ds9", "crtf"}, optional
            The format the regions are meant for: DS9 shows the label from the
            ``text`` meta key, CASA (CRTF) from ``label``.

        Returns
        -------
        `regions.Regions`
            One `~regions.CircleSkyRegion` per candidate, in order.

        Raises
        ------
        TypeError
            If ``radius`` is not an angle Quantity.
        ValueError
            If ``radius`` is not positive and finite, or ``format`` is not ``"ds9"``
            or ``"crtf"``.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog
        >>> cands = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([10.68] * u.deg, [41.27] * u.deg), "prob_cluster": [0.93]}))
        >>> regs = cands.to_regions(radius=2 * u.arcsec)
        >>> len(regs), regs[0].meta["text"], regs[0].radius
        (1, 'p=0.930', <Quantity 2. arcsec>)
        """
        from .regions import to_regions

        return to_regions(self, radius=radius, format=format)

    def write_regions(self, path, *, format="ds9", radius=1 * u.arcsec, overwrite=False):
        """Write a DS9 or CASA (CRTF) region file of the candidates, atomically.

        The circles are those of `to_regions`. This is
        `clusterfinder.catalog.regions.write_regions`.

        Parameters
        ----------
        path : str or `~pathlib.Path`
            The region file to write.
        format : {"ds9", "crtf"}, optional
            Region file format.
        radius : `~astropy.units.Quantity`, optional
            Circle radius, an angle (1 arcsec by default).
        overwrite : bool, optional
            Replace an existing file. Otherwise an existing ``path`` is refused and
            left as it is.

        Returns
        -------
        `~pathlib.Path`
            The file written. An empty catalogue gives a valid file with no shapes.

        Raises
        ------
        FileExistsError
            If ``path`` exists and ``overwrite`` is False.
        TypeError, ValueError
            If ``radius`` or ``format`` is refused (see `to_regions`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog
        >>> cands = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([10.68] * u.deg, [41.27] * u.deg), "prob_cluster": [0.93]}))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = cands.write_regions(pathlib.Path(tmp) / "cands.reg")
        ...     "circle" in path.read_text()
        True
        """
        from .regions import write_regions

        return write_regions(self, path, format=format, radius=radius, overwrite=overwrite)

    def plot(
        self, *, ax=None, image=None, wcs=None, cmap="viridis", size=30, vmin=0.0, vmax=1.0,
        colorbar=True, image_cmap="gray_r",
    ):  # fmt: skip
        """Draw a sky map of the candidates coloured by probability.

        This is `clusterfinder.catalog.plotting.plot_candidates`; matplotlib is
        needed.

        Parameters
        ----------
        ax : `matplotlib.axes.Axes`, optional
            Where to draw; a new figure is made if None (a WCSAxes one when an image
            is given).
        image : array, HDU or HDUList, optional
            A survey image drawn under the candidates; it needs a WCS from ``wcs`` or
            the HDU header.
        wcs : `~astropy.wcs.WCS`, optional
            The image's WCS.
        cmap : str, optional
            Colour map of the probabilities.
        size : float, optional
            Marker area (points squared).
        vmin, vmax : float, optional
            Probability range of the colour map.
        colorbar : bool, optional
            Add a colour bar.
        image_cmap : str, optional
            Colour map of the image.

        Returns
        -------
        `matplotlib.axes.Axes`
            The axes drawn on.

        Raises
        ------
        ImportError
            If matplotlib is not installed.
        TypeError
            If ``image`` has no WCS.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog
        >>> cands = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([10.6, 10.7] * u.deg, [41.2, 41.3] * u.deg),
        ...     "prob_cluster": [0.9, 0.4]}))
        >>> cands.plot().get_xlabel()
        'RA (deg)'
        """
        from .plotting import plot_candidates

        return plot_candidates(
            self, ax=ax, image=image, wcs=wcs, cmap=cmap, size=size, vmin=vmin, vmax=vmax,
            colorbar=colorbar, image_cmap=image_cmap,
        )  # fmt: skip

    def inspect(
        self,
        images=None,
        *,
        cutouts=None,
        output="inspection.html",
        size=48,
        bands=("g", "i"),
        title=None,
        zero_points=None,
        overwrite=False,
        progress_bar=False,
    ):
        """Write a self-contained HTML page to vet the candidates by eye.

        The page shows colour-composite stamps with each candidate's probability,
        magnitudes, position and known-catalogue matches, and records keyboard
        decisions that export to JSON; `clusterfinder.inspect.apply_decisions` brings
        them back as an ``inspection`` column. This is
        `clusterfinder.inspect.make_inspection_page`.

        Parameters
        ----------
        images : dict, optional
            Band -> image (anything `Cutout.from_images
            <clusterfinder.Cutout.from_images>` takes) to cut the stamps from.
            Candidates off the images show "no image".
        cutouts : `~clusterfinder.Cutout`, optional
            Ready-made stamps, one per candidate in catalogue order (instead of
            ``images``).
        output : str or path-like, optional
            The HTML file to write.
        size : int, optional
            Stamp size in pixels when cutting from ``images`` (at least 4).
        bands : tuple of str, optional
            One to three bands for the composite, bluest first.
        title : str, optional
            Title of the page.
        zero_points : float or dict, optional
            AB zero point of the ``images`` (one number, or a dict band -> number),
            replacing their headers'; an image without one is refused.
        overwrite : bool, optional
            Replace an existing page ``output``; by default it is refused before any
            stamp is made. One of the ``images`` files is always refused.
        progress_bar : bool, optional
            Show a progress bar while the stamps are made.

        Returns
        -------
        `~pathlib.Path`
            The page written.

        Raises
        ------
        FileExistsError
            If ``output`` exists and ``overwrite`` is False.
        ValueError
            If ``bands`` holds no band or more than three, both ``images`` and
            ``cutouts`` are given, ``size`` is not an integer of at least 4, or
            ``output`` is one of the ``images``, or ``cutouts`` does not hold one
            stamp per candidate in the ``bands`` asked for.
        TypeError
            If ``cutouts`` is not a `~clusterfinder.Cutout` or ``images`` not a dict.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder import CandidateCatalog, Cutout
        >>> cands = CandidateCatalog.from_table(QTable({
        ...     "coord": SkyCoord([10.68, 10.70] * u.deg, [41.27, 41.30] * u.deg),
        ...     "prob_cluster": [0.92, 0.31]}))
        >>> stamps = Cutout(np.random.default_rng(0).normal(size=(2, 2, 16, 16)),
        ...                 bands=("g", "i"))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     page = cands.inspect(cutouts=stamps, output=pathlib.Path(tmp) / "page.html")
        ...     page.name
        'page.html'
        """
        from ..inspect import make_inspection_page

        return make_inspection_page(
            self,
            images,
            cutouts=cutouts,
            output=output,
            size=size,
            bands=bands,
            title=title,
            zero_points=zero_points,
            overwrite=overwrite,
            progress_bar=progress_bar,
        )


register_catalog_formats(CandidateCatalog)
