"""The default experiment's data: a synthetic classification task that scikit-learn generates
from a fixed seed, so every machine gets the same rows and nothing is downloaded.

1,500 rows of 20 features (10 informative), 4 classes of 3 clusters each, and 20% of the
labels replaced at random. A wide network learns the clusters first and then memorises the
replaced labels, so its validation loss turns once it has made enough updates; how soon that
happens depends on `steps_per_epoch`.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_classification


def noisy_classes() -> tuple[np.ndarray, np.ndarray]:
    """(x, y): x float32 of shape (1500, 20), y the class (0 to 3) of each row; seed 0."""
    x, y = make_classification(n_samples=1500, n_features=20, n_informative=10,
                               n_redundant=0, n_classes=4, n_clusters_per_class=3,
                               flip_y=0.2, class_sep=1.5, random_state=0)
    return x.astype(np.float32), y
