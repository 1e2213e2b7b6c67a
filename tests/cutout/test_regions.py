"""Bands on other grids resampled once per region: the same stamps as stamp by stamp."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import NDData
from cutout_helpers import make_wcs

import clusterfinder.cutout.extract as extract
from clusterfinder import Cutout
from clusterfinder.cutout import regions
from clusterfinder.cutout.regions import REGION_TOLERANCE, plan_regions

SHAPE_G, SHAPE_I = (160, 180), (150, 170)
W_G = make_wcs(crpix=(90.5, 80.5))

#: The i band's grid in each case, all about the same tangent point as g (the map
#: between the grids is then exactly affine).
GRIDS = {
    "shifted": make_wcs(crpix=(85.13, 75.71)),
    "shifted in y only": make_wcs(crpix=(85.5, 75.71)),  # whole pixels in x
    "rotated": make_wcs(crpix=(85.13, 75.71), rotation=25.0),
    "scaled": make_wcs(crpix=(85.13, 75.71), scale=0.25),
    "scaled and rotated": make_wcs(crpix=(80.4, 70.2), scale=0.21, rotation=-60.0),
    "flipped": make_wcs(crpix=(85.13, 75.71), rotation=180.0),
}


def per_stamp(monkeypatch):
    """Make `Cutout.from_images` resample every stamp on its own (today's path)."""
    monkeypatch.setattr(extract, "plan_regions", lambda r, b, members, o, n: ([], members))


def both_paths(monkeypatch, images, coords, size, **options):
    """The stamps through regions and stamp by stamp; most must come from regions."""
    held = []
    resample = extract.resample_region

    def counting(plane, region, *rest):
        held.append(len(region.members))
        return resample(plane, region, *rest)

    with monkeypatch.context() as patch:
        patch.setattr(extract, "resample_region", counting)
        fast = Cutout.from_images(images, coords, cutout_size=size, **options)
    assert sum(held) > len(fast) // 2
    with monkeypatch.context() as patch:
        per_stamp(patch)
        slow = Cutout.from_images(images, coords, cutout_size=size, **options)
    return fast, slow


def assert_same_stamps(fast, slow, rtol=1e-5):
    """Pixels equal to ``rtol`` of each stamp's largest value; masks identical."""
    np.testing.assert_array_equal(fast.mask, slow.mask)
    peak = np.abs(slow.data).max(axis=(2, 3), keepdims=True)
    diff = np.abs(fast.data - slow.data)
    assert np.all(diff <= rtol * np.maximum(peak, 1e-30)), diff.max()
    assert np.array_equal(fast.table["off_image"], slow.table["off_image"])


def images_with_defects():
    rng = np.random.default_rng(7)
    g = rng.normal(size=SHAPE_G).astype(np.float32)
    i = (rng.normal(size=SHAPE_I) + 3.0).astype(np.float32)
    i[40:43, 20:120] = np.nan  # a bad column band of NaN
    i[90, 60] = np.inf
    return g, i


def crowded_positions(n=150, seed=1, margin=-25):
    """Positions over the whole g image and beyond its edges (some off every image)."""
    rng = np.random.default_rng(seed)
    ny, nx = SHAPE_G
    x = rng.uniform(margin, nx - 1 - margin, n)
    y = rng.uniform(margin, ny - 1 - margin, n)
    x[:4] = [0.2, nx - 1.3, -40.0, nx + 60.0]  # at the edges, and off every image
    y[:4] = [ny - 0.8, 0.4, 30.0, ny + 80.0]
    return W_G.pixel_to_world(x, y)


@pytest.mark.parametrize("grid", list(GRIDS))
def test_region_path_equals_per_stamp_path(monkeypatch, grid):
    g, i = images_with_defects()
    images = {"g": (g, W_G), "i": (i, GRIDS[grid])}
    coords = crowded_positions()
    fast, slow = both_paths(monkeypatch, images, coords, 21, zero_points={"g": 30, "i": 28.7})
    assert_same_stamps(fast, slow)
    # the cases really exercise the masks: NaN, off-image and fully masked stamps
    assert slow.mask[:, 1].any() and slow.mask[2].all() and slow.mask[3].all()
    assert np.isfinite(fast.data).all()


def test_regions_are_used_for_crowded_positions():
    """The stamps of a crowded field are served by regions, not one by one."""
    coords = crowded_positions(margin=5)[4:]
    x, y = W_G.world_to_pixel(coords)
    origins = np.stack([np.ceil(x - 10.5), np.ceil(y - 10.5)], axis=1).astype(np.int64)
    members = np.arange(len(origins))
    g_plane = _plane(np.zeros(SHAPE_G, np.float32), W_G)
    for wcs in GRIDS.values():
        found, singles = plan_regions(g_plane, _plane(np.zeros(SHAPE_I), wcs), members, origins, 21)
        held = np.concatenate([r.members for r in found])
        assert len(held) + len(singles) == len(members)
        assert len(set(held.tolist()) | set(singles.tolist())) == len(members)
        assert len(held) > 0.8 * len(members)
        for region in found:  # each stamp lies inside its region
            o = origins[region.members]
            assert np.all(o[:, 0] >= region.x0) and np.all(o[:, 1] >= region.y0)
            assert np.all(o[:, 0] + 21 <= region.x0 + region.width)
            assert np.all(o[:, 1] + 21 <= region.y0 + region.height)


def test_isolated_stamps_keep_the_per_stamp_path():
    origins = np.array([[0, 0], [500, 10], [10, 900]], dtype=np.int64)
    found, singles = plan_regions(
        _plane(np.zeros((1000, 1000)), W_G),
        _plane(np.zeros((1000, 1000)), GRIDS["shifted"]),
        np.arange(3),
        origins,
        21,
    )
    assert found == [] and sorted(singles.tolist()) == [0, 1, 2]


def test_region_size_is_bounded(monkeypatch):
    monkeypatch.setattr(regions, "REGION_SIDE", 64)
    rng = np.random.default_rng(2)
    origins = rng.integers(0, 400, size=(400, 2))
    found, _ = plan_regions(
        _plane(np.zeros((500, 500)), W_G),
        _plane(np.zeros((500, 500)), GRIDS["shifted"]),
        np.arange(400),
        origins,
        21,
    )
    assert found and all(r.width <= 64 and r.height <= 64 for r in found)


def test_another_tangent_point_stays_within_tolerance(monkeypatch):
    """Not affine (tangent points 0.04 deg apart): regions shrink until their map
    agrees with the exact one to REGION_TOLERANCE, and the stamps agree closely."""
    wcs_i = make_wcs(crval=(10.04, 41.02))
    centre = W_G.pixel_to_world(90.0, 80.0)
    cx, cy = wcs_i.world_to_pixel(centre)
    wcs_i.wcs.crpix = [wcs_i.wcs.crpix[0] - cx + 85.3, wcs_i.wcs.crpix[1] - cy + 75.6]
    wcs_i.wcs.set()
    g, i = images_with_defects()
    coords = crowded_positions()
    fast, slow = both_paths(
        monkeypatch, {"g": (g, W_G), "i": (i, wcs_i)}, coords, 21, zero_points=30
    )
    # sample positions differ by at most REGION_TOLERANCE plus the per-stamp path's own
    # affine error; on unit-variance noise that is a few 1e-5 of the stamp's peak
    assert_same_stamps(fast, slow, rtol=1e-4)
    x, y = W_G.world_to_pixel(coords[4:])
    origins = np.stack([np.ceil(x - 10.5), np.ceil(y - 10.5)], axis=1).astype(np.int64)
    found, _ = plan_regions(_plane(g, W_G), _plane(i, wcs_i), np.arange(len(origins)), origins, 21)
    assert found
    error = regions._fit(_plane(g, W_G), _plane(i, wcs_i), found)
    assert np.all(error <= REGION_TOLERANCE)


def test_fits_paths_nddata_mask_and_scaled_integers(monkeypatch, tmp_path):
    """FITS files (float and BSCALE/BZERO integers) and an NDData mask: same stamps."""
    g, i = images_with_defects()
    wcs_i = GRIDS["scaled and rotated"]
    g_path = tmp_path / "g.fits"
    fits.PrimaryHDU(g, header=W_G.to_header()).writeto(g_path)
    header = wcs_i.to_header()
    header["PHOTZP"] = 31.0
    raw = np.clip(np.nan_to_num(i, nan=0.0, posinf=0.0) * 1000, -32000, 32000).astype(np.int16)
    hdu = fits.PrimaryHDU(raw, header=header)
    hdu.header["BSCALE"], hdu.header["BZERO"] = 0.001, 5.0
    i_path = tmp_path / "i.fits"
    hdu.writeto(i_path)
    flags = np.zeros(SHAPE_G, dtype=bool)
    flags[70:75, 30:90] = True
    coords = crowded_positions(seed=4)
    for images in (
        {"g": str(g_path), "i": str(i_path)},
        {"i": str(i_path), "g": NDData(g, wcs=W_G, mask=flags, meta={"PHOTZP": 30.0})},
    ):
        fast, slow = both_paths(monkeypatch, images, coords, 17, zero_points={"g": 30})
        assert_same_stamps(fast, slow)


def test_stamps_of_one_region_match_a_direct_resampling():
    """A region's stamps are the Keys resampling of the band (pure shift: a check by hand)."""
    rng = np.random.default_rng(5)
    g = rng.normal(size=(120, 120)).astype(np.float32)
    i = rng.normal(size=(120, 120)).astype(np.float32)
    w_i = make_wcs(crpix=(W_G.wcs.crpix[0] - 0.25, W_G.wcs.crpix[1] + 0.5))  # i = g - 0.25, + 0.5
    x = np.array([40.2, 47.9, 52.6, 44.1])
    y = np.array([50.3, 55.4, 48.8, 58.0])
    cut = Cutout.from_images(
        {"g": (g, W_G), "i": (i, w_i)}, W_G.pixel_to_world(x, y), cutout_size=9, zero_points=30
    )
    taps = np.array([-0.0625, 0.5625, 0.5625, -0.0625], dtype=np.float32)  # Keys at t = 0.5
    for k in range(4):
        x0, y0 = int(np.ceil(x[k] - 4.5)), int(np.ceil(y[k] - 4.5))
        # the i pixel of g pixel (x0 + j, y0 + r) is (x0 + j - 0.25, y0 + r + 0.5)
        xs, ys = x0 - 0.25, y0 + 0.5
        ix, iy = int(np.floor(xs)), int(np.floor(ys))
        tx = xs - ix
        wx = np.array(
            [
                (tx - tx**2) * (0.5 * tx - 0.5),
                (1.5 * tx - 2.5) * tx**2 + 1,
                ((2 - 1.5 * tx) * tx + 0.5) * tx,
                (0.5 * tx - 0.5) * tx**2,
            ]
        )
        block = i[iy - 1 : iy + 12, ix - 1 : ix + 12].astype(float)
        rows = sum(wx[t] * block[:, t : t + 9] for t in range(4))
        expected = sum(taps[t] * rows[t : t + 9] for t in range(4))
        np.testing.assert_allclose(cut.data[k, 1], expected, atol=2e-6)


def _plane(data, wcs):
    from clusterfinder.images import Plane

    return Plane(data, wcs, None, 30.0, "test")
