"""Sources fainter than every training source are flagged, not silently classified."""

import numpy as np
from classifier_helpers import make_blobs

from clusterfinder import ClusterClassifier
from clusterfinder.simulate import simulate_field


def test_model_records_training_magnitudes_and_flags_fainter_sources():
    train, val = make_blobs(64, seed=1, size=16), make_blobs(32, seed=2, size=16)
    clf = ClusterClassifier("small_cnn", bands=("g", "i"), cutout_size=16, seed=0)
    clf.fit(train, val, epochs=1, batch_size=32, seed=0)
    low, high = clf.training["mag_range"]["g"]
    assert low == np.min(train.table["mag_g"]) and high == np.max(train.table["mag_g"])
    assert "i" not in clf.training["mag_range"]  # the blobs carry no mag_i
    field = simulate_field(size=384, seed=3)
    found = clf.find_candidates(field.images, keep_all=True)
    mags = np.asarray(found["mag_g"], dtype=float)
    assert np.array_equal(np.asarray(found["flag_faint"]), np.nan_to_num(mags, nan=-99) > high)
    assert found["flag_faint"].any() and not found["flag_faint"].all()
