"""The KerasTuner HyperModel: steps_per_epoch and validation_split as search dimensions.

`build` calls the spec's builder; `fit` turns the trial's values into a training plan, trains
on a tf.data stream whose epochs are exactly what the plan says, puts back the weights of the
best validation epoch, and scores the fixed holdout set. keras-tuner keeps only the best
epoch's metrics, so the per-epoch curves are kept here too (`last_run`). Every part is read
batch by batch from the store (`tuning.data.batches`): a trial holds no copy of its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf

from tuning.data.batches import RowReader
from tuning.data.dataset import Dataset
from tuning.records.status import Status
from tuning.records.trials import (
    GAP,
    HOLDOUT_LOSS,
    TRAIN_LOSS,
    TRAIN_LOSS_END,
    VAL_LOSS,
    metric_columns,
)
from tuning.spec.builders import load_builder
from tuning.spec.schema import Spec
from tuning.spec.space import declare_space
from tuning.training import holdout
from tuning.training.budget import Plan, TrialPlanner
from tuning.training.callbacks import CurveRecorder, RestoreBest, StopOnNaN
from tuning.training.pruning import Pruned

#: Most training rows scored at each epoch's end for `train_loss_end`: the first of the
#: trial's (shuffled) training rows, the same every epoch, as many as it has validation rows
#: (the gap's two sides equally precise, the measurement costing what validation costs).
TRAIN_SAMPLE_ROWS = 1000


class TrialFailure(Exception):
    """A trial that ended without a usable score, and how it ended."""

    def __init__(self, status: Status, message: str, run: FitRun | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.run = run


@dataclass
class FitRun:
    """What one `fit` really did, beyond the metrics keras-tuner keeps."""

    plan: Plan
    curves: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    #: What the kept model predicted, per part (see `tuning.records.predictions`): `holdout_pred`,
    #: `holdout_loss`, and `test_pred`, `test_loss` where there are test rows.
    predictions: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def epochs_run(self) -> int:
        return len(self.curves)

    @property
    def updates(self) -> int:
        return int(self.curves[-1]["updates"]) if self.curves else 0


class StepsHyperModel(kt.HyperModel):
    """Builds the spec's model and trains it to the trial's steps_per_epoch budget."""

    def __init__(self, spec: Spec, dataset: Dataset, builder: Callable | None = None) -> None:
        super().__init__(name=spec.name, tunable=True)
        self.spec = spec
        self.dataset = dataset
        self.builder = builder if builder is not None else load_builder(spec)
        self.last_run: FitRun | None = None

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        declare_space(hp, self.spec.search.space)

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        model = self.builder(hp, self.dataset.input_shape, self.dataset.n_outputs)
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"the builder {self.spec.model.builder} returned {type(model).__name__}, "
                "not a keras.Model"
            )
        if not getattr(model, "compiled", False):
            classification = self.spec.model.task == "classification"
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=hp.values.get("learning_rate", 1e-3)),
                loss="sparse_categorical_crossentropy" if classification else "mse",
                metrics=[self.spec.model.metric],
            )
        return model

    def plan_for(self, hp: kt.HyperParameters) -> Plan:
        """The trial's training plan, from its values and the spec's budget."""
        return TrialPlanner(self.spec, self.dataset).plan_for(hp)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args, **kwargs) -> dict:
        """Train, restore the best validation epoch, score the holdout; returns the metrics.
        `watchers` (a keyword) see the curve after each epoch; one may stop the trial."""
        trial_plan = self.plan_for(hp)
        rows = self.dataset.trial_rows(float(hp.get("validation_split")))
        stream = make_stream(
            rows.train,
            trial_plan,
            shuffle=bool(hp.values.get("shuffle", True)),
            seed=kwargs.get("seed", self.spec.seed),
        )
        sample = replace(rows.train, rows=rows.train.rows[:min(len(rows.val),
                                                                 TRAIN_SAMPLE_ROWS)])
        recorder = CurveRecorder(trial_plan, in_batches(sample, trial_plan.batch_size),
                                 kwargs.get("watchers", ()))
        best, nan = RestoreBest(), StopOnNaN()
        run = FitRun(plan=trial_plan, curves=recorder.rows)
        self.last_run = run
        fit_args = dict(
            validation_data=in_batches(rows.val, trial_plan.batch_size),
            shuffle=False,  # the stream is shuffled already
            callbacks=[recorder, best, nan, *kwargs.get("callbacks", [])],
            verbose=0,
        )
        full_epochs = trial_plan.updates // trial_plan.steps_per_epoch
        try:
            if full_epochs:
                model.fit(stream, steps_per_epoch=trial_plan.steps_per_epoch,
                          epochs=full_epochs, **fit_args)
            if trial_plan.epochs > full_epochs and nan.bad_batch is None:
                model.fit(stream, steps_per_epoch=trial_plan.last_epoch_steps,
                          epochs=trial_plan.epochs, initial_epoch=full_epochs, **fit_args)
        except Pruned as stopped:  # no holdout score: a pruned trial is never ranked
            run.best_epoch = best.best_epoch
            raise TrialFailure(Status.PRUNED, stopped.decision.message, run) from None
        run.best_epoch = best.best_epoch
        if nan.bad_batch is not None:
            raise TrialFailure(
                Status.NAN,
                f"loss became NaN or infinite at epoch {nan.bad_epoch}, "
                f"batch {nan.bad_batch} (batch size {trial_plan.batch_size})",
                run,
            )
        best.restore(model)
        return self.score_and_predict(model, run, rows.holdout, rows.test)

    def score_and_predict(self, model: keras.Model, run: FitRun, held: RowReader,
                          test: RowReader | None) -> dict:
        """The holdout's scores; and row by row, what the model predicted on the holdout and
        the test rows (`run.predictions`), for paired tests and for stating the
        recommendation's score on rows nobody ranked on. One forward pass per part, in
        batches read from the store."""
        classification = self.spec.model.task == "classification"
        parts = {"holdout": held} if test is None else {"holdout": held, "test": test}
        result: dict = {}
        for part, reader in parts.items():
            batches = in_batches(reader, run.plan.batch_size)
            y = reader.labels
            out = holdout.outputs(model, batches, run.plan.batch_size)
            if part == "holdout":
                result = self.score(model, run, batches, y, out)
            pred, loss = holdout.row_predictions(model, out, y, classification)
            run.predictions[f"{part}_pred"] = pred
            if loss is not None:
                run.predictions[f"{part}_loss"] = loss
        return result

    def score(self, model: keras.Model, run: FitRun, batches: tf.data.Dataset, y_hold: np.ndarray,
              out: np.ndarray) -> dict:
        """Metrics at the best epoch plus the holdout scores of the restored weights (`out`:
        its outputs on the holdout `batches`)."""
        metric = self.spec.model.metric
        scored = holdout.scores(model, batches, y_hold, out, run.plan.batch_size)
        if metric not in scored:
            raise TrialFailure(
                Status.ERROR,
                f"the model reports no metric {metric!r} (it reports: {', '.join(scored)}); "
                "compile it with that metric or return it uncompiled",
                run,
            )
        at_best = run.curves[max(run.best_epoch, 1) - 1]
        holdout_metric, val_metric = metric_columns(metric)
        result = {
            HOLDOUT_LOSS: scored["loss"],
            holdout_metric: scored[metric],
            TRAIN_LOSS: at_best.get("loss", np.nan),
            TRAIN_LOSS_END: at_best.get(TRAIN_LOSS_END, np.nan),
            VAL_LOSS: at_best.get(VAL_LOSS, np.nan),
            val_metric: at_best.get(val_metric, np.nan),
        }
        result[GAP] = result[VAL_LOSS] - result[TRAIN_LOSS_END]
        return result


def make_stream(rows: RowReader, trial_plan: Plan, shuffle: bool, seed: int) -> tf.data.Dataset:
    """An endless batched stream whose every `steps_per_epoch` batches are one epoch.

    Partition: each pass is reshuffled and cut into exactly `steps_per_epoch` batches, so an
    epoch is a pass. Stream: the rows repeat before batching, so batches are always full and an
    epoch is `steps_per_epoch` batches wherever they fall in the passes.

    Each pass is a seeded permutation of the row positions and each batch one read of those
    rows from the store: no copy of the training rows and no shuffle buffer.
    """
    positions = tf.range(len(rows), dtype=tf.int64)

    def one_pass(number: tf.Tensor) -> tf.Tensor:
        if not shuffle:
            return positions
        return tf.random.experimental.stateless_shuffle(positions, seed=tf.stack([seed, number]))

    passes = tf.data.Dataset.counter().map(one_pass)
    size = trial_plan.batch_size
    if trial_plan.semantics == "partition":
        n_batches = -(-len(rows) // size)
        indices = passes.flat_map(lambda order: tf.data.Dataset.range(n_batches).map(
            lambda b: order[b * size:(b + 1) * size]))
    else:
        indices = passes.unbatch().batch(size)
    return read_batches(rows, indices)


def in_batches(rows: RowReader, batch_size: int) -> tf.data.Dataset:
    """The rows once, in order, in batches of `batch_size`: for validation and scoring."""
    n = len(rows)
    starts = tf.data.Dataset.range(0, n, batch_size)
    return read_batches(rows, starts.map(lambda s: tf.range(s, tf.minimum(s + batch_size, n))))


def read_batches(rows: RowReader, indices: tf.data.Dataset) -> tf.data.Dataset:
    """(features, labels) batches read from the store at each element of `indices` (row
    positions), in parallel and ahead of the model."""
    label_type = tf.as_dtype(rows.y.dtype)
    feature_shape = (None, *rows.x.shape[1:])

    def read(positions: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x, y = tf.numpy_function(rows.read, [positions], [tf.float32, label_type],
                                 stateful=False)
        x.set_shape(feature_shape)
        y.set_shape((None,))
        return x, y

    return indices.map(read, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
