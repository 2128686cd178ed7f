"""Parallel workers: the same search with `--workers 2` against one worker.

Both runs are the command line in a fresh process. "End to end" is the command's wall time
(start-up of every worker and the report included); "trials" is the span from the first
trial's start to the last record, which is what more workers can shorten.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.common import Grid, median, print_table, read_run, run_cli, write_csv, write_spec

DEFAULT_GRID = Grid(steps=(2, 8, 32, 128), splits=(0.1, 0.2, 0.3))


def run(grid: Grid = DEFAULT_GRID, repeats: int = 2, workers: int = 2,
        folder: Path | None = None, results: Path | None = None) -> list[dict[str, Any]]:
    """Alternate one-worker and `workers`-worker runs; write and print the ratios."""
    work = Path(folder or tempfile.mkdtemp(prefix="bench-parallel-"))
    spec = write_spec(work, grid, name="parallel")
    rows: list[dict[str, Any]] = []
    for repeat in range(1, repeats + 1):
        for n in (1, workers):
            out = work / f"w{n}-{repeat}" / "run"
            wall = run_cli(spec, out, workers=n)
            times = read_run(out)
            rows.append({"workers": n, "repeat": repeat, "trials": len(times.rows),
                         "end_to_end_s": wall, "trials_s": times.span(),
                         "samples_per_s": times.samples / times.span()})
        print(f"parallel repeat {repeat}/{repeats} done", flush=True)
    by = {(r["workers"], r["repeat"]): r for r in rows}
    summary = [
        {"measure": measure,
         "one_worker_median": median(by[(1, r)][measure] for r in range(1, repeats + 1)),
         f"{workers}_workers_median": median(by[(workers, r)][measure]
                                             for r in range(1, repeats + 1)),
         "ratio": median(by[(workers, r)][measure] / by[(1, r)][measure]
                         for r in range(1, repeats + 1))}
        for measure in ("end_to_end_s", "trials_s")
    ]
    write_csv("parallel", rows, *([results] if results else []))
    write_csv("parallel_summary", summary, *([results] if results else []))
    print_table(f"Workers: {workers} against 1 ({len(grid.configurations())} trials)", rows)
    print_table(f"Ratio {workers} workers / 1 (median; target <= 0.75)", summary)
    return summary
