"""What the row-like classes share: indexing rows and joining objects (private).

`~clusterfinder.Cutout`, `~clusterfinder.LabelSet` and
`~clusterfinder.CandidateCatalog` hold one row per source and keep one contract
(tested by ``tests/core/test_contract.py``):

- they are indexed along their rows the same way: an integer, a slice, a boolean
  mask of their length, or a 1-d array (or list) of integers. `row_index` checks
  such an index once, so that the three classes refuse the same bad indices with the
  same errors: `IndexError` for a position outside the rows or a mask of the wrong
  length, `TypeError` for anything that is not an index at all (a float, None, a
  dict, a 2-d array...), rather than an error from deep inside numpy or astropy;
- ``concatenate(items)`` checks its argument with `concatenation_items` and merges
  the metadata of the parts with `merged_meta`.

Not part of the public API: import from ``clusterfinder.utils.rows`` inside the
package only.
"""

import copy
import operator

import numpy as np

__all__ = ["concatenation_items", "merged_meta", "row_index"]


def row_index(item, n, *, name, rows="rows", hint=""):
    """Check a row index of an object of ``n`` rows; return a slice or an int array.

    Parameters
    ----------
    item : int, slice, array-like of bool or int, or a 1-tuple of an array
        The index. An integer ``k`` (``-n <= k < n``) becomes the slice of that one row,
        so that the result of indexing is always an object of the same class. Arrays
        are numpy arrays, lists, ranges or anything with ``__array__`` (a table
        column, a torch tensor...). A tuple of one array (what `numpy.nonzero` and
        `numpy.where` return for a 1-d mask) is taken as that array.
    n : int
        The number of rows.
    name : str
        The class indexed, for the messages (e.g. ``"LabelSet"``).
    rows : str, optional
        What its rows are, for the messages (e.g. ``"stamps"``).
    hint : str, optional
        Appended to the message that refuses a tuple (e.g. where to index for
        pixels).

    Returns
    -------
    slice or `numpy.ndarray` of intp
        Non-negative positions (an integer array) or a slice.

    Raises
    ------
    IndexError
        If a position lies outside the ``n`` rows, or a boolean mask does not have
        length ``n``.
    TypeError
        If ``item`` is not a row index: a single boolean, a float, None, a string, a
        dict, a tuple of several indices, an array of another type or with more than
        one dimension.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.utils.rows import row_index
    >>> row_index(-1, 5, name="LabelSet")
    slice(4, 5, None)
    >>> row_index(np.array([True, False, True]), 3, name="LabelSet").tolist()
    [0, 2]
    >>> row_index(1.5, 3, name="LabelSet")
    Traceback (most recent call last):
    ...
    TypeError: a LabelSet is indexed by an int, a slice, or a 1-d bool or int array; got float 1.5
    """
    if isinstance(item, (bool, np.bool_)):
        raise TypeError(
            f"a {name} cannot be indexed by a single boolean ({item!r}); give a boolean mask "
            f"of length {n} to select {rows}"
        )
    if isinstance(item, (int, np.integer)):
        k = operator.index(item)
        if not -n <= k < n:
            raise IndexError(f"index {k} is out of range for a {name} of {n} {rows}")
        k %= n
        return slice(k, k + 1)
    if isinstance(item, slice):
        return item
    if isinstance(item, tuple):
        if len(item) == 1 and isinstance(item[0], np.ndarray):
            item = item[0]  # numpy.nonzero(mask) of a 1-d mask
        else:
            raise TypeError(
                f"a {name} is indexed along its {rows} only, by an int, a slice, or a 1-d "
                f"bool or int array; got a tuple of {len(item)} item(s){hint}"
            )
    if not isinstance(item, (np.ndarray, list, range)) and not hasattr(item, "__array__"):
        raise TypeError(
            f"a {name} is indexed by an int, a slice, or a 1-d bool or int array; got "
            f"{type(item).__name__} {_shown(item)}"
        )
    try:
        index = np.asarray(item)
    except ValueError:  # a ragged list
        raise TypeError(
            f"a {name} is indexed by an int, a slice, or a 1-d bool or int array; got a ragged list"
        ) from None
    if index.size == 0 and index.ndim == 1:
        return np.zeros(0, dtype=np.intp)
    if index.ndim != 1 or index.dtype.kind not in "biu":
        raise TypeError(
            f"a {name} is indexed by an int, a slice, or a 1-d bool or int array; got "
            f"{type(item).__name__} of dtype {index.dtype} and shape {index.shape}"
        )
    if index.dtype.kind == "b":
        if index.shape != (n,):
            raise IndexError(
                f"a boolean index of a {name} must have length {n} (one value per "
                f"{rows.rstrip('s')}); got length {len(index)}"
            )
        return np.flatnonzero(index)
    low, high = int(index.min()), int(index.max())
    if low < -n or high >= n:
        bad = low if low < -n else high
        raise IndexError(f"index {bad} is out of range for a {name} of {n} {rows}")
    return np.where(index < 0, index + n, index).astype(np.intp, copy=False)


def _shown(item):
    """``item`` as shown in a message: its repr, cut short."""
    text = repr(item)
    return text if len(text) <= 40 else text[:37] + "..."


def concatenation_items(items, cls):
    """``items`` as a non-empty list of ``cls`` objects, or a clear error.

    Parameters
    ----------
    items : iterable
        The argument of ``cls.concatenate``.
    cls : type
        The class whose objects are joined.

    Returns
    -------
    list

    Raises
    ------
    TypeError
        If ``items`` is not iterable, or one of them is not a ``cls``.
    ValueError
        If ``items`` is empty.

    Examples
    --------
    >>> from clusterfinder.utils.rows import concatenation_items
    >>> concatenation_items((1.0, 2.0), float)
    [1.0, 2.0]
    >>> concatenation_items([1.0, "2"], float)
    Traceback (most recent call last):
    ...
    TypeError: items[1] must be a float; got str, which is not a float
    """
    try:
        items = list(items)
    except TypeError:
        raise TypeError(
            f"items must be a sequence of {cls.__name__} objects; got {type(items).__name__}"
        ) from None
    if not items:
        raise ValueError(f"items is empty: give at least one {cls.__name__} to concatenate")
    for k, item in enumerate(items):
        if not isinstance(item, cls):
            raise TypeError(
                f"items[{k}] must be a {cls.__name__}; got {type(item).__name__}, which is not "
                f"a {cls.__name__}"
            )
    return items


def _equal(a, b):
    """Whether two metadata values are equal (arrays compared element by element)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        try:
            return bool(np.array_equal(a, b))
        except (TypeError, ValueError):
            return False


def merged_meta(metas):
    """One ``meta`` dict from those of the parts of a concatenation.

    Keys come in the order they first appear. A value that several parts share is
    kept once; where the parts differ, the last value wins (the rule of
    `~astropy.table.vstack` for plain values). Unlike `~astropy.table.vstack`, lists
    and dicts are not merged item by item: a list of bands that every part holds
    stays that list rather than being repeated once per part.

    Parameters
    ----------
    metas : iterable of dict
        The ``meta`` of each part, in order.

    Returns
    -------
    dict
        A deep copy: changing it changes no part.

    Examples
    --------
    >>> from clusterfinder.utils.rows import merged_meta
    >>> merged_meta([{"bands": ["g", "i"], "seed": 1}, {"bands": ["g", "i"], "seed": 2}])
    {'bands': ['g', 'i'], 'seed': 2}
    """
    out = {}
    for meta in metas:
        for key, value in meta.items():
            if key not in out or not _equal(out[key], value):
                out[key] = copy.deepcopy(value)
    return out
