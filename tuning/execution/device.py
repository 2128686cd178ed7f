"""Where a worker trains, decided from the spec and what TensorFlow sees.

The decision is plain data (`DevicePlan`) so its rules are tested on any machine; only
`apply` touches TensorFlow, once, before any op runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DevicePlan:
    use_gpu: bool
    memory_growth: bool
    memory_limit_mb: int | None  # a logical GPU capped at this much device memory
    mixed_precision: bool
    note: str


def plan_device(requested: str, n_gpus: int, memory_budget: int | None,
                mixed_precision: bool) -> DevicePlan:
    """`requested` is the spec's auto | gpu | cpu. Raises ValueError for a GPU that is
    not there.

    On a GPU the budget becomes a logical device limit (the trial's device memory); without
    one, memory growth stays on so that several workers can share the device. Mixed
    precision only pays on a GPU; on a CPU it is left off, and the note says so.
    """
    if requested == "gpu" and n_gpus == 0:
        raise ValueError('device = "gpu" but TensorFlow sees no GPU')
    if requested == "cpu" or n_gpus == 0:
        note = "CPU" + (" (mixed precision needs a GPU: off)" if mixed_precision else "")
        return DevicePlan(False, False, None, False, note)
    limit = None if memory_budget is None else max(1, math.ceil(memory_budget / 2**20))
    note = f"GPU 0 of {n_gpus}" + (f", capped at {limit} MiB" if limit else ", memory growth")
    if mixed_precision:
        note += ", mixed precision"
    return DevicePlan(True, limit is None, limit, mixed_precision, note)


def apply(tf, plan: DevicePlan) -> None:
    """Configure TensorFlow to the plan (before any op runs)."""
    gpus = tf.config.list_physical_devices("GPU")
    if not plan.use_gpu:
        if gpus:
            tf.config.set_visible_devices([], "GPU")
        return
    tf.config.set_visible_devices(gpus[:1], "GPU")
    if plan.memory_limit_mb is not None:
        tf.config.set_logical_device_configuration(
            gpus[0], [tf.config.LogicalDeviceConfiguration(memory_limit=plan.memory_limit_mb)]
        )
    elif plan.memory_growth:
        tf.config.experimental.set_memory_growth(gpus[0], True)
    if plan.mixed_precision:
        import keras

        keras.mixed_precision.set_global_policy("mixed_float16")
