"""Downloading one file over HTTP so that nothing partial is ever left behind.

The content is streamed into a hidden temporary file beside the destination
(`~clusterfinder.utils.files.atomic_write`) and renamed onto the final name only
when the whole body has arrived: a lost connection, a short body (fewer bytes
than the server's ``Content-Length``) or Ctrl-C leaves no file under the final
name. Timeouts, lost connections and 5xx answers are tried again a few times
(`clusterfinder.archive.conf` ``retries``), because archive services flap.
"""

import time
from pathlib import Path

from ..utils.files import atomic_write
from ..utils.outputs import check_output_file

__all__ = ["download_file"]

_CHUNK = 1 << 20


class _ShortBody(OSError):
    """The server sent fewer bytes than it announced."""


class _ServerError(OSError):
    """The server answered with a 5xx status (worth trying again)."""


def _write_body(response, tmp, url):
    expected = response.headers.get("Content-Length")
    encoded = response.headers.get("Content-Encoding", "identity") not in ("", "identity")
    received = 0
    with open(tmp, "wb") as handle:
        for chunk in response.iter_content(chunk_size=_CHUNK):
            handle.write(chunk)
            received += len(chunk)
    if expected is not None and not encoded and received != int(expected):
        raise _ShortBody(f"{url} sent {received} bytes of the {int(expected)} it announced")


def _fetch_once(session, url, path, timeout):
    import requests

    try:
        with session.get(url, stream=True, timeout=timeout) as response:
            if response.status_code >= 500:
                raise _ServerError(f"{url} answered HTTP {response.status_code}")
            if response.status_code >= 400:
                raise OSError(f"{url} answered HTTP {response.status_code} ({response.reason})")
            atomic_write(path, lambda tmp: _write_body(response, tmp, url))
    except requests.RequestException as exc:
        retry = isinstance(exc, (requests.ConnectionError, requests.Timeout))
        retry = retry or isinstance(exc, requests.exceptions.ChunkedEncodingError)
        error = (_ServerError if retry else OSError)(f"{url}: {exc}")
        raise error from None


def download_file(url, path, *, overwrite=False, session=None, timeout=None, retries=None):
    """Download ``url`` to the file ``path``, atomically.

    Parameters
    ----------
    url : str
        An ``http://`` or ``https://`` address.
    path : str or path-like
        The file to write; its folder must exist.
    overwrite : bool, optional
        Replace ``path`` if it exists (refused otherwise, before any download).
    session : `requests.Session`, optional
        The session to use (e.g. an authenticated one); a new one by default.
    timeout : float, optional
        Seconds to wait for the server; `clusterfinder.archive.conf` ``timeout``
        by default.
    retries : int, optional
        How many times to try again after a timeout, a lost connection, a short
        body or a 5xx answer; `clusterfinder.archive.conf` ``retries`` by default.

    Returns
    -------
    `pathlib.Path`
        ``path``.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    OSError
        The server cannot be reached, answers with an error, or sends fewer bytes
        than it announced, after all tries; no file is left at ``path`` (an
        existing one is kept as it was).

    Examples
    --------
    Existing files are refused before anything is downloaded:

    >>> import tempfile, pathlib
    >>> from clusterfinder.archive import download_file
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     kept = pathlib.Path(tmp) / "image.fits"
    ...     _ = kept.write_bytes(b"mine")
    ...     try:
    ...         download_file("https://example.org/image.fits", kept)
    ...     except FileExistsError as exc:
    ...         print(str(exc).replace(tmp, "..."))
    path: '.../image.fits' exists; pass overwrite=True to replace it
    """
    from . import conf

    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be an http:// or https:// address; got {url!r}")
    path = check_output_file(Path(path), overwrite=overwrite, name="path")
    timeout = float(conf.timeout if timeout is None else timeout)
    retries = int(conf.retries if retries is None else retries)
    if retries < 0:
        raise ValueError(f"retries must be 0 or more; got {retries}")
    if session is None:
        import requests

        session = requests.Session()
    for attempt in range(retries + 1):
        try:
            _fetch_once(session, url, path, timeout)
            return path
        except (_ServerError, _ShortBody) as exc:
            if attempt == retries:
                raise OSError(
                    f"could not download {url} to {str(path)!r} after {retries + 1} tries: {exc}"
                ) from None
            time.sleep(min(2.0**attempt, 10.0) * 0.5)
        except OSError as exc:
            raise OSError(f"could not download {url} to {str(path)!r}: {exc}") from None
    raise AssertionError("unreachable")  # pragma: no cover
