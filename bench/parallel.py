"""Parallel workers: the same search with `--workers 2` against one worker.

Both runs are the command line in a fresh process. "End to end" is the command's wall time
(start-up of every worker and the report included); "trials" is the span from the first
trial's start to the last record, which is what more workers can shorten. `cores_busy` is the
CPU time of the whole command over its wall time: how much of the machine the run used. The
summary adds a bound: the end-to-end time had the trials been shared out with no worker idle,
which no order of the trials can beat.
"""

from __future__ import annotations

import resource
import tempfile
from pathlib import Path
from typing import Any

from bench.common import Grid, median, print_table, read_run, run_cli, write_csv, write_spec

DEFAULT_GRID = Grid(steps=(2, 8, 32, 128), splits=(0.1, 0.2, 0.3))


def run(grid: Grid = DEFAULT_GRID, repeats: int = 3, workers: int = 2,
        folder: Path | None = None, results: Path | None = None) -> list[dict[str, Any]]:
    """Alternate one-worker and `workers`-worker runs; write and print the ratios."""
    work = Path(folder or tempfile.mkdtemp(prefix="bench-parallel-"))
    spec = write_spec(work, grid, name="parallel")
    rows: list[dict[str, Any]] = []
    for repeat in range(1, repeats + 1):
        for n in (1, workers):
            out = work / f"w{n}-{repeat}" / "run"
            before = _children_cpu()
            wall = run_cli(spec, out, workers=n)
            cpu = _children_cpu() - before
            times = read_run(out)
            rows.append({"workers": n, "repeat": repeat, "trials": len(times.rows),
                         "end_to_end_s": wall, "trials_s": times.span(),
                         "trial_walls_s": sum(float(r["wall_s"]) for r in times.rows),
                         "cores_busy": cpu / wall,
                         "samples_per_s": times.samples / times.span()})
        print(f"parallel repeat {repeat}/{repeats} done", flush=True)
    by = {(r["workers"], r["repeat"]): r for r in rows}
    runs = range(1, repeats + 1)
    summary = [
        {"measure": measure,
         "one_worker_median": median(by[(1, r)][measure] for r in runs),
         f"{workers}_workers_median": median(by[(workers, r)][measure] for r in runs),
         "ratio": median(by[(workers, r)][measure] / by[(1, r)][measure] for r in runs)}
        for measure in ("end_to_end_s", "trials_s")
    ]
    shared = {r: _perfectly_shared(by[(workers, r)], workers) for r in runs}
    summary.append({
        "measure": "end_to_end_s, trials perfectly shared",
        "one_worker_median": median(by[(1, r)]["end_to_end_s"] for r in runs),
        f"{workers}_workers_median": median(shared.values()),
        "ratio": median(shared[r] / by[(1, r)]["end_to_end_s"] for r in runs)})
    write_csv("parallel", rows, *([results] if results else []))
    write_csv("parallel_summary", summary, *([results] if results else []))
    print_table(f"Workers: {workers} against 1 ({len(grid.configurations())} trials)", rows)
    print_table(f"Ratio {workers} workers / 1 (median; target <= 0.60 end to end)", summary)
    return summary


def _perfectly_shared(row: dict[str, Any], workers: int) -> float:
    """The run's wall time had its trials (as long as they took in it) been shared out with
    no worker idle: its start-up and report as they were, plus the trials' time over the
    workers. No order of the trials can do better."""
    return row["end_to_end_s"] - row["trials_s"] + row["trial_walls_s"] / workers


def _children_cpu() -> float:
    """CPU seconds of finished child processes (the command, and the workers it waited for):
    how much of the machine a run kept busy."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
