"""Domain randomisation of the simulator, checked by measurement on the rendered pixels.

Each factor that `DomainRandomization` varies (PSF family, ellipticity, halo, seeing,
depth, correlated noise, hard negatives) is read back from images with measurements
that do not use the simulator's code: fitted widths, second moments, annulus fluxes,
pixel statistics.
"""

import dataclasses
import math
import tempfile

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from scipy.special import ndtr
from simulate_helpers import fit_moffat

from clusterfinder.simulate import (
    PANDAS,
    DomainRandomization,
    PSFShape,
    simulate_field,
    write_field,
)
from clusterfinder.simulate.randomize import draw_conditions

PIXEL = PANDAS.arcsec_per_pixel
STARS = dataclasses.replace(PANDAS, densities={"mw_star": 6.0e4})
HALF = 14


def star_field(psf, fwhm=0.7 * u.arcsec, *, noise=False, seed=5, size=512):
    return simulate_field(
        size=size, seed=seed, kinds=("mw_star",), disc_light=False, config=STARS,
        fwhm=fwhm, psf=psf, noise=noise,
    )  # fmt: skip


def isolated_stamps(field, band, *, faint=21.0, half=HALF):
    """Stamps of bright stars with no other star brighter than 1/1000 of them nearby."""
    truth = field.truth
    x, y = np.asarray(truth["x"]), np.asarray(truth["y"])
    mag = np.asarray(truth[f"mag_{band}"])
    image = field.images[band].data.astype(float)
    ny, nx = image.shape
    stamps = []
    for k in np.flatnonzero((mag > 17.5) & (mag < faint)):
        if not (3 * half < x[k] < nx - 3 * half and 3 * half < y[k] < ny - 3 * half):
            continue
        near = np.hypot(x - x[k], y - y[k]) < 2.5 * half
        near[k] = False
        if np.any(mag[near] < mag[k] + 7.5):
            continue
        ix, iy = round(x[k]), round(y[k])
        stamps.append(
            (image[iy - half : iy + half + 1, ix - half : ix + half + 1], x[k] - ix, y[k] - iy)
        )
    return stamps


def moments(stamp, dx, dy, radius):
    """Ellipticity 1 - b/a and angle (deg) of the light within ``radius`` of the centre."""
    half = stamp.shape[0] // 2
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    xx -= dx
    yy -= dy
    w = stamp * (np.hypot(xx, yy) < radius)
    mxx, myy, mxy = (np.sum(w * a) / w.sum() for a in (xx * xx, yy * yy, xx * yy))
    spread = math.hypot(0.5 * (mxx - myy), mxy)
    major, minor = 0.5 * (mxx + myy) + spread, 0.5 * (mxx + myy) - spread
    angle = 0.5 * math.degrees(math.atan2(2 * mxy, mxx - myy)) % 180.0
    return 1.0 - math.sqrt(minor / major), angle


@pytest.mark.parametrize(
    "shape",
    [PSFShape("moffat", beta=2.0), PSFShape("moffat", beta=5.0), PSFShape("kolmogorov")],
    ids=["moffat2", "moffat5", "kolmogorov"],
)
def test_psf_family_fwhm_measured(shape):
    """Every family is rendered at the requested FWHM (pixel-integrated Moffat fits, 3 %).

    Moffat fields also give back their index; a Kolmogorov core fits a steep Moffat.
    """
    field = star_field(shape, 0.75 * u.arcsec)
    fits_ = [fit_moffat(s, HALF + dx, HALF + dy) for s, dx, dy in isolated_stamps(field, "i")]
    assert len(fits_) >= 5
    assert np.median([f["fwhm"] for f in fits_]) * PIXEL == pytest.approx(0.75, rel=0.03)
    beta = np.median([f["beta"] for f in fits_])
    if shape.family == "moffat":
        assert beta == pytest.approx(shape.beta, rel=0.05)
    else:
        assert beta > 4.5
    assert field.images["i"].header["PSFFAM"] == shape.family


def test_kolmogorov_wings_heavier_than_gaussian_like_moffat():
    """The Kolmogorov profile's wings (r^-11/3) hold more light than a beta = 5 Moffat's."""

    def wing_fraction(shape):
        stamps = isolated_stamps(star_field(shape, 0.7 * u.arcsec), "i")[:8]
        yy, xx = np.mgrid[-HALF : HALF + 1, -HALF : HALF + 1]
        r = np.hypot(xx, yy) / (0.7 / PIXEL)
        return np.median([s[(r > 1.5) & (r < 3.5)].sum() / s[r < 3.5].sum() for s, _, _ in stamps])

    assert wing_fraction(PSFShape("kolmogorov")) > 1.3 * wing_fraction(PSFShape("moffat", beta=5.0))


def test_psf_ellipticity_and_angle_measured():
    """Second moments of the stars give back the configured ellipticity and angle."""
    shape = PSFShape("moffat", beta=3.5, ellipticity=0.1, angle=30.0)
    field = star_field(shape)
    values = [
        moments(s, dx, dy, 3.0 * 0.7 / PIXEL) for s, dx, dy in isolated_stamps(field, "g")[:10]
    ]
    ellipticity = np.median([v[0] for v in values])
    angle = np.median([v[1] for v in values])
    assert ellipticity == pytest.approx(0.1, abs=0.02)
    assert angle == pytest.approx(30.0, abs=5.0)
    round_ = [
        moments(s, dx, dy, 3.0 * 0.7 / PIXEL)[0]
        for s, dx, dy in isolated_stamps(star_field(PSFShape("moffat", beta=3.5)), "g")[:10]
    ]
    assert np.median(round_) < 0.02


def test_psf_halo_flux_measured():
    """A halo of 5 % at 3x the FWHM adds the light a beta = 2 Moffat puts in 2-4 FWHM."""
    fwhm = 0.6 / PIXEL
    plain, halo = PSFShape("kolmogorov"), PSFShape("kolmogorov", halo_fraction=0.05, halo_scale=3.0)
    yy, xx = np.mgrid[-HALF : HALF + 1, -HALF : HALF + 1]
    r = np.hypot(xx, yy)
    annulus = (r >= 2 * fwhm) & (r < 4 * fwhm)

    def annulus_fraction(shape):
        stamps = isolated_stamps(star_field(shape, 0.6 * u.arcsec), "i", half=HALF)[:8]
        return np.median([s[annulus].sum() / s.sum() for s, _, _ in stamps])

    # enclosed light of a beta = 2 Moffat: 1 - (1 + r^2 / alpha^2)^-1
    alpha = 3 * fwhm / (2 * math.sqrt(math.sqrt(2) - 1))
    enclosed = lambda radius: 1 - 1 / (1 + (radius / alpha) ** 2)  # noqa: E731
    core_in_annulus = annulus_fraction(plain)
    predicted = 0.95 * core_in_annulus + 0.05 * (enclosed(4 * fwhm) - enclosed(2 * fwhm))
    assert annulus_fraction(halo) == pytest.approx(predicted, rel=0.15)
    assert annulus_fraction(halo) > 1.4 * core_in_annulus


def test_correlated_noise_measured():
    """Resampled noise: per-pixel sigma as in the header, neighbours correlated as predicted."""
    randomization = DomainRandomization(correlated_noise_probability=1.0, depth_offset=0.0)
    field = simulate_field(size=512, seed=4, kinds=(), disc_light=False, randomize=randomization)
    dy, dx = field.truth.meta["noise_shift"]
    image = field.images["g"].data.astype(float)
    assert np.std(image) == pytest.approx(field.images["g"].header["SKYSIG"], rel=0.02)
    assert field.images["g"].header["NOISECOR"]
    kernel = np.outer([1 - dy, dy], [1 - dx, dx])
    kernel /= np.sqrt(np.sum(kernel**2))
    rho_x = kernel[0, 0] * kernel[0, 1] + kernel[1, 0] * kernel[1, 1]
    rho_y = kernel[0, 0] * kernel[1, 0] + kernel[0, 1] * kernel[1, 1]
    measured_x = np.corrcoef(image[:, :-1].ravel(), image[:, 1:].ravel())[0, 1]
    measured_y = np.corrcoef(image[:-1].ravel(), image[1:].ravel())[0, 1]
    assert measured_x == pytest.approx(rho_x, abs=0.01)
    assert measured_y == pytest.approx(rho_y, abs=0.01)
    white = simulate_field(size=512, seed=4, kinds=(), disc_light=False).images["g"].data
    assert abs(np.corrcoef(white[:, :-1].ravel(), white[:, 1:].ravel())[0, 1]) < 0.01


def test_depth_offsets_measured():
    """The sky noise follows the field's drawn depth: 0.3 mag deeper is 10**-0.12 less noise."""
    base = DomainRandomization(correlated_noise_probability=0.0, depth_offset=0.3)
    field = simulate_field(size=256, seed=9, kinds=(), disc_light=False, randomize=base)
    for band in ("g", "i"):
        header = field.images[band].header
        offset = header["MAGLIM"] - PANDAS.bands[band].depth
        assert abs(offset) <= 0.3
        same_psf = simulate_field(
            size=256, seed=9, kinds=(), disc_light=False,
            fwhm=header["FWHM"] * u.arcsec, psf=PSFShape(**field.truth.meta["psf"][band]),
        )  # fmt: skip
        ratio = np.std(field.images[band].data) / np.std(same_psf.images[band].data)
        assert ratio == pytest.approx(10 ** (-0.4 * offset), rel=0.03)


def test_astrometric_offsets_measured():
    """Each band's light sits where the header says, displaced from the WCS (Moffat fits)."""
    randomize = DomainRandomization(
        seeing=(0.7, 0.7), seeing_median=0.7, kolmogorov_fraction=0.0, beta=(3.0, 3.0),
        ellipticity=(0.0, 0.0), halo_probability=0.0, hard_negatives=False,
        correlated_noise_probability=0.0, astrometric_error=0.1,
    )  # fmt: skip
    field = simulate_field(
        size=768, seed=5, kinds=("mw_star",), disc_light=False, config=STARS, noise=False,
        randomize=randomize,
    )  # fmt: skip
    shifts = {}
    for band in ("g", "i"):
        header = field.images[band].header
        offset = np.array([header["ASTOFFY"], header["ASTOFFX"]]) / PIXEL
        assert 0 < np.hypot(*offset) <= 0.1 / PIXEL
        measured = []
        for stamp, dx, dy in isolated_stamps(field, band):
            fit = fit_moffat(stamp, HALF + dx, HALF + dy)
            measured.append([fit["y"] - HALF - dy, fit["x"] - HALF - dx])
        assert len(measured) >= 5
        shifts[band] = np.median(measured, axis=0)
        assert shifts[band] == pytest.approx(offset, abs=0.02)
    # The two bands are displaced independently.
    assert np.hypot(*(shifts["g"] - shifts["i"])) > 0.05
    plain = simulate_field(size=64, seed=3, kinds=("mw_star",)).images["g"].header
    assert plain["ASTOFFX"] == 0.0 and plain["ASTOFFY"] == 0.0


def residual_fields(**residuals):
    """A star field without and with sky residuals, otherwise the same draw (no noise)."""
    base = dict(
        seeing=(0.7, 0.7), seeing_median=0.7, hard_negatives=False, astrometric_error=0.0,
        correlated_noise_probability=0.0, mesh=(5.0, 5.0),
    )  # fmt: skip
    kwargs = dict(size=512, seed=5, kinds=("mw_star",), disc_light=False, config=STARS, noise=False)
    none = dict(sky_residual=(0.0, 0.0), oversubtraction=(0.0, 0.0))
    flat = simulate_field(**kwargs, randomize=DomainRandomization(**base, **none))
    other = simulate_field(**kwargs, randomize=DomainRandomization(**base, **{**none, **residuals}))
    return flat, other


def test_oversubtraction_around_bright_stars_measured():
    """Around bright stars, the light missing is the configured fraction of theirs."""
    flat, over = residual_fields(oversubtraction=(0.03, 0.03))
    diff = over.images["i"].data.astype(float) - flat.images["i"].data
    sigma = 5.0 / PIXEL
    half = int(2 * sigma)
    edge = half + int(3 * sigma)  # stars just off the image add almost nothing there
    truth = flat.truth
    x, y, mag = (np.asarray(truth[key]) for key in ("x", "y", "mag_i"))
    bright = mag < 18.0
    removed = 0.03 * 10.0 ** (-0.4 * (mag[bright] - 30.0))
    measured, expected = [], []
    for k in np.flatnonzero(bright):
        ix, iy = round(x[k]), round(y[k])
        if not (edge <= ix < 768 - edge and edge <= iy < 768 - edge):
            continue
        measured.append(-diff[iy - half : iy + half + 1, ix - half : ix + half + 1].sum())
        # Each bright star's Gaussian patch, integrated over the box.
        fx = ndtr((ix + half + 0.5 - x[bright]) / sigma) - ndtr(
            (ix - half - 0.5 - x[bright]) / sigma
        )
        fy = ndtr((iy + half + 0.5 - y[bright]) / sigma) - ndtr(
            (iy - half - 0.5 - y[bright]) / sigma
        )
        expected.append(np.sum(removed * fx * fy))
    assert len(measured) >= 2
    assert np.allclose(measured, expected, rtol=0.01)
    assert over.images["i"].header["SKYOVER"] == 0.03
    assert over.images["i"].header["SKYMESH"] == 5.0


def test_smooth_sky_residuals_measured():
    """Smooth residuals of the configured size relative to the sky noise, tens of arcsec wide."""
    flat, smooth = residual_fields(sky_residual=(0.3, 0.3))
    header = smooth.images["g"].header
    diff = smooth.images["g"].data.astype(float) - flat.images["g"].data
    rms = diff.std() / header["SKYSIG"]
    assert 0.1 < rms / 0.3 < 3.0
    # Neighbours 50 pixels (9") apart share most of it: a smooth pattern, not noise.
    a, b = diff[:, :-50].ravel(), diff[:, 50:].ravel()
    assert np.corrcoef(a, b)[0, 1] > 0.5
    assert header["SKYRES"] == 0.3
    plain = simulate_field(size=64, seed=3, kinds=("mw_star",)).images["g"].header
    assert plain["SKYRES"] == 0.0 and plain["SKYOVER"] == 0.0


def test_seeing_distribution():
    """Seeing draws stay in 0.45-1.0", g is never sharper than i, the median is PAndAS-like."""
    rng = np.random.default_rng(0)
    draws = [draw_conditions(DomainRandomization(), PANDAS, rng) for _ in range(400)]
    g = np.array([d.fwhm["g"] for d in draws])
    i = np.array([d.fwhm["i"] for d in draws])
    assert g.min() >= 0.45 and g.max() <= 1.0 and i.min() >= 0.45
    assert np.all(g >= i)
    assert np.median(i) == pytest.approx(0.62, abs=0.03)
    assert np.mean(i > 0.85) > 0.05  # bad seeing is drawn too
    families = {d.psf["g"].family for d in draws}
    assert families == {"moffat", "kolmogorov"}
    assert max(d.psf["i"].ellipticity for d in draws) <= 0.1


def test_hard_negatives_have_bright_asterisms():
    """With hard negatives, asterisms reach g < 21 (members from g = 19.5)."""
    config = dataclasses.replace(PANDAS, densities={"asterism": 4e4})
    kwargs = dict(size=512, seed=2, kinds=("asterism",), config=config, noise=False)
    plain = simulate_field(**kwargs).truth
    hard = simulate_field(**kwargs, randomize=DomainRandomization()).truth
    assert np.min(plain["mag_g"]) > 20.5
    assert np.sum(hard["mag_g"] < 21.0) >= 3
    assert hard["nstars"][hard["profile"] == "asterism"].max() == 6


def test_randomized_field_reproducible_and_block_independent():
    """Same seed, same pixels; streamed in blocks, the same pixels as in one piece."""
    kwargs = dict(
        size=300, seed=12, randomize=DomainRandomization(correlated_noise_probability=1.0)
    )
    one = simulate_field(**kwargs)
    assert np.array_equal(one.images["g"].data, simulate_field(**kwargs).images["g"].data)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_field(tmp, block_size=128, **kwargs)
        for band in ("g", "i"):
            assert np.array_equal(fits.getdata(paths[band]), one.images[band].data)
    other = simulate_field(**{**kwargs, "seed": 13})
    assert other.truth.meta["fwhm"] != one.truth.meta["fwhm"]


def test_default_field_unchanged_by_randomization_code():
    """Without randomize=, fields are the fixed configured ones (round Moffat, white noise)."""
    field = simulate_field(size=64, seed=3, kinds=("mw_star",))
    header = field.images["g"].header
    assert header["PSFFAM"] == "moffat" and header["BETA"] == 3.0
    assert header["PSFELL"] == 0.0 and header["HALOFRAC"] == 0.0 and not header["NOISECOR"]
    assert field.truth.meta["randomized"] is False


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"randomize": "yes"}, TypeError, "randomize must be None, a bool or a DomainRandom"),
        ({"psf": 3}, TypeError, "psf must be None, a PSFShape or a dict"),
        ({"psf": {"r": PSFShape()}}, ValueError, r"psf has unknown band\(s\) \['r'\]"),
        ({"psf": {"g": "moffat"}}, TypeError, r"psf\['g'\] must be a PSFShape"),
    ],
)
def test_bad_randomization_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_field(size=16, seed=0, kinds=(), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"family": "airy"}, ValueError, "family must be one of"),
        ({"beta": 1.0}, ValueError, r"beta must lie in \(1, inf\]"),
        ({"ellipticity": 0.7}, ValueError, r"ellipticity must lie in \[0, 0.5\]"),
        ({"halo_fraction": "a"}, TypeError, "halo_fraction must be a number"),
        ({"halo_scale": 0.5}, ValueError, "halo_scale must lie in"),
        ({"angle": float("nan")}, ValueError, "angle must be finite"),
    ],
)
def test_bad_psf_shape(kwargs, error, match):
    with pytest.raises(error, match=match):
        PSFShape(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seeing": (1.0, 0.5)}, ValueError, "seeing must satisfy"),
        ({"seeing": 0.7}, TypeError, "seeing must be a pair"),
        ({"seeing_median": 2.0}, ValueError, "seeing_median must lie within"),
        ({"halo_probability": 1.5}, ValueError, "halo_probability must be a probability"),
        ({"depth_offset": -1}, ValueError, "depth_offset must lie in"),
        ({"astrometric_error": 2.0}, ValueError, r"astrometric_error must lie in \[0, 1\] arcsec"),
        ({"oversubtraction": (0.1, 0.9)}, ValueError, "oversubtraction must satisfy"),
        ({"mesh": 5.0}, TypeError, "mesh must be a pair"),
    ],
)
def test_bad_domain_randomization(kwargs, error, match):
    with pytest.raises(error, match=match):
        DomainRandomization(**kwargs)
