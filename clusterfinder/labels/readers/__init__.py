"""Readers for published catalogues of M31 star clusters and contaminants.

Each reader returns an `~astropy.table.QTable` with a ``name`` column, an ICRS
``coord`` column, magnitudes where the catalogue has them (``mag_v``,
``mag_f475w``, ``mag_g``...) and its own extra columns; ``meta`` holds the
reference, bibcode and VizieR identifier. Readers read the copy of their
catalogue shipped with clusterfinder by default (or a file given as ``path``),
and the whole catalogue from VizieR with ``online=True``.

=====================  ====================================================  ==============
reader                 catalogue                                             VizieR
=====================  ====================================================  ==============
`read_phat_ap`         PHAT Andromeda Project clusters (Johnson+15)          J/ApJ/802/127
`read_caldwell2011`    Hectospec old and young clusters (Caldwell+11)        J/AJ/141/61
`read_cr16`            known globular clusters (Caldwell & Romanowsky 16)    J/ApJ/824/42
`read_rbc`             Revised Bologna Catalogue v5 (Galleti+)               V/143
`read_zhang2025`       PAndAS ResNet-50 candidates (online only)             J/ApJS/278/16
`read_wang2022`        PAndAS CNN candidates (online only)                   J/A+A/658/A51
`read_quasars_m31`     quasars behind M31 (Nedialkov+26, local)              --
=====================  ====================================================  ==============
"""

from .caldwell import read_caldwell2011, read_cr16
from .candidates import read_quasars_m31, read_wang2022, read_zhang2025
from .phat import PHAT_BANDS, read_phat_ap
from .rbc import cluster_aliases, read_rbc

__all__ = [
    "PHAT_BANDS",
    "cluster_aliases",
    "read_caldwell2011",
    "read_cr16",
    "read_phat_ap",
    "read_quasars_m31",
    "read_rbc",
    "read_wang2022",
    "read_zhang2025",
]
