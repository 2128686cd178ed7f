"""Inside a worker process: one trial (or one probe), start to row. The only code that trains.

A trial builds and fits the model once per execution (repeats), measures this trial's peak
memory and turns any failure into a status; a probe is the same path cut to a few steps at
one batch size. A failure keeps its full traceback in the worker's log (`logs/worker-N.log`)
and its message names that log, so the table stays one line per trial and nothing is lost.
"""

from __future__ import annotations

import gc
import logging
import math
import statistics
import time
import traceback
from pathlib import Path
from typing import Any

from tuning.execution import memory
from tuning.execution.failures import classify_exception, last_line
from tuning.execution.messages import Outcome, ProbeTask, TrialTask
from tuning.records import predictions
from tuning.records.rows import planned_row, trial_row
from tuning.records.status import Status
from tuning.records.trials import BATCH_SIZE, TRIAL_ID, std_column
from tuning.spec.objective import VALIDATION
from tuning.spec.sizes import format_mib, mib
from tuning.spec.usercode import contained
from tuning.training.budget import plan
from tuning.training.hypermodel import (
    FitRun,
    StepsHyperModel,
    TrialFailure,
    in_batches,
    make_stream,
)

log = logging.getLogger("tuning.worker")


class Context:
    """What a worker knows about where it runs: device, budget, TensorFlow module, log."""

    def __init__(self, tf, on_gpu: bool, budget: int | None, worker: int,
                 log_path: str = "the worker's log", run_dir: Path | None = None) -> None:
        self.tf = tf
        self.on_gpu = on_gpu
        self.budget = budget
        self.worker = worker
        self.log_path = log_path
        self.run_dir = run_dir  # where each finished epoch is noted and peers are read
        #: Tasks this process has trained, the current one included: its first pays
        #: TensorFlow's and Keras's first-use allocations, which its peak memory shows.
        self.tasks_run = 0
        self._baseline: int | None = 0

    def reset_peak(self) -> None:
        """Count a new task and start its peak: the device's counter, or the resident
        high-water mark with the worker's resident size now as the baseline (what the
        budget is above)."""
        self.tasks_run += 1
        if self.on_gpu:
            memory.gpu_reset_peak(self.tf)
        else:
            self._baseline = memory.peak_rss() if memory.reset_peak_rss() else None

    def peak_mb(self) -> float | None:
        if self.on_gpu:
            return mib(memory.gpu_peak(self.tf))
        peak = memory.peak_rss()
        if peak is None or self._baseline is None:
            return None  # no per-trial peak where the high-water mark cannot be reset
        return mib(peak - self._baseline)

    def limit(self) -> None:
        """Cap the trial's CPU memory at the budget (on a GPU the device is capped once)."""
        if self.budget is not None and not self.on_gpu:
            memory.limit_data(self.budget)

    def unlimit(self) -> None:
        if self.budget is not None and not self.on_gpu:
            memory.limit_data(None)

    def failed(self, what: str, exc: BaseException) -> tuple[Status, str]:
        """Status and one-line message of a failure; its traceback goes to the log."""
        log.error("%s failed:\n%s", what, traceback.format_exc())
        return classify_exception(exc), f"{last_line(exc)} (traceback in {self.log_path})"


def _watchers(ctx: Context, task: TrialTask, hypermodel: StepsHyperModel, hp) -> list:
    """What sees the curve after each epoch: a note of it in the run directory (for the
    status line, and for the trials judged beside it), then, where the search prunes, the
    judge that may stop the trial (`tuning.training.pruning`)."""
    if ctx.run_dir is None:
        return []
    from tuning.records.epochs import epoch_note, progress_file
    from tuning.training.pruning import Judge

    search = hypermodel.spec.search
    prunes = search.prune != "none" and task.prunable
    trial_plan = hypermodel.plan_for(hp)
    watchers = [epoch_note(progress_file(ctx.run_dir, ctx.worker), task.trial_id,
                           trial_plan.epochs, prunes)]
    if prunes:
        goal = search.goal.on(VALIDATION)
        watchers.append(Judge(search.prune, ctx.run_dir, task.trial_id,
                              trial_plan.samples_seen(trial_plan.updates), goal.column,
                              goal.maximise))
    return watchers


def run_trial(hypermodel: StepsHyperModel, hp, task: TrialTask, executions: int,
              ctx: Context) -> Outcome:
    """Train one configuration `executions` times; returns its row and curves."""
    import keras

    planned = planned_row(task.trial_id, hypermodel, hp)
    curves: list[dict[str, Any]] = []
    scores: list[dict[str, float]] = []
    runs: list[FitRun] = []
    status, message = Status.OK, ""
    start = time.perf_counter()
    ctx.reset_peak()
    ctx.limit()
    try:
        with contained("the trial's code (builder, callbacks)"):
            for execution in range(executions):
                keras.utils.set_random_seed(task.seed + execution)
                model = hypermodel.build(hp)
                hypermodel.last_run = None
                try:
                    scores.append(hypermodel.fit(
                        hp, model, seed=task.seed + execution,
                        watchers=_watchers(ctx, task, hypermodel, hp)))
                finally:
                    if hypermodel.last_run is not None:
                        runs.append(hypermodel.last_run)
                        curves += [
                            {"trial_id": task.trial_id, "execution": execution, **c}
                            for c in hypermodel.last_run.curves
                        ]
                del model
                keras.backend.clear_session(free_memory=False)  # one gc.collect, below, suffices
    except TrialFailure as failure:
        status, message = Status(failure.status), failure.message
    except Exception as exc:  # every failure becomes a record; none may end the worker silently
        status, message = ctx.failed(f"trial {task.trial_id}", exc)
        if status is Status.OOM:
            message = oom_message(planned[BATCH_SIZE], ctx.budget, message)
    finally:
        ctx.unlimit()
    measured = summarise(runs, scores)
    objective = hypermodel.spec.search.objective
    if status is Status.OK and not math.isfinite(measured.get(objective, math.nan)):
        status, message = Status.ERROR, f"the objective {objective} is not a number"
    row = trial_row(planned, status, message, worker=ctx.worker, worker_trial=ctx.tasks_run,
                    executions=executions, memory_budget_mb=mib(ctx.budget),
                    wall_s=round(time.perf_counter() - start, 3),
                    peak_memory_mb=ctx.peak_mb(), **measured)
    gc.collect()
    memory.give_back_freed()
    kept = predictions.stack([r.predictions for r in runs]) if status is Status.OK else {}
    return Outcome(task.trial_id, row, curves, predictions=kept)


def run_probe(hypermodel: StepsHyperModel, hp, task: ProbeTask, ctx: Context) -> Outcome:
    """A few training steps at the task's batch size under the trial budget: the trial's
    own path (stream, validation, holdout), cut short. A probe's failure is its answer."""
    import keras

    rows = hypermodel.dataset.trial_rows(float(hp.get("validation_split")))
    batch = task.batch_size
    probe_plan = plan("stream", len(rows.train), task.steps, epochs=1, batch_size=batch)
    status, message = Status.OK, ""
    start = time.perf_counter()
    ctx.reset_peak()
    ctx.limit()
    try:
        with contained("the builder"):
            model = hypermodel.build(hp)
        model.fit(make_stream(rows.train, probe_plan, shuffle=True, seed=0), shuffle=False,
                  steps_per_epoch=task.steps, epochs=1,
                  validation_data=in_batches(rows.val, batch), verbose=0)
        model.evaluate(in_batches(rows.holdout, batch), verbose=0)
    except Exception as exc:
        status, message = ctx.failed(f"probe at batch {batch}", exc)
    finally:
        ctx.unlimit()
    row = trial_row({TRIAL_ID: task.probe_id, BATCH_SIZE: batch}, status, message,
                    peak_memory_mb=ctx.peak_mb(), wall_s=round(time.perf_counter() - start, 3))
    keras.backend.clear_session()
    return Outcome(task.probe_id, row)


def oom_message(batch_size: int, budget: int | None, detail: str) -> str:
    where = "device memory" if budget is None else f"budget {format_mib(budget)}"
    return f"out of memory at batch size {batch_size} ({where}): {detail}"


def summarise(runs: list[FitRun], scores: list[dict[str, float]]) -> dict[str, Any]:
    """Mean scores over the executions, the spread of each (`<key>_std`, so any objective
    gets an interval from repeats), and what ran."""
    out: dict[str, Any] = {}
    if runs:
        last = runs[-1]
        out.update(
            epochs_run=last.epochs_run,
            updates=last.updates,
            samples_seen=last.plan.samples_seen(last.updates),
            best_epoch=last.best_epoch,
        )
    if scores:
        for key in scores[0]:
            values = [s[key] for s in scores]
            out[key] = sum(values) / len(values)
            if len(values) > 1:
                out[std_column(key)] = statistics.stdev(values)
    return out
