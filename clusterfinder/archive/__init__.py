"""Real PAndAS images from the Canadian Astronomy Data Centre (CADC).

`query_pandas_images` asks CADC's TAP service (through `astroquery.cadc`) which
CFHT MegaCam *g* and *i* images cover a sky position, and
`download_pandas_images` fetches them through CADC's DataLink service, writing
each file atomically. Both need a network connection; the services used are set
in `conf` (a `~astropy.config.ConfigNamespace`, as in astroquery), so that
tests and mirrors can point them elsewhere.
"""

from astropy import config as _config


class Conf(_config.ConfigNamespace):
    """Configuration parameters for `clusterfinder.archive`.

    Change them for a session (``clusterfinder.archive.conf.timeout = 120``), for a
    block of code (``conf.set_temp``), or in the ``[archive]`` section of
    clusterfinder's astropy configuration file.

    Examples
    --------
    >>> from clusterfinder.archive import conf
    >>> with conf.set_temp("timeout", 5.0):
    ...     conf.timeout
    5.0
    """

    cadc_tap_url = _config.ConfigItem(
        "",
        "Base URL of the CADC TAP service (its /sync endpoint is queried); empty: look it up "
        "in the CADC registry, as astroquery.cadc does.",
    )
    cadc_datalink_capabilities_url = _config.ConfigItem(
        "",
        "URL of the VOSI capabilities document of the CADC DataLink service; empty: look it "
        "up in the CADC registry, as astroquery.cadc does.",
    )
    timeout = _config.ConfigItem(
        60.0, "Seconds any request to the CADC (query, DataLink, download) waits for an answer."
    )
    retries = _config.ConfigItem(
        2, "How many times a download is tried again after a timeout, a lost connection or a 5xx."
    )


conf = Conf()

from .download import download_file  # noqa: E402
from .pandas_images import (  # noqa: E402
    MEGACAM_BANDS,
    download_pandas_images,
    pandas_images_adql,
    query_pandas_images,
)

__all__ = [
    "MEGACAM_BANDS",
    "Conf",
    "conf",
    "download_file",
    "download_pandas_images",
    "pandas_images_adql",
    "query_pandas_images",
]
