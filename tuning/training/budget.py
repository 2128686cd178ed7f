"""What `steps_per_epoch` means, in numbers, under the two semantics.

`partition`: the training rows are cut into `steps_per_epoch` batches (batch = ceil(n / steps)),
an epoch is one pass. Rounding can make fewer batches than asked (1000 rows in 300 steps is a
batch of 4, so 250 steps): the plan holds what really runs.

`stream`: a fixed batch size, an epoch is `steps_per_epoch` batches of a shuffled stream that
repeats, so an epoch is a checkpoint, not a pass.

Either way training stops at whichever of `epochs`, `max_steps` or `max_samples` ends first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuning.spec.schema import Spec

if TYPE_CHECKING:
    from tuning.data.dataset import Dataset

#: Set by keras-tuner's Hyperband: the resource of this round, read as passes over the data.
HYPERBAND_EPOCHS = "tuner/epochs"


@dataclass(frozen=True)
class Plan:
    semantics: str
    n_train: int
    requested_steps: int
    batch_size: int
    steps_per_epoch: int
    epochs: int
    updates: int

    @property
    def last_epoch_steps(self) -> int:
        """Steps of the final epoch, shorter than the others when a step limit cuts it."""
        return self.updates - (self.epochs - 1) * self.steps_per_epoch

    @property
    def cut_short(self) -> bool:
        """True when fewer steps per epoch run than were asked for."""
        return self.steps_per_epoch < self.requested_steps

    def samples_seen(self, updates: int) -> int:
        """Training samples consumed by the first `updates` steps."""
        if self.semantics == "stream":
            return updates * self.batch_size
        full, rest = divmod(updates, self.steps_per_epoch)
        return full * self.n_train + min(rest * self.batch_size, self.n_train)


def plan(
    semantics: str,
    n_train: int,
    steps_per_epoch: int,
    epochs: int,
    max_steps: int | None = None,
    batch_size: int | None = None,
    max_samples: int | None = None,
) -> Plan:
    """The batch size, real steps per epoch, epochs and total updates of one trial."""
    if n_train < 1 or steps_per_epoch < 1 or epochs < 1:
        raise ValueError("n_train, steps_per_epoch and epochs must be at least 1")
    if semantics == "partition":
        batch = math.ceil(n_train / steps_per_epoch)
        steps = math.ceil(n_train / batch)
    elif semantics == "stream":
        if not batch_size or batch_size < 1:
            raise ValueError("stream semantics needs a batch size of at least 1")
        batch, steps = batch_size, steps_per_epoch
    else:
        raise ValueError(f"unknown semantics {semantics!r}")
    updates = epochs * steps
    if max_steps is not None:
        updates = min(updates, max_steps)
    if max_samples is not None:
        updates = min(updates, _updates_for_samples(semantics, max_samples, steps, batch, n_train))
    updates = max(1, updates)
    return Plan(
        semantics=semantics,
        n_train=n_train,
        requested_steps=steps_per_epoch,
        batch_size=batch,
        steps_per_epoch=steps,
        epochs=math.ceil(updates / steps),
        updates=updates,
    )


def _updates_for_samples(
    semantics: str, max_samples: int, steps: int, batch: int, n_train: int
) -> int:
    if semantics == "stream":
        return math.ceil(max_samples / batch)
    full, rest = divmod(max_samples, n_train)
    return full * steps + math.ceil(rest / batch)


@dataclass(frozen=True)
class TrialPlanner:
    """Any trial's plan from its values: what the search process needs to know of a trial
    before it runs, without building the model (TensorFlow stays in the workers)."""

    spec: Spec
    dataset: Dataset

    def plan_for(self, hp: Any) -> Plan:
        """The trial's training plan, from its values (keras-tuner's HyperParameters) and
        the spec's budget."""
        budget = self.spec.budget
        n_train = self.dataset.n_train(float(hp.get("validation_split")))
        rounds = hp.values.get(HYPERBAND_EPOCHS, None)
        return plan(
            budget.semantics,
            n_train,
            int(hp.get("steps_per_epoch")),
            epochs=budget.epochs if rounds is None else 10**9,
            max_steps=budget.max_steps,
            batch_size=int(hp.values.get("batch_size", budget.batch_size)),
            max_samples=None if rounds is None else int(rounds) * n_train,
        )
