"""Real training on tiny models: what the record says ran is what really ran."""

from __future__ import annotations

import counting_builder
import keras
import keras_tuner as kt
import numpy as np
import pytest
from conftest import spec_text

from tuning.data.dataset import load_dataset
from tuning.spec.schema import load_spec
from tuning.training.hypermodel import TRAIN_SAMPLE_ROWS, StepsHyperModel, TrialFailure


def _fit(write_spec, steps: int, split: float, **spec_kwargs):
    text = spec_text(builder="counting_builder:build", steps=[steps], splits=[split],
                     **spec_kwargs)
    spec = load_spec(write_spec(text))
    hypermodel = StepsHyperModel(spec, load_dataset(spec))
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    counting_builder.reset()
    metrics = hypermodel.fit(hp, hypermodel.build(hp), seed=1)
    return hypermodel, metrics


@pytest.mark.slow
@pytest.mark.parametrize("steps", [3, 5, 300])
def test_partition_batches_match_the_record(write_spec, steps):
    hypermodel, _ = _fit(write_spec, steps, 0.2, epochs=2)
    run = hypermodel.last_run
    n_train = hypermodel.dataset.n_train(0.2)
    batches, rows = counting_builder.COUNTS.numpy()
    assert batches == run.updates == 2 * run.plan.steps_per_epoch
    assert rows == run.plan.samples_seen(run.updates) == 2 * n_train  # each epoch is one pass
    assert max(counting_builder.SIZES) == run.plan.batch_size
    assert [c["updates"] for c in run.curves] == [run.plan.steps_per_epoch * e for e in (1, 2)]


@pytest.mark.slow
def test_partition_never_cut_short_behind_the_records_back(write_spec):
    hypermodel, _ = _fit(write_spec, 5000, 0.2, epochs=1)  # more steps than rows
    plan = hypermodel.last_run.plan
    assert plan.batch_size == 1 and plan.steps_per_epoch == hypermodel.dataset.n_train(0.2)
    assert counting_builder.COUNTS.numpy()[0] == plan.steps_per_epoch


@pytest.mark.slow
def test_stream_epochs_are_steps_of_a_repeating_stream(write_spec):
    spec = load_spec(write_spec(spec_text(
        builder="counting_builder:build", steps=[7], epochs=3,
        budget={"semantics": "stream", "batch_size": 16})))
    hypermodel = StepsHyperModel(spec, load_dataset(spec))
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    counting_builder.reset()
    hypermodel.fit(hp, hypermodel.build(hp), seed=1)
    assert counting_builder.COUNTS.numpy().tolist() == [21, 21 * 16]
    assert set(counting_builder.SIZES) == {16}  # batches never shrink at a pass boundary
    assert hypermodel.last_run.curves[-1]["samples_seen"] == 21 * 16


@pytest.mark.slow
@pytest.mark.parametrize("epochs,max_steps,expected_updates,expected_epochs", [
    (10, 10, 10, 3),  # max_steps ends first, in the middle of the third epoch
    (2, 1000, 8, 2),  # epochs end first
])
def test_whichever_of_epochs_and_max_steps_ends_first(write_spec, epochs, max_steps,
                                                      expected_updates, expected_epochs):
    text = spec_text(builder="counting_builder:build", steps=[4], epochs=epochs,
                     budget={"max_steps": max_steps})
    spec = load_spec(write_spec(text))
    hypermodel = StepsHyperModel(spec, load_dataset(spec))
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    counting_builder.reset()
    hypermodel.fit(hp, hypermodel.build(hp), seed=1)
    run = hypermodel.last_run
    assert counting_builder.COUNTS.numpy()[0] == expected_updates == run.updates
    assert run.epochs_run == expected_epochs


@pytest.mark.slow
def test_fit_scores_the_holdout_with_the_best_epoch(write_spec):
    hypermodel, metrics = _fit(write_spec, 8, 0.2, epochs=3)
    run = hypermodel.last_run
    val = [c["val_loss"] for c in run.curves]
    assert run.best_epoch == int(np.argmin(val)) + 1
    assert metrics["val_loss"] == pytest.approx(min(val))
    assert 0.0 <= metrics["holdout_accuracy"] <= 1.0
    assert metrics["gap"] == pytest.approx(metrics["val_loss"] - metrics["train_loss_end"])


@pytest.mark.slow
def test_each_epoch_records_the_training_loss_at_its_end_on_fixed_training_rows(write_spec):
    """`train_loss_end` is the kept model's loss on the first training rows, as many as the
    validation rows (one epoch: the kept model is the epoch's end), not Keras's mean over the
    epoch's batches."""
    spec = load_spec(write_spec(spec_text(builder="counting_builder:build", steps=[32],
                                          splits=[0.2], epochs=1)))
    hypermodel = StepsHyperModel(spec, load_dataset(spec))
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    keras.utils.set_random_seed(1)  # the same first weights in every run of the test
    model = hypermodel.build(hp)
    metrics = hypermodel.fit(hp, model, seed=1)
    (curve,) = hypermodel.last_run.curves
    rows = hypermodel.dataset.trial_rows(0.2)
    assert len(rows.val) < TRAIN_SAMPLE_ROWS < len(rows.train)
    x, y = rows.train.read(np.arange(len(rows.val)))
    at_end = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert curve["train_loss_end"] == pytest.approx(at_end, rel=1e-4)
    assert metrics["train_loss_end"] == curve["train_loss_end"]
    assert curve["loss"] - curve["train_loss_end"] > 0.05  # the epoch's mean lags behind


LINEAR_BUILDER = """
import keras
from counting_builder import CountingModel

def build(hp, input_shape, n_outputs):
    inputs = keras.Input(shape=input_shape)
    model = CountingModel(inputs, keras.layers.Dense(n_outputs)(inputs))
    # Plain SGD this large diverges geometrically: the loss overflows within a few batches.
    model.compile(optimizer=keras.optimizers.SGD(1e3), loss="mse", metrics=["mae"])
    return model
"""


@pytest.mark.slow
def test_a_nan_trial_curve_counts_only_the_batches_that_ran(write_spec, tmp_path):
    (tmp_path / "linear_builder.py").write_text(LINEAR_BUILDER)
    text = spec_text(source="sklearn:diabetes", builder="linear_builder:build", steps=[200],
                     epochs=2, model={"task": "regression"})
    spec = load_spec(write_spec(text))
    hypermodel = StepsHyperModel(spec, load_dataset(spec))
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    counting_builder.reset()
    with pytest.raises(TrialFailure) as failure:
        hypermodel.fit(hp, hypermodel.build(hp), seed=1)
    run = failure.value.run
    batches = int(counting_builder.COUNTS.numpy()[0])
    assert failure.value.status == "nan"
    assert batches < run.plan.steps_per_epoch  # stopped part-way through the first epoch
    assert [c["updates"] for c in run.curves] == [batches]
    assert run.curves[-1]["samples_seen"] == run.plan.samples_seen(batches)
