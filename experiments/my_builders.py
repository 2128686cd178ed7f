"""An example of a user's own builder, found beside the spec that names it.

A spec selects it with `builder = "my_builders:tabular"`. The tool calls
`build(hp, input_shape, n_outputs)` once per trial:

- `hp` is the trial's `keras_tuner.HyperParameters`. Every name under `[search.space]` is in
  `hp.values`, except the ones a condition switched off for this trial, so read them with
  `hp.values.get(name, default)`. `steps_per_epoch`, `validation_split`, `batch_size` and
  `shuffle` are the tool's (they shape training, not the model); `learning_rate` is also
  the rate of the Adam optimizer the tool compiles with.
- `input_shape` is one sample's shape (no batch dimension); `n_outputs` the number of
  classes, or 1 for regression.
- Return the model uncompiled to get the task's loss, the spec's metric and Adam; return it
  compiled to keep your own choices (it must then report the spec's metric).

A conditional hyperparameter is searched only while its parent has a given value:

    regularizer = ["none", "dropout", "l2"]
    dropout = { values = [0.2, 0.5], when = { regularizer = "dropout" } }
    l2 = { min = 1e-5, max = 1e-2, sampling = "log", when = { regularizer = "l2" } }

so a trial with `regularizer = "l2"` has an `l2` value and no `dropout`, and the builder
only reads the one that applies.
"""

from __future__ import annotations

import keras
import keras_tuner as kt


def tabular(hp: kt.HyperParameters, input_shape: tuple[int, ...], n_outputs: int) -> keras.Model:
    """Dense layers for table rows, regularized by dropout, by L2 or not at all."""
    regularizer = str(hp.values.get("regularizer", "none"))
    units = int(hp.values.get("units", 32))
    kernel_regularizer = None
    if regularizer == "l2":
        kernel_regularizer = keras.regularizers.L2(float(hp.values["l2"]))
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for _ in range(2):
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=kernel_regularizer)(x)
        if regularizer == "dropout":
            x = keras.layers.Dropout(float(hp.values["dropout"]))(x)
    outputs = keras.layers.Dense(n_outputs, activation="softmax" if n_outputs > 1 else None)(x)
    return keras.Model(inputs, outputs, name="tabular")
