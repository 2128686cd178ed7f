"""The one way a trial's table row is made, whoever writes it.

A row is written by the worker that trained the trial, by the pool when the worker died,
by the search when the frontier rules a trial out, and by the chief when a remote worker
falls silent. All of them start from the planned part (what was asked and what will run)
and end in `trial_row`, so every record has the same columns and a valid status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuning.records.status import Status
from tuning.records.trials import (
    BATCH_SIZE,
    EFFECTIVE_STEPS,
    MESSAGE,
    STATUS,
    STEPS_PER_EPOCH,
    TRIAL_ID,
    VALIDATION_SPLIT,
    TrialRow,
    hp_columns,
)


def planned_row(trial_id: str, hypermodel, hp) -> TrialRow:
    """The part of a row known before training: the values asked for (as table columns)
    and the batch size and steps per epoch that will really run."""
    trial_plan = hypermodel.plan_for(hp)
    return {
        TRIAL_ID: trial_id,
        **hp_columns(hp.values),
        STEPS_PER_EPOCH: int(hp.get("steps_per_epoch")),
        VALIDATION_SPLIT: float(hp.get("validation_split")),
        BATCH_SIZE: trial_plan.batch_size,
        EFFECTIVE_STEPS: trial_plan.steps_per_epoch,
    }


def trial_row(planned: Mapping[str, Any], status: Status | str, message: str = "",
              **measured: Any) -> TrialRow:
    """A finished row: the planned part, how it ended and what was measured.

    `status` must be one of `Status` (a stray word raises ValueError here, not in a report
    weeks later); it is stored as its plain word."""
    return {**planned, **measured, STATUS: Status(status).value, MESSAGE: message}
