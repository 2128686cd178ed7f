"""Tables kept up to date by appending one trial at a time read exactly as tables rebuilt
from every record; a row with a new column, or a missing table, rebuilds from the records."""

from __future__ import annotations

import pandas as pd

from tuning.records import trials as records

HP = ["steps_per_epoch", "validation_split", "units"]


def _trial(i: int, status: str = "ok", **extra) -> tuple[dict, list[dict]]:
    row = {"trial_id": str(i), "status": status, "steps_per_epoch": 2 ** i,
           "validation_split": 0.1 * (1 + i % 3), "units": [8, 16][i % 2], "batch_size": 50 - i,
           "best_epoch": None if status != "ok" else 2, "holdout_accuracy": 0.5 + i / 100,
           "message": "" if status == "ok" else "out of memory, at batch 7", "wall_s": 1.5,
           **extra}
    curves = [{"trial_id": str(i), "execution": 0, "epoch": e, "updates": e * 3,
               "samples_seen": e * 90, "loss": 1 / e, "val_loss": 1.2 / e, "accuracy": 0.5,
               "val_accuracy": 0.4} for e in (1, 2)] if status == "ok" else []
    return row, curves


def test_appended_tables_read_as_rebuilt_ones(tmp_path):
    appended, rebuilt = tmp_path / "a", tmp_path / "b"
    for i in range(6):
        row, curves = _trial(i, status="nan" if i == 3 else "ok",
                             **({"tuner_round": 1} if i == 4 else {}))
        for folder in (appended, rebuilt):
            records.write_trial(folder, row, curves)
        records.append_tables(appended, row, curves, "accuracy", HP)
    records.write_tables(rebuilt, "accuracy", HP)
    for table in ("trials.csv", "curves.csv"):
        pd.testing.assert_frame_equal(records.read_table(appended / table),
                                      records.read_table(rebuilt / table))
    trials = records.read_table(appended / "trials.csv")
    assert trials.status.tolist() == ["ok", "ok", "ok", "nan", "ok", "ok"]
    assert trials.tuner_round.tolist()[4] == 1  # a new column: rebuilt from the records


def test_a_missing_table_is_rebuilt_from_the_records(tmp_path):
    for i in range(3):
        records.write_trial(tmp_path, *_trial(i))
    row, curves = _trial(3)
    records.write_trial(tmp_path, row, curves)
    records.append_tables(tmp_path, row, curves, "accuracy", HP)
    assert len(records.read_table(tmp_path / "trials.csv")) == 4
    assert len(records.read_table(tmp_path / "curves.csv")) == 8
