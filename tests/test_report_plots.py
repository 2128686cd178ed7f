"""Every plot on a small hand-made table, and on the tables that break naive plotting code."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from test_report_data import make_spec, ranked

from tuning.report.plots import save
from tuning.report.plots.cost import pareto_front, score_by_time
from tuning.report.plots.curves import overfitting_curves
from tuning.report.plots.gap import gap_by_steps
from tuning.report.plots.heatmap import objective_heatmap
from tuning.report.plots.memory import memory_frontier


def _trial(tid: str, steps: int, split: float, status: str = "ok", **extra) -> dict:
    row = {"trial_id": tid, "status": status, "steps_per_epoch": steps,
           "validation_split": split, "batch_size": 1024 // steps, "best_epoch": 2,
           "gap": 0.01 * steps, "peak_memory_mb": 20 + 2048 / steps, "wall_s": 1 + steps / 8,
           "holdout_accuracy": 0.8 + 0.004 * steps, "holdout_mae": 1 - 0.01 * steps,
           "message": ""}
    if status != "ok":
        row.update(gap=None, peak_memory_mb=None, wall_s=None, holdout_accuracy=None,
                   holdout_mae=None, message=f"{status} at batch size {1024 // steps}")
    row.update(extra)
    return row


def _curves(trials: list[dict]) -> pd.DataFrame:
    rows = []
    for trial in trials:
        if trial["status"] != "ok":
            continue
        for execution in range(2):
            for epoch in (1, 2, 3):
                rows.append({"trial_id": trial["trial_id"], "execution": execution,
                             "epoch": epoch, "updates": trial["steps_per_epoch"] * epoch,
                             "samples_seen": 900 * epoch, "loss": 1 / epoch,
                             "val_loss": 1 / epoch + 0.05 * epoch})
    return pd.DataFrame(rows)


GRID = [_trial("00", 2, 0.1, "oom"), _trial("01", 2, 0.2, "skipped_oom"),
        _trial("02", 8, 0.1), _trial("03", 8, 0.2), _trial("04", 32, 0.1),
        _trial("05", 32, 0.2, "nan"), _trial("06", 32, 0.2, "error")]
CASES = {
    "grid": (GRID, "accuracy"),
    "all failed": ([_trial("00", 2, 0.1, "oom"), _trial("01", 4, 0.1, "error")], "accuracy"),
    "single trial": ([_trial("00", 4, 0.2)], "accuracy"),
    "regression": (GRID, "mae"),
    "nan columns": ([_trial("00", 4, 0.2, gap=np.nan, peak_memory_mb=np.nan, wall_s=np.nan,
                            best_epoch=np.nan, batch_size=np.nan),
                     _trial("01", 8, 0.2, gap=np.nan, peak_memory_mb=np.nan)], "accuracy"),
    "many levels": ([_trial(f"{i:02d}", 1 + i, 0.05 + i / 100) for i in range(40)], "accuracy"),
}
PLOTS: dict[str, Callable[[pd.DataFrame, pd.DataFrame, str, bool, float | None], Figure]] = {
    "curves_samples": lambda t, c, o, m, b: overfitting_curves(t, c, x="samples_seen"),
    "curves_updates": lambda t, c, o, m, b: overfitting_curves(t, c, x="updates"),
    "heatmap": lambda t, c, o, m, b: objective_heatmap(t, objective=o, maximise=m),
    "memory": lambda t, c, o, m, b: memory_frontier(t, budget_mb=b),
    "gap": lambda t, c, o, m, b: gap_by_steps(t),
    "cost": lambda t, c, o, m, b: score_by_time(t, objective=o, maximise=m),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("plot", list(PLOTS))
def test_plot_draws_on_any_table(plot: str, case: str) -> None:
    rows, metric = CASES[case]
    spec = make_spec(metric=metric)
    trials = ranked(rows, spec)
    budgets = (300.0, None) if plot == "memory" else (300.0,)
    for budget in budgets:
        fig = PLOTS[plot](trials, _curves(rows), spec.search.objective,
                          spec.search.direction == "max", budget)
        assert isinstance(fig, Figure)
        fig.savefig(io.BytesIO(), format="png", dpi=30)  # layout and drawing run for real


def test_saved_png_is_byte_identical(tmp_path: Path) -> None:
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        save(gap_by_steps(ranked(GRID)), path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert b"Software" not in paths[0].read_bytes()


def test_plots_label_their_axes() -> None:
    trials = ranked(GRID)
    curves = _curves(GRID)
    figures = [overfitting_curves(trials, curves), objective_heatmap(
        trials, objective="holdout_accuracy", maximise=True), memory_frontier(
        trials, budget_mb=300), gap_by_steps(trials), score_by_time(
        trials, objective="holdout_accuracy", maximise=True)]
    for fig in figures:
        ax = fig.axes[0]
        assert ax.get_xlabel() and ax.get_ylabel()


def test_heatmap_marks_memory_failures() -> None:
    fig = objective_heatmap(ranked(GRID), objective="holdout_accuracy", maximise=True)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "1 oom" in texts and "1 skipped_oom" in texts
    assert any("1 error" in t and "1 nan" in t for t in texts)
    hatches = {p.get_hatch() for p in fig.axes[0].patches}
    assert {"xx", "//"} <= hatches


def test_curves_show_the_top_trials_best_epoch() -> None:
    fig = overfitting_curves(ranked(GRID), _curves(GRID), top=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    assert visible[0].get_title().startswith("#1 trial 04")
    stars = [line for line in visible[0].lines if line.get_marker() == "*"]
    assert [list(star.get_xdata()) for star in stars] == [[1800]]  # epoch 2 of 900 samples
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels == ["training loss", "validation loss", "gap (validation − training)",
                      "best epoch (weights kept)"]


def test_memory_plot_draws_budget_and_frontier() -> None:
    fig = memory_frontier(ranked(GRID), budget_mb=300)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "budget 300 MiB" in labels
    assert "out of memory from batch 512" in labels


def test_pareto_front_keeps_only_trials_no_faster_one_beats() -> None:
    front = pareto_front(pd.Series([1.0, 2.0, 3.0, 4.0]), pd.Series([0.5, 0.4, 0.7, 0.7]),
                         maximise=True)
    assert list(front.index) == [0, 2]
    front = pareto_front(pd.Series([1.0, 2.0]), pd.Series([0.5, 0.4]), maximise=False)
    assert list(front.index) == [0, 1]
