"""Tests of the --serve mode: each decision is written to disk as it arrives."""

import json
import urllib.error
import urllib.request

import pytest

from clusterfinder.inspect import (
    Decisions,
    InspectionServer,
    catalog_id,
    make_inspection_page,
    read_decisions,
    write_decisions,
)


@pytest.fixture
def page(catalog, tmp_path):
    return make_inspection_page(catalog, output=tmp_path / "page.html")


def post(server, message):
    body = json.dumps(message).encode()
    request = urllib.request.Request(
        server.url + "api/decision", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def get(server, path):
    with urllib.request.urlopen(server.url + path, timeout=10) as reply:
        return reply.status, reply.headers["Content-Type"], reply.read()


def test_decisions_are_written_as_they_arrive(page, catalog, tmp_path):
    with InspectionServer(page) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        assert server.decisions_path == tmp_path / "page_decisions.json"
        status, kind, body = get(server, "")
        assert status == 200 and kind.startswith("text/html") and body == page.read_bytes()

        status, reply = post(server, {"id": "C0003", "decision": "cluster", "inspector": "ana"})
        assert status == 200 and reply["n_decided"] == 1
        assert read_decisions(server.decisions_path, catalog).labels() == {"C0003": "cluster"}
        post(server, {"id": "C0004", "decision": "unsure", "time": "2026-11-25T21:00:00Z"})
        post(server, {"id": "C0003", "decision": ""})  # undo clears it
        saved = read_decisions(server.decisions_path, catalog)
        assert saved.labels() == {"C0004": "unsure"}
        assert saved.inspector == "ana"
        assert saved.decisions["C0004"]["time"] == "2026-11-25T21:00:00Z"

        status, _, body = get(server, "api/decisions")
        record = json.loads(body)
        assert record["catalog_id"] == catalog_id(catalog)
        assert record["decisions"]["C0004"]["decision"] == "unsure"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html", "page_decisions.json"]


def test_bad_messages_are_refused(page, tmp_path):
    with InspectionServer(page, tmp_path / "d.json") as server:
        assert post(server, {"id": "nope", "decision": "cluster"})[0] == 400
        status, reply = post(server, {"id": "C0001", "decision": "maybe"})
        assert status == 400 and "must be one of" in reply["error"]
        status, reply = post(server, {"id": "C0001", "decision": "cluster", "catalog_id": "0"})
        assert status == 400 and "catalogue id mismatch" in reply["error"]
        assert post(server, ["C0001"])[0] == 400
        with pytest.raises(urllib.error.HTTPError) as info:
            get(server, "etc/passwd")
        info.value.close()
        assert info.value.code == 404
        assert not (tmp_path / "d.json").exists()


def test_resumes_from_an_existing_file_and_refuses_another_catalogue(page, catalog, tmp_path):
    path = tmp_path / "d.json"
    earlier = Decisions(catalog_id(catalog), "bob", {"C0002": {"decision": "cluster", "time": ""}})
    write_decisions(earlier, path)
    with InspectionServer(page, path) as server:
        post(server, {"id": "C0005", "decision": "not_cluster"})
    assert read_decisions(path, catalog).labels() == {"C0002": "cluster", "C0005": "not_cluster"}

    write_decisions(Decisions("f" * 64, "bob", {}), path)
    with pytest.raises(ValueError, match="catalogue id mismatch"):
        InspectionServer(page, path)
    with pytest.raises(ValueError, match="not a clusterfinder inspection page"):
        InspectionServer(path)
    with pytest.raises(ValueError, match="port"):
        InspectionServer(page, tmp_path / "e.json", port=-1)


def test_a_decision_that_cannot_be_saved_is_an_error_not_a_pretence(page, catalog, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"decisions: cannot write .*does not exist"):
        InspectionServer(page, tmp_path / "missing_dir" / "d.json")
    with pytest.raises(ValueError, match="is also the page"):
        InspectionServer(page, page)
    folder = tmp_path / "decisions"
    folder.mkdir()
    with InspectionServer(page, folder / "d.json") as server:
        assert post(server, {"id": "C0001", "decision": "cluster"})[0] == 200
        (folder / "d.json").unlink()
        folder.rmdir()  # the folder goes away (an unmounted disk, a clean-up script)
        status, reply = post(server, {"id": "C0002", "decision": "cluster"})
        assert status == 500
        assert reply["error"].startswith("the decision was not saved: cannot write '")
        assert "d.json': folder" in reply["error"] and ".tmp" not in reply["error"]
        # the server does not pretend either: it only reports what is on disk
        record = json.loads(get(server, "api/decisions")[2])
        assert set(record["decisions"]) == {"C0001"}
