"""The shipped builders build and learn on the data they are meant for, for real."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits

from tuning import models

pytestmark = pytest.mark.slow  # every test here trains or runs a search


def _hp(**values) -> kt.HyperParameters:
    hp = kt.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def _standard(x: np.ndarray) -> np.ndarray:
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return ((x - x.mean(axis=0)) / std).astype(np.float32)


def _losses(model: keras.Model, x, y, loss: str) -> list[float]:
    """Compile as the tool does for an uncompiled model, train three short passes (a few dozen
    steps), return the loss of each."""
    keras.utils.set_random_seed(0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss)
    history = model.fit(x, y, batch_size=64, epochs=3, verbose=0)
    return history.history["loss"]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return _standard(x[:512]), y[:512].astype(np.int32)


@pytest.mark.parametrize(
    ("builder", "hp"),
    [
        (models.mlp, _hp()),
        (models.mlp, _hp(units=32, layers=2, dropout=0.1, activation="tanh")),
        (models.cnn, _hp()),
        (models.cnn, _hp(filters=8, kernel_size=2, dense_units=16)),
    ],
)
def test_classifiers_learn_digits(builder, hp, digits) -> None:
    x, y = digits
    model = builder(hp, x.shape[1:], 10)
    assert model.output_shape == (None, 10)
    losses = _losses(model, x, y, "sparse_categorical_crossentropy")
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    probabilities = model.predict(x[:5], verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("hp", [_hp(), _hp(units=16, l2=1e-3)])
def test_regression_mlp_learns_diabetes(hp) -> None:
    x, y = load_diabetes(return_X_y=True)
    x, y = _standard(x), ((y - y.mean()) / y.std()).astype(np.float32)
    model = models.regression_mlp(hp, x.shape[1:], 1)
    assert model.output_shape == (None, 1)
    assert len(model.losses) == (2 if hp.values.get("l2") else 0)
    losses = _losses(model, x, y, "mse")
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]


def test_mlp_has_a_linear_head_for_regression() -> None:
    model = models.mlp(_hp(), (10,), 1)
    assert model.output_shape == (None, 1)
    assert model.layers[-1].activation is keras.activations.linear


def test_cnn_refuses_features_that_are_not_a_square_image() -> None:
    with pytest.raises(ValueError, match="square image"):
        models.cnn(_hp(), (10,), 3)
