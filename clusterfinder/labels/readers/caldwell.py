"""Spectroscopic M31 cluster catalogues of Caldwell et al. (2011) and Caldwell & Romanowsky (2016).

Caldwell et al. 2011 (AJ 141, 61; CDS J/AJ/141/61) give, from MMT/Hectospec
spectra, 323 old clusters (``table1``) and 37 young or intermediate-age
clusters that an earlier paper had called old (``table2``). Caldwell &
Romanowsky 2016 (ApJ 824, 42) list all known M31 globular clusters of their
sample, including the PAndAS halo clusters, in an AAS machine-readable table.
Both catalogues overlap the Revised Bologna Catalogue heavily and name most
clusters the same way (``B225-G280``).
"""

from pathlib import Path

import numpy as np
from astropy.table import Table, vstack

from ..vizier import get_vizier_table
from ._common import bundled_path, finish, plain_float, resolve_path, standardize, strings

__all__ = ["read_caldwell2011", "read_cr16"]

_C11 = {
    "catalog": "Caldwell2011",
    "reference": "Caldwell, N., et al. 2011, AJ, 141, 61",
    "bibcode": "2011AJ....141...61C",
    "vizier": "J/AJ/141/61",
}
_CR16 = {
    "catalog": "CR16",
    "reference": "Caldwell, N. & Romanowsky, A. J. 2016, ApJ, 824, 42",
    "bibcode": "2016ApJ...824...42C",
    "vizier": "J/ApJ/824/42",
}
_C11_TABLES = {"old": "table1", "young": "table2"}
_FLOATS = {
    "ebv": ("E(B-V)",),
    "velocity": ("Vel", "RVel", "HRV"),
    "e_velocity": ("e_Vel", "e_RVel", "e_HRV"),
    "logm": ("logM", "LogM"),
    "feh": ("[Fe/H]",),
    "e_feh": ("e_[Fe/H]",),
    "age": ("Age",),
    "r_proj": ("R",),
    "r_major": ("Ra",),
}


def _map(raw):
    """Common mapping of the Caldwell-family tables (local CDS files or VizieR)."""
    table = standardize(raw, names=("Name",), mags={}, keep_other=False)
    lower = {name.lower(): name for name in raw.colnames}
    for out, candidates in _FLOATS.items():
        for candidate in candidates:
            if candidate.lower() in lower:
                table[out] = plain_float(raw[lower[candidate.lower()]])
                break
    for out, candidates in (("notes", ("Notes",)), ("n_name", ("n_Name",))):
        for candidate in candidates:
            if candidate.lower() in lower:
                table[out] = strings(raw[lower[candidate.lower()]])
    return table


def _check_which(which):
    if which not in ("old", "young", "both"):
        raise ValueError(f"which must be 'old', 'young' or 'both'; got {which!r}")
    return ("old", "young") if which == "both" else (which,)


def read_caldwell2011(path=None, *, which="both", online=False):
    """Read the Caldwell et al. (2011) M31 cluster catalogue.

    Parameters
    ----------
    path : str or `~pathlib.Path`, optional
        A folder holding the CDS files ``ReadMe``, ``table1.dat`` and
        ``table2.dat``. By default the copy shipped with clusterfinder.
    which : {'both', 'old', 'young'}, optional
        The old clusters of table 1, the young and intermediate-age clusters of
        table 2, or both (the default).
    online : bool, optional
        Fetch the tables from VizieR (J/AJ/141/61) instead of reading files.

    Returns
    -------
    `~astropy.table.QTable`
        ``name``, ``coord``, ``population`` (``"old"`` or ``"young"``), ``ebv``
        (E(B-V), mag), ``velocity`` and ``e_velocity`` (km/s), ``logm``
        (log10 mass in solar masses), ``age`` (Gyr) and, for old clusters,
        ``feh`` and ``e_feh`` ([Fe/H]) and ``notes``; masked where blank.
        The catalogue gives no magnitudes.

    Examples
    --------
    >>> from clusterfinder.labels.readers import read_caldwell2011
    >>> c11 = read_caldwell2011()
    >>> len(c11), int((c11["population"] == "young").sum())
    (360, 37)
    >>> row = c11[c11["name"] == "B225-G280"][0]
    >>> row["coord"].to_string("hmsdms", precision=2)
    '00h44m29.55s +41d21m35.80s'
    """
    parts = []
    if online:
        if path is not None:
            raise ValueError("give either path= or online=True, not both")
        origin = f"VizieR {_C11['vizier']}"
    else:
        folder = bundled_path("caldwell2011") if path is None else Path(path)
        if not folder.is_dir():
            raise OSError(f"path must be a folder with ReadMe, table1.dat, table2.dat: {folder}")
        origin = folder
    for population in _check_which(which):
        name = _C11_TABLES[population]
        if online:
            raw = get_vizier_table(_C11["vizier"], table=name)
        else:
            readme = resolve_path(folder / "ReadMe", None, "ReadMe")
            data = resolve_path(folder / f"{name}.dat", None, f"{name}.dat")
            raw = Table.read(data, format="ascii.cds", readme=str(readme))
        table = _map(raw)
        table["population"] = np.full(len(table), population, dtype="<U5")
        parts.append(table)
    table = parts[0] if len(parts) == 1 else vstack(parts, metadata_conflicts="silent")
    return finish(
        table,
        origin=origin,
        description="M31 clusters with Hectospec spectroscopy (old: table1, young: table2)",
        **_C11,
    )


def read_cr16(path=None, *, online=False):
    """Read the Caldwell & Romanowsky (2016) catalogue of M31 globular clusters.

    Parameters
    ----------
    path : str or `~pathlib.Path`, optional
        The AAS machine-readable table (``CR16_table1.txt``). By default the
        copy shipped with clusterfinder.
    online : bool, optional
        Fetch the table from VizieR (J/ApJ/824/42) instead of reading a file.

    Returns
    -------
    `~astropy.table.QTable`
        ``name``, ``coord``, ``velocity``, ``e_velocity`` (km/s), ``feh``,
        ``e_feh``, ``age`` (Gyr), ``logm``, ``r_proj`` (projected radius, kpc) and
        ``r_major`` (semi-major-axis radius, kpc); masked where blank. No
        magnitudes.

    Examples
    --------
    >>> from clusterfinder.labels.readers import read_cr16
    >>> cr16 = read_cr16()
    >>> len(cr16)
    441
    >>> float(cr16["r_proj"][cr16["name"] == "B225-G280"][0])
    4.6
    """
    if online:
        if path is not None:
            raise ValueError("give either path= or online=True, not both")
        raw = get_vizier_table(_CR16["vizier"], table="table1")
        origin = f"VizieR {_CR16['vizier']}"
    else:
        origin = resolve_path(path, bundled_path("caldwell_romanowsky2016", "CR16_table1.txt"))
        raw = Table.read(origin, format="ascii.mrt")
    return finish(
        _map(raw),
        origin=origin,
        description="known M31 globular clusters with kinematics and metallicities",
        **_CR16,
    )
