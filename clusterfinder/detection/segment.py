"""Segmentation of one tile's detection image: detection, deblending, centroids."""

import warnings

import numpy as np
from astropy.utils.exceptions import AstropyUserWarning

from .centroid import windowed_centroids

__all__ = []


def check_deblend_dependency():
    """Raise a clear ImportError if scikit-image (needed to deblend) is missing."""
    try:
        import skimage  # noqa: F401
    except ImportError as exc:  # pragma: no cover - scikit-image is installed for tests
        raise ImportError(
            "deblend=True needs scikit-image: pip install scikit-image (or "
            "pip install 'clusterfinder[all]'); or pass deblend=False"
        ) from exc


def import_photutils():
    """Return `photutils.segmentation`, or raise an ImportError naming the extra."""
    try:
        import photutils.segmentation as segmentation
    except ImportError as exc:  # pragma: no cover - photutils is installed for tests
        raise ImportError(
            "source detection needs photutils: pip install photutils "
            "(or pip install 'clusterfinder[all]')"
        ) from exc
    return segmentation


class MarginTooSmall(Exception):
    """A segment near a tile's interior reaches the unreliable border of its block."""


def smoothing_radius(kernel_sigma):
    """Pixels of the detection image that one smoothed pixel depends on, each way.

    `scipy.ndimage.gaussian_filter` truncates its kernel at ``int(4 sigma + 0.5)``.
    """
    return int(4.0 * kernel_sigma + 0.5)


def centroid_reach(kernel_sigma):
    """How far (pixels) from its centre a source's windowed centroid reads pixels."""
    return int(np.ceil(4 * kernel_sigma))


def check_segments(detected, border, near):
    """Raise `MarginTooSmall` if a segment touching ``border`` has pixels in ``near``.

    ``detected`` is the boolean map of the pixels above the threshold. Segments are
    its 8-connected components (before small ones are dropped, since a segment
    cut by the block's edge may fall under ``npixels`` there and not on the image).
    """
    from scipy.ndimage import label

    labels, _ = label(detected, structure=np.ones((3, 3), dtype=bool))
    crossing = np.unique(labels[border])
    crossing = crossing[crossing > 0]
    if crossing.size:
        touched = np.zeros(labels.max() + 1, dtype=bool)
        touched[crossing] = True
        if touched[labels[near]].any():
            raise MarginTooSmall


def segments_with_several_peaks(smoothed, segmentation, labels):
    """The labels of the segments that multi-threshold deblending could split.

    Deblending cuts a segment at many levels and splits it where the pixels
    above a level form two or more connected pieces. Each such piece holds a
    pixel at least as bright as its neighbours in the segment (its brightest
    pixel), so a segment with exactly one such local peak is never split, at
    any level: deblending it is work without effect. Most isolated stars and
    clusters are such segments, which makes this test worth its cost (one
    3x3 maximum filter of the block). A segment with no peak (only possible
    with non-finite pixels) is kept for deblending, to be safe.

    Parameters
    ----------
    smoothed : `numpy.ndarray`
        The image that is deblended (the smoothed detection image).
    segmentation : `numpy.ndarray` of int
        Its segmentation map (0 = background), before deblending.
    labels : `numpy.ndarray` of int
        The labels present in ``segmentation``.

    Returns
    -------
    `numpy.ndarray` of int
        The labels whose segment has a number of local peaks other than one.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.detection.segment import segments_with_several_peaks
    >>> image = np.zeros((5, 9))
    >>> image[2, 1:4] = [1.0, 3.0, 1.0]  # one peak
    >>> image[2, 5:8] = [3.0, 1.0, 2.0]  # two peaks
    >>> segmentation = np.where(image > 0, 1, 0)
    >>> segmentation[:, 5:] *= 2
    >>> segments_with_several_peaks(image, segmentation, np.array([1, 2]))
    array([2])
    """
    from scipy.ndimage import maximum_filter

    inside = segmentation > 0
    # Segments are separate 8-connected pieces, so a 3x3 neighbourhood never mixes
    # two of them; pixels outside every segment cannot be anyone's peak.
    values = np.where(inside, smoothed, -np.inf)
    peaks = inside & (values == maximum_filter(values, size=3, mode="constant", cval=-np.inf))
    counts = np.bincount(segmentation[peaks], minlength=int(segmentation.max()) + 1)
    labels = np.asarray(labels)
    return labels[counts[labels] != 1]


def detect_tile(
    stack, stack_rms, invalid, *, kernel_sigma, nsigma, npixels, deblend, open_edges=None, near=None
):
    """Segment one tile's detection image; return positions, areas, SNR, blend flags.

    Parameters
    ----------
    stack, stack_rms, invalid : `numpy.ndarray`
        The block (a tile and its margin): detection image, its noise, bad pixels.
    kernel_sigma : float
        Standard deviation (pixels) of the smoothing Gaussian.
    nsigma, npixels, deblend
        As for `~clusterfinder.detection.detect_sources`.
    open_edges : tuple of bool, optional
        ``(bottom, top, left, right)``: True where the block's edge is not the
        image's. Pixels within `smoothing_radius` + 2 of such an edge are not
        smoothed as on the whole image, so a segment that touches them may be cut.
    near : tuple of slice, optional
        The pixels whose segments must be exact: the tile's interior widened by the
        reach of the centroids. With ``open_edges``, `MarginTooSmall` is raised
        when a segment there touches an unreliable border: the caller then reads a
        wider margin, so that every source of the interior is detected and
        measured exactly as on the whole image.

    Returns
    -------
    tuple or None
        ``(x, y, area, snr, blended)`` in block pixels, or None without sources.
    """
    from scipy.ndimage import gaussian_filter

    segmentation = import_photutils()
    from photutils.utils import NoDetectionsWarning

    smoothed = gaussian_filter(np.where(invalid, 0.0, stack), kernel_sigma, mode="constant")
    # Noise of a Gaussian-smoothed white-noise image: rms / (2 sqrt(pi) sigma).
    smoothed_rms = stack_rms / (2.0 * np.sqrt(np.pi) * kernel_sigma)
    threshold = np.where(invalid, np.inf, nsigma * smoothed_rms)
    if open_edges is not None and any(open_edges):
        width = smoothing_radius(kernel_sigma) + 2
        border = np.zeros(stack.shape, dtype=bool)
        bottom, top, left, right = open_edges
        border[:width] |= bottom
        border[-width:] |= top
        border[:, :width] |= left
        border[:, -width:] |= right
        with np.errstate(invalid="ignore"):
            check_segments((smoothed > threshold) & ~invalid, border, near)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)
        segm = segmentation.detect_sources(smoothed, threshold, npixels, mask=invalid)
        if segm is None:
            return None
        if deblend:
            # photutils falls back from exponential to linear deblending levels for
            # segments with more than 200 peaks (a bulge, a bright star's halo) and
            # warns once per tile; the fallback is the right thing, not news.
            warnings.filterwarnings("ignore", "The deblending mode", AstropyUserWarning)
            candidates = segments_with_several_peaks(smoothed, segm.data, segm.labels)
            if candidates.size:
                segm = segmentation.deblend_sources(
                    smoothed,
                    segm,
                    npixels,
                    labels=candidates,
                    n_levels=32,
                    contrast=0.001,
                    progress_bar=False,
                )
    catalog = segmentation.SourceCatalog(
        np.where(invalid, 0.0, stack), segm, convolved_data=smoothed, mask=invalid
    )
    labels = np.asarray(catalog.labels)
    x, y = windowed_centroids(
        np.where(invalid, 0.0, stack),
        np.asarray(catalog.x_centroid, dtype=float),
        np.asarray(catalog.y_centroid, dtype=float),
        kernel_sigma,  # the smoothing kernel is about the seeing: a good window
        labels=labels,
        segmentation=segm.data,
        invalid=invalid,
    )
    area = np.asarray(catalog.area.value, dtype=int)
    blended = np.isin(labels, np.asarray(getattr(segm, "deblended_labels", []), dtype=int))
    iy = np.clip(np.round(y).astype(int), 0, stack.shape[0] - 1)
    ix = np.clip(np.round(x).astype(int), 0, stack.shape[1] - 1)
    snr = smoothed[iy, ix] / smoothed_rms[iy, ix]
    return x, y, area, snr, blended
