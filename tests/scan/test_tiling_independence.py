"""A survey catalogue must not depend on how the work was cut into tiles.

Detection (`find_candidates` without sources, `scan`, `detect_sources`) on a
simulated PAndAS field gives the same sources, at the same positions and with the
same fluxes, whatever the tile size, as one pass over the whole image.
"""

import numpy as np
import pytest
from _scan_helpers import FakeClassifier, field_wcs
from astropy.io import fits
from astropy.table import vstack

from clusterfinder.detection import detect_sources
from clusterfinder.detection.background import background_section
from clusterfinder.detection.centroid import windowed_centroids
from clusterfinder.scan import find_candidates, scan
from clusterfinder.simulate import simulate_field

pytestmark = pytest.mark.filterwarnings("ignore:.*candidate catalogue is empty")

#: Positions agree to rounding (measured: ~1e-13 pixel); fluxes to the last bits
#: (measured relative differences ~1e-13, from the aperture overlaps computed in
#: section coordinates).
POSITION_TOLERANCE = 1e-6  # pixel
FLUX_RTOL = 1e-9

#: Columns that must be equal, not just close.
EXACT = ("area", "flag_edge", "flag_masked", "flag_saturated", "flag_blended")


@pytest.fixture(scope="module")
def field():
    """A 768 x 768 simulated disc field of M31 (g and i), about 330 sources."""
    return simulate_field(size=768, seed=1)


@pytest.fixture(scope="module")
def untiled(field):
    """`find_candidates` over the whole image in one tile."""
    images = dict(field.images)
    return _sorted(find_candidates(_classifier(), images, tile_size=4096, keep_all=True))


def _classifier():
    return FakeClassifier(threshold=0.0)


def _sorted(table):
    table = table.copy()
    table.sort(["y", "x"])
    return table


def assert_same_sources(tiled, whole, exact=EXACT):
    """Same count, positions (to rounding), fluxes, probabilities and flags."""
    assert len(tiled) == len(whole)
    np.testing.assert_allclose(tiled["x"], whole["x"], rtol=0, atol=POSITION_TOLERANCE)
    np.testing.assert_allclose(tiled["y"], whole["y"], rtol=0, atol=POSITION_TOLERANCE)
    separation = tiled["coord"].separation(whole["coord"]).arcsec
    assert np.all(separation < POSITION_TOLERANCE * 0.186)
    for name in set(tiled.colnames) & set(whole.colnames):
        if name.startswith(("flux_", "fluxerr_", "mag_", "magerr_")) or name in (
            "detection_snr",
            "prob_cluster",
        ):
            np.testing.assert_allclose(tiled[name], whole[name], rtol=FLUX_RTOL, err_msg=name)
        elif name in exact:
            assert np.array_equal(tiled[name], whole[name]), name


@pytest.mark.parametrize("tile_size", [256, 300, 384, 512])
def test_find_candidates_does_not_depend_on_tile_size(field, untiled, tile_size):
    # 300 does not divide the image nor the 64-pixel background boxes.
    assert len(untiled) > 250
    tiled = find_candidates(_classifier(), dict(field.images), tile_size=tile_size, keep_all=True)
    assert tiled.meta["tile_size"] == tile_size
    assert_same_sources(_sorted(tiled), untiled)


def test_scan_does_not_depend_on_tile_size(field, untiled, tmp_path):
    paths = field.write(tmp_path / "images", name="m1")
    fields = {"m1": {band: str(path) for band, path in paths.items()}}
    for tile_size in (256, 384):
        result = scan(
            _classifier(), fields, tmp_path / f"out{tile_size}", tile_size=tile_size, keep_all=True
        )
        assert result.meta["tile_size"] == tile_size
        result = _sorted(result)
        assert np.all(result["n_detections"] == 1)  # one field: no source found twice
        assert_same_sources(result, untiled)


def test_detect_sources_regions_partition_the_catalogue(field, untiled):
    images = dict(field.images)
    corners = [(0, 0), (0, 450), (300, 0), (300, 450)]
    parts = [
        detect_sources(images, region=(x0, y0, x1, y1), tile_size=256, tile_margin=0)
        for x0, x1 in ((0, 300), (300, 768))
        for y0, y1 in ((0, 450), (450, 768))
    ]
    for part, (x0, y0) in zip(parts, corners, strict=True):
        x, y = np.floor(part["x"] + 0.5), np.floor(part["y"] + 0.5)
        assert np.all((x >= x0) & (y >= y0))
        assert part.meta["detection"]["region"][:2] == [x0, y0]
    # find_candidates adds the stamps' own edge and mask flags: compare the others.
    detection_only = ("area", "flag_saturated", "flag_blended")
    assert_same_sources(
        _sorted(vstack(parts, metadata_conflicts="silent")), untiled, detection_only
    )


def _blob_field():
    """A field with one large bright galaxy (a segment ~110 pixels across) on noise."""
    shape = (192, 192)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    rng = np.random.default_rng(5)
    image = rng.normal(0.0, 1.0, shape)
    r = np.hypot(xx - 97.3, yy - 94.7)
    image += 40.0 * np.exp(-r / 14.0)  # an exponential disc
    for x, y in rng.uniform(10, 182, (20, 2)):
        image += 30.0 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.6**2))
    return {"i": (image.astype(np.float32), field_wcs((10.68, 41.27), shape[0]))}


def test_large_source_across_tiles_is_found_once(monkeypatch):
    from clusterfinder.detection import segment

    images = _blob_field()
    options = {"zero_points": 30, "box_size": 192}
    whole = _sorted(detect_sources(images, tile_size=4096, **options))
    calls = {"grown": 0}
    check = segment.check_segments

    def counting(*args):
        try:
            check(*args)
        except segment.MarginTooSmall:
            calls["grown"] += 1
            raise

    monkeypatch.setattr(segment, "check_segments", counting)
    tiled = _sorted(detect_sources(images, tile_size=64, tile_margin=8, **options))
    assert calls["grown"] > 0  # the galaxy is cut by the first margins: they grow
    assert_same_sources(tiled, whole)


def test_background_of_a_section_is_the_whole_images():
    rng = np.random.default_rng(2)
    image = rng.normal(5.0, 1.0, (300, 410)) + np.linspace(0.0, 3.0, 410)[None, :]
    image[40:140, 200:260] = np.nan  # a masked region larger than a box
    level, rms = background_section(image, (0, 300, 0, 410), box_size=32)
    for box in [(0, 37, 0, 41), (17, 250, 100, 333), (299, 300, 409, 410), (64, 128, 0, 410)]:
        y0, y1, x0, x1 = box
        part_level, part_rms = background_section(image, box, box_size=32)
        assert np.array_equal(part_level, level[y0:y1, x0:x1], equal_nan=True)
        assert np.array_equal(part_rms, rms[y0:y1, x0:x1], equal_nan=True)
    assert np.nanmax(np.abs(rms - 1.0)) < 0.2
    with pytest.raises(ValueError, match="background must be one of"):
        background_section(image, (0, 10, 0, 10), method="median")


def test_windowed_centroids_do_not_depend_on_the_batch():
    yy, xx = np.mgrid[:64, :64]
    rng = np.random.default_rng(3)
    x0, y0 = rng.uniform(8, 56, 12), rng.uniform(8, 56, 12)
    image = sum(
        np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.5**2)) for x, y in zip(x0, y0, strict=True)
    )
    image = image + rng.normal(0, 0.01, image.shape)
    x, y = windowed_centroids(image, x0 + 0.3, y0 - 0.2, 1.5)
    for k in range(len(x0)):
        xs, ys = windowed_centroids(image, x0[k : k + 1] + 0.3, y0[k : k + 1] - 0.2, 1.5)
        assert xs[0] == x[k] and ys[0] == y[k]


def test_bad_region_is_refused(field):
    images = {"g": field.images["g"]}
    with pytest.raises(ValueError, match=r"region must satisfy 0 <= x0 < x1 <= 768"):
        detect_sources(images, region=(0, 0, 800, 100))
    with pytest.raises(TypeError, match="region must be four integers"):
        detect_sources(images, region=(0, 0, 10.5, 100))
    with pytest.raises(TypeError, match="region must be four integers"):
        detect_sources(images, region=(0, 0, 10))


def test_fits_field_header_keywords_are_used(tmp_path):
    """Saturation and gain from the headers reach the tiled detection of a scan field."""
    shape = (96, 96)
    wcs = field_wcs((10.68, 41.27), shape[0])
    header = wcs.to_header()
    header["PHOTZP"] = 30.0
    header["SATURATE"] = 50.0
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image = np.random.default_rng(0).normal(0.0, 1.0, shape)
    image += 500.0 * np.exp(-((xx - 40.2) ** 2 + (yy - 50.7) ** 2) / (2 * 1.5**2))
    paths = {}
    for band in ("g", "i"):
        paths[band] = tmp_path / f"s_{band}.fits"
        fits.PrimaryHDU(image.astype(np.float32), header=header).writeto(paths[band])
    whole = _sorted(find_candidates(_classifier(), paths, tile_size=96, keep_all=True))
    found = _sorted(find_candidates(_classifier(), paths, tile_size=32, keep_all=True))
    assert_same_sources(found, whole)
    star = np.argmin(np.hypot(found["x"] - 40.2, found["y"] - 50.7))
    assert found["flag_saturated"].tolist() == [k == star for k in range(len(found))]
