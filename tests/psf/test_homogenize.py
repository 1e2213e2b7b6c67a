"""PSF homogenisation: every stamp brought to one common seeing."""

import astropy.units as u
import numpy as np
import pytest

from clusterfinder import Cutout
from clusterfinder.psf import homogenize_psf

SCALE = 0.186 * u.arcsec / u.pix


def gaussian_stars(fwhm_arcsec, size=41, flux=1000.0):
    """One Gaussian star per FWHM, in band g, with its PSF column."""
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    sigma = np.asarray(fwhm_arcsec) / 2.3548 / SCALE.value
    data = np.exp(-(xx**2 + yy**2)[None] / (2 * sigma[:, None, None] ** 2))
    data *= flux / data.sum(axis=(1, 2), keepdims=True)
    stamps = Cutout(data[:, None].astype(np.float32), bands=("g",))
    stamps.table["psf_fwhm_g"] = np.asarray(fwhm_arcsec, dtype=float) * u.arcsec
    return stamps


def moment_fwhm(image):
    size = image.shape[0]
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    return 2.3548 * np.sqrt(np.sum(image * (xx**2 + yy**2)) / image.sum() / 2) * SCALE.value


def test_every_stamp_reaches_the_target_seeing():
    stamps = gaussian_stars([0.45, 0.6, 0.8, 1.0])
    out = homogenize_psf(stamps, 1.0 * u.arcsec, pixel_scale=SCALE)
    widths = [moment_fwhm(out.data[k, 0]) for k in range(len(out))]
    assert widths == pytest.approx([1.0] * 4, rel=0.02)
    assert out.data.sum(axis=(1, 2, 3)) == pytest.approx([1000.0] * 4, rel=1e-4)
    assert np.all(out.table["psf_fwhm_g"] == 1.0 * u.arcsec)
    assert np.array_equal(stamps.data[3], out.data[3])  # already at the target: untouched


def test_homogenize_refusals():
    stamps = gaussian_stars([0.5, 1.2])
    with pytest.raises(ValueError, match=r"1 stamp\(s\) have a g PSF of up to 1.200 arcsec"):
        homogenize_psf(stamps, 1.0 * u.arcsec, pixel_scale=SCALE)
    with pytest.raises(TypeError, match="target_fwhm must be an angle Quantity"):
        homogenize_psf(stamps, 1.0, pixel_scale=SCALE)
    with pytest.raises(ValueError, match="target_fwhm must be positive"):
        homogenize_psf(stamps, -1 * u.arcsec, pixel_scale=SCALE)
    stamps.table.remove_column("psf_fwhm_g")
    with pytest.raises(ValueError, match=r"lack the PSF columns \['psf_fwhm_g'\]"):
        homogenize_psf(stamps, 1.5 * u.arcsec, pixel_scale=SCALE)
    no_wcs = gaussian_stars([0.5])
    with pytest.raises(ValueError, match="carry no WCS: give pixel_scale="):
        homogenize_psf(no_wcs, 1.0 * u.arcsec)
    with pytest.raises(TypeError, match="pixel_scale must be an angle per pixel"):
        homogenize_psf(no_wcs, 1.0 * u.arcsec, pixel_scale=3 * u.m)


def test_pixel_scale_from_the_stamps_wcs():
    from clusterfinder.psf import attach_psf, measure_psf
    from clusterfinder.simulate import simulate_field

    field = simulate_field(size=512, seed=4, fwhm=0.6 * u.arcsec)
    stamps = Cutout.from_images(field.images, field.truth["coord"][:5], cutout_size=25)
    attach_psf(stamps, {band: measure_psf(image) for band, image in field.images.items()})
    wcs_scale = homogenize_psf(stamps, 0.9 * u.arcsec)
    given = homogenize_psf(stamps, 0.9 * u.arcsec, pixel_scale=SCALE)
    assert np.allclose(wcs_scale.data, given.data, atol=1e-3 * np.abs(given.data).max())
