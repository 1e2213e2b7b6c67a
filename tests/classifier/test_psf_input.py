"""Seeing-aware models: PSF channels rendered from the stamps' PSF columns."""

import warnings

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.table import QTable

from clusterfinder import ClusterClassifier, Cutout
from clusterfinder.classifier import InputTransform, binary_metrics
from clusterfinder.classifier.psf_input import psf_images
from clusterfinder.psf import elliptical_moffat, psf_column_names
from clusterfinder.utils import ClusterFinderWarning

SCALE = 0.186 * u.arcsec / u.pix


def with_psf(table, fwhm_arcsec, *, beta=3.0, ellipticity=0.0, theta=0.0, bands=("g", "i")):
    for band in bands:
        fwhm_name, beta_name, ell_name, theta_name = psf_column_names(band)
        table[fwhm_name] = np.broadcast_to(fwhm_arcsec, (len(table),)) * u.arcsec
        table[beta_name] = np.full(len(table), beta)
        table[ell_name] = np.full(len(table), ellipticity)
        table[theta_name] = np.full(len(table), theta) * u.deg
    return table


def small_cnn(*, aware=True):
    """A 16-pixel g/i small CNN, seeing-aware or not."""
    transform = InputTransform(bands=("g", "i"), psf_channels=aware)
    return ClusterClassifier(
        "small_cnn",
        bands=("g", "i"),
        cutout_size=16,
        transform=transform,
        pixel_scale=SCALE,
        seed=0,
    )


def seeing_confounded(n, *, seed, size=16):
    """Stars and clusters whose widths overlap unless the seeing of each stamp is known.

    The PSF is a Gaussian of sigma ``s`` drawn per stamp from 1.0-2.2 pixels; a star has
    width ``s``, a cluster ``1.5 s``: a star in bad seeing is as wide as a cluster in good.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    seeing = rng.uniform(1.0, 2.2, n)
    sigma = seeing * np.where(labels == 1, 1.5, 1.0)
    flux = 10 ** (-0.4 * (rng.uniform(19.5, 21.0, n) - 30))
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    profile = np.exp(-(xx**2 + yy**2)[None] / (2 * sigma[:, None, None] ** 2))
    profile /= profile.sum(axis=(1, 2), keepdims=True)
    data = np.stack([profile * flux[:, None, None]] * 2, axis=1)
    data = (data + rng.normal(0, 1.5, data.shape)).astype(np.float32)
    table = QTable({"label": labels, "mag_g": np.full(n, 20.0)})
    # a Gaussian is a Moffat of very large beta
    fwhm = 2.3548 * seeing * SCALE.to_value(u.arcsec / u.pix)
    with_psf(table, fwhm, beta=50.0)
    return Cutout(data, bands=("g", "i"), table=table)


def test_elliptical_moffat_fwhm_and_shape():
    """The PSF image has its FWHM and its ellipticity and angle (second moments)."""
    image = elliptical_moffat(41, 4.0, 3.0, 0.0, 0.0)
    profile = image[20]
    above = np.flatnonzero(profile >= 0.5 * profile.max())
    # pixel-integrated, so the half-maximum width is within a pixel of 4
    assert abs((above[-1] - above[0] + 1) - 4.0) <= 1.0
    tilted = elliptical_moffat(41, 4.0, 20.0, 0.2, 30.0)
    tilted /= tilted.sum()
    yy, xx = np.mgrid[-20:21, -20:21]
    mxx, myy, mxy = (np.sum(tilted * a) for a in (xx * xx, yy * yy, xx * yy))
    angle = 0.5 * np.degrees(np.arctan2(2 * mxy, mxx - myy))
    assert angle == pytest.approx(30.0, abs=1.0)


def test_psf_images_render_each_distinct_psf():
    table = with_psf(QTable({"label": [0, 1, 0]}), np.array([0.6, 0.6, 0.9]))
    images = psf_images(table, ("g", "i"), 15, SCALE)
    assert images.shape == (3, 2, 15, 15) and images.dtype == np.float32
    assert np.array_equal(images[0], images[1])
    assert images[2, 0].max() < images[0, 0].max()  # wider PSF, lower peak
    assert np.allclose(images.sum(axis=(2, 3)), 1.0, atol=1e-5)


def test_one_psf_for_all_stamps_is_drawn_once():
    """The shortcut for a field's single PSF gives what the general path gives."""
    from clusterfinder.classifier.psf_input import distinct_psf_images

    one = with_psf(QTable({"label": [0, 1, 0]}), np.array([0.7, 0.7, 0.7]))
    two = with_psf(QTable({"label": [0, 1, 0]}), np.array([0.7, 0.9, 0.7]))
    for (images, inverse), (general, general_inverse) in zip(
        distinct_psf_images(one, ("g", "i"), 15, SCALE),
        distinct_psf_images(two, ("g", "i"), 15, SCALE),
        strict=True,
    ):
        assert images.shape == (1, 15, 15) and inverse.tolist() == [0, 0, 0]
        assert len(general) == 2
        np.testing.assert_array_equal(images[0], general[general_inverse[0]])


def test_predict_proba_draws_the_psf_channels_batch_by_batch():
    """Per-batch PSF channels give exactly what the whole input array gives."""
    from clusterfinder.classifier.predict import predict_batches, stamp_arrays

    clf = small_cnn()
    cut = seeing_confounded(23, seed=3)
    data, mask = stamp_arrays(
        cut, bands=clf.bands, cutout_size=16, pixel_scale=SCALE, psf_channels=True
    )
    assert data.shape == (23, 4, 16, 16)
    whole = predict_batches(
        clf.model, clf.transform, data, mask, batch_size=5, device=torch.device("cpu")
    )
    batched = clf.predict_proba(cut, batch_size=5, device="cpu")
    np.testing.assert_array_equal(batched, whole)


def test_device_batches_draw_the_psf_channels_input_batch_draws():
    """The batches sent to the device hold the input the host would have built."""
    from clusterfinder.classifier.predict import device_batches, input_batch, stamp_inputs

    cut = seeing_confounded(23, seed=2)
    cut.mask[3, 1, 2, 2] = True
    data, mask, psf = stamp_inputs(
        cut, bands=("g", "i"), cutout_size=16, pixel_scale=SCALE, psf_channels=True
    )
    sizes = []
    batches = device_batches(data, mask, psf, batch_size=10, device=torch.device("cpu"))
    for k, (x, m) in enumerate(batches):
        expected_x, expected_m = input_batch(data, mask, psf, slice(10 * k, 10 * k + 10))
        assert x.dtype == torch.float32 and x.shape[1] == 4
        np.testing.assert_array_equal(x.numpy(), expected_x)
        np.testing.assert_array_equal(m.numpy(), expected_m[:, :2])  # the bands only
        assert k > 0 or m[3, 1, 2, 2]
        sizes.append(len(x))
    assert sizes == [10, 10, 3]


def test_seeing_aware_model_on_no_stamps():
    clf = small_cnn()
    empty = seeing_confounded(3, seed=0)[:0]
    assert clf.predict_proba(empty, device="cpu").shape == (0,)
    assert psf_images(empty.table, ("g", "i"), 16, SCALE).shape == (0, 2, 16, 16)


def test_psf_images_refuse_missing_or_bad_columns():
    table = QTable({"label": [0, 1]})
    with pytest.raises(ValueError, match=r"needs the PSF of each stamp.s field.*psf_fwhm_g"):
        psf_images(table, ("g",), 15, SCALE)
    with_psf(table, np.array([0.6, np.nan]), bands=("g",))
    with pytest.raises(ValueError, match=r"1 stamp\(s\) have an invalid PSF in band 'g'"):
        psf_images(table, ("g",), 15, SCALE)
    with_psf(table, np.array([0.6, 0.7]), bands=("g",))
    with pytest.raises(ValueError, match="needs its pixel scale"):
        psf_images(table, ("g",), 15, None)


def test_transform_psf_channels():
    transform = InputTransform(bands=("g", "i"), psf_channels=True)
    assert transform.in_channels == 4 and transform.data_channels == 4
    data = torch.zeros(2, 4, 9, 9)
    data[:, 2:, 4, 4] = 1.0  # a delta-function PSF
    out = transform(data)
    assert out.shape == (2, 4, 9, 9)
    star = 10 ** (-0.4 * (20 - 30))
    assert float(out[0, 2, 4, 4]) == pytest.approx(np.arcsinh(star / 5.0))
    with pytest.raises(ValueError, match=r"expected stamps of shape \(N, 4, H, W\)"):
        transform(torch.zeros(1, 2, 9, 9))
    assert InputTransform.from_dict(transform.to_dict()) == transform
    with pytest.raises(ValueError, match="psf_magnitude must lie between 10 and 30"):
        InputTransform(psf_channels=True, psf_magnitude=40)


def test_seeing_aware_model_needs_the_psf_columns():
    clf = small_cnn()
    cut = seeing_confounded(4, seed=0)
    for name in psf_column_names("i"):
        cut.table.remove_column(name)
    with pytest.raises(ValueError, match="stamps lack the columns"):
        clf.predict_proba(cut)


@pytest.mark.slow
def test_psf_channels_resolve_seeing_confusion(tmp_path):
    """Where width alone cannot tell stars from clusters, the PSF channels can.

    A seeing-blind and a seeing-aware small CNN, trained alike on the same stamps: the
    aware one is clearly better on new stamps; saved and loaded it predicts the same, and
    it warns on stamps from a seeing outside its training range.
    """
    train, val, test = (seeing_confounded(n, seed=s) for n, s in ((1500, 1), (400, 2), (600, 3)))
    scores = {}
    for aware in (False, True):
        clf = small_cnn(aware=aware)
        clf.fit(train, val, epochs=12, batch_size=64, learning_rate=3e-3, patience=None, seed=0)
        proba = clf.predict_proba(test)
        scores[aware] = binary_metrics(np.asarray(test.table["label"]), proba, clf.threshold)["f1"]
    assert scores[True] > scores[False] + 0.1
    assert scores[True] > 0.85
    low, high = clf.training["psf_fwhm_range"]["g"]
    assert low == pytest.approx(2.3548 * 1.0 * 0.186, rel=0.01)
    path = clf.save(tmp_path / "aware.safetensors")
    again = ClusterClassifier.load(path)
    assert np.allclose(again.predict_proba(test), proba)
    with_psf(test.table, 3.0 * high)
    with pytest.warns(ClusterFinderWarning, match="lies outside what this model was trained on"):
        again.predict_proba(test)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_psf(test.table, 0.5 * (low + high))
        again.predict_proba(test)


def test_find_candidates_measures_each_images_psf():
    """A seeing-aware model searching images gets the PSF measured on their stars."""
    from clusterfinder.simulate import simulate_field

    field = simulate_field(size=512, seed=4, fwhm=0.8 * u.arcsec)
    clf = small_cnn()
    found = clf.find_candidates(field.images, keep_all=True)
    assert len(found) > 10
    for band in ("g", "i"):
        measured = np.unique(found[f"psf_fwhm_{band}"].to_value(u.arcsec))
        assert measured.size == 1
        assert measured[0] == pytest.approx(0.8, rel=0.05)
