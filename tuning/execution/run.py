"""A local search from start to report: checks, run directory, workers, loop, tables, report.

Everything a user can get wrong (spec, data, builder) is checked before the run directory is
created or touched. Re-running the same command resumes: keras-tuner reloads its Oracle,
finished trials are kept, the interrupted one runs again.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tuning import records, rundir
from tuning.builders import check_builder
from tuning.data import load_dataset
from tuning.errors import UserError
from tuning.spec import Spec

TUNER_DIR = "tuner"


@dataclass(frozen=True)
class RunOptions:
    run_dir: Path
    workers: int = 1
    memory_budget: int | None = None
    max_trials: int | None = None
    fresh: bool = False


def threads_per_worker(workers: int) -> int:
    """Each worker gets its share of the cores, so parallel workers do not fight."""
    return max(1, (os.cpu_count() or 1) // workers)


def prepare(spec: Spec):
    """Load the data and the model's search space; raises UserError, writes nothing."""
    dataset = load_dataset(spec)
    check_builder(spec)
    print(f"{spec.name}: {len(dataset.x_pool)} training/validation rows, "
          f"{len(dataset.x_holdout)} holdout rows; loading TensorFlow ...", flush=True)
    from tuning.execution.worker import quiet_tensorflow

    quiet_tensorflow()
    from tuning.hypermodel import StepsHyperModel
    from tuning.oracles import make_oracle

    hypermodel = StepsHyperModel(spec, dataset)
    oracle = make_oracle(spec)
    hp = oracle.get_space()
    hypermodel.declare_hyperparameters(hp)
    try:
        hypermodel.build(hp)
    except Exception as exc:  # the user's builder failing is a user error, named as such
        raise UserError("model.builder", f"building the model failed: "
                                         f"{type(exc).__name__}: {exc}".splitlines()[0]) from None
    return dataset, hypermodel


def run_search(spec: Spec, options: RunOptions) -> int:
    """Run (or resume) the search; returns the process exit code."""
    dataset, hypermodel = prepare(spec)
    run_dir = options.run_dir
    if not options.fresh:
        rundir.check_resumable(run_dir, spec)
    lock = rundir.RunLock(run_dir)
    lock.acquire()
    pool, hp_names = None, [d.name for d in spec.search.space]
    try:
        if options.fresh:
            rundir.clear(run_dir)
        if not (run_dir / rundir.SPEC_FILE).is_file():
            shutil.copyfile(spec.path, run_dir / rundir.SPEC_FILE)
        rundir.write_state(
            run_dir, experiment=spec.name, state="running", started=rundir.now(), finished=None,
            workers=options.workers, n_pool=len(dataset.x_pool), n_holdout=len(dataset.x_holdout),
            memory_budget_mb=None if options.memory_budget is None
            else round(options.memory_budget / 2**20, 1),
        )
        pool, ctx = _start(spec, options, hypermodel)
        hp_names = ctx.hp_names
        from tuning.execution.search import drive
        from tuning.oracles import expected_trials
        from tuning.progress import Progress

        progress = Progress(spec.search.objective, ctx.hp_names,
                            expected_trials(spec, options.max_trials), options.workers)
        drive(ctx, pool, progress, _probed_frontier(spec, pool, hypermodel, dataset))
        rundir.write_state(run_dir, state="finished", finished=rundir.now())
        return 0
    except KeyboardInterrupt:
        rundir.write_state(run_dir, state="interrupted")
        print("\ninterrupted: finished trials are kept; run the same command to resume",
              file=sys.stderr)
        return 130
    finally:
        if pool is not None:
            pool.close()
        _finalise(spec, run_dir, hp_names)
        lock.release()


def _start(spec: Spec, options: RunOptions, hypermodel):
    from keras_tuner.engine.base_tuner import BaseTuner

    from tuning.execution.pool import WorkerPool
    from tuning.execution.search import SearchContext
    from tuning.execution.worker import WorkerConfig
    from tuning.oracles import make_oracle

    oracle = make_oracle(spec, options.max_trials)
    oracle.verbose = 0
    tuner = BaseTuner(oracle=oracle, hypermodel=hypermodel, directory=str(options.run_dir),
                      project_name=TUNER_DIR, overwrite=options.fresh)
    tuner.save()
    hp_names = [hp.name for hp in oracle.get_space().space]
    config = WorkerConfig(spec=spec, index=0, threads=threads_per_worker(options.workers),
                          memory_budget=options.memory_budget, run_dir=str(options.run_dir))
    pool = WorkerPool(config, options.workers, spec.resources.trial_timeout_s)
    print(f"starting {options.workers} worker(s) ...", flush=True)
    pool.start()
    return pool, SearchContext(spec, options.run_dir, hypermodel, oracle, tuner.tuner_id,
                               hp_names)


def _probed_frontier(spec: Spec, pool, hypermodel, dataset):
    """With `search.probe = true`, probe each model first; its failures seed the frontier."""
    from tuning.execution.frontier import Frontier
    from tuning.execution.probe import find_frontier, model_points

    frontier = Frontier()
    if not spec.search.probe:
        return frontier
    for point, max_batch in model_points(spec, dataset):
        print(f"probing batch sizes up to {max_batch} ...", flush=True)
        found = find_frontier(pool, hypermodel, point, max_batch, on_probe=_print_probe)
        if found.smallest_oom is not None:
            frontier.record_oom(point, found.smallest_oom)
    return frontier


def _print_probe(row: dict) -> None:
    print(f"  probe: batch {row['batch_size']} {row['status']}", flush=True)


def _finalise(spec: Spec, run_dir: Path, hp_names: list[str]) -> None:
    """Tables and report, whatever happened: they are rebuilt from the records alone."""
    records.write_tables(run_dir, spec.model.metric, hp_names)
    from tuning.report import build_index, build_report

    path = build_report(run_dir)
    build_index(run_dir.parent)
    print(f"report: {path}")
