"""Which status a failed trial gets, from the exception or from how its process died.

Under a memory budget a batch that does not fit shows up three ways with TensorFlow on a CPU:
a ResourceExhaustedError, an AbortedError from oneDNN ("could not execute a primitive"), or a
segmentation fault of the whole process. All three are out of memory. JAX and torch name
theirs differently; they are recognised by type name or message.
"""

from __future__ import annotations

import signal

from tuning.records.status import Status

_OOM_TYPES = ("ResourceExhaustedError", "OutOfMemoryError", "MemoryError", "XlaRuntimeError")
_OOM_WORDS = ("out of memory", "resource_exhausted", "resource exhausted", "oom when allocating",
              "failed to allocate", "cannot allocate memory", "could not execute a primitive",
              "std::bad_alloc")


def is_oom(exc: BaseException) -> bool:
    """True for an allocation failure from TensorFlow, JAX, torch or Python itself."""
    name = type(exc).__name__
    text = str(exc).lower()
    if name in ("MemoryError", "ResourceExhaustedError", "OutOfMemoryError"):
        return True
    if name in _OOM_TYPES or name in ("AbortedError", "InternalError", "RuntimeError"):
        return any(word in text for word in _OOM_WORDS)
    return False


def last_line(exc: BaseException) -> str:
    """The exception's type and the last non-empty line of its message (no traceback)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = lines[-1] if lines else ""
    # TensorFlow puts the useful part first and a node listing last.
    for line in lines:
        if "OOM" in line or "memory" in line.lower() or "Allocator" in line:
            text = line
            break
    text = text.split(" on /job:")[0][:300]  # TensorFlow's device path adds nothing here
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def classify_exception(exc: BaseException) -> Status:
    return Status.OOM if is_oom(exc) else Status.ERROR


def classify_death(exitcode: int | None, under_budget: bool) -> tuple[Status, str]:
    """Status and message for a worker process that died in the middle of a trial."""
    if exitcode is None:
        return Status.ERROR, "worker process vanished"
    if exitcode < 0:
        try:
            sig = signal.Signals(-exitcode).name
        except ValueError:
            sig = f"signal {-exitcode}"
        if exitcode == -signal.SIGKILL:
            status = Status.OOM if under_budget else Status.ERROR
            why = "killed (SIGKILL: the kernel's OOM killer, or a kill from outside)"
            return status, f"worker process {why}"
        if exitcode in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS) and under_budget:
            return Status.OOM, f"worker process crashed ({sig}) under the memory budget"
        return Status.ERROR, f"worker process crashed ({sig})"
    return Status.ERROR, f"worker process exited with code {exitcode}"
