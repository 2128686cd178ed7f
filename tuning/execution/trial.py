"""One trial, start to record, inside a worker process: the only code path that trains.

It builds and fits the model once per execution (repeats), measures this trial's peak memory,
turns any failure into a status, and returns the trial's table row and curves.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from typing import Any

from tuning.execution import memory
from tuning.execution.failures import classify_exception, last_line
from tuning.hypermodel import FitRun, StepsHyperModel, TrialFailure
from tuning.sizes import format_mib


def hp_columns(values: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameter values as table columns (keras-tuner's `tuner/x` becomes `tuner_x`)."""
    return {name.replace("/", "_"): value for name, value in values.items()}


def plan_columns(hypermodel: StepsHyperModel, hp) -> dict[str, Any]:
    """The part of a row known before training: what was asked and what will really run."""
    trial_plan = hypermodel.plan_for(hp)
    return {
        **hp_columns(hp.values),
        "steps_per_epoch": int(hp.get("steps_per_epoch")),
        "validation_split": float(hp.get("validation_split")),
        "batch_size": trial_plan.batch_size,
        "effective_steps_per_epoch": trial_plan.steps_per_epoch,
    }


class Context:
    """What a worker knows about where it runs: device, budget, TensorFlow module."""

    def __init__(self, tf, on_gpu: bool, budget: int | None, worker: int) -> None:
        self.tf = tf
        self.on_gpu = on_gpu
        self.budget = budget
        self.worker = worker
        self._baseline: int | None = 0

    def reset_peak(self) -> None:
        """Start this trial's peak: the device's counter, or the resident high-water mark
        with the worker's resident size now as the baseline (what the budget is above)."""
        if self.on_gpu:
            memory.gpu_reset_peak(self.tf)
        else:
            self._baseline = memory.peak_rss() if memory.reset_peak_rss() else None

    def peak_mb(self) -> float | None:
        if self.on_gpu:
            return round(memory.gpu_peak(self.tf) / 2**20, 1)
        peak = memory.peak_rss()
        if peak is None or self._baseline is None:
            return None  # no per-trial peak where the high-water mark cannot be reset
        return round((peak - self._baseline) / 2**20, 1)

    def limit(self) -> None:
        """Cap the trial's CPU memory at the budget (on a GPU the device is capped once)."""
        if self.budget is not None and not self.on_gpu:
            memory.limit_data(self.budget)

    def unlimit(self) -> None:
        if self.budget is not None and not self.on_gpu:
            memory.limit_data(None)


def run_trial(
    hypermodel: StepsHyperModel,
    hp,
    trial_id: str,
    seed: int,
    executions: int,
    ctx: Context,
) -> dict[str, Any]:
    """Train one configuration `executions` times; returns {"row", "curves"}."""
    import keras

    row: dict[str, Any] = {"trial_id": trial_id, **plan_columns(hypermodel, hp)}
    row.update(
        worker=ctx.worker,
        executions=executions,
        memory_budget_mb=None if ctx.budget is None else round(ctx.budget / 2**20, 1),
    )
    curves: list[dict[str, Any]] = []
    scores: list[dict[str, float]] = []
    runs: list[FitRun] = []
    status, message = "ok", ""
    start = time.perf_counter()
    ctx.reset_peak()
    ctx.limit()
    try:
        for execution in range(executions):
            keras.utils.set_random_seed(seed + execution)
            model = hypermodel.build(hp)
            hypermodel.last_run = None
            try:
                scores.append(hypermodel.fit(hp, model, seed=seed + execution))
            finally:
                if hypermodel.last_run is not None:
                    runs.append(hypermodel.last_run)
                    curves += [
                        {"trial_id": trial_id, "execution": execution, **c}
                        for c in hypermodel.last_run.curves
                    ]
            del model
            keras.backend.clear_session(free_memory=False)  # one gc.collect, below, suffices
    except TrialFailure as failure:
        status, message = failure.status, failure.message
    except Exception as exc:  # every failure becomes a record; none may end the worker silently
        status = classify_exception(exc)
        message = last_line(exc)
        if status == "oom":
            message = oom_message(row["batch_size"], ctx.budget, message)
    finally:
        ctx.unlimit()
    row["wall_s"] = round(time.perf_counter() - start, 3)
    row["peak_memory_mb"] = ctx.peak_mb()
    row.update(summarise(runs, scores, hypermodel.spec.model.metric))
    row["status"], row["message"] = status, message
    if status == "ok" and not math.isfinite(row.get(hypermodel.spec.search.objective, math.nan)):
        row["status"] = "error"
        row["message"] = f"the objective {hypermodel.spec.search.objective} is not a number"
    gc.collect()
    return {"row": row, "curves": curves}


def oom_message(batch_size: int, budget: int | None, detail: str) -> str:
    where = "device memory" if budget is None else f"budget {format_mib(budget)}"
    return f"out of memory at batch size {batch_size} ({where}): {detail}"


def summarise(runs: list[FitRun], scores: list[dict[str, float]], metric: str) -> dict[str, Any]:
    """Mean scores over the executions, the spread of the holdout metric, and what ran."""
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
        held = [s[f"holdout_{metric}"] for s in scores]
        out[f"holdout_{metric}_std"] = statistics.stdev(held) if len(held) > 1 else None
    return out
