import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from clusterfinder.crossmatch import friends_of_friends, match_nearest


def _brute_force_separations(a, b):
    ra1, dec1 = np.radians(a.ra.deg)[:, None], np.radians(a.dec.deg)[:, None]
    ra2, dec2 = np.radians(b.ra.deg)[None, :], np.radians(b.dec.deg)[None, :]
    hav = (
        np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    )
    return np.degrees(2 * np.arcsin(np.sqrt(hav))) * 3600


@pytest.fixture
def random_sources():
    rng = np.random.default_rng(42)
    return SkyCoord(rng.uniform(10, 10.02, 400) * u.deg, rng.uniform(41, 41.02, 400) * u.deg)


def test_friends_of_friends_agrees_with_brute_force(random_sources):
    groups = friends_of_friends(random_sources, 2 * u.arcsec)
    linked = _brute_force_separations(random_sources, random_sources) < 2
    # Linked sources share a group; the groups are exactly the connected components.
    i, j = np.nonzero(linked)
    assert np.all(groups[i] == groups[j])
    n_components = 0
    seen = np.zeros(len(groups), bool)
    for start in range(len(groups)):
        if seen[start]:
            continue
        n_components += 1
        stack = [start]
        seen[start] = True
        while stack:
            k = stack.pop()
            for m in np.nonzero(linked[k] & ~seen)[0]:
                seen[m] = True
                stack.append(m)
    assert groups.max() + 1 == n_components
    # Groups are numbered in order of first appearance.
    _, first = np.unique(groups, return_index=True)
    assert np.all(np.diff(first) > 0)


def test_match_nearest_agrees_with_brute_force(random_sources):
    catalog = random_sources[::3]
    rng = np.random.default_rng(1)
    shifted = SkyCoord(
        random_sources.ra + rng.normal(0, 0.3, len(random_sources)) * u.arcsec,
        random_sources.dec + rng.normal(0, 0.3, len(random_sources)) * u.arcsec,
    )
    index, separation, matched = match_nearest(shifted, catalog, 1.5 * u.arcsec)
    sep = _brute_force_separations(shifted, catalog)
    nearest = sep.argmin(axis=1)
    within = sep.min(axis=1) <= 1.5
    assert np.array_equal(matched, within)
    assert np.array_equal(index[within], nearest[within])
    assert np.all(index[~within] == -1)
    assert np.allclose(separation.arcsec, sep.min(axis=1), atol=1e-6)


def test_empty_and_single_entry_catalogues():
    sources = SkyCoord([10, 10.0001] * u.deg, [41, 41] * u.deg)
    index, separation, matched = match_nearest(sources, sources[:0], 1 * u.arcsec)
    assert index.tolist() == [-1, -1] and not matched.any() and np.isnan(separation).all()
    index, _, matched = match_nearest(sources, sources[1:], 1 * u.arcsec)
    assert index.tolist() == [0, 0] and matched.all()
    assert friends_of_friends(sources[:0], 1 * u.arcsec).shape == (0,)
    assert friends_of_friends(sources[0], 1 * u.arcsec).tolist() == [0]


def test_bad_radius_and_coordinates():
    sources = SkyCoord([10, 11] * u.deg, [41, 41] * u.deg)
    with pytest.raises(TypeError, match="radius"):
        friends_of_friends(sources, 1.0)
    with pytest.raises(TypeError, match="radius"):
        match_nearest(sources, sources, 1 * u.kpc)
    with pytest.raises(ValueError, match="radius"):
        friends_of_friends(sources, -1 * u.arcsec)
    with pytest.raises(TypeError, match="catalog_coords"):
        match_nearest(sources, [(10, 41)], 1 * u.arcsec)
