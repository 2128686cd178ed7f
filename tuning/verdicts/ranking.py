"""Load a run's records and rank them, with an honest interval around every score.

Trials scored on the same fixed holdout set differ by less than the holdout's sampling noise
more often than a bare ranking suggests; the interval and the `tied` mark say which ones a
user cannot tell apart from the best. Failed trials stay in the table, ranked last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tuning.data.splits import validation_rows
from tuning.records.rundir import read_state
from tuning.records.status import Status
from tuning.records.trials import (
    BATCH_SIZE,
    BEST_EPOCH,
    EFFECTIVE_STEPS,
    EXECUTIONS,
    GAP,
    MEMORY_BUDGET_MB,
    MESSAGE,
    PEAK_MEMORY_MB,
    SAMPLES_SEEN,
    STATUS,
    STEPS_PER_EPOCH,
    TRIAL_ID,
    VALIDATION_SPLIT,
    WALL_S,
    read_table,
    std_column,
)
from tuning.spec.objective import HOLDOUT, Objective
from tuning.spec.schema import Spec, load_spec
from tuning.verdicts.pick import Choice, choose
from tuning.verdicts.stats import t_quantile, wilson

#: Columns every ranked table has, blank where a record lacks them, so no reader checks.
NUMERIC_COLUMNS = (STEPS_PER_EPOCH, VALIDATION_SPLIT, BATCH_SIZE, EFFECTIVE_STEPS, SAMPLES_SEEN,
                   BEST_EPOCH, GAP, PEAK_MEMORY_MB, WALL_S, EXECUTIONS)


@dataclass(frozen=True)
class Run:
    """Everything the report knows about one run directory."""

    path: Path
    spec: Spec
    info: dict[str, Any]
    trials: pd.DataFrame
    curves: pd.DataFrame
    #: The recommendation (pick, honest score, paired ties); None when nothing scored.
    choice: Choice | None = None

    @property
    def metric(self) -> str:
        return self.spec.model.metric

    @property
    def objective(self) -> str:
        return self.spec.search.objective

    @property
    def ok(self) -> pd.DataFrame:
        """The trials that trained to their budget."""
        return self.trials[self.trials[STATUS].eq(Status.OK)]

    @property
    def goal(self) -> Objective:
        return self.spec.search.goal

    @property
    def maximise(self) -> bool:
        return self.goal.maximise

    @property
    def hp_names(self) -> list[str]:
        """The searched names, steps_per_epoch and validation_split first."""
        names = [d.name for d in self.spec.search.space]
        main = ["steps_per_epoch", "validation_split"]
        return main + [n for n in names if n not in main]

    @property
    def memory_budget_mb(self) -> float | None:
        budget = self.info.get("memory_budget_mb")
        if budget is None and MEMORY_BUDGET_MB in self.trials:
            budget = self.trials[MEMORY_BUDGET_MB].dropna().max()
        return None if budget is None or pd.isna(budget) else float(budget)


def load_run(run_dir: Path) -> Run:
    """Read spec.toml, run.json, trials.csv and curves.csv; missing tables read as empty."""
    run_dir = Path(run_dir)
    spec = load_spec(run_dir / "spec.toml")
    info = read_state(run_dir)  # a damaged run.json reads as none (`report` names it)
    trials = read_table(run_dir / "trials.csv")
    curves = read_table(run_dir / "curves.csv")
    ranked = rank(trials, spec, info)
    choice = choose(ranked, run_dir, spec, info)
    if choice is not None:  # "tied" now means: a paired test cannot tell it from the pick
        tied = ranked[TRIAL_ID].astype(str).isin({choice.trial_id, *choice.tied})
        ranked["tied"] = tied.to_numpy() & ranked["top"].to_numpy()
    return Run(run_dir, spec, info, ranked, curves, choice)


def rank(trials: pd.DataFrame, spec: Spec, info: dict[str, Any]) -> pd.DataFrame:
    """Sort on the objective and add `rank`, `low`, `high`, `budget`, `top` and `tied`.

    Scored trials trained to the largest budget (`top`) come first, best first, ties broken
    by trial id so the order never depends on the file's order; then scored trials of lower
    Hyperband rounds, largest round first; unscored ones follow in trial-id order, no rank.
    `tied` here is the overlap of intervals; `load_run` replaces it by the paired test.
    """
    frame = trials.copy()
    objective = spec.search.objective
    for column in (STATUS, MESSAGE):
        if column not in frame:
            frame[column] = pd.Series(dtype=str)
    for column in (*NUMERIC_COLUMNS, objective):
        if column not in frame:
            frame[column] = np.nan
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    maximise = spec.search.goal.maximise
    scored = frame[STATUS].eq(Status.OK) & np.isfinite(frame[objective])
    key = frame[objective].where(scored)
    frame["budget"] = budgets(frame)
    frame["top"] = scored & (frame["budget"].isna()
                             | frame["budget"].eq(frame["budget"].where(scored).max()))
    frame["_key"] = -key if maximise else key
    frame["_lower"] = ~frame["top"]
    frame["_budget"] = -frame["budget"].fillna(0)
    frame = frame.sort_values(["_lower", "_budget", "_key", TRIAL_ID], na_position="last",
                              kind="mergesort")
    frame = frame.drop(columns=["_key", "_lower", "_budget"]).reset_index(drop=True)
    n_scored = int(scored.sum())
    frame["rank"] = pd.array(list(range(1, n_scored + 1)) + [None] * (len(frame) - n_scored),
                             dtype="Int64")
    low, high = intervals(frame, spec, info)
    frame["low"], frame["high"] = low, high
    frame["tied"] = tied_with_best(frame, objective)
    return frame


def budgets(frame: pd.DataFrame) -> pd.Series:
    """Each trial's training budget where trials differ in it: Hyperband's round (epochs);
    NaN where every trial had the spec's one budget."""
    if "tuner_epochs" not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame["tuner_epochs"], errors="coerce")


def intervals(frame: pd.DataFrame, spec: Spec, info: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """95% interval of each trial's objective, NaN where the records cannot support one.

    Accuracy on n samples gets a Wilson interval (n is the holdout size, or the trial's own
    validation rows for a val_ objective); with repeats the seed spread widens it where it is
    wider. Losses and errors get only the seed spread: a single run of them says nothing
    about its own noise.
    """
    objective = spec.search.objective
    score = frame[objective].to_numpy(dtype=float)
    low = np.full(len(frame), np.nan)
    high = np.full(len(frame), np.nan)
    if objective.endswith("accuracy"):
        n = _sample_sizes(frame, spec, info)
        low, high = wilson(score, n)
    spread_low, spread_high = _seed_spread(frame, objective, score)
    low = np.fmin(low, spread_low)
    high = np.fmax(high, spread_high)
    if objective.endswith("accuracy"):
        low, high = np.clip(low, 0, 1), np.clip(high, 0, 1)
    not_ok = ~frame[STATUS].eq(Status.OK).to_numpy()
    low[not_ok] = np.nan
    high[not_ok] = np.nan
    return low, high


def _sample_sizes(frame: pd.DataFrame, spec: Spec, info: dict[str, Any]) -> np.ndarray:
    n_pool = info.get("n_pool")
    n_holdout = info.get("n_holdout")
    if n_holdout is None and n_pool:
        n_holdout = round(n_pool * spec.data.holdout / (1 - spec.data.holdout))
    if spec.search.goal.part == HOLDOUT:
        return np.full(len(frame), np.nan if n_holdout is None else float(n_holdout))
    if not n_pool:
        return np.full(len(frame), np.nan)
    splits = pd.to_numeric(frame[VALIDATION_SPLIT], errors="coerce")
    return np.array([np.nan if pd.isna(s) else validation_rows(int(n_pool), float(s))
                     for s in splits])


def _seed_spread(frame: pd.DataFrame, objective: str, score: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mean ± t·std/√k over k > 1 executions, where the records hold the spread."""
    spread = std_column(objective)
    nan = np.full(len(frame), np.nan)
    if spread not in frame or EXECUTIONS not in frame:
        return nan, nan.copy()
    k = pd.to_numeric(frame[EXECUTIONS], errors="coerce").to_numpy(dtype=float)
    std = pd.to_numeric(frame[spread], errors="coerce").to_numpy(dtype=float)
    half = np.array([
        t_quantile(int(ki) - 1) * s / math.sqrt(ki) if ki > 1 and np.isfinite(s) else np.nan
        for ki, s in zip(k, std, strict=True)
    ])
    return score - half, score + half


def tied_with_best(frame: pd.DataFrame, objective: str) -> np.ndarray:
    """True for scored trials whose interval overlaps the best trial's.

    Without intervals only an exactly equal score counts as a tie.
    """
    tied = np.zeros(len(frame), dtype=bool)
    if frame.empty or pd.isna(frame["rank"].iloc[0]):
        return tied
    scored = frame["rank"].notna().to_numpy()
    best = frame.iloc[0]
    low = frame["low"].to_numpy(dtype=float)
    high = frame["high"].to_numpy(dtype=float)
    score = frame[objective].to_numpy(dtype=float)
    equal = score == score[0]
    if np.isfinite(best["low"]):
        overlaps = (low <= best["high"]) & (high >= best["low"])
        # A trial without its own interval is tied when its score lies inside the best's.
        inside = (score >= best["low"]) & (score <= best["high"])
        tied = np.where(np.isfinite(low), overlaps, inside)
    tied = (tied | equal) & scored
    tied[0] = True
    return tied


def oom_frontier(trials: pd.DataFrame) -> tuple[float, float] | None:
    """(largest batch that trained, smallest batch that ran out of memory), or None.

    Only batches below the first failure count as fitting: a larger one that trained with a
    smaller model says nothing about this frontier.
    """
    if BATCH_SIZE not in trials:
        return None
    batch = pd.to_numeric(trials[BATCH_SIZE], errors="coerce")
    failed = batch[trials[STATUS].eq(Status.OOM)].dropna()
    if failed.empty:
        return None
    smallest_failure = float(failed.min())
    fitted = batch[trials[STATUS].eq(Status.OK) & (batch < smallest_failure)].dropna()
    return (float(fitted.max()) if not fitted.empty else float("nan"), smallest_failure)
