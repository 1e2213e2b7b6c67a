"""The cluster classifier: architectures, input transform, training, metrics, weights.

`ClusterClassifier` is the public entry point; the other names are the parts
it is made of, for users who want to build their own models or evaluations.
"""

from .architectures import build_model, list_architectures
from .classifier import ClusterClassifier
from .features import morphology_features
from .metrics import (
    Evaluation,
    binary_metrics,
    choose_threshold,
    compare_classifiers,
    pr_auc,
    precision_recall_curve,
    roc_auc,
    roc_curve,
    threshold_magnitude_grid,
)
from .transform import InputTransform
from .weights import WeightsEntry, list_weights, register_weights

__all__ = [
    "ClusterClassifier",
    "Evaluation",
    "InputTransform",
    "WeightsEntry",
    "binary_metrics",
    "build_model",
    "choose_threshold",
    "compare_classifiers",
    "list_architectures",
    "list_weights",
    "morphology_features",
    "pr_auc",
    "precision_recall_curve",
    "register_weights",
    "roc_auc",
    "roc_curve",
    "threshold_magnitude_grid",
]
