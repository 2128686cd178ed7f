"""Peak memory against batch size: where the budget line is and where trials ran out.

This is the first folk rule ("out of memory? raise steps_per_epoch") made visible: the batch
size is what memory follows, and steps_per_epoch only matters through it.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from tuning.records.status import FITS, MEMORY_FAILURES, Status
from tuning.records.trials import BATCH_SIZE, PEAK_MEMORY_MB, STATUS
from tuning.report.plots.style import empty, figure, log_if_wide
from tuning.verdicts.ranking import oom_frontier
from tuning.verdicts.text import fmt


def memory_frontier(trials: pd.DataFrame, *, budget_mb: float | None) -> Figure:
    """Measured peaks of the scored trials, the failures at their batch, the budget line."""
    fig, axes = figure(8, 4.6)
    ax = axes[0, 0]
    batch = pd.to_numeric(trials[BATCH_SIZE], errors="coerce")
    peak = pd.to_numeric(trials[PEAK_MEMORY_MB], errors="coerce")
    status = trials[STATUS]
    frontier = oom_frontier(trials)
    if batch.isna().all() or (peak.isna().all() and budget_mb is None):
        text = "No memory measurement or budget was recorded."
        if frontier is not None:
            text += f"\nTrials ran out of memory from batch size {fmt(frontier[1])} up."
        empty(ax, text)
        return fig
    ceiling = budget_mb if budget_mb is not None else peak.max()
    fits = status.isin(FITS) & peak.notna()
    ax.plot(batch[fits], peak[fits], linestyle="none", marker="o", color="#31688e",
            label="trained (peak memory)")
    for failure in MEMORY_FAILURES:
        mask = status.eq(failure) & batch.notna()
        if mask.any():
            height = peak[mask].fillna(ceiling if pd.notna(ceiling) else 0.0)
            ax.plot(batch[mask], height, linestyle="none", marker=failure.marker, markersize=9,
                    markerfacecolor="black" if failure.ran else "none",
                    markeredgecolor="black", label=failure.replace("_", " "))
    if budget_mb is not None:
        ax.axhline(budget_mb, color="black", linestyle="--", linewidth=1.2,
                   label=f"budget {fmt(budget_mb)} MiB")
    if frontier is not None:
        fits, fails = frontier
        ax.axvspan(fails, batch.max() * 1.05, facecolor="none", edgecolor="0.5",
                   hatch=Status.OOM.hatch, linewidth=0,
                   label=f"out of memory from batch {fmt(fails)}")
        if pd.notna(fits):
            ax.axvline(fits, color="0.3", linestyle=":",
                       label=f"largest batch that fit: {fmt(fits)}")
    log_if_wide(ax, batch)
    ax.set_xlabel("batch size (samples per update)")
    ax.set_ylabel("peak memory (MiB)")
    ax.set_title("Peak memory by batch size", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig

