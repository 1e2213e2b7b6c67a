"""Warning classes of clusterfinder."""

from astropy.utils.exceptions import AstropyUserWarning

__all__ = ["ClusterFinderWarning"]


class ClusterFinderWarning(AstropyUserWarning):
    """The base class of every warning that clusterfinder emits.

    It derives from `~astropy.utils.exceptions.AstropyUserWarning`, so filters set
    for astropy warnings also apply to clusterfinder's.
    """
