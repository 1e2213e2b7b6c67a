"""Tests of clusterfinder.simulate: fields, truth, reproducibility, files."""

import os
import stat

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS

from clusterfinder.galaxy import M31
from clusterfinder.simulate import HSC, KINDS, PANDAS, simulate_field, write_field
from clusterfinder.simulate.plan import DEFAULT_CENTER


@pytest.fixture(scope="module")
def field():
    return simulate_field(size=(200, 240), seed=12)


def test_images_and_headers(field):
    assert field.bands == ("g", "i")
    assert field.shape == (200, 240)
    for band in field.bands:
        hdu = field.images[band]
        assert isinstance(hdu, fits.PrimaryHDU)
        assert hdu.data.dtype == np.float32
        assert hdu.data.shape == (200, 240)
        header = hdu.header
        assert header["PHOTZP"] == 30.0
        assert header["FILTER"] == band
        assert header["BUNIT"] == "adu"
        assert header["SEED"] == 12
        assert header["FWHM"] == pytest.approx(PANDAS.bands[band].fwhm.to_value(u.arcsec))
        assert header["GAIN"] == PANDAS.bands[band].gain
        assert header["SATURATE"] > 1000
        wcs = WCS(header)
        assert wcs.has_celestial
        assert wcs.wcs.ctype[0] == "RA---TAN"
        scale = np.abs(wcs.proj_plane_pixel_scales()[0]).to_value(u.arcsec)
        assert scale == pytest.approx(0.186)
        assert np.all(np.isfinite(hdu.data))
    centre = field.wcs.pixel_to_world(119.5, 99.5)
    assert centre.separation(DEFAULT_CENTER) < 1e-6 * u.deg


def test_truth_table(field):
    truth = field.truth
    assert isinstance(truth, QTable)
    for name in (
        "coord", "x", "y", "kind", "mag_g", "mag_i", "reff", "profile", "gamma",
        "concentration", "sersic_n", "ellipticity", "theta", "nstars", "r_proj", "r_deproj",
    ):  # fmt: skip
        assert name in truth.colnames, name
    assert isinstance(truth["coord"], SkyCoord)
    assert truth["reff"].unit == u.arcsec
    assert truth["r_deproj"].unit == u.kpc
    assert set(truth["kind"]) <= set(KINDS)
    assert {"m31_star", "young_cluster"} <= set(truth["kind"])
    # only objects whose centre lies on the image
    assert np.all((truth["x"] >= -0.5) & (truth["x"] < 239.5))
    assert np.all((truth["y"] >= -0.5) & (truth["y"] < 199.5))
    # coordinates and pixels agree through the image WCS
    x, y = WCS(field.images["i"].header).world_to_pixel(truth["coord"])
    assert np.allclose(x, truth["x"], atol=1e-6) and np.allclose(y, truth["y"], atol=1e-6)
    points = truth["profile"] == "moffat_point"
    assert np.all(truth["reff"][points] == 0)
    clusters = truth[truth["kind"] == "young_cluster"]
    assert np.all(clusters["reff"] > 0 * u.arcsec)
    assert set(clusters["profile"]) <= {"eff", "king"}
    assert np.all(np.isfinite(truth["mag_g"])) and np.all(np.isfinite(truth["mag_i"]))
    radius = M31.deprojected_radius(truth["coord"][:5])
    assert np.allclose(radius, truth["r_deproj"][:5])
    assert truth.meta["seed"] == 12
    assert truth.meta["config"] == "PAndAS"


def test_reproducible_bit_for_bit(field):
    again = simulate_field(size=(200, 240), seed=12, progress_bar=True)
    for band in field.bands:
        assert np.array_equal(field.images[band].data, again.images[band].data)
    assert np.array_equal(field.truth["mag_g"], again.truth["mag_g"])
    other = simulate_field(size=(200, 240), seed=13)
    assert not np.array_equal(field.images["g"].data, other.images["g"].data)


def test_generator_seed():
    a = simulate_field(size=64, seed=np.random.default_rng(4), kinds=("mw_star",))
    b = simulate_field(size=64, seed=np.random.default_rng(4), kinds=("mw_star",))
    assert np.array_equal(a.images["g"].data, b.images["g"].data)


def test_kinds_filter_keeps_other_kinds_unchanged(field):
    only = simulate_field(size=(200, 240), seed=12, kinds=("young_cluster", "galaxy"))
    assert set(only.truth["kind"]) <= {"young_cluster", "galaxy"}
    full = field.truth[field.truth["kind"] == "young_cluster"]
    part = only.truth[only.truth["kind"] == "young_cluster"]
    assert len(part) == len(full) > 0
    assert np.array_equal(part["x"], full["x"])
    assert np.allclose(part["mag_g"], full["mag_g"])
    empty = simulate_field(size=32, seed=1, kinds=(), noise=False, disc_light=False)
    assert len(empty.truth) == 0
    assert np.all(empty.images["g"].data == 0)


@pytest.mark.parametrize("kind", ["mw_star", "galaxy", "young_cluster", "old_cluster", "asterism"])
def test_noise_free_flux_is_exact(kind):
    import dataclasses

    # a few objects of one kind in a 400 x 400 field, noise-free and without disc light
    config = dataclasses.replace(PANDAS, densities={kind: 6000.0})
    alpha = 0.67 / 0.186 / (2 * np.sqrt(2 ** (1 / 3) - 1))
    checked = 0
    for seed in (3, 5):
        field = simulate_field(
            size=400, seed=seed, kinds=(kind,), noise=False, disc_light=False, config=config
        )
        truth = field.truth
        x, y = np.asarray(truth["x"]), np.asarray(truth["y"])
        reff = truth["reff"].to_value(u.arcsec) / 0.186
        radius = np.ceil(6 * reff + 6 * alpha + 2).astype(int)
        for row in range(len(truth)):
            r = radius[row]
            others = np.hypot(x - x[row], y - y[row]) < radius + r
            others[row] = False
            if np.any(others) or not (r < x[row] < 399 - r and r < y[row] < 399 - r):
                continue
            cx, cy = round(x[row]), round(y[row])
            for band in field.bands:
                data = field.images[band].data.astype(float)
                total = data[cy - r : cy + r + 1, cx - r : cx + r + 1].sum()
                expected = 10 ** (-0.4 * (truth[f"mag_{band}"][row] - 30))
                assert total == pytest.approx(expected, rel=0.01), (kind, band, row)
            checked += 1
    assert checked > 0


def test_noise_level_matches_configuration():
    field = simulate_field(size=256, seed=5, kinds=(), disc_light=False)
    for band in field.bands:
        sigma = np.std(field.images[band].data)
        assert sigma == pytest.approx(PANDAS.sky_sigma(band), rel=0.03)
        assert field.images[band].header["SKYSIG"] == pytest.approx(PANDAS.sky_sigma(band))
    assert abs(np.mean(field.images["g"].data)) < 0.05


def test_saturation_plateau_and_bleed():
    import dataclasses

    config = dataclasses.replace(PANDAS, densities={"mw_star": 3e5})
    field = simulate_field(size=256, seed=2, kinds=("mw_star",), config=config)
    truth = field.truth
    assert np.min(truth["mag_g"]) < 16.5
    data = field.images["g"].data
    level = field.images["g"].header["SATURATE"]
    assert data.max() == pytest.approx(level)
    saturated = data >= level * (1 - 1e-6)
    # bleed trails: a saturated run longer than wide along the columns
    columns = saturated.sum(axis=0)
    assert columns.max() > 3


def test_fwhm_options():
    a = simulate_field(size=32, seed=1, kinds=(), fwhm=0.8 * u.arcsec)
    assert a.images["g"].header["FWHM"] == a.images["i"].header["FWHM"] == pytest.approx(0.8)
    b = simulate_field(size=32, seed=1, kinds=(), fwhm={"i": 0.5 * u.arcsec})
    assert b.images["i"].header["FWHM"] == pytest.approx(0.5)
    assert b.images["g"].header["FWHM"] == pytest.approx(0.67)
    c = simulate_field(size=32, seed=1, kinds=(), fwhm="random")
    d = simulate_field(size=32, seed=1, kinds=(), fwhm="random")
    for band in ("g", "i"):
        value = c.images[band].header["FWHM"]
        assert 0.5 <= value <= 0.9
        assert value == d.images[band].header["FWHM"]
    assert c.truth.meta["fwhm"]["g"] == pytest.approx(c.images["g"].header["FWHM"])


def test_hsc_preset_and_center():
    center = SkyCoord(10.9 * u.deg, 41.4 * u.deg)
    field = simulate_field(size=64, seed=1, config=HSC, center=center, kinds=("mw_star",))
    assert field.config is HSC
    scale = np.abs(field.wcs.proj_plane_pixel_scales()[0]).to_value(u.arcsec)
    assert scale == pytest.approx(0.168)
    assert field.wcs.pixel_to_world(31.5, 31.5).separation(center) < 1e-6 * u.deg
    assert field.images["g"].header["SURVEY"] == "HSC"


def test_crowding_grows_toward_centre():
    inner = simulate_field(
        size=128,
        seed=1,
        kinds=("m31_star",),
        center=M31.center.directional_offset_by(38 * u.deg, 0.3 * u.deg),
    )
    outer = simulate_field(
        size=128,
        seed=1,
        kinds=("m31_star",),
        center=M31.center.directional_offset_by(38 * u.deg, 1.2 * u.deg),
    )
    assert len(inner.truth) > 2 * len(outer.truth)
    assert np.median(inner.images["g"].data) > np.median(outer.images["g"].data)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"size": 0}, ValueError, "size"),
        ({"size": (10, -1)}, ValueError, "size"),
        ({"size": 1.5}, TypeError, "size"),
        ({"size": True}, TypeError, "size"),
        ({"size": (1, 2, 3)}, TypeError, "size"),
        ({"size": 16, "fwhm": -0.5 * u.arcsec}, ValueError, "fwhm"),
        ({"size": 16, "fwhm": 0 * u.arcsec}, ValueError, "fwhm"),
        ({"size": 16, "fwhm": 0.7}, TypeError, "fwhm"),
        ({"size": 16, "fwhm": "sometimes"}, ValueError, "fwhm"),
        ({"size": 16, "fwhm": {"r": 0.7 * u.arcsec}}, ValueError, "band"),
        ({"size": 16, "kinds": ("quasar",)}, ValueError, "kinds"),
        ({"size": 16, "center": (10.0, 41.0)}, TypeError, "center"),
        ({"size": 16, "config": "pandas"}, TypeError, "config"),
        ({"size": 16, "galaxy": "M31"}, TypeError, "galaxy"),
        ({"size": 16, "seed": -1}, ValueError, "seed"),
    ],
)
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_field(**kwargs)


def test_center_must_be_scalar_and_near_the_galaxy():
    with pytest.raises(ValueError, match="center"):
        simulate_field(size=16, center=SkyCoord([10, 11] * u.deg, [41, 41] * u.deg))
    with pytest.raises(ValueError, match="center must lie within"):
        simulate_field(size=16, center=SkyCoord(180 * u.deg, 0 * u.deg))
    galactic = SkyCoord(l=121.17 * u.deg, b=-21.57 * u.deg, frame="galactic")
    field = simulate_field(size=16, center=galactic, kinds=())
    assert field.wcs.pixel_to_world(7.5, 7.5).separation(galactic) < 1e-6 * u.deg


def test_write_and_overwrite(tmp_path, field):
    paths = field.write(tmp_path, name="sim")
    assert set(paths) == {"g", "i"}
    assert paths["g"].name == "sim_g.fits" and paths["i"].name == "sim_i.fits"
    assert sorted(os.listdir(tmp_path)) == ["sim_g.fits", "sim_i.fits", "truth.ecsv"]
    with fits.open(paths["g"]) as hdul:
        assert np.array_equal(hdul[0].data, field.images["g"].data)
        assert hdul[0].header["PHOTZP"] == 30.0
    truth = QTable.read(tmp_path / "truth.ecsv")
    assert isinstance(truth["coord"], SkyCoord)
    assert len(truth) == len(field.truth)
    assert np.allclose(truth["mag_i"], field.truth["mag_i"])
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(paths["g"]).st_mode) == 0o666 & ~umask
    with pytest.raises(FileExistsError, match="overwrite"):
        field.write(tmp_path, name="sim")
    field.write(tmp_path, name="sim", overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["sim_g.fits", "sim_i.fits", "truth.ecsv"]


def test_write_is_atomic(tmp_path, field, monkeypatch):
    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(QTable, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        field.write(tmp_path)
    # the images were complete; no half-written truth and no temporary file stays behind
    assert sorted(os.listdir(tmp_path)) == ["field_g.fits", "field_i.fits"]


def test_write_errors(tmp_path, field):
    target = tmp_path / "a_file"
    target.write_text("x")
    with pytest.raises(OSError, match="outdir"):
        field.write(target)
    with pytest.raises(ValueError, match="name"):
        field.write(tmp_path, name="")
    if os.name == "posix" and os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        with pytest.raises(OSError, match="not writable"):
            field.write(locked)


def test_write_field_equals_simulate_field(tmp_path):
    kwargs = {"size": (150, 170), "seed": 21, "fwhm": "random"}
    memory = simulate_field(**kwargs)
    paths = write_field(tmp_path, block_size=48, **kwargs)
    for band, path in paths.items():
        with fits.open(path) as hdul:
            assert np.array_equal(hdul[0].data, memory.images[band].data)
            assert hdul[0].header == memory.images[band].header
    truth = QTable.read(tmp_path / "truth.ecsv")
    assert np.array_equal(truth["x"], memory.truth["x"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(FileExistsError):
        write_field(tmp_path, block_size=48, **kwargs)
    with pytest.raises(ValueError, match="block_size"):
        write_field(tmp_path / "b", size=16, block_size=0)


def test_repr(field):
    text = repr(field)
    assert "SimulatedField" in text and "200x240" in text and "young_cluster" in text


def test_write_field_interrupted_leaves_nothing(tmp_path, monkeypatch):
    from clusterfinder.simulate.render import Scene

    calls = []
    original = Scene.render

    def flaky(self, *args):
        calls.append(args)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(Scene, "render", flaky)
    with pytest.raises(KeyboardInterrupt):
        write_field(tmp_path, size=64, seed=1, block_size=32, kinds=("mw_star",))
    assert list(tmp_path.iterdir()) == []
