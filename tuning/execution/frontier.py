"""The out-of-memory frontier: what the search has learnt about which batches cannot fit.

For a fixed model, memory grows with the batch size. Once a batch of B runs out of memory,
the same model with a batch of B or more cannot fit under the same budget, so those trials
are recorded as `skipped_oom` instead of being trained into the same failure.
"""

from __future__ import annotations

import math
from typing import Any

from tuning.records.status import Status
from tuning.records.trials import BATCH_SIZE, MEMORY_BUDGET_MB, STATUS, column

#: Names that change how a model is fed or optimised, not its size in memory.
NOT_MODEL = ("steps_per_epoch", "validation_split", "batch_size", "shuffle", "learning_rate")


def model_signature(values: dict[str, Any]) -> tuple:
    """The hyperparameters that decide the model's memory per sample.

    An inactive conditional name is absent from a trial's values but blank (None) in its
    record; both mean "not part of this model", so blanks are left out.
    """
    return tuple(
        sorted(
            (k, v) for k, v in values.items()
            if k not in NOT_MODEL and not k.startswith(("tuner/", "tuner_")) and not _blank(v)
        )
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class Frontier:
    """Smallest batch size known to run out of memory, per model signature."""

    def __init__(self) -> None:
        self._smallest_oom: dict[tuple, int] = {}

    def record_oom(self, values: dict[str, Any], batch_size: int) -> None:
        key = model_signature(values)
        self._smallest_oom[key] = min(batch_size, self._smallest_oom.get(key, batch_size))

    def blocking_batch(self, values: dict[str, Any], batch_size: int) -> int | None:
        """The known failing batch that rules this one out, or None when it may fit."""
        known = self._smallest_oom.get(model_signature(values))
        return known if known is not None and batch_size >= known else None

    def merge_rows(self, rows: list[dict[str, Any]], hp_names: list[str],
                   budget_mb: float | None) -> None:
        """Learn from the records of a run being resumed: only real `oom` rows count, and
        only those whose memory budget was no larger than this run's `budget_mb` (None: no
        budget, the device's memory): a larger budget may fit what a smaller one did not."""
        for row in rows:
            if (row.get(STATUS) == Status.OOM and row.get(BATCH_SIZE)
                    and _binds(row.get(MEMORY_BUDGET_MB), budget_mb)):
                values = {n: row.get(column(n)) for n in hp_names}
                self.record_oom(values, int(row[BATCH_SIZE]))


def _binds(failed_under_mb: float | None, budget_mb: float | None) -> bool:
    """Does a failure under one budget still rule a batch out under another?"""
    if _blank(failed_under_mb):
        return True  # failed on the device's own memory, which no budget raises
    return budget_mb is not None and budget_mb <= failed_under_mb
