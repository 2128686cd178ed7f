"""The commands that train on this machine: `run` (a search from start to report) and
`probe` (the out-of-memory frontier alone).

Everything a user can get wrong is checked before the run directory is created or touched
(`prepare`). Re-running the same command resumes: keras-tuner reloads its Oracle, finished
trials are kept, the interrupted one runs again.

The drivers (`search`, `probe`) import keras-tuner, for its Oracles; they are imported where
they are used, once the inputs are known to be good, so a bad spec or bad data is refused at
once. Models are built and trained in the workers only: started from the command line, this
process imports no TensorFlow at all (see `tuning.execution.keras_stand_in`).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

from tuning.data import cache, store
from tuning.data.dataset import Dataset, open_prepared
from tuning.execution import memory
from tuning.execution.capacity import worker_count
from tuning.execution.frontier import Frontier
from tuning.execution.messages import Ready
from tuning.execution.pool import WorkerPool
from tuning.execution.prepare import (
    Prepared,
    check_inputs,
    make_pool,
    make_tuner,
    prepare,
)
from tuning.execution.progress import Progress
from tuning.records import predictions, rundir
from tuning.records import staging as staging_area
from tuning.records import trials as records
from tuning.spec.errors import UserError
from tuning.spec.schema import AUTO, Spec
from tuning.spec.sizes import mib
from tuning.spec.space import expected_trials


@dataclass(frozen=True)
class RunOptions:
    """Where and how long a search runs. Its resources (workers, memory budget, device,
    time limit) are the spec's alone: command-line overrides are applied to the spec."""

    run_dir: Path
    max_trials: int | None = None
    fresh: bool = False
    threads: int | None = None  # per worker process; default: the cores shared out
    builder: bytes | None = None  # a builder handed over by the Python API, cloudpickled
    spec_text: str | None = None  # the spec as run, when it is not a file (Python API)


@contextmanager
def run_directory(prepared: Prepared, options: RunOptions,
                  claim: rundir.Claim) -> Iterator[Path]:
    """Set up the claimed run directory; whatever happens inside, run.json says how the
    search ended, the tables and the report are rebuilt from the records, and the lock is
    released. A report that fails after the search failed is a warning, never the error
    the user sees. run.json records what the run is made from (checked on resume)."""
    spec, run_dir = prepared.spec, options.run_dir
    failing = False
    try:
        if options.fresh:
            rundir.clear(run_dir)
        for damaged in rundir.damaged_files(run_dir):
            print(damaged.warning("written again"), file=sys.stderr, flush=True)
        if options.spec_text is not None:
            records.atomic_write(run_dir / rundir.SPEC_FILE, options.spec_text)
        elif not (run_dir / rundir.SPEC_FILE).is_file():
            shutil.copyfile(spec.path, run_dir / rundir.SPEC_FILE)
        rundir.write_state(
            run_dir, experiment=spec.name, state="running", started=rundir.now(), finished=None,
            workers=spec.resources.workers, n_pool=len(prepared.dataset.pool),
            n_holdout=len(prepared.dataset.holdout), hp_names=prepared.hp_names,
            memory_budget_mb=mib(spec.resources.memory_budget), error=None,
            data_warnings=list(prepared.dataset.warnings),
            planned=expected_trials(spec, options.max_trials),
            data_preparation=prepared.dataset.preparation,
            **claim.provenance.fields(),
        )
        predictions.save_labels(run_dir, prepared.dataset.y_holdout, prepared.dataset.y_test)
        yield run_dir
        rundir.write_state(run_dir, state="finished", finished=rundir.now())
    except KeyboardInterrupt:
        failing = True
        _try(rundir.write_state, run_dir, state="interrupted")
        raise
    except BaseException as exc:
        failing = True
        _try(rundir.write_state, run_dir, state="failed", error=_one_line(exc))
        raise
    finally:
        try:
            _rebuild(run_dir, prepared)
        except Exception as exc:
            if not failing:
                raise
            print(f"warning: the report was not rebuilt: {_one_line(exc)}", file=sys.stderr)
        finally:
            claim.release()


def _rebuild(run_dir: Path, prepared: Prepared) -> None:
    from tuning.report import build_report
    from tuning.report.index import update_index
    from tuning.verdicts.summary import headline

    records.write_tables(run_dir, prepared.spec.model.metric, prepared.hp_names)
    path = build_report(run_dir)
    print(headline(run_dir))
    print(f"report: {path}")
    update_index(run_dir)


def _try(write, *args, **kwargs) -> None:
    """Record how a search ended where the folder still allows it; the error that ended
    it is the one to report, not a second one from writing run.json."""
    with suppress(OSError, UserError):
        write(*args, **kwargs)


def share_data(staging: Path, spec: Spec, run_dir: Path) -> Dataset:
    """Put the store prepared while checking the data where every worker maps it (the cache,
    which the run directory's `data/` links to, or `data/` itself) and map it: the workers
    map the same files instead of each loading its own copy. A store opened from the cache
    left the staging folder's store missing; the staging folder is removed either way."""
    written = staging / staging_area.STORE
    folder = cache.share(written if (written / "meta.json").is_file() else None, spec,
                         run_dir / store.FOLDER)
    shutil.rmtree(staging, ignore_errors=True)
    return open_prepared(folder)


def staging_folder(run_dir: Path) -> Path:
    """Where the store is written before the run directory may be touched (and before this
    process holds its lock: see `tuning.records.staging`); the staging folders of killed
    searches beside it are removed first. Refuses a run directory that cannot be made, or a
    place beside it that cannot be written, as a `UserError`."""
    rundir.check_location(run_dir)
    try:
        return staging_area.make(run_dir.parent)
    except OSError as exc:
        raise UserError(str(run_dir.parent), f"cannot write in it: {exc.strerror or exc}") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def search_with_pool(prepared: Prepared, options: RunOptions, pool: WorkerPool, oracle,
                     tuner_id: str, rerun: bool = False) -> None:
    """Run the loop against `oracle` (local or the chief's) once the workers are ready;
    with `rerun` (the search on this machine alone), the fresh-seed re-runs too: started on
    workers the search leaves idle at its end, finished once it is over."""
    from tuning.execution.rerun import ReRuns
    from tuning.execution.search import SearchContext, drive

    spec = prepared.spec
    print(f"starting {pool.size} worker(s) ...", flush=True)
    announce(pool.await_ready())
    ctx = SearchContext(spec, options.run_dir, prepared.planner, oracle, tuner_id,
                        prepared.hp_names)
    progress = Progress(spec.search.objective, prepared.hp_names,
                        expected_trials(spec, options.max_trials), pool.size)
    reruns = ReRuns(ctx) if rerun else None
    drive(ctx, pool, progress, _probed_frontier(prepared, pool), reruns)
    if reruns is not None:
        reruns.finish(pool)


def announce(started: list[Ready]) -> None:
    """Say where the workers train (the device plan's note), and warn when the memory
    budget cannot be enforced on this machine."""
    notes = sorted({ready.device_note for ready in started})
    print(f"workers train on: {'; '.join(notes)}", flush=True)
    if not all(ready.budget_enforced for ready in started):
        print("warning: the CPU memory budget cannot be set here (no /proc/self/status): "
              "trials run without a cap", file=sys.stderr, flush=True)


def run_search(spec: Spec, options: RunOptions) -> int:
    """Run (or resume) the search on this machine; returns the process exit code."""
    spec = with_worker_count(spec, options.max_trials)
    pool = make_pool(spec, options.run_dir, options.threads, builder=options.builder,
                     data_dir=str(options.run_dir / store.FOLDER))
    pool.spawn(begin=False)  # the workers import TensorFlow while this process reads the data
    created = rundir.first_missing(options.run_dir)
    staging: Path | None = None
    claim: rundir.Claim | None = None
    try:
        try:
            staging = staging_folder(options.run_dir)
            dataset = check_inputs(spec, builder_given=options.builder is not None,
                                   folder=staging / staging_area.STORE)
            provenance = rundir.Provenance.of(spec, dataset)
            claim = rundir.claim(options.run_dir, spec, options.fresh, provenance)
            dataset = share_data(staging, spec, options.run_dir)
            memory.give_back_freed()  # the loaded copies, freed just now
            pool.begin()
            # keras-tuner's import (a second, scikit-learn's mostly) while the worker starts
            import keras_tuner  # noqa: F401
            prepared = prepare(spec, dataset, options.builder, pool)
        except BaseException:  # nothing ran: leave no lock, and nothing this start made
            pool.close()  # first: a begun worker may still be creating its log there
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            if claim is not None:
                claim.undo()
            if created is not None:  # the folders this start made (the staging's too)
                shutil.rmtree(created, ignore_errors=True)
            raise
        with run_directory(prepared, options, claim) as run_dir:
            tuner = make_tuner(prepared, run_dir, options.max_trials, options.fresh)
            tuner.save()
            search_with_pool(prepared, options, pool, tuner.oracle, tuner.tuner_id, rerun=True)
            pool.stop()  # the workers exit while the report is built
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: finished trials are kept; run the same command to resume",
              file=sys.stderr)
        return 130
    finally:
        pool.close()


def with_worker_count(spec: Spec, max_trials: int | None = None) -> Spec:
    """The spec with its number of workers decided (`workers = "auto"` by the machine, see
    `tuning.execution.capacity`), said on the terminal when the machine chose."""
    chosen = worker_count(spec, max_trials)
    if spec.resources.workers == AUTO:
        print(f"workers: {chosen.count} ({chosen.reason})", flush=True)
    return replace(spec, resources=replace(spec.resources, workers=chosen.count))


def probe_frontier(spec: Spec) -> str:
    """`probe SPEC`: start one worker, probe every model of the grid, describe the frontier."""
    dataset = check_inputs(spec)
    from tuning.execution.probe import describe, find_frontier, model_points

    pool = make_pool(spec, run_dir=None, size=1)
    pool.spawn()
    try:
        prepared = prepare(spec, dataset, pool=pool)
        announce(pool.await_ready())
        results = [find_frontier(pool, spec, point, batch)
                   for point, batch in model_points(spec, prepared.dataset)]
    finally:
        pool.close()
    return describe(spec, prepared.dataset, results, spec.resources.memory_budget)


def _probed_frontier(prepared: Prepared, pool: WorkerPool) -> Frontier:
    """With `search.probe = true`, probe each model first; its failures seed the frontier."""
    from tuning.execution.probe import find_frontier, model_points

    frontier = Frontier()
    if not prepared.spec.search.probe:
        return frontier
    for point, max_batch in model_points(prepared.spec, prepared.dataset):
        print(f"probing batch sizes up to {max_batch} ...", flush=True)
        found = find_frontier(pool, prepared.spec, point, max_batch, on_probe=_print_probe)
        if found.smallest_oom is not None:
            frontier.record_oom(point, found.smallest_oom)
    return frontier


def _print_probe(row: dict) -> None:
    print(f"  probe: batch {row['batch_size']} {row['status']}", flush=True)
