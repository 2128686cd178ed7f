"""The recommendation: which trial, its honest score, who ties with it, a cheaper runner-up.

Picking the best of many noisy scores on one holdout set overstates the winner (its score
carries the luck that made it win). So the pick's stated score comes from fresh training
runs (new seeds, made after the search, see `tuning.records.confirmations`) scored on test rows that
nothing was ranked or selected on; where a run has neither, the score says so. Ties are
decided by a paired test on the holdout rows all trials share. Only trials trained to the
largest budget (the last Hyperband round) compete; lower rounds stay out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tuning.records import predictions
from tuning.records.confirmations import read_confirmations
from tuning.records.trials import EXECUTIONS, TRIAL_ID, WALL_S
from tuning.spec.objective import HOLDOUT
from tuning.spec.schema import Spec
from tuning.verdicts.paired import Paired, compare
from tuning.verdicts.stats import Z_95, t_quantile, wilson

#: Default practical margin of a cheaper runner-up: half a point of accuracy, or this share
#: of the best score for losses and errors.
ACCURACY_MARGIN = 0.005
RELATIVE_MARGIN = 0.01


@dataclass(frozen=True)
class Statement:
    """The score stated for the recommendation, its 95% interval and how it was measured."""

    score: float
    low: float
    high: float
    measured_on: str
    runs: int
    rows: int
    honest: bool  # free of the selection's luck (fresh runs on rows never ranked on)


@dataclass(frozen=True)
class RunnerUp:
    trial_id: str
    score: float
    wall_s: float
    paired: Paired | None  # None where the run kept no predictions to pair


@dataclass(frozen=True)
class Choice:
    trial_id: str
    statement: Statement | None
    #: Paired comparison of every other top-budget trial with the pick, by trial id.
    paired: dict[str, Paired]
    tied: tuple[str, ...]
    tie_test: str
    runner_up: RunnerUp | None
    margin: float
    #: Why the pick is not the first-ranked trial (empty when it is).
    reason: str = ""
    #: Mean objective of each re-run candidate over all its runs, and the run count.
    candidates: tuple[tuple[str, float, int], ...] = ()


def margin_for(spec: Spec, best_score: float) -> float:
    """The practical margin: the spec's, or half a point of accuracy / 1% of a loss."""
    if spec.search.margin is not None:
        return float(spec.search.margin)
    if spec.search.goal.quantity == "accuracy":
        return ACCURACY_MARGIN
    return RELATIVE_MARGIN * abs(best_score) if math.isfinite(best_score) else 0.0


def choose(frame: pd.DataFrame, run_dir: Path, spec: Spec, info: dict) -> Choice | None:
    """The recommendation from a ranked frame (see `table.rank`); None when nothing scored."""
    top = frame[frame["rank"].notna() & frame["top"]]
    if top.empty:
        return None
    objective = spec.search.objective
    maximise = spec.search.goal.maximise
    paired_on = spec.search.goal.on(HOLDOUT)
    labels = predictions.load_labels(run_dir)
    confirmations = read_confirmations(run_dir)

    def rows_of(trial_id: str, part: str = "holdout", runs: str = "all"):
        """Per-row values of a trial: its own executions ("own"), its fresh re-runs
        ("fresh"), or both ("all"), stacked runs x rows."""
        records = ([f"trial_{trial_id}"] if runs != "fresh" else []) + (
            confirmations.get(trial_id, []) if runs != "own" else [])
        stacks = [predictions.per_row(predictions.load(run_dir, r), labels, paired_on.column,
                                      part)
                  for r in records]
        stacks = [s for s in stacks if s is not None]
        return np.vstack(stacks) if stacks else None

    first = str(top.iloc[0][TRIAL_ID])
    pick, reason, candidates = first, "", ()
    rerun = [t for t in top[TRIAL_ID].astype(str) if confirmations.get(t)]
    if rerun:
        means = []
        for trial_id in rerun:
            values = rows_of(trial_id)
            if values is not None:
                means.append((trial_id, float(values.mean()), len(values)))
        if means:
            candidates = tuple(means)
            pick = (max if maximise else min)(means, key=lambda m: m[1])[0]
            if pick != first:
                reason = (f"trial {first} ranked first on its own run, but over "
                          f"{dict((m[0], m[2]) for m in means)[pick]} runs each trial {pick} "
                          f"did best of the {len(means)} re-run configurations")
    # Ties compare the search's own runs, as the ranking did; re-runs only choose the pick.
    best_rows = rows_of(pick, runs="own")
    paired: dict[str, Paired] = {}
    if best_rows is not None:
        for trial_id in top[TRIAL_ID].astype(str):
            other = rows_of(trial_id, runs="own") if trial_id != pick else None
            if other is not None and other.shape[1] == best_rows.shape[1]:
                paired[trial_id] = compare(best_rows, other, paired_on.quantity)
    methods = sorted({p.method for p in paired.values()})
    tie_test = " / ".join(methods) if methods else "overlapping 95% intervals (no predictions)"
    if paired:
        tied = tuple(t for t, p in paired.items() if not p.distinguishable)
    else:
        tied = tuple(str(t) for t in top[TRIAL_ID][top["tied"].astype(bool)]
                     if str(t) != pick)
    pick_row = top[top[TRIAL_ID].astype(str) == pick].iloc[0]
    margin = margin_for(spec, float(pick_row[objective]))
    statement = _statement(rows_of, pick, pick_row, top, spec, info, labels, confirmations)
    runner = _runner_up(top, pick_row, paired, tied, margin, objective, maximise)
    return Choice(pick, statement, paired, tied, tie_test, runner, margin, reason, candidates)


def _runner_up(top: pd.DataFrame, pick: pd.Series, paired: dict[str, Paired],
               tied: tuple[str, ...], margin: float, objective: str,
               maximise: bool) -> RunnerUp | None:
    """The cheapest tied trial that gives up at most `margin` of the objective."""
    wall = pd.to_numeric(top[WALL_S], errors="coerce")
    best_wall = float(pick.get(WALL_S, np.nan))
    options = []
    for trial_id in tied:
        row = top[top[TRIAL_ID].astype(str) == trial_id].iloc[0]
        loss = (pick[objective] - row[objective]) * (1 if maximise else -1)
        time = float(wall.loc[row.name])
        if loss <= margin + 1e-12 and math.isfinite(time) and time < best_wall:
            options.append((time, trial_id, float(row[objective])))
    if not options:
        return None
    time, trial_id, score = min(options)
    return RunnerUp(trial_id, score, time, paired.get(trial_id))


def _statement(rows_of, pick: str, pick_row: pd.Series, top: pd.DataFrame, spec: Spec,
               info: dict, labels: dict, confirmations: dict) -> Statement:
    """The pick's score without the selection's luck where the run allows it."""
    quantity = spec.search.goal.quantity
    fresh = len(confirmations.get(pick, []))
    part = "test" if "test" in labels else "holdout"
    values = (rows_of(pick, part, "fresh" if fresh else "own") if fresh or part == "test"
              else None)
    seed_sd, dof = _seed_spread(rows_of, list(top[TRIAL_ID].astype(str)), confirmations,
                                part)
    what = {"accuracy": "accuracy", "loss": "loss", "mae": "mean absolute error",
            "mse": "mean squared error"}[quantity]
    if values is None:  # no predictions kept: the search's own score and interval
        score = float(pick_row[spec.search.objective])
        return Statement(score, float(pick_row["low"]), float(pick_row["high"]),
                         f"trial {pick}'s own {spec.search.objective}, the score that ranked "
                         "it first: it carries the selection's luck (set data.test above 0 and "
                         "search.confirm_runs above 0 to state it without)",
                         _count(pick_row.get(EXECUTIONS), 1), _count(info.get("n_holdout"), 0),
                         False)
    score, low, high = interval(values, quantity, seed_sd, dof)
    n_rows, n_runs = values.shape[1], values.shape[0]
    rows = (f"the {n_rows} test rows, which no trial was ranked or selected on" if part == "test"
            else f"the {n_rows} holdout rows, which also ranked the trials (so it may still "
                 "be optimistic; set data.test to state it on unseen rows)")
    if fresh:
        runs = (f"{what} of {n_runs} fresh training run(s) of trial {pick}'s configuration "
                "(new seeds, trained after the search)")
    else:
        why = ("they have not finished yet" if spec.search.confirm_runs
               else "search.confirm_runs = 0")
        runs = (f"{what} of trial {pick}'s own run (no fresh runs: {why}, "
                "so it keeps the luck of the seed that made it win)")
    spread = (f"; the interval adds the seed-to-seed spread measured over {dof} degree(s) of "
              "freedom" if dof else "; the interval covers the rows' sampling only (no "
              "configuration ran twice to measure the seeds' spread)")
    return Statement(score, low, high, f"{runs}, on {rows}{spread}", n_runs, n_rows,
                     bool(fresh) and part == "test")


def _count(value, default: int) -> int:
    return int(value) if value is not None and pd.notna(value) else default


def _seed_spread(rows_of, trial_ids: list[str], confirmations: dict,
                 part: str) -> tuple[float, int]:
    """Pooled seed-to-seed standard deviation of a run's score on `part`, and its degrees of
    freedom, from configurations that ran more than once (fresh runs, repeats)."""
    squares, dof = 0.0, 0
    for trial_id in trial_ids:
        fresh = part == "test" and trial_id in confirmations
        values = rows_of(trial_id, part, "fresh" if fresh else "all")
        if values is None or len(values) < 2:
            continue
        scores = values.mean(axis=1)
        squares += float(np.sum((scores - scores.mean()) ** 2))
        dof += len(scores) - 1
    return (math.sqrt(squares / dof), dof) if dof else (0.0, 0)


def interval(values: np.ndarray, quantity: str, seed_sd: float,
             dof: int) -> tuple[float, float, float]:
    """Mean of per-row values (runs x rows) and a 95% interval for the configuration's mean.

    Two sources of error add: the rows are a sample (a Wilson interval for an accuracy, the
    per-row spread otherwise) and each run's seed (the measured seed spread over √runs,
    with a t quantile for its few degrees of freedom).
    """
    values = np.atleast_2d(values)
    runs, n = values.shape
    score = float(values.mean())
    if quantity == "accuracy":
        low, high = (float(v[0]) for v in wilson(np.array([score]), np.array([n])))
    else:
        half = Z_95 * float(values.mean(axis=0).std(ddof=1)) / math.sqrt(n) if n > 1 else np.inf
        low, high = score - half, score + half
    seed_half = t_quantile(dof) * seed_sd / math.sqrt(runs) if dof else 0.0
    low = score - math.hypot(score - low, seed_half)
    high = score + math.hypot(high - score, seed_half)
    if quantity == "accuracy":
        low, high = max(0.0, low), min(1.0, high)
    return score, low, high

