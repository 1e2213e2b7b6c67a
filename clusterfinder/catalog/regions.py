"""Export of candidate catalogues as sky regions (DS9, CASA CRTF) for visual inspection.

Each candidate becomes a `~regions.CircleSkyRegion` labelled with its name (when the
catalogue has a ``name`` column) or its probability. Candidates cross-matched with
known catalogues (``status`` column) are drawn in cyan when known and red when new;
otherwise in green.
"""

from pathlib import Path

import astropy.units as u
import numpy as np

from ..utils.files import atomic_write_text
from ..utils.validation import check_radius

__all__ = ["to_regions", "write_regions"]

_FORMATS = ("ds9", "crtf")
_STATUS_COLORS = {"known": "cyan", "new": "red"}


def _check_format(format):
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {', '.join(_FORMATS)}; got {format!r}")
    return format


def _labels(catalog):
    prob = catalog["prob_cluster"]
    prob = np.asarray(getattr(prob, "value", prob), dtype=float)
    text = [f"p={p:.3f}" for p in prob]
    if "name" in catalog.colnames:
        names = [str(n).strip() for n in catalog["name"]]
        text = [f"{n} {t}" if n else t for n, t in zip(names, text, strict=True)]
    return text


def to_regions(catalog, *, radius=1 * u.arcsec, format="ds9"):
    """Return the candidates as a `regions.Regions` list of sky circles.

    Parameters
    ----------
    catalog : `~clusterfinder.CandidateCatalog`
        The candidates.
    radius : `~astropy.units.Quantity`, optional
        Circle radius, an angle.
    format : {"ds9", "crtf"}, optional
        The format the regions are meant for: DS9 shows the label from the ``text``
        meta key, CRTF from ``label``.

    Returns
    -------
    `regions.Regions`

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
    from regions import CircleSkyRegion, RegionMeta, Regions, RegionVisual

    radius = check_radius(radius)
    key = "text" if _check_format(format) == "ds9" else "label"
    if "status" in catalog.colnames:
        colors = [_STATUS_COLORS.get(str(s), "green") for s in catalog["status"]]
    else:
        colors = ["green"] * len(catalog)
    coords = catalog["coord"]
    shapes = [
        CircleSkyRegion(
            coords[i],
            radius,
            meta=RegionMeta({key: label}),
            visual=RegionVisual({"color": color}),
        )
        for i, (label, color) in enumerate(zip(_labels(catalog), colors, strict=True))
    ]
    return Regions(shapes)


def write_regions(catalog, path, *, format="ds9", radius=1 * u.arcsec, overwrite=False):
    """Write a DS9 or CRTF region file of the candidates (atomically).

    Parameters
    ----------
    catalog : `~clusterfinder.CandidateCatalog`
        The candidates.
    path : str or `~pathlib.Path`
        Output file.
    format : {"ds9", "crtf"}, optional
        Region file format.
    radius : `~astropy.units.Quantity`, optional
        Circle radius, an angle.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    `~pathlib.Path`
        The path written. An empty catalogue gives a valid file with no shapes.
    """
    path = Path(path)
    regions = to_regions(catalog, radius=radius, format=format)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    if len(regions):
        text = regions.serialize(format=format)
    else:
        text = "# Region file format: DS9\nicrs\n" if format == "ds9" else "#CRTFv0\n"
    return atomic_write_text(path, text)
