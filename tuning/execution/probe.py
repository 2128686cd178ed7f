"""The out-of-memory frontier found with short probes, before any full trial.

In the spirit of Lightning's batch-size finder: a couple of training steps at a batch size,
halving from the largest batch the search needs until one fits, then bisecting between the
last batch that failed and the first that fit. Each probe runs in a worker under the same
budget as the trials, so what the probe finds is what the search will meet.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from tuning.budget import plan
from tuning.execution.frontier import NOT_MODEL, model_signature
from tuning.spec import Spec

PROBE_STEPS = 2
#: Bisection stops when the gap between fit and failure is below this share of the batch.
PRECISION = 0.05


@dataclass
class ProbeResult:
    """What the probes found for one model: every probe, and the two sides of the frontier."""

    values: dict[str, Any]
    probes: list[dict[str, Any]] = field(default_factory=list)
    largest_fit: int | None = None
    smallest_oom: int | None = None


def probe_batch(hypermodel, hp, probe_id: str, batch_size: int, ctx) -> dict[str, Any]:
    """Inside a worker: a few training steps at `batch_size` under the trial budget."""
    import keras

    from tuning.execution.failures import classify_exception, last_line
    from tuning.hypermodel import make_stream

    x, y, x_val, y_val, x_hold, y_hold = hypermodel.dataset.split(float(hp.get("validation_split")))
    probe_plan = plan("stream", len(x), PROBE_STEPS, epochs=1, batch_size=batch_size)
    status, message = "ok", ""
    start = time.perf_counter()
    ctx.reset_peak()
    ctx.limit()
    try:  # the trial's own path, cut to a few steps: stream, validation, holdout
        model = hypermodel.build(hp)
        model.fit(make_stream(x, y, probe_plan, shuffle=True, seed=0), shuffle=False,
                  steps_per_epoch=PROBE_STEPS, epochs=1, validation_data=(x_val, y_val),
                  validation_batch_size=batch_size, verbose=0)
        model.evaluate(x_hold, y_hold, batch_size=batch_size, verbose=0)
    except Exception as exc:  # a probe's failure is its answer
        status, message = classify_exception(exc), last_line(exc)
    finally:
        ctx.unlimit()
    row = {"trial_id": probe_id, "batch_size": batch_size, "status": status, "message": message,
           "peak_memory_mb": ctx.peak_mb(), "wall_s": round(time.perf_counter() - start, 3)}
    keras.backend.clear_session()
    return {"row": row, "curves": []}


def model_points(spec: Spec, dataset) -> list[tuple[dict[str, Any], int]]:
    """One point per distinct model in the grid, with the largest batch the search needs."""
    from tuning.space import grid_points

    largest: dict[tuple, tuple[dict[str, Any], int]] = {}
    for point in grid_points(spec.search.space):
        n_train = dataset.n_train(float(point["validation_split"]))
        batch = plan(spec.budget.semantics, n_train, int(point["steps_per_epoch"]), 1,
                     batch_size=int(point.get("batch_size", spec.budget.batch_size))).batch_size
        key = model_signature(point)
        if key not in largest or batch > largest[key][1]:
            largest[key] = (point, batch)
    return list(largest.values())


def find_frontier(pool, hypermodel, point: dict[str, Any], max_batch: int,
                  on_probe=None) -> ProbeResult:
    """Try the largest batch the search needs; while it fails, halve; then bisect.

    Starting from the top costs one probe when everything fits, and every failing probe
    leaves a fresh worker for the next one (a used worker's freed memory flatters it)."""
    import keras_tuner as kt

    from tuning.execution.pool import Task
    from tuning.space import declare_space

    hp = kt.HyperParameters()
    declare_space(hp, hypermodel.spec.search.space)
    hp.values.update(point)
    config = hp.get_config()
    result = ProbeResult(values={k: v for k, v in point.items() if k not in NOT_MODEL})

    def fits(batch: int) -> bool:
        worker = pool.idle()[0]
        probe_id = f"probe-{len(result.probes)}"
        pool.submit(worker, Task(probe_id, ("probe", probe_id, config, batch),
                                 {"trial_id": probe_id, "batch_size": batch}))
        done: list = []
        while not done:
            done = pool.wait()
        row = done[0][1]["row"]
        result.probes.append(row)
        if on_probe:
            on_probe(row)
        if row["status"] == "ok":
            result.largest_fit = max(batch, result.largest_fit or 0)
            return True
        if row["status"] == "oom":
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
    from tuning.sizes import format_mib

    cap = f"a budget of {format_mib(budget)} per trial" if budget else "no memory budget"
    lines = [f"probe {spec.name} ({cap}, {PROBE_STEPS} training steps per probe):"]
    for res in results:
        model = ", ".join(f"{k}={v}" for k, v in res.values.items()) or "the model"
        lines.append(f"  {model}:")
        for row in res.probes:
            peak = row.get("peak_memory_mb")
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


def probe_frontier(spec: Spec) -> str:
    """`probe SPEC`: start one worker, probe every model of the grid, describe the frontier."""
    from tuning.execution.pool import WorkerPool
    from tuning.execution.run import prepare, threads_per_worker
    from tuning.execution.worker import WorkerConfig

    prepared = prepare(spec)
    budget = spec.resources.memory_budget
    pool = WorkerPool(WorkerConfig(spec, 0, threads_per_worker(1), budget), 1)
    pool.start()
    try:
        results = [find_frontier(pool, prepared.hypermodel, point, batch)
                   for point, batch in model_points(spec, prepared.dataset)]
    finally:
        pool.close()
    return describe(spec, prepared.dataset, results, budget)
