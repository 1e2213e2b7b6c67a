"""A field the model cannot read is refused before the search starts (issue #13).

On the shared-grid path the stamps reach the model as bare pixel blocks (no WCS, no
header), so the model's own checks on its stamps see neither the pixel scale nor the
filter: `find_candidates` and `scan` check each field once, before detection.
"""

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import clusterfinder.scan.find as find_module
from clusterfinder import ClusterClassifier
from clusterfinder.scan import find_candidates, scan
from clusterfinder.simulate import simulate_field


@pytest.fixture(scope="module")
def field_files(tmp_path_factory):
    """A simulated PAndAS field (0.186"/pix) written as m1_g.fits and m1_i.fits."""
    folder = tmp_path_factory.mktemp("field")
    paths = simulate_field(size=256, seed=3).write(folder, name="m1")
    return {band: str(path) for band, path in paths.items()}


def bin_2x2(path, out):
    """Sum 2 x 2 pixels (0.372"/pix), keeping the header and updating its WCS."""
    with fits.open(path) as hdul:
        data, header = hdul[0].data.astype(np.float64), hdul[0].header.copy()
    ny, nx = data.shape
    binned = data[: ny // 2 * 2, : nx // 2 * 2].reshape(ny // 2, 2, nx // 2, 2).sum(axis=(1, 3))
    header.update(WCS(header)[::2, ::2].to_header())
    fits.PrimaryHDU(binned.astype(np.float32), header=header).writeto(out)
    return str(out)


@pytest.fixture(scope="module")
def binned_files(field_files, tmp_path_factory):
    folder = tmp_path_factory.mktemp("binned")
    return {band: bin_2x2(path, folder / f"m2_{band}.fits") for band, path in field_files.items()}


@pytest.fixture
def model():
    """The PAndAS model's kind: 0.186"/pix, bands g and i (untrained: only its checks count)."""
    return ClusterClassifier("small_cnn", bands=("g", "i"), cutout_size=16, seed=0)


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if detection, PSF measurement or classification starts."""

    def refuse(*args, **kwargs):
        raise AssertionError("the search started on a field that should have been refused")

    for name in ("detect_in_tile", "field_psfs", "classify_tile"):
        monkeypatch.setattr(find_module, name, refuse)
    for name in ("run_unit", "start_unit"):
        monkeypatch.setattr(f"clusterfinder.scan.scanner.{name}", refuse)


def test_binned_field_is_measured_at_twice_the_scale(binned_files):
    header = fits.getheader(binned_files["g"])
    assert header["CDELT2"] * 3600 == pytest.approx(0.372)
    assert header["FILTER"] == "g" and header["PHOTZP"] == 30.0


def test_find_candidates_refuses_binned_images_before_detection(binned_files, model, no_work):
    expected = (
        r"the pixels of images\['g'\] \(m2_g\.fits\) are at 0\.372 arcsec/pix but the model "
        r"reads images at 0\.186 arcsec/pix"
    )
    with pytest.raises(ValueError, match=expected):
        find_candidates(model, binned_files)
    with pytest.raises(ValueError, match=expected):
        model.find_candidates(binned_files)


def test_scan_refuses_binned_field_before_touching_the_output(
    binned_files, field_files, model, no_work, tmp_path
):
    fields = {"m1": field_files, "m2": binned_files}
    expected = r"field 'm2': the pixels of images\['g'\] \(m2_g\.fits\) are at 0\.372 arcsec/pix"
    with pytest.raises(ValueError, match=expected):
        scan(model, fields, tmp_path / "out", device="cpu")
    assert not (tmp_path / "out").exists()


def test_swapped_bands_are_refused_before_detection(field_files, model, no_work, tmp_path):
    swapped = {"g": field_files["i"], "i": field_files["g"]}
    expected = r"images\['g'\] has FILTER = 'i' in its header, which names band 'i'"
    with pytest.raises(ValueError, match=expected):
        find_candidates(model, swapped)
    with pytest.raises(ValueError, match=rf"field 'm1': {expected}"):
        scan(model, {"m1": swapped}, tmp_path / "out", device="cpu")
    assert not (tmp_path / "out").exists()


def test_filter_in_the_primary_header_of_a_multi_extension_file_counts(
    field_files, model, no_work, tmp_path
):
    """MegaCam files keep FILTER in the primary header, the pixels in an extension."""
    paths = {}
    for band, path in field_files.items():
        with fits.open(path) as hdul:
            data, header = hdul[0].data, hdul[0].header.copy()
        primary = fits.PrimaryHDU(header=fits.Header({"FILTER": header.pop("FILTER")}))
        paths[band] = tmp_path / f"mef_{band}.fits"
        fits.HDUList([primary, fits.ImageHDU(data, header=header)]).writeto(paths[band])
    with pytest.raises(ValueError, match=r"images\['g'\] has FILTER = 'i'"):
        find_candidates(model, {"g": paths["i"], "i": paths["g"]})


def test_models_that_read_the_images_scale_are_not_refused(binned_files, field_files, tmp_path):
    """A model made for 0.372"/pix reads the binned field; the PAndAS model the plain one."""
    binned_model = ClusterClassifier(
        "small_cnn", cutout_size=16, pixel_scale=0.372 * u.arcsec / u.pix, threshold=0.0
    )
    found = find_candidates(binned_model, binned_files, keep_all=True, device="cpu")
    assert found.meta["n_sources"] > 0 and len(found) == found.meta["n_sources"]
    model = ClusterClassifier("small_cnn", cutout_size=16, threshold=0.0, seed=0)
    found = find_candidates(model, field_files, keep_all=True, device="cpu")
    assert found.meta["n_sources"] > 0 and np.all(np.isfinite(found["prob_cluster"]))
    catalog = scan(model, {"m1": field_files}, tmp_path / "out", keep_all=True, device="cpu")
    assert len(catalog) == len(found) and catalog.meta["failed"] == []
