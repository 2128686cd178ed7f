"""Builders that ship. A builder is `build(hp, input_shape, n_outputs) -> keras.Model`.

They read optional model hyperparameters from `hp.values` with defaults, so a spec may search
them or leave them alone. A model returned uncompiled is compiled by the tool (the task's loss,
the spec's metric, Adam at `learning_rate`).
"""

from __future__ import annotations

import math

import keras
import keras_tuner as kt


def _head(x, n_outputs: int):
    """Softmax over the classes, or one linear unit for regression (`n_outputs == 1`)."""
    if n_outputs == 1:
        return keras.layers.Dense(1)(x)
    return keras.layers.Dense(n_outputs, activation="softmax")(x)


def mlp(hp: kt.HyperParameters, input_shape: tuple[int, ...], n_outputs: int) -> keras.Model:
    """Dense layers; reads `units` (64), `layers` (1), `dropout` (0.0), `activation` (relu)."""
    units = int(hp.values.get("units", 64))
    dropout = float(hp.values.get("dropout", 0.0))
    activation = str(hp.values.get("activation", "relu"))
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    for _ in range(int(hp.values.get("layers", 1))):
        x = keras.layers.Dense(units, activation=activation)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    return keras.Model(inputs, _head(x, n_outputs), name="mlp")


def regression_mlp(
    hp: kt.HyperParameters, input_shape: tuple[int, ...], n_outputs: int
) -> keras.Model:
    """Two narrow dense layers and one linear output; reads `units` (32), `l2` (0.0)."""
    units = int(hp.values.get("units", 32))
    l2 = float(hp.values.get("l2", 0.0))
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for _ in range(2):
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer)(x)
    return keras.Model(inputs, keras.layers.Dense(n_outputs)(x), name="regression_mlp")


def cnn(hp: kt.HyperParameters, input_shape: tuple[int, ...], n_outputs: int) -> keras.Model:
    """A small CNN for square grey images given flat (digits: 64 values -> 8x8); reads
    `filters` (16), `kernel_size` (3), `dense_units` (32)."""
    size = math.prod(input_shape)
    side = math.isqrt(size)
    if side * side != size:
        raise ValueError(f"cnn expects a square image, got {size} features per sample")
    filters = int(hp.values.get("filters", 16))
    kernel = int(hp.values.get("kernel_size", 3))
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Reshape((side, side, 1))(inputs)
    x = keras.layers.Conv2D(filters, kernel, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(filters * 2, kernel, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(int(hp.values.get("dense_units", 32)), activation="relu")(x)
    return keras.Model(inputs, _head(x, n_outputs), name="cnn")
