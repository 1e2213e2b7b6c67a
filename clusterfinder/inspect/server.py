"""Serve an inspection page locally and write every decision to disk as it is made.

Opened from disk, an inspection page keeps its decisions in the browser. Served by
`InspectionServer` (``clusterfinder inspect ... --serve``), the same page also POSTs
each decision to the server, which rewrites the decision file (atomically) at once,
so that nothing is lost even if the browser's storage is wiped. A decision that
cannot be written is answered with an HTTP error (500) saying why, and is not kept
by the server either, so the page never shows a decision as saved that is not on
disk. The server listens on 127.0.0.1 only.
"""

import datetime
import html
import http.server
import json
import re
import threading
from pathlib import Path

from ..utils.outputs import check_output_file
from .decisions import DECISIONS, Decisions, _load, write_decisions

__all__ = ["InspectionServer"]

_DATA_BLOCK = re.compile(r'<script id="cf-data" type="application/json">(.*?)</script>', re.S)

#: Largest request body accepted (bytes): one decision is a few hundred.
_MAX_BODY = 65536


def _read_page(path):
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    match = _DATA_BLOCK.search(text)
    if match is None:
        raise ValueError(f"{path} is not a clusterfinder inspection page")
    record = json.loads(match.group(1))
    return text.encode("utf-8"), record["catalog_id"], record["columns"]["id"]


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "clusterfinder-inspect"

    def log_message(self, format, *args):
        pass

    def _send(self, status, body, content_type="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, owner.page_bytes, "text/html; charset=utf-8")
        elif path == "/api/decisions":
            with owner.lock:
                record = owner.decisions.to_json()
            record["path"] = str(owner.decisions_path)
            self._send(200, record)
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        owner = self.server.owner
        if self.path.split("?", 1)[0] != "/api/decision":
            self._send(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= _MAX_BODY:
            self._send(413, {"error": "request body missing or too large"})
            return
        try:
            message = json.loads(self.rfile.read(length))
            count = owner.record(message)
        except (ValueError, TypeError, KeyError) as exc:
            self._send(400, {"error": str(exc)})
            return
        except OSError as exc:
            self._send(500, {"error": f"the decision was not saved: {exc}"})
            return
        self._send(200, {"ok": True, "path": str(owner.decisions_path), "n_decided": count})


class InspectionServer:
    """A local web server for one inspection page that saves each decision at once.

    Parameters
    ----------
    page : str or path-like
        An inspection page written by `~clusterfinder.inspect.make_inspection_page`.
    decisions : str or path-like, optional
        The decision file to keep up to date (the export format of the page).
        Decisions already in it are kept and shown; it must come from the same
        catalogue. Its folder must exist and be writable (checked at once).
        Default: ``<page stem>_decisions.json`` beside the page.
    port : int, optional
        TCP port on 127.0.0.1; 0 picks a free one.
    inspector : str, optional
        Name recorded in the file until the page sends one.

    Examples
    --------
    >>> import json, tempfile, pathlib, urllib.request
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder.inspect import InspectionServer, make_inspection_page
    >>> table = QTable({"coord": SkyCoord([10.68] * u.deg, [41.27] * u.deg),
    ...                 "prob_cluster": [0.9]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     page = make_inspection_page(table, output=pathlib.Path(tmp) / "p.html")
    ...     with InspectionServer(page) as server:
    ...         body = json.dumps({"id": "0", "decision": "cluster"}).encode()
    ...         reply = urllib.request.urlopen(server.url + "api/decision", body).read()
    ...         saved = json.loads(server.decisions_path.read_text())["decisions"]
    >>> saved["0"]["decision"]
    'cluster'
    """

    def __init__(self, page, decisions=None, *, port=0, inspector=""):
        self.page_path = Path(page)
        self.page_bytes, self.catalog_id, ids = _read_page(self.page_path)
        self._ids = set(ids)
        self._n = len(ids)
        if decisions is None:
            decisions = self.page_path.with_name(self.page_path.stem + "_decisions.json")
        self.decisions_path = check_output_file(
            decisions, overwrite=True, inputs={"the page": self.page_path}, name="decisions"
        )
        if self.decisions_path.exists():
            existing = _load(self.decisions_path)
            if existing.catalog_id != self.catalog_id:
                raise ValueError(
                    f"catalogue id mismatch: {self.decisions_path} was made on another "
                    "catalogue than the page"
                )
            self.decisions = existing
        else:
            self.decisions = Decisions(self.catalog_id, str(inspector), {})
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer in 0-65535; got {port!r}")
        self.lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self._thread = None

    @property
    def port(self):
        """The TCP port the server listens on."""
        return self._httpd.server_address[1]

    @property
    def url(self):
        """The address of the page, ``http://127.0.0.1:PORT/``."""
        return f"http://127.0.0.1:{self.port}/"

    def record(self, message):
        """Apply one decision message from the page and rewrite the decision file.

        ``message`` is ``{"id": ..., "decision": one of DECISIONS or "" (to clear),
        "time": ISO 8601, "inspector": ...}``; an optional ``catalog_id`` must match.
        Returns the number of decided candidates. If the file cannot be written,
        the `OSError` is raised and the decision is not kept.

        Parameters
        ----------
        message : dict
            One decision, as the page sends it.

        Returns
        -------
        int
            How many candidates have a decision now.

        Raises
        ------
        TypeError
            If ``message`` is not a dict.
        ValueError
            For another catalogue's id, an unknown candidate id or an unknown
            decision.
        OSError
            If the decision file cannot be written (the decision is then not kept).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder.inspect import InspectionServer, make_inspection_page
        >>> table = QTable({"coord": SkyCoord([10.68, 10.70] * u.deg, [41.27, 41.30] * u.deg),
        ...                 "prob_cluster": [0.9, 0.8]})
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     page = make_inspection_page(table, output=pathlib.Path(tmp) / "p.html")
        ...     server = InspectionServer(page)  # not started: record() needs no network
        ...     counts = [server.record({"id": "0", "decision": "cluster"}),
        ...               server.record({"id": "1", "decision": "unsure"}),
        ...               server.record({"id": "0", "decision": ""})]
        ...     server.stop()
        >>> counts, server.decisions.labels()
        ([1, 2, 1], {'1': 'unsure'})
        """
        if not isinstance(message, dict):
            raise TypeError("a decision message must be a JSON object")
        if message.get("catalog_id", self.catalog_id) != self.catalog_id:
            raise ValueError("catalogue id mismatch: the page belongs to another catalogue")
        key = str(message["id"])
        if key not in self._ids:
            raise ValueError(f"unknown candidate id {html.escape(key)!r}")
        decision = message.get("decision") or ""
        if decision and decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS} or empty; got {decision!r}")
        stamp = str(message.get("time") or datetime.datetime.now(datetime.UTC).isoformat())
        with self.lock:
            entries = dict(self.decisions.decisions)
            if decision:
                entries[key] = {"decision": decision, "time": stamp}
            else:
                entries.pop(key, None)
            inspector = str(message.get("inspector") or self.decisions.inspector)
            now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
            updated = Decisions(self.catalog_id, inspector, entries, now)
            write_decisions(updated, self.decisions_path, n_candidates=self._n)
            self.decisions = updated  # only once it is on disk
            return len(entries)

    def start(self):
        """Serve in a background thread and return self.

        Used by ``with InspectionServer(...) as server:``, which also stops it.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astropy.table import QTable
        >>> from clusterfinder.inspect import InspectionServer, make_inspection_page
        >>> table = QTable({"coord": SkyCoord([10.68, 10.70] * u.deg, [41.27, 41.30] * u.deg),
        ...                 "prob_cluster": [0.9, 0.8]})
        >>> import urllib.request
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     page = make_inspection_page(table, output=pathlib.Path(tmp) / "p.html")
        ...     server = InspectionServer(page).start()
        ...     status = urllib.request.urlopen(server.url).status
        ...     server.stop()
        >>> status
        200
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
            self._thread.start()
        return self

    def serve_forever(self):
        """Serve in this thread until interrupted (Ctrl-C), then close.

        A decision being written when the interruption comes is finished first.
        This is what ``clusterfinder inspect --serve`` runs.

        Examples
        --------
        >>> server.serve_forever()  # doctest: +SKIP
        """
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._httpd.server_close()
            with self.lock:  # wait for a decision being written
                pass

    def stop(self):
        """Stop serving and release the port.

        Examples
        --------
        See `start`, whose example stops the server it started.
        """
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
