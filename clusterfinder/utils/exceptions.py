"""Warning classes of clusterfinder."""

from astropy.utils.exceptions import AstropyUserWarning

__all__ = ["ClusterFinderWarning"]


class ClusterFinderWarning(AstropyUserWarning):
    """The base class of every warning that clusterfinder emits.

    It derives from `~astropy.utils.exceptions.AstropyUserWarning`, so filters set
    for astropy warnings also apply to clusterfinder's.

    Examples
    --------
    Silence (or turn into errors) every warning of clusterfinder at once:

    >>> import warnings
    >>> from clusterfinder.utils import ClusterFinderWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", ClusterFinderWarning)
    ...     try:
    ...         warnings.warn("no source on the images", ClusterFinderWarning)
    ...     except ClusterFinderWarning as caught:
    ...         print(f"refused: {caught}")
    refused: no source on the images
    """
