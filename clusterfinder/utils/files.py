"""Writing files so that an interruption never leaves a truncated one.

Every file clusterfinder writes (catalogues, stamps, weights, images, journals,
decisions) goes through `atomic_write`: the content is written to a hidden
temporary file in the destination folder and then renamed onto the final name,
which on POSIX and Windows replaces the file in one step. A crash or Ctrl-C
leaves the old file (or none), and no temporary file behind.
"""

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text"]


def atomic_write(path, write, *, suffix=".tmp"):
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    Parameters
    ----------
    path : str or path-like
        The final file.
    write : callable
        Writes the content to the path it is given (a file that already exists and
        is empty: writers must be told to overwrite it).
    suffix : str, optional
        Ending of the temporary name, for writers that choose a format from it.

    Returns
    -------
    `pathlib.Path`
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     target = pathlib.Path(tmp) / "out.txt"
    ...     _ = atomic_write(target, lambda name: pathlib.Path(name).write_text("done"))
    ...     target.read_text(), sorted(p.name for p in pathlib.Path(tmp).iterdir())
    ('done', ['out.txt'])
    """
    path = Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        # mkstemp makes the file private (0600); results are ordinary files.
        os.chmod(tmp, 0o644)
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` with `atomic_write`; return the path."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
