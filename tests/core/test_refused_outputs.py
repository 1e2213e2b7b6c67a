"""Nothing is lost (issue #13): outputs are checked before the long work starts.

What is refused, grouped:

1. by the shared checks (`clusterfinder.utils.outputs`, `atomic_write`): an existing
   file without overwrite, an output that is an input (even with overwrite), a folder
   where a file is expected and the other way round, a missing or unwritable folder,
   each with a one-line message naming the option and the path;
2. by each command, before its long work: inspect, scan, demo, train, evaluate,
   simulate;
3. Ctrl-C: every command ends with one line and exit status 130, and what is on disk
   is consistent.
"""

import hashlib
import json
import os
import tempfile

import numpy as np
import pytest
from _scan_helpers import make_field
from astropy.table import QTable
from classifier_helpers import make_blobs

from clusterfinder import CandidateCatalog, ClusterClassifier, cli
from clusterfinder.utils.files import atomic_write_text
from clusterfinder.utils.outputs import check_output_dir, check_output_file


def run(argv, capsys):
    """Run the command line in-process: (exit status, standard error)."""
    capsys.readouterr()
    try:
        status = cli.main([str(a) for a in argv])
    except KeyboardInterrupt:  # pragma: no cover - what the tests guard against
        pytest.fail("KeyboardInterrupt escaped the command line")
    return status, capsys.readouterr().err


def digest(folder):
    """File name -> sha256 of every file in ``folder`` (hidden ones included)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def forbid(monkeypatch, target):
    """Make ``target`` (the long work) fail the test if it is called."""

    def called(*args, **kwargs):
        raise AssertionError(f"{target} ran although the output was bad")

    monkeypatch.setattr(target, called)


def interrupt(monkeypatch, target):
    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(target, stop)


@pytest.fixture
def field(tmp_path):
    """A small g/i field (FITS files) and a candidate catalogue on it (ECSV)."""
    images, sources = make_field(tmp_path, "f", size=96, n_sources=6, seed=3)
    sources["prob_cluster"] = np.linspace(0.5, 0.9, len(sources))
    catalog = tmp_path / "c.ecsv"
    sources.write(catalog)
    return catalog, images


@pytest.fixture
def model(tmp_path):
    clf = ClusterClassifier(
        "small_cnn", cutout_size=16, threshold=0.0, architecture_options={"widths": (4, 4, 4, 4)}
    )
    return clf.save(tmp_path / "model")


# ---------------------------------------------------------------------------------------
# 1. The shared checks
# ---------------------------------------------------------------------------------------


def test_check_output_file_refusals(tmp_path):
    existing = tmp_path / "c.ecsv"
    existing.write_text("precious")
    with pytest.raises(FileExistsError, match=r"^--output: '.*c\.ecsv' exists; pass --overwrite"):
        check_output_file(existing, overwrite=False)
    with pytest.raises(FileExistsError, match="pass overwrite=True to replace it"):
        check_output_file(existing, name="output")
    assert check_output_file(existing, overwrite=True) == existing
    # an input, even with overwrite; also through another name for the same file
    os.link(existing, tmp_path / "same.ecsv")
    for path in (existing, tmp_path / "same.ecsv"):
        with pytest.raises(ValueError, match="is also CATALOG; an input is never overwritten"):
            check_output_file(path, overwrite=True, inputs={"CATALOG": existing})
    with pytest.raises(ValueError, match="is also an input"):
        check_output_file(existing, overwrite=True, inputs=[str(existing)])
    with pytest.raises(IsADirectoryError, match="is a folder; expected a file name"):
        check_output_file(tmp_path, overwrite=True)
    with pytest.raises(FileNotFoundError, match=r"folder '.*missing' does not exist"):
        check_output_file(tmp_path / "missing" / "p.html")
    with pytest.raises(NotADirectoryError, match=r"c\.ecsv' is not a folder"):
        check_output_file(existing / "p.html")
    assert existing.read_text() == "precious"


def test_check_output_dir_refusals(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError, match=r"^OUTDIR: '.*notes\.txt' is a file"):
        check_output_dir(blocker)
    with pytest.raises(NotADirectoryError, match=r"cannot create folder .*notes\.txt' is a file"):
        check_output_dir(blocker / "sub", name="--checkpoint-dir")
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checked, not created


def test_unwritable_folders_are_named(tmp_path, monkeypatch):
    # (os.access is replaced: permissions do not bind root, who may run the tests)
    folder = tmp_path / "ro"
    folder.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: os.fspath(path) != str(folder))
    with pytest.raises(PermissionError, match=r"^--output: cannot write '.*ro/p\.html': no perm"):
        check_output_file(folder / "p.html")
    with pytest.raises(PermissionError, match=r"cannot write in folder '.*ro'"):
        check_output_dir(folder)
    with pytest.raises(PermissionError, match=r"cannot create folder '.*ro/a/b'"):
        check_output_dir(folder / "a" / "b")


def test_atomic_write_names_the_file_not_its_temporary(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as info:
        atomic_write_text(tmp_path / "missing" / "d.json", "{}")
    message = str(info.value)
    assert message.startswith("cannot write '") and "d.json': folder" in message
    assert "does not exist" in message and ".tmp" not in message
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        atomic_write_text(tmp_path, "{}")

    def refused(*, prefix, suffix, dir):
        name = os.path.join(dir, f"{prefix}x1y2{suffix}")
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError) as info:
        atomic_write_text(tmp_path / "d.json", "{}")
    assert str(info.value) == (
        f"cannot write '{tmp_path / 'd.json'}': no permission to write in folder '{tmp_path}'"
    )


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_a_real_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="no permission to write in folder"):
            check_output_file(folder / "p.html")
        with pytest.raises(PermissionError, match=r"ro/d\.json'.*no permission"):
            atomic_write_text(folder / "d.json", "{}")
    finally:
        folder.chmod(0o700)


# ---------------------------------------------------------------------------------------
# 2. Each command, before its long work
# ---------------------------------------------------------------------------------------


def test_inspect_never_overwrites_its_inputs(field, capsys, monkeypatch):
    catalog, images = field
    before = digest(catalog.parent)
    forbid(monkeypatch, "clusterfinder.inspect.make_inspection_page")
    argv = ["inspect", catalog, "--images", f"g={images['g']}", f"i={images['i']}"]
    for output in (catalog, images["g"]):
        for extra in ([], ["--overwrite"]):
            status, err = run([*argv, "--output", output, *extra], capsys)
            assert status == 2 and err.count("\n") == 1
            assert "is also" in err and "an input is never overwritten" in err
    assert digest(catalog.parent) == before


def test_inspect_refuses_an_existing_page_unless_overwrite(field, capsys):
    catalog, images = field
    argv = ["inspect", catalog, "--images", f"g={images['g']}", f"i={images['i']}"]
    argv += ["--no-progress"]
    page = catalog.with_name("c_inspection.html")
    page.write_text("an earlier page")
    status, err = run(argv, capsys)
    assert status == 2 and f"--output: '{page}' exists; pass --overwrite" in err
    assert page.read_text() == "an earlier page"
    assert run([*argv, "--overwrite"], capsys)[0] == 0
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_inspect_bad_paths_fail_before_the_page_is_made(field, tmp_path, capsys, monkeypatch):
    catalog, _ = field
    forbid(monkeypatch, "clusterfinder.inspect.make_inspection_page")
    page = tmp_path / "p.html"
    cases = {
        "--output: cannot write": ["--output", tmp_path / "nowhere" / "p.html"],
        "is a folder": ["--output", tmp_path],
        "--decisions: cannot write": [
            "--output", page, "--serve", "--decisions", tmp_path / "missing_dir" / "d.json",
        ],
        "also the page": ["--output", page, "--serve", "--decisions", page],
        "--decisions: ": ["--output", page, "--serve", "--decisions", catalog],
    }  # fmt: skip
    for words, extra in cases.items():
        status, err = run(["inspect", catalog, "--no-progress", *extra], capsys)
        assert status == 2 and words in err, (words, err)
    # decisions on another catalogue: refused before the page is made, not after
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "clusterfinder-inspection", "version": 1,
                                 "catalog_id": "f" * 64, "decisions": {}}))  # fmt: skip
    status, err = run(
        ["inspect", catalog, "--output", page, "--serve", "--decisions", other], capsys
    )
    assert status == 2 and "another catalogue" in err
    assert not page.exists()


def test_make_inspection_page_refuses_an_existing_file(field, tmp_path):
    from clusterfinder.inspect import make_inspection_page

    catalog, images = field
    table = QTable.read(catalog)
    out = make_inspection_page(table, output=tmp_path / "p.html")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        make_inspection_page(table, output=out)
    assert make_inspection_page(table, output=out, overwrite=True) == out
    with pytest.raises(ValueError, match=r"is also images\['g'\]"):
        make_inspection_page(table, images, output=images["g"], overwrite=True)


def scan_argv(model, images, out, *extra):
    return ["scan", model, "--images", images["g"], images["i"], "--output", out,
            "--tile-size", "64", "--device", "cpu", "--no-progress", *extra]  # fmt: skip


def test_scan_refuses_a_folder_it_did_not_write(field, model, tmp_path, capsys):
    _, images = field
    out = tmp_path / "out"
    (out / "parts").mkdir(parents=True)
    (out / "candidates.ecsv").write_text("someone else's catalogue")
    status, err = run(scan_argv(model, images, out), capsys)
    assert status == 2 and err.count("\n") == 1
    assert "holds candidates.ecsv but no scan manifest" in err and "--overwrite" in err
    assert (out / "candidates.ecsv").read_text() == "someone else's catalogue"
    # part files without a manifest would be taken for finished tiles
    (out / "candidates.ecsv").unlink()
    (out / "parts" / "00000_00000.ecsv").write_text("not a part")
    status, err = run(scan_argv(model, images, out), capsys)
    assert status == 2 and "parts/*.ecsv" in err
    # a manifest that is not a scan's
    (out / "manifest.json").write_text(json.dumps({"format": "other"}))
    status, err = run(scan_argv(model, images, out), capsys)
    assert status == 2 and "not a clusterfinder scan manifest" in err and "--overwrite" in err
    # with --overwrite they are replaced, and then the scan is at home there
    assert run(scan_argv(model, images, out, "--overwrite"), capsys)[0] == 0
    assert len(CandidateCatalog.read(out / "candidates.ecsv")) > 0
    assert run(scan_argv(model, images, out), capsys)[0] == 0  # resumes


def test_scan_never_replaces_an_input(field, model, tmp_path, capsys):
    catalog, images = field
    out = tmp_path / "out"
    assert run(scan_argv(model, images, out, "--keep-all"), capsys)[0] == 0
    rescore = out / "candidates.ecsv"
    before = rescore.read_bytes()
    for extra in ([], ["--no-resume"], ["--no-resume", "--overwrite"]):
        status, err = run(scan_argv(model, images, out, "--sources", rescore, *extra), capsys)
        assert status == 2 and "is also --sources" in err
    assert rescore.read_bytes() == before
    status, err = run(scan_argv(model, images, catalog), capsys)
    assert status == 2 and "is a file; expected a folder" in err


def test_scan_function_refuses_too(field, model, tmp_path):
    from clusterfinder.scan import scan

    _, images = field
    out = tmp_path / "out"
    out.mkdir()
    (out / "candidates.ecsv").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"overwrite=True \(--overwrite\)"):
        scan(model, [images], out, tile_size=64, device="cpu")
    assert (out / "candidates.ecsv").read_text() == "keep me"
    with pytest.raises(ValueError, match="is also the g image of field"):
        not_a_field = {"g": str(out / "candidates.ecsv"), "i": images["i"]}
        scan(model, [not_a_field], out, tile_size=64, device="cpu", overwrite=True)
    assert (out / "candidates.ecsv").read_text() == "keep me"


def test_demo_refuses_earlier_files_before_any_work(tmp_path, capsys, monkeypatch):
    from clusterfinder.demo import run_demo

    forbid(monkeypatch, "clusterfinder.simulate.simulate_field")
    (tmp_path / "candidates.ecsv").write_text("earlier candidates")
    status, err = run(["demo", tmp_path, "--size", "256", "--no-progress"], capsys)
    assert status == 2 and err.count("\n") == 1
    assert f"OUTDIR: '{tmp_path / 'candidates.ecsv'}' exists; pass --overwrite" in err
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        run_demo(tmp_path, size=256)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(NotADirectoryError, match="is a file; expected a folder"):
        run_demo(blocker, size=256)
    assert (tmp_path / "candidates.ecsv").read_text() == "earlier candidates"


def test_interrupted_demo_leaves_the_folder_as_it_was(tmp_path, capsys, monkeypatch):
    out = tmp_path / "demo"
    out.mkdir()
    for name in ("field_g.fits", "field_i.fits", "truth.ecsv", "candidates.ecsv",
                 "candidates.reg", "inspection.html"):  # fmt: skip
        (out / name).write_text(f"old {name}")
    before = digest(out)
    # Ctrl-C on the last step: the new field and candidates are made by then
    with monkeypatch.context() as patch:
        interrupt(patch, "clusterfinder.inspect.make_inspection_page")
        status, err = run(["demo", out, "--size", "512", "--no-progress", "--overwrite"], capsys)
    assert status == 130 and err.count("\n") == 1
    assert err.startswith(f"clusterfinder demo: interrupted; nothing new in {out}: ")
    assert digest(out) == before and sorted(p.name for p in out.iterdir()) == sorted(before)
    # run again: a consistent set, all new, pointing at its own images
    status, _ = run(["demo", out, "--size", "512", "--no-progress", "--overwrite"], capsys)
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(before)
    assert all(digest(out)[name] != before[name] for name in before)
    candidates = CandidateCatalog.read(out / "candidates.ecsv")
    assert candidates.meta["images"] == {b: str(out / f"field_{b}.fits") for b in ("g", "i")}


def test_train_checks_its_outputs_before_training(tmp_path, capsys, monkeypatch):
    stamps = tmp_path / "train.fits"
    make_blobs(40, seed=1).write(stamps)
    forbid(monkeypatch, "clusterfinder.ClusterClassifier.fit")
    argv = ["train", stamps, "--cutout-size", "16", "--epochs", "1", "-o"]
    (tmp_path / "m.json").write_text("{}")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "epoch_001.pt").write_bytes(b"earlier")
    cases = {
        "--output: cannot write": [tmp_path / "missing_dir" / "model"],
        "m.json' exists; pass --overwrite": [tmp_path / "m"],
        "--checkpoint-dir: ": [tmp_path / "n", "--checkpoint-dir", blocker],
        "holds checkpoints of an earlier run": [tmp_path / "n", "--checkpoint-dir",
                                                 tmp_path / "ck"],
    }  # fmt: skip
    for words, extra in cases.items():
        status, err = run([*argv, *extra], capsys)
        assert status == 2 and words in err and err.count("\n") == 1, (words, err)


def test_evaluate_checks_its_output_before_evaluating(model, tmp_path, capsys, monkeypatch):
    stamps = tmp_path / "test.fits"
    make_blobs(20, seed=1).write(stamps)
    forbid(monkeypatch, "clusterfinder.ClusterClassifier.from_pretrained")
    grid = tmp_path / "grid.ecsv"
    grid.write_text("earlier grid")
    for output, words in (
        (grid, "exists; pass --overwrite"),
        (tmp_path / "nowhere" / "g.ecsv", "does not exist"),
        (stamps, "is also CUTOUTS"),
    ):
        status, err = run(["evaluate", model, stamps, "--output", output], capsys)
        assert status == 2 and words in err, err
    status, err = run(["evaluate", model, stamps, "--output", stamps, "--overwrite"], capsys)
    assert status == 2 and "is also CUTOUTS" in err
    assert grid.read_text() == "earlier grid"


def test_simulate_refuses_with_the_command_line_words(tmp_path, capsys, monkeypatch):
    forbid(monkeypatch, "clusterfinder.simulate.field._write_field")
    (tmp_path / "truth.ecsv").write_text("earlier truth")
    status, err = run(["simulate", tmp_path, "--size", "32"], capsys)
    assert status == 2 and "OUTDIR: " in err and "truth.ecsv' exists; pass --overwrite" in err


# ---------------------------------------------------------------------------------------
# 3. Ctrl-C
# ---------------------------------------------------------------------------------------


def test_ctrl_c_ends_each_command_with_one_line(field, model, tmp_path, capsys, monkeypatch):
    catalog, _ = field
    stamps = tmp_path / "s.fits"
    make_blobs(20, seed=1).write(stamps)
    commands = {
        "simulate": ("clusterfinder.simulate.field._write_field",
                     ["simulate", tmp_path / "sim", "--size", "32"], "no partial file"),
        "train": ("clusterfinder.ClusterClassifier.fit",
                  ["train", stamps, "-o", tmp_path / "m", "--cutout-size", "16",
                   "--checkpoint-dir", tmp_path / "ck"], "no model was saved"),
        "evaluate": ("clusterfinder.ClusterClassifier.evaluate",
                     ["evaluate", model, stamps, "-o", tmp_path / "g.ecsv"], "no grid"),
        "inspect": ("clusterfinder.inspect.make_inspection_page",
                    ["inspect", catalog, "--output", tmp_path / "p.html"], "no page"),
    }  # fmt: skip
    for command, (target, argv, words) in commands.items():
        with monkeypatch.context() as patch:
            interrupt(patch, target)
            status, err = run(argv, capsys)
        assert status == 130, (command, err)
        assert err.startswith(f"clusterfinder {command}: interrupted; ") and words in err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "m.safetensors").exists() and not (tmp_path / "g.ecsv").exists()
    assert not (tmp_path / "p.html").exists()


def test_ctrl_c_in_a_scan_keeps_the_finished_tiles(field, model, tmp_path, capsys, monkeypatch):
    from clusterfinder.scan.journal import ScanJournal

    _, images = field
    out = tmp_path / "out"
    real = ScanJournal.write_part
    calls = []

    def second_is_interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # Ctrl-C as the second finished tile is being written
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ScanJournal, "write_part", second_is_interrupted)
    status, err = run(scan_argv(model, images, out), capsys)
    assert status == 130 and err.count("\n") == 1
    assert f"1 finished tile(s) kept in {out / 'parts'}; run the same command again" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert not manifest["complete"] and not (out / "candidates.ecsv").exists()
    monkeypatch.setattr(ScanJournal, "write_part", real)
    assert run(scan_argv(model, images, out), capsys)[0] == 0
    assert json.loads((out / "manifest.json").read_text())["complete"]


def test_ctrl_c_while_the_package_is_imported(capsys, monkeypatch):
    interrupt(monkeypatch, "clusterfinder.cli.build_parser")
    status, err = run(["scan", "--help"], capsys)
    assert status == 130 and err == "clusterfinder: interrupted; nothing was written\n"
