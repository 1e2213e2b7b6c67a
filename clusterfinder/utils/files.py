"""Writing files so that an interruption never leaves a truncated one.

Every file clusterfinder writes (catalogues, stamps, weights, images, journals,
decisions) goes through `atomic_write`: the content is written to a hidden
temporary file in the destination folder and then renamed onto the final name,
which on POSIX and Windows replaces the file in one step. A crash or Ctrl-C
leaves the old file (or none), and no temporary file behind. Errors name the
file asked for, never the temporary one.
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
    try:
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise _naming(exc, path, None) from None
    os.close(handle)
    try:
        # mkstemp makes the file private (0600); results are ordinary files.
        os.chmod(tmp, 0o644)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if tmp not in (exc.filename, exc.filename2):
            raise
        raise _naming(exc, path, tmp) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _naming(exc, path, tmp):
    """``exc`` (about the temporary file ``tmp`` of ``path``) re-worded to name ``path``.

    The temporary name is an implementation detail: the user gave ``path``.
    """
    folder = path.parent
    if isinstance(exc, FileNotFoundError) and not folder.is_dir():
        reason = f"folder {str(folder)!r} does not exist"
    elif isinstance(exc, (NotADirectoryError, FileNotFoundError)) and folder.exists():
        reason = f"{str(folder)!r} is not a folder"
    elif isinstance(exc, PermissionError) and tmp is None:
        reason = f"no permission to write in folder {str(folder)!r}"
    elif isinstance(exc, IsADirectoryError) or path.is_dir():
        reason = "it is a folder"
    else:
        reason = exc.strerror or str(exc)
    error = type(exc)(f"cannot write {str(path)!r}: {reason}")
    error.errno = exc.errno  # (setting filename would change the message)
    return error


def atomic_write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` with `atomic_write`; return the path."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
