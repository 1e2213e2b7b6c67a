"""Seeding: every random draw in clusterfinder goes through `numpy.random.Generator`."""

import numpy as np

__all__ = ["as_generator"]


def as_generator(seed=None):
    """Return a `numpy.random.Generator` for ``seed``.

    Parameters
    ----------
    seed : None, int, `numpy.random.SeedSequence` or `numpy.random.Generator`
        An existing generator is returned unchanged, so that a caller can pass
        one generator through several functions; anything else seeds a new one.

    Returns
    -------
    `numpy.random.Generator`

    Examples
    --------
    >>> from clusterfinder.utils import as_generator
    >>> float(as_generator(3).random()) == float(as_generator(3).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, float)) or (
        seed is not None and not isinstance(seed, (int, np.integer, np.random.SeedSequence))
    ):
        raise TypeError(
            f"seed must be None, an integer, a numpy SeedSequence or a numpy Generator; "
            f"got {type(seed).__name__}"
        )
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed}")
    return np.random.default_rng(seed)
