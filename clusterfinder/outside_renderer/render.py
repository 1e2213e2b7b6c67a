"""Pixels of an outside-rendered field: images, noise and files.

This module belongs to `clusterfinder.outside_renderer`, a renderer of PAndAS-like
*g*/*i* fields written independently of `clusterfinder.simulate`. It exists to test
models on a rendering they were not trained on. It must never be used to train the
bundled models.

`render_outside_field` draws the objects of `~.population.draw_population` through the
PSFs of `~.psf.draw_psfs` and writes two FITS images and a truth table:

- point sources come from pixel-integrated PSF stamps at their sub-pixel position
  (`~.psf.PointStamps`); smooth objects are convolved with the PSF and drawn by GalSim;
- the smooth light of the M31 disc is added, and a faint large-scale pattern such as
  sky subtraction leaves;
- the *i* image lies on its own pixel grid, shifted from the *g* grid by a sub-pixel
  amount that its WCS knows, and its sources are off by an astrometric error of up to
  0.1 arcsec that its WCS does not know;
- the noise is that of a stack of resampled exposures: the sky noise (set by the
  5-sigma point-source depth, g 26.0 and i 25.3 AB, varied by up to 0.3 mag per field)
  and the photon noise of the sources (Gaussian with the Poisson variance for a gain of
  50 e-/ADU in g and 30 in i) are drawn per exposure, interpolated with the bilinear
  weights of a random sub-pixel shift and summed, so that neighbouring pixels are
  correlated while each pixel keeps its variance;
- pixels are clipped at the peak of a 17 mag star.
"""

import numbers
import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import galsim
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS
from scipy.interpolate import RectBivariateSpline

from ..utils import progress_bar as _progress
from .population import BANDS, ZEROPOINT, disc_surface_brightness, draw_population
from .psf import PIXEL_SCALE, PSF_FAMILIES, STAMP_RADIUS, PointStamps, draw_psfs

__all__ = ["OutsideField", "render_outside_field"]

MAX_SIZE = 8192
DEFAULT_CENTER = SkyCoord(11.15 * u.deg, 41.75 * u.deg, frame="icrs")
#: Nominal 5-sigma point-source depth (AB) and gain (e-/ADU) per band.
DEPTH = {"g": 26.0, "i": 25.3}
GAIN = {"g": 50.0, "i": 30.0}
SATURATION_MAG = 17.0
FWHM_RANGE = (0.3, 2.0)  # arcsec
N_EXPOSURES = 3
MARGIN = 80  # pixels around the image in which objects are drawn too
MAX_ASTROMETRIC_ERROR = 0.1  # arcsec, i band


def _flux(mag):
    return 10.0 ** (-0.4 * (mag - ZEROPOINT))


# ------------------------------------------------------------------------ pixels


def _band_wcs(center, size, shift):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.crval = [center.ra.deg, center.dec.deg]
    wcs.wcs.crpix = [(size + 1) / 2 + shift[0], (size + 1) / 2 + shift[1]]
    wcs.wcs.cdelt = [-PIXEL_SCALE / 3600.0, PIXEL_SCALE / 3600.0]
    wcs.wcs.radesys = "ICRS"
    return wcs


def _disc_light(wcs, size, band):
    """The smooth light of the M31 disc, ADU per pixel, from a coarse grid of radii."""
    nodes = np.linspace(-0.5, size - 0.5, max(2, int(np.ceil(size / 64)) + 1))
    gx, gy = np.meshgrid(nodes, nodes)
    mu = np.minimum(disc_surface_brightness(wcs.pixel_to_world(gx, gy), band), 99.0)
    degree = min(3, len(nodes) - 1)
    spline = RectBivariateSpline(nodes, nodes, mu, kx=degree, ky=degree)
    pixels = np.arange(size, dtype=float)
    return _flux(spline(pixels, pixels)) * PIXEL_SCALE**2


def _draw_sky_residual(rng, rms):
    """The random terms of a sky-subtraction residual (see `_sky_residual`)."""
    return {
        "phase_x": rng.uniform(0, 2 * np.pi, 4),
        "phase_y": rng.uniform(0, 2 * np.pi, 4),
        "weights": rng.normal(size=(4, 4)),
        "rms": rms,
    }


def _sky_residual(terms, size):
    """A smooth large-scale pattern of zero mean, as left by sky subtraction.

    A sum of products of cosines of up to 1.5 periods across the image, scaled to the
    root-mean-square ``terms["rms"]``.
    """
    t = (np.arange(size) + 0.5) / size
    order = np.arange(4)
    basis_x = np.cos(np.pi * np.outer(t, order) + terms["phase_x"])
    basis_y = np.cos(np.pi * np.outer(t, order) + terms["phase_y"])
    pattern = basis_y @ terms["weights"] @ basis_x.T
    pattern -= pattern.mean()
    return pattern * (terms["rms"] / max(pattern.std(), 1e-12))


def _resampled_noise(rng, variance):
    """Noise of a stack of resampled exposures with per-pixel variance ``variance``.

    Each exposure's white noise is interpolated with the bilinear weights of a random
    sub-pixel shift; the sum is rescaled so that every pixel keeps ``variance``.
    """
    ny, nx = variance.shape
    sigma = np.sqrt(np.pad(variance, ((0, 1), (0, 1)), mode="edge")).astype(np.float32)
    noise = np.zeros(variance.shape)
    norm = 0.0
    for _ in range(N_EXPOSURES):
        ux, uy = rng.uniform(size=2)
        wx, wy = (1.0 - ux, ux), (1.0 - uy, uy)
        white = rng.standard_normal(sigma.shape, dtype=np.float32) * sigma
        for a in (0, 1):
            for b in (0, 1):
                noise += wy[a] * wx[b] * white[a : a + ny, b : b + nx]
        norm += (wx[0] ** 2 + wx[1] ** 2) * (wy[0] ** 2 + wy[1] ** 2)
    return noise / np.sqrt(norm)


def _add(image, stamp, ix, iy):
    """Add ``stamp`` (odd sides) to ``image`` centred on pixel ``ix, iy``, clipped at edges."""
    ry, rx = stamp.shape[0] // 2, stamp.shape[1] // 2
    ny, nx = image.shape
    y0, y1 = max(iy - ry, 0), min(iy + ry + 1, ny)
    x0, x1 = max(ix - rx, 0), min(ix + rx + 1, nx)
    if y0 < y1 and x0 < x1:
        image[y0:y1, x0:x1] += stamp[y0 - iy + ry : y1 - iy + ry, x0 - ix + rx : x1 - ix + rx]


def _render_band(band, pop, positions, psf, stamps, setup, rng, progress_bar):
    """The image of one band, float64, with its noise and saturation."""
    size = setup["size"]
    column = BANDS.index(band)
    image = np.zeros((size, size))
    px, py = positions["points"]
    for x, y, flux in zip(px, py, pop.point_flux[:, column], strict=True):
        ix, iy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        if -STAMP_RADIUS <= min(ix, iy) and max(ix, iy) < size + STAMP_RADIUS:
            _add(image, flux * stamps.stamp(x - ix, y - iy), ix, iy)
    bx, by = positions["blobs"]
    blobs = _progress(pop.blobs, enabled=progress_bar, desc=f"{band} extended", unit="object")
    for blob, x, y in zip(blobs, bx, by, strict=True):
        ix, iy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        source = galsim.Convolve(blob.profile.withFlux(blob.flux[column]), psf)
        side = min(max(2 * STAMP_RADIUS + 1, source.getGoodImageSize(PIXEL_SCALE)), 1024) | 1
        stamp = galsim.ImageF(side, side, scale=PIXEL_SCALE)
        source.drawImage(image=stamp, offset=(x - ix, y - iy), method="auto")
        _add(image, stamp.array, ix, iy)
    image += _disc_light(setup["wcs"][band], size, band)
    variance = setup["skysig"][band] ** 2 + np.clip(image, 0.0, None) / GAIN[band]
    image += _sky_residual(setup["residual"][band], size)
    image += _resampled_noise(rng, variance)
    return np.minimum(image, setup["saturate"][band])


# ------------------------------------------------------------------ field set-up


def _field_setup(rng, center, size, stamps):
    """Grids, depth, noise, saturation and sky residual of the two bands."""
    shift = rng.uniform(0.0, 1.0, 2)
    error = rng.uniform(0.0, MAX_ASTROMETRIC_ERROR) / PIXEL_SCALE
    error_angle = rng.uniform(0.0, 2 * np.pi)
    setup = {
        "size": size,
        "shift": shift,
        "error": error * np.array([np.cos(error_angle), np.sin(error_angle)]),
        "wcs": {"g": _band_wcs(center, size, (0.0, 0.0)), "i": _band_wcs(center, size, shift)},
        "depth": {band: DEPTH[band] + rng.uniform(-0.3, 0.3) for band in BANDS},
        "skysig": {},
        "saturate": {},
        "residual": {},
    }
    for band in BANDS:
        # A PSF fit to a star of the depth magnitude has a signal-to-noise ratio of 5:
        # S/N = F sqrt(sum p**2) / sigma for a PSF p normalised to unit sum.
        sharpness = np.sqrt(np.sum(stamps[band].stamp(0.0, 0.0) ** 2))
        skysig = float(_flux(setup["depth"][band]) * sharpness / 5.0)
        setup["skysig"][band] = skysig
        setup["saturate"][band] = float(_flux(SATURATION_MAG) * stamps[band].peak)
        setup["residual"][band] = _draw_sky_residual(rng, rng.uniform(0.1, 0.4) * skysig)
    return setup


def _band_positions(pop, setup):
    """Pixel positions of the point sources and blobs on the grid of each band."""
    blob_x = np.array([blob.x for blob in pop.blobs])
    blob_y = np.array([blob.y for blob in pop.blobs])
    on_g = {"points": (pop.point_x, pop.point_y), "blobs": (blob_x, blob_y)}
    on_i = {}
    for key, (x, y) in on_g.items():
        if len(x):
            sky = setup["wcs"]["g"].pixel_to_world(x, y)
            xi, yi = setup["wcs"]["i"].world_to_pixel(sky)
            x, y = xi + setup["error"][0], yi + setup["error"][1]
        on_i[key] = (x, y)
    return {"g": on_g, "i": on_i}


def _image_hdu(band, pixels, setup, description, origin):
    header = setup["wcs"][band].to_header()
    header["BUNIT"] = ("adu", "sky-subtracted counts")
    header["FILTER"] = (band, "band")
    header["PHOTZP"] = (ZEROPOINT, "AB = -2.5 log10(ADU) + PHOTZP")
    header["FWHM"] = (description["fwhm_arcsec"], "[arcsec] PSF FWHM (half-maximum area)")
    header["PSFTYPE"] = (description["family"], "shape of the PSF core")
    if "beta" in description:
        header["BETA"] = (description["beta"], "Moffat index of the PSF core")
    header["PSFELL"] = (description["ellipticity"], "PSF ellipticity (a2-b2)/(a2+b2)")
    header["GAIN"] = (GAIN[band], "[e-/ADU]")
    header["SATURATE"] = (setup["saturate"][band], "[ADU] pixels are clipped here")
    header["SKYSIG"] = (setup["skysig"][band], "[ADU] sky noise per pixel")
    header["MAGLIM"] = (setup["depth"][band], "[AB] 5-sigma point-source depth, sky")
    header["NCOMBINE"] = (N_EXPOSURES, "resampled exposures in the stack")
    header["ORIGIN"] = origin
    return fits.PrimaryHDU(pixels.astype(np.float32), header=header)


def _truth_table(pop, setup, descriptions, seed, origin):
    """The objects whose centre lies on the image, with the field's description."""
    size = setup["size"]
    on_image = (pop.x >= -0.5) & (pop.x < size - 0.5) & (pop.y >= -0.5) & (pop.y < size - 0.5)
    magnitudes = pop.magnitudes()[on_image]
    truth = QTable()
    truth["coord"] = setup["wcs"]["g"].pixel_to_world(pop.x[on_image], pop.y[on_image])
    truth["kind"] = pop.kind[on_image]
    truth["mag_g"] = magnitudes[:, 0]
    truth["mag_i"] = magnitudes[:, 1]
    truth["reff"] = pop.reff[on_image] * u.arcsec
    truth.meta = {
        "renderer": origin,
        "note": "for testing models only; never train on fields of this renderer",
        "seed": seed,
        "size": size,
        "pixel_scale": PIXEL_SCALE * u.arcsec,
        "fwhm": {band: descriptions[band]["fwhm_arcsec"] * u.arcsec for band in BANDS},
        "psf": descriptions,
        "depth": {band: float(setup["depth"][band]) for band in BANDS},
        "i_grid_shift_pix": [float(v) for v in setup["shift"]],
        "i_astrometric_error_pix": [float(v) for v in setup["error"]],
    }
    return truth


# ------------------------------------------------------------------------- input


def _check_fwhm(fwhm):
    """``{band: arcsec or None}`` from the ``fwhm`` argument (None: draw at random)."""
    expected = 'an angle Quantity, a dict band -> angle Quantity, or "random"'
    if isinstance(fwhm, str):
        if fwhm != "random":
            raise ValueError(f"fwhm must be {expected}; got {fwhm!r}")
        return dict.fromkeys(BANDS)
    if isinstance(fwhm, dict):
        if set(fwhm) != set(BANDS):
            raise ValueError(f"fwhm as a dict must have the keys {list(BANDS)}; got {sorted(fwhm)}")
        values = fwhm
    else:
        values = dict.fromkeys(BANDS, fwhm)
    result = {}
    for band, value in values.items():
        if not (
            isinstance(value, u.Quantity) and value.isscalar and value.unit.is_equivalent(u.arcsec)
        ):
            raise TypeError(f"fwhm must be {expected}; got {value!r} for band {band}")
        arcsec = float(value.to_value(u.arcsec))
        if not FWHM_RANGE[0] <= arcsec <= FWHM_RANGE[1]:
            raise ValueError(
                f"fwhm must lie within {FWHM_RANGE[0]}-{FWHM_RANGE[1]} arcsec; "
                f"got {arcsec:g} arcsec for band {band}"
            )
        result[band] = arcsec
    return result


def _check_inputs(outdir, size, seed, center, psf_family):
    if not isinstance(outdir, str | os.PathLike):
        raise TypeError(f"outdir must be a path (str or os.PathLike); got {outdir!r}")
    if isinstance(size, bool) or not isinstance(size, numbers.Integral):
        raise TypeError(
            f"size must be a positive integer (pixels, at most {MAX_SIZE}); got {size!r}"
        )
    if not 1 <= size <= MAX_SIZE:
        raise ValueError(
            f"size must be a positive integer of at most {MAX_SIZE} pixels; got {size}"
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer >= 0; got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed}")
    if center is None:
        center = DEFAULT_CENTER
    elif not isinstance(center, SkyCoord):
        raise TypeError(f"center must be a scalar SkyCoord or None; got {center!r}")
    elif not center.isscalar:
        raise ValueError(f"center must be a scalar SkyCoord; got an array of shape {center.shape}")
    if not isinstance(psf_family, str) or psf_family not in ("random", *PSF_FAMILIES):
        raise ValueError(
            f"psf_family must be 'random', 'kolmogorov' or 'moffat'; got {psf_family!r}"
        )
    return Path(outdir), int(size), int(seed), center.icrs


# ------------------------------------------------------------------------ output


def _write_atomic(path, write):
    """Call ``write(temporary_path)`` in ``path``'s folder, then rename it to ``path``."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, repr=False)
class OutsideField:
    """The files of an outside-rendered field and what is in them.

    Attributes
    ----------
    images : dict
        Band name -> `~pathlib.Path` of the FITS image.
    truth : `~astropy.table.QTable`
        One row per object whose centre lies on the image: ``coord``, ``kind``,
        ``mag_g``, ``mag_i`` (true AB magnitudes of the whole object) and ``reff``
        (arcsec; 0 for a star). Also written to ``truth.ecsv``.
    psf : dict
        Band name -> dict describing the PSF: ``family``, ``fwhm_arcsec`` (measured),
        ``core_fwhm_arcsec``, ``beta`` (Moffat cores), ``halo_beta``,
        ``halo_fwhm_arcsec``, ``halo_fraction``, ``ellipticity`` and
        ``shear_angle_deg``.

    Examples
    --------
    `render_outside_field` returns one:

    >>> import tempfile
    >>> import astropy.units as u
    >>> from clusterfinder.outside_renderer import render_outside_field
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     field = render_outside_field(folder, size=96, seed=1, fwhm=0.6 * u.arcsec)
    ...     names = sorted(path.name for path in field.images.values())
    >>> names, sorted(field.psf), field.psf["g"]["family"] in ("moffat", "kolmogorov")
    (['outside_g.fits', 'outside_i.fits'], ['g', 'i'], True)
    """

    images: dict
    truth: QTable
    psf: dict

    def __repr__(self):
        counts = sorted(Counter(str(kind) for kind in self.truth["kind"]).items())
        kinds = ", ".join(f"{kind}: {n}" for kind, n in counts)
        psf = ", ".join(
            f'{band} {about["family"]} {about["fwhm_arcsec"]:.3f}"'
            for band, about in self.psf.items()
        )
        folder = next(iter(self.images.values())).parent
        return f"<OutsideField in {folder}: {len(self.truth)} objects ({kinds}); PSF {psf}>"


def render_outside_field(
    outdir,
    *,
    size=1024,
    seed=0,
    center=None,
    fwhm="random",
    psf_family="random",
    overwrite=False,
    progress_bar=False,
):
    """Render a PAndAS-like *g*/*i* field with GalSim, to test models on.

    This renderer is independent of `clusterfinder.simulate`, on which the bundled
    models are trained. Use it to measure how a model does on a rendering it has never
    seen, and to choose between models; never to train one.

    Parameters
    ----------
    outdir : str or os.PathLike
        Folder for ``outside_g.fits``, ``outside_i.fits`` and ``truth.ecsv``; made if
        missing. Each file is written under a temporary name and then renamed.
    size : int, optional
        Side of the square images in pixels of 0.186 arcsec (1 to 8192). A 1024-pixel
        field takes a few seconds.
    seed : int, optional
        Seed (>= 0) of every random draw; the same arguments give the same files bit
        for bit.
    center : `~astropy.coordinates.SkyCoord`, optional
        Centre of the field; by default RA 11.15 deg, Dec 41.75 deg, a disc field of
        M31 at a deprojected radius of about 8 kpc.
    fwhm : `~astropy.units.Quantity`, dict or "random", optional
        Seeing: one angle for both bands, a dict band -> angle, or ``"random"`` (*i*
        from 0.45-1.0 arcsec around 0.62 arcsec, *g* 3-15 % worse and at most 1.05
        arcsec). Each must lie within 0.3-2.0 arcsec. It is the FWHM of the PSF before
        pixel integration (see ``clusterfinder.outside_renderer.psf``).
    psf_family : {"random", "kolmogorov", "moffat"}, optional
        Shape of the PSF core; ``"random"`` picks one per field.
    overwrite : bool, optional
        Replace existing output files; otherwise they raise `FileExistsError`.
    progress_bar : bool, optional
        Show a progress bar over the extended objects (needs tqdm).

    Returns
    -------
    `OutsideField`

    Raises
    ------
    TypeError, ValueError
        For an argument of the wrong type or out of range.
    FileExistsError
        If an output file exists and ``overwrite`` is false.

    Notes
    -----
    Each image header carries ``PHOTZP`` (30: AB = -2.5 log10(ADU) + 30), ``FILTER``,
    ``FWHM`` (arcsec, measured on the PSF), ``PSFTYPE``, ``BETA`` (Moffat cores),
    ``PSFELL``, ``GAIN``, ``SATURATE`` and ``SKYSIG`` (ADU), ``MAGLIM`` and ``ORIGIN``.
    ``SKYSIG`` is the noise of the sky alone; where the disc of M31 is bright its photon
    noise adds to it.

    Examples
    --------
    >>> import tempfile
    >>> import astropy.units as u
    >>> from astropy.io import fits
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     field = render_outside_field(folder, size=128, seed=3, fwhm=0.7 * u.arcsec)
    ...     header = fits.getheader(field.images["i"])
    >>> header["FILTER"], header["PHOTZP"], round(header["FWHM"], 2)
    ('i', 30.0, 0.7)
    >>> field.truth.colnames
    ['coord', 'kind', 'mag_g', 'mag_i', 'reff']
    """
    outdir, size, seed, center = _check_inputs(outdir, size, seed, center, psf_family)
    requested = _check_fwhm(fwhm)
    paths = {band: outdir / f"outside_{band}.fits" for band in BANDS}
    truth_path = outdir / "truth.ecsv"
    if not overwrite:
        for path in (*paths.values(), truth_path):
            if path.exists():
                raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    outdir.mkdir(parents=True, exist_ok=True)

    # Independent streams, so that fixing the seeing does not move the objects.
    psf_rng, field_rng, population_rng, noise_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(4)
    )
    psfs, descriptions = draw_psfs(psf_rng, family=psf_family, fwhm=requested)
    stamps = {band: PointStamps(psfs[band]) for band in BANDS}
    setup = _field_setup(field_rng, center, size, stamps)
    pop = draw_population(population_rng, wcs=setup["wcs"]["g"], size=size, margin=MARGIN)
    positions = _band_positions(pop, setup)

    origin = "clusterfinder outside renderer (GalSim {}.{})".format(*galsim.__version__.split("."))
    for band, rng in zip(BANDS, noise_rng.spawn(len(BANDS)), strict=True):
        pixels = _render_band(
            band, pop, positions[band], psfs[band], stamps[band], setup, rng, progress_bar
        )
        hdu = _image_hdu(band, pixels, setup, descriptions[band], origin)
        _write_atomic(paths[band], lambda name, hdu=hdu: hdu.writeto(name, overwrite=True))
    truth = _truth_table(pop, setup, descriptions, seed, origin)
    _write_atomic(truth_path, lambda name: truth.write(name, format="ascii.ecsv", overwrite=True))
    return OutsideField(images=paths, truth=truth, psf=descriptions)
