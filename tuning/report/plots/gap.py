"""The generalization gap against steps_per_epoch: the second folk rule, measured.

"If you overfit, lower steps_per_epoch" predicts the gap rises with steps_per_epoch. Given
the gaps at equal samples seen (what the rule is judged on), the plot shows those, so the
plot and the verdict rest on the same numbers; otherwise the gap at each trial's best epoch.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from tuning.records.status import Status
from tuning.records.trials import GAP, STATUS, STEPS_PER_EPOCH, VALIDATION_SPLIT
from tuning.report.plots.style import MARKERS, colours, empty, figure, log_if_wide
from tuning.verdicts.text import fmt

#: Up to this many validation_split values get a marker each; beyond, one marker for all.
MAX_SERIES = len(MARKERS)


def gap_by_steps(trials: pd.DataFrame, at_samples: pd.Series | None = None,
                 samples: float | None = None) -> Figure:
    """Gap (validation minus training loss) of each scored trial: at `samples` samples seen
    when `at_samples` holds those gaps (by trial index), else at each trial's best epoch."""
    fig, axes = figure(8, 4.6)
    ax = axes[0, 0]
    ok = trials[trials[STATUS].eq(Status.OK)]
    steps = pd.to_numeric(ok[STEPS_PER_EPOCH], errors="coerce")
    equal = at_samples is not None and at_samples.notna().any()
    gap = (at_samples.reindex(ok.index) if equal
           else pd.to_numeric(ok[GAP], errors="coerce"))
    data = pd.DataFrame({"steps": steps, "gap": gap,
                         "split": pd.to_numeric(ok[VALIDATION_SPLIT], errors="coerce")})
    data = data.dropna(subset=["steps", "gap"])
    if data.empty:
        empty(ax, "No scored trial recorded a gap.")
        return fig
    splits = sorted(data["split"].dropna().unique())
    if 1 < len(splits) <= MAX_SERIES:
        for i, (split, colour) in enumerate(zip(splits, colours(len(splits)), strict=True)):
            part = data[data["split"] == split]
            ax.plot(part["steps"], part["gap"], linestyle="none", marker=MARKERS[i],
                    color=colour, alpha=0.85, label=f"validation_split {fmt(split)}")
    else:
        ax.plot(data["steps"], data["gap"], linestyle="none", marker="o", color="#31688e",
                alpha=0.7, label="trial")
    median = data.groupby("steps")["gap"].median()
    ax.plot(median.index, median.to_numpy(), color="black", linestyle="-", linewidth=1.5,
            label="median per steps_per_epoch")
    ax.axhline(0, color="0.5", linewidth=0.8)
    log_if_wide(ax, data["steps"], ratio=8)
    where = f"at {fmt(samples)} samples seen" if equal else "at the best epoch"
    ax.set_title(f"Generalization gap by steps_per_epoch, {where} (n = {len(data)})",
                 fontsize=10)
    ax.set_xlabel("steps_per_epoch")
    ax.set_ylabel(f"gap = val loss − train loss {where}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig
