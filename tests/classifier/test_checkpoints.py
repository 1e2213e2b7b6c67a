"""``fit(checkpoint_dir=...)`` checks its folder before training, as the command line does."""

import os

import pytest
import torch
from classifier_helpers import make_blobs

from clusterfinder import ClusterClassifier, cli
from clusterfinder.classifier import fitting, persistence
from clusterfinder.classifier.training import check_checkpoint_dir

TINY = {"widths": (4, 4, 4, 4)}


def tiny_model():
    return ClusterClassifier("small_cnn", cutout_size=16, architecture_options=TINY)


@pytest.fixture
def stamps():
    return make_blobs(64, seed=1), make_blobs(32, seed=2)


@pytest.fixture
def no_training(monkeypatch):
    """Make training fail the test if it starts."""

    def called(*args, **kwargs):
        raise AssertionError("training started although the checkpoint folder was bad")

    monkeypatch.setattr(fitting, "train_arrays", called)


def fit(clf, stamps, folder, **kwargs):
    train, validation = stamps
    return clf.fit(
        train, validation, epochs=1, batch_size=32, checkpoint_dir=folder, patience=None, **kwargs
    )


def test_a_file_is_refused_before_training(stamps, tmp_path, no_training):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError, match=r"checkpoint_dir: '.*notes.txt' is a file"):
        fit(tiny_model(), stamps, blocker)
    with pytest.raises(NotADirectoryError, match=r"cannot create folder .* is a file"):
        fit(tiny_model(), stamps, blocker / "sub")
    assert blocker.read_text() == "x"


def test_a_folder_that_cannot_be_written_in_is_refused(stamps, tmp_path, no_training, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: os.fspath(path) != str(folder))
    with pytest.raises(PermissionError, match="checkpoint_dir: cannot write in folder"):
        fit(tiny_model(), stamps, folder)


def test_checkpoints_of_an_earlier_run_are_kept(stamps, tmp_path, no_training):
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "epoch_001.pt").write_bytes(b"earlier")
    clf = tiny_model()
    before = {k: v.clone() for k, v in clf.model.state_dict().items()}
    with pytest.raises(FileExistsError) as info:
        fit(clf, stamps, folder)
    assert str(info.value) == (
        f"checkpoint_dir: {str(folder)!r} holds checkpoints of an earlier run "
        "(epoch_001.pt...); pass overwrite=True to replace them, or choose another folder"
    )
    assert (folder / "epoch_001.pt").read_bytes() == b"earlier"
    for name, tensor in clf.model.state_dict().items():
        torch.testing.assert_close(tensor, before[name])
    assert clf.history is None and clf.training is None


def test_overwrite_replaces_them(stamps, tmp_path):
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "epoch_001.pt").write_bytes(b"earlier")
    clf = tiny_model()
    fit(clf, stamps, folder, overwrite=True)
    state = torch.load(folder / "epoch_001.pt", weights_only=True)
    assert set(state) == set(clf.model.state_dict())


def test_other_files_and_missing_folders_are_fine(stamps, tmp_path):
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    fit(tiny_model(), stamps, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_001.pt", "notes.txt"]
    nested = tmp_path / "new" / "deeper"
    fit(tiny_model(), stamps, nested)
    assert [p.name for p in nested.iterdir()] == ["epoch_001.pt"]


def test_the_command_line_uses_the_same_check(tmp_path):
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "epoch_007.pt").write_bytes(b"earlier")
    with pytest.raises(FileExistsError, match=r"^--checkpoint-dir: .* pass --overwrite to"):
        check_checkpoint_dir(folder, name="--checkpoint-dir")
    assert check_checkpoint_dir(folder, overwrite=True, name="--checkpoint-dir") == folder


def test_train_overwrite_replaces_the_checkpoints_of_an_earlier_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(cli.SUBCOMMANDS, "train", "train")
    stamps = tmp_path / "train.fits"
    make_blobs(80, seed=1).write(stamps)
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "epoch_001.pt").write_bytes(b"earlier")
    argv = ["train", str(stamps), "-o", str(tmp_path / "m"), "--cutout-size", "16"]
    argv += ["--epochs", "1", "--batch-size", "32", "--checkpoint-dir", str(folder)]
    assert cli.main(argv) == 2
    assert "holds checkpoints of an earlier run" in capsys.readouterr().err
    assert cli.main([*argv, "--overwrite"]) == 0, capsys.readouterr()
    assert (folder / "epoch_001.pt").read_bytes() != b"earlier"


def test_weights_files_are_the_files_save_writes(tmp_path, monkeypatch):
    clf = tiny_model()
    suffix = ".safetensors" if persistence._have_safetensors() else ".pt"
    expected = persistence.weights_files(tmp_path / "m.json")
    assert [p.name for p in expected] == [f"m{suffix}", "m.json"]
    assert clf.save(tmp_path / "m") == expected[0]
    assert sorted(tmp_path.iterdir()) == sorted(expected)
    monkeypatch.setattr(persistence, "_have_safetensors", lambda: False)
    fallback = persistence.weights_files(tmp_path / "n")
    assert [p.name for p in fallback] == ["n.pt", "n.json"]
    assert clf.save(tmp_path / "n") == fallback[0]
    assert all(p.is_file() for p in fallback)
