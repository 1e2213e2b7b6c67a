"""The PSF measured zone by zone (`measure_local_psf`) and carried by each stamp."""

import dataclasses

import astropy.units as u
import numpy as np
import pytest

from clusterfinder import Cutout
from clusterfinder.psf import (
    PSFGrid,
    PSFMeasurement,
    PSFMeasurementWarning,
    attach_psf,
    measure_local_psf,
    measure_psf,
    psf_columns,
)
from clusterfinder.simulate import (
    PANDAS,
    DomainRandomization,
    PSFShape,
    PSFVariation,
    simulate_field,
)

STARS = dataclasses.replace(PANDAS, densities={"mw_star": 6.0e4})
FIXED = dict(
    seeing=(0.7, 0.7), seeing_median=0.7, kolmogorov_fraction=0.0, beta=(3.0, 3.0),
    ellipticity=(0.0, 0.0), halo_probability=0.0, hard_negatives=False,
    correlated_noise_probability=0.0, astrometric_error=0.0, sky_residual=(0.0, 0.0),
    oversubtraction=(0.0, 0.0),
)  # fmt: skip
SIZE = 1200
PIXEL_SCALE = PANDAS.arcsec_per_pixel * u.arcsec / u.pix


def star_field(change, seed=5):
    return simulate_field(
        size=SIZE, seed=seed, kinds=("mw_star",), disc_light=False, config=STARS,
        randomize=DomainRandomization(**FIXED, psf_variation=(change, change)),
    )  # fmt: skip


def stamp_errors(field, band, psf):
    """Relative error of the ``psf_fwhm`` column of 400 stamps against the drawn PSF."""
    header = field.images[band].header
    variation = PSFVariation(header["PSFVAR"], header["PSFVARAN"])
    rng = np.random.default_rng(0)
    x, y = rng.uniform(20, SIZE - 20, 400), rng.uniform(20, SIZE - 20, 400)
    true, _ = variation.at(x, y, fwhm=header["FWHM"], shape=PSFShape(), image_shape=(SIZE, SIZE))
    stamps = Cutout.from_images({band: field.images[band]}, (x, y), cutout_size=15)
    attach_psf(stamps, {band: psf})
    return stamps.table[f"psf_fwhm_{band}"].to_value(u.arcsec) / true - 1.0


@pytest.fixture(scope="module")
def varying():
    return star_field(0.15)


def test_local_psf_follows_a_varying_field(varying):
    """On a field whose FWHM changes by 15 %, stamps get their zone's PSF: 3x smaller errors."""
    band = "i"
    whole = measure_psf(varying.images[band])
    local = measure_local_psf(varying.images[band], grid=3)
    assert local.measured.all() and local.grid == 3
    assert local.whole == whole
    fwhms = np.array([[p.fwhm.value for p in row] for row in local.zones])
    assert np.ptp(fwhms) > 0.05  # the zones see the change (0.07" between corner zones)
    global_rms = np.sqrt(np.mean(stamp_errors(varying, band, whole) ** 2))
    local_rms = np.sqrt(np.mean(stamp_errors(varying, band, local) ** 2))
    assert global_rms > 0.025
    assert local_rms < 0.5 * global_rms


def test_local_psf_costs_a_little_precision_on_a_constant_field():
    """Where the PSF does not vary, the zones (fewer stars each) stay within ~2 %."""
    field = star_field(0.0, seed=6)
    local = measure_local_psf(field.images["g"], grid=2)
    errors = stamp_errors(field, "g", local)
    assert np.abs(errors).max() < 0.02
    assert np.abs(stamp_errors(field, "g", local.whole)).max() < 0.005


def test_zones_without_stars_fall_back_to_the_whole_image(varying):
    image = varying.images["g"]
    mask = np.zeros(image.shape, dtype=bool)
    mask[:400, 800:] = True  # the bottom-right zone of a 3 x 3 grid: no usable star
    with pytest.warns(PSFMeasurementWarning, match=r"1 of the 9 zones .*\[\(0, 2\)\]"):
        local = measure_local_psf(image, grid=3, mask=mask)
    assert local.measured.sum() == 8 and not local.measured[0, 2]
    assert local.zones[0][2] is local.whole
    assert local.at([1100.0], [100.0])[0] is local.whole


def test_whole_given_is_not_measured_again(varying):
    """A whole-image PSF measured elsewhere (a central window) is kept; zones are the same."""
    image = varying.images["i"]
    centre = measure_psf(image.data[300:900, 300:900], pixel_scale=PIXEL_SCALE)
    given = measure_local_psf(image, grid=2, whole=centre)
    assert given.whole is centre
    measured = measure_local_psf(image, grid=2)
    for row_given, row_measured in zip(given.zones, measured.zones, strict=True):
        for a, b in zip(row_given, row_measured, strict=True):
            # (the zones' margins follow the whole image's FWHM: the same here to 1e-3)
            assert a.fwhm.value == pytest.approx(b.fwhm.value, rel=1e-3)
            assert a.beta == pytest.approx(b.beta, rel=1e-3)
    with pytest.raises(TypeError, match="whole must be a PSFMeasurement"):
        measure_local_psf(image, grid=2, whole=0.7 * u.arcsec)
    with pytest.raises(ValueError, match="mask has shape"):
        measure_local_psf(image, grid=2, whole=centre, mask=np.zeros((10, 10), bool))


def test_grid_of_one_is_the_whole_image(varying):
    local = measure_local_psf(varying.images["i"], grid=1)
    assert local.zones[0][0] is local.whole and local.measured.tolist() == [[True]]


def test_zone_lookup_and_columns():
    base = dict(beta=3.0, ellipticity=0.0, theta=0 * u.deg, wing_fraction=np.nan, n_stars=0,
                pixel_scale=0.186 * u.arcsec / u.pix, stamp=np.full((9, 9), 1 / 81),
                source="header")  # fmt: skip
    a = PSFMeasurement(fwhm=0.6 * u.arcsec, fwhm_pix=3.2, **base)
    b = PSFMeasurement(fwhm=0.8 * u.arcsec, fwhm_pix=4.3, **base)
    grid = PSFGrid((100, 300), a, ((a, b), (b, a)), np.ones((2, 2), bool))
    iy, ix = grid.zone_of([0.0, 149.4, 149.6, 299.0], [49.4, 49.6, 0.0, 99.0])
    assert iy.tolist() == [0, 1, 0, 1] and ix.tolist() == [0, 0, 1, 1]
    columns = psf_columns({"g": grid}, 3, positions={"g": ([10.0, 200.0, 10.0], [10, 10, 90])})
    assert columns["psf_fwhm_g"].to_value(u.arcsec).tolist() == [0.6, 0.8, 0.8]
    with pytest.raises(ValueError, match="needs the rows' pixel positions"):
        psf_columns({"g": grid}, 3)
    with pytest.raises(ValueError, match=r"positions\['g'\] has 1 positions for 3 rows"):
        psf_columns({"g": grid}, 3, positions={"g": ([1.0], [1.0])})
    image = np.ones((100, 300), dtype=np.float32)
    stamps = Cutout.from_images({"g": image}, ([10.0, 200.0], [10.0, 10.0]), cutout_size=5,
                                zero_points=30)  # fmt: skip
    assert attach_psf(stamps, {"g": grid}).table["psf_fwhm_g"].value.tolist() == [0.6, 0.8]
    stamps.table.remove_columns(["x", "y"])
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['x', 'y'\]"):
        attach_psf(stamps, {"g": grid})


@pytest.mark.parametrize(
    ("grid", "error", "match"),
    [
        (0, ValueError, "grid must be a positive integer"),
        (2.0, TypeError, "grid must be a positive integer"),
        (17, ValueError, "grid must be at most 16"),
    ],
)
def test_bad_grid(grid, error, match):
    with pytest.raises(error, match=match):
        measure_local_psf(np.zeros((10, 10)), grid=grid, pixel_scale=PIXEL_SCALE)


def gaussian_stars():
    """300 x 300 pixels of noise with 49 Gaussian stars (sigma 1.5 pixels), 40 pixels apart."""
    yy, xx = np.mgrid[:300, :300]
    image = np.random.default_rng(1).normal(0.0, 1.0, (300, 300))
    for y in range(30, 300, 40):
        for x in range(30, 300, 40):
            image += 2000.0 * np.exp(-((xx - x - 0.3) ** 2 + (yy - y + 0.2) ** 2) / 4.5)
    return image


def test_zones_too_small_or_too_poor():
    image = gaussian_stars()
    with pytest.raises(ValueError, match="grid=8 leaves zones of 37 x 37 pixels, narrower than"):
        measure_local_psf(image, grid=8, pixel_scale=PIXEL_SCALE)
    # Zones of 60 pixels hold one to four of the stars, 40 pixels apart.
    with pytest.warns(PSFMeasurementWarning, match=r"of the 25 zones .* and \d+ more\] could"):
        local = measure_local_psf(image, grid=5, pixel_scale=PIXEL_SCALE, min_stars=3)
    assert local.measured.sum() < 9
    missing = zip(*np.nonzero(~local.measured), strict=True)
    assert all(local.zones[iy][ix] is local.whole for iy, ix in missing)


def test_bad_psf_grid():
    with pytest.raises(ValueError, match="zones must be a square grid"):
        PSFGrid((10, 10), None, ((None,), (None, None)), np.ones((2, 2), bool))
    with pytest.raises(TypeError, match="must be PSFMeasurement"):
        PSFGrid((10, 10), None, ((None,),), np.ones((1, 1), bool))


def test_simulated_stamps_carry_their_zone_psf():
    """Training stamps of a field whose PSF varies get the PSF of their own zone."""
    from clusterfinder.datasets import simulated_stamps

    randomize = DomainRandomization(**FIXED, psf_variation=(0.15, 0.15))
    kwargs = dict(
        n_fields=1, size=768, cutout_size=16, mag_max=22.0, randomize=randomize, config=STARS
    )
    local = simulated_stamps(**kwargs, measure_psf=True, psf_grid=2, seed=4)
    whole = simulated_stamps(**kwargs, measure_psf=True, seed=4)
    assert len(local) == len(whole) > 20
    assert np.unique(whole.table["psf_fwhm_i"]).size == 1
    assert np.unique(local.table["psf_fwhm_i"]).size == 4
    with pytest.raises(ValueError, match="psf_grid=2 needs measure_psf=True"):
        simulated_stamps(**kwargs, psf_grid=2)
    with pytest.raises(TypeError, match="psf_grid must be a positive integer"):
        simulated_stamps(**kwargs, measure_psf=True, psf_grid=1.5)
