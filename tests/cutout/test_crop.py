"""Cutout.crop gives the stamps that a smaller cut would have given."""

import astropy.units as u
import numpy as np
import pytest
from cutout_helpers import make_wcs

from clusterfinder import Cutout


@pytest.fixture
def image_and_positions():
    rng = np.random.default_rng(7)
    image = rng.normal(size=(150, 160)).astype(np.float32)
    image[40:45, 60:70] = np.nan
    x = rng.uniform(40, 120, 60)
    y = rng.uniform(40, 110, 60)
    return (image, make_wcs(crpix=(80.5, 75.5))), np.column_stack([x, y])


@pytest.mark.parametrize("size", [32, 21, 16, 9])
def test_crop_equals_a_direct_cut(image_and_positions, size):
    image, positions = image_and_positions
    wide = Cutout.from_images({"g": image}, positions, cutout_size=48, zero_points=30)
    direct = Cutout.from_images({"g": image}, positions, cutout_size=size, zero_points=30)
    cropped = wide.crop(size)
    assert cropped.stamp_size == size
    np.testing.assert_array_equal(cropped.data, direct.data)
    np.testing.assert_array_equal(cropped.mask, direct.mask)
    np.testing.assert_allclose(cropped.table["x_stamp"], direct.table["x_stamp"])
    np.testing.assert_allclose(cropped.table["y_stamp"], direct.table["y_stamp"])
    for k in (0, 17, 59):
        np.testing.assert_allclose(
            cropped.stamp_wcs(k).wcs.crpix, direct.stamp_wcs(k).wcs.crpix, atol=1e-12
        )
        assert cropped.stamp_wcs(k).pixel_shape == (size, size)
    # the source stays where the WCS says it is
    sky = cropped.coords
    x, y = cropped.stamp_wcs(3).world_to_pixel(sky[3])
    assert abs(x - cropped.table["x_stamp"][3]) < 1e-6
    assert abs(y - cropped.table["y_stamp"][3]) < 1e-6


def test_crop_leaves_the_original_alone(image_and_positions):
    image, positions = image_and_positions
    wide = Cutout.from_images({"g": image}, positions[:5], cutout_size=20, zero_points=30)
    before = wide.data.copy(), np.asarray(wide.table["x_stamp"]).copy()
    wide.crop(10)
    np.testing.assert_array_equal(wide.data, before[0])
    np.testing.assert_array_equal(wide.table["x_stamp"], before[1])


def test_crop_without_positions_or_table_takes_the_middle():
    data = np.arange(3 * 2 * 9 * 9, dtype=np.float32).reshape(3, 2, 9, 9)
    small = Cutout(data, bands=("g", "i")).crop(5)
    np.testing.assert_array_equal(small.data, data[:, :, 2:7, 2:7])
    assert small.stamp_wcs(0) is None
    assert Cutout(data, bands=("g", "i")).crop(9).data.shape == data.shape


def test_crop_to_an_angle(image_and_positions):
    image, positions = image_and_positions
    wide = Cutout.from_images({"g": image}, positions[:4], cutout_size=40, zero_points=30)
    # 0.186 arcsec pixels: 3 arcsec is 16.1 pixels, rounded to the odd 17
    assert wide.crop(3 * u.arcsec).stamp_size == 17


def test_crop_refuses_a_larger_size_or_nonsense():
    cut = Cutout(np.zeros((2, 1, 8, 8)), bands="g")
    with pytest.raises(ValueError, match="larger size"):
        cut.crop(9)
    with pytest.raises(ValueError, match="at least 1 pixel"):
        cut.crop(0)
    with pytest.raises(TypeError, match="size"):
        cut.crop("big")
