"""What this machine lets a process use: the one answer for every part that runs work on
every core (the workers' count, the image decoders, the store's hashing)."""

from __future__ import annotations

import os
from pathlib import Path


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, within a cgroup's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_cpus()
    return max(1, min(cores, quota) if quota is not None else cores)


def _cgroup_cpus() -> int | None:
    """The CPU quota of a container (cgroup v2's `cpu.max`), in whole cores; None without."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, int(quota) // int(period))
