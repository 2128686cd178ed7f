"""A test builder whose model counts the batches and rows it really trains on.

The counters live outside the model, so restoring the best epoch's weights cannot reset them.
"""

from __future__ import annotations

import keras
import tensorflow as tf

#: [batches, rows] trained on since the last `reset()`.
COUNTS = tf.Variable([0, 0], dtype=tf.int64, trainable=False)
#: Size of every batch trained on, in order.
SIZES: list[int] = []


def reset() -> None:
    COUNTS.assign([0, 0])
    SIZES.clear()


def _note(size) -> None:
    SIZES.append(int(size))


class CountingModel(keras.Model):
    def train_step(self, data):
        x, _ = data
        size = tf.cast(tf.shape(x)[0], tf.int64)
        COUNTS.assign_add(tf.stack([tf.constant(1, tf.int64), size]))
        tf.py_function(_note, [size], [])
        return super().train_step(data)


def build(hp, input_shape, n_outputs):
    inputs = keras.Input(shape=input_shape)
    outputs = keras.layers.Dense(n_outputs, activation="softmax")(inputs)
    return CountingModel(inputs, outputs)
