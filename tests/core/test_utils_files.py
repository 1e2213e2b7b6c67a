"""atomic_write: all or nothing, no temporary file left, ordinary permissions."""

import os
import stat

import pytest

from clusterfinder.utils.files import atomic_write, atomic_write_text


def test_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "catalog.ecsv"
    target.write_text("old")

    def broken(tmp):
        with open(tmp, "w") as stream:
            stream.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.ecsv"]


def test_written_files_are_readable_by_others(tmp_path):
    path = atomic_write_text(tmp_path / "page.html", "<html></html>")
    assert path.read_text() == "<html></html>"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_suffix_reaches_the_writer(tmp_path):
    seen = []
    atomic_write(tmp_path / "grid.ecsv", lambda tmp: (seen.append(tmp), open(tmp, "w").close()))
    assert os.path.basename(seen[0]).startswith(".grid.ecsv.") and seen[0].endswith(".tmp")
    atomic_write(tmp_path / "grid.fits", seen.append, suffix=".fits")
    assert seen[1].endswith(".fits")
