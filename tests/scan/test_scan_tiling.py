"""Tests of clusterfinder.scan.tiling: tiles, source assignment, lazy image reading."""

from pathlib import Path

import numpy as np
import pytest
from _scan_helpers import field_wcs
from astropy.io import fits
from astropy.wcs import WCS

from clusterfinder import Cutout
from clusterfinder.scan import TiledImages
from clusterfinder.scan.tiling import assign_to_tiles, check_tile_size, make_tiles


@pytest.mark.parametrize(("shape", "size"), [((100, 250), 128), ((64, 64), 16), ((17, 300), 50)])
def test_tiles_cover_the_image_once(shape, size):
    coverage = np.zeros(shape, dtype=int)
    for k, tile in enumerate(make_tiles(shape, size)):
        assert tile.index == k
        coverage[tile.y0 : tile.y1, tile.x0 : tile.x1] += 1
    assert np.all(coverage == 1)


def test_every_position_on_the_image_has_one_tile():
    shape, size = (100, 250), 32
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 249.49, 2000)
    y = rng.uniform(-0.5, 99.49, 2000)
    tile_of = assign_to_tiles(x, y, shape, size)
    tiles = make_tiles(shape, size)
    assert np.all(tile_of >= 0)
    for k in np.unique(tile_of):
        t = tiles[k]
        sel = tile_of == k
        ix, iy = np.floor(x[sel] + 0.5), np.floor(y[sel] + 0.5)
        assert np.all((ix >= t.x0) & (ix < t.x1) & (iy >= t.y0) & (iy < t.y1))
    off = assign_to_tiles(np.array([-0.6, 10.0, np.nan]), np.array([5.0, 99.6, 1.0]), shape, size)
    assert off.tolist() == [-1, -1, -1]


@pytest.mark.parametrize(
    ("value", "error"), [(8, ValueError), (32.0, TypeError), (True, TypeError)]
)
def test_bad_tile_size(value, error):
    with pytest.raises(error, match="tile_size"):
        check_tile_size(value)


def test_blocks_read_only_what_stamps_need(one_field):
    paths, sources = one_field
    with TiledImages(paths, tile_size=64) as field:
        assert field.shared_grid and field.shape == (160, 160) and len(field.tiles) == 9
        x, y = field.pixel_positions(sources["coord"][:3])
        blocks, zps, (x0, y0) = field.stamp_block_pixels(x, y, 15)
        block, _ = blocks["g"]
        assert zps == {"g": 30.0, "i": 30.0}
        assert block.shape[0] < 160 or block.shape[1] < 160 or len(x) == 0
        with fits.open(paths["g"]) as hdul:
            full = hdul[0].data
            assert np.array_equal(block, full[y0 : y0 + block.shape[0], x0 : x0 + block.shape[1]])


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_zero_point_is_applied(tmp_path, dtype):
    wcs = field_wcs((10.0, 41.0), 50)
    header = wcs.to_header()
    header["PHOTZP"] = 27.5  # 10x fainter counts than on zero point 30
    path = tmp_path / "f_g.fits"
    fits.PrimaryHDU(np.ones((50, 50), dtype), header=header).writeto(path)
    with TiledImages({"g": path}, tile_size=16) as field:
        blocks, zps, origin = field.stamp_block_pixels(np.array([25.0]), np.array([25.0]), 5)
        block = blocks["g"][0]
        if dtype is np.float32:
            # A view of the memory-mapped file, on the image's own zero point.
            assert not block.flags.owndata and block.dtype == ">f4" and zps == {"g": 27.5}
        else:
            # Integers are read and converted, onto zero point 30.
            assert block.dtype == np.float32 and zps == {"g": 30.0}
        cut = Cutout.from_images(
            blocks, [(25.0 - origin[0], 25.0 - origin[1])], cutout_size=5, zero_points=zps
        )
    np.testing.assert_allclose(cut.data, 10.0, rtol=1e-6)


def test_bands_on_different_grids(one_field, tmp_path):
    paths, sources = one_field
    with fits.open(paths["i"]) as hdul:
        data, header = hdul[0].data[10:, 5:], hdul[0].header.copy()
    header["CRPIX1"] -= 5
    header["CRPIX2"] -= 10
    shifted = tmp_path / "shifted_i.fits"
    fits.PrimaryHDU(data, header=header).writeto(shifted)
    with TiledImages({"g": paths["g"], "i": shifted}, tile_size=64) as field:
        assert not field.shared_grid
        coords = sources["coord"][:5]
        blocks, _ = field.stamp_block(coords, 15)
        block, wcs = blocks["i"]
        x, y = wcs.world_to_pixel(coords)
        xi, yi = WCS(header).world_to_pixel(coords)
        # The block holds the same pixels as the image around every source.
        for k in range(5):
            ix, iy = round(float(x[k])), round(float(y[k]))
            jx, jy = round(float(xi[k])), round(float(yi[k]))
            if 0 <= jx < data.shape[1] and 0 <= jy < data.shape[0]:
                assert block[iy, ix] == data[jy, jx]


def test_image_without_wcs_is_refused(tmp_path):
    path = tmp_path / "nowcs_g.fits"
    header = fits.Header({"PHOTZP": 30.0})
    fits.PrimaryHDU(np.zeros((20, 20), np.float32), header=header).writeto(path)
    with pytest.raises(ValueError, match=r"band 'g'.*no celestial WCS"):
        TiledImages({"g": path})


def test_image_without_zero_point_is_refused(tmp_path):
    path = tmp_path / "nozp_g.fits"
    fits.PrimaryHDU(
        np.zeros((20, 20), np.float32), header=field_wcs((1, 1), 20).to_header()
    ).writeto(path)
    with pytest.raises(ValueError, match="zero point"):
        TiledImages({"g": path})


def test_truncated_and_corrupt_files_raise_oserror(one_field, tmp_path):
    paths, _ = one_field
    raw = Path(paths["g"]).read_bytes()
    truncated = tmp_path / "t_g.fits"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(OSError, match="truncated"):
        TiledImages({"g": truncated})
    junk = tmp_path / "j_g.fits"
    junk.write_bytes(b"not a fits file" * 200)
    with pytest.raises(OSError, match=r"band 'g'.*cannot read"):
        TiledImages({"g": junk})
    with pytest.raises(FileNotFoundError, match="no such file"):
        TiledImages({"g": tmp_path / "missing.fits"})


def test_bad_images_argument(one_field):
    paths, _ = one_field
    with pytest.raises(TypeError, match="images must be a non-empty dict"):
        TiledImages([paths["g"]])
    with pytest.raises(ValueError, match="no band 'r'"):
        TiledImages(paths, bands=("g", "r"))
    with pytest.raises(TypeError, match=r"the image of band 'g' must be"):
        TiledImages({"g": 3})
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    with pytest.raises(ValueError, match="must be a 2-d image"):
        TiledImages({"g": (np.zeros(10), wcs)})
