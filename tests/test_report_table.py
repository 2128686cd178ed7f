"""Ranking, intervals and ties, checked on numbers worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report_data import make_run, make_spec, ranked

from tuning.verdicts.ranking import load_run, oom_frontier
from tuning.verdicts.stats import spearman, t_quantile, wilson


def test_wilson_matches_the_textbook_values() -> None:
    low, high = wilson(np.array([0.9]), np.array([100]))
    assert low[0] == pytest.approx(0.8256, abs=1e-4)
    assert high[0] == pytest.approx(0.9448, abs=1e-4)
    low, high = wilson(np.array([1.0, np.nan]), np.array([50, 50]))
    assert high[0] == pytest.approx(1.0) and low[0] == pytest.approx(0.9287, abs=1e-4)
    assert math.isnan(low[1])


def test_t_quantile_and_spearman() -> None:
    assert t_quantile(2) == pytest.approx(4.303, abs=1e-3)
    rho, n = spearman(pd.Series([1, 2, 4, 8]), pd.Series([0.1, 0.3, 0.2, 0.9]))
    assert (rho, n) == (pytest.approx(0.8), 4)
    assert math.isnan(spearman(pd.Series([1, 1, 1]), pd.Series([1, 2, 3]))[0])


ROWS = [
    {"trial_id": "00", "status": "ok", "holdout_accuracy": 0.90, "wall_s": 5},
    {"trial_id": "01", "status": "oom", "holdout_accuracy": None, "batch_size": 512,
     "message": "out of memory at batch size 512"},
    {"trial_id": "02", "status": "ok", "holdout_accuracy": 0.95, "wall_s": 9},
    {"trial_id": "03", "status": "ok", "holdout_accuracy": 0.60, "wall_s": 1},
    {"trial_id": "04", "status": "nan", "holdout_accuracy": 0.99},
]


def test_rank_puts_scored_best_first_and_keeps_failures_last() -> None:
    table = ranked(ROWS)
    assert list(table["trial_id"]) == ["02", "00", "03", "01", "04"]
    assert list(table["rank"].astype("float").fillna(0)) == [1, 2, 3, 0, 0]
    # Wilson on the 200-sample holdout: 0.95 and 0.90 overlap, 0.60 does not.
    assert list(table["tied"]) == [True, True, False, False, False]
    assert table["low"].iloc[3:].isna().all()


def test_rank_minimises_losses_and_breaks_ties_by_trial_id() -> None:
    rows = [{"trial_id": t, "status": "ok", "val_loss": v}
            for t, v in (("03", 0.5), ("01", 0.2), ("02", 0.2))]
    table = ranked(rows, make_spec(objective="val_loss"))
    assert list(table["trial_id"]) == ["01", "02", "03"]
    # One run of a loss has no interval: only the equal score is a tie.
    assert list(table["tied"]) == [True, True, False]
    assert table["low"].isna().all()


def test_regression_repeats_use_the_seed_spread() -> None:
    rows = [{"trial_id": "00", "status": "ok", "holdout_mae": 1.0, "holdout_mae_std": 0.3,
             "executions": 3},
            {"trial_id": "01", "status": "ok", "holdout_mae": 1.4, "holdout_mae_std": 0.1,
             "executions": 3}]
    table = ranked(rows, make_spec(metric="mae", executions=3))
    half = t_quantile(2) * 0.3 / math.sqrt(3)
    assert table["low"].iloc[0] == pytest.approx(1.0 - half)
    assert table["high"].iloc[0] == pytest.approx(1.0 + half)
    assert bool(table["tied"].iloc[1])


def test_val_accuracy_interval_uses_each_trials_validation_rows() -> None:
    rows = [{"trial_id": "00", "status": "ok", "val_accuracy": 0.9, "validation_split": 0.1},
            {"trial_id": "01", "status": "ok", "val_accuracy": 0.9, "validation_split": 0.5}]
    table = ranked(rows, make_spec(objective="val_accuracy"))
    widths = (table["high"] - table["low"]).to_numpy()
    assert widths[0] > widths[1]  # 80 validation rows against 400


def test_load_run_reads_status_nan_as_text_and_survives_missing_tables(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, n_trials=6, statuses={3: "nan"})
    run = load_run(run_dir)
    assert "nan" in set(run.trials["status"])
    (run_dir / "curves.csv").unlink()
    (run_dir / "trials.csv").write_text("")
    run = load_run(run_dir)
    assert run.trials.empty and run.curves.empty


def test_oom_frontier() -> None:
    table = ranked([
        {"trial_id": "00", "status": "ok", "batch_size": 64},
        {"trial_id": "01", "status": "ok", "batch_size": 128},
        {"trial_id": "02", "status": "oom", "batch_size": 512},
        {"trial_id": "03", "status": "oom", "batch_size": 256},
        {"trial_id": "04", "status": "skipped_oom", "batch_size": 1024},
    ])
    assert oom_frontier(table) == (128.0, 256.0)
    assert oom_frontier(ranked([{"trial_id": "00", "status": "ok", "batch_size": 8}])) is None
