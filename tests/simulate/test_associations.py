"""OB associations among the simulator's hard negatives, checked on their draws and pixels."""

import dataclasses

import astropy.units as u
import numpy as np
import pytest

from clusterfinder.simulate import PANDAS, DomainRandomization, simulate_field
from clusterfinder.simulate.associations import (
    MEMBERS,
    RED_FRACTION,
    SUBGROUP_SIGMA_PC,
    draw_association,
)

PC_PER_PIXEL = 0.708  # 0.186" at 785 kpc
# Only asterisms (with which associations are drawn), dense, on a dark sky.
ASTERISMS = dataclasses.replace(PANDAS, densities={"asterism": 1e4})
FIELD = dict(
    size=768, seed=4, kinds=("asterism",), config=ASTERISMS, noise=False, disc_light=False,
    fwhm=0.6 * u.arcsec,
)  # fmt: skip


def draws(n=300, seed=1):
    rng = np.random.default_rng(seed)
    return [draw_association(rng, 0.0, 0.0, pc_per_pixel=PC_PER_PIXEL) for _ in range(n)]


def test_association_sizes_members_and_colours():
    """Diameters near Magnier et al.'s ~90 pc; member counts and blue fraction as documented."""
    drawn = draws()
    # The members outside sub-groups follow a Gaussian of sigma = diameter / 4.
    sigma_pc = [
        np.sqrt(0.5 * np.mean(a.x[a.group < 0] ** 2 + a.y[a.group < 0] ** 2)) * PC_PER_PIXEL
        for a in drawn
        if np.sum(a.group < 0) >= 8
    ]
    assert 70.0 < 4.0 * np.median(sigma_pc) < 110.0
    counts = np.array([a.x.size for a in drawn])
    assert counts.min() >= MEMBERS[0] and counts.max() <= MEMBERS[1]
    colors = np.concatenate([a.color for a in drawn])
    assert abs(np.mean(colors > 0.8) - RED_FRACTION) < 0.03
    assert abs(np.median(colors[colors < 0.8]) + 0.35) < 0.03


def test_subgroups_are_compact():
    """Members of a sub-group lie within a few parsecs of its centre, others spread widely."""
    for a in draws(50):
        inside = a.group >= 0
        if inside.sum() < 3 or (~inside).sum() < 3:
            continue
        offset = np.hypot(
            a.x[inside] - a.group_x[a.group[inside]], a.y[inside] - a.group_y[a.group[inside]]
        )
        assert np.all(offset < 5.0 * a.group_sigma[a.group[inside]])
        assert np.all(a.group_sigma * PC_PER_PIXEL <= SUBGROUP_SIGMA_PC[1])


def test_associations_only_with_hard_negatives():
    plain = simulate_field(**FIELD).truth
    hard = simulate_field(**FIELD, randomize=DomainRandomization(seeing=(0.6, 0.6),
                          seeing_median=0.6)).truth  # fmt: skip
    assert not np.any(plain["profile"] == "association")
    groups = hard[hard["profile"] == "association"]
    assert len(groups) >= 5
    assert np.all(groups["kind"] == "asterism") and np.all(groups["nstars"] >= 2)
    without = simulate_field(**FIELD, randomize=DomainRandomization(
        seeing=(0.6, 0.6), seeing_median=0.6, associations=False)).truth  # fmt: skip
    assert not np.any(without["profile"] == "association")
    # The other hard negatives are the same draws.
    chance = [t[t["profile"] == "asterism"] for t in (hard, without)]
    assert len(chance[0]) and np.array_equal(chance[0]["x"], chance[1]["x"])
    # Their members outside sub-groups are disc stars.
    assert np.sum(hard["kind"] == "m31_star") > 2 * len(groups)


def test_subgroups_are_extended_lumps_on_the_image():
    """Measured on the pixels: sub-groups are wider than a star and hold their light."""
    field = simulate_field(**{**FIELD, "size": 1200}, randomize=DomainRandomization(
        seeing=(0.6, 0.6), seeing_median=0.6, kolmogorov_fraction=0.0, beta=(3.0, 3.0),
        ellipticity=(0.0, 0.0), halo_probability=0.0, sky_residual=(0.0, 0.0),
        oversubtraction=(0.0, 0.0)))  # fmt: skip
    truth, image = field.truth, field.images["i"].data.astype(float)
    zero_point = field.images["i"].header["PHOTZP"]
    ny, nx = image.shape
    yy, xx = np.mgrid[0:ny, 0:nx]

    def light(x, y, radius):
        inside = np.hypot(xx - x, yy - y) < radius
        w = image * inside
        total = w.sum()
        size = np.sqrt(np.sum(w * ((xx - x) ** 2 + (yy - y) ** 2)) / total)
        return total, size

    psf_pixels = 0.6 / PANDAS.arcsec_per_pixel
    sizes, ratios = [], []
    groups = truth[(truth["profile"] == "association") & (truth["nstars"] >= 3)]
    for row in groups:
        x, y = float(row["x"]), float(row["y"])
        reff = row["reff"].to_value(u.arcsec) / PANDAS.arcsec_per_pixel
        radius = 3.0 * reff + 2.0 * psf_pixels
        if not (radius < x < nx - radius and radius < y < ny - radius):
            continue
        total, size = light(x, y, radius)
        ratios.append(-2.5 * np.log10(total) + zero_point - row["mag_i"])
        sizes.append(size)
    star = truth[(truth["kind"] == "m31_star") & (truth["mag_i"] < 21)][0]
    _, star_size = light(float(star["x"]), float(star["y"]), 2.0 * psf_pixels)
    assert len(sizes) >= 6
    assert np.median(sizes) > 1.5 * star_size
    # At least their own light falls in the aperture (neighbours only add), reddened.
    assert max(ratios) < 0.3


@pytest.mark.parametrize("seed", [0, 1])
def test_association_draw_reproducible(seed):
    a, b = draws(3, seed), draws(3, seed)
    for one, two in zip(a, b, strict=True):
        assert np.array_equal(one.x, two.x) and np.array_equal(one.mag_g, two.mag_g)
