"""What a search ranks on: a column of trials.csv and which way is better, decided once.

An objective is a quantity (the model's metric or `loss`) averaged over the rows of one part
of the data (the fixed `holdout` set or the trial's own `val` rows); its column is
`<part>_<quantity>`. Losses and errors are minimised, every other quantity maximised.
"""

from __future__ import annotations

from dataclasses import dataclass

HOLDOUT = "holdout"
VALIDATION = "val"
#: The parts an objective may be measured on, in the order a spec's error lists them.
PARTS = (HOLDOUT, VALIDATION)
_MINIMISED = ("loss", "mae", "mse")


def score_column(part: str, quantity: str) -> str:
    """The trials.csv column of `quantity` measured on `part`: `holdout_accuracy`."""
    return f"{part}_{quantity}"


@dataclass(frozen=True)
class Objective:
    """A ranked quantity on a part of the data; `column` names it, `direction` orders it."""

    part: str
    quantity: str

    @classmethod
    def parse(cls, column: str) -> Objective:
        """The objective a column holds; ValueError for a column that is none."""
        for part in PARTS:
            quantity = column.removeprefix(f"{part}_")
            if quantity != column and quantity:
                return cls(part, quantity)
        raise ValueError(f"{column!r} is not an objective: it must start with "
                         f"{' or '.join(p + '_' for p in PARTS)}")

    @property
    def column(self) -> str:
        return score_column(self.part, self.quantity)

    @property
    def direction(self) -> str:
        """`min` for losses and errors, `max` for scores (keras-tuner's words)."""
        return "min" if self.quantity.endswith(_MINIMISED) else "max"

    @property
    def maximise(self) -> bool:
        return self.direction == "max"

    def on(self, part: str) -> Objective:
        """The same quantity on another part: the holdout rows a `val_` objective pairs on."""
        return Objective(part, self.quantity)

    def __str__(self) -> str:
        return self.column
