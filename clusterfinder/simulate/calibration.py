"""Calibration of the simulated young clusters on the real PHAT Andromeda Project catalogue.

The magnitudes, colours and sizes of the simulated young clusters are not invented: they
are resampled from the PHAT Andromeda Project catalogue (Johnson et al. 2015), read with
`clusterfinder.labels.readers.read_phat_ap` (the bundled copy). Hubble F475W and F814W
(Vega) are converted to MegaCam-like g and i (AB) with F475W - 0.10 and F814W + 0.42.

`phat_distributions` returns the empirical distributions, so that real and simulated
clusters can be compared (the validation example plots them side by side);
`draw_young_clusters` draws new clusters from them.
"""

import functools

import astropy.units as u
import numpy as np
from astropy.table import QTable

from clusterfinder.galaxy import M31

__all__ = ["draw_young_clusters", "phat_distributions"]

#: Distance at which the PHAT magnitudes and sizes were measured (the M31 preset's).
PHAT_DISTANCE = 785 * u.kpc

# Resampling jitter: magnitudes (mag), colours (mag) and log10 sizes (dex).
_MAG_JITTER = 0.10
_COLOR_JITTER = 0.05
_SIZE_JITTER = 0.05
# Colours are taken from clusters of similar g: among this many neighbours in g.
_COLOR_NEIGHBOURS = 40


def _plain(column):
    """A float ndarray with NaN where ``column`` is masked or missing."""
    values = getattr(column, "unmasked", column)
    values = np.asarray(getattr(values, "value", values), dtype=float).copy()
    mask = getattr(column, "mask", None)
    if mask is not None:
        values[np.asarray(mask, dtype=bool)] = np.nan
    return values


@functools.lru_cache(maxsize=1)
def _phat_arrays():
    from clusterfinder.labels.readers import read_phat_ap

    table = read_phat_ap()
    mag_g = _plain(table["mag_g"])
    mag_i = _plain(table["mag_i"])
    reff = _plain(table["reff"].to(u.arcsec) if hasattr(table["reff"], "unit") else table["reff"])
    return mag_g, mag_i, reff


def phat_distributions():
    """The empirical distributions of real young M31 clusters (PHAT AP catalogue).

    Returns
    -------
    `~astropy.table.QTable`
        One row per catalogued cluster with ``mag_g`` and ``mag_i`` (AB, NaN where the
        catalogue has no measurement or only an upper limit), ``color_gi`` (``mag_g -
        mag_i``), ``reff`` (arcsec) and ``reff_pc`` (pc at 785 kpc). ``meta`` names the
        source and the conversions.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.simulate import phat_distributions
    >>> real = phat_distributions()
    >>> len(real) > 1000, 1.5 < float(np.nanmedian(real["reff_pc"].value)) < 2.5
    (True, True)
    """
    mag_g, mag_i, reff = _phat_arrays()
    scale = (PHAT_DISTANCE * (1 * u.arcsec).to_value(u.rad)).to_value(u.pc)
    table = QTable(
        {
            "mag_g": mag_g,
            "mag_i": mag_i,
            "color_gi": mag_g - mag_i,
            "reff": reff * u.arcsec,
            "reff_pc": reff * scale * u.pc,
        }
    )
    table.meta["source"] = "PHAT Andromeda Project, Johnson et al. 2015, ApJ 802, 127"
    table.meta["conversion"] = "g = F475W - 0.10, i = F814W + 0.42 (Vega to AB)"
    return table


def draw_young_clusters(rng, n, *, galaxy=M31):
    """Draw magnitudes and sizes of ``n`` young clusters from the PHAT distributions.

    Magnitudes g are resampled from every cluster with a measured F475W; the colour
    g - i is taken from a random cluster among the nearest in g that has both bands; the
    size from any cluster with a measured Reff. Small Gaussian jitters smooth the
    resampling. Magnitudes move with the distance modulus of ``galaxy`` relative to M31;
    sizes are physical (pc).

    Parameters
    ----------
    rng : `numpy.random.Generator`
    n : int
    galaxy : `~clusterfinder.galaxy.GalaxyGeometry`, optional

    Returns
    -------
    mag_g, mag_i, reff_pc : ndarray
        Observed total AB magnitudes (the PHAT photometry includes the dust in front of
        each cluster) and projected half-light radii in pc.

    Examples
    --------
    >>> import numpy as np
    >>> g, i, reff = draw_young_clusters(np.random.default_rng(1), 5)
    >>> g.shape, bool(np.all(reff > 0))
    ((5,), True)
    """
    mag_g, mag_i, reff = _phat_arrays()
    good_g = np.sort(mag_g[np.isfinite(mag_g)])
    both = np.isfinite(mag_g) & np.isfinite(mag_i)
    order = np.argsort(mag_g[both])
    both_g = mag_g[both][order]
    both_color = (mag_g - mag_i)[both][order]
    sizes = reff[np.isfinite(reff) & (reff > 0)]
    scale = (PHAT_DISTANCE * (1 * u.arcsec).to_value(u.rad)).to_value(u.pc)

    g = good_g[rng.integers(0, good_g.size, n)] + rng.normal(0.0, _MAG_JITTER, n)
    position = np.searchsorted(both_g, g)
    half = _COLOR_NEIGHBOURS // 2
    low = np.clip(position - half, 0, both_g.size - _COLOR_NEIGHBOURS)
    pick = low + rng.integers(0, _COLOR_NEIGHBOURS, n)
    color = both_color[pick] + rng.normal(0.0, _COLOR_JITTER, n)
    reff_pc = sizes[rng.integers(0, sizes.size, n)] * scale
    reff_pc = reff_pc * 10.0 ** rng.normal(0.0, _SIZE_JITTER, n)
    shift = 5.0 * np.log10((galaxy.distance / PHAT_DISTANCE).to_value(u.one))
    g = g + shift
    return g, g - color, reff_pc
