"""Sequential overhead: steps-tuner against what a user would otherwise write.

Three contenders train the same configurations of the same model on the same split, in the
same order, in one process run of the benchmark:

(a) bare: a hand-written loop of `model.fit(..., validation_data=...)` then `evaluate` on
    the holdout, in this process;
(b) keras-tuner: a `GridSearch` over the same space with the usual hand-written
    `HyperModel.fit` (`validation_split` passed to `fit`, holdout evaluated), in this process;
(c) steps-tuner: `python -m tuning run` with one worker, in a fresh process, as a user runs it.

Two figures per contender. "End to end": everything a user waits for; for (a) and (b) the
TensorFlow (and keras-tuner) import and the first-fit warm-up measured once in fresh processes
are added to the loop, for (c) it is the command's wall time (its own imports, worker start-up
and report included). "Steady state": seconds per trial between the end of the first trial and
the end of the last, so every interval holds one whole trial with all its per-trial costs and
no one-off cost.
"""

from __future__ import annotations

import gc
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    Grid,
    median,
    print_table,
    read_run,
    run_cli,
    write_csv,
    write_spec,
)

DEFAULT_GRID = Grid(steps=(2, 8, 32, 128), splits=(0.1, 0.3))
SEED = 7
_IMPORT_PROBE = """
import os, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
start = time.perf_counter()
import tensorflow as tf, keras
tf_s = time.perf_counter() - start
import keras_tuner
kt_s = time.perf_counter() - start - tf_s
from tuning.execution.worker import warm_up
start = time.perf_counter()
warm_up(tf, charged=True)
print(tf_s, kt_s, time.perf_counter() - start)
"""


def one_off_costs() -> tuple[float, float, float]:
    """(TensorFlow+Keras import, keras-tuner import, first-fit warm-up) in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    tf_s, kt_s, warm_s = (float(v) for v in done.stdout.split()[-3:])
    return tf_s, kt_s, warm_s


def _compiled_mlp(dataset):
    """The tool's default model, compiled as the tool compiles it."""
    import keras
    import keras_tuner as kt

    from tuning.models import mlp

    model = mlp(kt.HyperParameters(), dataset.input_shape, dataset.n_outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def trial_arrays(dataset, split: float) -> tuple:
    """(x_train, y_train, x_val, y_val, x_hold, y_hold) in memory, scaled as the tool scales
    them: what a user's own loop starts from."""
    import numpy as np

    rows = dataset.trial_rows(split)
    out: list = []
    for reader in (rows.train, rows.val, rows.holdout):
        out += reader.read(np.arange(len(reader)))
    return tuple(out)


def bare_loop(dataset, grid: Grid) -> tuple[list[float], int]:
    """(a): returns the end time of each trial and the training samples seen in all."""
    import keras

    ends, samples = [], 0
    for steps, split in grid.configurations():
        x_train, y_train, x_val, y_val, x_hold, y_hold = trial_arrays(dataset, split)
        batch = math.ceil(len(x_train) / steps)
        keras.utils.set_random_seed(SEED)
        model = _compiled_mlp(dataset)
        model.fit(x_train, y_train, batch_size=batch, epochs=grid.epochs,
                  validation_data=(x_val, y_val), verbose=0)
        model.evaluate(x_hold, y_hold, batch_size=batch, verbose=0)
        samples += grid.epochs * len(x_train)
        ends.append(time.perf_counter())
    return ends, samples


def keras_tuner_search(dataset, grid: Grid, folder: Path) -> tuple[list[float], int]:
    """(b): keras-tuner's GridSearch with a hand-written HyperModel; same return as (a)."""
    import keras_tuner as kt
    import numpy as np

    ends: list[float] = []
    samples = [0]

    class HandWritten(kt.HyperModel):
        def build(self, hp):
            hp.Choice("steps_per_epoch", list(grid.steps))
            hp.Choice("validation_split", list(grid.splits))
            return _compiled_mlp(dataset)

        def fit(self, hp, model, *args, **kwargs):
            split = hp.get("validation_split")
            x_train, y_train, x_val, y_val, x_hold, y_hold = trial_arrays(dataset, split)
            batch = math.ceil(len(x_train) / hp.get("steps_per_epoch"))
            kwargs.pop("verbose", None)
            model.fit(np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val]),
                      batch_size=batch, epochs=grid.epochs, validation_split=split, verbose=0,
                      **kwargs)
            _, accuracy = model.evaluate(x_hold, y_hold, batch_size=batch, verbose=0)
            samples[0] += grid.epochs * len(x_train)
            ends.append(time.perf_counter())
            return {"holdout_accuracy": accuracy}

    tuner = kt.GridSearch(HandWritten(), objective=kt.Objective("holdout_accuracy", "max"),
                          max_trials=len(grid.configurations()), seed=SEED,
                          directory=str(folder), project_name="keras_tuner", overwrite=True)
    tuner.search(verbose=0)
    return ends, samples[0]


def _steady(ends: list[float], samples_after_first: int) -> tuple[float, float]:
    """(seconds per trial, training samples per second) from the first trial's end on."""
    if len(ends) < 2:
        return float("nan"), float("nan")
    span = ends[-1] - ends[0]
    return span / (len(ends) - 1), samples_after_first / span


def run(grid: Grid = DEFAULT_GRID, repeats: int = 3, folder: Path | None = None,
        results: Path | None = None) -> list[dict[str, Any]]:
    """Time the three contenders `repeats` times, interleaved; write and print the tables."""
    import tensorflow as tf

    from tuning.data.dataset import load_dataset
    from tuning.execution.pool import threads_per_worker
    from tuning.execution.worker import warm_up
    from tuning.spec.schema import load_spec

    tf_s, kt_s, warm_s = one_off_costs()
    # The same thread pools as the tool's single worker gets, then the same warm-up.
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads_per_worker(1))
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads_per_worker(1)))
    except RuntimeError:  # TensorFlow already ran in this process (a test): its pools stay
        pass
    warm_up(tf, charged=True)
    gc.unfreeze()  # the worker's garbage-collector freeze is the tool's; a user's loop has none
    work = Path(folder or tempfile.mkdtemp(prefix="bench-overhead-"))
    spec_path = write_spec(work, grid)
    dataset = load_dataset(load_spec(spec_path))
    per_trial = [grid.epochs * dataset.n_train(s) for _, s in grid.configurations()]
    rows: list[dict[str, Any]] = []
    for repeat in range(1, repeats + 1):
        start = time.perf_counter()
        ends, samples = bare_loop(dataset, grid)
        rows.append(_row("a_bare_fit", repeat, start, ends, samples, per_trial,
                         tf_s + warm_s + ends[-1] - start))
        start = time.perf_counter()
        ends, samples = keras_tuner_search(dataset, grid, work / f"kt-{repeat}")
        rows.append(_row("b_keras_tuner", repeat, start, ends, samples, per_trial,
                         tf_s + kt_s + warm_s + time.perf_counter() - start))
        out = work / f"st-{repeat}" / "run"
        wall = run_cli(spec_path, out)
        times = read_run(out)
        rows.append(_row("c_steps_tuner", repeat, times.ends[0] - float(times.rows[0]["wall_s"]),
                         times.ends, times.samples, [int(r["samples_seen"]) for r in times.rows],
                         wall, trials_s=times.span()))
        print(f"overhead repeat {repeat}/{repeats} done", flush=True)
    summary = summarise(rows)
    write_csv("overhead", rows, *([results] if results else []))
    write_csv("overhead_summary", summary, *([results] if results else []))
    print_table(f"Per contender and repeat ({len(grid.configurations())} trials, "
                f"{grid.epochs} epochs each)", rows)
    print_table("Ratios (median over repeats; target: steady c/a <= 1.05)", summary)
    return summary


def _row(variant: str, repeat: int, start: float, ends: list[float], samples: int,
         per_trial: list[int], end_to_end: float, trials_s: float | None = None
         ) -> dict[str, Any]:
    steady, rate = _steady(ends, samples - per_trial[0])
    trials_s = ends[-1] - start if trials_s is None else trials_s
    return {
        "variant": variant,
        "repeat": repeat,
        "trials": len(ends),
        "samples": samples,
        "end_to_end_s": end_to_end,
        "trials_s": trials_s,
        "one_off_s": end_to_end - trials_s,
        "steady_s_per_trial": steady,
        "samples_per_s": rate,
    }


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median per contender, and the ratios c/a, c/b, b/a per repeat then their median."""
    by = {(r["variant"], r["repeat"]): r for r in rows}
    repeats = sorted({r["repeat"] for r in rows})
    out = []
    for measure in ("end_to_end_s", "steady_s_per_trial"):
        def value(variant: str, repeat: int, measure: str = measure) -> float:
            return by[(variant, repeat)][measure]

        entry: dict[str, Any] = {"measure": measure}
        for variant in ("a_bare_fit", "b_keras_tuner", "c_steps_tuner"):
            entry[f"{variant}_median"] = median(value(variant, r) for r in repeats)
        for name, top, bottom in (("c/a", "c_steps_tuner", "a_bare_fit"),
                                  ("c/b", "c_steps_tuner", "b_keras_tuner"),
                                  ("b/a", "b_keras_tuner", "a_bare_fit")):
            entry[name] = median(value(top, r) / value(bottom, r) for r in repeats)
        out.append(entry)
    return out
