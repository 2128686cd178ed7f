"""The search loop: keras-tuner's Oracle decides what to try, a pool of workers trains.

The loop asks the Oracle for a trial for each idle worker, skips what the out-of-memory
frontier rules out, writes each finished trial's record at once, and tells the Oracle. It
talks to the Oracle only through `create_trial`, `update_trial` and `end_trial`, so the same
loop drives a local Oracle or keras-tuner's chief on another machine.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keras_tuner.engine.trial import TrialStatus

from tuning import records
from tuning.execution.frontier import Frontier
from tuning.execution.pool import Task, WorkerPool
from tuning.execution.trial import plan_columns
from tuning.hypermodel import StepsHyperModel
from tuning.progress import Progress
from tuning.spec import Spec

_METRIC_KEYS = ("holdout_loss", "train_loss", "val_loss", "gap")


@dataclass
class SearchContext:
    spec: Spec
    run_dir: Path
    hypermodel: StepsHyperModel
    oracle: Any
    tuner_id: str
    hp_names: list[str]


def trial_seed(spec: Spec, trial_id: str) -> int:
    """A seed per trial that does not depend on which worker runs it or when."""
    return zlib.crc32(f"{spec.seed}:{trial_id}".encode()) & 0x7FFFFFFF


def drive(ctx: SearchContext, pool: WorkerPool, progress: Progress,
          frontier: Frontier | None = None) -> None:
    """Run trials until the Oracle says the search is over; every trial ends in a record.

    `frontier` holds what is already known to run out of memory (from probes); the records
    of an earlier run of the same search add to it."""
    spec, oracle = ctx.spec, ctx.oracle
    kept = [t["row"] for t in records.read_trials(ctx.run_dir)]
    frontier = frontier or Frontier()
    frontier.merge_rows(kept, ctx.hp_names, _budget_mb(pool))
    progress.resume(len(kept))
    stopped = False
    while True:
        for worker in pool.idle() if not stopped else []:
            trial = oracle.create_trial(f"{ctx.tuner_id}-w{worker.index}")
            if trial.status == TrialStatus.STOPPED:
                stopped = True
                break
            if trial.status == TrialStatus.IDLE:
                break
            saved = records.read_trial(ctx.run_dir, trial.trial_id)
            if saved is not None:  # finished before a crash, never reported to the Oracle
                finish(ctx, trial, saved["row"], progress, resumed=True)
                continue
            hp = trial.hyperparameters
            row = {"trial_id": trial.trial_id, **plan_columns(ctx.hypermodel, hp)}
            blocker = frontier.blocking_batch(hp.values, row["batch_size"])
            if blocker is not None:
                row.update(
                    status="skipped_oom",
                    message=f"not run: the same model ran out of memory at batch {blocker} "
                    f"under this budget, and batch {row['batch_size']} is no smaller",
                    wall_s=0.0,
                    memory_budget_mb=_budget_mb(pool),
                )
                records.write_trial(ctx.run_dir, row, [])
                finish(ctx, trial, row, progress)
                continue
            message = ("trial", trial.trial_id, hp.get_config(), trial_seed(spec, trial.trial_id))
            pool.submit(worker, Task(trial.trial_id, message, row))
            progress.started(row)
        if not pool.busy():
            if stopped:
                return
            time.sleep(0.2)  # the Oracle is waiting on trials held elsewhere
            continue
        for task, result in pool.wait(timeout=5.0):
            row = {**result["row"], "memory_budget_mb": _budget_mb(pool)}
            records.write_trial(ctx.run_dir, row, result["curves"])
            if row["status"] == "oom" and row.get("batch_size"):
                frontier.record_oom(_hp_values(row, ctx.hp_names), int(row["batch_size"]))
            finish(ctx, oracle.get_trial(task.trial_id), row, progress)


def _budget_mb(pool: WorkerPool) -> float | None:
    budget = pool.config.memory_budget
    return None if budget is None else round(budget / 2**20, 1)


def _hp_values(row: dict[str, Any], hp_names: list[str]) -> dict[str, Any]:
    return {name: row.get(name.replace("/", "_")) for name in hp_names}


def finish(ctx: SearchContext, trial, row: dict[str, Any], progress: Progress,
           resumed: bool = False) -> None:
    """Tell the Oracle how the trial ended, rebuild the tables, print one line."""
    metric = ctx.spec.model.metric
    if row["status"] == "ok":
        keys = (*_METRIC_KEYS, f"holdout_{metric}", f"val_{metric}")
        metrics = {k: float(row[k]) for k in keys if row.get(k) is not None}
        ctx.oracle.update_trial(trial.trial_id, metrics)
        trial.status = TrialStatus.COMPLETED
    else:
        trial.status = TrialStatus.FAILED
        trial.message = f"{row['status']}: {row.get('message', '')}"
    ctx.oracle.end_trial(trial)
    if hasattr(ctx.oracle, "save"):
        ctx.oracle.save()  # keras-tuner saves before it forgets the trial was running
    records.write_tables(ctx.run_dir, metric, ctx.hp_names)
    progress.finished(row, resumed=resumed)
