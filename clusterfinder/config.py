"""Settings of the package, in astropy's configuration system.

``clusterfinder.conf`` is an `astropy.config.ConfigNamespace`: a setting can be
changed for a session (``clusterfinder.conf.cache_dir = "/data/models"``), for a
block of code (``with clusterfinder.conf.set_temp("cache_dir", ...)``), or for good
in the ``[clusterfinder]`` section of ``~/.astropy/config/clusterfinder.cfg``, as
for astropy and astroquery.
"""

from astropy import config as _config

__all__ = ["Conf", "conf"]


class Conf(_config.ConfigNamespace):
    """The settings of clusterfinder.

    Examples
    --------
    >>> from clusterfinder import conf
    >>> with conf.set_temp("cache_dir", "/tmp/clusterfinder-models"):
    ...     conf.cache_dir
    '/tmp/clusterfinder-models'
    """

    cache_dir = _config.ConfigItem(
        "",
        "Folder where downloaded model weights are kept. Empty: the environment "
        "variable CLUSTERFINDER_CACHE if set, else the user cache folder.",
        cfgtype="string",
    )


conf = Conf()
