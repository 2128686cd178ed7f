"""The search loop: keras-tuner's Oracle decides what to try, a pool of workers trains.

The loop asks the Oracle for a trial for each idle worker, skips what the out-of-memory
frontier rules out, writes each finished trial's record at once, and tells the Oracle. It
talks to the Oracle only through `create_trial`, `update_trial` and `end_trial`, so the same
loop drives a local Oracle or keras-tuner's chief on another machine.
"""

from __future__ import annotations

import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_tuner.engine.trial import TrialStatus

from tuning.execution.frontier import Frontier
from tuning.execution.messages import TrialTask
from tuning.execution.oracles import SavedOracle
from tuning.execution.pool import Job, WorkerPool
from tuning.execution.progress import Progress
from tuning.records import predictions
from tuning.records import trials as records
from tuning.records.epochs import clear_files, read_epochs
from tuning.records.rows import planned_row, trial_row
from tuning.records.status import Status
from tuning.records.trials import (
    BATCH_SIZE,
    GAP,
    HOLDOUT_LOSS,
    STATUS,
    TRAIN_LOSS,
    VAL_LOSS,
    metric_columns,
)
from tuning.report.live import LiveReport
from tuning.spec.schema import Spec
from tuning.spec.sizes import mib
from tuning.training.budget import TrialPlanner

if TYPE_CHECKING:
    from tuning.execution.rerun import ReRuns

_METRIC_KEYS = (HOLDOUT_LOSS, TRAIN_LOSS, VAL_LOSS, GAP)
_ENDED = (TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.INVALID)


@dataclass
class SearchContext:
    spec: Spec
    run_dir: Path
    planner: TrialPlanner
    oracle: Any
    tuner_id: str
    hp_names: list[str]


def trial_seed(spec: Spec, trial_id: str) -> int:
    """A seed per trial that does not depend on which worker runs it or when."""
    return zlib.crc32(f"{spec.seed}:{trial_id}".encode()) & 0x7FFFFFFF


def drive(ctx: SearchContext, pool: WorkerPool, progress: Progress,
          frontier: Frontier | None = None, reruns: ReRuns | None = None) -> None:
    """Run trials until the Oracle says the search is over; every trial ends in a record.

    `frontier` holds what is already known to run out of memory (from probes); the records
    of an earlier run of the same search add to it. A damaged record is named, and its
    trial trained again: first, when the Oracle had already ended it (the Oracle keeps
    what it learnt; only the record is rebuilt), or when the Oracle hands it out again.
    `reruns`, where given, gets the workers the Oracle leaves idle once it has no trial left."""
    oracle = ctx.oracle
    clear_files(ctx.run_dir)  # an earlier run's epochs, which the status line would show
    kept, damaged = records.load_trials(ctx.run_dir)
    known = getattr(oracle, "trials", {})
    redo = [known[d.trial_id] for d in damaged
            if d.trial_id in known and known[d.trial_id].status in _ENDED]
    for bad in damaged:
        then = ("left out" if bad.foreign and bad.trial_id not in known
                else f"trial {bad.trial_id} runs again")
        print(bad.warning(then), file=sys.stderr, flush=True)
    frontier = frontier or Frontier()
    frontier.merge_rows([t["row"] for t in kept], ctx.hp_names, mib(pool.budget))
    progress.resume(len(kept))
    records.write_tables(ctx.run_dir, ctx.spec.model.metric, ctx.hp_names)  # then appended to
    redone: set[str] = set()
    live = LiveReport(ctx.run_dir)
    try:
        _loop(ctx, pool, progress, frontier, redo, redone, live, reruns)
    finally:
        live.close()
        progress.line.clear()
    # Not on the way out of an interrupt, which may have cut keras-tuner in the middle of
    # a trial's files: the reload takes back from those files what the last save missed.
    if isinstance(oracle, SavedOracle):  # not a remote chief's: that one saves its own
        oracle.save(force=True)


def _loop(ctx: SearchContext, pool: WorkerPool, progress: Progress, frontier: Frontier,
          redo: list, redone: set[str], live: LiveReport, reruns: ReRuns | None) -> None:
    oracle = ctx.oracle
    stopped = False
    finished = 0
    while True:
        for worker in pool.idle() if not stopped else []:
            if redo:
                trial = redo.pop(0)
                redone.add(trial.trial_id)
                _submit(ctx, pool, worker, trial, progress)
                continue
            trial = oracle.create_trial(f"{ctx.tuner_id}-w{worker.index}")
            if trial.status == TrialStatus.STOPPED:
                stopped = True
                break
            if trial.status == TrialStatus.IDLE:
                break
            saved = records.read_trial(ctx.run_dir, trial.trial_id)
            if saved is not None:  # finished before a crash, never reported to the Oracle
                finish(ctx, trial, saved["row"], progress, saved["curves"], resumed=True)
                continue
            planned = planned_row(trial.trial_id, ctx.planner, trial.hyperparameters)
            blocker = frontier.blocking_batch(trial.hyperparameters.values, planned[BATCH_SIZE])
            if blocker is not None:
                row = trial_row(
                    planned, Status.SKIPPED_OOM,
                    f"not run: the same model ran out of memory at batch {blocker} under this "
                    f"budget, and batch {planned['batch_size']} is no smaller",
                    wall_s=0.0, memory_budget_mb=mib(pool.budget),
                )
                records.write_trial(ctx.run_dir, row, [])
                finish(ctx, trial, row, progress)
                continue
            _submit(ctx, pool, worker, trial, progress, planned)
        if stopped and not redo and reruns is not None and pool.busy():
            reruns.start_early(pool, finished)  # the Oracle has nothing left for idle workers
        if not pool.busy():
            if stopped and not redo:
                return
            time.sleep(0.2)  # the Oracle is waiting on trials held elsewhere
            continue
        for job, outcome in pool.wait(timeout=1.0 if progress.live else 5.0):
            if reruns is not None and reruns.take(job, outcome):
                continue
            finished += 1
            row = outcome.row
            records.write_trial(ctx.run_dir, row, outcome.curves)
            if outcome.predictions:  # beside the record; a trial without them is not paired
                predictions.save(ctx.run_dir, f"trial_{row['trial_id']}", outcome.predictions)
            if row[STATUS] == Status.OOM and row.get(BATCH_SIZE):
                frontier.record_oom(_hp_values(row, ctx.hp_names), int(row[BATCH_SIZE]))
            if job.task_id in redone:
                records.write_tables(ctx.run_dir, ctx.spec.model.metric, ctx.hp_names)
                progress.finished(row)
            else:
                finish(ctx, oracle.get_trial(job.task_id), row, progress, outcome.curves)
            live.trial_finished()
        if progress.live:
            progress.tick(read_epochs(ctx.run_dir))


def _submit(ctx: SearchContext, pool: WorkerPool, worker, trial, progress: Progress,
            planned: dict[str, Any] | None = None) -> None:
    planned = planned or planned_row(trial.trial_id, ctx.planner, trial.hyperparameters)
    task = TrialTask(trial.trial_id, trial.hyperparameters.get_config(),
                     trial_seed(ctx.spec, trial.trial_id))
    pool.submit(worker, Job(task, planned))
    progress.started(planned)


def _hp_values(row: dict[str, Any], hp_names: list[str]) -> dict[str, Any]:
    return {name: row.get(records.column(name)) for name in hp_names}


def finish(ctx: SearchContext, trial, row: dict[str, Any], progress: Progress,
           curves: Sequence[dict[str, Any]] = (), resumed: bool = False) -> None:
    """Tell the Oracle how the trial ended, add it to the tables, print one line."""
    metric = ctx.spec.model.metric
    if row[STATUS] == Status.OK:
        keys = (*_METRIC_KEYS, *metric_columns(metric))
        metrics = {k: float(row[k]) for k in keys if row.get(k) is not None}
        ctx.oracle.update_trial(trial.trial_id, metrics)
        trial.status = TrialStatus.COMPLETED
    else:
        trial.status = TrialStatus.FAILED
        trial.message = f"{row['status']}: {row.get('message', '')}"
    ctx.oracle.end_trial(trial)  # which saves the Oracle, now and then (see `SavedOracle`)
    records.append_tables(ctx.run_dir, row, curves, metric, ctx.hp_names)
    progress.finished(row, resumed=resumed)
