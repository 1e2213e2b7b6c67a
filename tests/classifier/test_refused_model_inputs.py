"""What a model refuses, and why (#13): each group below is one way of feeding it garbage.

- stamps at another pixel scale than the model's (2x2 binned images);
- images whose FILTER keyword names another of the bands (g and i swapped);
- stamps on another zero point than the reference 30 AB;
- stamps smaller than the model's (larger ones are cropped around their sources);
- corrupt weights (NaN tensors, wrong names or shapes), and NaN probabilities;
- training that diverges, and training sets of blank, NaN or one-class stamps;
- saving over an existing model without ``overwrite=True``.
"""

import json
import math
import warnings

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.io import fits
from astropy.nddata import NDData
from astropy.table import QTable
from astropy.wcs import WCS
from classifier_helpers import make_blobs

from clusterfinder import ClusterClassifier, Cutout
from clusterfinder.classifier import divergence, training
from clusterfinder.cutout.extract import filter_band
from clusterfinder.utils import ClusterFinderWarning

TINY = {"widths": (4, 4, 4, 4)}


def tiny_model(**kwargs):
    return ClusterClassifier("small_cnn", cutout_size=16, architecture_options=TINY, **kwargs)


def tan_wcs(scale):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.68, 41.27]
    wcs.wcs.crpix = [40.5, 40.5]
    wcs.wcs.cdelt = [-scale / 3600, scale / 3600]
    return wcs


def image_hdu(scale=0.186, filter_name=None, seed=0):
    data = np.random.default_rng(seed).normal(0, 1.5, (80, 80)).astype(np.float32)
    hdu = fits.PrimaryHDU(data, tan_wcs(scale).to_header())
    hdu.header["PHOTZP"] = 30.0
    if filter_name is not None:
        hdu.header["FILTER"] = filter_name
    return hdu


def stamps_at(scale, size=16):
    hdu = image_hdu(scale)
    return Cutout.from_images({"g": hdu, "i": hdu}, ([30.0, 45.2], [33.0, 47.7]), cutout_size=size)


@pytest.fixture(scope="module")
def model():
    return tiny_model()


# -- pixel scale ------------------------------------------------------------------------------


def test_stamps_at_another_pixel_scale_are_refused(model):
    """2x2-binned images (0.372"/pix) given to a 0.186"/pix model: refused, both named."""
    binned = stamps_at(0.372)
    binned.table["label"] = [0, 1]
    for call in (model.predict_proba, model.predict, model.evaluate):
        with pytest.raises(ValueError, match=r"0\.372 arcsec/pix .* 0\.186 arcsec/pix"):
            call(binned)
    with pytest.raises(ValueError, match=r"train stamps .* 0\.372 arcsec/pix"):
        tiny_model().fit(binned, binned, epochs=1)


def test_pixel_scale_within_two_percent_passes(model):
    assert model.predict_proba(stamps_at(0.1885)).shape == (2,)  # 1.3% off
    with pytest.raises(ValueError, match="more than 2%"):
        model.predict_proba(stamps_at(0.19))  # 2.2% off


def test_pixel_scale_declared_in_the_table_meta(model):
    """Stamps without a WCS can say their scale in ``meta['pixel_scale']`` (arcsec/pix)."""
    stamps = make_blobs(3)
    assert stamps.wcs is None
    model.predict_proba(stamps)  # no WCS, no declared scale: nothing to check
    stamps.table.meta["pixel_scale"] = 0.372
    with pytest.raises(ValueError, match=r"meta\['pixel_scale'\].* 0\.372 arcsec/pix"):
        model.predict_proba(stamps)
    stamps.table.meta["pixel_scale"] = 0.186 * u.arcsec / u.pix
    model.predict_proba(stamps)


def test_check_pixel_scale_for_images_whose_stamps_have_no_wcs(model):
    model.check_pixel_scale(0.186 * u.arcsec / u.pix)
    with pytest.raises(ValueError, match=r"images of field 3 are at 0\.372 arcsec/pix"):
        model.check_pixel_scale(0.744 * u.arcsec / (2 * u.pix), name="images of field 3")
    tiny_model(pixel_scale=None).check_pixel_scale(0.372)  # a model without a scale


def test_load_uses_the_same_tolerance(model, tmp_path):
    model.save(tmp_path / "m")
    ClusterClassifier.load(tmp_path / "m", pixel_scale=0.1888)  # 1.5%
    with pytest.raises(ValueError, match=r"trained at 0\.186 arcsec/pix, not 0\.19 "):
        ClusterClassifier.load(tmp_path / "m", pixel_scale=0.19)


# -- filters ----------------------------------------------------------------------------------


def test_swapped_simulated_images_are_refused():
    """The simulator writes FILTER = band: g and i swapped are caught at the cutting."""
    from clusterfinder.simulate import simulate_field

    field = simulate_field(size=48, seed=3, kinds=("mw_star",))
    position = ([20.0], [24.0])
    swapped = {"g": field.images["i"], "i": field.images["g"]}
    with pytest.raises(ValueError, match=r"images\['g'\] has FILTER = 'i'.*swapped"):
        Cutout.from_images(swapped, position, cutout_size=16)
    stamps = Cutout.from_images(field.images, position, cutout_size=16)
    assert stamps.table.meta["filters"] == {"g": "g", "i": "i"}


@pytest.mark.parametrize(
    ("given_as_g", "given_as_i"),
    [("i.MP9702", "g.MP9401"), ("SDSS i", "SDSS g"), ("HSC-I2", "HSC-G")],
)
def test_survey_filter_names_that_name_the_other_band_are_refused(given_as_g, given_as_i):
    images = {"g": image_hdu(filter_name=given_as_g), "i": image_hdu(filter_name=given_as_i)}
    with pytest.raises(ValueError, match=f"FILTER = '{given_as_g}'.*names band 'i'"):
        Cutout.from_images(images, ([30.0], [30.0]), cutout_size=16)
    # Even when only one band is cut, the other image's band is one in use.
    with pytest.raises(ValueError, match="names band 'i'"):
        Cutout.from_images(images, ([30.0], [30.0]), cutout_size=16, bands=("g",))


def test_unknown_or_matching_filter_names_pass_and_are_recorded():
    images = {
        "g": image_hdu(filter_name="g.MP9401"),
        "i": image_hdu(filter_name="F814W"),  # an HST name: not clearly one of g, i
    }
    stamps = Cutout.from_images(images, ([30.0], [30.0]), cutout_size=16)
    assert stamps.table.meta["filters"] == {"g": "g.MP9401", "i": "F814W"}
    # r is not a band in use: not a clear mismatch for g.
    stamps = Cutout.from_images(
        {"g": image_hdu(filter_name="r.MP9601")}, ([30.0], [30.0]), cutout_size=16
    )
    assert stamps.table.meta["filters"] == {"g": "r.MP9601"}
    # No keyword at all: nothing recorded.
    stamps = Cutout.from_images({"g": image_hdu()}, ([30.0], [30.0]), cutout_size=16)
    assert "filters" not in stamps.table.meta


def test_filter_in_the_primary_header_or_nddata_meta_is_read():
    primary = fits.PrimaryHDU()
    primary.header["FILTER"] = "i.MP9702"
    extension = fits.ImageHDU(image_hdu().data, image_hdu().header)
    mosaic = fits.HDUList([primary, extension])
    with pytest.raises(ValueError, match=r"images\['g'\] has FILTER = 'i.MP9702'"):
        Cutout.from_images({"g": mosaic, "i": image_hdu()}, ([30.0], [30.0]), cutout_size=16)
    hdu = image_hdu()
    nddata = NDData(hdu.data, wcs=WCS(hdu.header), meta={"PHOTZP": 30.0, "filter": "g"})
    with pytest.raises(ValueError, match=r"images\['i'\] has FILTER = 'g'"):
        Cutout.from_images({"g": image_hdu(), "i": nddata}, ([30.0], [30.0]), cutout_size=16)


def test_filter_band_names():
    bands = ("g", "i")
    assert [filter_band(v, bands) for v in ("g", "I", "i.MP9703", "PS1 g", "sdss_g")] == [
        "g",
        "i",
        "i",
        "g",
        "g",
    ]
    for unclear in ("gri.MP9605", "g+i", "CLEAR1L", "open", "g i"):
        assert filter_band(unclear, bands) is None


# -- zero point -------------------------------------------------------------------------------


def test_stamps_on_another_zero_point_are_refused(model):
    stamps = stamps_at(0.186)
    assert stamps.table.meta["refzp"] == 30.0
    model.predict_proba(stamps)
    stamps.table.meta["refzp"] = 27.5
    with pytest.raises(ValueError, match=r"zero point 27\.5 .* reference zero point 30 AB"):
        model.predict_proba(stamps)


# -- stamp size -------------------------------------------------------------------------------


def test_smaller_stamps_are_refused(model):
    with pytest.raises(ValueError, match="reads 16x16 pixel stamps but cutout has 12x12"):
        model.predict_proba(make_blobs(2, size=12))


def test_larger_stamps_are_cropped_around_their_sources(model):
    """A 21-pixel stamp gives the model what a 16-pixel cut would have, not its middle."""
    hdu = image_hdu(seed=5)
    x = np.array([30.2, 30.7, 41.9, 52.6])
    y = np.array([30.6, 44.1, 35.8, 50.7])
    wide = Cutout.from_images({"g": hdu, "i": hdu}, (x, y), cutout_size=21)
    exact = Cutout.from_images({"g": hdu, "i": hdu}, (x, y), cutout_size=16)
    np.testing.assert_array_equal(model.predict_proba(wide), model.predict_proba(exact))


# -- weights and probabilities ----------------------------------------------------------------


def _rewrite_safetensors(path, change):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(path, framework="pt") as handle:
        header = handle.metadata()
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    change(tensors)
    save_file(tensors, path, metadata=header)


def test_corrupt_weights_without_sidecar_are_refused_on_load(model, tmp_path):
    path = model.save(tmp_path / "m")
    (tmp_path / "m.json").unlink()

    def nan_weight(tensors):
        tensors["net.features.0.weight"][0, 0, 0, 0] = float("nan")

    _rewrite_safetensors(path, nan_weight)
    with pytest.raises(ValueError, match=r"is corrupt: 1 tensor\(s\) .*net\.features\.0\.weight"):
        ClusterClassifier.load(path)


def test_negative_batchnorm_variance_is_refused(model, tmp_path):
    path = model.save(tmp_path / "m")
    (tmp_path / "m.json").unlink()
    name = next(n for n in model.model.state_dict() if n.endswith("running_var"))

    def negative(tensors):
        tensors[name][0] = -1.0

    _rewrite_safetensors(path, negative)
    with pytest.raises(ValueError, match="batch-normalisation variance"):
        ClusterClassifier.load(path)


def test_weights_with_wrong_names_or_shapes_are_refused(model, tmp_path):
    path = model.save(tmp_path / "m")
    (tmp_path / "m.json").unlink()

    def damage(tensors):
        tensors["extra.weight"] = torch.zeros(2)
        del tensors["net.features.0.weight"]
        name = next(n for n in tensors if n.endswith("running_mean"))
        tensors[name] = torch.zeros(7)

    _rewrite_safetensors(path, damage)
    with pytest.raises(ValueError) as info:
        ClusterClassifier.load(path)
    message = str(info.value)
    assert "1 missing tensors (net.features.0.weight)" in message
    assert "1 unknown tensors (extra.weight)" in message
    assert "1 wrong shapes" in message and "(7,) instead of (4,)" in message


def test_nan_probabilities_from_a_broken_model_raise():
    clf = tiny_model()
    with torch.no_grad():
        clf.model.state_dict()["net.features.0.weight"][0, 0, 0, 0] = float("nan")
    with pytest.raises(RuntimeError, match=r"NaN probabilities for 3 of 3 stamp\(s\) \(indices"):
        clf.predict_proba(make_blobs(3))
    clf = tiny_model()
    name = next(n for n in clf.model.state_dict() if n.endswith("running_var"))
    with torch.no_grad():
        clf.model.state_dict()[name].fill_(-1.0)
    with pytest.raises(RuntimeError, match="scaled pixels are finite: the model is broken"):
        clf.predict_proba(make_blobs(3))


def test_weights_that_are_not_finite_are_not_saved(tmp_path):
    clf = tiny_model()
    with torch.no_grad():
        clf.model.state_dict()["net.features.0.weight"][0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"cannot save the model .* not be loaded"):
        clf.save(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_nan_probabilities_from_overflowing_stamps_raise(model):
    stamps = make_blobs(4)
    stamps.data[2] = -3e38
    stamps.data[2, :, 6:10, 6:10] = 3e38  # minus the background: beyond float32
    with pytest.raises(ValueError, match=r"1 of 4 stamp\(s\) \(indices 2\).*not finite"):
        model.predict_proba(stamps)


# -- training ---------------------------------------------------------------------------------


def test_diverging_training_keeps_the_threshold():
    """fit(learning_rate=1e6) used to end with validation loss ~1e31 and threshold 0.000."""
    train, val = make_blobs(96, seed=1), make_blobs(48, seed=2)
    clf = tiny_model(threshold=0.37)
    with pytest.warns(ClusterFinderWarning, match="training diverged") as caught:
        clf.fit(train, val, epochs=3, batch_size=32, learning_rate=1e6, device="cpu")
    message = str(caught[0].message)
    assert "lower learning_rate (now 1e+06); the threshold is left at 0.37" in message
    assert clf.threshold == 0.37
    diverged = clf.training["diverged"]
    assert not diverged["usable"] and diverged["restored_epoch"] == clf.training["best_epoch"]
    assert np.isfinite(clf.predict_proba(val)).all()
    assert all(torch.isfinite(t).all() for t in clf.model.state_dict().values())


def _nan_loss_at(epoch_to_break, monkeypatch):
    """Make the validation loss of one epoch NaN, as when the weights blow up."""
    nonfinite = training.nonfinite_loss

    def fake(epoch, val_loss, train_loss, *, check_train):
        if epoch == epoch_to_break:
            val_loss = float("nan")
        return nonfinite(epoch, val_loss, train_loss, check_train=check_train)

    monkeypatch.setattr(training, "nonfinite_loss", fake)


def test_nan_loss_stops_training_and_restores_the_best_epoch(monkeypatch, tmp_path):
    """The weights of the best epoch before the NaN come back; they learned something, so
    the threshold is chosen on them."""
    _nan_loss_at(2, monkeypatch)
    train, val = make_blobs(96, seed=1), make_blobs(48, seed=2)
    clf = tiny_model(threshold=0.37)
    with pytest.warns(
        ClusterFinderWarning,
        match=r"validation loss was not finite at epoch 2, where training stopped; the "
        r"weights of epoch 1 \(validation loss [\d.]+\) were restored",
    ):
        clf.fit(train, val, epochs=4, batch_size=32, learning_rate=3e-3, checkpoint_dir=tmp_path)
    assert len(clf.history) == 2 and clf.training["best_epoch"] == 1
    assert clf.training["diverged"]["usable"]
    epoch_1 = torch.load(tmp_path / "epoch_001.pt", weights_only=True)
    for name, tensor in clf.model.state_dict().items():
        torch.testing.assert_close(tensor, epoch_1[name])
    assert clf.threshold != 0.37


def test_nan_loss_in_the_first_epoch_restores_the_weights_from_before(monkeypatch):
    _nan_loss_at(1, monkeypatch)
    train, val = make_blobs(96, seed=1), make_blobs(48, seed=2)
    clf = tiny_model(threshold=0.37)
    before = clf.predict_proba(val)
    with pytest.warns(ClusterFinderWarning, match="weights from before training were restored"):
        clf.fit(train, val, epochs=3, batch_size=32)
    np.testing.assert_array_equal(clf.predict_proba(val), before)
    assert clf.threshold == 0.37 and clf.training["best_epoch"] == 0


def test_divergence_rule():
    nonfinite = divergence.nonfinite_loss
    assert nonfinite(1, 50.0, 0.6, check_train=True) is None  # large, finite: may recover
    assert nonfinite(3, float("nan"), 0.6, check_train=True)["which"] == "validation"
    assert nonfinite(3, 0.7, float("inf"), check_train=True)["which"] == "training"
    # float16 loss scaling skips the steps whose loss overflows: not a divergence
    assert nonfinite(3, 0.7, float("inf"), check_train=False) is None
    record = divergence.divergence_record
    assert record(None, 0.3, 4, 0.69) is None
    assert record(None, 6.8, 4, 0.69) is None
    assert not record(None, 7.0, 4, 0.69)["usable"]
    assert not record({"epoch": 1, "which": "training"}, math.inf, 0, 0.69)["usable"]


def test_normal_training_does_not_warn(blobs):
    train, val, _ = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = tiny_model().fit(train, val, epochs=3, batch_size=64, device="cpu")
    assert "diverged" not in history.meta
    assert history.meta["reference_loss"] == pytest.approx(np.log(2), rel=0.2)


@pytest.mark.parametrize("fill", [np.nan, 0.0, 7.5])
def test_training_on_blank_or_nan_stamps_is_refused(fill):
    good = make_blobs(40, seed=1)
    blank = Cutout(np.full(good.shape, fill), bands=good.bands, table=good.table)
    what = "without any finite, unmasked pixel" if np.isnan(fill) else "all hold the same value"
    with pytest.raises(ValueError, match=f"40 of the 40 stamps of train .*{what}"):
        tiny_model().fit(blank, good, epochs=1)
    with pytest.raises(ValueError, match=f"40 of the 40 stamps of validation .*{what}"):
        tiny_model().fit(good, blank, epochs=1)


def test_a_few_unusable_stamps_are_counted_and_named():
    train = make_blobs(40, seed=1)
    train.data[[3, 17], 1] = 0.0  # a blank i band
    train.mask[25, 0] = True  # a g band fully masked
    with pytest.raises(ValueError) as info:
        tiny_model().fit(train, make_blobs(20, seed=2), epochs=1)
    message = str(info.value)
    assert message.startswith("3 of the 40 stamps of train hold no image")
    assert (
        "1 have a band without any finite, unmasked pixel (all NaN, infinite or masked; "
        "indices 25)" in message
    )
    assert (
        "2 have a band whose pixels all hold the same value (blank or filled; indices 3, 17)"
        in message
    )


def test_single_class_and_bad_learning_rate_are_refused():
    train, val = make_blobs(20, seed=1), make_blobs(10, seed=2)
    one_class = train[train.table["label"] == 1]
    with pytest.raises(ValueError, match=r"both clusters .* all \d+ are labelled 1"):
        tiny_model().fit(one_class, val, epochs=1)
    for rate in (float("inf"), float("nan"), 0.0, True):
        with pytest.raises(ValueError, match="learning_rate must be a positive finite number"):
            tiny_model().fit(train, val, epochs=1, learning_rate=rate)


def test_diverged_training_saves_and_loads(tmp_path):
    clf = tiny_model()
    with pytest.warns(ClusterFinderWarning, match="diverged"):
        clf.fit(make_blobs(64, seed=1), make_blobs(32, seed=2), epochs=2, learning_rate=1e6)
    loaded = ClusterClassifier.load(clf.save(tmp_path / "m"))
    assert not loaded.training["diverged"]["usable"]
    json.loads((tmp_path / "m.json").read_text())


# -- saving -----------------------------------------------------------------------------------


def test_save_does_not_overwrite_by_default(model, tmp_path):
    model.save(tmp_path / "m")
    stamp = (tmp_path / "m.safetensors").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match=r"m\.safetensors' exists; pass overwrite=True"):
        model.save(tmp_path / "m")
    assert (tmp_path / "m.safetensors").stat().st_mtime_ns == stamp
    tiny_model(threshold=0.8).save(tmp_path / "m", overwrite=True)
    assert ClusterClassifier.load(tmp_path / "m").threshold == 0.8


def test_stamp_meta_follows_indexing_and_crops():
    """The checks read ``table.meta``: it follows the stamps through indexing and crops."""
    stamps = stamps_at(0.186, size=21)
    assert stamps[1:].table.meta["refzp"] == 30.0
    assert stamps.crop(16).table.meta["refzp"] == 30.0
    assert isinstance(stamps.table, QTable)
