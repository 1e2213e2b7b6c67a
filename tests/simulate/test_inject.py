"""Injection of simulated clusters into "real" images (simulated fields written as FITS).

The images the objects are injected into are simulated fields written to FITS files,
standing in for a user's real survey images: they have their own stars, noise, PSF,
zero point and WCS. What the tests measure is independent of the injection code:
aperture sums (photutils), light centroids, pixel equality and WCS transformations.
"""

import math

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS
from photutils.aperture import CircularAperture, aperture_photometry

from clusterfinder.labels import LabelSet
from clusterfinder.psf import PSFMeasurement
from clusterfinder.simulate import Injection, inject, simulate_field
from clusterfinder.simulate.injection_scene import (
    EXTINCTION,
    FRAME_SCALE,
    local_jacobians,
    population_on_grid,
)
from clusterfinder.simulate.placement import ImageGrid, clear_stamps
from clusterfinder.simulate.population import INJECTED_STAR_FAINT, Population

FWHM_PIX = 0.7 / 0.186


def hand_psf(fwhm_pix=FWHM_PIX, beta=3.0, scale=0.186):
    """A PSF given by hand (skips measuring it, to keep tests quick)."""
    return PSFMeasurement(
        fwhm=fwhm_pix * scale * u.arcsec, fwhm_pix=fwhm_pix, beta=beta, ellipticity=0.0,
        theta=0 * u.deg, wing_fraction=np.nan, n_stars=0,
        pixel_scale=scale * u.arcsec / u.pix, stamp=np.full((9, 9), 1 / 81), source="header",
    )  # fmt: skip


@pytest.fixture(scope="module")
def real_field(tmp_path_factory):
    """A 400 x 400 field of stars written as FITS: the "real" images."""
    field = simulate_field(
        size=400, seed=1, kinds=("mw_star", "m31_star"), fwhm=0.7 * u.arcsec, disc_light=False
    )
    folder = tmp_path_factory.mktemp("real")
    return field, field.write(folder, name="real")


def rotated_copy(hdu, path, *, angle=30.0, scale=0.2, shift=(0.37, -0.21)):
    """The pixels of ``hdu`` under another WCS: rotated, another scale, shifted centre.

    The pixel content does not match the new WCS (it is another piece of "sky"), which
    does not matter: the test checks where the injected light lands on this grid.
    """
    header = hdu.header.copy()
    ny, nx = hdu.data.shape
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [header["CRVAL1"], header["CRVAL2"]]
    wcs.wcs.crpix = [(nx + 1) / 2 + shift[0], (ny + 1) / 2 + shift[1]]
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    d = scale / 3600.0
    wcs.wcs.cd = [[-d * c, d * s], [d * s, d * c]]
    for key in ("CDELT1", "CDELT2", "PC1_1", "PC1_2", "PC2_1", "PC2_2"):
        header.remove(key, ignore_missing=True)
    header.update(wcs.to_header())
    fits.PrimaryHDU(hdu.data, header=header).writeto(path)
    return WCS(header)


def weighted_centroid(image, x, y, *, sigma=3.0, half=15):
    """Centroid with a round Gaussian weight that follows it (unbiased for symmetric light)."""
    ix, iy = round(x), round(y)
    stamp = image[iy - half : iy + half + 1, ix - half : ix + half + 1]
    yy, xx = np.mgrid[iy - half : iy + half + 1, ix - half : ix + half + 1]
    cx, cy = float(ix), float(iy)
    for _ in range(30):
        weight = stamp * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
        cx, cy = (
            float((weight * xx).sum() / weight.sum()),
            float((weight * yy).sum() / weight.sum()),
        )
    return cx, cy


def aperture_sum(image, x, y, radius):
    return float(aperture_photometry(image, CircularAperture((x, y), r=radius))["aperture_sum"][0])


def test_flux_conservation(tmp_path):
    # Three young clusters far apart on a 700 x 700 field: the aperture sum of each
    # injected object (injected image minus the original: only the added light) matches
    # its catalogue magnitude at the image's zero point.
    field = simulate_field(size=700, seed=4, kinds=("mw_star",), disc_light=False)
    paths = field.write(tmp_path, name="real")
    wcs = field.wcs
    positions = wcs.pixel_to_world([175.0, 525.0, 350.0], [175.0, 175.0, 525.0])
    psf = {band: hand_psf() for band in paths}
    for noise in (False, True):
        result = inject(paths, n=3, positions=positions, psfs=psf, seed=5, source_noise=noise)
        for band in paths:
            added = result.images[band].data.astype(float) - field.images[band].data
            zp = field.images[band].header["PHOTZP"]
            for row in result.truth:
                expected = 10 ** (-0.4 * (row[f"mag_{band}"] - zp))
                reff = row["reff"].to_value(u.arcsec) / 0.186
                radius = min(6 * reff + 5 * FWHM_PIX, 170.0)
                measured = aperture_sum(added, row[f"x_{band}"], row[f"y_{band}"], radius)
                assert measured == pytest.approx(expected, rel=0.01)
    # Noise-free, all the light of the objects is in the image: the sums agree closely.
    clean = inject(paths, n=3, positions=positions, psfs=psf, seed=5, source_noise=False)
    added = clean.images["g"].data.astype(float) - field.images["g"].data
    total = np.sum(10 ** (-0.4 * (clean.truth["mag_g"] - 30.0)))
    assert added.sum() == pytest.approx(total, rel=1e-4)


def test_rendered_on_each_grid(real_field, tmp_path):
    # The i band on a rotated, rescaled and shifted grid: each injected (smooth, symmetric)
    # old cluster lands, in each band, where that band's WCS puts its sky position.
    field, paths = real_field
    wcs_i = rotated_copy(field.images["i"], tmp_path / "i_rot.fits")
    images = {"g": paths["g"], "i": tmp_path / "i_rot.fits"}
    psfs = {"g": hand_psf(), "i": hand_psf(0.6 / 0.2, scale=0.2)}
    result = inject(images, n={"old_cluster": 3}, psfs=psfs, seed=8, source_noise=False)
    truth = result.truth
    originals = {"g": field.images["g"].data, "i": field.images["i"].data}
    wcses = {"g": field.wcs, "i": wcs_i}
    for band in ("g", "i"):
        added = result.images[band].data.astype(float) - originals[band]
        x_expect, y_expect = wcses[band].world_to_pixel(truth["coord"])
        assert np.allclose(truth[f"x_{band}"], x_expect, atol=1e-6)
        assert np.allclose(truth[f"y_{band}"], y_expect, atol=1e-6)
        for x, y in zip(x_expect, y_expect, strict=True):
            cx, cy = weighted_centroid(added, x, y)
            # Smooth profiles are sampled at their exact sub-pixel position (stars would be
            # placed to 1/16 pixel).
            assert math.hypot(cx - x, cy - y) < 0.01
    # The same sky magnitudes on both grids (the i image has the i zero point).
    assert np.all(np.isfinite(truth["mag_i"]))


def test_components_keep_sky_orientation():
    # A star one arcsec west and one north of an object's centre lands, on a rotated and
    # flipped grid, where that grid's WCS puts the offset sky position.
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [11.0, 41.5]
    c, s, d = math.cos(0.7), math.sin(0.7), 0.15 / 3600
    wcs.wcs.cd = [[d * c, d * s], [-d * s, d * c]]  # parity opposite to the sky's
    centre = SkyCoord([11.001] * u.deg, [41.499] * u.deg)
    x, y, jac = local_jacobians(wcs, centre)
    objects = {"x": np.zeros(1), "y": np.zeros(1)}
    points = {"x": np.array([1.0 / FRAME_SCALE, 0.0]), "y": np.array([0.0, 1.0 / FRAME_SCALE])}
    points["owner"] = np.zeros(2, dtype=np.int64)
    extended = {key: np.zeros(0) for key in ("x", "y", "scale", "rt", "theta")}
    extended["owner"] = np.zeros(0, dtype=np.int64)
    on_grid = population_on_grid(Population(objects, points, extended), x, y, jac)
    west = centre.spherical_offsets_by(-1 * u.arcsec, 0 * u.arcsec)
    north = centre.spherical_offsets_by(0 * u.arcsec, 1 * u.arcsec)
    for k, target in enumerate((west, north)):
        tx, ty = wcs.world_to_pixel(target)
        assert on_grid.points["x"][k] == pytest.approx(float(tx[0]), abs=1e-3)
        assert on_grid.points["y"][k] == pytest.approx(float(ty[0]), abs=1e-3)


def test_nothing_on_masked_pixels(real_field, tmp_path):
    # NaN pixels and a MASK extension: no object's stamp touches them, and they are
    # never changed.
    field, _ = real_field
    data = field.images["g"].data.copy()
    data[50:150, 50:350] = np.nan
    mask = np.zeros(data.shape, dtype=np.uint8)
    mask[200:380, 220:380] = 1
    hdul = fits.HDUList(
        [
            fits.PrimaryHDU(data, header=field.images["g"].header),
            fits.ImageHDU(mask, name="MASK"),
        ]
    )
    path = tmp_path / "masked_g.fits"
    hdul.writeto(path)
    result = inject({"g": path}, n=12, psfs={"g": hand_psf()}, seed=3, stamp_size=24)
    out = result.images["g"].data
    flagged = mask.astype(bool)
    assert np.all(np.isnan(out[np.isnan(data)]))
    assert np.array_equal(out[flagged], data[flagged])
    grid = ImageGrid(data, mask, field.wcs, "g")
    assert np.all(clear_stamps(grid, result.truth["x_g"], result.truth["y_g"], 24))
    half = 12
    for x, y in zip(result.truth["x_g"], result.truth["y_g"], strict=True):
        assert half <= round(x) < 400 - half and half <= round(y) < 400 - half


def test_seed_reproducible(real_field):
    _, paths = real_field
    psfs = {band: hand_psf() for band in paths}
    counts = {"young_cluster": 4, "asterism": 2}
    first = inject(paths, n=counts, psfs=psfs, seed=11)
    again = inject(paths, n=counts, psfs=psfs, seed=11)
    other = inject(paths, n=counts, psfs=psfs, seed=12)
    for band in paths:
        assert np.array_equal(first.images[band].data, again.images[band].data)
        assert not np.array_equal(first.images[band].data, other.images[band].data)
    assert first.truth.meta["seed"] == 11
    assert list(first.truth["kind"]) == ["asterism"] * 2 + ["young_cluster"] * 4
    assert np.array_equal(first.truth["mag_g"], again.truth["mag_g"])
    assert first.truth["coord"].separation(again.truth["coord"]).max() == 0 * u.deg


def test_psf_measured_from_the_stars(real_field):
    _, paths = real_field
    result = inject(paths, n=2, seed=1)
    for band, fwhm in (("g", 0.7), ("i", 0.7)):
        assert result.psfs[band].source == "stars"
        assert result.psfs[band].fwhm.to_value(u.arcsec) == pytest.approx(fwhm, rel=0.05)
    assert result.truth.meta["psf"]["g"]["n_stars"] >= 5


def test_streaming_sections_equal_whole(tmp_path):
    # A larger image, memory-mapped and written section by section into files, gives
    # exactly the pixels computed whole in memory (photon noise included).
    field = simulate_field(size=(1100, 900), seed=6, kinds=("mw_star",), disc_light=False)
    paths = field.write(tmp_path / "in", name="big")
    psfs = {band: hand_psf() for band in paths}
    counts = {"young_cluster": 20, "old_cluster": 3, "asterism": 5}
    whole = inject(paths, n=counts, psfs=psfs, seed=2, block_size=4096)
    streamed = inject(
        paths, n=counts, psfs=psfs, seed=2, block_size=97, output=tmp_path / "out",
        progress_bar=True,
    )  # fmt: skip
    assert isinstance(streamed, Injection)
    for band in paths:
        assert streamed.images[band] == tmp_path / "out" / f"injected_{band}.fits"
        with fits.open(streamed.images[band]) as hdul:
            assert np.array_equal(hdul[0].data, whole.images[band].data)
            assert hdul[0].header["INJCOUNT"] == 28
            assert (
                WCS(hdul[0].header).pixel_to_world(0, 0).separation(field.wcs.pixel_to_world(0, 0))
                < 1e-6 * u.arcsec
            )
    truth = QTable.read(streamed.truth_path)
    assert len(truth) == 28
    assert np.allclose(truth["mag_g"], whole.truth["mag_g"])


def test_refusals(real_field, tmp_path):
    field, paths = real_field
    data = field.images["g"].data
    header = field.images["g"].header
    psfs = {"g": hand_psf()}
    no_wcs = fits.PrimaryHDU(data, header=fits.Header({"PHOTZP": 30.0, "GAIN": 50.0}))
    with pytest.raises(ValueError, match="no celestial WCS"):
        inject({"g": no_wcs}, n=1, psfs=psfs)
    with pytest.raises(TypeError, match="has no WCS"):
        inject({"g": data}, n=1, psfs=psfs)
    singular = header.copy()
    singular["CDELT1"] = 0.0
    with pytest.raises(ValueError, match="is singular"):
        inject({"g": fits.PrimaryHDU(data, header=singular)}, n=1, psfs=psfs)
    seeing_unknown = header.copy()
    del seeing_unknown["FWHM"]  # no star to measure, and no seeing keyword to fall back on
    flat = fits.PrimaryHDU(np.zeros((200, 200), dtype=np.float32), header=seeing_unknown)
    with pytest.raises(ValueError, match=r"images\['g'\].*psfs="):
        inject({"g": flat}, n=1, source_noise=False, seed=1)
    with pytest.raises(TypeError, match="gains"):
        inject({"g": paths["g"]}, n=1, gains={"g": "fifty"}, psfs=psfs)
    no_zp = header.copy()
    del no_zp["PHOTZP"]
    with pytest.raises(ValueError, match="no photometric zero point"):
        inject({"g": fits.PrimaryHDU(data, header=no_zp)}, n=1, psfs=psfs)
    bad_zp = header.copy()
    bad_zp["PHOTZP"] = -99.0
    with pytest.raises(ValueError, match="not a plausible AB zero point"):
        inject({"g": fits.PrimaryHDU(data, header=bad_zp)}, n=1, psfs=psfs)
    no_gain = header.copy()
    del no_gain["GAIN"]
    with pytest.raises(ValueError, match="no gain"):
        inject({"g": fits.PrimaryHDU(data, header=no_gain)}, n=1, psfs=psfs)
    with pytest.raises(ValueError, match="filters="):
        inject({"F475W": paths["g"]}, n=1, psfs={"F475W": hand_psf()})
    with pytest.raises(ValueError, match="n must be a positive integer"):
        inject(paths, n=0)
    with pytest.raises(TypeError, match="n must be a positive integer"):
        inject(paths, n=2.5)
    with pytest.raises(ValueError, match="cannot be injected"):
        inject(paths, n={"galaxy": 3})
    with pytest.raises(ValueError, match="names band"):
        inject(paths, n=1, zero_points={"r": 30.0})
    with pytest.raises(TypeError, match="psfs values"):
        inject(paths, n=1, psfs={"g": 0.7})
    off = SkyCoord([field.wcs.pixel_to_world(5, 200)])
    with pytest.raises(ValueError, match=r"positions \[0\] cannot take an injected object"):
        inject(paths, n=1, positions=off, psfs={b: hand_psf() for b in paths})
    with pytest.raises(ValueError, match="holds 2 position"):
        inject(paths, n=1, positions=field.wcs.pixel_to_world([100, 200], [100, 200]))
    with pytest.raises(ValueError, match="could place only"):
        inject(paths, n=500, psfs={b: hand_psf() for b in paths}, min_separation=10 * u.arcsec)
    with pytest.raises(ValueError, match="an input is never overwritten"):
        inject(paths, n=1, output=paths["g"].parent, name="real", overwrite=True)


def test_refuses_to_overwrite(real_field, tmp_path):
    _, paths = real_field
    psfs = {band: hand_psf() for band in paths}
    inject(paths, n=1, psfs=psfs, output=tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        inject(paths, n=1, psfs=psfs, output=tmp_path)
    again = inject(paths, n=1, psfs=psfs, output=tmp_path, overwrite=True, seed=4)
    assert again.truth_path.exists()


def test_other_band_names_and_zero_points(real_field):
    # A band named after its filter, a zero point given explicitly (none in the header).
    field, _ = real_field
    header = field.images["g"].header.copy()
    del header["PHOTZP"]
    data = field.images["g"].data * 10.0  # counts on zero point 32.5
    image = fits.PrimaryHDU(data, header=header)
    result = inject(
        {"F475W": image}, n=2, filters={"F475W": "g"}, zero_points={"F475W": 32.5},
        psfs={"F475W": hand_psf()}, seed=1, source_noise=False,
    )  # fmt: skip
    added = result.images["F475W"].data.astype(float) - data
    total = np.sum(10 ** (-0.4 * (result.truth["mag_F475W"] - 32.5)))
    assert added.sum() == pytest.approx(total, rel=1e-3)
    assert result.images["F475W"].header["PHOTZP"] == 32.5


def test_labelset_join(real_field):
    field, paths = real_field
    psfs = {band: hand_psf() for band in paths}
    result = inject(paths, n={"young_cluster": 4, "asterism": 3}, psfs=psfs, seed=9)
    real = field.truth["coord"]
    # Detections on the injected images would include the injected objects themselves.
    detections = SkyCoord([*real, *result.truth["coord"]])
    labels = result.labels(detections)
    assert isinstance(labels, LabelSet)
    table = labels.table
    injected = table[table["injected"]]
    assert len(injected) == 7
    assert injected["label"].tolist() == [0, 0, 0, 1, 1, 1, 1]
    real_rows = table[~table["injected"]]
    # Every detection on an injected object is gone; real sources near one go too.
    near = real.separation(result.truth["coord"][:, None]).min(axis=0) < 1 * u.arcsec
    assert len(real_rows) == len(real) - int(near.sum())
    assert not real_rows["label_known"].any() and set(real_rows["label"]) == {0}
    assert labels.n_positive == 4
    # A labelled real catalogue keeps its labels.
    known = LabelSet(QTable({"coord": real[:5], "label": [1, 0, 0, 0, 0]}))
    joined = LabelSet.from_injection(result.truth, known)
    assert joined.table["label_known"].all()
    assert joined.n_positive == 4 + int(known.labels[~near[:5]].sum())


def test_mag_range(real_field):
    # Objects kept only within the magnitude range, e.g. for one bin of a completeness
    # curve; the magnitudes are those of the light added (truth), reproducibly.
    _, paths = real_field
    psfs = {band: hand_psf() for band in paths}
    counts = {"young_cluster": 6, "asterism": 3}
    result = inject(paths, n=counts, psfs=psfs, seed=3, mag_range={"g": (20.0, 21.0)})
    assert np.all((result.truth["mag_g"] >= 20.0) & (result.truth["mag_g"] <= 21.0))
    assert list(result.truth["kind"]) == ["asterism"] * 3 + ["young_cluster"] * 6
    again = inject(paths, n=counts, psfs=psfs, seed=3, mag_range={"g": (20.0, 21.0)})
    assert np.array_equal(result.images["g"].data, again.images["g"].data)
    with pytest.raises(ValueError, match="fall within mag_range"):
        inject(paths, n=2, psfs=psfs, mag_range={"g": (5.0, 6.0)})
    with pytest.raises(ValueError, match="bright < faint"):
        inject(paths, n=2, psfs=psfs, mag_range={"g": (22.0, 21.0)})


def test_stars_as_known_non_clusters(tmp_path):
    # Single stars are injectable: each is one point of the image's PSF, with the flux of
    # its catalogue magnitude in each band, labelled 0 with its label known, so that a
    # training set made only of injected objects has stars among its negatives.
    field = simulate_field(size=500, seed=6, kinds=("mw_star",), disc_light=False)
    paths = field.write(tmp_path, name="real")
    positions = field.wcs.pixel_to_world([125.0, 375.0, 250.0], [125.0, 125.0, 375.0])
    psf = {band: hand_psf() for band in paths}
    counts = {"m31_star": 2, "mw_star": 1}
    result = inject(paths, n=counts, positions=positions, psfs=psf, seed=8, source_noise=False)
    assert list(result.truth["kind"]) == ["mw_star", "m31_star", "m31_star"]
    assert np.all(result.truth["reff"] == 0) and set(result.truth["profile"]) == {"moffat_point"}
    # Stars come from the bright end of the luminosity function only (before reddening).
    unreddened = result.truth["mag_g"] - EXTINCTION["g"] * result.truth["ebv"]
    assert np.all(unreddened <= INJECTED_STAR_FAINT + 1e-9)
    for band in paths:
        added = result.images[band].data.astype(float) - field.images[band].data
        zp = field.images[band].header["PHOTZP"]
        for row in result.truth:
            expected = 10 ** (-0.4 * (row[f"mag_{band}"] - zp))
            measured = aperture_sum(added, row[f"x_{band}"], row[f"y_{band}"], 8 * FWHM_PIX)
            assert measured == pytest.approx(expected, rel=0.01)
            # A point: its light-weighted size is the PSF's, not wider.
            y, x = round(row[f"y_{band}"]), round(row[f"x_{band}"])
            cut = added[y - 2 : y + 3, x - 2 : x + 3]
            assert cut.max() == pytest.approx(added[y - 10 : y + 11, x - 10 : x + 11].max())
    labels = LabelSet.from_injection(result.truth)
    assert labels.table["label"].tolist() == [0, 0, 0]
    assert labels.table["label_known"].all()
    # Stars of the whole luminosity function would be mostly far too faint to inject.
    faint = inject(paths, n={"m31_star": 20}, psfs=psf, seed=2, mag_range={"g": (19.0, 21.0)})
    assert np.all((faint.truth["mag_g"] >= 19.0) & (faint.truth["mag_g"] <= 21.0))
