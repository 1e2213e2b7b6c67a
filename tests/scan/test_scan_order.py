"""The argument order of scan: the classifier first; the old order warns for one release."""

import re

import pytest
from _scan_helpers import FakeClassifier
from astropy.utils.exceptions import AstropyDeprecationWarning
from test_scan_resume import same_catalogue

from clusterfinder import ClusterClassifier
from clusterfinder.scan import scan
from clusterfinder.scan._order import scan_order

NEW = "scan(classifier, fields, output"
OLD = "scan(fields, classifier, output"


@pytest.fixture
def disk(tmp_path):
    """A folder of images, saved weights in each spelling, and a path that does not exist."""
    folder = tmp_path / "images"
    folder.mkdir()
    st = tmp_path / "model.safetensors"
    st.write_bytes(b"weights")
    pt = tmp_path / "old.pt"
    pt.write_bytes(b"weights")
    (tmp_path / "old.json").write_text("{}")
    plain = tmp_path / "notes.txt"
    plain.write_text("not a model")
    return {
        "folder": folder,
        "safetensors": st,
        "base": tmp_path / "model",
        "json": tmp_path / "old.json",
        "pt": pt,
        "plain": plain,
        "missing": tmp_path / "nowhere",
    }


# -- the rule, branch by branch ---------------------------------------------------------------


def test_classifier_object_first_is_the_new_order(disk):
    clf = FakeClassifier()
    for fields in (disk["folder"], [{"g": "a_g.fits"}], {"a": {}}, "anything"):
        assert scan_order(clf, fields) == (clf, fields, False)


def test_classifier_object_second_is_the_old_order(disk):
    clf = FakeClassifier()
    for fields in (disk["folder"], str(disk["folder"]), [{"g": "a_g.fits"}], {"a": {}}):
        assert scan_order(fields, clf) == (clf, fields, True)


@pytest.mark.parametrize("fields", [[{"g": "a_g.fits"}], {"a": {"g": "a_g.fits"}}, ()])
def test_container_first_is_the_old_order(disk, fields):
    for weights in (disk["safetensors"], str(disk["base"])):
        assert scan_order(fields, weights) == (weights, fields, True)


def test_two_containers_are_refused():
    with pytest.raises(TypeError, match="neither argument is a classifier") as info:
        scan_order([{"g": "a_g.fits"}], {"a": {}})
    assert NEW in str(info.value) and OLD in str(info.value)


@pytest.mark.parametrize("first", [None, 3, b"model.safetensors"])
def test_first_neither_classifier_nor_fields_is_refused(disk, first):
    with pytest.raises(TypeError, match="the first argument must be the classifier") as info:
        scan_order(first, disk["folder"])
    assert NEW in str(info.value) and OLD in str(info.value)


def test_second_neither_fields_nor_classifier_is_refused(disk):
    with pytest.raises(TypeError, match="the second argument must be the fields") as info:
        scan_order(disk["safetensors"], None)
    assert NEW in str(info.value)


@pytest.mark.parametrize("weights", ["safetensors", "base", "json", "pt"])
def test_weights_then_folder_is_the_new_order(disk, weights):
    for convert in (str, lambda p: p):
        first, second = convert(disk[weights]), convert(disk["folder"])
        assert scan_order(first, second) == (first, second, False)


@pytest.mark.parametrize("weights", ["safetensors", "base", "json", "pt"])
def test_folder_then_weights_is_the_old_order(disk, weights):
    for convert in (str, lambda p: p):
        first, second = convert(disk["folder"]), convert(disk[weights])
        assert scan_order(first, second) == (second, first, True)


def test_weights_then_container_is_the_new_order(disk):
    fields = [{"g": "a_g.fits", "i": "a_i.fits"}]
    assert scan_order(disk["safetensors"], fields) == (disk["safetensors"], fields, False)


@pytest.mark.parametrize("first", ["folder", "missing", "plain"])
def test_not_weights_then_container_is_refused(disk, first):
    with pytest.raises(ValueError, match="the classifier must be") as info:
        scan_order(disk[first], [{"g": "a_g.fits"}])
    assert NEW in str(info.value) and OLD in str(info.value)


@pytest.mark.parametrize(
    ("first", "second", "says"),
    [
        ("folder", "folder", "is a folder and .* is a folder"),
        ("safetensors", "pt", "is saved weights and .* is saved weights"),
        ("missing", "folder", "nowhere' does not exist and .* is a folder"),
        ("folder", "missing", "is a folder and .*nowhere' does not exist"),
        ("safetensors", "missing", "does not exist"),
        ("plain", "folder", "notes.txt' is neither a folder nor saved weights"),
        ("folder", "plain", "notes.txt' is neither a folder nor saved weights"),
    ],
)
def test_paths_that_fit_neither_order_are_refused(disk, first, second, says):
    with pytest.raises(ValueError, match="cannot tell which argument is the classifier") as info:
        scan_order(disk[first], disk[second])
    assert NEW in str(info.value) and OLD in str(info.value)
    assert re.search(says, str(info.value))


def test_a_folder_that_is_also_a_weights_base_name(tmp_path):
    # "run" is a folder of images and, with run.safetensors beside it, saved weights.
    run, images = tmp_path / "run", tmp_path / "images"
    run.mkdir()
    images.mkdir()
    (tmp_path / "run.safetensors").write_bytes(b"weights")
    assert scan_order(run, images) == (run, images, False)  # only the new order fits
    (tmp_path / "images.safetensors").write_bytes(b"weights")
    with pytest.raises(ValueError, match="is a folder and saved weights"):
        scan_order(run, images)  # both orders fit: refused, not guessed


# -- scan itself ------------------------------------------------------------------------------


@pytest.fixture
def weights(tmp_path_factory):
    clf = ClusterClassifier(
        "small_cnn", cutout_size=16, threshold=0.0, architecture_options={"widths": (4, 4, 4, 4)}
    )
    return clf.save(tmp_path_factory.mktemp("weights") / "m")


def test_scan_new_order_with_paths_does_not_warn(two_fields, tmp_path, weights):
    folder, _, sources = two_fields
    options = {"sources": sources, "tile_size": 64, "device": "cpu"}
    by_path = scan(weights, folder, tmp_path / "a", **options)  # filterwarnings = error
    by_keyword = scan(fields=folder, classifier=weights, output=tmp_path / "b", **options)
    assert len(by_path) == len(sources)  # threshold 0: every source once
    same_catalogue(by_path, by_keyword)


@pytest.mark.parametrize("as_path", [True, False])
def test_scan_old_order_works_and_warns_once(two_fields, tmp_path, weights, as_path):
    folder, paths, sources = two_fields
    model = weights if as_path else ClusterClassifier.load(weights)
    fields = folder if as_path else paths
    options = {"sources": sources, "tile_size": 64, "device": "cpu"}
    new = scan(model, fields, tmp_path / "new", **options)
    with pytest.warns(AstropyDeprecationWarning) as record:
        old = scan(fields, model, tmp_path / "old", **options)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"{OLD}, ...) is deprecated") and NEW in message
    assert record[0].filename == __file__  # points at the caller's line
    same_catalogue(new, old)


def test_scan_old_order_with_fake_classifier_warns_once(two_fields, tmp_path):
    folder, _, sources = two_fields
    with pytest.warns(AstropyDeprecationWarning, match=r"give the classifier first") as record:
        cands = scan(folder, FakeClassifier(), tmp_path / "out", sources=sources, tile_size=64)
    assert len(record) == 1 and len(cands) > 0


def test_scan_refuses_two_folders_before_touching_output(two_fields, tmp_path):
    folder, _, sources = two_fields
    other = tmp_path / "other"
    other.mkdir()
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="cannot tell which argument is the classifier"):
        scan(folder, other, out, sources=sources)
    assert not out.exists()
