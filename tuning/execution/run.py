"""A search from start to report: checks, run directory, workers, loop, tables, report.

Everything a user can get wrong (spec, data, builder) is checked before the run directory is
created or touched. Re-running the same command resumes: keras-tuner reloads its Oracle,
finished trials are kept, the interrupted one runs again.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuning import records, rundir
from tuning.builders import builder_from, check_builder
from tuning.data import Dataset, load_dataset
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
    threads: int | None = None  # per worker process; default: the cores shared out
    builder: bytes | None = None  # a builder handed over by the Python API, cloudpickled
    spec_text: str | None = None  # the spec as run, when it is not a file (Python API)


@dataclass
class Prepared:
    """What every process of a search loads first: data, HyperModel, searched names."""

    spec: Spec
    dataset: Dataset
    hypermodel: Any
    hp_names: list[str]


def threads_per_worker(workers: int) -> int:
    """Each worker gets its share of the cores, so parallel workers do not fight."""
    return max(1, (os.cpu_count() or 1) // workers)


def check_inputs(spec: Spec, builder_given: bool = False) -> Dataset:
    """What can be checked without TensorFlow: the data and the builder's reference."""
    dataset = load_dataset(spec)
    if not builder_given:
        check_builder(spec)
    return dataset


def prepare(spec: Spec, dataset: Dataset | None = None,
            builder: bytes | None = None) -> Prepared:
    """Load the data and the model's search space; raises UserError, writes nothing."""
    dataset = dataset if dataset is not None else check_inputs(spec)
    print(f"{spec.name}: {len(dataset.x_pool)} training/validation rows, "
          f"{len(dataset.x_holdout)} holdout rows; loading TensorFlow ...", flush=True)
    for warning in dataset.warnings:
        print(f"warning: {warning}", flush=True)
    from tuning.execution.worker import quiet_tensorflow

    quiet_tensorflow()
    from tuning.hypermodel import StepsHyperModel
    from tuning.oracles import make_oracle

    hypermodel = StepsHyperModel(spec, dataset, builder_from(spec, builder))
    hp = make_oracle(spec).get_space()
    hypermodel.declare_hyperparameters(hp)
    try:
        hypermodel.build(hp)
    except Exception as exc:  # the user's builder failing is a user error, named as such
        raise UserError("model.builder", f"building the model failed: "
                                         f"{type(exc).__name__}: {exc}".splitlines()[0]) from None
    return Prepared(spec, dataset, hypermodel, [h.name for h in hp.space])


def claim(run_dir: Path, spec: Spec, fresh: bool) -> rundir.RunLock:
    """Lock the run directory for this search (creating it), refusing a directory that
    holds another spec's search or a search still running."""
    if not fresh:
        rundir.check_resumable(run_dir, spec)
    lock = rundir.RunLock(run_dir)
    lock.acquire()
    return lock


@contextmanager
def run_directory(prepared: Prepared, options: RunOptions,
                  lock: rundir.RunLock) -> Iterator[Path]:
    """Set up the claimed run directory; whatever happens inside, the tables and the report
    are rebuilt from the records on the way out, and the lock is released."""
    spec, run_dir = prepared.spec, options.run_dir
    try:
        if options.fresh:
            rundir.clear(run_dir)
        if options.spec_text is not None:
            records.atomic_write(run_dir / rundir.SPEC_FILE, options.spec_text)
        elif not (run_dir / rundir.SPEC_FILE).is_file():
            shutil.copyfile(spec.path, run_dir / rundir.SPEC_FILE)
        rundir.write_state(
            run_dir, experiment=spec.name, state="running", started=rundir.now(), finished=None,
            workers=options.workers, n_pool=len(prepared.dataset.x_pool),
            n_holdout=len(prepared.dataset.x_holdout),
            memory_budget_mb=None if options.memory_budget is None
            else round(options.memory_budget / 2**20, 1),
        )
        yield run_dir
        rundir.write_state(run_dir, state="finished", finished=rundir.now())
    except KeyboardInterrupt:
        rundir.write_state(run_dir, state="interrupted")
        raise
    finally:
        records.write_tables(run_dir, spec.model.metric, prepared.hp_names)
        from tuning.report import build_index, build_report

        path = build_report(run_dir)
        build_index(run_dir.parent)
        print(f"report: {path}")
        lock.release()


def make_tuner(prepared: Prepared, run_dir: Path, max_trials: int | None, fresh: bool):
    """keras-tuner's BaseTuner over the spec's Oracle: it owns the project directory and
    reloads the Oracle on resume; under chief/worker environment variables its Oracle is
    the chief's, reached over gRPC."""
    from keras_tuner.engine.base_tuner import BaseTuner

    from tuning.oracles import make_oracle

    oracle = make_oracle(prepared.spec, max_trials)
    oracle.verbose = 0
    return BaseTuner(oracle=oracle, hypermodel=prepared.hypermodel, directory=str(run_dir),
                     project_name=TUNER_DIR, overwrite=fresh)


def make_pool(spec: Spec, options: RunOptions, workers: int):
    from tuning.execution.pool import WorkerPool
    from tuning.execution.worker import WorkerConfig

    threads = options.threads or threads_per_worker(workers)
    config = WorkerConfig(spec=spec, index=0, threads=threads,
                          memory_budget=options.memory_budget, run_dir=str(options.run_dir),
                          builder=options.builder)
    return WorkerPool(config, workers, spec.resources.trial_timeout_s)


def search_with_pool(prepared: Prepared, options: RunOptions, pool, oracle,
                     tuner_id: str) -> None:
    """Run the loop against `oracle` (local or the chief's) once the workers are ready."""
    from tuning.execution.search import SearchContext, drive
    from tuning.oracles import expected_trials
    from tuning.progress import Progress

    spec = prepared.spec
    print(f"starting {pool.size} worker(s) ...", flush=True)
    pool.await_ready()
    ctx = SearchContext(spec, options.run_dir, prepared.hypermodel, oracle, tuner_id,
                        prepared.hp_names)
    progress = Progress(spec.search.objective, prepared.hp_names,
                        expected_trials(spec, options.max_trials), pool.size)
    drive(ctx, pool, progress, _probed_frontier(prepared, pool))


def run_search(spec: Spec, options: RunOptions) -> int:
    """Run (or resume) the search on this machine; returns the process exit code."""
    dataset = check_inputs(spec, builder_given=options.builder is not None)
    created = not options.run_dir.exists()
    lock = claim(options.run_dir, spec, options.fresh)
    pool = make_pool(spec, options, options.workers)
    pool.spawn()  # the workers import TensorFlow while this process does
    try:
        try:
            prepared = prepare(spec, dataset, options.builder)
        except BaseException:
            pool.close()
            lock.release()
            if created:  # a builder that fails leaves nothing behind
                shutil.rmtree(options.run_dir, ignore_errors=True)
            raise
        with run_directory(prepared, options, lock) as run_dir:
            tuner = make_tuner(prepared, run_dir, options.max_trials, options.fresh)
            tuner.save()
            search_with_pool(prepared, options, pool, tuner.oracle, tuner.tuner_id)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: finished trials are kept; run the same command to resume",
              file=sys.stderr)
        return 130
    finally:
        pool.close()


def _probed_frontier(prepared: Prepared, pool):
    """With `search.probe = true`, probe each model first; its failures seed the frontier."""
    from tuning.execution.frontier import Frontier
    from tuning.execution.probe import find_frontier, model_points

    frontier = Frontier()
    if not prepared.spec.search.probe:
        return frontier
    for point, max_batch in model_points(prepared.spec, prepared.dataset):
        print(f"probing batch sizes up to {max_batch} ...", flush=True)
        found = find_frontier(pool, prepared.hypermodel, point, max_batch, on_probe=_print_probe)
        if found.smallest_oom is not None:
            frontier.record_oom(point, found.smallest_oom)
    return frontier


def _print_probe(row: dict) -> None:
    print(f"  probe: batch {row['batch_size']} {row['status']}", flush=True)
