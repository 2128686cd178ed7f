"""The objective's column and direction come from one place, for the spec and every reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuning.spec.errors import UserError
from tuning.spec.objective import HOLDOUT, VALIDATION, Objective, score_column
from tuning.spec.schema import parse_spec

SPEC = {
    "experiment": {"name": "objective", "seed": 1},
    "data": {"source": "sklearn:diabetes", "holdout": 0.2},
    "model": {"task": "regression", "metric": "mae"},
    "search": {"space": {"steps_per_epoch": [2, 4], "validation_split": [0.2]}},
}


@pytest.mark.parametrize(("column", "part", "quantity", "direction"), [
    ("holdout_accuracy", HOLDOUT, "accuracy", "max"),
    ("val_accuracy", VALIDATION, "accuracy", "max"),
    ("holdout_loss", HOLDOUT, "loss", "min"),
    ("val_loss", VALIDATION, "loss", "min"),
    ("holdout_mae", HOLDOUT, "mae", "min"),
    ("val_mse", VALIDATION, "mse", "min"),
])
def test_a_column_names_its_part_quantity_and_direction(column: str, part: str, quantity: str,
                                                         direction: str) -> None:
    objective = Objective.parse(column)
    assert (objective.part, objective.quantity, objective.direction) == (part, quantity, direction)
    assert objective.column == str(objective) == column
    assert objective.maximise is (direction == "max")


@pytest.mark.parametrize("column", ["accuracy", "holdout_", "test_accuracy", "loss_val"])
def test_a_column_that_is_no_objective_is_refused(column: str) -> None:
    with pytest.raises(ValueError, match="holdout_ or val_"):
        Objective.parse(column)


def test_a_validation_objective_pairs_on_the_holdout_column_of_its_quantity() -> None:
    assert Objective.parse("val_mae").on(HOLDOUT).column == score_column(HOLDOUT, "mae")


@pytest.mark.parametrize(("given", "column", "direction"), [
    (None, "holdout_mae", "min"), ("val_loss", "val_loss", "min"),
])
def test_the_spec_gives_its_objective_and_direction(given: str | None, column: str,
                                                   direction: str) -> None:
    table = {**SPEC, "search": {**SPEC["search"], **({"objective": given} if given else {})}}
    search = parse_spec(table, Path("objective.toml")).search
    assert search.objective == search.goal.column == column
    assert search.direction == search.goal.direction == direction


def test_the_spec_refuses_an_objective_of_another_metric() -> None:
    table = {**SPEC, "search": {**SPEC["search"], "objective": "holdout_accuracy"}}
    with pytest.raises(UserError, match="holdout_mae, holdout_loss, val_mae, val_loss"):
        parse_spec(table, Path("objective.toml"))
