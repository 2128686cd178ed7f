"""What a finished trial costs the search, besides training, as the search grows long.

For each size N, a run directory and a keras-tuner Oracle are filled with N - `measured`
synthetic finished trials (records written, Oracle told, no training), then the next
`measured` trials go through exactly the path a finished trial takes in the search: its
record written, then `finish` (the Oracle told and saved, the tables brought up to date, one
line printed). The figure is the mean time of that path per trial; the goal is that it stays
flat from 200 to 10,000 trials. The Oracle's state grows with the trials, so its save is
rate-limited (`tuning.execution.oracles.SavedOracle`: at most about 5% of the search's time); the
trials here come back to back, as the shortest real trials would. Beside it: one full
Oracle save alone, and one rebuild of both tables from every record (what each trial cost
when the tables were rebuilt after each one).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import print_table, write_csv
from tuning.spec.tomlwrite import to_toml

SIZES = (200, 2_000, 10_000)

_SPEC = {
    "experiment": {"name": "bookkeeping", "seed": 1},
    "data": {"source": "sklearn:iris"},
    "search": {"tuner": "random", "space": {
        "steps_per_epoch": {"min": 1, "max": 1000000},
        "validation_split": {"min": 0.05, "max": 0.5},
        "units": [8, 16, 32, 64],
    }},
}


def _row(trial, metric: str = "accuracy") -> dict[str, Any]:
    values = trial.hyperparameters.values
    return {"trial_id": trial.trial_id, "status": "ok", **values, "batch_size": 32,
            "effective_steps_per_epoch": values["steps_per_epoch"], "epochs_run": 10,
            "updates": 100, "samples_seen": 3200, "best_epoch": 7, "train_loss": 0.3,
            "val_loss": 0.4, "holdout_loss": 0.41, f"holdout_{metric}": 0.9,
            f"val_{metric}": 0.88, "gap": 0.1, "peak_memory_mb": 12.5, "wall_s": 1.5,
            "message": "", "executions": 1, "worker": 0}


def _curves(trial_id: str, metric: str = "accuracy") -> list[dict[str, Any]]:
    return [{"trial_id": trial_id, "execution": 0, "epoch": e, "updates": 10 * e,
             "samples_seen": 320 * e, "loss": 1 / e, "val_loss": 1.1 / e, metric: 0.9,
             f"val_{metric}": 0.88} for e in range(1, 11)]


def _one_size(n: int, measured: int, folder: Path) -> dict[str, Any]:
    from keras_tuner.engine.trial import TrialStatus

    from tuning.execution.oracles import make_oracle
    from tuning.execution.progress import Progress
    from tuning.execution.search import SearchContext, finish
    from tuning.records import trials as records
    from tuning.spec.schema import load_spec
    from tuning.spec.space import declare_space

    spec_path = folder / "spec.toml"
    spec_path.write_text(to_toml(_SPEC))
    spec = load_spec(spec_path)
    run_dir = folder / "run"
    oracle = make_oracle(spec, n)
    oracle.verbose = 0
    oracle._set_project_dir(str(run_dir), "tuner")  # what keras-tuner's BaseTuner does
    space = oracle.get_space()
    declare_space(space, spec.search.space)
    oracle.update_space(space)
    hp_names = [h.name for h in space.space]
    ctx = SearchContext(spec, run_dir, None, oracle, "bench", hp_names)
    progress = Progress(spec.search.objective, hp_names, n, 1, out=io.StringIO())
    start = time.perf_counter()
    for _ in range(n - measured):
        trial = oracle.create_trial("bench")
        records.write_trial(run_dir, _row(trial), _curves(trial.trial_id))
        oracle.update_trial(trial.trial_id, {"holdout_accuracy": 0.9})
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    records.write_tables(run_dir, spec.model.metric, hp_names)
    oracle.save(force=True)
    fill_s = time.perf_counter() - start
    costs = []
    for _ in range(measured):
        trial = oracle.create_trial("bench")
        row = _row(trial)
        start = time.perf_counter()
        curves = _curves(trial.trial_id)
        records.write_trial(run_dir, row, curves)
        finish(ctx, trial, row, progress, curves)
        costs.append(time.perf_counter() - start)
    trials = len(records.read_table(run_dir / "trials.csv"))
    assert trials == n, f"the table holds {trials} trials, not {n}"
    start = time.perf_counter()
    oracle.save(force=True)
    save_ms = 1000 * (time.perf_counter() - start)
    start = time.perf_counter()
    records.write_tables(run_dir, spec.model.metric, hp_names)
    rebuild_ms = 1000 * (time.perf_counter() - start)
    return {"trials": n, "measured": measured, "ms_per_trial": 1000 * sum(costs) / measured,
            "ms_worst": 1000 * max(costs), "oracle_save_ms": save_ms,
            "tables_rebuilt_ms": rebuild_ms, "fill_s": fill_s}


def run(sizes: tuple[int, ...] = SIZES, measured: int = 20, folder: Path | None = None,
        results: Path | None = None) -> list[dict[str, Any]]:
    """Each size in a fresh folder; writes bookkeeping.csv and prints the table."""
    work = Path(folder or tempfile.mkdtemp(prefix="bench-bookkeeping-"))
    rows = []
    for n in sizes:
        print(f"bookkeeping: {n} trials ...", flush=True)
        where = work / str(n)
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        rows.append(_one_size(n, measured, where))
        shutil.rmtree(where, ignore_errors=True)
    write_csv("bookkeeping", rows, *([results] if results else []))
    print_table("Cost of a finished trial's records, tables and Oracle save (goal: flat)", rows)
    return rows
