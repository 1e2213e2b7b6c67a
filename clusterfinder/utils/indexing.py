"""Row indexing shared by the array-like classes (private to the package).

`~clusterfinder.Cutout`, `~clusterfinder.LabelSet` and
`~clusterfinder.CandidateCatalog` are indexed along their rows the same way: an
integer, a slice, a boolean mask of their length, or a 1-d array (or list) of
integers. `row_index` checks such an index once and turns it into a slice or an
integer array, so that the three classes refuse the same bad indices with the same
errors: `IndexError` for a position outside the rows or a mask of the wrong length,
`TypeError` for anything that is not an index at all (a float, None, a dict, a
2-d array...), rather than an error from deep inside numpy or astropy.

Not part of the public API: import from ``clusterfinder.utils.indexing`` inside the
package only.
"""

import operator

import numpy as np

__all__ = ["row_index"]


def row_index(item, n, *, name):
    """Check a row index of an object of ``n`` rows; return a slice or an int array.

    Parameters
    ----------
    item : int, slice, array-like of bool or int, or a 1-tuple of an array
        The index. An integer ``k`` (``-n <= k < n``) becomes the slice of that one row,
        so that the result of indexing is always an object of the same class. A tuple
        of one array (what `numpy.nonzero` and `numpy.where` return for a 1-d mask) is
        taken as that array.
    n : int
        The number of rows.
    name : str
        The class indexed, for the messages (e.g. ``"LabelSet"``).

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
    >>> from clusterfinder.utils.indexing import row_index
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
            f"of length {n} to select rows"
        )
    if isinstance(item, (int, np.integer)):
        k = operator.index(item)
        if not -n <= k < n:
            raise IndexError(f"index {k} is out of range for a {name} of {n} rows")
        k %= n
        return slice(k, k + 1)
    if isinstance(item, slice):
        return item
    if isinstance(item, tuple):
        if len(item) == 1 and isinstance(item[0], np.ndarray):
            item = item[0]  # numpy.nonzero(mask) of a 1-d mask
        else:
            raise TypeError(
                f"a {name} is indexed along its rows only, by an int, a slice, or a 1-d bool "
                f"or int array; got a tuple of {len(item)} item(s)"
            )
    if not isinstance(item, (np.ndarray, list, range)):
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
                f"a boolean index of a {name} must have length {n} (one value per row); got "
                f"length {len(index)}"
            )
        return np.flatnonzero(index)
    low, high = int(index.min()), int(index.max())
    if low < -n or high >= n:
        bad = low if low < -n else high
        raise IndexError(f"index {bad} is out of range for a {name} of {n} rows")
    return np.where(index < 0, index + n, index).astype(np.intp, copy=False)


def _shown(item):
    """``item`` as shown in a message: its repr, cut short."""
    text = repr(item)
    return text if len(text) <= 40 else text[:37] + "..."
