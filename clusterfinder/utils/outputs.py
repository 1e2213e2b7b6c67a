"""Checking output paths before the long work starts.

Every command and function that writes files checks its outputs first, with these
helpers, so that a bad path fails in a second rather than after hours of work, and
so that nothing is lost:

- an output that exists is refused unless the caller passes ``overwrite=True``
  (``--overwrite`` on the command line);
- an output that is one of the inputs is refused even then;
- a missing folder, a file where a folder is expected (or the other way round) and
  a folder that cannot be written in are refused with a message naming the option
  and the path given.

The errors are the built-in ones (`FileExistsError`, `FileNotFoundError`,
`NotADirectoryError`, `IsADirectoryError`, `PermissionError`, and `ValueError` for
an output that is an input), so that callers and the command line report them as
any other bad input.
"""

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["check_output_dir", "check_output_file", "overwrite_hint"]


def overwrite_hint(name):
    """How to allow an overwrite, in the words of the caller named ``name``.

    Names of command-line options and arguments (``--output``, ``OUTDIR``) get
    ``--overwrite``; parameter names of Python functions (``output``) get
    ``overwrite=True``.

    Examples
    --------
    >>> overwrite_hint("--output"), overwrite_hint("OUTDIR"), overwrite_hint("output")
    ('--overwrite', '--overwrite', 'overwrite=True')
    """
    return "--overwrite" if name.startswith("-") or name.isupper() else "overwrite=True"


def _inputs(inputs):
    """``inputs`` as a list of (label, path); a plain iterable gets the label "an input"."""
    if inputs is None:
        return []
    if isinstance(inputs, Mapping):
        items = inputs.items()
    elif isinstance(inputs, (str, os.PathLike)):
        items = [("an input", inputs)]
    else:
        items = [("an input", value) for value in inputs]
    return [(str(label), value) for label, value in items if isinstance(value, (str, os.PathLike))]


def _check_not_input(path, inputs, name):
    if not os.path.exists(path):
        return
    for label, value in _inputs(inputs):
        try:
            same = os.path.exists(value) and os.path.samefile(path, value)
        except OSError:
            same = False
        if same:
            raise ValueError(
                f"{name}: {str(path)!r} is also {label}; an input is never overwritten: "
                "choose another file"
            )


def _nearest_existing(path):
    """``path`` itself or its nearest ancestor that exists."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable_folder(folder, path, name):
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(
            f"{name}: cannot write {str(path)!r}: no permission to write in folder {str(folder)!r}"
        )


def check_output_file(path, *, overwrite=False, inputs=(), name="--output"):
    """Check that a file can be written at ``path`` before the work that makes it.

    Parameters
    ----------
    path : str or path-like
        The file to be written.
    overwrite : bool, optional
        Allow replacing an existing file (never one of the ``inputs``).
    inputs : dict or iterable, optional
        The files the caller reads (label -> path, or paths); ``path`` must be none
        of them, even with ``overwrite=True``. Entries that are not paths are ignored.
    name : str, optional
        The option or parameter that gave ``path``, for the messages.

    Returns
    -------
    `pathlib.Path`
        ``path``.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        ``path`` is one of the ``inputs``.
    IsADirectoryError
        ``path`` is a folder.
    FileNotFoundError, NotADirectoryError, PermissionError
        The folder of ``path`` is missing, is not a folder, or cannot be written in.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     catalog = pathlib.Path(tmp) / "c.ecsv"
    ...     _ = catalog.write_text("x")
    ...     check_output_file(pathlib.Path(tmp) / "page.html").name
    ...     try:
    ...         check_output_file(catalog, overwrite=True, inputs={"CATALOG": catalog})
    ...     except ValueError as exc:
    ...         print(str(exc).replace(tmp, "..."))
    'page.html'
    --output: '.../c.ecsv' is also CATALOG; an input is never overwritten: choose another file
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{name}: {str(path)!r} is a folder; expected a file name")
    _check_not_input(path, inputs, name)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{name}: {str(path)!r} exists; pass {overwrite_hint(name)} to replace it"
        )
    folder = path.parent
    if not folder.exists():
        existing = _nearest_existing(folder)
        if not existing.is_dir():
            raise NotADirectoryError(
                f"{name}: cannot write {str(path)!r}: {str(existing)!r} is not a folder"
            )
        raise FileNotFoundError(
            f"{name}: cannot write {str(path)!r}: folder {str(folder)!r} does not exist"
        )
    if not folder.is_dir():
        raise NotADirectoryError(
            f"{name}: cannot write {str(path)!r}: {str(folder)!r} is not a folder"
        )
    _check_writable_folder(folder, path, name)
    return path


def check_output_dir(path, *, name="OUTDIR"):
    """Check that ``path`` is, or can be made, a folder to write in.

    A folder that does not exist yet is fine if it can be created (with its
    missing parents); the caller creates it.

    Parameters
    ----------
    path : str or path-like
        The output folder.
    name : str, optional
        The option or parameter that gave ``path``, for the messages.

    Returns
    -------
    `pathlib.Path`
        ``path``.

    Raises
    ------
    NotADirectoryError
        ``path``, or one of its parents, is a file.
    PermissionError
        The folder (or the nearest existing parent) cannot be written in.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     blocker = pathlib.Path(tmp) / "notes.txt"
    ...     _ = blocker.write_text("x")
    ...     check_output_dir(pathlib.Path(tmp) / "new" / "out").name
    ...     try:
    ...         check_output_dir(blocker, name="--output")
    ...     except NotADirectoryError as exc:
    ...         print(str(exc).replace(tmp, "..."))
    'out'
    --output: '.../notes.txt' is a file; expected a folder
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{name}: {str(path)!r} is a file; expected a folder")
    existing = _nearest_existing(path)
    if not existing.is_dir():
        raise NotADirectoryError(
            f"{name}: cannot create folder {str(path)!r}: {str(existing)!r} is a file"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "write in" if existing == path else "create"
        raise PermissionError(
            f"{name}: cannot {what} folder {str(path)!r}: no permission to write in "
            f"{str(existing)!r}"
        )
    return path
