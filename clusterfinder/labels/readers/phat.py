"""The PHAT Andromeda Project cluster catalogue (Johnson et al. 2015, J/ApJ/802/127).

The catalogue lists 2,753 star clusters found by citizen scientists in the
Hubble PHAT images of M31's north-eastern disc, with Hubble photometry in six
bands. They are the positive labels of Zhang et al. (2025).

The copy shipped with clusterfinder (``data/catalogs/phat_ap_johnson2015``) is a
checked partial transcription of the CDS ``table2.dat``: 1,477 rows in whole
blocks spread over the full table (see the README there). The online path reads
the whole table from VizieR.
"""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from astropy.utils.masked import Masked

from ..vizier import get_vizier_table
from ._common import (
    bundled_path,
    check_table,
    coords_from_table,
    find_column,
    finish,
    masked_float,
    resolve_path,
    strings,
)

__all__ = ["PHAT_BANDS", "PHAT_TO_MEGACAM", "read_phat_ap"]

#: The six Hubble bands of the PHAT photometry, in catalogue order.
PHAT_BANDS = ("f275w", "f336w", "f475w", "f814w", "f110w", "f160w")

#: Approximate MegaCam AB magnitude = PHAT Vega magnitude + offset (no colour term).
PHAT_TO_MEGACAM = {"g": ("f475w", -0.10), "i": ("f814w", 0.42)}

_CATALOG = "PHAT-AP"
_REFERENCE = "Johnson, L. C., et al. 2015, ApJ, 802, 127"
_BIBCODE = "2015ApJ...802..127J"
_VIZIER = "J/ApJ/802/127"
_DEFAULT = ("phat_ap_johnson2015", "table2_pages.dat")

# One-based, inclusive character columns of the fixed-width CDS file.
_FIELDS = {
    "apid": (1, 5),
    "ra": (7, 15),
    "dec": (17, 25),
    "aperture_radius": (27, 31),
    "reff": (33, 37),
    "frac_1": (39, 44),
    "frac_2": (46, 51),
    "cluster_fraction": (53, 58),
    "year1_id": (60, 63),
    "alt_name": (65, 82),
    "flag": (84, 84),
    "correction": (86, 91),
}
_MAG_START = 93  # first band's magnitude; each band takes 13 characters (6 + 1 + 5 + 1)


def _field(line, first, last):
    return line[first - 1 : last].strip()


def _to_float(text):
    return float(text) if text else np.nan


def _parse_local(path):
    rows = {key: [] for key in _FIELDS}
    mags = {band: ([], [], []) for band in PHAT_BANDS}
    with open(path, encoding="ascii") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            try:
                for key, (first, last) in _FIELDS.items():
                    text = _field(line, first, last)
                    if key in ("year1_id", "alt_name", "flag"):
                        rows[key].append(text)
                    elif key == "apid":
                        rows[key].append(str(int(text)))
                    else:
                        rows[key].append(_to_float(text))
                for k, band in enumerate(PHAT_BANDS):
                    start = _MAG_START + 13 * k
                    mag_text = _field(line, start, start + 5)
                    err_text = _field(line, start + 7, start + 11)
                    limit = mag_text.startswith(">")
                    mags[band][0].append(_to_float(mag_text.lstrip(">")))
                    mags[band][1].append(_to_float(err_text))
                    mags[band][2].append(limit)
            except ValueError as error:
                raise ValueError(
                    f"{path}, line {number}: not in the PHAT table2 fixed-width format ({error})"
                ) from None
    if not rows["apid"]:
        raise ValueError(f"{path} holds no catalogue rows")
    coord = SkyCoord(rows["ra"] * u.deg, rows["dec"] * u.deg, frame="icrs")
    table = QTable()
    table["name"] = np.array(rows["apid"], dtype=str)
    table["coord"] = coord
    for key in ("aperture_radius", "reff"):
        table[key] = _masked_arcsec(rows[key])
    table["cluster_fraction"] = np.array(rows["cluster_fraction"])
    table["frac_1"] = np.array(rows["frac_1"])
    table["frac_2"] = np.array(rows["frac_2"])
    for band in PHAT_BANDS:
        mag, err, limit = (np.array(v) for v in mags[band])
        _add_band(table, band, mag, err, limit)
    table["year1_id"] = np.array(rows["year1_id"], dtype=str)
    table["alt_name"] = np.array(rows["alt_name"], dtype=str)
    table["flag"] = np.array(rows["flag"], dtype=str)
    table["correction"] = masked_float(rows["correction"])
    return table


def _masked_arcsec(values):
    values = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    return Masked(values * u.arcsec, mask=~np.isfinite(values))


def _add_band(table, band, mag, err, limit):
    limit = np.asarray(limit, dtype=bool)
    table[f"mag_{band}"] = masked_float(mag, mask=limit)
    table[f"magerr_{band}"] = masked_float(err, mask=limit)
    table[f"uplim_{band}"] = limit
    table[f"mag_{band}"].description = f"{band.upper()} Vega magnitude (masked: missing or limit)"


def _from_vizier(vtable):
    """Map the VizieR table J/ApJ/802/127/table2 onto the reader's columns."""
    check_table(vtable, "the VizieR table")
    table = QTable()
    table["name"] = strings(vtable[find_column(vtable, ("APID", "AP", "ID"), what="APID")])
    table["coord"] = coords_from_table(vtable)
    for key, candidates in (
        ("aperture_radius", ("Rap", "Rad", "Raper", "Ap", "rap")),
        ("reff", ("Reff", "reff", "Re")),
    ):
        name = find_column(vtable, candidates, what=key, required=key == "reff")
        values = np.full(len(vtable), np.nan) if name is None else vtable[name]
        table[key] = _masked_arcsec(values)
    name = find_column(vtable, ("fcw", "fc,w", "fwc", "Wfc", "fw", "fc"), what="cluster fraction")
    table["cluster_fraction"] = np.ma.filled(np.ma.asarray(vtable[name], dtype=float), np.nan)
    for band in PHAT_BANDS:
        upper = band.upper()
        mag_name = find_column(vtable, (upper, f"{upper}mag", f"{band}mag"), what=upper)
        err_name = find_column(vtable, (f"e_{upper}", f"e_{upper}mag"), what="", required=False)
        lim_name = find_column(vtable, (f"l_{upper}", f"l_{upper}mag"), what="", required=False)
        limit = np.zeros(len(vtable), dtype=bool)
        if lim_name is not None:
            limit = strings(vtable[lim_name]) == ">"
        err = vtable[err_name] if err_name else np.full(len(vtable), np.nan)
        _add_band(table, band, vtable[mag_name], err, limit)
    for key, candidates in (
        ("year1_id", ("PCID", "Y1ID")),
        ("alt_name", ("OName", "AltName", "Name")),
        ("flag", ("Flag", "f_APID", "n_APID")),
    ):
        name = find_column(vtable, candidates, what=key, required=False)
        table[key] = strings(vtable[name]) if name else np.full(len(vtable), "", dtype=str)
    return table


def read_phat_ap(path=None, *, online=False):
    """Read the PHAT Andromeda Project cluster catalogue (Johnson et al. 2015).

    Parameters
    ----------
    path : str or `~pathlib.Path`, optional
        A copy of the CDS fixed-width file ``table2.dat``. By default the partial
        copy shipped with clusterfinder (1,477 of the 2,753 clusters) is read.
    online : bool, optional
        Query VizieR (J/ApJ/802/127, table2) for the whole catalogue instead of
        reading a file; needs a network connection and ``path`` must be `None`.

    Returns
    -------
    `~astropy.table.QTable`
        One row per cluster with the columns ``name`` (the APID, a string),
        ``coord`` (ICRS), ``aperture_radius`` and ``reff`` (arcsec, masked where
        blank), ``cluster_fraction`` (the weighted cluster fraction, 0-1),
        ``mag_<band>`` and ``magerr_<band>`` for the six bands of `PHAT_BANDS`
        (Vega magnitudes, masked where blank or an upper limit) with
        ``uplim_<band>`` (True where the catalogue gives an upper limit),
        ``year1_id``, ``alt_name`` and ``flag`` (strings, blank when absent). The
        local file also gives ``frac_1`` and ``frac_2``, the two other
        classification fractions of the file, and ``correction``, an unlabelled
        small value (probably an aperture correction). ``mag_g`` and ``mag_i``
        approximate MegaCam AB magnitudes from F475W and F814W with the offsets
        of `PHAT_TO_MEGACAM`. ``meta`` holds the reference, bibcode and VizieR
        identifier.

    Notes
    -----
    The Hubble magnitudes are Vega. F475W is close to MegaCam g and F814W to
    MegaCam i; their Vega-to-AB offsets are -0.10 and +0.42 mag. ``mag_g`` and
    ``mag_i`` apply only these offsets, without a colour term: good to about
    0.1 mag for magnitude cuts, not for precise photometry.

    Examples
    --------
    >>> from clusterfinder.labels.readers import read_phat_ap
    >>> phat = read_phat_ap()
    >>> len(phat)
    1477
    >>> row = phat[0]
    >>> str(row["name"]), str(row["alt_name"]), float(row["mag_f475w"])
    ('1', 'B374-G306', 18.77)
    >>> int(phat["uplim_f814w"].sum()), int(phat["mag_f814w"].mask.sum())
    (426, 432)
    >>> round(float(row["mag_g"]), 2)
    18.67
    """
    if online:
        if path is not None:
            raise ValueError("give either path= or online=True, not both")
        table = _from_vizier(get_vizier_table(_VIZIER, table="table2"))
        origin = f"VizieR {_VIZIER}/table2"
    else:
        origin = resolve_path(path, bundled_path(*_DEFAULT))
        table = _parse_local(origin)
    for band, (phat_band, offset) in PHAT_TO_MEGACAM.items():
        table[f"mag_{band}"] = table[f"mag_{phat_band}"] + offset
        table[
            f"mag_{band}"
        ].description = (
            f"approximate MegaCam {band} (AB) = {phat_band.upper()} (Vega) {offset:+.2f}"
        )
    return finish(
        table,
        catalog=_CATALOG,
        reference=_REFERENCE,
        bibcode=_BIBCODE,
        vizier=_VIZIER,
        origin=origin,
        description="PHAT Andromeda Project star clusters (magnitudes Vega)",
    )
