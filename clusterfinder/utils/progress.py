"""An optional progress bar for long loops.

`tqdm <https://tqdm.github.io>`_ is an optional dependency. Every long loop in
clusterfinder takes a ``progress_bar=`` keyword; when it is true and tqdm is
installed, the loop shows a bar, otherwise it runs silently.
"""

import warnings

from .exceptions import ClusterFinderWarning

__all__ = ["progress_bar"]

_warned_missing_tqdm = False


def progress_bar(iterable=None, *, enabled=False, total=None, desc=None, unit="it"):
    """Wrap an iterable in a tqdm progress bar when asked for and available.

    Parameters
    ----------
    iterable : iterable, optional
        What to loop over. If `None`, ``total`` must be given and the returned
        object is used through its ``update`` method.
    enabled : bool, optional
        Show the bar. If tqdm is not installed, a single
        `~clusterfinder.utils.ClusterFinderWarning` says so and the loop runs
        without a bar.
    total : int, optional
        Number of items, when ``len(iterable)`` is not available.
    desc : str, optional
        Label printed before the bar.
    unit : str, optional
        Name of one item (e.g. ``"stamp"``).

    Returns
    -------
    iterable
        ``iterable`` itself, or a tqdm object wrapping it.

    Examples
    --------
    >>> from clusterfinder.utils import progress_bar
    >>> sum(progress_bar(range(4), enabled=False))
    6
    """
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            global _warned_missing_tqdm
            if not _warned_missing_tqdm:
                warnings.warn(
                    "progress_bar=True needs the optional package tqdm "
                    "(pip install tqdm); continuing without a progress bar.",
                    ClusterFinderWarning,
                    stacklevel=2,
                )
                _warned_missing_tqdm = True
        else:
            return tqdm(iterable, total=total, desc=desc, unit=unit)
    if iterable is None:
        return _NullBar()
    return iterable


class _NullBar:
    """Stands in for a tqdm object used through ``update`` when no bar is shown."""

    def update(self, n=1):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
