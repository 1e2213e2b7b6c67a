"""The Revised Bologna Catalogue of M31 globular clusters (RBC v5, Galleti et al.; VizieR V/143).

The copy shipped with clusterfinder holds the 625 confirmed globular clusters of
RBC v5 (August 2012) in the HNSKY planetarium "supplement" format: one object
per comma-separated line ``RA,RAm,RAs,Dec,DECm,DECs,mag*10,names,type,...``
with RA in decimal **hours**, Dec in degrees and the V magnitude times ten;
lines starting with ``;`` are comments. Names use SIMBAD's spelling
(``Bol225/SKHB280`` for B225-G280); `cluster_aliases` converts them.
"""

import re

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from ..vizier import get_vizier_table
from ._common import bundled_path, finish, masked_float, resolve_path, standardize

__all__ = ["cluster_aliases", "read_rbc"]

_RBC = {
    "catalog": "RBCv5",
    "reference": "Galleti, S., et al. 2004, A&A, 416, 917 (RBC v5, 2012)",
    "bibcode": "2004A&A...416..917G",
    "vizier": "V/143",
}

# SIMBAD spellings of the usual M31 cluster name prefixes (Bologna, Battistini, Sargent+).
_PREFIXES = (("SKHB", "G"), ("NBOL", "NB"), ("BOL", "B"))
# SIMBAD reference-code spellings of short names used by Caldwell et al.
_BRACKETED = (("[BH2001B]", "BH"),)


def cluster_aliases(name):
    """The names of one cluster in the short form used by Caldwell and the RBC.

    Splits a name on ``/`` and ``-`` and rewrites SIMBAD prefixes: ``Bol`` to
    ``B``, ``SKHB`` to ``G``, ``NBol`` to ``NB``, ``[BH2001b]`` to ``BH``;
    letters are upper-cased and zeros padding a number are removed (``B001``
    and ``Bol1`` are both ``B1``).

    Parameters
    ----------
    name : str
        A catalogue name such as ``"Bol225/SKHB280"`` or ``"B225-G280"``.

    Returns
    -------
    set of str

    Examples
    --------
    >>> sorted(cluster_aliases("Bol225/SKHB280"))
    ['B225', 'G280']
    >>> sorted(cluster_aliases("B001-G039"))
    ['B1', 'G39']
    >>> cluster_aliases("B225-G280") == cluster_aliases("Bol225/SKHB280")
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {type(name).__name__}")
    out = set()
    for part in re.split(r"[/\-]", name):
        part = part.strip().upper().replace(" ", "")
        for long, short in _BRACKETED:
            if part.startswith(long):
                part = short + part[len(long) :]
        for long, short in _PREFIXES:
            if part.startswith(long) and part[len(long) : len(long) + 1].isdigit():
                part = short + part[len(long) :]
                break
        # Zero padding differs between catalogues: B001 and Bol1 are one name.
        match = re.fullmatch(r"([A-Z]*?)0*(\d+)([A-Z]*)", part)
        if match:
            part = f"{match[1]}{int(match[2])}{match[3]}"
        if part:
            out.add(part)
    return out


def _parse_sup(path):
    names, ra, dec, vmag, kinds = [], [], [], [], []
    with open(path, encoding="latin-1") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            fields = line.split(",")
            if len(fields) < 8:
                raise ValueError(
                    f"{path}, line {number}: expected at least 8 comma-separated fields"
                )
            try:
                hours = sum(float(f or 0) / 60**k for k, f in enumerate(fields[0:3]))
                sign = -1.0 if fields[3].strip().startswith("-") else 1.0
                degrees = sum(abs(float(f or 0)) / 60**k for k, f in enumerate(fields[3:6]))
                mag = float(fields[6]) / 10.0 if fields[6].strip() else np.nan
            except ValueError as error:
                raise ValueError(f"{path}, line {number}: {error}") from None
            ra.append(15.0 * hours)
            dec.append(sign * degrees)
            vmag.append(mag)
            names.append(fields[7].strip())
            kinds.append(fields[8].strip() if len(fields) > 8 else "")
    if not names:
        raise ValueError(f"{path} holds no catalogue rows")
    table = QTable()
    table["name"] = np.array(names, dtype=str)
    table["coord"] = SkyCoord(np.array(ra) * u.deg, np.array(dec) * u.deg, frame="icrs")
    table["mag_v"] = masked_float(vmag)
    table["type"] = np.array(kinds, dtype=str)
    return table


def read_rbc(path=None, *, online=False):
    """Read the Revised Bologna Catalogue (v5) of M31 globular clusters.

    Parameters
    ----------
    path : str or `~pathlib.Path`, optional
        A file in the HNSKY supplement format described in the module
        docstring. By default the copy shipped with clusterfinder (the 625
        confirmed globular clusters).
    online : bool, optional
        Fetch the whole RBC (all classes: confirmed, candidates, rejected) from
        VizieR V/143 instead. VizieR's columns other than name, position and
        V magnitude are kept under their VizieR names (the class flag among
        them), so select confirmed clusters yourself.

    Returns
    -------
    `~astropy.table.QTable`
        ``name`` (SIMBAD spelling for the local file), ``coord``, ``mag_v``
        (V, masked when unknown) and ``type`` (``"GC"`` in the local file).

    Examples
    --------
    >>> from clusterfinder.labels.readers import read_rbc
    >>> rbc = read_rbc()
    >>> len(rbc)
    625
    >>> row = rbc[rbc["name"] == "Bol225/SKHB280"][0]
    >>> float(row["mag_v"]), row["coord"].to_string("hmsdms", precision=1)
    (14.2, '00h44m29.6s +41d21m35.3s')
    """
    if online:
        if path is not None:
            raise ValueError("give either path= or online=True, not both")
        raw = get_vizier_table(_RBC["vizier"])
        table = standardize(raw, names=("Name", "RBC", "ID"), mags={"v": ("Vmag", "V")})
        origin = f"VizieR {_RBC['vizier']}"
    else:
        origin = resolve_path(path, bundled_path("rbc_v5", "M31_RBC_v5_GC.sup"))
        table = _parse_sup(origin)
    return finish(
        table,
        origin=origin,
        description="Revised Bologna Catalogue v5 of M31 globular clusters (V magnitudes)",
        **_RBC,
    )
