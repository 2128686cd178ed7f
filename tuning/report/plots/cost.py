"""Score against wall time: what each configuration costs, and the cheapest good ones.

The step line is the Pareto front (no faster trial scores better), so the cheaper runner-up
of the recommendation is visible on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tuning.records.status import Status
from tuning.records.trials import STATUS, WALL_S
from tuning.report.plots.style import empty, figure

#: Interval bars and trial ids only up to this many trials: beyond, they hide the points.
MAX_DETAILED = 40


def score_by_time(trials: pd.DataFrame, *, objective: str, maximise: bool) -> Figure:
    """Each scored trial at its wall time, with its interval; the best starred."""
    fig, axes = figure(8, 4.6)
    ax = axes[0, 0]
    ok = trials[trials[STATUS].eq(Status.OK)].copy()
    ok["wall"] = pd.to_numeric(ok[WALL_S], errors="coerce")
    ok["score"] = pd.to_numeric(ok[objective], errors="coerce")
    ok = ok.dropna(subset=["wall", "score"])
    if ok.empty:
        empty(ax, "No scored trial recorded its wall time.")
        return fig
    detailed = len(ok) <= MAX_DETAILED
    if detailed:
        low = (ok["score"] - ok["low"]).clip(lower=0).fillna(0).to_numpy()
        high = (ok["high"] - ok["score"]).clip(lower=0).fillna(0).to_numpy()
        ax.errorbar(ok["wall"], ok["score"], yerr=np.vstack([low, high]), linestyle="none",
                    marker="o", markersize=4, color="#31688e", ecolor="0.7", elinewidth=0.8,
                    label="trial (95% interval)")
    else:
        ax.plot(ok["wall"], ok["score"], linestyle="none", marker="o", markersize=3,
                color="#31688e", alpha=0.5, label="trial")
    front = pareto_front(ok["wall"], ok["score"], maximise)
    ax.step(front["wall"], front["score"], where="post", color="black", linestyle="--",
            linewidth=1, label="best score for the time (front)")
    best = ok.sort_values("rank").iloc[0]
    ax.plot([best["wall"]], [best["score"]], linestyle="none", marker="*", markersize=16,
            color="black", label=f"best: trial {best['trial_id']}")
    for index in front.index if detailed else ():
        ax.annotate(str(ok.loc[index, "trial_id"]), (ok.loc[index, "wall"], ok.loc[index, "score"]),
                    textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("wall time of the trial (s)")
    ax.set_ylabel(f"{objective} ({'higher' if maximise else 'lower'} is better)")
    ax.set_title("Score against cost", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig


def pareto_front(wall: pd.Series, score: pd.Series, maximise: bool) -> pd.DataFrame:
    """Trials that no faster trial beats, fastest first."""
    frame = pd.DataFrame({"wall": wall, "score": score}).sort_values(["wall", "score"],
                                                                     ascending=[True, not maximise])
    signed = frame["score"] if maximise else -frame["score"]
    keep = signed > signed.cummax().shift(fill_value=-np.inf)
    return frame[keep]
