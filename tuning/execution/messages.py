"""What travels on the pipe between the search process and a worker, defined once.

The search sends `Begin` once, then a task (`TrialTask`, `ProbeTask`), `CheckModel` or
`Stop`; a worker answers `Ready` (or `StartFailed`) once after start-up, then one `Outcome`
per task and one `ModelChecked` per check. Every
message is a frozen dataclass so both ends name the same fields, and the worker dispatches
on the type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tuning.spec.space import ModelSpace

#: Training steps in one probe: enough to allocate everything a step needs, twice.
PROBE_STEPS = 2


@dataclass(frozen=True)
class TrialTask:
    """Train one trial: keras-tuner's hyperparameters (as a config) and its own seed."""

    trial_id: str
    hp_config: dict[str, Any]
    seed: int
    #: A search trial, which `search.prune` may stop; a fresh-seed re-run never is.
    prunable: bool = True

    @property
    def task_id(self) -> str:
        return self.trial_id


@dataclass(frozen=True)
class ProbeTask:
    """A few training steps at `batch_size`, to learn whether that batch fits."""

    probe_id: str
    hp_config: dict[str, Any]
    batch_size: int
    steps: int = PROBE_STEPS

    @property
    def task_id(self) -> str:
        return self.probe_id


@dataclass(frozen=True)
class Begin:
    """The inputs are checked and the run directory is ready: start for real. Until then a
    new worker only imports TensorFlow (seconds), while the search reads and checks the data."""


@dataclass(frozen=True)
class CheckModel:
    """Build the model once, before the search: check its output against the data and
    learn the search space its builder declares (the search process imports no Keras)."""


@dataclass(frozen=True)
class Stop:
    """Finish: the worker exits after its current task."""


Task = TrialTask | ProbeTask


@dataclass(frozen=True)
class Ready:
    """The worker has imported TensorFlow, configured its device and warmed up."""

    pid: int
    device_note: str
    #: False where the CPU memory cap cannot be set here: trials then run uncapped.
    budget_enforced: bool
    log: str


@dataclass(frozen=True)
class StartFailed:
    """The worker could not start; `reason` is one line, the traceback is in `log`. With
    `key`, the user's input is at fault (the builder's module): a `UserError` there."""

    reason: str
    log: str
    key: str = ""


@dataclass(frozen=True)
class Outcome:
    """A finished task: its table row and curves, and whether the worker exits after it
    (after an out-of-memory failure, or once it has grown too large to keep)."""

    task_id: str
    row: dict[str, Any]
    curves: list[dict[str, Any]] = field(default_factory=list)
    worker_exits: bool = False
    #: What the trial predicted on the holdout and test rows (see `tuning.records.predictions`).
    predictions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelChecked:
    """The answer to `CheckModel`: the space, or what is wrong with the builder (`key` and
    `problem`, the parts of a `UserError`)."""

    space: ModelSpace | None
    key: str = ""
    problem: str = ""


Reply = Ready | StartFailed | Outcome | ModelChecked
