"""What the command line and the Python API set on top of a spec, checked in one place.

`run --workers 10000` and `tuning.search(workers=10000)` must be refused alike, with the
spec's own limits: both hand their values to `apply_overrides`, which checks every one and
returns the spec with them applied. Only the name in the message differs, spelt the way the
user wrote it (`--max-trials` on the command line, `max_trials` in Python).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from tuning.spec.errors import UserError
from tuning.spec.schema import LIMITS, Spec, check_memory_budget

#: TensorFlow threads one trial process may be given (`worker --threads`).
MAX_THREADS = 1024


@dataclass(frozen=True)
class Overrides:
    """Values given beside the spec; None (or False) leaves the spec's own."""

    out: str | os.PathLike | None = None
    max_trials: int | None = None
    workers: int | None = None
    memory_budget: int | str | None = None
    threads: int | None = None
    fresh: bool = False


@dataclass(frozen=True)
class Applied:
    """The spec with the overrides in it, and the run settings that are not the spec's."""

    spec: Spec
    out: Path | None  # None: the default run directory
    max_trials: int | None
    threads: int | None
    fresh: bool


def apply_overrides(spec: Spec, given: Overrides, flags: bool = False) -> Applied:
    """Check every override against the spec's limits and apply it; raises UserError naming
    the option (`--workers` with `flags`, as a command line spells it, else `workers`)."""

    def name(field: str) -> str:
        return "--" + field.replace("_", "-") if flags else field

    resources = spec.resources
    if given.workers is not None:
        resources = replace(resources, workers=_count(name("workers"), given.workers,
                                                      LIMITS["workers"]))
    if given.memory_budget is not None:
        resources = replace(resources, memory_budget=_size(name("memory_budget"),
                                                           given.memory_budget))
    max_trials = given.max_trials
    if max_trials is not None:
        _count(name("max_trials"), max_trials, LIMITS["max_trials"])
    if given.threads is not None:
        _count(name("threads"), given.threads, MAX_THREADS)
    if not isinstance(given.fresh, bool):
        raise UserError(name("fresh"), f"expected True or False, got {given.fresh!r}")
    return Applied(spec=replace(spec, resources=resources), out=_out(name("out"), given.out),
                   max_trials=max_trials, threads=given.threads, fresh=given.fresh)


def _count(where: str, value: object, cap: int) -> int:
    """A whole number between 1 and `cap`, as the spec's keys are bounded."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(where, f"expected a whole number between 1 and {cap:,}, got {value!r}")
    if not 1 <= value <= cap:
        raise UserError(where, f"must be between 1 and {cap:,}, got {value:,}")
    return value


def _size(where: str, value: int | str) -> int:
    if not isinstance(value, int | str):
        raise UserError(where, f"expected a size such as 512MiB or 2GiB, got {value!r}")
    return check_memory_budget(where, value)


def _out(where: str, out: str | os.PathLike | None) -> Path | None:
    if out is None:
        return None
    if not isinstance(out, str | os.PathLike):
        raise UserError(where, f"expected a folder path, got {type(out).__name__}")
    text = os.fspath(out)
    if not isinstance(text, str) or not text.strip():
        raise UserError(where, "empty; give a folder, or leave it out for results/<experiment "
                               "name>")
    return Path(text)

