"""A trials.csv row: its columns named once, in the SPEC's order, made and read through records."""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

from tuning.records import trials
from tuning.records.rows import trial_row
from tuning.records.status import Status

#: The SPEC's list, as a user reads it (holdout_<metric> and val_<metric> with accuracy).
SPEC_COLUMNS = ["trial_id", "status", "steps_per_epoch", "validation_split", "batch_size",
                "effective_steps_per_epoch", "epochs_run", "updates", "samples_seen",
                "best_epoch", "train_loss", "val_loss", "holdout_loss", "holdout_accuracy",
                "val_accuracy", "gap", "peak_memory_mb", "wall_s", "message"]


def test_the_columns_are_the_specs_in_its_order() -> None:
    assert [c.format(metric="accuracy") for c in trials.TRIAL_COLUMNS] == SPEC_COLUMNS


def test_the_row_type_holds_every_fixed_column_and_nothing_else() -> None:
    fixed = {c for c in (*trials.TRIAL_COLUMNS, *trials.EXTRA_COLUMNS) if "{" not in c}
    assert set(get_type_hints(trials.TrialRow)) == fixed


def test_the_metric_columns_are_the_templates_filled_in() -> None:
    holdout, val = trials.metric_columns("mae")
    assert (holdout, val) == ("holdout_mae", "val_mae")
    assert trials.std_column(holdout) in [c.format(metric="mae") for c in trials.EXTRA_COLUMNS]


def test_a_row_made_and_written_through_records_reads_back_in_the_specs_columns(
        tmp_path: Path) -> None:
    planned = {trials.TRIAL_ID: "0", "steps_per_epoch": 4, "validation_split": 0.2,
               "batch_size": 18, "effective_steps_per_epoch": 4, "learning_rate": 0.01}
    row = trial_row(planned, Status.OK, holdout_accuracy=0.9, val_accuracy=0.85, wall_s=1.5)
    trials.write_trial(tmp_path, row, [])
    trials_csv, _ = trials.write_tables(tmp_path, "accuracy", ["steps_per_epoch",
                                                               "validation_split", "learning_rate"])
    header = trials_csv.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:len(SPEC_COLUMNS)] == SPEC_COLUMNS
    assert header[len(SPEC_COLUMNS):] == ["train_loss_end", "executions", "holdout_accuracy_std",
                                          "memory_budget_mb", "worker", "worker_trial",
                                          "learning_rate"]
    table = trials.read_table(trials_csv)
    assert table.loc[0, trials.STATUS] == Status.OK and table.loc[0, trials.WALL_S] == 1.5
