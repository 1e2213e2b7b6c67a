"""The world coordinate systems of many stamps, held cheaply and built on demand.

A stamp cut from an image has the WCS of that image shifted by the stamp's origin.
Building one `~astropy.wcs.WCS` object per stamp costs about 0.1 ms, too much for
millions of stamps, so `StampWCS` keeps a short list of base WCS objects, the index
of each stamp's base and the pixel origin of the stamp on it, and builds the WCS of
a stamp only when asked.
"""

from collections.abc import Sequence

import numpy as np
from astropy.wcs import WCS, Sip

from ..images import check_wcs

__all__ = ["StampWCS", "shifted_wcs"]


def shifted_wcs(wcs, origin, size=None):
    """Return a copy of ``wcs`` for the array that starts at pixel ``origin`` of it.

    Parameters
    ----------
    wcs : `~astropy.wcs.WCS`
        A 2-d celestial WCS.
    origin : (float, float)
        The (x, y) pixel of ``wcs`` that becomes pixel (0, 0).
    size : int, optional
        Width and height of the stamp, stored as the ``pixel_shape``.

    Returns
    -------
    `~astropy.wcs.WCS`

    Examples
    --------
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.crpix = [10, 20]
    >>> shifted_wcs(wcs, (3, 5)).wcs.crpix.tolist()
    [7.0, 15.0]
    """
    x0, y0 = float(origin[0]), float(origin[1])
    out = wcs.deepcopy()
    out.wcs.crpix = out.wcs.crpix - np.array([x0, y0])
    if out.sip is not None:
        sip = out.sip
        out.sip = Sip(sip.a, sip.b, sip.ap, sip.bp, np.asarray(sip.crpix) - np.array([x0, y0]))
    if size is not None:
        out.pixel_shape = (int(size), int(size))
    out.wcs.set()
    return out


class StampWCS(Sequence):
    """A read-only sequence of per-stamp WCS built on access.

    Parameters
    ----------
    bases : list of `~astropy.wcs.WCS`
        The distinct parent WCS objects.
    index : array of int, shape (N,)
        For each stamp, the position of its base in ``bases``, or -1 for none.
    origin : array of float, shape (N, 2)
        For each stamp, the (x, y) pixel of its base that is pixel (0, 0) of the stamp.
    size : int or None
        The stamp width, stored as ``pixel_shape`` of the built WCS.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> base = WCS(naxis=2)
    >>> stamps = StampWCS([base], np.array([0, -1]), np.array([[4.0, 2.0], [0, 0]]))
    >>> stamps[0].wcs.crpix.tolist(), stamps[1]
    ([-4.0, -2.0], None)
    """

    def __init__(self, bases, index, origin, size=None):
        self._bases = list(bases)
        self._index = np.asarray(index, dtype=np.intp)
        self._origin = np.asarray(origin, dtype=float).reshape(len(self._index), 2)
        self._size = size

    @classmethod
    def from_list(cls, wcs, n):
        """Wrap None or a list of ``n`` WCS objects (items may be None).

        Each WCS must be able to map pixels to the sky (`clusterfinder.images.check_wcs`):
        a singular or non-finite one is refused here, naming the stamp.

        Parameters
        ----------
        wcs : None or sequence of `~astropy.wcs.WCS` or None
            One WCS per stamp (the same object may be shared), or None for none.
        n : int
            The number of stamps.

        Returns
        -------
        `StampWCS`

        Raises
        ------
        TypeError
            For a single WCS instead of a sequence, or an item that is not a WCS.
        ValueError
            If the sequence does not have ``n`` items, or a WCS cannot map pixels
            to the sky.

        Examples
        --------
        >>> from astropy.wcs import WCS
        >>> base = WCS(naxis=2)
        >>> stamps = StampWCS.from_list([base, None, base], 3)
        >>> len(stamps), len(stamps.bases), stamps.index.tolist()
        (3, 2, [0, -1, 1])
        """
        if wcs is None:
            return cls([], np.full(n, -1), np.zeros((n, 2)))
        if isinstance(wcs, WCS):
            raise TypeError(
                "wcs must be a sequence with one WCS per stamp (or None), not a single WCS"
            )
        try:
            items = list(wcs)
        except TypeError:
            raise TypeError(
                f"wcs must be None or a sequence of WCS; got {type(wcs).__name__}"
            ) from None
        if len(items) != n:
            raise ValueError(f"wcs has {len(items)} items but there are {n} stamps")
        bases, index, checked = [], np.full(n, -1), set()
        for k, item in enumerate(items):
            if item is None:
                continue
            if not isinstance(item, WCS):
                raise TypeError(
                    f"wcs[{k}] must be an astropy WCS or None; got {type(item).__name__}"
                )
            if id(item) not in checked:  # one check per distinct object
                check_wcs(item, f"stamp {k} (wcs[{k}])")
                checked.add(id(item))
            index[k] = len(bases)
            bases.append(item)
        return cls(bases, index, np.zeros((n, 2)))

    @classmethod
    def concatenate(cls, items):
        """Join several `StampWCS` in order.

        Parameters
        ----------
        items : sequence of `StampWCS`

        Returns
        -------
        `StampWCS`
            The stamps of every item, in order; the stamp size is kept when all
            items share it.

        Examples
        --------
        >>> from astropy.wcs import WCS
        >>> one = StampWCS.from_list([WCS(naxis=2)], 1)
        >>> joined = StampWCS.concatenate([one, StampWCS.from_list(None, 2), one])
        >>> len(joined), joined.index.tolist()
        (4, [0, -1, -1, 1])
        """
        bases, index, origin = [], [], []
        for item in items:
            shift = len(bases)
            bases.extend(item._bases)
            index.append(np.where(item._index >= 0, item._index + shift, -1))
            origin.append(item._origin)
        sizes = {item._size for item in items}
        return cls(
            bases,
            np.concatenate(index) if index else np.zeros(0, dtype=np.intp),
            np.concatenate(origin) if origin else np.zeros((0, 2)),
            sizes.pop() if len(sizes) == 1 else None,
        )

    @property
    def index(self):
        """The base index of each stamp (-1 where a stamp has no WCS)."""
        return self._index

    @property
    def origin(self):
        """The (x, y) origin of each stamp on its base WCS."""
        return self._origin

    @property
    def bases(self):
        """The distinct base WCS objects."""
        return self._bases

    def any(self):
        """True if at least one stamp has a WCS.

        Examples
        --------
        >>> StampWCS.from_list(None, 3).any()
        False
        """
        return bool((self._index >= 0).any())

    def __len__(self):
        return len(self._index)

    def __getitem__(self, item):
        if isinstance(item, (int, np.integer)):
            k = self._index[item]
            if k < 0:
                return None
            origin = self._origin[item]
            if not origin.any() and self._size is None:
                return self._bases[k]
            return shifted_wcs(self._bases[k], origin, self._size)
        return StampWCS(self._bases, self._index[item], self._origin[item], self._size)

    def __repr__(self):
        return f"<StampWCS of {len(self)} stamps on {len(self._bases)} base WCS>"
