"""Classical morphology and colour features of stamps, for non-deep-learning classifiers.

`morphology_features` measures, for every stamp of a `~clusterfinder.Cutout`, the
quantities an astronomer would use to tell a star cluster from a star or a galaxy
by hand: a local background, aperture fluxes, magnitudes and colours in every
band, and the size, shape and light concentration of the source in the first
(reference) band. The result is a table of plain numbers, ready for e.g. a
scikit-learn gradient-boosted classifier. Everything is vectorised over stamps.
"""

import numpy as np
from astropy.stats import sigma_clipped_stats
from astropy.table import QTable

from ..cutout import Cutout
from ..utils.photometry import flux_to_mag

__all__ = ["morphology_features"]

# Stamps are measured this many at a time, which bounds the memory used (a few
# tens of MB for 32x32 two-band stamps) without a Python loop per stamp.
_CHUNK = 2048

# Background: sigma-clipped median with astropy's defaults.
_CLIP_SIGMA = 3.0
_CLIP_ITERS = 5


def _clipped_median(values):
    """Sigma-clipped median of each row of ``values`` (NaN = not used; NaN if none)."""
    invalid = ~np.isfinite(values)
    empty = invalid.all(axis=1)
    values = np.where(empty[:, None], 0.0, values)
    _, median, _ = sigma_clipped_stats(
        values, mask=invalid & ~empty[:, None], sigma=_CLIP_SIGMA, maxiters=_CLIP_ITERS, axis=1
    )
    return np.where(empty, np.nan, np.asarray(median, dtype=np.float64))


def _circle_overlap(x_edges, y_edges, r):
    """Exact area of each pixel inside a circle of radius ``r`` centred on 0.

    ``x_edges`` (n, W + 1) and ``y_edges`` (n, H + 1) are the pixel borders relative
    to each circle centre; the result has shape (n, H, W). With ``G(x, y)`` the area
    of the circle in the quadrant ``(-inf, x] x (-inf, y]``, a pixel's area is
    ``G(x1, y1) - G(x0, y1) - G(x1, y0) + G(x0, y0)``, and ``G`` is closed-form:
    the circle's columns left of ``x`` are cut at height ``y`` where ``|y|`` is
    below their half-height ``h``, and counted whole (with the sign of ``y``)
    elsewhere.
    """
    x = np.clip(x_edges, -r, r)[:, None, :]
    y = y_edges[:, :, None]
    half_chord = np.sqrt(np.maximum(r * r - y * y, 0.0))  # |x| where h(x) = |y|
    cut = np.minimum(np.maximum(x, -half_chord), half_chord)

    def segment(t):  # integral of h(x) = sqrt(r^2 - x^2) from 0 to t
        t_over_r = np.clip(t / r, -1.0, 1.0)
        return 0.5 * r * r * (t_over_r * np.sqrt(1.0 - t_over_r**2) + np.arcsin(t_over_r))

    whole = segment(x) - segment(cut) - segment(half_chord) + 0.25 * np.pi * r * r
    quadrant = np.sign(y) * whole + y * (cut + half_chord)
    return quadrant[:, 1:, 1:] - quadrant[:, 1:, :-1] - quadrant[:, :-1, 1:] + quadrant[:, :-1, :-1]


def _check_radius(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number of pixels; got {type(value).__name__}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of pixels; got {value}")
    return float(value)


def _positions(table, n, centre):
    """Source position (x, y) of each stamp: ``x_stamp``/``y_stamp``, else the centre."""
    out = []
    for name in ("x_stamp", "y_stamp"):
        position = np.full(n, centre)
        if name in table.colnames:
            given = np.asarray(table[name], dtype=float)
            position = np.where(np.isfinite(given), given, centre)
        out.append(position)
    return out


def _measure(data, mask, x0, y0, radius, aperture_radius, inner_radius):
    """All features of one chunk of stamps, as a dict of arrays."""
    n, nbands, size, _ = data.shape
    centre = (size - 1) / 2.0
    pixels = np.arange(size, dtype=np.float64)
    dx = pixels[None, :] - x0[:, None]
    dy = pixels[None, :] - y0[:, None]
    outside = (dy[:, :, None] ** 2 + dx[:, None, :] ** 2) > radius**2

    # Local background: every valid pixel outside ``radius``.
    ring = np.where(mask | ~outside[:, None], np.float32(np.nan), data)
    bkg = _clipped_median(ring.reshape(n * nbands, -1)).reshape(n, nbands)

    # The rest only needs a window around the source, symmetric about the centre
    # so that the 180-degree rotation of the window is that of the stamp.
    offset = np.max(np.abs(np.concatenate([x0, y0]) - centre), initial=0.0)

    def margin(r):  # first pixel row/column that a circle of radius r can reach
        return max(0, int(np.floor(centre - offset - r - 0.5)))

    lo = margin(radius)
    win = slice(lo, size - lo)
    valid = ~mask[:, :, win, win]
    image = np.where(valid, data[:, :, win, win], bkg[:, :, None, None]) - bkg[:, :, None, None]

    def aperture(r, bands=slice(None)):  # flux in a circle, and pixel weights
        k = margin(r)
        edges = np.arange(k, size - k + 1) - 0.5
        weight = _circle_overlap(edges - x0[:, None], edges - y0[:, None], r)
        sub = slice(k - lo, size - k - lo)
        return np.einsum("nyx,nbyx->nb", weight, image[:, bands, sub, sub]), weight, sub

    flux, weight, sub = aperture(aperture_radius)
    with np.errstate(invalid="ignore", divide="ignore"):
        lost = np.einsum("nyx,nbyx->nb", weight, ~valid[:, :, sub, sub])
        masked = lost / weight.sum(axis=(1, 2))[:, None]
    out = {"bkg": bkg, "flux": flux, "mag": flux_to_mag(flux), "masked_frac": masked}

    # Morphology of the reference band, on the valid pixels within ``radius``.
    ref, ref_valid = image[:, 0], valid[:, 0]
    f_outer = aperture(radius, slice(1))[0][:, 0]
    f_inner = aperture(inner_radius, slice(1))[0][:, 0]
    u, v = dx[:, None, win], dy[:, win, None]
    inside = ref_valid & ~outside[:, win, win]
    moment = np.where(inside & (ref > 0), ref, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m0 = moment.sum(axis=(1, 2))
        ubar = (moment * u).sum(axis=(1, 2)) / m0
        vbar = (moment * v).sum(axis=(1, 2)) / m0
        cuu = (moment * u * u).sum(axis=(1, 2)) / m0 - ubar**2
        cvv = (moment * v * v).sum(axis=(1, 2)) / m0 - vbar**2
        cuv = (moment * u * v).sum(axis=(1, 2)) / m0 - ubar * vbar
        # SourceExtractor's (and photutils') fix for one-pixel-thin sources.
        thin = cuu * cvv - cuv**2 < 1.0 / 144
        cuu, cvv = cuu + thin / 12.0, cvv + thin / 12.0
        spread = np.sqrt(0.25 * (cuu - cvv) ** 2 + cuv**2)
        major2 = 0.5 * (cuu + cvv) + spread
        minor2 = np.maximum(0.5 * (cuu + cvv) - spread, 0.0)
        out["fwhm"] = 2.0 * np.sqrt(np.log(2.0) * (major2 + minor2))
        out["ellipticity"] = 1.0 - np.sqrt(minor2 / major2)

        # Gini coefficient (Lotz et al. 2004) of |pixel| within ``radius``.
        values = np.sort(np.where(inside, np.abs(ref), np.nan).reshape(n, -1), axis=1)
        count = (inside & np.isfinite(ref)).sum(axis=(1, 2))
        rank = np.arange(1, values.shape[1] + 1)
        kernel = np.nansum((2 * rank - count[:, None] - 1) * values, axis=1)
        norm = np.nansum(values, axis=1) * (count - 1)
        out["gini"] = np.where(count > 0, np.where(norm > 0, kernel / norm, 0.0), np.nan)

        # Asymmetry under a 180-degree rotation about the stamp centre.
        near = np.hypot(pixels[win, None] - centre, pixels[None, win] - centre) <= radius
        pair = ref_valid & ref_valid[:, ::-1, ::-1] & near
        diff = np.where(pair, np.abs(ref - ref[:, ::-1, ::-1]), 0.0).sum(axis=(1, 2))
        level = np.where(pair, np.abs(ref), 0.0).sum(axis=(1, 2))
        out["asymmetry"] = np.where(level > 0, diff / level, np.nan)

        peak = np.max(np.where(inside, ref, -np.inf), axis=(1, 2))
        out["peak_ratio"] = np.where((f_outer > 0) & np.isfinite(peak), peak / f_outer, np.nan)
        ratio = np.where((f_outer > 0) & (f_inner > 0), f_outer / f_inner, np.nan)
        out["concentration"] = 2.5 * np.log10(ratio)
    return out


def morphology_features(cutout, *, radius=6.0, aperture_radius=3.0, inner_radius=1.5):
    """Background, photometry, colours and morphology of every stamp of a `Cutout`.

    The source of each stamp is at (``x_stamp``, ``y_stamp``) of ``cutout.table``
    where known and finite, at the stamp centre ``((S - 1) / 2, (S - 1) / 2)``
    otherwise. Pixels are measured after subtracting the local background of their
    band. Apertures use the exact area of each pixel inside the circle (as
    photutils' ``method='exact'``); "within ``radius``" for the pixel statistics
    (moments, Gini, asymmetry, peak) means pixel centres at most ``radius`` away.

    Masked pixels are ignored: they never enter the background, and elsewhere
    they count as background (zero after subtraction), as in photutils' aperture
    photometry. A masked pixel inside an aperture thus leaves its light out of the
    flux instead of making it NaN; ``masked_frac_<band>`` tells how much of the
    aperture was masked, so that such stamps can be flagged or down-weighted.

    Parameters
    ----------
    cutout : `~clusterfinder.Cutout`
        The stamps, in counts on the AB zero point 30.
    radius : float, optional
        Radius in pixels of the source region: the background comes from the valid
        pixels outside it; the morphology from those inside it. Stamps must be at
        least ``2 * radius + 3`` pixels wide, to leave a background ring. The
        default, 6 pixels (1.1 arcsec on PAndAS), gave the best cross-validated
        ROC AUC of a gradient-boosted classifier on these features, on 4,000
        simulated PAndAS stamps, among radii of 4 to 8 pixels.
    aperture_radius : float, optional
        Radius in pixels of the aperture of ``flux_<band>`` (at most ``radius``).
    inner_radius : float, optional
        Radius in pixels of the inner aperture of the concentration index (less
        than ``radius``).

    Returns
    -------
    `~astropy.table.QTable`
        One row per stamp, in the order of ``cutout``, with plain float columns;
        a feature that cannot be measured (no valid pixel outside ``radius`` for
        the background, no positive flux...) is NaN. For each band ``b``:

        - ``bkg_b``: background per pixel, the sigma-clipped (3 sigma, 5
          iterations) median of the valid pixels outside ``radius``;
        - ``flux_b``: background-subtracted flux within ``aperture_radius``;
        - ``mag_b``: ``30 - 2.5 log10(flux_b)``, NaN where ``flux_b <= 0``;
        - ``masked_frac_b``: masked fraction of the ``aperture_radius`` aperture area.

        For each pair of consecutive bands ``b0``, ``b1``: ``color_b0_b1`` =
        ``mag_b0 - mag_b1``. Of the first band only:

        - ``concentration``: ``2.5 log10(F(radius) / F(inner_radius))`` with ``F``
          the aperture flux, the magnitude difference between the two apertures
          (the concentration index of star-cluster work, e.g. LEGUS): 0 for light
          entirely inside ``inner_radius``, larger for more extended sources;
        - ``fwhm``: ``2 sqrt(2 ln 2) sqrt((a^2 + b^2) / 2)`` pixels, with ``a`` and
          ``b`` the semimajor and semiminor standard deviations from the
          intensity-weighted second moments of the positive pixels within
          ``radius`` (as photutils' ``SourceCatalog``);
        - ``ellipticity``: ``1 - b / a`` from the same moments;
        - ``gini``: Gini coefficient (Lotz et al. 2004) of the absolute pixel
          values within ``radius``: 0 for uniform light, 1 for a single pixel;
        - ``asymmetry``: ``sum |I - I_180| / sum |I|`` over the pixels within
          ``radius`` of the stamp centre, ``I_180`` being the stamp rotated by 180
          degrees about its centre (pairs with a masked pixel are left out);
        - ``peak_ratio``: brightest pixel within ``radius`` over ``F(radius)``.

    Raises
    ------
    TypeError
        If ``cutout`` is not a `~clusterfinder.Cutout` or a radius is not a number.
    ValueError
        If a radius is not positive, ``inner_radius >= radius``,
        ``aperture_radius > radius``, or the stamps are too small for ``radius``.

    Examples
    --------
    Two 25x25 stamps of a round Gaussian source (sigma 1 pixel in the first, 2 in
    the second) of 1000 counts in g and 400 in i, on a background of 5 counts:

    >>> import numpy as np
    >>> from clusterfinder import Cutout
    >>> from clusterfinder.classifier import morphology_features
    >>> y, x = np.mgrid[:25, :25] - 12.0
    >>> def blob(sigma, total):
    ...     return total * np.exp(-(x**2 + y**2) / (2 * sigma**2)) / (2 * np.pi * sigma**2)
    >>> data = np.array([[blob(s, 1000) + 5, blob(s, 400) + 5] for s in (1.0, 2.0)])
    >>> features = morphology_features(Cutout(data, bands=("g", "i")), radius=8.0)
    >>> features["bkg_g"].round(2).tolist()
    [5.0, 5.0]
    >>> features["mag_g"].round(3).tolist()  # light outside 3 pixels is left out
    [22.517, 22.942]
    >>> features["color_g_i"].round(3).tolist()  # 2.5 log10(1000 / 400) = 0.995
    [-0.995, -0.995]
    >>> features["fwhm"].round(2).tolist()  # 2.355 sigma
    [2.35, 4.7]
    >>> features["concentration"].round(2).tolist()
    [0.45, 1.53]
    """
    if not isinstance(cutout, Cutout):
        raise TypeError(f"cutout must be a clusterfinder.Cutout; got {type(cutout).__name__}")
    radius = _check_radius("radius", radius)
    aperture_radius = _check_radius("aperture_radius", aperture_radius)
    inner_radius = _check_radius("inner_radius", inner_radius)
    if inner_radius >= radius:
        raise ValueError(
            f"inner_radius must be less than radius; got inner_radius={inner_radius} "
            f"and radius={radius}"
        )
    if aperture_radius > radius:
        raise ValueError(
            f"aperture_radius must not exceed radius (the background is measured outside "
            f"radius); got aperture_radius={aperture_radius} and radius={radius}"
        )
    size = cutout.stamp_size
    needed = int(np.ceil(2 * radius + 3))
    if size < needed:
        raise ValueError(
            f"stamps of {size}x{size} pixels are too small for radius={radius}: expected at "
            f"least {needed} pixels, to leave a background ring outside the radius"
        )

    n = len(cutout)
    x0, y0 = _positions(cutout.table, n, (size - 1) / 2.0)
    parts = [
        _measure(
            cutout.data[k : k + _CHUNK],
            cutout.mask[k : k + _CHUNK],
            x0[k : k + _CHUNK],
            y0[k : k + _CHUNK],
            radius,
            aperture_radius,
            inner_radius,
        )
        for k in range(0, n, _CHUNK)
    ]
    if not parts:  # no stamps: measure one blank stamp for the column layout
        blank = np.zeros((1, *cutout.data.shape[1:]), dtype=np.float32)
        here = np.full(1, (size - 1) / 2.0)
        one = _measure(blank, blank > 0, here, here, radius, aperture_radius, inner_radius)
        parts = [{key: value[:0] for key, value in one.items()}]
    values = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

    table = QTable()
    bands = cutout.bands
    for key in ("bkg", "flux", "mag", "masked_frac"):
        for b, band in enumerate(bands):
            table[f"{key}_{band}"] = values[key][:, b]
    for b in range(len(bands) - 1):
        table[f"color_{bands[b]}_{bands[b + 1]}"] = values["mag"][:, b] - values["mag"][:, b + 1]
    for key in ("concentration", "fwhm", "ellipticity", "gini", "asymmetry", "peak_ratio"):
        table[key] = values[key]
    return table
