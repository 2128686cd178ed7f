"""Search strategies on an equal footing: how much compute until a trial comes within one
accuracy point of the best holdout score of the full grid?

Every strategy runs through the command line on the same space, seed and budget. Trials are
taken in the order their records were written; compute is counted as training samples seen
(summed over trials, so Hyperband's short rounds count for what they cost) and as seconds
from the first trial's start.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.common import Grid, print_table, read_run, run_cli, write_csv, write_spec

GRID = Grid(steps=(1, 2, 4, 8, 16, 32, 64, 128), splits=(0.1, 0.2, 0.3))
TUNERS = ("grid", "random", "bayesian", "hyperband")
POINT = 0.01


def run(grid: Grid = GRID, trials: int = 12, folder: Path | None = None,
        results: Path | None = None) -> list[dict[str, Any]]:
    """Run each strategy (random and bayesian with `trials` trials); write and print."""
    work = Path(folder or tempfile.mkdtemp(prefix="bench-strategies-"))
    runs = {}
    for tuner in TUNERS:
        spec = write_spec(work, grid, name=tuner, tuner=tuner,
                          max_trials=trials if tuner in ("random", "bayesian") else None)
        out = work / tuner / "run"
        wall = run_cli(spec, out)
        runs[tuner] = (read_run(out), wall)
        print(f"strategy {tuner} done", flush=True)
    target = max(_score(r) for r in runs["grid"][0].rows) - POINT
    summary = [_reach(tuner, times, wall, target) for tuner, (times, wall) in runs.items()]
    write_csv("strategies", summary, *([results] if results else []))
    print_table(f"Compute to come within {POINT:g} of the grid's best holdout accuracy "
                f"({target + POINT:.4f})", summary)
    return summary


def _score(row: dict[str, Any]) -> float:
    value = row.get("holdout_accuracy")
    return float(value) if row.get("status") == "ok" and value is not None else float("-inf")


def _reach(tuner: str, times, wall: float, target: float) -> dict[str, Any]:
    """Walk the trials in the order they ended until one reaches `target`."""
    order = sorted(range(len(times.rows)), key=lambda i: times.ends[i])
    start = min(e - float(r["wall_s"]) for e, r in zip(times.ends, times.rows))
    samples, reached = 0, None
    for count, i in enumerate(order, 1):
        samples += int(times.rows[i].get("samples_seen") or 0)
        if _score(times.rows[i]) >= target:
            reached = (count, samples, times.ends[i] - start)
            break
    return {
        "tuner": tuner,
        "trials_run": len(times.rows),
        "best_holdout_accuracy": max(_score(r) for r in times.rows),
        "reached": reached is not None,
        "trials_to_reach": reached[0] if reached else None,
        "samples_to_reach": reached[1] if reached else None,
        "seconds_to_reach": reached[2] if reached else None,
        "samples_total": times.samples,
        "trials_s_total": times.span(),
        "end_to_end_s": wall,
    }
