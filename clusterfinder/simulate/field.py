"""Simulated fields: `simulate_field` in memory, `write_field` streamed to FITS files.

Both draw the objects of the whole field first (cheap), then render the pixels block by
block (see `clusterfinder.simulate.render`), so they give identical pixels for the same
arguments whatever the block size.
"""

import math
import os
import secrets
from pathlib import Path

import numpy as np
from astropy.io import fits

from clusterfinder.galaxy import M31
from clusterfinder.utils import progress_bar

from ..utils.files import atomic_write
from ._limits import check_simulation_limits
from .config import KINDS, PANDAS
from .plan import FieldPlan

__all__ = ["SimulatedField", "simulate_field", "write_field"]


class SimulatedField:
    """A simulated multi-band image with its truth table.

    Parameters
    ----------
    images : dict
        Band -> `~astropy.io.fits.PrimaryHDU` (float32, celestial TAN WCS, ``PHOTZP``).
    truth : `~astropy.table.QTable`
        One row per object whose centre lies on the image.
    wcs : `~astropy.wcs.WCS`
        The celestial WCS shared by all bands.
    config : `~clusterfinder.simulate.SurveyConfig`
        The survey configuration that made the field.

    Examples
    --------
    >>> from clusterfinder.simulate import simulate_field
    >>> field = simulate_field(size=64, seed=3, kinds=("mw_star",))
    >>> field.bands
    ('g', 'i')
    >>> field.images["g"].data.shape, field.images["g"].header["PHOTZP"]
    ((64, 64), 30.0)
    """

    def __init__(self, images, truth, wcs, config):
        self.images = dict(images)
        self.truth = truth
        self.wcs = wcs
        self.config = config

    @property
    def bands(self):
        """The band names, in the order of ``config.bands``."""
        return tuple(self.images)

    @property
    def shape(self):
        """``(ny, nx)`` of the images."""
        return next(iter(self.images.values())).data.shape

    def __repr__(self):
        counts = ", ".join(
            f"{kind}: {int(np.sum(self.truth['kind'] == kind))}"
            for kind in KINDS
            if np.any(self.truth["kind"] == kind)
        )
        return (
            f"<SimulatedField {self.config.name} {self.shape[0]}x{self.shape[1]} "
            f"bands={self.bands} objects={len(self.truth)} ({counts})>"
        )

    def write(self, outdir, *, name="field", overwrite=False):
        """Write ``{name}_{band}.fits`` per band and ``truth.ecsv`` into ``outdir``.

        Each file is written under a temporary name in ``outdir`` and renamed when
        complete. Returns a dict band -> `~pathlib.Path` of the images.
        """
        outdir, paths, truth_path = _prepare_outputs(outdir, name, self.bands, overwrite)
        for band, path in paths.items():
            atomic_write(
                path, lambda tmp, band=band: self.images[band].writeto(tmp, overwrite=True)
            )
        atomic_write(
            truth_path, lambda tmp: self.truth.write(tmp, format="ascii.ecsv", overwrite=True)
        )
        return paths


def _prepare_outputs(outdir, name, bands, overwrite):
    if not isinstance(name, str) or not name or os.sep in name or name.startswith("."):
        raise ValueError(f"name must be a plain, non-empty file name stem; got {name!r}")
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise NotADirectoryError(f"outdir {str(outdir)!r} exists and is not a folder")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create outdir {str(outdir)!r}: {exc.strerror or exc}") from None
    if not os.access(outdir, os.W_OK | os.X_OK):
        raise PermissionError(f"outdir {str(outdir)!r} is not writable")
    paths = {band: outdir / f"{name}_{band}.fits" for band in bands}
    truth_path = outdir / "truth.ecsv"
    if not overwrite:
        existing = [str(p) for p in [*paths.values(), truth_path] if p.exists()]
        if existing:
            raise FileExistsError(
                f"{existing[0]} already exists; pass overwrite=True to replace it"
            )
    return outdir, paths, truth_path


def _temporary_name(path):
    """A fresh hidden name beside ``path`` for writing before the final rename."""
    return path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def simulate_field(
    *,
    size,
    center=None,
    config=PANDAS,
    seed=0,
    fwhm=None,
    psf=None,
    randomize=None,
    kinds=None,
    noise=True,
    disc_light=True,
    galaxy=M31,
    progress_bar=False,
):
    """Simulate a survey field of M31's disc with its truth table.

    Parameters
    ----------
    size : int or tuple of int
        Image size in pixels: ``N`` for ``N x N`` or ``(ny, nx)``.
    center : `~astropy.coordinates.SkyCoord`, optional
        Centre of the field; by default a disc field inside the PHAT footprint
        (RA 11.15 deg, Dec 41.75 deg, 8 kpc from the centre of M31).
    config : `~clusterfinder.simulate.SurveyConfig`, optional
        The survey: pixels, bands, depth, PSF, detector and densities (`PANDAS` by default).
    seed : None, int or `numpy.random.Generator`, optional
        Random seed; the same seed gives the same images and truth bit for bit. With None a
        seed is drawn and recorded in the headers and the truth metadata.
    fwhm : None, "random", `~astropy.units.Quantity` or dict, optional
        Seeing of the field: None for each band's configured FWHM; ``"random"`` for one draw
        per field in 0.5-0.9" (bands keep their configured ratios); an angle for every band;
        or a dict band -> angle (other bands keep the configured value).
    psf : None, `~clusterfinder.simulate.PSFShape` or dict, optional
        Shape of the PSF (family, Moffat index, ellipticity, halo) for every band, or a
        dict band -> shape; None for the configured round Moffat of each band.
    randomize : None, bool or `~clusterfinder.simulate.DomainRandomization`, optional
        Draw this field's seeing, PSF shapes, depth, noise correlation and hard negatives
        from a `~clusterfinder.simulate.DomainRandomization` (True: the default ranges).
        ``fwhm`` (an angle or a dict; ``"random"`` leaves the draw to the
        randomisation) and ``psf``, when given, still decide those. None or False
        (default): a fixed field as configured.
    kinds : sequence of str, optional
        Object kinds to include (see `~clusterfinder.simulate.KINDS`); all by default. The
        objects of a kind do not depend on which other kinds are included.
    noise : bool, optional
        Add sky and Poisson noise and saturation. With False the image is the ideal,
        noise-free model (fluxes exact).
    disc_light : bool, optional
        Add the smooth light of the disc and bulge.
    galaxy : `~clusterfinder.galaxy.GalaxyGeometry`, optional
        The host galaxy (`~clusterfinder.galaxy.M31` by default).
    progress_bar : bool, optional
        Show a progress bar over the blocks rendered.

    Returns
    -------
    `SimulatedField`

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.simulate import simulate_field
    >>> field = simulate_field(size=96, seed=1, kinds=("mw_star", "galaxy"), noise=False,
    ...                        disc_light=False)
    >>> truth = field.truth
    >>> sorted(set(truth["kind"])) <= ["galaxy", "mw_star"]
    True
    >>> field.images["g"].data.dtype.name
    'float32'
    """
    check_simulation_limits("simulate_field", size, config, fwhm, psf, randomize)
    setup = FieldPlan(
        size, center, config, seed, fwhm, kinds, noise, disc_light, galaxy,
        psf=psf, randomize=randomize,
    )  # fmt: skip
    ny, nx = setup.shape
    data = {band: np.empty((ny, nx), dtype=np.float32) for band in config.bands}
    blocks = setup.blocks(BLOCK_SIZE)
    for y0, y1, x0, x1 in _progress_blocks(blocks, progress_bar):
        for band in config.bands:
            data[band][y0:y1, x0:x1] = setup.scene.render(band, y0, y1, x0, x1)
    images = {
        band: fits.PrimaryHDU(data=data[band], header=setup.header(band)) for band in config.bands
    }
    return SimulatedField(images, setup.truth(), setup.wcs, setup.config)


#: Block size of `simulate_field` (any size gives the same pixels; this bounds memory).
BLOCK_SIZE = 2048


def _progress_blocks(blocks, enabled):
    return progress_bar(blocks, enabled=enabled, total=len(blocks), desc="simulate", unit="block")


def write_field(
    outdir,
    *,
    size,
    center=None,
    config=PANDAS,
    seed=0,
    fwhm=None,
    psf=None,
    randomize=None,
    kinds=None,
    noise=True,
    disc_light=True,
    galaxy=M31,
    name="field",
    overwrite=False,
    block_size=2048,
    progress_bar=False,
):
    """Simulate a field straight into FITS files, block by block.

    The objects of the whole field are drawn first; the pixels are then rendered one
    ``block_size`` square at a time and written into the files, so that fields up to
    20000 x 20000 pixels never sit in memory. The pixels equal those of `simulate_field`
    with the same arguments, whatever ``block_size``.

    Parameters
    ----------
    outdir : str or `~pathlib.Path`
        Folder to write ``{name}_{band}.fits`` and ``truth.ecsv`` into (created if needed).
    name : str, optional
        Stem of the image file names.
    overwrite : bool, optional
        Replace existing files; otherwise an existing file is an error.
    block_size : int, optional
        Side of the blocks rendered at once (pixels).
    size, center, config, seed, fwhm, psf, randomize, kinds, noise, disc_light, galaxy
        As in `simulate_field`.
    progress_bar : bool, optional
        As in `simulate_field`.

    Returns
    -------
    dict
        Band -> `~pathlib.Path` of the image; the truth is ``outdir / "truth.ecsv"``.

    Examples
    --------
    >>> import tempfile
    >>> from clusterfinder.simulate import write_field
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_field(tmp, size=64, seed=2, kinds=("mw_star",), block_size=32)
    ...     sorted(p.name for p in paths.values())
    ['field_g.fits', 'field_i.fits']
    """
    paths, _ = _write_field(
        outdir, size=size, center=center, config=config, seed=seed, fwhm=fwhm, psf=psf,
        randomize=randomize, kinds=kinds, noise=noise, disc_light=disc_light, galaxy=galaxy,
        name=name, overwrite=overwrite, block_size=block_size, progress_bar=progress_bar,
    )  # fmt: skip
    return paths


def _write_field(
    outdir, *, size, center, config, seed, fwhm, psf, randomize, kinds, noise, disc_light,
    galaxy, name, overwrite, block_size, progress_bar,
):  # fmt: skip
    """`write_field` returning ``(paths, truth)``."""
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise TypeError(f"block_size must be a positive integer; got {block_size!r}")
    if block_size < 1:
        raise ValueError(f"block_size must be a positive integer; got {block_size!r}")
    check_simulation_limits("write_field", size, config, fwhm, psf, randomize, in_memory=False,
                            block_size=block_size)  # fmt: skip
    setup = FieldPlan(
        size, center, config, seed, fwhm, kinds, noise, disc_light, galaxy,
        psf=psf, randomize=randomize,
    )  # fmt: skip
    outdir, paths, truth_path = _prepare_outputs(outdir, name, tuple(config.bands), overwrite)
    ny, nx = setup.shape
    temps = {}
    handles = {}
    offsets = {}
    try:
        for band, path in paths.items():
            temps[band] = _temporary_name(path)
            handles[band] = open(temps[band], "xb")  # closed in the finally clause
            header = fits.PrimaryHDU(
                data=np.zeros((1, 1), dtype=np.float32), header=setup.header(band)
            ).header
            header["NAXIS1"] = nx
            header["NAXIS2"] = ny
            head = header.tostring().encode("ascii")
            handles[band].write(head)
            data_bytes = nx * ny * 4
            handles[band].truncate(len(head) + math.ceil(data_bytes / 2880) * 2880)
            offsets[band] = len(head)
        for y0, y1, x0, x1 in _progress_blocks(setup.blocks(int(block_size)), progress_bar):
            for band in config.bands:
                block = setup.scene.render(band, y0, y1, x0, x1).astype(">f4")
                handle = handles[band]
                for row in range(y1 - y0):
                    handle.seek(offsets[band] + ((y0 + row) * nx + x0) * 4)
                    handle.write(block[row].tobytes())
        for band, path in paths.items():
            handles[band].close()
            os.replace(temps[band], path)
        truth = setup.truth()
        atomic_write(truth_path, lambda tmp: truth.write(tmp, format="ascii.ecsv", overwrite=True))
    finally:
        for band, handle in handles.items():
            handle.close()
            if os.path.exists(temps[band]):
                os.unlink(temps[band])
    return paths, truth
