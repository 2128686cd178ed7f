"""What `train_loss_end` costs: the loss on a fixed sample of training rows (as many as the
validation rows, at most 1,000) at every epoch's end.

On digits with the tool's default MLP, for each steps_per_epoch: one trial of the tool's
`StepsHyperModel.fit` (training, validation, the end-of-epoch measurement and the holdout),
per epoch; then the measurement alone (`model.evaluate` on the same fixed sample, through
the tool's own batches), per call. Their ratio is the share of an epoch it takes.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import Grid, median, print_table, write_csv, write_spec

STEPS = (2, 8, 32, 128)
SPLIT = 0.2


def run(epochs: int = 10, repeats: int = 3) -> list[dict[str, Any]]:
    import keras
    import keras_tuner as kt

    from tuning.data.dataset import load_dataset
    from tuning.spec.schema import load_spec
    from tuning.training.hypermodel import TRAIN_SAMPLE_ROWS, StepsHyperModel, in_batches

    spec = load_spec(write_spec(Path(tempfile.mkdtemp(prefix="bench-epoch-end-")),
                                Grid(STEPS, (SPLIT,), epochs)))
    hypermodel = StepsHyperModel(spec, load_dataset(spec))
    rows_of = hypermodel.dataset.trial_rows(SPLIT)
    sample = replace(rows_of.train,
                     rows=rows_of.train.rows[:min(len(rows_of.val), TRAIN_SAMPLE_ROWS)])
    rows = []
    for steps in STEPS:
        hp = kt.HyperParameters()
        hypermodel.declare_hyperparameters(hp)
        hp.values["steps_per_epoch"], hp.values["validation_split"] = steps, SPLIT
        epoch_s, measure_s = [], []
        for _ in range(repeats):
            keras.utils.set_random_seed(7)
            model = hypermodel.build(hp)
            started = time.perf_counter()
            hypermodel.fit(hp, model, seed=7)
            epoch_s.append((time.perf_counter() - started) / hypermodel.last_run.epochs_run)
            batches = in_batches(sample, hypermodel.last_run.plan.batch_size)
            started = time.perf_counter()
            for _ in range(epochs):
                model.evaluate(batches, verbose=0)
            measure_s.append((time.perf_counter() - started) / epochs)
        epoch, measure = median(epoch_s), median(measure_s)
        rows.append({"steps_per_epoch": steps, "sample_rows": len(sample),
                     "batch_size": hypermodel.last_run.plan.batch_size,
                     "epoch_ms": round(1000 * epoch, 1), "measure_ms": round(1000 * measure, 1),
                     "share_of_epoch": round(measure / epoch, 3)})
    write_csv("epoch_end", rows)
    print_table(f"train_loss_end on digits ({epochs} epochs, median of {repeats})", rows)
    return rows
