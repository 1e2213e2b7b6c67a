"""Background estimation and forced aperture photometry on image sections.

Photometry works on one section (a tile with its margin) of one band at a time;
the tiling itself lives in `clusterfinder.detection.core`, and the sky on a
section, independent of the tiling, in `clusterfinder.detection.background`.
"""

import warnings

import numpy as np

from ..utils import ClusterFinderWarning
from ..utils.photometry import flux_to_mag
from .background import BACKGROUNDS, background_section

__all__ = ["GROWTH_FACTOR", "estimate_background", "forced_photometry"]

#: 2.5 / ln(10): turns a relative flux error into a magnitude error.
_MAG_PER_RELATIVE_FLUX = 2.5 / np.log(10.0)


def estimate_background(data, *, method="auto", box_size=64, mask=None):
    """Estimate the sky level and its noise over an image.

    Parameters
    ----------
    data : `numpy.ndarray`
        Two-dimensional pixels (NaN where invalid), taken as a whole image: the mesh
        of boxes starts at its first pixel.
    method : {"auto", "global", "none"}, optional
        ``"auto"``: sigma-clipped medians and standard deviations in boxes of
        ``box_size`` pixels, median-filtered over 3x3 boxes and interpolated
        bilinearly between box centres (see ``clusterfinder.detection.background``;
        the value at a pixel depends only on the boxes within two boxes of it);
        ``"global"``: one sigma-clipped median and standard deviation for the
        image; ``"none"``: the image is already sky-subtracted (level 0), only the
        noise is measured.
    box_size : int, optional
        Box size of the ``"auto"`` method (clipped to the image's smaller side).
    mask : `numpy.ndarray` of bool, optional
        Pixels to ignore, besides non-finite ones.

    Returns
    -------
    background, rms : `numpy.ndarray`
        Arrays of the shape of ``data`` (constant for "global" and "none"); level 0
        and infinite noise when fewer than 10 pixels are valid.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.detection.photometry import estimate_background
    >>> image = np.random.default_rng(0).normal(10.0, 2.0, (128, 128))
    >>> level, rms = estimate_background(image, method="global")
    >>> round(float(level[0, 0])), round(float(rms[0, 0]))
    (10, 2)
    """
    if method not in BACKGROUNDS:
        raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}; got {method!r}")
    data = np.asarray(data, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"data must be a 2-d image; got an array of shape {data.shape}")
    invalid = ~np.isfinite(data)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != data.shape:
            raise ValueError(f"mask must have the shape of data {data.shape}; got {mask.shape}")
        invalid |= mask
    if np.count_nonzero(~invalid) < 10:
        return np.zeros(data.shape), np.full(data.shape, np.inf)
    ny, nx = data.shape
    return background_section(
        data, (0, ny, 0, nx), method=method, box_size=box_size, pixels=data, mask=mask
    )


def forced_photometry(
    data,
    background,
    rms,
    positions,
    radius,
    *,
    zero_point,
    gain=None,
    saturation=None,
    image_shape=None,
    offset=(0, 0),
):
    """Aperture photometry at given positions in one image section.

    Parameters
    ----------
    data, background, rms : `numpy.ndarray`
        The section's pixels (NaN where invalid), sky level and sky noise.
    positions : `numpy.ndarray`
        (N, 2) pixel positions (x, y) in the section.
    radius : float
        Aperture radius in pixels.
    zero_point : float
        AB zero point of the image.
    gain : float, optional
        Electrons per count; adds Poisson noise of the sources to the errors.
    saturation : float, optional
        Counts at which pixels saturate; apertures reaching it are flagged.
    image_shape : tuple of int, optional
        Shape of the whole image, to flag apertures past its edge (the section's
        shape by default).
    offset : tuple of int, optional
        (x0, y0) of the section in the whole image.

    Returns
    -------
    dict
        ``flux``, ``fluxerr`` (counts), ``mag``, ``magerr`` (AB; NaN for a
        non-positive flux), ``edge``, ``masked``, ``saturated`` (bool), one value per
        position.

    Examples
    --------
    A source of 1000 counts on a flat sky, measured through an aperture that holds
    all of it (zero point 30: magnitude 30 - 2.5 log10(1000) = 22.5):

    >>> import numpy as np
    >>> from clusterfinder.detection import forced_photometry
    >>> data = np.full((32, 32), 5.0)
    >>> data[15:17, 15:17] += 250.0
    >>> sky, noise = np.full_like(data, 5.0), np.full_like(data, 1.0)
    >>> result = forced_photometry(data, sky, noise, np.array([[15.5, 15.5]]), 4.0,
    ...                            zero_point=30.0)
    >>> round(float(result["flux"][0]), 6), round(float(result["mag"][0]), 3)
    (1000.0, 22.5)
    >>> bool(result["edge"][0]), bool(result["saturated"][0])
    (False, False)
    """
    from photutils.aperture import CircularAperture, aperture_photometry

    n = len(positions)
    result = {key: np.full(n, np.nan) for key in ("flux", "fluxerr", "mag", "magerr")}
    result |= {key: np.zeros(n, dtype=bool) for key in ("edge", "masked", "saturated")}
    if n == 0:
        return result
    invalid = ~np.isfinite(data) | ~np.isfinite(background)
    science = np.where(invalid, 0.0, data - background)
    variance = np.where(np.isfinite(rms), rms, 0.0) ** 2
    if gain is not None:
        variance = variance + np.maximum(science, 0.0) / gain
    aperture = CircularAperture(positions, r=radius)
    table = aperture_photometry(science, aperture, error=np.sqrt(variance), mask=invalid)
    flux = np.asarray(table["aperture_sum"], dtype=float)
    fluxerr = np.asarray(table["aperture_sum_err"], dtype=float)
    ny, nx = image_shape if image_shape is not None else data.shape
    x = positions[:, 0] + offset[0]
    y = positions[:, 1] + offset[1]
    edge = (x - radius < -0.5) | (y - radius < -0.5) | (x + radius > nx - 0.5)
    edge |= y + radius > ny - 0.5
    masked = np.zeros(n, dtype=bool)
    saturated = np.zeros(n, dtype=bool)
    raw = np.where(invalid, -np.inf, data)
    invalid_float = invalid.astype(float)
    for i, footprint in enumerate(aperture.to_mask(method="center")):
        masked[i] = bool(np.any(footprint.get_values(invalid_float) > 0))
        if saturation is not None:
            values = footprint.get_values(raw)
            saturated[i] = bool(values.size and values.max() >= saturation)
    with np.errstate(divide="ignore", invalid="ignore"):
        magerr = np.where(flux > 0, _MAG_PER_RELATIVE_FLUX * fluxerr / flux, np.nan)
    result.update(
        flux=flux,
        fluxerr=fluxerr,
        mag=flux_to_mag(flux, zero_point),
        magerr=magerr,
        edge=edge,
        masked=masked,
        saturated=saturated,
    )
    return result


#: The curve of growth compares an aperture with one this many times larger.
GROWTH_FACTOR = 3.0


def _check_aperture_correction(value, bands):
    if value is None:
        return None
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(
                f"aperture_correction must be None, 'auto', a number or a dict; got {value!r}"
            )
        return "auto"
    if isinstance(value, dict):
        unknown = [band for band in value if band not in bands]
        if unknown:
            raise ValueError(f"aperture_correction names bands {unknown} not in {bands}")
        return {band: float(value[band]) for band in value}
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return {band: float(value) for band in bands}
    raise TypeError(
        f"aperture_correction must be None, 'auto', a number or a dict; got {type(value).__name__}"
    )


def _isolated_sources(x, y, distance):
    """True for sources with no other source closer than ``distance`` pixels."""
    from scipy.spatial import cKDTree

    if len(x) < 2:
        return np.ones(len(x), dtype=bool)
    nearest, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    return nearest[:, 1] > distance


def _measure_aperture_corrections(growth, minimum=5):
    corrections = {}
    for band, ratios in growth.items():
        ratios = np.concatenate(ratios) if ratios else np.zeros(0)
        ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
        if len(ratios) < minimum:
            warnings.warn(
                f"aperture_correction='auto': only {len(ratios)} bright isolated source(s) in "
                f"band {band!r} (need {minimum}); no correction applied",
                ClusterFinderWarning,
                stacklevel=4,
            )
            corrections[band] = 0.0
        else:
            corrections[band] = float(2.5 * np.log10(np.median(ratios)))
    return corrections
