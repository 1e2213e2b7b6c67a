"""PAndAS (CFHT MegaCam) images at the CADC: which cover a position, and their files.

PAndAS observed M31 and M33 with MegaCam (instrument ``MegaPrime`` in CADC's
records) on the Canada-France-Hawaii Telescope in *g* and *i*. The CADC
describes every observation in the Common Archive Observation Model (CAOM):
the table ``caom2.Observation`` (collection, instrument, proposal, target) and
``caom2.Plane`` (one row per product: its publisher identifier, calibration
level, filter in ``energy_bandpassName`` such as ``g.MP9401``, exposure time
and footprint ``position_bounds``). `query_pandas_images` sends one ADQL query
on the two tables to CADC's TAP service through `astroquery.cadc.CadcClass`;
`download_pandas_images` asks CADC's DataLink service for the files of the
chosen products (`astroquery.cadc.CadcClass.get_data_urls`) and downloads them
with `download_file`.
"""

import re
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from ..utils.outputs import check_output_dir, check_output_file
from ..utils.progress import progress_bar as _progress
from ..utils.validation import check_radius
from ._footprint import footprint_centre
from .download import download_file

__all__ = [
    "MEGACAM_BANDS",
    "download_pandas_images",
    "pandas_images_adql",
    "query_pandas_images",
]

#: The MegaCam bands known to CADC's ``energy_bandpassName`` (``g.MP9401``, ...).
MEGACAM_BANDS = ("u", "g", "r", "i", "z")

#: The columns the TAP answer must hold (CAOM names), for the checks and the docs.
_REQUIRED = (
    "observationID",
    "productID",
    "publisherID",
    "energy_bandpassName",
    "calibrationLevel",
    "time_exposure",
    "position_bounds",
)
_OPTIONAL = ("collection", "instrument_name", "proposal_id", "target_name", "time_bounds_lower")
_SQL_TEXT = re.compile(r"^[A-Za-z0-9_.+\- ]+$")


def _check_coordinates(coordinates):
    if not isinstance(coordinates, SkyCoord) or not coordinates.isscalar:
        raise TypeError(
            "coordinates must be one sky position, a scalar SkyCoord; got "
            f"{type(coordinates).__name__}"
            + ("" if not isinstance(coordinates, SkyCoord) else " with several positions")
        )
    return coordinates.icrs


def _check_bands(bands):
    if isinstance(bands, str):
        bands = (bands,)
    try:
        bands = tuple(bands)
    except TypeError:
        raise TypeError(f"bands must be a sequence of band names; got {bands!r}") from None
    if not bands or any(band not in MEGACAM_BANDS for band in bands):
        raise ValueError(f"bands must be MegaCam bands among {MEGACAM_BANDS}; got {bands!r}")
    return tuple(dict.fromkeys(bands))


def _check_text(value, name):
    if not isinstance(value, str) or not _SQL_TEXT.match(value):
        raise ValueError(
            f"{name} must be a plain name (letters, digits, '_', '.', '+', '-'); got {value!r}"
        )
    return value


def pandas_images_adql(
    coordinates,
    *,
    radius=1 * u.arcmin,
    bands=("g", "i"),
    collection="CFHT",
    instrument="MegaPrime",
    calibration_level=2,
    proposal_id=None,
):
    """The ADQL query that `query_pandas_images` sends to CADC's TAP service.

    Builds the query text only: no network access.

    Parameters
    ----------
    coordinates : `~astropy.coordinates.SkyCoord`
        One sky position.
    radius : `~astropy.units.Quantity`, optional
        Images whose footprint meets the circle of this radius are selected.
    bands : str or sequence of str, optional
        MegaCam bands (`MEGACAM_BANDS`).
    collection : str, optional
        The CADC collection: ``"CFHT"`` or ``"CFHTMEGAPIPE"``.
    instrument : str, optional
        The instrument name in CAOM.
    calibration_level : int or None, optional
        CAOM calibration level (1 raw, 2 calibrated, 3 stacks); None for all.
    proposal_id : str or sequence of str, optional
        Keep only these CFHT proposals; all by default.

    Returns
    -------
    str
        One ADQL statement on ``caom2.Observation`` joined to ``caom2.Plane``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from clusterfinder.archive import pandas_images_adql
    >>> m31 = SkyCoord(10.6847 * u.deg, 41.2690 * u.deg)
    >>> print(pandas_images_adql(m31, radius=2 * u.arcmin, bands="g"))  # doctest: +ELLIPSIS
    SELECT o.observationID, ..., p.position_bounds
    FROM caom2.Observation AS o JOIN caom2.Plane AS p ON o.obsID = p.obsID
    WHERE INTERSECTS(CIRCLE('ICRS', 10.6847, 41.269, 0.0333333...), p.position_bounds) = 1
    AND o.collection = 'CFHT' AND o.instrument_name = 'MegaPrime'
    AND p.dataProductType = 'image'
    AND (p.quality_flag IS NULL OR p.quality_flag != 'junk')
    AND (p.energy_bandpassName LIKE 'g.%')
    AND p.calibrationLevel = 2
    ORDER BY p.energy_bandpassName, o.observationID
    """
    position = _check_coordinates(coordinates)
    radius_deg = check_radius(radius).to_value(u.deg)
    bands = _check_bands(bands)
    collection = _check_text(collection, "collection")
    instrument = _check_text(instrument, "instrument")
    columns = ", ".join(
        [f"o.{name}" for name in ("observationID", *_OPTIONAL[:4])]
        + [
            "p.productID",
            "p.publisherID",
            "p.dataProductType",
            "p.calibrationLevel",
            "p.energy_bandpassName",
            "p.time_exposure",
            "p.time_bounds_lower",
            "p.position_bounds",
        ]
    )
    filters = " OR ".join(f"p.energy_bandpassName LIKE '{band}.%'" for band in bands)
    lines = [
        f"SELECT {columns}",
        "FROM caom2.Observation AS o JOIN caom2.Plane AS p ON o.obsID = p.obsID",
        f"WHERE INTERSECTS(CIRCLE('ICRS', {position.ra.deg:.10g}, {position.dec.deg:.10g}, "
        f"{radius_deg:.10g}), p.position_bounds) = 1",
        f"AND o.collection = '{collection}' AND o.instrument_name = '{instrument}'",
        "AND p.dataProductType = 'image'",
        "AND (p.quality_flag IS NULL OR p.quality_flag != 'junk')",
        f"AND ({filters})",
    ]
    if calibration_level is not None:
        if (
            isinstance(calibration_level, bool)
            or not isinstance(calibration_level, (int, np.integer))
            or not 0 <= calibration_level <= 4
        ):
            raise ValueError(
                f"calibration_level must be an integer from 0 to 4 or None; got "
                f"{calibration_level!r}"
            )
        lines.append(f"AND p.calibrationLevel = {int(calibration_level)}")
    if proposal_id is not None:
        ids = (proposal_id,) if isinstance(proposal_id, str) else tuple(proposal_id)
        if not ids:
            raise ValueError("proposal_id must name at least one proposal, or be None")
        quoted = ", ".join(f"'{_check_text(one, 'proposal_id')}'" for one in ids)
        lines.append(f"AND o.proposal_id IN ({quoted})")
    lines.append("ORDER BY p.energy_bandpassName, o.observationID")
    return "\n".join(lines)


def _session():
    """The session astroquery.cadc would make, with requests that time out.

    A `pyvo.auth.AuthSession` (astroquery's default) whose requests wait at most
    `conf` ``timeout`` seconds for the server: pyvo's synchronous TAP queries and
    astroquery's DataLink requests set no timeout of their own, so a service that
    stops answering would otherwise hang forever.
    """
    from pyvo.auth import AuthSession

    from . import conf

    class TimeoutAuthSession(AuthSession):
        def get(self, url, **kwargs):
            kwargs.setdefault("timeout", float(conf.timeout))
            return super().get(url, **kwargs)

        def post(self, url, **kwargs):
            kwargs.setdefault("timeout", float(conf.timeout))
            return super().post(url, **kwargs)

    return TimeoutAuthSession()


def _cadc():
    """An `astroquery.cadc.CadcClass` on the services set in `conf`."""
    from astroquery.cadc import CadcClass

    from . import conf

    cadc = CadcClass(url=conf.cadc_tap_url or None, auth_session=_session())
    if conf.cadc_datalink_capabilities_url:
        cadc.CADCDATALINK_SERVICE_URI = conf.cadc_datalink_capabilities_url
    return cadc


def _service_name():
    from . import conf

    return conf.cadc_tap_url or "the CADC TAP service"


def _strings(column):
    values = np.ma.asarray(column)
    out = [
        "" if np.ma.is_masked(v) else (v.decode() if isinstance(v, bytes) else str(v))
        for v in values
    ]
    return np.array(out, dtype=str)


def _floats(column):
    return np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)


def _to_images(answer, position, bands):
    """The TAP answer (CAOM names) as the table of `query_pandas_images`."""
    missing = [name for name in _REQUIRED if name not in answer.colnames]
    if missing:
        raise ValueError(
            f"the answer of {_service_name()} lacks the columns {missing} (it holds "
            f"{answer.colnames}); the CAOM schema may have changed"
        )
    filters = _strings(answer["energy_bandpassName"])
    band = np.array([name.split(".")[0] for name in filters], dtype=str)
    keep = np.isin(band, bands)
    if "dataProductType" in answer.colnames:
        keep &= _strings(answer["dataProductType"]) == "image"
    if not keep.any():
        return None
    answer = answer[keep]
    filters, band = filters[keep], band[keep]
    centres = np.array([footprint_centre(bounds) for bounds in answer["position_bounds"]]).reshape(
        -1, 2
    )
    table = QTable()
    table["observation_id"] = _strings(answer["observationID"])
    table["product_id"] = _strings(answer["productID"])
    table["publisher_id"] = _strings(answer["publisherID"])
    table["band"] = band
    table["filter"] = filters
    table["calibration_level"] = np.ma.filled(
        np.ma.asarray(answer["calibrationLevel"]).astype(int), -1
    )
    table["exposure_time"] = _floats(answer["time_exposure"]) * u.s
    table["mjd_start"] = (
        _floats(answer["time_bounds_lower"])
        if "time_bounds_lower" in answer.colnames
        else np.full(len(answer), np.nan)
    )
    for name, out in (
        ("collection", "collection"),
        ("instrument_name", "instrument"),
        ("proposal_id", "proposal_id"),
        ("target_name", "target_name"),
    ):
        table[out] = _strings(answer[name]) if name in answer.colnames else np.full(len(answer), "")
    table["centre"] = SkyCoord(centres[:, 0] * u.deg, centres[:, 1] * u.deg)
    table["separation"] = table["centre"].separation(position).to(u.arcmin)
    return table


def query_pandas_images(
    coordinates,
    *,
    radius=1 * u.arcmin,
    bands=("g", "i"),
    collection="CFHT",
    instrument="MegaPrime",
    calibration_level=2,
    proposal_id=None,
):
    """The CFHT MegaCam images at the CADC that cover a sky position.

    Parameters
    ----------
    coordinates : `~astropy.coordinates.SkyCoord`
        One sky position.
    radius : `~astropy.units.Quantity`, optional
        Images whose footprint meets the circle of this radius around
        ``coordinates`` are returned.
    bands : sequence of str, optional
        MegaCam bands (`MEGACAM_BANDS`); PAndAS observed *g* and *i*.
    collection : str, optional
        The CADC collection: ``"CFHT"`` (single frames, raw and Elixir-processed)
        or ``"CFHTMEGAPIPE"`` (MegaPipe stacks).
    instrument : str, optional
        The instrument name in CAOM.
    calibration_level : int or None, optional
        CAOM calibration level: 1 raw frames, 2 calibrated frames (Elixir ``p``
        products; the default), 3 stacks; `None` for all.
    proposal_id : str or sequence of str, optional
        Keep only these CFHT proposals (e.g. the PAndAS large programme's
        semesters), all proposals by default.

    Returns
    -------
    `~astropy.table.QTable`
        One row per image product, sorted by band then by the distance of its
        centre: ``observation_id``, ``product_id``, ``publisher_id`` (the IVOA
        identifier that `download_pandas_images` needs), ``band``, ``filter``
        (CADC's filter name, e.g. ``i.MP9702``), ``calibration_level``,
        ``exposure_time`` (s), ``mjd_start``, ``collection``, ``instrument``,
        ``proposal_id``, ``target_name``, ``centre`` (the mean of the footprint's
        vertices, a `~astropy.coordinates.SkyCoord`) and ``separation`` (arcmin,
        from ``coordinates``). ``meta`` holds the ADQL query and the service.

    Raises
    ------
    TypeError, ValueError
        A bad argument.
    OSError
        The CADC cannot be reached or answers with an error.
    ValueError
        The answer lacks the expected CAOM columns (they are named), or holds no
        image in the requested bands.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from clusterfinder.archive import query_pandas_images
    >>> field = SkyCoord(10.6847 * u.deg, 41.2690 * u.deg)
    >>> images = query_pandas_images(field, radius=1 * u.arcmin)  # doctest: +REMOTE_DATA
    >>> set(images["band"]) <= {"g", "i"}  # doctest: +REMOTE_DATA
    True
    """
    position = _check_coordinates(coordinates)
    bands = _check_bands(bands)
    adql = pandas_images_adql(
        position,
        radius=radius,
        bands=bands,
        collection=collection,
        instrument=instrument,
        calibration_level=calibration_level,
        proposal_id=proposal_id,
    )
    try:
        cadc = _cadc()
        answer = cadc.exec_sync(adql)
    except ImportError:  # pragma: no cover - astroquery is a dependency
        raise
    except Exception as exc:  # requests, pyvo and the registry lookup raise many types
        raise OSError(f"could not query {_service_name()} for MegaCam images: {exc}") from exc
    if not isinstance(answer, Table):
        raise ValueError(f"{_service_name()} did not answer with a table: {answer!r}")
    images = _to_images(answer, position, bands)
    if images is None or len(images) == 0:
        raise ValueError(
            f"the CADC ({collection}, {instrument}) holds no {'/'.join(bands)} image within "
            f"{radius} of {position.to_string('decimal')}"
        )
    order = np.lexsort((images["separation"].to_value(u.arcmin), images["band"]))
    images = images[order]
    images.meta["adql"] = adql
    images.meta["service"] = _service_name()
    return images


def _file_name(url):
    name = unquote(Path(urlparse(url).path).name)
    if not name or name in (".", ".."):
        raise ValueError(f"cannot name a file after the download address {url!r}")
    return name


def download_pandas_images(table, folder, *, overwrite=False, progress_bar=False):
    """Download the files of the image products in ``table`` into ``folder``.

    Parameters
    ----------
    table : `~astropy.table.Table`
        Rows of `query_pandas_images` (or any table with a ``publisher_id`` or
        ``publisherID`` column of CADC publisher identifiers).
    folder : str or path-like
        Where to write the files (created if missing), under the names the CADC
        gives them (e.g. ``1234567p.fits.fz``).
    overwrite : bool, optional
        Replace files that exist; otherwise they are refused, all of them before
        anything is downloaded.
    progress_bar : bool, optional
        Show a progress bar over the files (needs tqdm).

    Returns
    -------
    list of `pathlib.Path`
        The files written, in the order of the DataLink answer.

    Raises
    ------
    FileExistsError
        A file exists and ``overwrite`` is False.
    OSError
        The DataLink service or a download fails; a file that could not be
        downloaded whole is never left under its final name.
    ValueError
        ``table`` is empty, has no publisher identifiers, or the service gives no
        file for them.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from clusterfinder.archive import download_pandas_images, query_pandas_images
    >>> field = SkyCoord(10.6847 * u.deg, 41.2690 * u.deg)
    >>> images = query_pandas_images(field, bands="g")  # doctest: +REMOTE_DATA
    >>> paths = download_pandas_images(images[:1], "pandas")  # doctest: +REMOTE_DATA
    """
    if not isinstance(table, Table):
        raise TypeError(f"table must be an astropy Table; got {type(table).__name__}")
    column = next((c for c in ("publisher_id", "publisherID") if c in table.colnames), None)
    if column is None:
        raise ValueError(
            f"table must have a 'publisher_id' (or 'publisherID') column; it has {table.colnames}"
        )
    ids = [one for one in _strings(table[column]) if one]
    if not ids:
        raise ValueError("table holds no publisher identifier: nothing to download")
    folder = check_output_dir(folder, name="folder")
    try:
        cadc = _cadc()
        with warnings.catch_warnings():
            # astroquery reads the service's XML capabilities with BeautifulSoup's HTML
            # parser, which warns about it; the user can do nothing about that.
            warnings.filterwarnings("ignore", message="It looks like you're using an HTML parser")
            urls = cadc.get_data_urls(Table({"publisherID": ids}))
    except Exception as exc:  # requests, pyvo and the registry lookup raise many types
        raise OSError(f"could not get the download addresses from CADC's DataLink: {exc}") from exc
    if not urls:
        raise ValueError(f"CADC's DataLink service gave no file for {ids}")
    names = [_file_name(url) for url in urls]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"several downloads would be written to the same files {duplicates}")
    folder.mkdir(parents=True, exist_ok=True)
    targets = [
        check_output_file(folder / name, overwrite=overwrite, name="folder") for name in names
    ]
    written = []
    for url, target in _progress(
        list(zip(urls, targets, strict=True)),
        enabled=progress_bar,
        desc="PAndAS images",
        unit="file",
    ):
        written.append(download_file(url, target, overwrite=overwrite))
    return written
