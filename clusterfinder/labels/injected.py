"""Labels for real images with injected objects: injected truth joined with real sources.

After `clusterfinder.simulate.inject`, the injected objects are labelled by their kind
(clusters 1, asterisms and stars 0) and the real sources of the images (a catalogue, or the
detections on the images) are the background population. `injection_table` joins them
into one table for `LabelSet.from_injection <clusterfinder.labels.LabelSet.from_injection>`:
real sources that lie within ``radius`` of an injected object are dropped (a
detection there is most likely the injected object itself, and its stamp is dominated by
it), and real sources without a label of their own get ``real_label`` with
``label_known`` False, so that they can be told from the labels that are known.
"""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from ..crossmatch import check_finite_coords
from ..utils.validation import check_radius

__all__ = ["injection_table"]


def _icrs(coords):
    icrs = coords.icrs
    return SkyCoord(icrs.ra, icrs.dec, frame="icrs")


def _real_table(sources):
    """``(table, has_labels)`` of the real sources given as a LabelSet, table or SkyCoord."""
    from .labelset import LabelSet, _plain_magnitudes

    if isinstance(sources, LabelSet):
        table, has_labels = QTable(sources.table, copy=True), True
    elif isinstance(sources, SkyCoord):
        coords = sources.reshape((1,)) if sources.isscalar else sources
        table, has_labels = QTable({"coord": coords}), False
    elif isinstance(sources, Table):
        if "coord" not in sources.colnames or not isinstance(sources["coord"], SkyCoord):
            raise ValueError(
                "sources as a table needs a SkyCoord column 'coord' (e.g. the output of "
                f"clusterfinder.detection.detect_sources); found columns {sources.colnames}"
            )
        table = QTable(sources, copy=True)
        has_labels = "label" in table.colnames
    else:
        raise TypeError(
            "sources must be None, a SkyCoord, a table with a SkyCoord column 'coord', or a "
            f"LabelSet; got {type(sources).__name__}"
        )
    if table["coord"].ndim != 1:
        raise ValueError("the positions of sources must be one-dimensional")
    check_finite_coords(table["coord"], "sources")
    table["coord"] = _icrs(table["coord"])
    for name in [c for c in table.colnames if c.startswith("mag_")]:
        table[name] = _plain_magnitudes(table[name])
    return table, has_labels


def injection_table(truth, sources=None, *, positive_kinds, radius, real_label=0):
    """The rows of a label set joining injected objects and real sources.

    Parameters
    ----------
    truth : `~astropy.table.QTable`
        The truth table of `clusterfinder.simulate.inject` (``coord``, ``kind``...).
    sources : None, `~astropy.coordinates.SkyCoord`, table or `LabelSet`, optional
        The real sources: positions, a table with a SkyCoord column ``coord`` (a
        catalogue or the detections; its ``label`` column, if any, is kept), or a
        `LabelSet` (its labels are kept).
    positive_kinds : sequence of str
        Injected kinds labelled 1.
    radius : `~astropy.units.Quantity`
        Real sources closer than this to an injected object are dropped.
    real_label : {0, 1}, optional
        Label of real sources that come without one.

    Returns
    -------
    truth_rows, real_rows : `~astropy.table.QTable`
        The injected objects (``label`` from their kind) and the real sources kept, each
        with the columns ``source`` (``"injected"``, or the source's own or ``"real"``),
        ``injected`` and ``label_known``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> truth = QTable({"coord": SkyCoord([10.0] * u.deg, [41.0] * u.deg),
    ...                 "kind": ["asterism"]})
    >>> injected, real = injection_table(
    ...     truth, SkyCoord([10.0, 10.1] * u.deg, [41.0, 41.0] * u.deg),
    ...     positive_kinds=("young_cluster",), radius=1 * u.arcsec)
    >>> injected["label"].tolist(), real["label"].tolist(), real["source"].tolist()
    ([0], [0], ['real'])
    """
    from .labelset import LabelSet

    radius = check_radius(radius, "radius")
    if real_label not in (0, 1) or isinstance(real_label, bool):
        raise ValueError(f"real_label must be 0 or 1; got {real_label!r}")
    injected = LabelSet.from_truth(truth, positive_kinds=positive_kinds).table
    injected["coord"] = _icrs(injected["coord"])
    injected["source"] = np.full(len(injected), "injected")
    injected["injected"] = np.ones(len(injected), dtype=bool)
    injected["label_known"] = np.ones(len(injected), dtype=bool)
    injected.meta["radius_arcsec"] = float(radius.to_value(u.arcsec))
    if sources is None:
        return injected, None
    real, has_labels = _real_table(sources)
    dropped = 0
    if len(real) and len(injected):
        _, separation, _ = real["coord"].match_to_catalog_sky(injected["coord"])
        near = separation < radius
        dropped = int(near.sum())
        real = real[~near]
    if not has_labels:
        real["label"] = np.full(len(real), real_label, dtype=np.int8)
    if "source" not in real.colnames:
        real["source"] = np.full(len(real), "real")
    if "kind" not in real.colnames:
        real["kind"] = np.full(len(real), "real")
    real["injected"] = np.zeros(len(real), dtype=bool)
    real["label_known"] = np.full(len(real), has_labels)
    injected.meta["real_dropped_near_injected"] = dropped
    return injected, real
