"""The `Cutout` class: many multi-band pixel stamps held as one array.

A `Cutout` is array-valued, like `~astropy.coordinates.SkyCoord`: one object holds
one or many stamps, ``len`` gives their number, indexing with an integer, a slice, a
boolean mask or an integer array gives a new `Cutout`, and iterating yields one-stamp
`Cutout` objects. The pixels of all stamps live in one contiguous ``(N, bands, H, W)``
float32 array so that millions of stamps reach a model without per-object overhead.
"""

import numpy as np
from astropy.table import QTable, Table, vstack
from astropy.utils.decorators import deprecated_renamed_argument

from ..utils.rows import concatenation_items, merged_meta, row_index
from .wcs import StampWCS

__all__ = ["Cutout"]


def _as_bands(bands, nbands):
    """Validate ``bands`` and return it as a tuple of str of length ``nbands``."""
    if isinstance(bands, str):
        bands = (bands,)
    try:
        bands = tuple(bands)
    except TypeError:
        raise TypeError(
            f"bands must be a sequence of band names; got {type(bands).__name__}"
        ) from None
    if not all(isinstance(band, str) and band for band in bands):
        raise TypeError(f"bands must be non-empty strings; got {bands!r}")
    if len(set(bands)) != len(bands):
        raise ValueError(f"bands must be unique; got {bands!r}")
    if len(bands) != nbands:
        raise ValueError(
            f"bands names {len(bands)} band(s) {bands!r} but data has {nbands} "
            "channel(s) on its axis 1"
        )
    return bands


def _as_table(table, n):
    """Return ``table`` as a `~astropy.table.QTable` of length ``n`` (or an empty one)."""
    if table is None:
        return QTable()
    if isinstance(table, Table):
        table = QTable(table, copy=False)
    elif isinstance(table, dict):
        table = QTable(table)
    else:
        raise TypeError(
            f"table must be an astropy Table, a dict or None; got {type(table).__name__}"
        )
    if len(table.colnames) and len(table) != n:
        raise ValueError(f"table has {len(table)} rows but there are {n} stamps")
    return table


class Cutout:
    """Multi-band pixel stamps with their mask, band names, per-stamp table and WCS.

    Most users build a `Cutout` with `Cutout.from_images`, which cuts stamps out of
    survey images at sky positions; the constructor wraps arrays that already exist.

    Parameters
    ----------
    data : array-like, shape (N, B, H, W)
        The pixels of ``N`` stamps in ``B`` bands, each ``H`` x ``W`` with ``H == W``,
        in counts on the reference zero point 30 AB
        (`clusterfinder.REFERENCE_ZEROPOINT`). Stored as a C-contiguous float32
        array (copied only when needed).
    bands : str or sequence of str
        The band names, in the order of axis 1 of ``data``.
    mask : array-like of bool, shape (N, B, H, W), optional
        True where a pixel is invalid (off the image, NaN or flagged). Non-finite
        pixels of ``data`` are always added to the mask and set to 0.
    table : `~astropy.table.QTable`, optional
        One row per stamp: ``coord`` (`~astropy.coordinates.SkyCoord`) when the sky
        position is known, pixel positions, and any metadata (``label``,
        ``mag_g``...). A model reads two keys of its ``meta`` when present:
        ``"pixel_scale"`` (arcsec/pix; say it when the stamps have no WCS) and
        ``"refzp"`` (their zero point, 30 AB), and refuses stamps whose scale or
        zero point differs from its own.
    wcs : sequence of `~astropy.wcs.WCS` or None, optional
        The WCS of each stamp (an item may be None).

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.table import QTable
    >>> from clusterfinder import Cutout
    >>> data = np.zeros((3, 2, 9, 9), dtype=np.float32)
    >>> cut = Cutout(data, bands=("g", "i"), table=QTable({"label": [1, 0, 1]}))
    >>> cut
    <Cutout 3 stamps, bands=('g', 'i'), 9x9 pix>
    >>> len(cut), cut.stamp_size, cut.data.shape
    (3, 9, (3, 2, 9, 9))
    >>> cut[cut.table["label"] == 1].table["label"].tolist()
    [1, 1]
    >>> [len(one) for one in cut]
    [1, 1, 1]
    """

    def __init__(self, data, *, bands, mask=None, table=None, wcs=None):
        try:
            data = np.asarray(data)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"data must be a numeric array; got {type(data).__name__}") from exc
        if data.dtype.kind not in "biuf":
            raise TypeError(f"data must hold real numbers; got dtype {data.dtype}")
        if data.ndim != 4:
            raise ValueError(
                f"data must have 4 dimensions (N stamps, bands, height, width); got shape "
                f"{data.shape}"
            )
        if data.shape[2] != data.shape[3]:
            raise ValueError(f"stamps must be square; got {data.shape[2]}x{data.shape[3]} pixels")
        if data.shape[2] < 1:
            raise ValueError("stamps must be at least 1 pixel wide")
        data = np.ascontiguousarray(data, dtype=np.float32)
        self._bands = _as_bands(bands, data.shape[1])

        if mask is None:
            mask = np.zeros(data.shape, dtype=bool)
        else:
            mask = np.asarray(mask)
            if mask.shape != data.shape:
                raise ValueError(f"mask must have the shape of data {data.shape}; got {mask.shape}")
            if mask.dtype != bool:
                if mask.dtype.kind not in "biu":
                    raise TypeError(f"mask must be boolean; got dtype {mask.dtype}")
                mask = mask != 0
            mask = np.ascontiguousarray(mask)
        bad = ~np.isfinite(data)
        if bad.any():
            data = np.where(bad, np.float32(0.0), data)
            mask = mask | bad

        self._data = data
        self._mask = mask
        self._table = _as_table(table, len(data))
        if isinstance(wcs, StampWCS):
            if len(wcs) != len(data):
                raise ValueError(f"wcs has {len(wcs)} items but there are {len(data)} stamps")
            self._wcs = wcs
        else:
            self._wcs = StampWCS.from_list(wcs, len(data))

    # -- construction from other objects ---------------------------------------------------

    @classmethod
    def _from_parts(cls, data, mask, bands, table, wcs):
        """Build without validation (the parts come from an existing `Cutout`)."""
        self = cls.__new__(cls)
        self._data = data
        self._mask = mask
        self._bands = bands
        self._table = table
        self._wcs = wcs
        return self

    @classmethod
    @deprecated_renamed_argument("size", "cutout_size", "0.1")
    def from_images(
        cls,
        images,
        positions,
        *,
        cutout_size,
        bands=None,
        zero_points=None,
        table=None,
        off_image="mask",
        progress_bar=False,
    ):
        """Cut multi-band stamps out of survey images at sky or pixel positions.

        The centring convention: the first band (the reference band) sets the pixel
        grid of every stamp. A stamp of ``S`` pixels starts at pixel
        ``ceil(x - S / 2)``, ``ceil(y - S / 2)`` of the reference image, as for
        `~astropy.nddata.Cutout2D`, so the source lies within half a pixel of the
        stamp centre ``(S - 1) / 2``, at (``x_stamp``, ``y_stamp``) of the table. Other
        bands are put on that grid: copied when they share it up to whole pixels,
        resampled (Keys cubic convolution, flux kept) otherwise, so a source sits on
        the same stamp pixel in every band. Crowded stamps of a resampled band are
        cut from regions of the reference grid resampled once each, which is
        several times faster than resampling them one by one and gives the same
        pixels (:ref:`cutout`, "Bands on different pixel grids").

        Parameters
        ----------
        images : dict
            Band name -> image of that band: a FITS path, an HDU, an
            `~astropy.io.fits.HDUList` (each position is cut from the image extension
            that holds it farthest from its edges, e.g. the CCD of a MegaCam stack), an
            `~astropy.nddata.NDData` / `~astropy.nddata.CCDData` (its ``mask`` flags
            pixels), an ``(array, WCS)`` or ``(array, Header)`` pair, or a 2-d array
            (pixel positions only). FITS files are memory-mapped. An image whose
            header (``FILTER``, ``FILTNAM``, ``FILTER1``/``2``, ``BAND``; for a
            multi-extension file also the primary header) names another of the bands
            in use, such as ``images["g"]`` with ``FILTER = 'i.MP9702'``, is refused
            with a `ValueError`: the images look swapped. Filter names that name no
            band in use, or none clearly, pass.
        positions : `~astropy.coordinates.SkyCoord`, (N, 2) array or (x, y) tuple
            Where to cut. Pixel positions (zero-based) are allowed only when all bands
            share one pixel grid.
        cutout_size : int or `~astropy.units.Quantity`
            Stamp width in pixels, or an angle converted with the first band's pixel
            scale and rounded to the nearest odd number of pixels (ties go up), so that
            the stamp has a central pixel. The same name as the classifier's
            ``cutout_size``; before version 0.1 it was ``size=``, which still works with
            an `~astropy.utils.exceptions.AstropyDeprecationWarning`.
        bands : sequence of str, optional
            Which bands of ``images`` to use, in this order (default: all, in the order
            of ``images``). The first is the reference band (see above).
        zero_points : float or dict, optional
            AB zero point of each band's image. By default it is read from the header
            (``PHOTZP``, ``MAGZPT``, ``MAGZP``, ``ZEROPT``; for a multi-extension file
            the extension header, then the primary header) or the NDData ``meta``. A
            missing
            zero point is an error: a stamp on a wrong flux scale would silently
            mislead a model. Stamps are scaled to the reference zero point 30 AB.
        table : `~astropy.table.Table`, optional
            Per-position metadata (one row per position) carried into the stamp table.
        off_image : {"mask", "raise"}, optional
            What to do with stamps that reach beyond an image: ``"mask"`` keeps them
            (pixels off the image are 0 and masked; a position off every image gives a
            fully masked stamp) and ``"raise"`` raises a `ValueError` that lists them.
        progress_bar : bool, optional
            Show a progress bar over the stamps.

        Returns
        -------
        `~clusterfinder.Cutout`
            Its table has ``coord`` (when known), ``x``, ``y`` (source position on
            the reference band's image), ``x_stamp``, ``y_stamp`` (source position on
            the stamp), ``off_image`` (True when the stamp reaches beyond an image),
            and, when the bands do not all share one grid, ``x_<band>``, ``y_<band>``
            and ``ext_<band>`` (extension index for multi-extension images), followed
            by the columns of ``table`` (computed columns replace caller columns of
            the same name). Its ``meta`` holds ``refzp`` (30), ``refband`` and, when
            the headers name them, ``filters`` (band -> filter name).

        Examples
        --------
        >>> import numpy as np
        >>> from astropy.wcs import WCS
        >>> from clusterfinder import Cutout
        >>> wcs = WCS(naxis=2)
        >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        >>> wcs.wcs.crval = [10.0, 41.0]
        >>> wcs.wcs.crpix = [50.5, 50.5]
        >>> wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
        >>> image = np.ones((100, 100), dtype=np.float32)
        >>> cut = Cutout.from_images({"g": (image, wcs)}, (np.array([20.0, 98.0]),
        ...                          np.array([30.0, 50.0])), cutout_size=11, zero_points=30)
        >>> cut.data.shape, int(cut.mask[1].sum())
        ((2, 1, 11, 11), 44)
        """
        from .extract import cutouts_from_images

        return cutouts_from_images(
            images,
            positions,
            cutout_size=cutout_size,
            bands=bands,
            zero_points=zero_points,
            table=table,
            off_image=off_image,
            progress_bar=progress_bar,
        )

    @classmethod
    @deprecated_renamed_argument("cutouts", "items", "0.1")
    def concatenate(cls, items):
        """Join several `Cutout` objects into one, stamps in order.

        `LabelSet.concatenate <clusterfinder.LabelSet.concatenate>` and
        `CandidateCatalog.concatenate <clusterfinder.CandidateCatalog.concatenate>`
        join their objects the same way.

        Parameters
        ----------
        items : sequence of `Cutout`
            At least one. They must share their bands (in the same order) and stamp
            size, and their tables must have the same columns. Before version 0.1 this
            argument was called ``cutouts``: that keyword still works, with an
            `~astropy.utils.exceptions.AstropyDeprecationWarning`.

        Returns
        -------
        `Cutout`
            The stamps, masks, table rows and stamp WCS of ``items`` one after the
            other. The table's ``meta`` merges those of ``items``: a value they share
            is kept once, and where they differ the last one wins.

        Raises
        ------
        TypeError
            If ``items`` is not a sequence, or one of them is not a `Cutout`.
        ValueError
            If ``items`` is empty, or the bands, stamp sizes or table columns differ.

        Examples
        --------
        >>> import numpy as np
        >>> from clusterfinder import Cutout
        >>> a = Cutout(np.zeros((2, 1, 5, 5)), bands="g")
        >>> b = Cutout(np.ones((3, 1, 5, 5)), bands="g")
        >>> joined = Cutout.concatenate([a, b])
        >>> len(joined), joined.data[:, 0, 0, 0].tolist()
        (5, [0.0, 0.0, 1.0, 1.0, 1.0])
        """
        items = concatenation_items(items, Cutout)
        first = items[0]
        for k, item in enumerate(items[1:], start=1):
            if item.bands != first.bands:
                raise ValueError(
                    f"cannot concatenate cutouts with different bands: items[0] has "
                    f"{first.bands}, items[{k}] has {item.bands}"
                )
            if item.stamp_size != first.stamp_size:
                raise ValueError(
                    f"cannot concatenate cutouts with different stamp sizes: items[0] has "
                    f"{first.stamp_size} pix, items[{k}] has {item.stamp_size} pix"
                )
        data = np.concatenate([item._data for item in items])
        mask = np.concatenate([item._mask for item in items])
        tables = [item._table for item in items]
        names = [tuple(t.colnames) for t in tables]
        if len(set(names)) > 1:
            raise ValueError(
                "cannot concatenate cutouts whose tables have different columns: "
                + "; ".join(f"items[{k}]: {list(n)}" for k, n in enumerate(names))
            )
        if names[0]:
            try:
                table = vstack(tables, join_type="exact", metadata_conflicts="silent")
            except Exception as exc:  # astropy raises several types for mixin conflicts
                raise ValueError(f"cannot concatenate the tables of the cutouts: {exc}") from exc
            table = QTable(table, copy=False)
        else:
            table = QTable()
        table.meta = merged_meta(part.meta for part in tables)
        wcs = StampWCS.concatenate([item._wcs for item in items])
        return cls._from_parts(data, mask, first.bands, table, wcs)

    # -- properties -------------------------------------------------------------------------

    @property
    def data(self):
        """The pixels, a C-contiguous float32 array of shape (N, bands, H, W)."""
        return self._data

    @property
    def mask(self):
        """Bool array of the shape of `data`: True where a pixel is invalid."""
        return self._mask

    @property
    def bands(self):
        """The band names, a tuple in the order of axis 1 of `data`."""
        return self._bands

    @property
    def table(self):
        """The per-stamp `~astropy.table.QTable` (no columns if none was given)."""
        return self._table

    @property
    def coords(self):
        """The sky positions (the table's ``coord`` column), or None if unknown."""
        if "coord" in self._table.colnames:
            return self._table["coord"]
        return None

    @property
    def stamp_size(self):
        """The width (and height) of each stamp in pixels."""
        return int(self._data.shape[-1])

    @property
    def shape(self):
        """The shape of `data`: (N, bands, H, W)."""
        return self._data.shape

    @property
    def wcs(self):
        """The WCS of each stamp as a read-only sequence, or None if no stamp has one.

        Items are built on access (cheap to hold for millions of stamps); an item is
        None for a stamp without a WCS.
        """
        return self._wcs if self._wcs.any() else None

    def stamp_wcs(self, index):
        """Return the `~astropy.wcs.WCS` of stamp ``index`` (None if it has none).

        Examples
        --------
        >>> import numpy as np
        >>> from clusterfinder import Cutout
        >>> Cutout(np.zeros((1, 1, 3, 3)), bands="g").stamp_wcs(0) is None
        True
        """
        return self._wcs[index]

    def band_data(self, band):
        """Return the ``(N, H, W)`` pixels of one band (a view).

        Examples
        --------
        >>> import numpy as np
        >>> from clusterfinder import Cutout
        >>> Cutout(np.zeros((4, 2, 3, 3)), bands=("g", "i")).band_data("i").shape
        (4, 3, 3)
        """
        try:
            k = self._bands.index(band)
        except ValueError:
            raise ValueError(f"band {band!r} is not one of {self._bands}") from None
        return self._data[:, k]

    def select_bands(self, bands):
        """Return the stamps with only ``bands``, in that order.

        The table and the stamp WCS are shared by all bands and carried over.

        Examples
        --------
        >>> import numpy as np
        >>> from clusterfinder import Cutout
        >>> stamps = Cutout(np.zeros((4, 3, 5, 5)), bands=("g", "r", "i"))
        >>> stamps.select_bands(["i", "g"])
        <Cutout 4 stamps, bands=('i', 'g'), 5x5 pix>
        """
        if isinstance(bands, str):
            bands = (bands,)
        bands = tuple(bands)
        unknown = [band for band in bands if band not in self._bands]
        if unknown or not bands or len(set(bands)) != len(bands):
            raise ValueError(
                f"bands must be distinct bands of these stamps {self._bands}; got {bands!r}"
            )
        k = [self._bands.index(band) for band in bands]
        table = self._table.copy()  # the stamp WCS is immutable: shared
        return self._from_parts(self._data[:, k], self._mask[:, k], bands, table, self._wcs)

    # -- array behaviour --------------------------------------------------------------------

    def __len__(self):
        return int(self._data.shape[0])

    def __repr__(self):
        n = len(self)
        return (
            f"<Cutout {n} stamp{'s' if n != 1 else ''}, bands={self._bands}, "
            f"{self.stamp_size}x{self.stamp_size} pix>"
        )

    def __getitem__(self, item):
        index = row_index(
            item, len(self), name="Cutout", rows="stamps", hint="; index .data for pixels"
        )
        table = self._table[index] if self._table.colnames else QTable(meta=self._table.meta)
        return self._from_parts(
            self._data[index], self._mask[index], self._bands, table, self._wcs[index]
        )

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def __bool__(self):
        return len(self) > 0

    def crop(self, size):
        """Return the stamps cut down to ``size`` pixels around their sources.

        Each smaller stamp holds exactly the pixels that `Cutout.from_images`
        would have cut at ``size`` (same centring rule, using the sub-pixel
        source position in ``x_stamp``/``y_stamp`` where the table has it; the
        middle of the stamp otherwise). The mask, the ``x_stamp``/``y_stamp``
        columns and the stamp WCS follow. Cut wide stamps once, then crop them
        to compare stamp sizes without going back to the images.

        Parameters
        ----------
        size : int or `~astropy.units.Quantity`
            New width in pixels (at most the present width), or an angle,
            converted with the pixel scale of the first stamp's WCS.

        Returns
        -------
        `Cutout`

        Examples
        --------
        >>> import numpy as np
        >>> from clusterfinder import Cutout
        >>> data = np.arange(2 * 8 * 8, dtype=float).reshape(2, 1, 8, 8)
        >>> small = Cutout(data, bands="g").crop(4)
        >>> small
        <Cutout 2 stamps, bands=('g',), 4x4 pix>
        >>> small.data[0, 0, 0].tolist()
        [18.0, 19.0, 20.0, 21.0]
        """
        from .extract import size_in_pixels

        first = self._wcs[int(np.argmax(self._wcs.index >= 0))] if self._wcs.any() else None
        npix = size_in_pixels(size, first, name="size")
        width = self.stamp_size
        if npix > width:
            raise ValueError(
                f"cannot crop {width}x{width} pixel stamps to a larger size ({npix} pixels)"
            )
        if self._table.colnames:
            table = QTable(self._table, copy=True)
        else:
            table = QTable(meta=self._table.meta)
        n = len(self)
        starts = np.full((n, 2), (width - npix) // 2, dtype=np.intp)
        for axis, name in enumerate(("x_stamp", "y_stamp")):
            if name in table.colnames:
                position = np.asarray(table[name], dtype=float)
                known = np.isfinite(position)
                starts[known, axis] = np.ceil(position[known] - npix / 2.0)
        starts = np.clip(starts, 0, width - npix)
        data = np.empty((n, self._data.shape[1], npix, npix), dtype=np.float32)
        mask = np.empty(data.shape, dtype=bool)
        pairs, which = np.unique(starts, axis=0, return_inverse=True)
        for k, (x0, y0) in enumerate(pairs):
            rows = np.flatnonzero(which.ravel() == k)
            data[rows] = self._data[rows, :, y0 : y0 + npix, x0 : x0 + npix]
            mask[rows] = self._mask[rows, :, y0 : y0 + npix, x0 : x0 + npix]
        for axis, name in enumerate(("x_stamp", "y_stamp")):
            if name in table.colnames:
                table[name] = np.asarray(table[name], dtype=float) - starts[:, axis]
        wcs = StampWCS(self._wcs.bases, self._wcs.index, self._wcs.origin + starts, npix)
        return self._from_parts(data, mask, self._bands, table, wcs)

    # -- input/output and display ---------------------------------------------------------

    def write(self, path, *, overwrite=False):
        """Save to one FITS file (pixels, mask, table with its ``meta``, stamp WCS).

        The file is written under a temporary name in its folder and renamed at the
        end; its layout is described in `clusterfinder.cutout.io`.

        Parameters
        ----------
        path : str or path-like
            The file to write.
        overwrite : bool, optional
            Replace an existing file. Otherwise an existing ``path`` is refused and
            left as it is.

        Raises
        ------
        FileExistsError
            If ``path`` exists and ``overwrite`` is False (the message names
            ``overwrite=True``).
        IsADirectoryError, FileNotFoundError, NotADirectoryError, PermissionError
            If ``path`` is a folder, or its folder is missing, not a folder or not
            writable.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from clusterfinder import Cutout
        >>> cut = Cutout(np.ones((2, 1, 5, 5)), bands="g")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "stamps.fits")
        ...     cut.write(path)
        ...     len(Cutout.read(path))
        2
        """
        from .io import write_cutout

        write_cutout(self, path, overwrite=overwrite)

    @classmethod
    def read(cls, path):
        """Load a `Cutout` saved by `Cutout.write`.

        Parameters
        ----------
        path : str or path-like
            A file written by `Cutout.write`.

        Returns
        -------
        `Cutout`
            The stamps, mask, table (with its ``meta``) and stamp WCS of the file.

        Raises
        ------
        FileNotFoundError
            If there is no such file.
        OSError
            If the file is not FITS, or is truncated or damaged.
        ValueError
            If it is FITS but not a complete clusterfinder Cutout file.

        Examples
        --------
        >>> from clusterfinder import Cutout
        >>> Cutout.read("no-such-stamps.fits")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no such file 'no-such-stamps.fits'
        """
        from .io import read_cutout

        return read_cutout(path)

    def plot(
        self, *, ncols=8, max_stamps=64, bands=None, composite=True, stretch="asinh",
        percentile=99.5, title=None, fig=None, panel_size=1.6,
    ):  # fmt: skip
        """Show the stamps in a grid (`clusterfinder.cutout.plot.plot_cutout`).

        Parameters
        ----------
        ncols : int, optional
            Stamps per row.
        max_stamps : int, optional
            Show at most this many stamps (the first ones).
        bands : sequence of str, optional
            The bands to show (default: all). One band, or ``composite=False``, gives
            grey-scale images of the first of them.
        composite : bool, optional
            Colour composite when two or more bands are shown.
        stretch : {"asinh", "linear", "sqrt", "log"}, optional
            Brightness stretch after scaling each stamp to its ``percentile``.
        percentile : float, optional
            Percentile of a stamp's positive pixels that maps to full brightness.
        title : str, optional
            Name of a table column whose values label the stamps (e.g. ``"label"``).
        fig : `matplotlib.figure.Figure`, optional
            Draw into this figure (it is cleared); a new one by default.
        panel_size : float, optional
            Size of one stamp in inches, for a new figure.

        Returns
        -------
        `matplotlib.figure.Figure`

        Raises
        ------
        ImportError
            If matplotlib is not installed.
        ValueError
            For an unknown ``stretch`` or band, or a ``percentile`` outside (0, 100].

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from clusterfinder import Cutout
        >>> cut = Cutout(np.random.default_rng(0).random((4, 2, 9, 9)), bands=("g", "i"))
        >>> fig = cut.plot(ncols=2, bands=["i"])
        >>> len(fig.axes)
        4
        >>> import matplotlib.pyplot as plt; plt.close(fig)
        """
        from .plot import plot_cutout

        return plot_cutout(
            self, ncols=ncols, max_stamps=max_stamps, bands=bands, composite=composite,
            stretch=stretch, percentile=percentile, title=title, fig=fig,
            panel_size=panel_size,
        )  # fmt: skip
