"""Train/validation/test splits of labelled sky positions that do not leak.

A random split of sky positions leaks: the same cluster listed twice, two
neighbours whose stamps overlap, or one crowded patch of disc can end up in
both the training and the test set, and the test score then measures memory,
not skill. `group_split` avoids that by splitting whole *groups*:

- every source within ``radius`` of another (friends of friends, so chains
  too) is in the group of that source, so no pair closer than ``radius`` is
  ever split;
- optionally, every source in the same square sky block of side
  ``block_size`` (on the tangent plane at the centre of the sources) is in the
  same group, so that whole patches of sky are held out.

Groups are shuffled with ``seed`` and dealt one at a time to the split that is
furthest below its target, counted per class, so each split gets about its
fraction of clusters and of non-clusters. The result is exact for many small
groups and approximate when a few groups hold many sources.
"""

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from ..crossmatch import friends_of_friends
from ..utils import as_generator
from .region import mean_direction

__all__ = ["SPLIT_NAMES", "check_fractions", "group_split", "leak_groups"]

#: Names of the parts of a split, in order.
SPLIT_NAMES = ("train", "validation", "test")


def check_fractions(fractions):
    """Validate split fractions: 2 or 3 non-negative numbers summing to 1."""
    try:
        values = np.array(fractions, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"fractions must be a sequence of numbers; got {fractions!r}") from None
    if values.ndim != 1 or len(values) not in (2, 3):
        raise ValueError(f"fractions must hold 2 or 3 numbers; got {fractions!r}")
    if np.any(~np.isfinite(values)) or np.any(values < 0) or not np.isclose(values.sum(), 1.0):
        raise ValueError(f"fractions must be non-negative and sum to 1; got {fractions!r}")
    return values


def _block_ids(coords, block_size):
    block = Angle(block_size)
    if not block.isscalar or not block.to_value(u.deg) > 0:
        raise ValueError(f"block_size must be a positive angle; got {block_size!r}")
    center = mean_direction(coords)
    frame = center.skyoffset_frame()
    offsets = coords.transform_to(frame)
    x = np.floor(offsets.lon.to_value(u.deg) / block.to_value(u.deg)).astype(np.int64)
    y = np.floor(offsets.lat.to_value(u.deg) / block.to_value(u.deg)).astype(np.int64)
    _, ids = np.unique(np.stack([x, y], axis=1), axis=0, return_inverse=True)
    return ids.reshape(-1)


def leak_groups(coords, *, radius=5 * u.arcsec, block_size=None):
    """Group number per source: sources that must stay in the same split.

    Parameters
    ----------
    coords : `~astropy.coordinates.SkyCoord`
        The positions, a one-dimensional array.
    radius : `~astropy.units.Quantity`
        Linking length of the friends-of-friends groups (an angle).
    block_size : `~astropy.units.Quantity`, optional
        Side of square sky blocks kept whole (an angle); `None` for no blocks.

    Returns
    -------
    `numpy.ndarray` of int

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from clusterfinder.labels.split import leak_groups
    >>> coords = SkyCoord([10.0, 10.001, 10.2] * u.deg, [41.0, 41.0, 41.0] * u.deg)
    >>> leak_groups(coords, radius=5 * u.arcsec)
    array([0, 0, 1])
    """
    groups = friends_of_friends(coords, radius)
    if block_size is None or len(groups) == 0:
        return groups
    blocks = _block_ids(coords, block_size)
    # Merge FoF groups and blocks: components of the bipartite graph group--block.
    n_groups = groups.max() + 1
    n_nodes = n_groups + blocks.max() + 1
    graph = coo_array(
        (np.ones(len(groups), dtype=np.int8), (groups, n_groups + blocks)), shape=(n_nodes, n_nodes)
    )
    _, components = connected_components(graph, directed=False)
    merged = components[groups]
    _, first, inverse = np.unique(merged, return_index=True, return_inverse=True)
    return np.argsort(np.argsort(first))[inverse]


def group_split(groups, labels, fractions, *, seed=0):
    """Deal whole groups to splits so that each split gets its fraction of each class.

    Parameters
    ----------
    groups : array of int
        Group number per source (see `leak_groups`).
    labels : array of int
        Class (0 or 1) per source.
    fractions : sequence of float
        Target fraction of each split (2 or 3 numbers summing to 1).
    seed : None, int or `numpy.random.Generator`
        Seeds the order in which groups are dealt.

    Returns
    -------
    `numpy.ndarray` of int
        The split (an index into ``fractions``) of each source.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.labels.split import group_split
    >>> groups = np.arange(20)
    >>> labels = np.array([0, 1] * 10)
    >>> np.bincount(group_split(groups, labels, (0.5, 0.5), seed=1))
    array([10, 10])
    """
    fractions = check_fractions(fractions)
    groups = np.asarray(groups)
    labels = np.asarray(labels)
    rng = as_generator(seed)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    # Members of each class per group.
    counts = np.zeros((n_groups, 2), dtype=float)
    np.add.at(counts, (groups, labels), 1.0)
    targets = fractions[:, None] * counts.sum(axis=0)[None, :]
    current = np.zeros_like(targets)
    assignment = np.empty(n_groups, dtype=int)
    sizes = counts.sum(axis=1)
    # Deal groups of several sources one at a time, largest first (random order
    # among equals), so that the big ones are placed while every split has room.
    order = rng.permutation(n_groups)
    order = order[sizes[order] > 1]
    order = order[np.argsort(-sizes[order], kind="stable")]
    weights = 1.0 / np.maximum(counts.sum(axis=0), 1.0)  # each class counts equally
    for group in order:
        deficit = ((targets - current) * weights) @ (counts[group] > 0)
        deficit = np.where(fractions > 0, deficit, -np.inf)
        best = int(np.argmax(deficit))
        assignment[group] = best
        current[best] += counts[group]
    # Single sources fill what each split still lacks, class by class.
    for cls in (0, 1):
        singles = np.flatnonzero((sizes == 1) & (counts[:, cls] == 1))
        singles = singles[rng.permutation(len(singles))]
        need = np.clip(targets[:, cls] - current[:, cls], 0, None)
        share = need if need.sum() > 0 else fractions.copy()
        quota = _largest_remainder(share / share.sum() * len(singles))
        assignment[singles] = np.repeat(np.arange(len(fractions)), quota)
        current[:, cls] += quota
    return assignment[groups]


def _largest_remainder(amounts):
    """Integers summing to round(sum(amounts)), each the floor or ceiling of its amount."""
    floor = np.floor(amounts).astype(int)
    missing = round(float(amounts.sum())) - int(floor.sum())
    if missing > 0:
        floor[np.argsort(-(amounts - floor), kind="stable")[:missing]] += 1
    return floor
