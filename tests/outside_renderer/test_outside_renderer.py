"""Tests of the GalSim-based outside renderer, by measurement on the rendered files.

The PSF width, photometry, noise and grids are measured on the images with photutils
and simple fits, and compared with the headers and the truth table; the numbers of
objects are compared with the published densities the renderer is meant to follow.
"""

import ast
import filecmp
import os
import re
from pathlib import Path

import numpy as np
import pytest

galsim = pytest.importorskip("galsim")
pytest.importorskip("photutils")

import astropy.units as u  # noqa: E402
from astropy.coordinates import SkyCoord  # noqa: E402
from astropy.io import fits  # noqa: E402
from astropy.stats import SigmaClip, mad_std  # noqa: E402
from astropy.table import QTable  # noqa: E402
from astropy.wcs import WCS  # noqa: E402
from photutils.aperture import (  # noqa: E402
    ApertureStats,
    CircularAnnulus,
    CircularAperture,
    aperture_photometry,
)
from photutils.psf import MoffatPSF  # noqa: E402
from scipy.optimize import least_squares  # noqa: E402

import clusterfinder.outside_renderer as outside  # noqa: E402
from clusterfinder.galaxy import M31  # noqa: E402
from clusterfinder.outside_renderer import OutsideField, render_outside_field  # noqa: E402
from clusterfinder.outside_renderer.population import draw_population  # noqa: E402

PIXEL = 0.186  # arcsec
SIZE = 1024
KINDS = {"mw_star", "m31_star", "asterism", "young_cluster", "old_cluster", "galaxy", "hii_region"}


# ----------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def kolmogorov_field(tmp_path_factory):
    """A 1024-pixel field with a Kolmogorov PSF of fixed seeing (all seven kinds on it)."""
    fwhm = {"g": 0.75 * u.arcsec, "i": 0.65 * u.arcsec}
    folder = tmp_path_factory.mktemp("kolmogorov")
    return render_outside_field(folder, size=SIZE, seed=4, fwhm=fwhm, psf_family="kolmogorov")


@pytest.fixture(scope="module")
def moffat_field(tmp_path_factory):
    """A 1024-pixel field with a Moffat PSF of random seeing."""
    folder = tmp_path_factory.mktemp("moffat")
    return render_outside_field(folder, size=SIZE, seed=6, psf_family="moffat")


def _load(field, band):
    with fits.open(field.images[band]) as hdul:
        return hdul[0].data.astype(float), hdul[0].header.copy()


def _isolated_stars(truth, wcs, *, bright=17.5, faint=21.0, radius=6.0, edge=50):
    """Indices of unsaturated stars with no object less than 5 mag fainter within ``radius``."""
    x, y = wcs.world_to_pixel(truth["coord"])
    mag = np.asarray(truth["mag_g"])
    stars = np.isin(truth["kind"], ["mw_star", "m31_star"]) & (mag > bright) & (mag < faint)
    chosen = []
    for k in np.flatnonzero(stars):
        if not (edge < x[k] < SIZE - 1 - edge and edge < y[k] < SIZE - 1 - edge):
            continue
        distance = np.hypot(x - x[k], y - y[k]) * PIXEL
        if not np.any((distance > 0) & (distance < radius) & (mag < mag[k] + 5)):
            chosen.append(k)
    return np.array(chosen)


def _fit_moffat(image, x, y, half=10, sub=5):
    """Fit a pixel-integrated circular Moffat plus a constant around ``x, y``.

    Returns the FWHM (pixels) and the fitted centre (pixels).
    """
    ix, iy = round(x), round(y)
    cut = image[iy - half : iy + half + 1, ix - half : ix + half + 1]
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    ox, oy = np.meshgrid(offsets, offsets)
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    sx = (xx[..., None] + ox.ravel()).ravel()
    sy = (yy[..., None] + oy.ravel()).ravel()
    profile = MoffatPSF()

    def residual(p):
        flux, x0, y0, alpha, beta, sky = p
        model = profile.evaluate(sx, sy, flux, x0, y0, alpha, beta)
        return (model.reshape((*cut.shape, sub * sub)).mean(axis=-1) + sky - cut).ravel()

    start = [cut.sum(), x - ix, y - iy, 2.0, 3.0, np.median(cut)]
    low = [0, -3, -3, 0.1, 1.01, -np.inf]
    high = [np.inf, 3, 3, 50, 50, np.inf]
    _, x0, y0, alpha, beta, _ = least_squares(residual, start, bounds=(low, high)).x
    return 2 * alpha * np.sqrt(2 ** (1 / beta) - 1), (ix + x0, iy + y0)


# ----------------------------------------------------------------- (a) PSF width


@pytest.mark.parametrize("which", ["kolmogorov_field", "moffat_field"])
def test_measured_fwhm_matches_header(which, request):
    field = request.getfixturevalue(which)
    family = which.split("_")[0]
    for band in ("g", "i"):
        image, header = _load(field, band)
        wcs = WCS(header)
        stars = _isolated_stars(field.truth, wcs)
        assert len(stars) >= 3
        x, y = wcs.world_to_pixel(field.truth["coord"][stars])
        widths = [_fit_moffat(image, xk, yk)[0] * PIXEL for xk, yk in zip(x, y, strict=True)]
        measured = float(np.median(widths))
        print(f"{family} {band}: measured FWHM {measured:.3f}, header {header['FWHM']:.3f}")
        assert measured == pytest.approx(header["FWHM"], rel=0.05)
        assert header["PSFTYPE"] == family
        assert ("BETA" in header) == (family == "moffat")
        assert 0 <= header["PSFELL"] <= 0.1
    # The seeing asked for is the one in the header.
    if family == "kolmogorov":
        assert field.psf["g"]["fwhm_arcsec"] == pytest.approx(0.75, rel=0.02)
        assert field.psf["i"]["fwhm_arcsec"] == pytest.approx(0.65, rel=0.02)
    else:  # drawn at random: i within 0.45-1.0", g worse but at most 1.05"
        assert 0.45 <= field.psf["i"]["fwhm_arcsec"] <= 1.0 * 1.02
        assert field.psf["i"]["fwhm_arcsec"] < field.psf["g"]["fwhm_arcsec"] <= 1.05 * 1.02


# ------------------------------------------------------------- (b) photometry


@pytest.mark.parametrize("which", ["kolmogorov_field", "moffat_field"])
def test_aperture_photometry_matches_truth(which, request):
    field = request.getfixturevalue(which)
    for band in ("g", "i"):
        image, header = _load(field, band)
        wcs = WCS(header)
        stars = _isolated_stars(field.truth, wcs)
        xy = np.column_stack(wcs.world_to_pixel(field.truth["coord"][stars]))
        sky = ApertureStats(image, CircularAnnulus(xy, 30, 45), sigma_clip=SigmaClip(2.5)).mean
        radius = 2 * header["FWHM"] / PIXEL
        small = aperture_photometry(image, CircularAperture(xy, radius))["aperture_sum"]
        small = np.asarray(small) - sky * np.pi * radius**2
        big = aperture_photometry(image, CircularAperture(xy, 27))["aperture_sum"]  # 5"
        big = np.asarray(big) - sky * np.pi * 27**2
        truth = np.asarray(field.truth[f"mag_{band}"][stars])
        brightest = np.argsort(truth)[:3]
        correction = np.median(big[brightest] / small[brightest])
        measured = header["PHOTZP"] - 2.5 * np.log10(small * correction)
        print(f"{which} {band}: measured - true mag {np.round(measured - truth, 3)}")
        np.testing.assert_array_less(np.abs(measured - truth), 0.05)


# ------------------------------------------------------------------ (c) noise


def test_noise_level_and_correlation(kolmogorov_field):
    truth = kolmogorov_field.truth
    for band in ("g", "i"):
        image, header = _load(kolmogorov_field, band)
        x, y = WCS(header).world_to_pixel(truth["coord"])
        radius = 1.5 + 1.2 * np.clip(24.5 - truth[f"mag_{band}"], 0, None)
        radius = (radius + 3 * truth["reff"].to_value(u.arcsec)) / PIXEL
        rows, cols = np.mgrid[:SIZE, :SIZE]
        masked = np.zeros((SIZE, SIZE), bool)
        for xk, yk, rk in zip(x, y, radius, strict=True):
            x0, x1 = int(max(xk - rk, 0)), int(min(xk + rk + 1, SIZE))
            y0, y1 = int(max(yk - rk, 0)), int(min(yk + rk + 1, SIZE))
            if x0 < x1 and y0 < y1:
                near = (cols[y0:y1, x0:x1] - xk) ** 2 + (rows[y0:y1, x0:x1] - yk) ** 2 < rk**2
                masked[y0:y1, x0:x1] |= near
        edge = 40  # objects beyond the edge are not in the truth table
        masked[:edge] = masked[-edge:] = True
        masked[:, :edge] = masked[:, -edge:] = True
        # In boxes of 64 pixels: the scatter of the empty pixels against the sky noise
        # plus the photon noise of the local (disc) light.
        ratios, sky_only = [], []
        residual = np.full(image.shape, np.nan)
        for y0 in range(edge, SIZE - edge - 63, 64):
            for x0 in range(edge, SIZE - edge - 63, 64):
                box = (slice(y0, y0 + 64), slice(x0, x0 + 64))
                empty = ~masked[box]
                if empty.sum() < 1000:
                    continue
                values = image[box][empty]
                level = np.median(values)
                expected = np.sqrt(header["SKYSIG"] ** 2 + max(level, 0) / header["GAIN"])
                ratios.append(mad_std(values) / expected)
                sky_only.append(mad_std(values) / header["SKYSIG"])
                residual[box] = np.where(empty, image[box] - level, np.nan)
        ratio = float(np.median(ratios))
        pairs = []
        for a, b in ((residual[:, :-1], residual[:, 1:]), (residual[:-1], residual[1:])):
            both = np.isfinite(a) & np.isfinite(b)
            pairs.append(float(np.corrcoef(a[both], b[both])[0, 1]))
        print(
            f"{band}: {len(ratios)} boxes, noise / expected {ratio:.3f} "
            f"(noise / SKYSIG {np.median(sky_only):.3f}), neighbour correlation x, y {pairs}"
        )
        assert len(ratios) > 50
        assert ratio == pytest.approx(1.0, abs=0.1)
        # White noise would give 0 +- 0.002 here.
        assert min(pairs) > 0.05


# ----------------------------------------------------------------- (d) grids


def test_i_grid_is_shifted_and_astrometry_is_close(moffat_field):
    images = {band: _load(moffat_field, band) for band in ("g", "i")}
    wcs = {band: WCS(header) for band, (_, header) in images.items()}
    # Same sky position, different pixel: a sub-pixel shift and nothing else.
    probe = SkyCoord(11.15 * u.deg, 41.75 * u.deg)
    shift = np.subtract(wcs["i"].world_to_pixel(probe), wcs["g"].world_to_pixel(probe))
    assert np.all((shift >= 0) & (shift < 1)) and np.hypot(*shift) > 0.05
    np.testing.assert_allclose(wcs["i"].wcs.cdelt, wcs["g"].wcs.cdelt)

    stars = _isolated_stars(moffat_field.truth, wcs["g"])
    truth = moffat_field.truth["coord"][stars]
    measured = {}
    for band, (image, _) in images.items():
        guess = np.column_stack(wcs[band].world_to_pixel(truth))
        centres = np.array([_fit_moffat(image, *xy)[1] for xy in guess])
        measured[band] = centres
    # Measured pixel offsets between the bands: the WCS shift plus the unknown error.
    offset = np.median(measured["i"] - measured["g"], axis=0)
    extra = np.hypot(*(offset - shift)) * PIXEL
    sky_g = wcs["g"].pixel_to_world(*measured["g"].T)
    sky_i = wcs["i"].pixel_to_world(*measured["i"].T)
    error_g = np.median(sky_g.separation(truth).arcsec)
    between = np.median(sky_i.separation(sky_g).arcsec)
    print(
        f'WCS shift {shift}, measured {offset} (off by {extra:.3f}"); '
        f'g vs truth {error_g:.3f}", i vs g {between:.3f}"'
    )
    assert error_g < 0.02
    assert extra < 0.12 and between < 0.12


# ------------------------------------------------------------- (e) determinism


def test_same_seed_same_files_and_different_seed_different(tmp_path):
    first = render_outside_field(tmp_path / "a", size=128, seed=7)
    second = render_outside_field(tmp_path / "b", size=128, seed=7)
    other = render_outside_field(tmp_path / "c", size=128, seed=8)
    for band in ("g", "i"):
        assert filecmp.cmp(first.images[band], second.images[band], shallow=False)
        assert not np.array_equal(
            fits.getdata(first.images[band]), fits.getdata(other.images[band])
        )
    assert filecmp.cmp(tmp_path / "a" / "truth.ecsv", tmp_path / "b" / "truth.ecsv", shallow=False)


def test_seeing_does_not_move_objects(tmp_path):
    sharp = render_outside_field(tmp_path / "a", size=64, seed=9, fwhm=0.5 * u.arcsec)
    soft = render_outside_field(tmp_path / "b", size=64, seed=9, fwhm=1.2 * u.arcsec)
    assert np.all(sharp.truth["coord"].separation(soft.truth["coord"]).arcsec < 1e-9)
    assert sharp.psf["g"]["fwhm_arcsec"] == pytest.approx(0.5, rel=0.02)
    assert soft.psf["i"]["fwhm_arcsec"] == pytest.approx(1.2, rel=0.02)


# ---------------------------------------------------------- (f) refused input


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"size": 0}, ValueError, "size .* at most 8192 .* got 0"),
        ({"size": 8193}, ValueError, "size .* got 8193"),
        ({"size": 64.0}, TypeError, "size must be a positive integer .* got 64.0"),
        ({"size": True}, TypeError, "size .* got True"),
        ({"seed": -1}, ValueError, "seed must be an integer >= 0; got -1"),
        ({"seed": 1.5}, TypeError, "seed .* got 1.5"),
        ({"psf_family": "gaussian"}, ValueError, "psf_family .* 'kolmogorov' .* got 'gaussian'"),
        ({"fwhm": 0.7}, TypeError, "fwhm must be an angle Quantity.* got 0.7"),
        ({"fwhm": 0.7 * u.m}, TypeError, "fwhm must be an angle Quantity.* got <Quantity 0.7 m>"),
        ({"fwhm": "best"}, ValueError, "fwhm must be .*\"random\"; got 'best'"),
        ({"fwhm": 2.5 * u.arcsec}, ValueError, "fwhm must lie within 0.3-2.0 arcsec; got 2.5"),
        ({"fwhm": {"g": 0.2 * u.arcsec, "i": 0.7 * u.arcsec}}, ValueError, "got 0.2 arcsec"),
        ({"fwhm": {"g": 0.7 * u.arcsec}}, ValueError, r"fwhm as a dict .* \['g', 'i'\]"),
        ({"center": "M31"}, TypeError, "center must be a scalar SkyCoord"),
        ({"center": SkyCoord([1, 2], [3, 4], unit="deg")}, ValueError, "center .* shape"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, options, error, message):
    with pytest.raises(error, match=message):
        render_outside_field(tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_bad_outdir_is_refused():
    with pytest.raises(TypeError, match="outdir must be a path"):
        render_outside_field(3)


def test_existing_files_are_kept_unless_overwrite(tmp_path):
    existing = tmp_path / "truth.ecsv"
    existing.write_text("keep me")
    with pytest.raises(FileExistsError, match=re.escape(str(existing))):
        render_outside_field(tmp_path, size=32)
    assert existing.read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["truth.ecsv"]
    field = render_outside_field(tmp_path, size=32, overwrite=True)
    # Written whole under temporary names, then renamed: nothing else is left.
    assert sorted(os.listdir(tmp_path)) == ["outside_g.fits", "outside_i.fits", "truth.ecsv"]
    assert QTable.read(existing).colnames == field.truth.colnames


# ---------------------------------------------------------- (g) the objects


def test_files_headers_and_truth(kolmogorov_field):
    field = kolmogorov_field
    assert isinstance(field, OutsideField)
    assert "OutsideField" in repr(field) and "young_cluster" in repr(field)
    assert {path.name for path in field.images.values()} == {"outside_g.fits", "outside_i.fits"}
    for band, gain in (("g", 50.0), ("i", 30.0)):
        image, header = _load(field, band)
        with fits.open(field.images[band]) as hdul:
            assert hdul[0].data.dtype == np.dtype(">f4")
        assert header["FILTER"] == band and header["PHOTZP"] == 30.0 and header["GAIN"] == gain
        assert re.fullmatch(r"clusterfinder outside renderer \(GalSim \d+\.\d+\)", header["ORIGIN"])
        assert WCS(header).wcs.ctype[0] == "RA---TAN"
        assert image.max() <= header["SATURATE"] * (1 + 1e-6)
        assert header["SKYSIG"] > 0
    truth = QTable.read(field.images["g"].parent / "truth.ecsv")
    assert truth.colnames == ["coord", "kind", "mag_g", "mag_i", "reff"]
    assert truth["reff"].unit == u.arcsec
    assert truth.meta["seed"] == 4
    assert truth.meta["fwhm"]["g"].to_value(u.arcsec) == pytest.approx(0.75, rel=0.02)
    assert truth.meta["psf"]["i"]["family"] == "kolmogorov"
    # Every object in the truth table lies on the image.
    x, y = WCS(fits.getheader(field.images["g"])).world_to_pixel(truth["coord"])
    assert np.all((x >= -0.5) & (x < SIZE - 0.5) & (y >= -0.5) & (y < SIZE - 0.5))


def test_every_kind_on_a_1024_pixel_field(kolmogorov_field):
    truth = kolmogorov_field.truth
    kinds = {str(kind) for kind in truth["kind"]}
    assert kinds == KINDS
    area = (SIZE * PIXEL / 3600) ** 2  # deg^2
    disc = np.exp(-(M31.deprojected_radius(truth["coord"]).to_value(u.kpc).mean() - 8) / 5.3)
    counts = {kind: int(np.sum(truth["kind"] == kind)) for kind in KINDS}
    print(counts)
    # Densities of the brief, deg^-2; the Milky Way star density is to g = 23.
    expected = {
        "m31_star": 3e5 * disc,
        "young_cluster": 5e3 * disc,
        "galaxy": 4.5e3,
    }
    for kind, density in expected.items():
        mean = density * area
        assert abs(counts[kind] - mean) < 4 * np.sqrt(mean) + 0.1 * mean, kind
    mw_to_23 = np.sum((truth["kind"] == "mw_star") & (truth["mag_g"] < 23))
    assert abs(mw_to_23 - 7.5e3 * area) < 4 * np.sqrt(7.5e3 * area)


def _population(size, seed=0):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [11.15, 41.75]
    wcs.wcs.crpix = [(size + 1) / 2] * 2
    wcs.wcs.cdelt = [-PIXEL / 3600, PIXEL / 3600]
    pop = draw_population(np.random.default_rng(seed), wcs=wcs, size=size, margin=0)
    return pop, wcs


def test_population_densities_magnitudes_and_colours():
    size = 4096
    pop, wcs = _population(size)
    area = (size * PIXEL / 3600) ** 2
    sky = wcs.pixel_to_world(*np.meshgrid(np.linspace(0, size, 9), np.linspace(0, size, 9)))
    disc = float(np.mean(np.exp(-(M31.deprojected_radius(sky).to_value(u.kpc) - 8) / 5.3)))
    mags = pop.magnitudes()
    g, colour = mags[:, 0], mags[:, 0] - mags[:, 1]
    density = {
        "m31_star": 3e5 * disc,
        "asterism": 1.5e3 * disc,
        "young_cluster": 5e3 * disc,
        "old_cluster": 150 * disc,
        "galaxy": 4.5e3,
        "hii_region": 1e3 * disc,
    }
    for kind, value in density.items():
        count = np.sum(pop.kind == kind)
        mean = value * area
        print(f"{kind}: {count} drawn, {mean:.1f} expected")
        assert abs(count - mean) < 4 * np.sqrt(mean) + 0.05 * mean, kind
    mw = pop.kind == "mw_star"
    assert abs(np.sum(mw & (g < 23)) - 7.5e3 * area) < 4 * np.sqrt(7.5e3 * area)
    assert g[mw].min() >= 13.5 and g[mw].max() <= 24
    assert np.all((colour[mw] >= 0.6) & (colour[mw] <= 3.0))
    # Resolved disc stars: g 19.5-26.5, luminosity function slope 0.3 dex/mag,
    # a quarter blue (g - i ~ -0.2) and the rest red (~1.5).
    m31 = pop.kind == "m31_star"
    assert g[m31].min() >= 19.5 and g[m31].max() <= 26.5
    faint = np.sum(m31 & (g > 25.5))
    brighter = np.sum(m31 & (g > 24.5) & (g <= 25.5))
    assert np.log10(faint / brighter) == pytest.approx(0.3, abs=0.05)
    assert np.mean(colour[m31] < 0.6) == pytest.approx(0.25, abs=0.03)
    old = pop.kind == "old_cluster"
    assert np.all((g[old] >= 15) & (g[old] <= 22.01))
    assert np.all((pop.reff[old] * 3.81 >= 1) & (pop.reff[old] * 3.81 <= 10))
    galaxies = pop.kind == "galaxy"
    assert g[galaxies].max() <= 25.5 and np.all(pop.reff[galaxies] <= 1.5)
    assert np.median(colour[pop.kind == "hii_region"]) == pytest.approx(-0.4, abs=0.1)
    # Young clusters: PHAT magnitudes and sizes, part of the light in resolved stars.
    young = np.flatnonzero(pop.kind == "young_cluster")
    assert 19 < np.median(g[young]) < 22.5
    assert np.all(pop.reff[young] > 0)
    members = np.isin(pop.point_owner, young)
    star_share = np.bincount(
        pop.point_owner[members], pop.point_flux[members, 0], minlength=len(pop)
    )[young] / 10 ** (-0.4 * (g[young] - 30))
    assert np.all(star_share <= 0.7 + 1e-9) and 0.2 < np.median(star_share) < 0.7


def test_renderer_does_not_use_the_training_simulator():
    folder = Path(outside.__file__).parent
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any("simulate" in name for name in names), source.name
