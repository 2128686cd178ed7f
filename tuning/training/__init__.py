"""One trial's training: the HyperModel, its callbacks, its budget and its holdout score."""
