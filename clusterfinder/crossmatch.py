"""Sky cross-matching shared by labels, candidate catalogues and scans.

Two operations recur across clusterfinder: grouping sources of one list that
lie close to each other (duplicates from overlapping fields, neighbours that
must stay in one training split), and finding, for each source of one list,
its nearest counterpart in another within a radius. Both are built on
`astropy.coordinates.search_around_sky` and
`~astropy.coordinates.SkyCoord.match_to_catalog_sky`.
"""

import numpy as np
from astropy import units as u
from astropy.coordinates import Angle, SkyCoord, search_around_sky
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from .utils.validation import check_radius

__all__ = ["check_finite_coords", "friends_of_friends", "match_nearest"]


def check_finite_coords(coords, name, *, rows="rows"):
    """Refuse positions that are not finite (NaN or infinite RA/Dec), naming where they are.

    astropy's matching functions fail on them with "Catalog coordinates cannot contain
    NaN entries", which names neither the input nor the rows.

    Parameters
    ----------
    coords : `~astropy.coordinates.SkyCoord`
        One-dimensional positions.
    name : str
        The input they come from, for the message (e.g. ``"the LabelSet"``).
    rows : str, optional
        What the entries are called in the message.

    Returns
    -------
    `~astropy.coordinates.SkyCoord`
        ``coords`` itself.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> check_finite_coords(SkyCoord([1, np.nan] * u.deg, [2, 3] * u.deg), "labels")
    Traceback (most recent call last):
    ...
    ValueError: labels has 1 position that is not finite (NaN or infinite RA/Dec) at rows [1]; ...
    """
    if len(coords) == 0:
        return coords
    spherical = coords.spherical
    lon = np.asarray(spherical.lon.deg, dtype=float)
    lat = np.asarray(spherical.lat.deg, dtype=float)
    bad = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat)))
    if len(bad):
        shown = bad[:10].tolist()
        more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
        raise ValueError(
            f"{name} has {len(bad)} position{'s' if len(bad) != 1 else ''} that "
            f"{'are' if len(bad) != 1 else 'is'} not finite (NaN or infinite RA/Dec) at "
            f"{rows} {shown}{more}; drop {'them' if len(bad) != 1 else 'it'} or give "
            "every object a position"
        )
    return coords


def _check_coords(coords, name):
    if not isinstance(coords, SkyCoord):
        raise TypeError(f"{name} must be a SkyCoord; got {type(coords).__name__}")
    if coords.isscalar:
        coords = coords.reshape((1,))
    elif coords.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional SkyCoord; got shape {coords.shape}")
    return check_finite_coords(coords, name)


def friends_of_friends(coords, radius):
    """Group sources linked by chains of separations below ``radius``.

    Two sources belong to one group when they are closer than ``radius``, or
    when a chain of such pairs joins them (the friends-of-friends rule).

    Parameters
    ----------
    coords : `~astropy.coordinates.SkyCoord`
        The positions, a one-dimensional array.
    radius : `~astropy.units.Quantity`
        The linking length, an angle.

    Returns
    -------
    groups : `numpy.ndarray` of int
        A group number per source, from 0 to the number of groups minus one,
        numbered in the order in which groups first appear in ``coords``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from clusterfinder.crossmatch import friends_of_friends
    >>> coords = SkyCoord([10.0, 10.0001, 10.0002, 11.0] * u.deg, [41.0] * 4 * u.deg)
    >>> friends_of_friends(coords, 0.5 * u.arcsec)
    array([0, 0, 0, 1])
    """
    coords = _check_coords(coords, "coords")
    radius = Angle(check_radius(radius))
    n = len(coords)
    if n == 0:
        return np.zeros(0, dtype=int)
    first, second, _, _ = search_around_sky(coords, coords, radius)
    graph = coo_array((np.ones(len(first), dtype=np.int8), (first, second)), shape=(n, n))
    _, components = connected_components(graph, directed=False)
    # Renumber so that groups appear in the order of their first member.
    _, first_seen, inverse = np.unique(components, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first_seen))
    return order[inverse].astype(int)


def match_nearest(coords, catalog_coords, radius):
    """Find, for each source, its nearest counterpart in a catalogue.

    Parameters
    ----------
    coords : `~astropy.coordinates.SkyCoord`
        The sources to match, a one-dimensional array.
    catalog_coords : `~astropy.coordinates.SkyCoord`
        The catalogue to match against.
    radius : `~astropy.units.Quantity`
        The largest separation accepted as a match, an angle.

    Returns
    -------
    index : `numpy.ndarray` of int
        Index in ``catalog_coords`` of each source's nearest counterpart, or -1
        where none lies within ``radius``.
    separation : `~astropy.coordinates.Angle`
        Separation to the nearest counterpart (NaN where the catalogue is empty).
    matched : `numpy.ndarray` of bool
        True where a counterpart lies within ``radius``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from clusterfinder.crossmatch import match_nearest
    >>> sources = SkyCoord([10.0, 12.0] * u.deg, [41.0, 41.0] * u.deg)
    >>> known = SkyCoord([11.0, 10.0001] * u.deg, [41.0, 41.0] * u.deg)
    >>> index, separation, matched = match_nearest(sources, known, 1 * u.arcsec)
    >>> index, matched
    (array([ 1, -1]), array([ True, False]))
    """
    coords = _check_coords(coords, "coords")
    catalog_coords = _check_coords(catalog_coords, "catalog_coords")
    radius = Angle(check_radius(radius))
    n = len(coords)
    if n == 0 or len(catalog_coords) == 0:
        separation = Angle(np.full(n, np.nan), u.deg)
        return np.full(n, -1, dtype=int), separation, np.zeros(n, dtype=bool)
    if len(catalog_coords) == 1:
        # match_to_catalog_sky needs at least two catalogue entries.
        separation = coords.separation(catalog_coords[0])
        index = np.zeros(n, dtype=int)
    else:
        index, separation, _ = coords.match_to_catalog_sky(catalog_coords)
        index = np.asarray(index, dtype=int)
    matched = np.asarray(separation <= radius)
    return np.where(matched, index, -1), Angle(separation), matched
