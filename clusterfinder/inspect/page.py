"""Write the self-contained HTML page on which candidates are inspected by eye.

The page is one HTML file with everything inside: the stamps as base64 PNG strings in
a JSON block, the style sheet and the script. It opens offline from disk, loads
stamps only when they scroll into view, and keeps the decisions in the browser's
local storage under the catalogue id (see `~clusterfinder.inspect.catalog_id`).
"""

import datetime
import json
from importlib import resources

import numpy as np
from astropy.table import Table

from ..utils.files import atomic_write_text
from ..utils.outputs import check_output_file
from .decisions import candidate_ids, catalog_id
from .stamps import channel_of_band, stamps_to_png_base64

__all__ = ["make_inspection_page", "page_data"]


def _static(name):
    return resources.files("clusterfinder.inspect").joinpath("static", name).read_text("utf-8")


def _values(column, unit=None):
    """Return a column as a list of floats with None for masked or non-finite entries."""
    if hasattr(column, "unit") and column.unit is not None and hasattr(column, "to_value"):
        values = column.to_value(unit) if unit is not None else column.value
    else:
        values = column
    mask = np.ma.getmaskarray(values)
    values = np.ma.getdata(values)
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"column {getattr(column, 'name', '')!r} must be numeric") from None
    bad = mask | ~np.isfinite(values)
    return [None if b else round(float(v), 5) for v, b in zip(values, bad, strict=True)]


def _strings(column):
    mask = np.ma.getmaskarray(column)
    values = np.ma.getdata(column).tolist()
    return [
        "" if m or value is None else str(value).strip()
        for value, m in zip(values, mask, strict=True)
    ]


def _columns(catalog):
    import astropy.units as u

    coords = catalog["coord"].icrs
    columns = {
        "id": candidate_ids(catalog),
        "ra": [round(float(v), 7) for v in np.atleast_1d(coords.ra.deg)],
        "dec": [round(float(v), 7) for v in np.atleast_1d(coords.dec.deg)],
        "prob": _values(catalog["prob_cluster"]) if "prob_cluster" in catalog.colnames else None,
        "mag": {},
        "names": {},
        "r_proj": None,
        "known": None,
    }
    for name in catalog.colnames:
        if name.startswith("mag_"):
            columns["mag"][name[4:]] = _values(catalog[name])
        elif name.startswith("name_"):
            columns["names"][name[5:]] = _strings(catalog[name])
    if "r_proj" in catalog.colnames:
        column = catalog["r_proj"]
        unit = u.kpc if getattr(column, "unit", None) is not None else None
        columns["r_proj"] = _values(column, unit)
    if "known" in catalog.colnames:
        known = np.ma.filled(np.ma.asarray(catalog["known"]), False)
        columns["known"] = [bool(v) for v in known]
    return columns


def _stamps_from(cutouts, bands, n, progress_bar):
    """Encode the stamps of ``cutouts`` (in ``bands`` order) as base64 PNG strings."""
    for attribute in ("data", "mask", "bands"):
        if not hasattr(cutouts, attribute):
            raise TypeError(f"cutouts must be a Cutout; got {type(cutouts).__name__}")
    if len(cutouts.data) != n:
        raise ValueError(f"cutouts holds {len(cutouts.data)} stamps but the catalog has {n} rows")
    missing = [band for band in bands if band not in cutouts.bands]
    if missing:
        raise ValueError(f"bands {missing} are not in the cutouts (bands {cutouts.bands})")
    channels = [tuple(cutouts.bands).index(band) for band in bands]
    return stamps_to_png_base64(
        cutouts.data, mask=cutouts.mask, channels=channels, progress_bar=progress_bar
    )


def _cut(images, catalog, bands, size, progress_bar, zero_points=None):
    from ..cutout import Cutout

    if not isinstance(images, dict):
        raise TypeError(f"images must be a dict band -> image; got {type(images).__name__}")
    missing = [band for band in bands if band not in images]
    if missing:
        raise ValueError(f"images has no {missing} band (bands={bands!r}; got {list(images)})")
    return Cutout.from_images(
        {band: images[band] for band in bands},
        catalog["coord"],
        cutout_size=size,
        bands=bands,
        zero_points=zero_points,
        off_image="mask",
        progress_bar=progress_bar,
    )


def page_data(catalog, stamps, *, bands=("g", "i"), title=None):
    """Return the JSON-compatible record that an inspection page embeds.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        The candidates (``coord``; ``prob_cluster``, ``mag_<band>``, ``r_proj``,
        ``known`` and ``name_<catalogue>`` are shown when present).
    stamps : list of (str or None)
        One base64 PNG per candidate, None for "no image".
    bands : tuple of str, optional
        The bands of the stamps, bluest first.
    title : str, optional
        The page title.

    Returns
    -------
    dict

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder.inspect import page_data
    >>> table = QTable({"coord": SkyCoord([10.68] * u.deg, [41.27] * u.deg),
    ...                 "prob_cluster": [0.9], "mag_g": [19.5]})
    >>> record = page_data(table, [None])
    >>> record["n"], record["columns"]["mag"], record["channels"]
    (1, {'g': [19.5]}, {'g': 2, 'i': 0})
    """
    from .. import __version__

    if len(stamps) != len(catalog):
        raise ValueError(f"stamps has {len(stamps)} entries for {len(catalog)} candidates")
    return {
        "catalog_id": catalog_id(catalog),
        "title": title or "clusterfinder inspection",
        "n": len(catalog),
        "bands": list(bands),
        "channels": channel_of_band(bands),
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "clusterfinder_version": __version__,
        "columns": _columns(catalog),
        "stamps": list(stamps),
    }


def _render_page(record):
    """Return the HTML text of the page for a `page_data` record."""
    import html

    from .. import __version__

    data = json.dumps(record, separators=(",", ":"), allow_nan=False)
    # "<" only occurs inside JSON strings, where \u003c is the same character; this
    # keeps "</script>" in a candidate name from closing the block.
    data = data.replace("<", "\\u003c")
    text = _static("page.html")
    for key, value in (
        ("{{VERSION}}", html.escape(__version__)),
        ("{{CATALOG_ID}}", record["catalog_id"]),
        ("{{TITLE}}", html.escape(record["title"])),
        ("{{CSS}}", _static("inspect.css")),
        ("{{JS}}", _static("inspect.js")),
    ):
        text = text.replace(key, value)
    return text.replace("{{DATA}}", data)


def make_inspection_page(
    catalog,
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
    """Write a self-contained HTML page to inspect candidates by eye.

    The page shows a grid of colour-composite stamps (asinh stretch; the bluest band
    in blue, the reddest in red, their mean in green; single bands on demand) with
    probability, magnitudes, coordinates, projected radius and known-catalogue
    matches, sorts and filters them, and records keyboard decisions (c, n, u; z to
    undo) that persist in the browser and export to JSON for
    `~clusterfinder.inspect.read_decisions`.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        The candidates: a `~clusterfinder.CandidateCatalog` or any table with a
        `~astropy.coordinates.SkyCoord` column ``coord``; ``id`` or ``name`` (else the
        row number) identifies each candidate.
    images : dict, optional
        Band -> image (anything `Cutout.from_images <clusterfinder.Cutout.from_images>`
        takes) to cut the stamps from. Candidates off the images show "no image".
    cutouts : `~clusterfinder.Cutout`, optional
        Ready-made stamps, one per candidate in catalogue order (instead of ``images``).
    output : str or path-like, optional
        The HTML file to write. It is checked before the stamps are made: an
        existing file is refused unless ``overwrite=True`` (then replaced
        atomically), and one of the ``images`` files always is.
    size : int, optional
        Stamp size in pixels when cutting from ``images``.
    bands : tuple of str, optional
        One to three bands for the composite, bluest first.
    title : str, optional
        Title of the page.
    zero_points : float or dict, optional
        AB zero point of the ``images`` (one number, or a dict band -> number),
        replacing their headers'; as for `Cutout.from_images
        <clusterfinder.Cutout.from_images>`, an image without one is refused.
    overwrite : bool, optional
        Replace an existing ``output``.
    progress_bar : bool, optional
        Show a progress bar while the stamps are made.

    Returns
    -------
    pathlib.Path
        The page written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder import Cutout
    >>> from clusterfinder.inspect import make_inspection_page
    >>> table = QTable({"coord": SkyCoord([10.68, 10.70] * u.deg, [41.27, 41.30] * u.deg),
    ...                 "prob_cluster": [0.92, 0.31], "mag_g": [19.8, 21.4]})
    >>> rng = np.random.default_rng(0)
    >>> stamps = Cutout(rng.normal(size=(2, 2, 16, 16)).astype("float32"), bands=("g", "i"))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     page = make_inspection_page(table, cutouts=stamps,
    ...                                 output=pathlib.Path(tmp) / "page.html")
    ...     text = page.read_text()
    >>> text.startswith("<!DOCTYPE html>"), "https://" in text
    (True, False)
    """
    if not isinstance(catalog, Table):
        raise TypeError(f"catalog must be an astropy Table; got {type(catalog).__name__}")
    if "coord" not in catalog.colnames:
        raise ValueError("catalog must have a SkyCoord column 'coord'")
    if isinstance(bands, str):
        bands = (bands,)
    bands = tuple(bands)
    channel_of_band(bands)  # validates the number of bands
    if images is not None and cutouts is not None:
        raise ValueError("give images or cutouts, not both")
    if int(size) != size or size < 4:
        raise ValueError(f"size must be an integer >= 4 (pixels); got {size!r}")
    pairs = images.items() if isinstance(images, dict) else ()
    inputs = {f"images[{band!r}]": image for band, image in pairs}
    output = check_output_file(output, overwrite=overwrite, inputs=inputs, name="output")
    if images is not None:
        cutouts = _cut(images, catalog, bands, int(size), progress_bar, zero_points)
    if cutouts is not None:
        stamps = _stamps_from(cutouts, bands, len(catalog), progress_bar)
    else:
        stamps = [None] * len(catalog)
    text = _render_page(page_data(catalog, stamps, bands=bands, title=title))
    return atomic_write_text(output, text)
