"""Reading and writing the images of `~clusterfinder.simulate.inject`.

`open_images` opens each band's image (memory-mapped when it is a file) and checks that
it has a celestial WCS, a zero point, a band the simulator models and, for photon noise,
a gain; `image_psf` measures a PSF on its stars unless one is given. `sections` yields
the image in sections of rows with the injected light added, and `write_fits` writes
them into a FITS file one section at a time, under a temporary name renamed when
complete; `check_outputs` refuses outputs that exist (or are inputs) before any work.

These helpers belong to `~clusterfinder.simulate.inject` and are not public API.
"""

import math
import os

import numpy as np
from astropy.io import fits

from ..images import load_plane
from ..utils.files import atomic_write
from ..utils.outputs import check_output_dir, check_output_file
from .injection_scene import EXTINCTION, add_source_noise
from .profiles import PixelPSF

__all__ = []  # helpers of clusterfinder.simulate.inject

#: Header keywords removed from an input header before it heads an output image.
_STRUCTURE_KEYWORDS = (
    "SIMPLE", "XTENSION", "BITPIX", "EXTEND", "PCOUNT", "GCOUNT", "BSCALE", "BZERO", "BLANK",
    "CHECKSUM", "DATASUM",
)  # fmt: skip


def open_images(images, zero_points, filters, gains, source_noise, stack):
    """Band -> (plane, zero point, simulator band, gain), every image checked."""
    opened = {}
    for band, image in images.items():
        if not isinstance(band, str) or not band:
            raise TypeError(f"images must be keyed by band names (strings); got {band!r}")
        label = f"images[{band!r}]"
        plane = load_plane(image, label, stack)
        plane.require_wcs(label, what="objects")
        zero_point = plane.resolve_zero_point(zero_points.get(band), band=band, label=label)
        model_band = filters.get(band, band)
        if model_band not in EXTINCTION:
            raise ValueError(
                f"band {band!r} is not one whose magnitudes the simulator models "
                f"({', '.join(EXTINCTION)}); pass filters={{{band!r}: 'g'}} (the nearest of "
                "them) to inject its objects with that band's magnitudes"
            )
        gain = gains.get(band, plane.gain)
        if gain is not None:
            if isinstance(gain, (bool, np.bool_)) or not isinstance(gain, (int, float, np.number)):
                raise TypeError(f"gains[{band!r}] must be a number (e-/count); got {gain!r}")
            gain = float(gain)
            if not (math.isfinite(gain) and gain > 0):
                raise ValueError(f"gains[{band!r}] must be a positive number; got {gain!r}")
        elif source_noise:
            raise ValueError(
                f"{label} has no gain (header keyword GAIN or EGAIN) for the photon noise of "
                f"the injected light; pass gains={{{band!r}: ...}} (electrons per count) or "
                "source_noise=False"
            )
        opened[band] = (plane, zero_point, model_band, gain)
    return opened


def image_psf(plane, psf, band):
    """The PSF of ``plane``: ``psf`` if given, else measured on its central window."""
    from ..psf import PSFMeasurement, measure_psf
    from ..scan.find import PSF_WINDOW

    if psf is not None:
        if not isinstance(psf, (PSFMeasurement, PixelPSF)):
            raise TypeError(
                "psfs values must be PSFMeasurement (e.g. from clusterfinder.psf.measure_psf) "
                f"or PixelPSF objects; got {type(psf).__name__}"
            )
        return psf
    ny, nx = plane.shape
    y0, x0 = max(0, (ny - PSF_WINDOW) // 2), max(0, (nx - PSF_WINDOW) // 2)
    window = (slice(y0, y0 + PSF_WINDOW), slice(x0, x0 + PSF_WINDOW))
    header = fits.Header(plane.header) if isinstance(plane.header, fits.Header) else fits.Header()
    header.update(plane.wcs[window].to_header())
    hdu = fits.ImageHDU(np.asarray(plane.data[window], dtype=np.float32), header=header)
    mask = None if plane.mask is None else np.asarray(plane.mask[window]) != 0
    try:
        return measure_psf(hdu, saturation=plane.saturation, mask=mask)
    except ValueError as exc:
        raise ValueError(
            f"images[{band!r}] ({plane.label}): {exc}; or give its PSF with "
            f"psfs={{{band!r}: ...}} (a PSFMeasurement)"
        ) from None


def output_header(plane, zero_point, n, seed):
    if isinstance(plane.header, fits.Header):
        header = plane.header.copy()
        for key in _STRUCTURE_KEYWORDS:
            header.remove(key, ignore_missing=True, remove_all=True)
        for key in [k for k in header if k.startswith("NAXIS")]:
            header.remove(key, ignore_missing=True, remove_all=True)
    else:
        header = plane.wcs.to_header()
    from clusterfinder import __version__

    header["PHOTZP"] = (zero_point, "AB = -2.5 log10(counts) + PHOTZP")
    header["INJCOUNT"] = (n, "simulated objects injected by clusterfinder")
    header["INJSEED"] = (seed if isinstance(seed, int) else -1, "seed of the injection")
    header["HISTORY"] = f"clusterfinder {__version__}: {n} simulated objects injected"
    return header


def sections(plane, scene, band, gain, key, block_size, dtype):
    """``(y0, y1, pixels)`` of each section of rows of the image with the objects added."""
    ny, nx = plane.shape
    psf = scene.state[band].psf
    reach = psf.large_radius + 1
    ext = scene.population.extended
    comp_y = np.concatenate([scene.population.points["y"], ext["y"]])
    comp_r = np.concatenate(
        [np.full(len(scene.population.points["y"]), reach), np.ceil(ext["rt"] + psf.reach) + 2]
    )
    for y0 in range(0, ny, block_size):
        y1 = min(y0 + block_size, ny)
        block = np.array(plane.data[y0:y1], dtype=dtype)
        if np.any((comp_y + comp_r >= y0 - 1) & (comp_y - comp_r < y1 + 1)):
            model = scene.render(band, y0, y1, 0, nx)
            if gain is not None:
                add_source_noise(model, gain, key=key, y0=y0, x0=0)
            bad = ~np.isfinite(block)
            if plane.mask is not None:
                bad |= np.asarray(plane.mask[y0:y1]) != 0
            model[bad] = 0.0
            block += model
        yield y0, y1, block
        plane.release_pages()


def write_fits(path, header, shape, dtype, sections):
    ny, nx = shape
    itemsize = np.dtype(dtype).itemsize

    def write(tmp):
        head = fits.PrimaryHDU(data=np.zeros((1, 1), dtype=dtype), header=header).header
        head["NAXIS1"] = nx
        head["NAXIS2"] = ny
        text = head.tostring().encode("ascii")
        with open(tmp, "r+b") as handle:
            handle.write(text)
            handle.truncate(len(text) + math.ceil(nx * ny * itemsize / 2880) * 2880)
            for y0, _, block in sections:
                handle.seek(len(text) + y0 * nx * itemsize)
                handle.write(
                    np.ascontiguousarray(block, dtype=np.dtype(dtype).newbyteorder(">")).tobytes()
                )

    return atomic_write(path, write, suffix=".fits")


def check_outputs(output, name, bands, images, overwrite):
    if not isinstance(name, str) or not name or os.sep in name or name.startswith("."):
        raise ValueError(f"name must be a plain, non-empty file name stem; got {name!r}")
    folder = check_output_dir(output, name="output")
    inputs = {f"images[{band!r}]": image for band, image in images.items()}
    folder_exists = folder.is_dir()
    paths = {band: folder / f"{name}_{band}.fits" for band in bands}
    truth_path = folder / f"{name}_truth.ecsv"
    if folder_exists:
        for path in [*paths.values(), truth_path]:
            check_output_file(path, overwrite=overwrite, inputs=inputs, name="output")
    folder.mkdir(parents=True, exist_ok=True)
    return paths, truth_path
