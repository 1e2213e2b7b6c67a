"""Tests of leak-free train/validation/test splits."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from clusterfinder.labels import LabelSet
from clusterfinder.labels.readers import read_phat_ap
from clusterfinder.labels.split import group_split, leak_groups


def clustered_labels(n_clumps=60, per_clump=5, n_single=300, seed=0):
    """Sources in tight clumps (neighbours within a few arcsec) plus isolated ones."""
    rng = np.random.default_rng(seed)
    centers_ra = 10 + rng.random(n_clumps)
    centers_dec = 41 + rng.random(n_clumps)
    ra = np.repeat(centers_ra, per_clump) + rng.normal(0, 1.0 / 3600, n_clumps * per_clump)
    dec = np.repeat(centers_dec, per_clump) + rng.normal(0, 1.0 / 3600, n_clumps * per_clump)
    ra = np.r_[ra, 10 + rng.random(n_single)]
    dec = np.r_[dec, 41 + rng.random(n_single)]
    labels = (rng.random(len(ra)) < 0.3).astype(int)
    table = QTable({"coord": SkyCoord(ra * u.deg, dec * u.deg), "label": labels})
    table["name"] = [str(k) for k in range(len(table))]
    return LabelSet(table)


def cross_split_pairs(parts, radius):
    """Number of pairs closer than radius that lie in different parts (brute force)."""
    coords = SkyCoord([p.coords for p in parts])
    which = np.concatenate([np.full(len(p), k) for k, p in enumerate(parts)])
    sep = coords[:, None].separation(coords[None, :])
    close = sep < radius
    return int(np.sum(close & (which[:, None] != which[None, :])))


def test_split_has_no_cross_split_neighbours_and_respects_fractions():
    labels = clustered_labels()
    radius = 5 * u.arcsec
    parts = labels.split((0.7, 0.15, 0.15), radius=radius, seed=0)
    assert [p.table["split"][0] for p in parts] == ["train", "validation", "test"]
    assert sum(len(p) for p in parts) == len(labels)
    names = np.concatenate([np.asarray(p.table["name"]) for p in parts])
    assert sorted(names.tolist()) == sorted(labels.table["name"].tolist())
    # The clumps really are neighbours, so a naive random split would leak.
    assert cross_split_pairs(parts, radius) == 0
    rng = np.random.default_rng(0)
    naive = rng.permutation(len(labels))
    naive_parts = [labels[naive[:420]], labels[naive[420:510]], labels[naive[510:]]]
    assert cross_split_pairs(naive_parts, radius) > 0
    fractions = np.array([len(p) for p in parts]) / len(labels)
    assert np.allclose(fractions, (0.7, 0.15, 0.15), atol=0.02)
    # Each class is split in about the same proportions.
    for cls_count in ([p.n_positive for p in parts], [p.n_negative for p in parts]):
        assert np.allclose(np.array(cls_count) / sum(cls_count), (0.7, 0.15, 0.15), atol=0.04)
    record = parts[0].meta["split"]
    assert record["part"] == "train" and record["fractions"] == [0.7, 0.15, 0.15]
    assert np.allclose(record["reached"], fractions)


def test_split_is_seeded():
    labels = clustered_labels()
    a = [list(p.table["name"]) for p in labels.split(seed=3)]
    b = [list(p.table["name"]) for p in labels.split(seed=3)]
    c = [list(p.table["name"]) for p in labels.split(seed=4)]
    assert a == b and a != c


def test_two_way_split():
    train, test = clustered_labels().split((0.8, 0.2), seed=1)
    assert set(train.table["split"]) == {"train"} and set(test.table["split"]) == {"test"}
    assert len(train) / (len(train) + len(test)) == pytest.approx(0.8, abs=0.02)


def test_block_split_keeps_sky_blocks_whole():
    labels = clustered_labels(n_single=600)
    block = 6 * u.arcmin
    parts = labels.split((0.6, 0.2, 0.2), radius=5 * u.arcsec, block_size=block, seed=0)
    groups = leak_groups(labels.coords, radius=5 * u.arcsec, block_size=block)
    assert groups.max() + 1 < len(labels) / 2  # blocks really group sources
    # Sources of one group are all in one part.
    part_of = {}
    for k, p in enumerate(parts):
        part_of.update(dict.fromkeys(p.table["name"], k))
    split = np.array([part_of[name] for name in labels.table["name"]])
    for g in np.unique(groups):
        assert len(np.unique(split[groups == g])) == 1
    fractions = np.array([len(p) for p in parts]) / len(labels)
    assert np.allclose(fractions, (0.6, 0.2, 0.2), atol=0.06)


def test_real_phat_split_has_no_leaks():
    phat = LabelSet.from_catalogs([read_phat_ap()])
    radius = 10 * u.arcsec
    parts = phat.split(radius=radius, seed=0)
    assert cross_split_pairs(parts, radius) == 0
    fractions = np.array([len(p) for p in parts]) / len(phat)
    assert np.allclose(fractions, (0.7, 0.15, 0.15), atol=0.01)


def test_group_split_large_groups():
    # One group holds half of the sources: it must go to the largest part.
    groups = np.r_[np.zeros(50, int), np.arange(1, 51)]
    labels = np.zeros(100, int)
    labels[::2] = 1
    split = group_split(groups, labels, (0.7, 0.3), seed=0)
    assert np.all(split[:50] == 0)
    assert np.bincount(split).tolist() == [70, 30]


def test_split_bad_input():
    labels = clustered_labels()
    with pytest.raises(ValueError, match="sum to 1"):
        labels.split((0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="2 or 3 numbers"):
        labels.split((1.0,))
    with pytest.raises(TypeError, match="sequence of numbers"):
        labels.split("abc")
    with pytest.raises(TypeError, match="angle"):
        labels.split(radius=5)
    with pytest.raises(ValueError, match="positive angle"):
        labels.split(block_size=0 * u.deg)
    with pytest.raises(ValueError, match="empty"):
        labels[:0].split()
