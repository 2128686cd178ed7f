"""Scoring a trained model on rows it never trained on, from one forward pass.

A trial needs two things of its holdout: the compiled loss and metrics (what ranks it) and
what it predicted row by row (for the paired tests). `evaluate` and `predict` would each run
the model over the rows; here the outputs of one `predict` give both, wherever that is
exactly what `evaluate` computes: Keras's own test step, loss and metrics, and no
regularization losses (which `evaluate` adds to the loss batch by batch). Any other model is
scored by `evaluate`.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

#: Output values scored at once: the loss and metrics run over slices of the outputs, so
#: scoring never holds much more than the outputs themselves.
SLICE_VALUES = 1 << 22
_OWN_STEPS = ("test_step", "predict_step", "compute_loss", "compute_metrics")


def outputs(model: keras.Model, x: Any, batch_size: int) -> np.ndarray:
    """The model's outputs for `x` (an array, or a finite dataset of batches), as `evaluate`
    computes them (inference mode)."""
    if isinstance(x, np.ndarray):
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    return np.asarray(model.predict(x, verbose=0))


def scores(model: keras.Model, x: Any, y: np.ndarray, out: np.ndarray,
           batch_size: int) -> dict[str, float]:
    """`evaluate`'s loss and metrics for (x, y), from the outputs `out` when they suffice;
    `x` is an array, or a finite dataset of (features, labels) batches holding `y`."""
    if not scored_by_outputs(model):
        if isinstance(x, np.ndarray):
            result = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        else:
            result = model.evaluate(x, verbose=0, return_dict=True)
        return {name: float(value) for name, value in result.items()}
    model.reset_metrics()
    step = max(1, SLICE_VALUES // max(1, int(np.prod(out.shape[1:]))))
    total, result = 0.0, {}
    for start in range(0, len(y), step):
        part_y, part_out = y[start:start + step], out[start:start + step]
        total += float(model.compute_loss(y=part_y, y_pred=part_out, training=False)) * len(part_y)
        result = model.compute_metrics(None, part_y, part_out)
    scored = {name: float(value) for name, value in result.items()}
    scored["loss"] = total / len(y)  # the mean over rows, as evaluate's batch-weighted mean
    return scored


def scored_by_outputs(model: keras.Model) -> bool:
    """True when the outputs give exactly what `evaluate` would: Keras's own steps, loss and
    metrics, and no regularization loss."""
    own = all(getattr(type(model), name, None) is getattr(keras.Model, name)
              for name in _OWN_STEPS)
    return own and not model.losses


def row_predictions(model: keras.Model, out: np.ndarray, y: np.ndarray,
                    classification: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(predicted class or value per row, the compiled loss per row or None).

    Classes are stored as small integers and values as float32, so a record's predictions
    stay a few kilobytes. The per-row loss uses the model's own compiled loss where Keras can
    apply it row by row.
    """
    if classification:
        pred = (out[:, 0] > 0.5) if out.ndim == 2 and out.shape[1] == 1 else out.argmax(-1)
        pred = pred.astype(np.int32 if out.shape[-1] > 32767 else np.int16)
    else:
        pred = out.reshape(len(out)).astype(np.float32)
    try:
        loss_fn = keras.losses.get(model.loss)
        call = loss_fn.call if isinstance(loss_fn, keras.losses.Loss) else loss_fn
        target = y if classification else y.reshape(out.shape)
        loss = np.asarray(call(target, out), dtype=np.float32).reshape(len(out))
    except (TypeError, ValueError, AttributeError):
        loss = None  # a loss Keras cannot apply per row: losses are then not paired
    return pred, loss
