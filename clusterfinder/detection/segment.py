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


def detect_tile(stack, stack_rms, invalid, *, kernel_sigma, nsigma, npixels, deblend):
    """Segment one tile's detection image; return positions, areas, SNR, blend flags."""
    from scipy.ndimage import gaussian_filter

    segmentation = import_photutils()
    from photutils.utils import NoDetectionsWarning

    smoothed = gaussian_filter(np.where(invalid, 0.0, stack), kernel_sigma, mode="constant")
    # Noise of a Gaussian-smoothed white-noise image: rms / (2 sqrt(pi) sigma).
    smoothed_rms = stack_rms / (2.0 * np.sqrt(np.pi) * kernel_sigma)
    threshold = np.where(invalid, np.inf, nsigma * smoothed_rms)
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
            segm = segmentation.deblend_sources(
                smoothed, segm, npixels, n_levels=32, contrast=0.001, progress_bar=False
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
