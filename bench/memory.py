"""A worker's resident memory over many trials: does it grow from one trial to the next?

A fresh process set up as the tool's workers are (same environment, TensorFlow start-up and
warm-up) runs `trials` small trials through the one code path that trains (`run_trial`),
each followed by its TensorBoard log as in a worker, and reads its resident set size after
each one. The same is done for a bare `model.fit` loop on the same configurations, so growth
that Keras and TensorFlow show on their own is told apart from the tool's. Growth is the
least-squares slope over the trials after the first `settle` (the first trials fill
TensorFlow's caches once), and the plain difference from then to the end.
"""

from __future__ import annotations

import gc
import json
import multiprocessing as mp
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Grid, print_table, write_csv, write_spec

GRID = Grid(steps=(1, 2, 4, 8), splits=(0.2,), epochs=2)
CONTENDERS = ("steps_tuner", "bare_fit")


def run(trials: int = 100, settle: int = 10, folder: Path | None = None,
        results: Path | None = None) -> list[dict[str, Any]]:
    """Run `trials` trials in a fresh process per contender; write the RSS and the growth."""
    work = Path(folder or tempfile.mkdtemp(prefix="bench-memory-"))
    spec_path = write_spec(work, GRID, name="memory")
    rows: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    for contender in CONTENDERS:
        readings = work / f"rss-{contender}.json"
        process = mp.get_context("spawn").Process(
            target=_trials,
            args=(contender, str(spec_path), trials, str(work / "run"), str(readings)))
        process.start()
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"the memory benchmark's process exited {process.exitcode}")
        start_rss, readings_rows = json.loads(readings.read_text())
        rows += [{"contender": contender, **r} for r in readings_rows]
        later = readings_rows[settle:] if len(readings_rows) > settle + 1 else readings_rows
        summary.append({
            "contender": contender,
            "trials": trials,
            "rss_before_mb": start_rss,
            "rss_after_first_mb": readings_rows[0]["rss_mb"],
            "rss_last_mb": readings_rows[-1]["rss_mb"],
            "growth_mb_per_trial_slope": _slope([r["trial"] for r in later],
                                                [r["rss_mb"] for r in later]),
            "growth_mb_per_trial_diff": (later[-1]["rss_mb"] - later[0]["rss_mb"])
            / max(1, len(later) - 1),
        })
    write_csv("memory", rows, *([results] if results else []))
    write_csv("memory_summary", summary, *([results] if results else []))
    print_table(f"Resident memory over {trials} trials (target: <= 2 MB per trial)", summary)
    return summary


def _trials(contender: str, spec_path: str, trials: int, run_dir: str, readings: str) -> None:
    """The worker's loop without the pipe (or the bare loop): set up, then trial after trial."""
    import keras_tuner as kt
    import psutil

    from bench.overhead import bare_loop
    from tuning.data.dataset import load_dataset
    from tuning.execution.messages import TrialTask
    from tuning.execution.pool import threads_per_worker
    from tuning.execution.trial import Context, run_trial
    from tuning.execution.worker import (
        WorkerConfig,
        configure_environment,
        start_tensorflow,
        warm_up,
    )
    from tuning.spec.schema import load_spec
    from tuning.training.hypermodel import StepsHyperModel
    from tuning.training.tensorboard_log import log_trial

    spec = load_spec(spec_path)
    config = WorkerConfig(spec=spec, index=0, threads=threads_per_worker(1), run_dir=run_dir)
    configure_environment(config)
    tf, device = start_tensorflow(config)
    hypermodel = StepsHyperModel(spec, load_dataset(spec))
    ctx = Context(tf, device.use_gpu, None, 0)
    warm_up(tf, charged=True)
    if contender == "bare_fit":
        gc.unfreeze()  # the worker's garbage-collector freeze is the tool's
    me = psutil.Process()
    start_rss = me.memory_info().rss / 2**20
    rows = []
    configurations = GRID.configurations()
    for index in range(trials):
        steps, split = configurations[index % len(configurations)]
        hp = kt.HyperParameters()
        hp.Fixed("steps_per_epoch", steps)
        hp.Fixed("validation_split", split)
        start = time.perf_counter()
        if contender == "bare_fit":
            bare_loop(hypermodel.dataset, Grid((steps,), (split,), GRID.epochs))
        else:
            task = TrialTask(str(index), hp.get_config(), index)
            outcome = run_trial(hypermodel, hp, task, 1, ctx)
            if outcome.row["status"] != "ok":
                raise RuntimeError(f"trial {index}: {outcome.row['message']}")
            log_trial(Path(run_dir), outcome.row, outcome.curves, hp.values)
        rows.append({"trial": index + 1, "steps_per_epoch": steps,
                     "rss_mb": me.memory_info().rss / 2**20,
                     "wall_s": time.perf_counter() - start})
    Path(readings).write_text(json.dumps([start_rss, rows]))


def _slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope: one noisy reading moves it less than a plain difference."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / var if var else 0.0
