"""What every benchmark shares: the spec it searches, the command line it runs, the tables
it writes and the machine it ran on."""

from __future__ import annotations

import csv
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuning.spec.tomlwrite import to_toml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

@dataclass(frozen=True)
class Grid:
    """A digits-sized search space: the same configurations for every contender."""

    steps: tuple[int, ...]
    splits: tuple[float, ...]
    epochs: int = 10

    def configurations(self) -> list[tuple[int, float]]:
        """In keras-tuner's grid order (the last hyperparameter varies fastest), so the
        hand-written loops train the configurations in the order the tuners do."""
        return [(s, v) for s in self.steps for v in self.splits]


def write_spec(folder: Path, grid: Grid, name: str = "bench", tuner: str = "grid",
               max_trials: int | None = None) -> Path:
    """A spec file for `grid` in `folder`; the tool reads its searches from files only.
    The search alone: no test rows and no confirmation runs, work no hand-written loop of
    the comparisons does."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    search: dict[str, Any] = {"tuner": tuner, "objective": "holdout_accuracy", "confirm_runs": 0}
    if max_trials is not None:
        search["max_trials"] = max_trials
    search["space"] = {"steps_per_epoch": list(grid.steps), "validation_split": list(grid.splits)}
    path.write_text(to_toml({
        "experiment": {"name": name, "seed": 7},
        "data": {"source": "sklearn:digits", "holdout": 0.2, "test": 0},
        "model": {"builder": "tuning.models:mlp", "task": "classification", "metric": "accuracy"},
        "budget": {"semantics": "partition", "epochs": grid.epochs},
        "search": search,
        "resources": {"device": "cpu", "workers": 1},
    }))
    return path


def run_cli(spec: Path, out: Path, workers: int | None = 1) -> float:
    """`python -m tuning run` in a fresh process, as a user runs it; returns its wall time.
    `workers` None leaves the spec's own.

    The run directory sits alone in its own folder: the tool also indexes its siblings.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tuning", "run", str(spec), "--out", str(out), "--fresh",
         *(["--workers", str(workers)] if workers is not None else [])],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"steps-tuner exited {done.returncode}:\n{done.stderr[-2000:]}")
    return wall


@dataclass(frozen=True)
class RunTimes:
    """What a finished run directory says about its trials: when each was recorded."""

    rows: list[dict[str, Any]]
    ends: list[float]  # when each trial's record was written, in trial order

    @property
    def samples(self) -> int:
        return sum(int(r.get("samples_seen") or 0) for r in self.rows)

    def span(self) -> float:
        """From the first trial's start (its record's time less its training time) to the
        last record: every trial with all its per-trial costs, no start-up or report."""
        first = min(e - float(r["wall_s"]) for e, r in zip(self.ends, self.rows))
        return max(self.ends) - first


def read_run(run_dir: Path) -> RunTimes:
    """Rows and record times of a run directory, in trial order."""
    from tuning.records import trials as records

    trials = records.read_trials(run_dir)
    rows = [t["row"] for t in trials]
    ends = [records.trial_path(run_dir, str(r["trial_id"])).stat().st_mtime for r in rows]
    return RunTimes(rows, ends)


def median(values: Iterable[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def write_csv(name: str, rows: Sequence[dict[str, Any]], folder: Path = RESULTS) -> Path:
    """One table per benchmark; the columns are the union of the rows' keys, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    path = folder / f"{name}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows([{k: _cell(v) for k, v in row.items()} for row in rows])
    return path


def _cell(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def machine() -> dict[str, Any]:
    """The figures that make a timing comparable: cores, memory, load, versions."""
    import psutil

    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_1min": round(load[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def print_table(title: str, rows: Sequence[dict[str, Any]]) -> None:
    """A plain aligned table on stdout."""
    print(f"\n{title}")
    if not rows:
        return
    columns = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_text(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths)))


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
