"""Machine-learning candidate catalogues of PAndAS and the quasars behind M31.

- Zhang et al. 2025 (ApJS 278, 16; VizieR J/ApJS/278/16): ResNet-50 cluster
  candidates over PAndAS within 30 kpc of M31, after visual inspection.
- Wang et al. 2022 (A&A 658, A51; VizieR J/A+A/658/A51): CNN candidates over
  PAndAS, vetted by five inspectors.
- Nedialkov et al. 2026: confirmed background quasars seen through M31's disc,
  compact sources that make natural hard negatives (shipped with clusterfinder).

No local copy of the two candidate catalogues exists: they are read from
VizieR (``online=True``) or from a table you saved from there (``path=``, any
format astropy reads, e.g. a VOTable or FITS download). Their columns are
mapped by name: the first column among the candidates listed in each reader
becomes ``name``, ``coord`` and ``mag_g``/``mag_i``; all other columns are kept
under their VizieR names.
"""

import numpy as np
from astropy.table import Table

from ..vizier import get_vizier_table
from ._common import bundled_path, finish, plain_float, resolve_path, standardize, strings

__all__ = ["read_quasars_m31", "read_wang2022", "read_zhang2025"]

_NAMES = ("Name", "ID", "Seq", "Index", "No", "SourceID", "PAndAS")
_MAGS = {
    "g": ("gmag", "g0mag", "g", "g0", "mag_g", "gMAG"),
    "i": ("imag", "i0mag", "i", "i0", "mag_i", "iMAG"),
}
_ZHANG = {
    "catalog": "Zhang2025",
    "reference": "Zhang, Z., et al. 2025, ApJS, 278, 16",
    "bibcode": "2025ApJS..278...16Z",
    "vizier": "J/ApJS/278/16",
}
_WANG = {
    "catalog": "Wang2022",
    "reference": "Wang, S., et al. 2022, A&A, 658, A51",
    "bibcode": "2022A&A...658A..51W",
    "vizier": "J/A+A/658/A51",
}
_QSO = {
    "catalog": "Quasars-M31",
    "reference": "Nedialkov, P., et al. 2026 (quasars behind M31)",
    "bibcode": "",
    "vizier": "",
}


def _read_candidates(path, online, table, info, description):
    if online:
        if path is not None:
            raise ValueError("give either path= or online=True, not both")
        raw = get_vizier_table(info["vizier"], table=table)
        origin = f"VizieR {info['vizier']}"
    else:
        if path is None:
            raise ValueError(
                f"no copy of {info['vizier']} ships with clusterfinder: pass online=True "
                "(needs a network connection) or path= to a table saved from VizieR"
            )
        origin = resolve_path(path, None)
        raw = Table.read(origin)
    mapped = standardize(raw, names=_NAMES, mags=_MAGS)
    return finish(mapped, origin=origin, description=description, **info)


def read_zhang2025(path=None, *, online=False, table=None):
    """Read the Zhang et al. (2025) PAndAS cluster candidates (J/ApJS/278/16).

    Parameters
    ----------
    path : str or `~pathlib.Path`, optional
        A copy of the VizieR table in any format `astropy.table.Table.read`
        recognises by its extension.
    online : bool, optional
        Fetch the table from VizieR.
    table : str, optional
        The VizieR table to fetch when the catalogue holds several.

    Returns
    -------
    `~astropy.table.QTable`
        ``name``, ``coord``, ``mag_g`` and ``mag_i`` (with ``magerr_`` where
        VizieR gives ``e_`` columns) and every other column of the table.

    Examples
    --------
    >>> from clusterfinder.labels.readers import read_zhang2025
    >>> zhang = read_zhang2025(online=True)  # doctest: +REMOTE_DATA
    >>> "coord" in zhang.colnames  # doctest: +REMOTE_DATA
    True
    """
    return _read_candidates(path, online, table, _ZHANG, "PAndAS ResNet-50 cluster candidates")


def read_wang2022(path=None, *, online=False, table=None):
    """Read the Wang et al. (2022) PAndAS cluster candidates (J/A+A/658/A51).

    No copy ships with clusterfinder: give a table saved from VizieR, or fetch it.

    Parameters
    ----------
    path : str or `~pathlib.Path`, optional
        A copy of the VizieR table in any format `astropy.table.Table.read`
        recognises by its extension.
    online : bool, optional
        Fetch the table from VizieR (needs a network connection).
    table : str, optional
        The VizieR table to fetch when the catalogue holds several.

    Returns
    -------
    `~astropy.table.QTable`
        ``name``, ``coord``, ``mag_g`` and ``mag_i`` (with ``magerr_`` where
        VizieR gives ``e_`` columns) and every other column of the table;
        ``meta`` holds the reference, bibcode and VizieR identifier.

    Raises
    ------
    ValueError
        If neither ``path`` nor ``online=True`` is given, or both are, or the
        table has no sky positions.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from astropy.table import Table
    >>> from clusterfinder.labels.readers import read_wang2022
    >>> saved = Table({"RAJ2000": [10.52, 11.03], "DEJ2000": [41.10, 41.62],
    ...                "gmag": [19.8, 20.6], "imag": [18.9, 19.7]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     saved.write(Path(folder) / "wang2022.ecsv")
    ...     wang = read_wang2022(Path(folder) / "wang2022.ecsv")
    >>> wang["coord"].dec.deg.tolist(), wang["mag_i"].tolist(), wang.meta["vizier"]
    ([41.1, 41.62], [18.9, 19.7], 'J/A+A/658/A51')
    >>> online = read_wang2022(online=True)  # doctest: +REMOTE_DATA
    """
    return _read_candidates(path, online, table, _WANG, "PAndAS CNN cluster candidates")


def read_quasars_m31(path=None):
    """Read the confirmed background quasars behind M31 (Nedialkov et al. 2026).

    Parameters
    ----------
    path : str or `~pathlib.Path`, optional
        The FITS table; by default the copy shipped with clusterfinder.

    Returns
    -------
    `~astropy.table.QTable`
        ``name`` (the Pan-STARRS1 id), ``coord``, ``mag_g``, ``mag_r``,
        ``mag_i``, ``mag_z``, ``mag_y`` (Pan-STARRS1, AB) with ``magerr_``
        columns, ``gaia_dr3_id`` and the catalogue's other columns (redshifts,
        extinction) under their own names.

    Examples
    --------
    >>> from clusterfinder.labels.readers import read_quasars_m31
    >>> qso = read_quasars_m31()
    >>> len(qso), bool((qso["mag_i"] < 21).sum() > 10)
    (125, True)
    """
    origin = resolve_path(path, bundled_path("quasars_m31", "quasars_M31.fits"))
    raw = Table.read(origin)
    table = standardize(raw, names=("PS1_ID",), mags={}, keep_other=False)
    table["gaia_dr3_id"] = strings(raw["Gaia_DR3_ID"])
    photometry = set()
    for band in "grizy":
        table[f"mag_{band}"] = plain_float(raw[f"{band}_mag"])
        table[f"magerr_{band}"] = plain_float(raw[f"{band}_mag_err"])
        photometry.update((f"{band}_mag", f"{band}_mag_err"))
    for col in raw.colnames:
        if col not in photometry and col not in ("PS1_ID", "Gaia_DR3_ID", "RA", "DEC"):
            table[col] = np.asarray(raw[col])
    return finish(
        table,
        origin=origin,
        description="confirmed background quasars behind M31 (Pan-STARRS1 AB magnitudes)",
        **_QSO,
    )
