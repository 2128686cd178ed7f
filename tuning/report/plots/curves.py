"""Overfitting curves of the best trials: training against validation loss.

Drawn against samples seen (or updates), never the epoch number: with different
steps_per_epoch an epoch is different work, so epochs side by side compare nothing.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from pandas.core.groupby import DataFrameGroupBy

from tuning.records.trials import BEST_EPOCH, TRIAL_ID
from tuning.report.plots.style import MARKERS, colours, empty, figure
from tuning.verdicts.text import fmt

AXIS_LABELS = {"samples_seen": "samples seen", "updates": "updates (optimizer steps)"}


def overfitting_curves(trials: pd.DataFrame, curves: pd.DataFrame, *, x: str = "samples_seen",
                       top: int = 4) -> Figure:
    """One panel per top-ranked trial: train and validation loss, best epoch, gap shaded."""
    ranked = trials[trials["rank"].notna()]
    mean = _mean_curves(curves, x)
    shown = [row for _, row in ranked.iterrows() if row[TRIAL_ID] in mean.groups][:top]
    if not shown:
        fig, axes = figure(8, 3)
        empty(axes[0, 0], "No scored trial has recorded curves.")
        return fig
    ncols = min(len(shown), 2)
    nrows = math.ceil(len(shown) / ncols)
    fig, axes = figure(5.2 * ncols, 3.4 * nrows, nrows, ncols, sharey=True)
    colour = colours(len(shown))
    for i, row in enumerate(shown):
        ax = axes.flat[i]
        data = mean.get_group(row[TRIAL_ID])
        ax.fill_between(data[x], data["loss"], data["val_loss"], color="0.85", hatch="..",
                        edgecolor="0.6", linewidth=0)
        ax.plot(data[x], data["loss"], linestyle="-", marker=MARKERS[0], markersize=3,
                color=colour[i])
        ax.plot(data[x], data["val_loss"], linestyle="--", marker=MARKERS[1], markersize=3,
                color=colour[i])
        best = data[data["epoch"] == row.get(BEST_EPOCH)]
        if not best.empty:
            ax.axvline(best[x].iloc[0], color="0.3", linestyle=":", linewidth=1)
            ax.plot(best[x], best["val_loss"], linestyle="none", marker="*", markersize=13,
                    color="black")
        ax.set_title(_title(row), fontsize=9)
        ax.set_xlabel(AXIS_LABELS.get(x, x))
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(shown):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("loss")
    fig.legend(handles=_key(), loc="outside upper center", ncols=4, fontsize=8, frameon=False)
    return fig


def _key() -> list[Artist]:
    """One legend for every panel: the panels differ in colour, not in what lines mean."""
    return [
        Line2D([], [], linestyle="-", marker=MARKERS[0], markersize=3, color="0.2",
               label="training loss"),
        Line2D([], [], linestyle="--", marker=MARKERS[1], markersize=3, color="0.2",
               label="validation loss"),
        Patch(facecolor="0.85", hatch="..", edgecolor="0.6", linewidth=0,
              label="gap (validation − training)"),
        Line2D([], [], linestyle=":", marker="*", markersize=11, color="black",
               label="best epoch (weights kept)"),
    ]


def _mean_curves(curves: pd.DataFrame, x: str) -> DataFrameGroupBy:
    """Average the executions of each trial epoch by epoch (repeats share the schedule)."""
    needed = ["trial_id", "epoch", x, "loss", "val_loss"]
    if curves.empty or any(c not in curves for c in needed):
        return pd.DataFrame(columns=needed).groupby("trial_id")
    frame = curves[needed].copy()
    for column in needed[1:]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame = frame.dropna(subset=["epoch", x])
    frame = frame.groupby(["trial_id", "epoch"], as_index=False).mean().sort_values(x)
    return frame.groupby("trial_id")


def _title(row: pd.Series) -> str:
    return (f"#{int(row['rank'])} trial {row['trial_id']}: steps/epoch "
            f"{fmt(row.get('steps_per_epoch'))}, val split "
            f"{fmt(row.get('validation_split'))}, batch {fmt(row.get('batch_size'))}")

