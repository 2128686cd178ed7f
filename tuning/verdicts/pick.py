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
from tuning.verdicts.paired import Paired, compare, holm
from tuning.verdicts.stats import (
    NO_SEED_SPREAD,
    Z_95,
    SeedSpread,
    seed_spread,
    t_quantile,
    wilson,
)

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
    #: What it gives up at most, at 95% confidence (an equivalence bound, below the margin).
    worst_case: float


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
        """Per-row values of a trial, stacked runs x rows: its own executions ("own"), those
        and the fresh re-runs that choose among configurations ("choose"), the fresh re-runs
        that state the score ("state"), or every run ("all")."""
        choose_on, state_on = split_fresh(confirmations.get(trial_id, []))
        records = {"own": [f"trial_{trial_id}"], "choose": [f"trial_{trial_id}", *choose_on],
                   "state": state_on,
                   "all": [f"trial_{trial_id}", *choose_on, *state_on]}[runs]
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
            values = rows_of(trial_id, runs="choose")
            if values is not None:
                means.append((trial_id, float(values.mean()), len(values)))
        if means:
            candidates = tuple(means)
            pick = (max if maximise else min)(means, key=lambda m: m[1])[0]
            if pick != first:
                reason = (f"trial {first} ranked first on its own run, but over "
                          f"{dict((m[0], m[2]) for m in means)[pick]} runs each trial {pick} "
                          f"did best of the {len(means)} re-run configurations")
    # Ties compare the search's own runs, as the ranking did; re-runs only choose the pick,
    # and measure how far two seeds of one configuration differ on the holdout rows.
    best_rows = rows_of(pick, runs="own")
    seeds = _seed_spread(rows_of, list(top[TRIAL_ID].astype(str)), confirmations,
                         "holdout")
    paired: dict[str, Paired] = {}
    if best_rows is not None:
        for trial_id in top[TRIAL_ID].astype(str):
            other = rows_of(trial_id, runs="own") if trial_id != pick else None
            if other is not None and other.shape[1] == best_rows.shape[1]:
                paired[trial_id] = compare(best_rows, other, paired_on.quantity, seeds)
        paired = holm(paired)
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


def split_fresh(records: list[str]) -> tuple[list[str], list[str]]:
    """A configuration's fresh re-runs cut in two: the first half (rounded down) joins its
    own run in choosing among the re-run configurations, the rest state the pick's score.

    Choosing and stating on the same runs biases the stated score upward: a lucky seed looks
    better on the test rows as well as on the holdout rows. With one fresh run, the search's
    own ranking chooses and the fresh run only states."""
    cut = len(records) // 2
    return records[:cut], records[cut:]


def _runner_up(top: pd.DataFrame, pick: pd.Series, paired: dict[str, Paired],
               tied: tuple[str, ...], margin: float, objective: str,
               maximise: bool) -> RunnerUp | None:
    """The cheapest tied trial shown to give up at most `margin` of the objective.

    Not being significantly worse is no evidence of being about as good: the offer needs an
    equivalence test. With predictions to pair, the one-sided 95% bound of what it gives up
    (`Paired.worst_case`) must be within the margin; without them, its own interval's far
    end must be."""
    wall = pd.to_numeric(top[WALL_S], errors="coerce")
    best_wall = float(pick.get(WALL_S, np.nan))
    options = []
    for trial_id in tied:
        row = top[top[TRIAL_ID].astype(str) == trial_id].iloc[0]
        if trial_id in paired:
            worst = paired[trial_id].worst_case(maximise)
        else:
            far = row.get("low" if maximise else "high", np.nan)
            worst = (pick[objective] - far) * (1 if maximise else -1)
        time = float(wall.loc[row.name])
        if worst <= margin + 1e-12 and math.isfinite(time) and time < best_wall:
            options.append((time, trial_id, float(row[objective]), float(worst)))
    if not options:
        return None
    time, trial_id, score, worst = min(options)
    return RunnerUp(trial_id, score, time, paired.get(trial_id), worst)


def _statement(rows_of, pick: str, pick_row: pd.Series, top: pd.DataFrame, spec: Spec,
               info: dict, labels: dict, confirmations: dict) -> Statement:
    """The pick's score without the selection's luck where the run allows it."""
    quantity = spec.search.goal.quantity
    fresh = len(confirmations.get(pick, []))
    part = "test" if "test" in labels else "holdout"
    values = (rows_of(pick, part, "state" if fresh else "own") if fresh or part == "test"
              else None)
    seeds = _seed_spread(rows_of, list(top[TRIAL_ID].astype(str)), confirmations, part)
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
    score, low, high = interval(values, quantity, seeds)
    n_rows, n_runs = values.shape[1], values.shape[0]
    rows = (f"the {n_rows} test rows, which no trial was ranked or selected on" if part == "test"
            else f"the {n_rows} holdout rows, which also ranked the trials (so it may still "
                 "be optimistic; set data.test to state it on unseen rows)")
    if fresh:
        runs = (f"{what} of {n_runs} fresh training run(s) of trial {pick}'s configuration "
                "(new seeds, trained after the search, none of them used to choose it)")
    else:
        why = ("they have not finished yet" if spec.search.confirm_runs
               else "search.confirm_runs = 0")
        runs = (f"{what} of trial {pick}'s own run (no fresh runs: {why}, "
                "so it keeps the luck of the seed that made it win)")
    spread = (f"; the interval adds the seed-to-seed spread measured over {seeds.dof} degree(s) of "
              "freedom" if seeds.dof else "; the interval covers the rows' sampling only (no "
              "configuration ran twice to measure the seeds' spread)")
    return Statement(score, low, high, f"{runs}, on {rows}{spread}", n_runs, n_rows,
                     bool(fresh) and part == "test")


def _count(value, default: int) -> int:
    return int(value) if value is not None and pd.notna(value) else default


def _seed_spread(rows_of, trial_ids: list[str], confirmations: dict,
                 part: str) -> SeedSpread:
    """The seed spread of the configurations that ran more than once (fresh runs, repeats)
    on `part`.

    On the test rows a re-run configuration adds its runs that chose and those that state as
    two groups, each spread about its own mean. A spread about a mean says nothing about that
    mean; a spread across the two groups would: a stated run far from the run beside it
    would widen its own interval, which would then cover more often than it says."""
    stacks = []
    for trial_id in trial_ids:
        groups = (["choose", "state"] if part == "test" and trial_id in confirmations
                  else ["all"])
        for runs in groups:
            values = rows_of(trial_id, part, runs)
            if values is not None and len(values) >= 2:
                stacks.append(values)
    return seed_spread(stacks)


def interval(values: np.ndarray, quantity: str,
             seeds: SeedSpread = NO_SEED_SPREAD) -> tuple[float, float, float]:
    """Mean of per-row values (runs x rows) and a 95% interval for the configuration's mean.

    Two sources of error add as variances: the rows are a sample (for an accuracy a Wilson
    interval, on the rows' effective count when several runs average each row; otherwise
    the spread of the per-row means) and each run's seed (the measured seed variance over
    the runs), with a t quantile on the Welch-Satterthwaite degrees of freedom of the sum.
    """
    values = np.atleast_2d(values)
    runs, n = values.shape
    score = float(values.mean())
    row_means = values.mean(axis=0)
    if quantity == "accuracy":
        spread = float(row_means.var(ddof=1)) if n > 1 else 0.0
        n_eff = n * score * (1 - score) / spread if spread > 0 else n
        low, high = (float(v[0]) for v in wilson(np.array([score]), np.array([n_eff])))
    else:
        half = Z_95 * float(row_means.std(ddof=1)) / math.sqrt(n) if n > 1 else np.inf
        low, high = score - half, score + half

    def widened(row_half: float) -> float:
        total, dof = seeds.added_to((row_half / Z_95) ** 2, math.inf, 1 / runs)
        return row_half if not math.isfinite(dof) else t_quantile(dof) * math.sqrt(total)

    low, high = score - widened(score - low), score + widened(high - score)
    if quantity == "accuracy":
        low, high = max(0.0, low), min(1.0, high)
    return score, low, high
