"""Holdout scores from one forward pass: the same numbers `evaluate` gives, on real models
trained on real data; models whose scores the outputs cannot give go through `evaluate`."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

from tuning.training import holdout

pytestmark = pytest.mark.slow  # every test here trains or runs a search


def _standardised(x: np.ndarray) -> np.ndarray:
    return ((x - x.mean(0)) / (x.std(0) + 1e-9)).astype(np.float32)


def _digits():
    x, y = load_digits(return_X_y=True)
    return (_standardised(x), y.astype(np.int64), 10, "softmax",
            "sparse_categorical_crossentropy", ["accuracy"])


def _cancer():
    x, y = load_breast_cancer(return_X_y=True)
    return (_standardised(x), y.astype(np.float32), 1, "sigmoid", "binary_crossentropy",
            ["accuracy", "auc"])


def _diabetes():
    x, y = load_diabetes(return_X_y=True)
    return _standardised(x), ((y - y.mean()) / y.std()).astype(np.float32), 1, None, "mse", ["mae"]


def _trained(case, regularized: bool = False) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    x, y, units, activation, loss, metrics = case()
    keras.utils.set_random_seed(0)
    regularizer = keras.regularizers.L2(0.01) if regularized else None
    model = keras.Sequential([keras.Input((x.shape[1],)),
                              keras.layers.Dense(16, activation="relu",
                                                 kernel_regularizer=regularizer),
                              keras.layers.Dense(units, activation=activation)])
    model.compile(optimizer="adam", loss=loss, metrics=metrics)
    model.fit(x[:300], y[:300], batch_size=32, epochs=2, validation_data=(x[300:400], y[300:400]),
              verbose=0)
    return model, x[400:], y[400:]


@pytest.mark.parametrize("case", [_digits, _cancer, _diabetes])
@pytest.mark.parametrize("batch_size", [7, 64])
def test_scores_from_the_outputs_are_evaluates(case, batch_size, monkeypatch):
    model, x, y = _trained(case)
    expected = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    assert holdout.scored_by_outputs(model)
    monkeypatch.setattr(holdout, "SLICE_VALUES", 50)  # several slices, as on large outputs
    scored = holdout.scores(model, x, y, holdout.outputs(model, x, batch_size), batch_size)
    assert scored.keys() == expected.keys()
    for name, value in expected.items():
        assert scored[name] == pytest.approx(float(value), rel=1e-5, abs=1e-6), name


def test_a_model_with_a_regularization_loss_is_scored_by_evaluate():
    model, x, y = _trained(_digits, regularized=True)
    assert not holdout.scored_by_outputs(model)  # evaluate adds the penalty to the loss
    expected = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    scored = holdout.scores(model, x, y, holdout.outputs(model, x, 64), 64)
    assert scored["loss"] == pytest.approx(expected["loss"], rel=1e-6)
    penalty_free = float(np.mean(holdout.row_predictions(model, holdout.outputs(model, x, 64), y,
                                                         classification=True)[1]))
    assert scored["loss"] > penalty_free + 1e-3


def test_a_model_with_its_own_test_step_is_scored_by_evaluate():
    class Blind(keras.Sequential):
        """Scores itself on blanked inputs: not what its outputs on the rows say."""

        def test_step(self, data):
            x, y = data
            return super().test_step((x * 0.0, y))

    x, y, *_ = _digits()
    keras.utils.set_random_seed(0)
    model = Blind([keras.Input((x.shape[1],)), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=2, verbose=0)
    assert not holdout.scored_by_outputs(model)
    expected = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    scored = holdout.scores(model, x, y, holdout.outputs(model, x, 64), 64)
    assert scored["accuracy"] == pytest.approx(expected["accuracy"])
    assert scored["accuracy"] < 0.5  # blanked inputs; on the rows themselves it is far higher


@pytest.mark.slow
@pytest.mark.parametrize("case,regularized", [(_digits, False), (_cancer, False),
                                              (_diabetes, False), (_digits, True)])
def test_scores_from_batches_read_by_index_are_evaluates_on_the_arrays(case, regularized):
    """Holdout and test rows are scored from batches read from the store by index, in
    either path (from the outputs, or through `evaluate`)."""
    from tuning.data.batches import RowReader
    from tuning.training.hypermodel import in_batches

    model, x, y = _trained(case, regularized=regularized)
    expected = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    order = np.random.default_rng(0).permutation(len(x))  # stored in another order,
    reader = RowReader(x[order], y[order], np.argsort(order))  # read back by index
    batches = in_batches(reader, 64)
    out = holdout.outputs(model, batches, 64)
    np.testing.assert_allclose(out, model.predict(x, batch_size=64, verbose=0), rtol=1e-5,
                               atol=1e-6)
    scored = holdout.scores(model, batches, reader.labels, out, 64)
    for name, value in expected.items():
        assert scored[name] == pytest.approx(float(value), rel=1e-5, abs=1e-6), name
