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
from tuning.records.trials import hp_columns


def planned_row(trial_id: str, hypermodel, hp) -> dict[str, Any]:
    """The part of a row known before training: the values asked for (as table columns)
    and the batch size and steps per epoch that will really run."""
    trial_plan = hypermodel.plan_for(hp)
    return {
        "trial_id": trial_id,
        **hp_columns(hp.values),
        "steps_per_epoch": int(hp.get("steps_per_epoch")),
        "validation_split": float(hp.get("validation_split")),
        "batch_size": trial_plan.batch_size,
        "effective_steps_per_epoch": trial_plan.steps_per_epoch,
    }


def trial_row(planned: Mapping[str, Any], status: Status | str, message: str = "",
              **measured: Any) -> dict[str, Any]:
    """A finished row: the planned part, how it ended and what was measured.

    `status` must be one of `Status` (a stray word raises ValueError here, not in a report
    weeks later); it is stored as its plain word."""
    return {**planned, **measured, "status": Status(status).value, "message": message}
