"""A grid of stamps for a quick look (matplotlib, optional).

With two or more bands the stamps are shown as colour composites: the first band is
blue, the last red and their mean (or the middle band, for three bands) green, so
that for ``("g", "i")`` blue objects such as young clusters look blue. Each stamp is
scaled on its own: values are divided by a high percentile of the stamp (all bands
together, so colours are kept) and stretched (asinh by default). Masked pixels are
shown at zero (black).
"""

import numpy as np

__all__ = ["plot_cutout"]

_STRETCHES = ("asinh", "linear", "sqrt", "log")


def _stretch(values, stretch):
    values = np.clip(values, 0.0, 1.0)
    if stretch == "asinh":
        return np.arcsinh(values / 0.1) / np.arcsinh(1.0 / 0.1)
    if stretch == "sqrt":
        return np.sqrt(values)
    if stretch == "log":
        return np.log1p(1000.0 * values) / np.log1p(1000.0)
    return values


def _scaled(stamp, percentile):
    """Divide a (bands, H, W) stamp by its ``percentile`` (positive pixels)."""
    positive = stamp[stamp > 0]
    top = np.percentile(positive, percentile) if positive.size else 1.0
    return stamp / (top if top > 0 else 1.0)


def plot_cutout(
    cutout,
    *,
    ncols=8,
    max_stamps=64,
    bands=None,
    composite=True,
    stretch="asinh",
    percentile=99.5,
    title=None,
    fig=None,
    panel_size=1.6,
):
    """Show the stamps of ``cutout`` in a grid.

    Parameters
    ----------
    cutout : `~clusterfinder.Cutout`
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

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder import Cutout
    >>> cut = Cutout(np.random.default_rng(0).random((3, 2, 9, 9)), bands=("g", "i"))
    >>> fig = cut.plot(ncols=3)
    >>> len(fig.axes)
    3
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "Cutout.plot needs matplotlib, an optional dependency: "
            "pip install 'clusterfinder[all]' (or pip install matplotlib)"
        ) from None
    if stretch not in _STRETCHES:
        raise ValueError(f"stretch must be one of {_STRETCHES}; got {stretch!r}")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer; got {ncols!r}")
    if isinstance(max_stamps, bool) or not isinstance(max_stamps, (int, np.integer)):
        raise TypeError(f"max_stamps must be an integer; got {max_stamps!r}")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must lie in (0, 100]; got {percentile!r}")
    if title is not None and title not in cutout.table.colnames:
        raise ValueError(f"title {title!r} is not a column of the table {cutout.table.colnames}")
    if bands is None:
        bands = cutout.bands
    else:
        bands = (bands,) if isinstance(bands, str) else tuple(bands)
        unknown = [band for band in bands if band not in cutout.bands]
        if unknown or not bands:
            raise ValueError(f"bands must be among {cutout.bands}; got {bands!r}")
    channels = [cutout.bands.index(band) for band in bands]
    n = min(len(cutout), int(max_stamps))
    if n < 1:
        raise ValueError("there are no stamps to plot")
    colour = composite and len(channels) >= 2
    if not colour:
        channels = channels[:1]

    ncols = min(int(ncols), n)
    nrows = int(np.ceil(n / ncols))
    if fig is None:
        fig = plt.figure(figsize=(panel_size * ncols, panel_size * nrows))
    else:
        fig.clear()
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k >= n:
            continue
        stamp = np.where(cutout.mask[k, channels], 0.0, cutout.data[k, channels])
        stamp = _stretch(_scaled(stamp, percentile), stretch)
        if colour:
            blue, red = stamp[0], stamp[-1]
            green = stamp[1] if len(stamp) == 3 else 0.5 * (blue + red)
            ax.imshow(np.dstack([red, green, blue]), origin="lower", interpolation="nearest")
        else:
            ax.imshow(
                stamp[0], origin="lower", cmap="gray", vmin=0, vmax=1, interpolation="nearest"
            )
        if title is not None:
            ax.set_title(str(cutout.table[title][k]), fontsize=8)
    fig.subplots_adjust(
        left=0.01,
        right=0.99,
        bottom=0.01,
        top=0.95 if title else 0.99,
        wspace=0.05,
        hspace=0.15 if title else 0.05,
    )
    return fig
