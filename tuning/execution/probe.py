"""The out-of-memory frontier found with short probes, before any full trial (a driver).

In the spirit of Lightning's batch-size finder: a couple of training steps at a batch size,
halving from the largest batch the search needs until one fits, then bisecting between the
last batch that failed and the first that fit. Each probe runs in a worker under the same
budget as the trials (`trial.run_probe`), so what the probe finds is what the search will meet.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras_tuner as kt

from tuning.execution.frontier import NOT_MODEL, model_signature
from tuning.execution.messages import PROBE_STEPS, ProbeTask
from tuning.execution.pool import Job, WorkerPool
from tuning.records.status import Status
from tuning.records.trials import BATCH_SIZE, PEAK_MEMORY_MB, STATUS, TRIAL_ID
from tuning.spec.schema import Spec
from tuning.spec.sizes import format_mib
from tuning.spec.space import declare_space, grid_points
from tuning.training.budget import plan

#: Bisection stops when the gap between fit and failure is below this share of the batch.
PRECISION = 0.05


@dataclass
class ProbeResult:
    """What the probes found for one model: every probe, and the two sides of the frontier."""

    values: dict[str, Any]
    probes: list[dict[str, Any]] = field(default_factory=list)
    largest_fit: int | None = None
    smallest_oom: int | None = None


def model_points(spec: Spec, dataset) -> list[tuple[dict[str, Any], int]]:
    """One point per distinct model in the grid, with the largest batch the search needs."""
    largest: dict[tuple, tuple[dict[str, Any], int]] = {}
    for point in grid_points(spec.search.space):
        n_train = dataset.n_train(float(point["validation_split"]))
        batch = plan(spec.budget.semantics, n_train, int(point["steps_per_epoch"]), 1,
                     batch_size=int(point.get("batch_size", spec.budget.batch_size))).batch_size
        key = model_signature(point)
        if key not in largest or batch > largest[key][1]:
            largest[key] = (point, batch)
    return list(largest.values())


def find_frontier(pool: WorkerPool, spec: Spec, point: dict[str, Any], max_batch: int,
                  on_probe: Callable[[dict[str, Any]], None] | None = None) -> ProbeResult:
    """Try the largest batch the search needs; while it fails, halve; then bisect.

    Starting from the top costs one probe when everything fits, and every failing probe
    leaves a fresh worker for the next one (a used worker's freed memory flatters it)."""
    hp = kt.HyperParameters()
    declare_space(hp, spec.search.space)
    hp.values.update(point)
    config = hp.get_config()
    result = ProbeResult(values={k: v for k, v in point.items() if k not in NOT_MODEL})

    def fits(batch: int) -> bool:
        worker = pool.idle()[0]
        probe_id = f"probe-{len(result.probes)}"
        pool.submit(worker, Job(ProbeTask(probe_id, config, batch),
                                {TRIAL_ID: probe_id, BATCH_SIZE: batch}))
        done: list = []
        while not done:
            done = pool.wait()
        row = done[0][1].row
        result.probes.append(row)
        if on_probe:
            on_probe(row)
        if row[STATUS] == Status.OK:
            result.largest_fit = max(batch, result.largest_fit or 0)
            return True
        if row[STATUS] == Status.OOM:
            result.smallest_oom = min(batch, result.smallest_oom or batch)
            return False
        raise RuntimeError(f"probe at batch {batch} failed: {row['message']}")

    if fits(max_batch):
        return result
    low, high = 0, max_batch
    batch = max_batch // 2
    while batch >= 1 and not fits(batch):
        high, batch = batch, batch // 2
    low = max(batch, 0)
    while low and high - low > max(1, math.floor(low * PRECISION)):
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return result


def describe(spec: Spec, dataset, results: list[ProbeResult], budget: int | None) -> str:
    """The frontier in words: per model, the largest batch that fits, and per validation
    split the smallest steps_per_epoch whose batches fit (partition semantics)."""
    cap = f"a budget of {format_mib(budget)} per trial" if budget else "no memory budget"
    lines = [f"probe {spec.name} ({cap}, {PROBE_STEPS} training steps per probe):"]
    for res in results:
        model = ", ".join(f"{k}={v}" for k, v in res.values.items()) or "the model"
        lines.append(f"  {model}:")
        for row in res.probes:
            peak = row.get(PEAK_MEMORY_MB)
            peak_text = "-" if peak is None else f"{peak:g} MiB"
            lines.append(f"    batch {row['batch_size']:>6}  {row['status']:<4}  peak {peak_text}")
        if res.smallest_oom is None:
            lines.append(f"    every batch the search needs fits (up to {res.largest_fit})")
            continue
        if not res.largest_fit:
            lines.append(f"    even a batch of {res.smallest_oom} runs out of memory")
            continue
        lines.append(f"    largest batch that fits: {res.largest_fit}; "
                     f"smallest that ran out of memory: {res.smallest_oom}")
        if spec.budget.semantics == "partition":
            splits = spec.search.dimension("validation_split").endpoints()
            for split in splits:
                n_train = dataset.n_train(float(split))
                steps = math.ceil(n_train / res.largest_fit)
                lines.append(f"    validation_split {split}: steps_per_epoch >= {steps} fits "
                             f"(batch {math.ceil(n_train / steps)} of {n_train} rows)")
    return "\n".join(lines)
