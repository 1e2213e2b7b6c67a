"""Tests of clusterfinder.psf.measure_psf, by measuring images of known PSF."""

import functools
import json
import math
import tracemalloc

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS

from clusterfinder.images import ScaledPixels
from clusterfinder.psf import PSFMeasurement, PSFMeasurementWarning, measure_psf
from clusterfinder.simulate import simulate_field

SCALE = 0.186 * u.arcsec / u.pix
SPACING = 80  # pixels between the objects of a synthetic field


def moffat_star(half, fwhm, beta, *, ellipticity=0.0, theta=0.0, dx=0.0, dy=0.0, halo=0.0):
    """Unit-flux elliptical Moffat, integrated over the pixels (7 x 7 samples each).

    ``halo`` is the fraction of the flux in a round Gaussian of three times the FWHM.
    """
    n, oversample = 2 * half + 1, 7
    sub = (np.arange(n * oversample) + 0.5) / oversample - n / 2.0
    x, y = sub[None, :] - dx, sub[:, None] - dy
    cos, sin = math.cos(math.radians(theta)), math.sin(math.radians(theta))
    q = 1.0 - ellipticity
    r2 = (x * cos + y * sin) ** 2 * q + (y * cos - x * sin) ** 2 / q
    alpha = fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))
    image = (1.0 + r2 / alpha**2) ** -beta * (beta - 1.0) / (math.pi * alpha**2)
    if halo:
        sigma = 3.0 * fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
        gauss = np.exp(-r2 / (2.0 * sigma**2)) / (2.0 * math.pi * sigma**2)
        image = (1.0 - halo) * image + halo * gauss
    return image.reshape(n, oversample, n, oversample).mean(axis=(1, 3))


@functools.cache
def synthetic_field(fwhm, beta, *, ellipticity=0.0, theta=0.0, halo=0.0, clusters=8, seed=0):
    """Sky 100 + noise 10 + 40 isolated stars, broad "clusters" and close pairs of stars.

    Stars and clusters have fluxes of 1e4-1e5 (peaks 25-700 sigma); a cluster is a
    Moffat 1.6 times wider than the stars; the second star of a pair has 0.6 times the
    flux of the first and lies 1.5 FWHM to the right and 2.5 pixels up.
    """
    rng = np.random.default_rng(seed)
    shape = (640, 720)
    image = np.full(shape, 100.0)
    sites = [(y, x) for y in range(50, shape[0] - 40, SPACING) for x in range(50, 680, SPACING)]
    rng.shuffle(sites)
    half = int(8 * fwhm)
    shape_kw = dict(ellipticity=ellipticity, theta=theta)

    def add(y, x, flux, width, **kw):
        iy, ix = round(y), round(x)
        star = moffat_star(half, width, beta, dx=x - ix, dy=y - iy, **kw)
        image[iy - half : iy + half + 1, ix - half : ix + half + 1] += flux * star

    for k, (y, x) in enumerate(sites[: 40 + clusters + 4]):
        y, x = y + rng.uniform(-10, 10), x + rng.uniform(-10, 10)
        flux = 10 ** rng.uniform(4.0, 5.0)
        if k < 40:
            add(y, x, flux, fwhm, halo=halo, **shape_kw)
        elif k < 40 + clusters:
            add(y, x, flux, 1.6 * fwhm, **shape_kw)
        else:
            add(y, x, flux, fwhm, **shape_kw)
            add(y + 2.5, x + 1.5 * fwhm, 0.6 * flux, fwhm, **shape_kw)
    image += rng.normal(0.0, 10.0, shape)
    image.flags.writeable = False
    return image


def sky_wcs(scale=0.186):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.68, 41.27]
    wcs.wcs.crpix = [100, 100]
    wcs.wcs.cdelt = [-scale / 3600, scale / 3600]
    return wcs


# (a) Synthetic fields of known PSF


@pytest.mark.parametrize("fwhm, beta", [(3.0, 2.5), (3.0, 4.0), (5.0, 2.5), (5.0, 4.0)])
def test_fwhm_and_beta_of_moffat_stars(fwhm, beta):
    psf = measure_psf(synthetic_field(fwhm, beta), pixel_scale=SCALE)
    assert psf.source == "stars"
    assert abs(psf.fwhm_pix / fwhm - 1) < 0.04
    assert abs(psf.beta - beta) < 0.7
    assert psf.fwhm.unit == u.arcsec
    assert psf.fwhm.value == pytest.approx(psf.fwhm_pix * 0.186)
    # the stack holds most of the 40 stars (the faintest are under 30 sigma)
    assert 25 <= psf.n_stars <= 40
    assert psf.ellipticity < 0.02
    assert psf.stamp.shape == (25, 25) and psf.stamp.dtype == np.float64
    assert psf.stamp.sum() == pytest.approx(1.0)
    assert np.unravel_index(np.argmax(psf.stamp), psf.stamp.shape) == (12, 12)


def test_broad_objects_do_not_widen_the_psf():
    """With as many clusters as stars, the stellar locus is still the stars."""
    crowded = measure_psf(synthetic_field(3.0, 3.0, clusters=10, seed=5), pixel_scale=SCALE)
    psf = measure_psf(synthetic_field(3.0, 3.0, clusters=0, seed=5), pixel_scale=SCALE)
    assert abs(crowded.fwhm_pix / 3.0 - 1) < 0.04
    assert crowded.fwhm_pix == pytest.approx(psf.fwhm_pix, rel=0.01)


def test_elliptical_psf():
    psf = measure_psf(synthetic_field(3.0, 3.0, ellipticity=0.1, theta=30.0), pixel_scale=SCALE)
    assert abs(psf.ellipticity - 0.1) < 0.03
    assert abs(psf.theta.to_value(u.deg) - 30.0) < 10.0
    assert abs(psf.fwhm_pix / 3.0 - 1) < 0.04


def test_halo_raises_the_wing_fraction():
    plain = measure_psf(synthetic_field(4.0, 3.0, seed=3), pixel_scale=SCALE)
    halo = measure_psf(synthetic_field(4.0, 3.0, halo=0.05, seed=3), pixel_scale=SCALE)
    # A Moffat of beta 3 has 3.45 % of its light within 4 FWHM between 2 and 4 FWHM.
    assert plain.wing_fraction == pytest.approx(0.0345, abs=0.006)
    assert halo.wing_fraction > 1.2 * plain.wing_fraction
    assert halo.wing_fraction == pytest.approx(0.047, abs=0.006)


def test_mask_and_saturation_drop_stars():
    image = synthetic_field(3.0, 2.5)
    everything = measure_psf(image, pixel_scale=SCALE)
    mask = np.zeros(image.shape, dtype=bool)
    mask[:, : image.shape[1] // 2] = True
    left_out = measure_psf(image, pixel_scale=SCALE, mask=mask)
    assert left_out.n_stars < everything.n_stars
    with_nan = image.copy()
    with_nan[mask] = np.nan
    assert measure_psf(with_nan, pixel_scale=SCALE).n_stars == left_out.n_stars
    # Stars peaking above 0.7 x saturation are dropped: here the brightest ones.
    saturated = measure_psf(image, pixel_scale=SCALE, saturation=2000.0)
    assert saturated.n_stars < everything.n_stars
    assert abs(saturated.fwhm_pix / 3.0 - 1) < 0.04
    assert measure_psf(image, pixel_scale=SCALE, max_stars=10).n_stars == 10


def test_inputs_with_a_wcs(tmp_path):
    image = synthetic_field(3.0, 2.5)
    reference = measure_psf(image, pixel_scale=SCALE)
    hdu = fits.PrimaryHDU(image, header=sky_wcs().to_header())
    path = tmp_path / "field.fits"
    hdu.writeto(path)
    for source in (hdu, str(path), NDData(image, wcs=sky_wcs())):
        psf = measure_psf(source)
        assert psf.pixel_scale.to_value(u.arcsec / u.pix) == pytest.approx(0.186)
        assert (psf.fwhm_pix, psf.beta, psf.n_stars) == (
            reference.fwhm_pix,
            reference.beta,
            reference.n_stars,
        )
        np.testing.assert_array_equal(psf.stamp, reference.stamp)
    by_wcs = measure_psf(image, wcs=sky_wcs(0.5))
    assert by_wcs.fwhm.to_value(u.arcsec) == pytest.approx(0.5 * reference.fwhm_pix)


def test_scaled_integer_file_is_converted_once(tmp_path, monkeypatch):
    """A BSCALE/BZERO file is scaled to float32 once, not again by every read."""
    image = synthetic_field(3.0, 2.5)
    raw = np.clip(np.round((image - 50.0) / 0.25), -32768, 32767).astype(np.int16)
    values = (50.0 + 0.25 * raw.astype(np.float64)).astype(np.float32)
    scaled_path, float_path = tmp_path / "scaled.fits", tmp_path / "float.fits"
    hdu = fits.PrimaryHDU(values.copy(), header=sky_wcs().to_header())
    hdu.scale("int16", bscale=0.25, bzero=50.0)
    hdu.writeto(scaled_path)
    fits.PrimaryHDU(values, header=sky_wcs().to_header()).writeto(float_path)
    with fits.open(scaled_path, do_not_scale_image_data=True) as hdul:
        assert hdul[0].header["BITPIX"] == 16 and hdul[0].header["BSCALE"] == 0.25
        np.testing.assert_array_equal(hdul[0].data, raw)

    converted = []
    scale = ScaledPixels.scale

    def counting(self, raw):
        converted.append(np.asarray(raw).size)
        return scale(self, raw)

    monkeypatch.setattr(ScaledPixels, "scale", counting)
    tracemalloc.start()
    try:
        psf = measure_psf(str(scaled_path))
        scaled_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        reference = measure_psf(str(float_path))
        float_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(converted) == raw.size  # every pixel scaled exactly once
    assert psf == reference  # the same pixels, the same measurement
    # Memory: that of the float32 file plus one float32 copy of the image.
    assert scaled_peak < float_peak + 1.25 * 4 * raw.size


# (b) Simulated survey fields


@pytest.mark.parametrize("seeing, seed", [(0.5, 11), (0.7, 12), (0.95, 13)])
def test_simulated_fields(seeing, seed):
    field = simulate_field(size=1024, seed=seed, fwhm=seeing * u.arcsec)
    image = field.images["g"]
    assert image.header["FWHM"] == seeing
    psf = measure_psf(image)
    assert psf.source == "stars"
    assert psf.n_stars >= 5
    assert abs(psf.fwhm.to_value(u.arcsec) / seeing - 1) < 0.05
    assert abs(psf.beta - image.header["BETA"]) < 0.7
    assert psf.ellipticity < 0.05


# (c) Fallback, bad input, serialisation and the model


def two_stars(header=None):
    image = np.random.default_rng(2).normal(0.0, 1.0, (200, 200))
    for y, x in ((60, 70), (140, 120)):
        image[y - 20 : y + 21, x - 20 : x + 21] += 5e4 * moffat_star(20, 4.0, 3.0)
    return fits.PrimaryHDU(image, header=header)


def test_fallback_to_the_header_seeing(tmp_path):
    header = sky_wcs().to_header()
    header["FWHM"] = (0.8, "arcsec")
    path = tmp_path / "sparse.fits"
    two_stars(header).writeto(path)
    with pytest.warns(PSFMeasurementWarning, match=r"sparse.fits.*2 usable.*5 needed.*0.8"):
        psf = measure_psf(path, size=31)
    assert psf.source == "header"
    assert psf.fwhm == 0.8 * u.arcsec
    assert psf.fwhm_pix == pytest.approx(0.8 / 0.186)
    assert (psf.beta, psf.ellipticity, psf.n_stars) == (3.0, 0.0, 0)
    assert math.isnan(psf.wing_fraction)
    np.testing.assert_allclose(psf.stamp, psf.model_stamp(31))
    # With min_stars=2 the same stars are enough.
    assert measure_psf(path, min_stars=2).source == "stars"


def test_no_stars_and_no_header_seeing():
    with pytest.raises(ValueError, match=r"cannot be measured: 2 usable.*header keyword FWHM"):
        measure_psf(two_stars(), pixel_scale=SCALE)
    noise = np.random.default_rng(0).normal(0.0, 1.0, (100, 100))
    with pytest.raises(ValueError, match=r"cannot be measured: 0 usable star"):
        measure_psf(noise, pixel_scale=SCALE)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(size=24), ValueError, r"size must be odd.*24"),
        (dict(size=7), ValueError, r"size must be at least 9.*7"),
        (dict(size=25.0), TypeError, r"size must be an integer.*25.0"),
        (dict(min_stars=0), ValueError, r"min_stars must be at least 1.*0"),
        (dict(min_stars=10, max_stars=5), ValueError, r"max_stars \(5\).*min_stars \(10\)"),
        (dict(pixel_scale=0.186), TypeError, r"pixel_scale must be .*angle per pixel.*0.186"),
        (dict(pixel_scale=0.186 * u.arcsec), TypeError, r"pixel_scale .*0.186 arcsec"),
        (dict(pixel_scale=-SCALE), ValueError, r"pixel_scale must be positive"),
        (dict(pixel_scale=SCALE, saturation=-1), ValueError, r"saturation must be positive"),
        (dict(pixel_scale=SCALE, mask=np.zeros((3, 3))), ValueError, r"mask has shape \(3, 3\)"),
        (dict(wcs="0.186"), TypeError, r"wcs must be an astropy.wcs.WCS; got str"),
        (dict(), TypeError, r"no celestial WCS \(and no wcs= was given\): give pixel_scale="),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        measure_psf(np.zeros((50, 50)), **kwargs)


def test_bad_images():
    with pytest.raises(ValueError, match=r"image must be a 2-d image; got .* shape \(4, 5, 6\)"):
        measure_psf(np.zeros((4, 5, 6)), pixel_scale=SCALE)
    with pytest.raises(ValueError, match=r"has no finite, unmasked pixel"):
        measure_psf(np.full((50, 50), np.nan), pixel_scale=SCALE)
    with pytest.raises(TypeError, match=r"image must be a FITS path.*got list"):
        measure_psf([[1.0, 2.0]], pixel_scale=SCALE)


def test_dict_round_trip():
    psf = measure_psf(synthetic_field(3.0, 2.5), pixel_scale=SCALE)
    data = json.loads(json.dumps(psf.to_dict(), allow_nan=False))
    assert data["fwhm_arcsec"] == pytest.approx(psf.fwhm_pix * 0.186)
    again = PSFMeasurement.from_dict(data)
    assert again == psf
    np.testing.assert_array_equal(again.stamp, psf.stamp)
    assert again.theta == psf.theta and again.pixel_scale == psf.pixel_scale
    with pytest.warns(PSFMeasurementWarning):
        header_psf = measure_psf(two_stars(fits.Header({"SEEING": 0.9})), pixel_scale=SCALE)
    data = json.loads(json.dumps(header_psf.to_dict(), allow_nan=False))
    assert data["wing_fraction"] is None
    assert PSFMeasurement.from_dict(data) == header_psf
    del data["stamp"]
    with pytest.raises(ValueError, match=r"lacks the keys \['stamp'\]"):
        PSFMeasurement.from_dict(data)


def test_model_stamp_has_the_measured_psf():
    """Stars drawn from a measurement's model measure back to the same PSF."""
    truth = PSFMeasurement.from_dict(
        {
            "fwhm_arcsec": 0.186 * 4.2,
            "fwhm_pix": 4.2,
            "beta": 3.5,
            "ellipticity": 0.1,
            "theta_deg": 120.0,
            "wing_fraction": None,
            "n_stars": 0,
            "pixel_scale_arcsec": 0.186,
            "source": "header",
            "stamp": np.full((9, 9), 1 / 81).tolist(),
        }
    )
    model = truth.model_stamp(41)
    assert model.shape == (41, 41) and model.sum() == pytest.approx(1.0)
    assert np.unravel_index(np.argmax(model), model.shape) == (20, 20)
    image = np.random.default_rng(4).normal(0.0, 1.0, (400, 400))
    for y in range(40, 380, 60):
        for x in range(40, 380, 60):
            image[y - 20 : y + 21, x - 20 : x + 21] += 3e4 * model
    psf = measure_psf(image, pixel_scale=SCALE)
    assert psf.n_stars == 36
    assert psf.fwhm_pix == pytest.approx(4.2, rel=0.02)
    assert psf.beta == pytest.approx(3.5, abs=0.3)
    assert psf.ellipticity == pytest.approx(0.1, abs=0.02)
    assert psf.theta.to_value(u.deg) == pytest.approx(120.0, abs=5.0)
    with pytest.raises(ValueError, match=r"size must be odd.*40"):
        truth.model_stamp(40)


def test_measurement_checks_its_fields():
    good = dict(
        fwhm=0.7 * u.arcsec,
        fwhm_pix=3.76,
        beta=3.0,
        ellipticity=0.0,
        theta=0 * u.deg,
        wing_fraction=0.03,
        n_stars=10,
        pixel_scale=SCALE,
        stamp=np.full((9, 9), 1 / 81),
    )
    psf = PSFMeasurement(**good)
    assert psf.source == "stars"
    with pytest.raises(AttributeError):
        psf.beta = 2.0
    with pytest.raises(ValueError, match="read-only"):
        psf.stamp[0, 0] = 1.0
    with pytest.raises(ValueError, match=r"square image of odd side; got shape \(8, 8\)"):
        PSFMeasurement(**{**good, "stamp": np.ones((8, 8))})
    with pytest.raises(ValueError, match=r"source must be 'stars' or 'header'"):
        PSFMeasurement(**good, source="guess")
    with pytest.raises(TypeError, match="angle Quantities"):
        PSFMeasurement(**{**good, "fwhm": 0.7 * u.m})
