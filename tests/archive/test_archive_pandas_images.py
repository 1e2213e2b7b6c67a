"""The CADC archive path, offline: recorded answers served by a real HTTP server.

The TAP and DataLink answers under tests/data/archive are hand-made in the formats
the CADC services document (see the README there). A server on 127.0.0.1 plays
the three CADC services astroquery.cadc talks to (TAP /sync, DataLink
capabilities and links, file downloads), so astroquery's and pyvo's real request
and parsing code runs; only the network is local.
"""

import hashlib
import http.server
import re
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from clusterfinder.archive import (
    conf,
    download_file,
    download_pandas_images,
    pandas_images_adql,
    query_pandas_images,
)
from clusterfinder.archive._footprint import footprint_centre as _centre
from clusterfinder.archive._footprint import footprint_vertices as _vertices

DATA = Path(__file__).parent.parent / "data" / "archive"
FIELD = SkyCoord(11.435516 * u.deg, 41.698562 * u.deg)  # PHAT-AP cluster 1 (B374-G306)
PRODUCTS = ["1034561p", "1034562p", "1034575p", "1186240p"]


def fits_bytes(name):
    """Distinct, deterministic content for each served file."""
    return hashlib.sha256(name.encode()).digest() * 4000 + name.encode()


class Archive:
    """What the fake CADC serves, and what it was asked."""

    def __init__(self):
        self.tap_answer = "cadc_tap_megacam_images.xml"
        self.tap_delay = 0.0
        self.requests = []
        self.failures = {}  # file name -> list of misbehaviours, consumed in order
        self.files = {f"{p}.fits.fz": fits_bytes(p) for p in PRODUCTS}
        self.url = None


@pytest.fixture
def archive(monkeypatch):
    """A fake CADC on 127.0.0.1, and `conf` pointing at it."""
    state = Archive()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, body, status=200, ctype="application/x-votable+xml", length=None):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)

        def _recorded(self, name):
            text = (DATA / name).read_text().replace("{server}", state.url)
            return text.encode()

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            form = parse_qs(self.rfile.read(length).decode())
            path = re.sub("/+", "/", self.path)  # astroquery's registry path gives '/tap//sync'
            state.requests.append(("POST", path, form))
            if path == "/tap/sync":
                time.sleep(state.tap_delay)
                self._send(self._recorded(state.tap_answer))
            else:
                self._send(b"not found", status=404, ctype="text/plain")

        def do_GET(self):
            path, _, query = self.path.partition("?")
            path = re.sub("/+", "/", path)
            state.requests.append(("GET", path, parse_qs(query)))
            if path == "/reg/resource-caps":
                self._send(self._recorded("cadc_registry_resource_caps.txt"), ctype="text/plain")
            elif path == "/tap/capabilities":
                self._send(self._recorded("cadc_tap_capabilities.xml"), ctype="text/xml")
            elif path == "/datalink/capabilities":
                self._send(self._recorded("cadc_datalink_capabilities.xml"), ctype="text/xml")
            elif path == "/datalink/links":
                self._send(self._recorded("cadc_datalink_links.xml"))
            elif path.startswith("/files/") and path[7:] in state.files:
                name = path[7:]
                body = state.files[name]
                trouble = state.failures.get(name, [])
                what = trouble.pop(0) if trouble else None
                if what == "503":
                    self._send(b"busy", status=503, ctype="text/plain")
                elif what == "short":
                    # announce the whole file, send half of it, hang up
                    self._send(body[: len(body) // 2], ctype="application/fits", length=len(body))
                    self.close_connection = True
                else:
                    self._send(body, ctype="application/fits")
            else:
                self._send(b"not found", status=404, ctype="text/plain")

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    with conf.set_temp("cadc_tap_url", f"{state.url}/tap"):
        with conf.set_temp("cadc_datalink_capabilities_url", f"{state.url}/datalink/capabilities"):
            with conf.set_temp("timeout", 10.0):
                yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


# -- the query ----------------------------------------------------------------------------


def test_adql_names_the_caom_tables_and_filters():
    adql = pandas_images_adql(
        FIELD, radius=3 * u.arcmin, bands=("g", "i"), proposal_id=["08BP99", "09BP99"]
    )
    assert "FROM caom2.Observation AS o JOIN caom2.Plane AS p ON o.obsID = p.obsID" in adql
    assert "CIRCLE('ICRS', 11.435516, 41.698562, 0.05)" in adql
    assert "p.energy_bandpassName LIKE 'g.%' OR p.energy_bandpassName LIKE 'i.%'" in adql
    assert "o.collection = 'CFHT' AND o.instrument_name = 'MegaPrime'" in adql
    assert "AND p.calibrationLevel = 2" in adql
    assert "AND o.proposal_id IN ('08BP99', '09BP99')" in adql
    every = pandas_images_adql(FIELD, calibration_level=None, collection="CFHTMEGAPIPE")
    assert "calibrationLevel" not in every.split("WHERE")[1]
    assert "o.collection = 'CFHTMEGAPIPE'" in every
    # Galactic input is converted to ICRS before it reaches the query.
    galactic = pandas_images_adql(FIELD.galactic)
    assert "CIRCLE('ICRS', 11.4355" in galactic


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"radius": 1.0}, TypeError, "radius must be a positive angle"),
        ({"radius": -1 * u.arcmin}, ValueError, "radius must be a positive angle"),
        ({"bands": ("g", "V")}, ValueError, "bands must be MegaCam bands"),
        ({"bands": ()}, ValueError, "bands must be MegaCam bands"),
        ({"collection": "CFHT' OR 1=1 --"}, ValueError, "collection must be a plain name"),
        ({"calibration_level": 7}, ValueError, "calibration_level must be an integer"),
        ({"calibration_level": True}, ValueError, "calibration_level must be an integer"),
        ({"proposal_id": []}, ValueError, "proposal_id must name at least one"),
    ],
)
def test_adql_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        pandas_images_adql(FIELD, **kwargs)


def test_adql_needs_one_position():
    with pytest.raises(TypeError, match="coordinates must be one sky position"):
        pandas_images_adql((11.4, 41.7))
    with pytest.raises(TypeError, match="with several positions"):
        pandas_images_adql(SkyCoord([1, 2] * u.deg, [3, 4] * u.deg))


def test_query_through_astroquery_cadc(archive):
    images = query_pandas_images(FIELD, radius=2 * u.arcmin)
    # astroquery's Cadc sent our ADQL to the TAP service's /sync endpoint, as ADQL.
    assert [r[1] for r in archive.requests if r[0] == "GET"] == ["/tap/capabilities"]
    posts = [r for r in archive.requests if r[0] == "POST"]
    assert len(posts) == 1 and posts[0][1] == "/tap/sync"
    assert posts[0][2]["LANG"] == ["ADQL"]
    assert posts[0][2]["QUERY"] == [images.meta["adql"]]
    assert images.meta["service"] == f"{archive.url}/tap"

    assert isinstance(images, QTable) and len(images) == 4
    assert list(images["band"]) == ["g", "g", "i", "i"]
    assert list(images["filter"]) == ["g.MP9401", "g.MP9401", "i.MP9702", "i.MP9702"]
    assert images["exposure_time"].unit == u.s
    assert images["exposure_time"][0] == 450 * u.s and images["exposure_time"][2] == 340 * u.s
    assert set(images["calibration_level"]) == {2}
    assert images["publisher_id"][0].startswith("ivo://cadc.nrc.ca/CFHT?")
    assert images["instrument"][0] == "MegaPrime" and images["collection"][0] == "CFHT"
    assert images["mjd_start"][0] == pytest.approx(54709.4213)
    # Sorted by band, then by the distance of the footprint's centre.
    g = images[images["band"] == "g"]
    assert g["separation"][0] <= g["separation"][1]
    assert list(g["product_id"]) == ["1034562p", "1034561p"]
    # The centre is the middle of the recorded 0.96-degree square footprint.
    row = images[images["product_id"] == "1034561p"][0]
    assert row["centre"].ra.deg == pytest.approx(11.30, abs=2e-3)
    assert row["centre"].dec.deg == pytest.approx(41.55, abs=2e-3)
    expected = row["centre"].separation(FIELD).to_value(u.arcmin)
    assert row["separation"].to_value(u.arcmin) == pytest.approx(expected)


def test_query_keeps_only_the_asked_bands(archive):
    images = query_pandas_images(FIELD, bands="i")
    assert list(images["band"]) == ["i", "i"]
    assert "LIKE 'g.%'" not in images.meta["adql"]


def test_query_answer_without_columns_names_them(archive):
    archive.tap_answer = "cadc_tap_missing_columns.xml"
    with pytest.raises(ValueError, match=r"lacks the columns \['publisherID', 'time_exposure'\]"):
        query_pandas_images(FIELD)


def test_query_without_image_is_an_error(archive):
    archive.tap_answer = "cadc_tap_no_rows.xml"
    with pytest.raises(ValueError, match=r"holds no g/i image within 1.0 arcmin of 11.4355"):
        query_pandas_images(FIELD)


def test_query_service_error_is_an_oserror(archive):
    archive.tap_answer = "cadc_tap_error.xml"
    with pytest.raises(OSError, match=r"could not query .*column not found"):
        query_pandas_images(FIELD)


def test_silent_service_times_out(archive):
    archive.tap_delay = 1.5
    start = time.monotonic()
    with conf.set_temp("timeout", 0.3):
        with pytest.raises(OSError, match=r"could not query .*timed out"):
            query_pandas_images(FIELD)
    assert time.monotonic() - start < 1.4


def test_unreachable_service_is_an_oserror():
    # A port nobody listens on: bind one, note it, close it.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with conf.set_temp("cadc_tap_url", f"http://127.0.0.1:{port}/tap"):
        with pytest.raises(OSError, match=f"could not query http://127.0.0.1:{port}/tap"):
            query_pandas_images(FIELD)


@pytest.fixture
def cadc_registry(archive, monkeypatch):
    """No service address set: astroquery looks them up in a (local) CADC registry."""
    import astroquery.cadc
    from astroquery.cadc.core import get_access_url

    monkeypatch.setattr(get_access_url, "caps", {})  # astroquery's lookup cache
    with conf.set_temp("cadc_tap_url", ""), conf.set_temp("cadc_datalink_capabilities_url", ""):
        with astroquery.cadc.conf.set_temp("CADC_REGISTRY_URL", f"{archive.url}/reg/resource-caps"):
            yield archive


def test_default_services_come_from_the_cadc_registry(cadc_registry, tmp_path):
    images = query_pandas_images(FIELD, bands="g")
    assert images.meta["service"] == "the CADC TAP service"
    paths = download_pandas_images(images[:1], tmp_path)
    assert [p.name for p in paths] == [f"{p}.fits.fz" for p in PRODUCTS]
    asked = [r[1] for r in cadc_registry.requests]
    assert asked[:2] == ["/reg/resource-caps", "/tap/capabilities"]
    assert "/datalink/capabilities" in asked and "/datalink/links" in asked


def test_unreachable_registry_is_an_oserror(cadc_registry):
    import astroquery.cadc

    with astroquery.cadc.conf.set_temp("CADC_REGISTRY_URL", f"{cadc_registry.url}/reg/absent"):
        with pytest.raises(OSError, match=r"could not query the CADC TAP service.*404"):
            query_pandas_images(FIELD)


def test_download_with_progress_bar(archive, tmp_path, capsys):
    images = query_pandas_images(FIELD, bands="i")
    paths = download_pandas_images(images, tmp_path, progress_bar=True)
    assert len(paths) == 4 and all(p.stat().st_size > 100_000 for p in paths)
    assert "PAndAS images" in capsys.readouterr().err


def test_footprint_formats():
    square = np.array([10.0, 41.0, 11.0, 41.0, 11.0, 42.0, 10.0, 42.0])
    assert _vertices(square).shape == (4, 2)
    ra, dec = _centre(square)
    assert ra == pytest.approx(10.5, abs=1e-3) and dec == pytest.approx(41.5, abs=0.01)
    text = "polygon 10.0 41.0 11.0 41.0 11.0 42.0 10.0 42.0"
    assert _centre(text) == pytest.approx((ra, dec))
    assert _centre("POLYGON ICRS 10.0 41.0 11.0 41.0 11.0 42.0 10.0 42.0") == pytest.approx(
        (ra, dec)
    )
    assert _centre("circle 10.2 41.3 0.5") == pytest.approx((10.2, 41.3))
    # Across RA = 0 the centre is not the naive mean of 359.5 and 0.5.
    ra0, _ = _centre(np.array([359.5, 0.0, 0.5, 0.0, 0.5, 1.0, 359.5, 1.0]))
    assert min(ra0, 360 - ra0) == pytest.approx(0.0, abs=1e-6)
    assert _vertices(np.ma.masked) is None
    assert np.isnan(_centre(np.array([1.0, 2.0, 3.0]))).all()


# -- the downloads ------------------------------------------------------------------------


def test_download_through_datalink(archive, tmp_path):
    images = query_pandas_images(FIELD)
    folder = tmp_path / "new" / "pandas"
    paths = download_pandas_images(images, folder)
    assert [p.name for p in paths] == [f"{p}.fits.fz" for p in PRODUCTS]
    for path in paths:
        assert path.read_bytes() == archive.files[path.name]
    # Only the '#this' files: no preview, no package.
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)
    # The DataLink request carried the publisher IDs, as astroquery sends them.
    links = [r for r in archive.requests if r[1] == "/datalink/links"]
    assert len(links) == 1
    assert links[0][2]["ID"] == list(images["publisher_id"])
    assert links[0][2]["REQUEST"] == ["downloads-only"]


def test_download_refuses_to_overwrite_before_downloading(archive, tmp_path):
    images = query_pandas_images(FIELD)
    kept = tmp_path / "1186240p.fits.fz"
    kept.write_bytes(b"my own reduction")
    with pytest.raises(FileExistsError, match=r"1186240p.fits.fz' exists; pass overwrite=True"):
        download_pandas_images(images, tmp_path)
    assert kept.read_bytes() == b"my own reduction"
    assert not any(r[1].startswith("/files/") for r in archive.requests)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1186240p.fits.fz"]
    download_pandas_images(images, tmp_path, overwrite=True)
    assert kept.read_bytes() == archive.files["1186240p.fits.fz"]


def test_partial_download_never_left_under_final_name(archive, tmp_path):
    name = "1034561p.fits.fz"
    archive.failures[name] = ["short"] * 3
    url = f"{archive.url}/files/{name}"
    with pytest.raises(OSError, match=f"could not download {url}.* after 3 tries"):
        download_file(url, tmp_path / name, retries=2)
    assert list(tmp_path.iterdir()) == []
    # An existing file under that name is kept as it was.
    (tmp_path / name).write_bytes(b"old")
    archive.failures[name] = ["short"]
    with pytest.raises(OSError, match="could not download"):
        download_file(url, tmp_path / name, overwrite=True, retries=0)
    assert (tmp_path / name).read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_download_retries_a_flapping_service(archive, tmp_path):
    name = "1034575p.fits.fz"
    archive.failures[name] = ["503", "short"]
    start = time.monotonic()
    path = download_file(f"{archive.url}/files/{name}", tmp_path / name, retries=2)
    assert path.read_bytes() == archive.files[name]
    assert time.monotonic() - start < 5
    gets = [r for r in archive.requests if r[1] == f"/files/{name}"]
    assert len(gets) == 3


def test_download_http_errors_are_oserrors(archive, tmp_path):
    with pytest.raises(OSError, match="answered HTTP 404"):
        download_file(f"{archive.url}/files/absent.fits", tmp_path / "absent.fits")
    archive.failures["1034561p.fits.fz"] = ["503"]
    with pytest.raises(OSError, match=r"after 1 tries: .*HTTP 503"):
        download_file(f"{archive.url}/files/1034561p.fits.fz", tmp_path / "a.fits.fz", retries=0)
    assert list(tmp_path.iterdir()) == []


def test_download_bad_input(archive, tmp_path):
    with pytest.raises(ValueError, match="url must be an http"):
        download_file("ftp://x/y", tmp_path / "y")
    with pytest.raises(ValueError, match="retries must be 0 or more"):
        download_file(f"{archive.url}/files/x", tmp_path / "x", retries=-1)
    with pytest.raises(TypeError, match="table must be an astropy Table"):
        download_pandas_images(["ivo://cadc.nrc.ca/CFHT?1/1p"], tmp_path)
    with pytest.raises(ValueError, match="'publisher_id' \\(or 'publisherID'\\) column"):
        download_pandas_images(Table({"product_id": ["1p"]}), tmp_path)
    with pytest.raises(ValueError, match="no publisher identifier"):
        download_pandas_images(Table({"publisher_id": [""]}), tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError, match=r"folder: .* is a file"):
        download_pandas_images(Table({"publisher_id": ["ivo://x"]}), blocker)
    assert not any(r[1] == "/datalink/links" for r in archive.requests)


def test_datalink_unreachable_is_an_oserror(archive, tmp_path):
    with conf.set_temp("cadc_datalink_capabilities_url", f"{archive.url}/nowhere"):
        with pytest.raises(OSError, match="could not get the download addresses"):
            download_pandas_images(Table({"publisher_id": ["ivo://x"]}), tmp_path)


# -- the real CADC --------------------------------------------------------------------------


@pytest.mark.remote_data
def test_real_cadc_has_megacam_images_of_m31():
    images = query_pandas_images(SkyCoord(10.6847 * u.deg, 41.2690 * u.deg), radius=1 * u.arcmin)
    assert set(images["band"]) <= {"g", "i"} and len(images) > 0
    assert all(name.startswith(("g.", "i.")) for name in images["filter"])
    assert images["publisher_id"][0].startswith("ivo://cadc.nrc.ca/")


@pytest.mark.remote_data
def test_real_cadc_download(tmp_path):
    images = query_pandas_images(SkyCoord(10.6847 * u.deg, 41.2690 * u.deg), bands="g")
    paths = download_pandas_images(images[:1], tmp_path)
    assert paths and paths[0].stat().st_size > 1_000_000
