"""Keras callbacks that keep what keras-tuner throws away: every epoch, the best weights,
and the exact batch where the loss stopped being a number."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras

from tuning.records.trials import TRAIN_LOSS_END
from tuning.training.budget import Plan

#: Told the curve so far after each epoch: to note it for others to read, or to stop the
#: trial (by raising, see `tuning.training.pruning`).
Watcher = Callable[[Sequence[dict[str, float]]], None]


class CurveRecorder(keras.callbacks.Callback):
    """One row per epoch, indexed by updates and samples seen (an epoch means different work
    for different steps_per_epoch, so the epoch number alone compares nothing).

    Keras's `loss` is the mean over the epoch's batches, each taken while the model was still
    learning: it lags the epoch's end, and more so the more steps an epoch has. With
    `train_sample` (the same batches of training rows every epoch), each row also holds
    `train_loss_end`: the loss on those rows at the epoch's end, in inference mode as the
    validation loss is, so that the gap compares like with like. Each row is shown to the
    `watchers` as soon as it is written."""

    def __init__(self, plan: Plan, train_sample: Any = None,
                 watchers: Sequence[Watcher] = ()) -> None:
        super().__init__()
        self.plan = plan
        self.train_sample = train_sample
        self.watchers = tuple(watchers)
        self.rows: list[dict[str, float]] = []
        self._updates = 0
        self._batches = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._batches = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batches = batch + 1  # counted, not assumed: a NaN stops an epoch part-way

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._updates += self._batches
        row = {"epoch": epoch + 1, "updates": self._updates}
        row["samples_seen"] = self.plan.samples_seen(self._updates)
        row.update({k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"})
        if self.train_sample is not None and math.isfinite(row.get("loss", math.nan)):
            scored = self.model.evaluate(self.train_sample, verbose=0, return_dict=True)
            row[TRAIN_LOSS_END] = float(scored.get("loss", math.nan))
        self.rows.append(row)
        for watch in self.watchers:
            watch(self.rows)


class RestoreBest(keras.callbacks.Callback):
    """Keep the weights of the epoch with the lowest validation loss; `restore` puts them
    back, so the holdout scores the model a user would keep."""

    def __init__(self) -> None:
        super().__init__()
        self.best_loss = math.inf
        self.best_epoch = 0
        self._weights: list | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = float((logs or {}).get("val_loss", math.nan))
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, epoch + 1
            self._weights = self.model.get_weights()

    def restore(self, model: keras.Model) -> None:
        """Called once after all fitting: a budget may span two `fit` calls."""
        if self._weights is not None:
            model.set_weights(self._weights)


class StopOnNaN(keras.callbacks.Callback):
    """Stop at the first batch whose loss is NaN or infinite, and remember which one."""

    def __init__(self) -> None:
        super().__init__()
        self.bad_batch: int | None = None
        self.bad_epoch: int | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_batch, self.bad_epoch = batch + 1, self._epoch
            self.model.stop_training = True
