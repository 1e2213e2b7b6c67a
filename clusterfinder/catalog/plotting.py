"""A sky map of candidates: over the survey image when given, else in RA/Dec."""

import numpy as np
from astropy.wcs import WCS

__all__ = ["plot_candidates"]


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is installed for tests
        raise ImportError(
            "plotting needs matplotlib: pip install matplotlib (or 'clusterfinder[all]')"
        ) from exc
    return plt


def _image_and_wcs(image, wcs):
    """Accept an array (with ``wcs``), an HDU or an HDUList; return (array, WCS)."""
    header = getattr(image, "header", None)
    if hasattr(image, "__getitem__") and hasattr(image, "index_of"):  # an HDUList
        hdu = next((h for h in image if getattr(h, "data", None) is not None), None)
        if hdu is None:
            raise ValueError("image is an HDUList without image data")
        image, header = hdu.data, hdu.header
    elif header is not None:
        image = image.data
    if wcs is None and header is not None:
        wcs = WCS(header)
    data = np.asarray(image, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"image must be two-dimensional; got shape {data.shape}")
    if not isinstance(wcs, WCS) or not wcs.has_celestial:
        raise TypeError("wcs must be a celestial astropy WCS when an image is given")
    return data, wcs.celestial


def plot_candidates(
    catalog,
    *,
    ax=None,
    image=None,
    wcs=None,
    cmap="viridis",
    size=30,
    vmin=0.0,
    vmax=1.0,
    colorbar=True,
    image_cmap="gray_r",
):
    """Plot candidates on the sky, coloured by ``prob_cluster``.

    Parameters
    ----------
    catalog : `~clusterfinder.CandidateCatalog`
        The candidates.
    ax : `matplotlib.axes.Axes`, optional
        Where to draw; a new figure is made if None (a WCSAxes one when an image is
        given).
    image : array, HDU or HDUList, optional
        A survey image drawn under the candidates (asinh stretch of its 0.5-99.5
        percentiles); needs a WCS from ``wcs`` or the HDU header.
    wcs : `~astropy.wcs.WCS`, optional
        The image's WCS.
    cmap : str, optional
        Colour map of the probabilities.
    size : float, optional
        Marker area (points squared).
    vmin, vmax : float, optional
        Probability range of the colour map.
    colorbar : bool, optional
        Add a colour bar.
    image_cmap : str, optional
        Colour map of the image.

    Returns
    -------
    `matplotlib.axes.Axes`

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder import CandidateCatalog
    >>> cands = CandidateCatalog.from_table(QTable({
    ...     "coord": SkyCoord([10.6, 10.7] * u.deg, [41.2, 41.3] * u.deg),
    ...     "prob_cluster": [0.9, 0.4]}))
    >>> ax = cands.plot()
    >>> ax.get_xlabel()
    'RA (deg)'
    """
    plt = _import_pyplot()
    coords = catalog["coord"].icrs
    prob = catalog["prob_cluster"]
    prob = np.asarray(getattr(prob, "value", prob), dtype=float)
    if image is not None:
        from astropy.visualization import simple_norm

        data, wcs = _image_and_wcs(image, wcs)
        if ax is None:
            fig = plt.figure()
            ax = fig.add_subplot(projection=wcs)
        finite = data[np.isfinite(data)]
        norm = None
        if finite.size:
            norm = simple_norm(finite, "asinh", percent=99.5)
        ax.imshow(data, origin="lower", cmap=image_cmap, norm=norm)
        x, y = wcs.world_to_pixel(coords)
        points = ax.scatter(x, y, c=prob, s=size, cmap=cmap, vmin=vmin, vmax=vmax, alpha=0.8)
        ax.set_xlim(-0.5, data.shape[1] - 0.5)
        ax.set_ylim(-0.5, data.shape[0] - 0.5)
        ax.set_xlabel("RA")
        ax.set_ylabel("Dec")
    else:
        if ax is None:
            _, ax = plt.subplots()
        points = ax.scatter(
            coords.ra.deg, coords.dec.deg, c=prob, s=size, cmap=cmap, vmin=vmin, vmax=vmax
        )
        if not ax.xaxis_inverted():
            ax.invert_xaxis()
        ax.set_xlabel("RA (deg)")
        ax.set_ylabel("Dec (deg)")
        if len(coords):
            ax.set_aspect(1.0 / max(np.cos(np.radians(np.median(coords.dec.deg))), 1e-3))
    if colorbar:
        ax.figure.colorbar(points, ax=ax, label="P(cluster)")
    return ax
