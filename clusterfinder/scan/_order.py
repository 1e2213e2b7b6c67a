"""Which of the first two arguments of `~clusterfinder.scan.scan` is the classifier (private).

`scan` takes the classifier first, as `~clusterfinder.scan.find_candidates` does; the
fields-first order of earlier versions still works for one release. `scan_order`
tells the two apart from what the arguments are (objects, containers, and for paths
what they are on disk), and refuses a pair that fits neither order.
"""

import os
from pathlib import Path

__all__ = ["scan_order"]


#: The two argument orders `scan` accepts, as named in its messages.
_ORDERS = (
    "scan(classifier, fields, output, ...) (the classifier first, as find_candidates "
    "takes it), or, deprecated, scan(fields, classifier, output, ...)"
)


def _is_model(value):
    """Whether ``value`` is a classifier object (a `ClusterClassifier` or alike)."""
    return (
        not isinstance(value, (str, bytes, os.PathLike, dict))
        and callable(getattr(value, "predict_proba", None))
        and hasattr(value, "bands")
    )


def _is_path(value):
    return isinstance(value, (str, os.PathLike))


def _is_container(value):
    """Whether ``value`` can only be fields: a dict or another iterable that is not a path."""
    return isinstance(value, dict) or (
        not isinstance(value, (str, bytes, os.PathLike)) and hasattr(value, "__iter__")
    )


def _is_folder(value):
    try:
        return Path(os.fspath(value)).expanduser().is_dir()
    except (OSError, ValueError):
        return False


def _is_weights(value):
    """Whether the path ``value`` names saved weights, as `ClusterClassifier.load` reads them.

    A ``.safetensors`` or ``.pt`` file that exists, or a base name (or its ``.json``
    sidecar) with a ``.safetensors`` or ``.pt`` file beside it.
    """
    from ..classifier.persistence import weights_candidates

    try:
        return any(candidate.is_file() for candidate in weights_candidates(value))
    except (OSError, ValueError):  # an empty name, a NUL byte...
        return False


def _describe(value):
    """What ``value`` is, in words, for the refusal of `scan_order`."""
    if _is_path(value):
        kinds = [
            kind
            for kind, test in (("a folder", _is_folder), ("saved weights", _is_weights))
            if test(value)
        ]
        if kinds:
            return f"{os.fspath(value)!r} is {' and '.join(kinds)}"
        path = Path(os.fspath(value)).expanduser()
        if path.exists():
            return f"{os.fspath(value)!r} is neither a folder nor saved weights"
        return f"{os.fspath(value)!r} does not exist"
    return f"a {type(value).__name__}"


def scan_order(first, second):
    """Read the first two arguments of `scan` as ``(classifier, fields)``.

    ``scan(classifier, fields, ...)`` is the order; ``scan(fields, classifier, ...)``
    the deprecated one. The rule, which never guesses:

    1. ``first`` is a classifier object: the new order.
    2. ``second`` is a classifier object: the old order.
    3. ``first`` is a dict, list or other container (fields only): the old order,
       if ``second`` is a path.
    4. ``first`` is a path and ``second`` a container: the new order, if ``first``
       is saved weights.
    5. Both are paths: the new order if ``first`` is saved weights and ``second`` a
       folder; the old order if ``first`` is a folder and ``second`` saved weights.

    Anything else (both folders, both weights, a path that is neither, a path that
    is both and makes the two readings fit...) is refused, naming the two orders.

    Returns
    -------
    classifier, fields
        The arguments in their roles.
    old_order : bool
        True for the deprecated order (the caller warns).

    Raises
    ------
    TypeError
        When an argument can be neither a classifier nor fields (e.g. None), or
        both are containers.
    ValueError
        When both are paths, or one a path and one a container, and no single
        order fits what they are on disk.
    """
    if _is_model(first):
        return first, second, False
    if _is_model(second):
        return second, first, True
    if _is_container(first):
        if _is_path(second):
            return second, first, True
        raise TypeError(
            f"scan: neither argument is a classifier (got {_describe(first)} and "
            f"{_describe(second)}); use {_ORDERS}"
        )
    if not _is_path(first):
        raise TypeError(
            "scan: the first argument must be the classifier (a ClusterClassifier or the "
            f"path of saved weights); got {type(first).__name__}. Use {_ORDERS}"
        )
    if _is_container(second):
        if _is_weights(first):
            return first, second, False
        raise ValueError(
            f"scan: the fields are {_describe(second)}, but {_describe(first)}: the "
            f"classifier must be a ClusterClassifier or saved weights (a .safetensors or .pt "
            f"file, or their base name). Use {_ORDERS}"
        )
    if not _is_path(second):
        raise TypeError(
            "scan: the second argument must be the fields (a folder, a list of dicts band -> "
            f"FITS path or a dict name -> dict band -> path); got {type(second).__name__}. "
            f"Use {_ORDERS}"
        )
    new = _is_weights(first) and _is_folder(second)
    old = _is_folder(first) and _is_weights(second)
    if new != old:
        return (first, second, False) if new else (second, first, True)
    raise ValueError(
        f"scan cannot tell which argument is the classifier: {_describe(first)} and "
        f"{_describe(second)}. Give the classifier (saved weights: a .safetensors or .pt "
        "file, or their base name) and the fields (a folder of NAME_<band>.fits images) "
        f"as {_ORDERS}"
    )
