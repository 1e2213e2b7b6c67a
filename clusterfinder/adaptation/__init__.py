"""Adapting a trained classifier to a survey whose stamps carry no labels.

A model trained on one sky (the simulator) loses quality on another (a real survey,
or the outside renderer that stands in for one) when their pixels differ in ways
training did not cover. Unsupervised domain adaptation uses the target survey's
own stamps, without labels, to move the model towards it:

- **AdaBN** (`adapt_batchnorm`; Li et al. 2016): the statistics of every
  batch-normalisation layer are measured again on the target stamps; the weights
  stay as they are. Cheap (one pass over the stamps) and free of tuning;
- **MMD** (`adapt_mmd`; Long et al. 2015; Ciprijanovic et al. 2021 for galaxy
  mergers): the network is trained further on its labelled source stamps while a
  maximum mean discrepancy between the features of source and target stamps (the
  input of the last linear layer) is minimised, so that the two skies look alike to
  the classifier.

`ClusterClassifier.adapt <clusterfinder.ClusterClassifier.adapt>` runs either on a
classifier and records what it was adapted on with the model
(``training["adaptation"]``).
"""

from .batchnorm import adapt_batchnorm, batchnorm_layers
from .mmd import adapt_mmd, feature_layer, mmd2

__all__ = [
    "ADAPTATION_METHODS",
    "adapt_batchnorm",
    "adapt_mmd",
    "batchnorm_layers",
    "feature_layer",
    "mmd2",
]

#: The methods of `ClusterClassifier.adapt <clusterfinder.ClusterClassifier.adapt>`.
ADAPTATION_METHODS = ("adabn", "mmd")
