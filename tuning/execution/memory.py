"""Memory: the per-trial budget, enforced for real, and the per-trial peak.

CPU: TensorFlow cannot cap its own memory, but a worker whose `RLIMIT_DATA` is set after
start-up gets a genuine allocation failure when a batch does not fit. The limit is the
worker's data footprint at the start of the trial plus the budget, re-set before each trial.
The peak is the resident high-water mark, reset before the trial (`/proc/self/clear_refs`),
so it is this trial's alone.

GPU: a logical device with a memory limit (see `device.py`), and TensorFlow's own peak
counter, reset per trial.
"""

from __future__ import annotations

import contextlib
import ctypes
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_STATUS = Path("/proc/self/status")


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def data_footprint() -> int | None:
    """Bytes the process counts against RLIMIT_DATA now (VmData), None where unknown."""
    kib = _status_kib("VmData")
    return None if kib is None else kib * 1024


def limit_data(budget: int | None) -> int | None:
    """Cap this process at its current data footprint plus `budget`; None lifts the cap.

    Returns the limit set in bytes (None when lifted or unsupported here).
    """
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if budget is None:
        resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))
        return None
    footprint = data_footprint()
    if footprint is None:
        return None
    limit = footprint + budget
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return limit


@contextmanager
def thread_stacks(size: int | None) -> Iterator[None]:
    """Start child processes with `size`-byte default thread stacks (glibc takes the default
    from RLIMIT_STACK when a process starts); None leaves the limit alone."""
    if size is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    resource.setrlimit(resource.RLIMIT_STACK, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_STACK, (soft, hard))


def main_thread_stack(size: int = 8 * 2**20) -> None:
    """Give the main thread its usual stack back; threads keep the default glibc read at
    start-up (see `thread_stacks`)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    wanted = size if hard == resource.RLIM_INFINITY else min(size, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_STACK, (wanted, hard))


def reset_peak_rss() -> bool:
    """Restart the resident high-water mark; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def anonymous() -> int | None:
    """Resident memory now that no file backs (the process's own), in bytes."""
    kib = _status_kib("RssAnon")
    return None if kib is None else kib * 1024


def give_back_freed() -> None:
    """Return the C heap's free pages to the system (glibc's `malloc_trim`; a no-op where
    there is none). glibc shrinks its heap only from the top, so arrays freed below live
    allocations stay resident: on a 100 MiB search the search process kept about 30 MiB of
    its loading copies, and a worker its last trial's tensors, until this was called."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def peak_rss() -> int | None:
    """Resident high-water mark in bytes since the last reset."""
    kib = _status_kib("VmHWM")
    return None if kib is None else kib * 1024


def gpu_reset_peak(tf) -> None:
    tf.config.experimental.reset_memory_stats("GPU:0")


def gpu_peak(tf) -> int:
    return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
