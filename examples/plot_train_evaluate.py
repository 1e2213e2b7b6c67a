"""
Training and evaluating a classifier
====================================

This example trains a small convolutional network to tell star clusters from
everything else in simulated PAndAS *g*/*i* stamps, then evaluates it the way
Zhang et al. (2025) compared their models: purity (precision), recall and F1
over a grid of classification thresholds x limiting magnitudes.

The settings are tiny so that the example runs in about a minute on two CPU
cores: 16 simulated fields of 1024 x 1024 pixels, about 1,000 stamps, a
``small_cnn`` of half the usual width trained for a few epochs. A real model is trained on tens of
thousands of stamps for tens of epochs, ideally on a GPU, and compared with
deeper networks (``resnet18``, ``resnet50``). All numbers here are measured on
simulated stamps: they say how well the model separates the simulator's
clusters from its contaminants, not how it does on real PAndAS images.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from clusterfinder import ClusterClassifier
from clusterfinder.classifier.plotting import mistakes, plot_mosaic
from clusterfinder.datasets import simulated_stamps

# %%
# Labelled stamps
# ---------------
# `~clusterfinder.datasets.simulated_stamps` simulates fields at random places
# of the M31 disc (deprojected radius 4-20 kpc, each with its own seeing),
# labels every object brighter than g = 23 from the truth table (young and old
# clusters 1; stars, asterisms, galaxies and HII regions 0) and cuts a 32 x 32
# pixel stamp (6") per object. Training, validation and test stamps come from
# different fields (different seeds), so that nothing leaks between them.

start = time.perf_counter()
train = simulated_stamps(n_fields=10, size=1024, cutout_size=32, seed=100)
validation = simulated_stamps(n_fields=3, size=1024, cutout_size=32, seed=200)
test = simulated_stamps(n_fields=3, size=1024, cutout_size=32, seed=300)
for name, part in [("train", train), ("validation", validation), ("test", test)]:
    labels = np.asarray(part.table["label"])
    print(f"{name:>10}: {len(part):4d} stamps, {labels.sum():3d} clusters")
print(f"simulated in {time.perf_counter() - start:.0f} s")

# %%
# What the network sees: the g band of a few clusters (top two rows) and of a
# few other objects, on an asinh stretch.

rng = np.random.default_rng(0)
labels = np.asarray(train.table["label"])
shown = np.concatenate(
    [
        rng.choice(np.flatnonzero(labels == 1), 12, replace=False),
        rng.choice(np.flatnonzero(labels == 0), 12, replace=False),
    ]
)
kinds = [str(k).replace("_", " ") for k in train.table["kind"][shown]]
fig = plot_mosaic(train, shown, band="g", ncols=6, titles=kinds)
fig.suptitle("Simulated stamps, g band")

# %%
# Training
# --------
# ``fit`` trains with random rotations, flips and sub-pixel shifts, weighs the
# clusters by the class ratio, keeps the weights of the best validation loss,
# and chooses the decision threshold that maximises F1 on the validation
# stamps.

clf = ClusterClassifier(
    "small_cnn",
    bands=("g", "i"),
    cutout_size=32,
    seed=0,
    architecture_options={"widths": (16, 24, 32, 48)},  # half the default widths: quicker
)
start = time.perf_counter()
history = clf.fit(train, validation, epochs=8, batch_size=64, learning_rate=3e-3, patience=4)
print(f"trained in {time.perf_counter() - start:.0f} s; threshold {clf.threshold:.3f}")
for name in ("train_loss", "val_loss", "val_auc"):
    history[name].info.format = ".3f"
history["epoch", "train_loss", "val_loss", "val_auc"].pprint(max_width=-1)

# %%
# Evaluation on the test fields
# -----------------------------
# Scalar metrics at the chosen threshold, then the grid. Each row of the grid
# counts the stamps brighter than its limiting magnitude.

evaluation = clf.evaluate(test, mag_limits=(20, 21, 22, 23))
print(evaluation)
grid = evaluation.grid
for name in ("purity", "recall", "f1", "accuracy"):
    grid[name].info.format = ".3f"
at_half = grid[np.isclose(grid["threshold"], 0.5)]
at_half["mag_limit", "n", "n_positive", "purity", "recall", "f1"].pprint(max_width=-1)

# %%
# The purity-recall curve, with the point of the chosen threshold, and the F1
# score over thresholds x limiting magnitudes. Zhang et al. (2025) read the
# same kind of grid to find that their ResNet-50 works best below 21 mag and
# to choose their threshold (0.669).

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
evaluation.plot_pr_curve(ax=left)
left.set_title("Test stamps (simulated)")
evaluation.plot_grid("f1", ax=right)
right.set_title("F1, threshold x limiting magnitude")
fig.tight_layout()

# %%
# The mistakes
# ------------
# False positives (objects called clusters) and false negatives (missed
# clusters) are what to look at before trusting a model; their kinds say which
# contaminants it confuses.

false_pos, false_neg = mistakes(evaluation)
print(f"{len(false_pos)} false positives, {len(false_neg)} false negatives")
kinds, counts = np.unique(np.asarray(test.table["kind"])[false_pos], return_counts=True)
print("false positives by kind:", dict(zip(kinds.tolist(), counts.tolist(), strict=True)))
proba = evaluation.probabilities
shown = np.concatenate([false_pos[:6], false_neg[:6]])
titles = [f"{test.table['kind'][i]}\np={proba[i]:.2f}".replace("_", " ") for i in shown]
if len(shown):
    fig = plot_mosaic(test, shown, band="g", ncols=6, titles=titles)
    fig.suptitle("False positives, then false negatives")
plt.show()

# %%
# Saving
# ------
# ``clf.save("my_model")`` writes ``my_model.safetensors`` and
# ``my_model.json`` (bands, stamp size, pixel scale, threshold, training data
# and metrics); ``ClusterClassifier.load("my_model.safetensors")`` reads it
# back. See :doc:`/training` for a model of another survey.
