"""How many workers a search runs at once when the spec says `workers = "auto"`.

One worker per GPU on a GPU machine (they share nothing well); otherwise one per usable core,
fewer where memory would not hold them (each worker imports TensorFlow, about 300 MiB, and
trains, bounded by `memory_budget` where one is set), and never more than the trials the
search will run. Everything is read from the operating system, without TensorFlow, so
`validate` can print the choice at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tuning.spec.machine import usable_cores
from tuning.spec.schema import AUTO, Spec
from tuning.spec.sizes import format_size
from tuning.spec.space import expected_trials

#: What one worker holds without a memory budget: TensorFlow, Keras and a small model's
#: training (measured 400 to 500 MiB on the data benchmark), rounded up.
WORKER_BYTES = 640 * 2**20
#: Memory left to the search process, the page cache and everything else on the machine.
KEEP_FREE = 0.25


@dataclass(frozen=True)
class WorkerCount:
    """How many workers, and in one clause why (shown by `validate` and `run`)."""

    count: int
    reason: str


def worker_count(spec: Spec, max_trials: int | None = None) -> WorkerCount:
    """The spec's `resources.workers`, or the machine's choice for "auto"."""
    workers = spec.resources.workers
    if workers != AUTO:
        return WorkerCount(int(workers), "as the spec says")
    cores = usable_cores()
    gpus = 0 if spec.resources.device == "cpu" else visible_gpus()
    if gpus:
        count, why = min(gpus, cores), f"one per GPU ({gpus})"
    else:
        count, why = cores, f"one per core ({cores})"
        per_worker = WORKER_BYTES + (spec.resources.memory_budget or 0)
        available = available_memory()
        if available is not None:
            fits = max(1, int(available * (1 - KEEP_FREE)) // per_worker)
            if fits < count:
                count, why = fits, (f"{format_size(available)} of memory available, about "
                                    f"{format_size(per_worker)} a worker")
    trials = expected_trials(spec, max_trials)
    if trials is not None and trials < count:
        count, why = max(1, trials), f"{trials} trial(s) to run"
    return WorkerCount(count, f"auto: {why}")


def visible_gpus() -> int:
    """NVIDIA GPUs the driver lists, as `CUDA_VISIBLE_DEVICES` narrows them."""
    try:
        listed = len(list(Path("/proc/driver/nvidia/gpus").iterdir()))
    except OSError:
        listed = 0
    return narrowed(listed, os.environ.get("CUDA_VISIBLE_DEVICES"))


def narrowed(listed: int, visible: str | None) -> int:
    """How many of `listed` GPUs a `CUDA_VISIBLE_DEVICES` value leaves: all when unset, none
    when empty, and CUDA stops at the first invalid (negative) entry."""
    if visible is None:
        return listed
    chosen = 0
    for entry in visible.split(","):
        entry = entry.strip()
        if not entry or entry.startswith("-"):
            break
        chosen += 1
    return min(listed, chosen)


def available_memory() -> int | None:
    """Bytes the kernel says can be had without swapping (`MemAvailable`); None unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
