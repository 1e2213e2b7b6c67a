"""A PSF that varies across the field, checked by measurement on the rendered pixels.

The PSF of each zone of a 3 x 3 grid over a rendered field is measured on the zone's own
stars with `clusterfinder.psf.measure_psf`; a plane fitted to those FWHMs must have the
gradient (size and direction) that the headers record, and each zone the FWHM and
ellipticity that the drawn variation gives at its centre.
"""

import dataclasses
import math
import tempfile

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from simulate_helpers import fit_moffat

from clusterfinder.psf import measure_psf
from clusterfinder.simulate import (
    PANDAS,
    DomainRandomization,
    PSFShape,
    PSFVariation,
    simulate_field,
    write_field,
)
from clusterfinder.simulate.randomize import draw_conditions
from clusterfinder.simulate.varying_psf import VaryingPSF

STARS = dataclasses.replace(PANDAS, densities={"mw_star": 6.0e4})
GRID = 3
PIXEL_SCALE = PANDAS.arcsec_per_pixel * u.arcsec / u.pix
#: Everything but the PSF variation fixed, so that the measurement sees only it.
FIXED = dict(
    seeing=(0.7, 0.7), seeing_median=0.7, kolmogorov_fraction=0.0, beta=(3.0, 3.0),
    ellipticity=(0.0, 0.0), halo_probability=0.0, hard_negatives=False,
    correlated_noise_probability=0.0, astrometric_error=0.0, sky_residual=(0.0, 0.0),
    oversubtraction=(0.0, 0.0),
)  # fmt: skip


def header_variation(header):
    return PSFVariation(
        header["PSFVAR"], header["PSFVARAN"], header["PSFEGRAD"], header["PSFEGRAN"],
        header["PSFEGROR"],
    )  # fmt: skip


def zone_measurements(image):
    """Centre ``(x, y)``, FWHM (arcsec) and ellipticity vector of each zone's PSF."""
    data = image.data
    ny, nx = data.shape
    y_edges = np.linspace(0, ny, GRID + 1).astype(int)
    x_edges = np.linspace(0, nx, GRID + 1).astype(int)
    rows = []
    for iy in range(GRID):
        for ix in range(GRID):
            sub = data[y_edges[iy] : y_edges[iy + 1], x_edges[ix] : x_edges[ix + 1]]
            psf = measure_psf(sub, pixel_scale=PIXEL_SCALE)
            assert psf.n_stars >= 8
            angle = 2.0 * math.radians(psf.theta.value)
            rows.append(
                (
                    0.5 * (x_edges[ix] + x_edges[ix + 1] - 1),
                    0.5 * (y_edges[iy] + y_edges[iy + 1] - 1),
                    psf.fwhm.value,
                    psf.ellipticity * math.cos(angle),
                    psf.ellipticity * math.sin(angle),
                )
            )
    return np.array(rows)


@pytest.fixture(scope="module")
def varying_field():
    randomize = DomainRandomization(
        **FIXED, psf_variation=(0.15, 0.15), psf_ellipticity_gradient=(0.05, 0.05)
    )
    return simulate_field(
        size=1200, seed=5, kinds=("mw_star",), disc_light=False, config=STARS,
        randomize=randomize,
    )  # fmt: skip


@pytest.mark.parametrize("band", ["g", "i"])
def test_fwhm_gradient_measured(varying_field, band):
    """The FWHMs measured zone by zone follow the drawn plane (size and direction)."""
    image = varying_field.images[band]
    header = image.header
    variation = header_variation(header)
    assert variation.fwhm_change == 0.15 and variation.ellipticity_change == 0.05
    zones = zone_measurements(image)
    x, y, fwhm = zones[:, 0], zones[:, 1], zones[:, 2]
    drawn, _ = variation.at(x, y, fwhm=header["FWHM"], shape=PSFShape(), image_shape=image.shape)
    # Each zone's FWHM is the drawn one at its centre, to 4 % (the stars of one zone).
    assert np.allclose(fwhm, drawn, rtol=0.04)
    assert np.median(np.abs(fwhm / drawn - 1.0)) < 0.015
    # A plane fitted to the measurements has the drawn gradient.
    design = np.column_stack([np.ones_like(x), x, y])
    measured = np.linalg.lstsq(design, fwhm, rcond=None)[0][1:]
    expected = np.linalg.lstsq(design, drawn, rcond=None)[0][1:]
    assert np.hypot(*measured) == pytest.approx(np.hypot(*expected), rel=0.2)
    cos = measured @ expected / (np.hypot(*measured) * np.hypot(*expected))
    assert math.degrees(math.acos(min(cos, 1.0))) < 12.0
    # The FWHM changes across the field by about the drawn fraction of the centre's.
    spread = (fwhm.max() - fwhm.min()) / header["FWHM"]
    assert spread == pytest.approx((drawn.max() - drawn.min()) / header["FWHM"], abs=0.03)


@pytest.mark.parametrize("band", ["g", "i"])
def test_ellipticity_gradient_measured(varying_field, band):
    """The PSF's ellipticity vector changes across the field as drawn."""
    image = varying_field.images[band]
    header = image.header
    variation = header_variation(header)
    zones = zone_measurements(image)
    _, shapes = variation.at(
        zones[:, 0], zones[:, 1], fwhm=header["FWHM"], shape=PSFShape(), image_shape=image.shape
    )
    e1 = np.array([s.ellipticity * math.cos(2 * math.radians(s.angle)) for s in shapes])
    e2 = np.array([s.ellipticity * math.sin(2 * math.radians(s.angle)) for s in shapes])
    assert np.abs(zones[:, 3] - e1).max() < 0.012
    assert np.abs(zones[:, 4] - e2).max() < 0.012
    # Opposite zones differ by most of the drawn change (2/3 of it between zone centres).
    change = np.hypot(np.ptp(zones[:, 3]), np.ptp(zones[:, 4]))
    assert 0.5 * 0.05 < change < 1.3 * 0.05


def test_each_star_has_the_local_fwhm():
    """Noise-free: each isolated star's fitted FWHM is the variation's at its position."""
    randomize = DomainRandomization(**FIXED, psf_variation=(0.15, 0.15))
    field = simulate_field(
        size=800, seed=5, kinds=("mw_star",), disc_light=False, config=STARS, noise=False,
        randomize=randomize,
    )  # fmt: skip
    image = field.images["i"]
    variation = header_variation(image.header)
    truth = field.truth
    x, y, mag = (np.asarray(truth[key]) for key in ("x", "y", "mag_i"))
    fitted, drawn = [], []
    for k in np.flatnonzero((mag > 17.0) & (mag < 21.0)):
        if not (20 < x[k] < 780 and 20 < y[k] < 780):
            continue
        near = np.hypot(x - x[k], y - y[k]) < 25
        near[k] = False
        if np.any(mag[near] < mag[k] + 7.0):
            continue
        fitted.append(fit_moffat(image.data, x[k], y[k])["fwhm"] * PANDAS.arcsec_per_pixel)
        fwhm, _ = variation.at(x[k], y[k], fwhm=0.7, shape=PSFShape(), image_shape=image.shape)
        drawn.append(float(fwhm))
    ratio = np.array(fitted) / np.array(drawn)
    assert ratio.size >= 20
    assert np.abs(ratio - 1.0).max() < 0.01
    assert np.ptp(drawn) > 0.05  # the stars span most of the change


def test_variation_recorded_and_centre_unchanged(varying_field):
    header = varying_field.images["g"].header
    assert header["FWHM"] == 0.7 and header["PSFELL"] == 0.0
    meta = varying_field.truth.meta["psf_variation"]
    assert meta["g"]["fwhm_change"] == 0.15 and meta["i"]["ellipticity_change"] == 0.05
    assert meta["g"]["fwhm_angle"] == header["PSFVARAN"]


def test_no_variation_by_default():
    """Without the option (or without randomisation) the PSF is the same everywhere."""
    plain = simulate_field(size=64, seed=3, kinds=("mw_star",))
    randomized = simulate_field(size=64, seed=3, kinds=("mw_star",), randomize=True)
    for field in (plain, randomized):
        header = field.images["g"].header
        assert header["PSFVAR"] == 0.0 and header["PSFEGRAD"] == 0.0
        assert field.truth.meta["psf_variation"]["i"]["fwhm_change"] == 0.0
    conditions = draw_conditions(DomainRandomization(), PANDAS, np.random.default_rng(0))
    assert conditions.psf_variation == {}


def test_variation_leaves_other_draws_unchanged():
    """Turning the variation on changes the PSF only: same objects, same other draws."""
    kwargs = dict(size=256, seed=9, kinds=("mw_star",), disc_light=False, noise=False)
    off = simulate_field(**kwargs, randomize=DomainRandomization(**FIXED))
    on = simulate_field(**kwargs, randomize=DomainRandomization(**FIXED, psf_variation=(0.2, 0.2)))
    assert np.array_equal(off.truth["x"], on.truth["x"])
    for band in ("g", "i"):
        a, b = off.images[band], on.images[band]
        assert a.header["FWHM"] == b.header["FWHM"] and a.header["SKYSIG"] == b.header["SKYSIG"]
        assert not np.array_equal(a.data, b.data)
        # Flux is conserved: only where it lands changes.
        assert b.data.sum() == pytest.approx(a.data.sum(), rel=1e-3)


def test_varying_field_reproducible_and_block_independent():
    randomize = DomainRandomization(psf_variation=(0.1, 0.15), psf_ellipticity_gradient=(0.0, 0.04))
    kwargs = dict(size=300, seed=12, randomize=randomize)
    one = simulate_field(**kwargs)
    assert one.images["i"].header["PSFVAR"] > 0
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_field(tmp, block_size=128, **kwargs)
        for band in ("g", "i"):
            assert np.array_equal(fits.getdata(paths[band]), one.images[band].data)


def test_draws_cover_the_ranges():
    randomize = DomainRandomization(psf_variation=(0.05, 0.15), psf_ellipticity_gradient=(0, 0.04))
    rng = np.random.default_rng(1)
    draws = [draw_conditions(randomize, PANDAS, rng).psf_variation for _ in range(200)]
    changes = np.array([d[band].fwhm_change for d in draws for band in ("g", "i")])
    assert 0.05 <= changes.min() < 0.06 and 0.14 < changes.max() <= 0.15
    angles = np.array([d["g"].fwhm_angle for d in draws])
    assert angles.min() < 30 and angles.max() > 330
    # Each band draws its own pattern.
    assert np.mean([d["g"].fwhm_angle != d["i"].fwhm_angle for d in draws]) == 1.0


def test_varying_psf_nodes_and_interpolation():
    """At a node a star gets that node's PSF; between nodes a unit-flux weighted mean."""
    variation = PSFVariation(fwhm_change=0.15, fwhm_angle=0.0)
    psf = VaryingPSF(3.8, PSFShape(), variation, (100, 200))
    assert variation.nodes == 3 and len(psf.nodes) == 9
    widths = [node.fwhm for node in psf.nodes[:3]]
    assert widths == pytest.approx([3.8 * 0.925, 3.8, 3.8 * 1.075])
    at_node = psf.stamp(-0.5, -0.5, 0.0, 0.0, 12)
    assert np.array_equal(at_node, psf.nodes[0].stamp(0.0, 0.0, 12))
    index, weight = psf.weights([49.5, 250.0], [49.5, -10.0])
    assert np.allclose(weight.sum(axis=1), 1.0)
    assert set(index[1][weight[1] > 0]) == {2}  # off the image: the nearest edge's PSF
    middle = psf.stamp(49.5, 49.5, 0.0, 0.0, 12)
    assert middle.sum() == pytest.approx(1.0)
    assert psf.nodes[0].stamp(0, 0, 12).max() > middle.max() > psf.nodes[1].stamp(0, 0, 12).max()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"fwhm_change": 0.4}, ValueError, r"fwhm_change must lie in \[0, 0.3\]"),
        ({"ellipticity_change": -0.1}, ValueError, r"ellipticity_change must lie in"),
        ({"fwhm_change": "big"}, TypeError, "fwhm_change must be a number"),
        ({"fwhm_angle": float("inf")}, ValueError, "fwhm_angle must be finite"),
        ({"ellipticity_orientation": None}, TypeError, "ellipticity_orientation must be a"),
    ],
)
def test_bad_psf_variation(kwargs, error, match):
    with pytest.raises(error, match=match):
        PSFVariation(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"psf_variation": (0.1, 0.5)}, ValueError, "psf_variation must satisfy"),
        ({"psf_variation": 0.1}, TypeError, "psf_variation must be a pair"),
        ({"psf_ellipticity_gradient": (0.1, 0.0)}, ValueError, "psf_ellipticity_gradient must"),
    ],
)
def test_bad_domain_randomization(kwargs, error, match):
    with pytest.raises(error, match=match):
        DomainRandomization(**kwargs)


def test_memory_estimate_counts_the_node_psfs(monkeypatch):
    """The memory check counts the node PSFs of a varying PSF, and refuses what cannot fit."""
    import clusterfinder.simulate._limits as limits

    widest = DomainRandomization(seeing=(0.45, 1.0), psf_variation=(0.0, 0.3))
    monkeypatch.setattr(limits, "available_memory", lambda: 700 << 20)
    limits.check_simulation_limits("simulate_field", 512, PANDAS, randomize=DomainRandomization())
    with pytest.raises(ValueError, match=r"\(varying PSF of band '[gi]': [\d.]+ [GM]iB"):
        limits.check_simulation_limits("simulate_field", 512, PANDAS, randomize=widest)
    # 9 nodes, each a table and a library of small stamps, 1.15 times as wide as the centre.
    one = limits.estimate_psf_table_bytes(3.6, PSFShape()) // 3
    assert limits._varying_psf_bytes(3.6, PSFShape(), 0.3) > 9 * one
