"""From run directories to tidy tables: one row per trial, one per trial and epoch.

Everything the findings state is read from the runs' trials.csv and curves.csv here; the
comparisons pick points on the curves where trials with different steps_per_epoch stand at
the same epoch, the same number of updates, or the same number of samples seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from study.design import Experiment
from tuning.records.trials import TRAIN_LOSS_END, read_table

#: What an empty run's tables hold, so that every measure finds its columns.
TRIAL_COLUMNS = ("trial_id", "status", "steps_per_epoch", "batch_size",
                 "effective_steps_per_epoch", "epochs_run", "updates", "samples_seen",
                 "peak_memory_mb", "memory_budget_mb")
CURVE_COLUMNS = ("trial_id", "epoch", "updates", "samples_seen", "loss", "val_loss")
#: The three ways of lining trials up: the curves' column, and how the findings name it.
AXES = {"epoch": "equal epochs", "updates": "equal updates", "samples_seen": "equal samples seen"}


@dataclass(frozen=True)
class Measured:
    """The study's runs of one experiment, every seed together."""

    experiment: Experiment
    trials: pd.DataFrame   # one row per trial, with `seed`
    curves: pd.DataFrame   # one row per ok trial and epoch, with `seed`, `gap`, the trial's
                           # steps_per_epoch and batch_size

    @property
    def ok(self) -> pd.DataFrame:
        return self.trials[self.trials["status"].eq("ok")]

    @property
    def seeds(self) -> list[int]:
        return sorted(self.trials["seed"].unique()) if len(self.trials) else []


def load(experiment: Experiment, results: Path) -> Measured:
    """Read the run of `experiment` (empty tables when it has not run yet)."""
    run_dir = results / experiment.key
    trials = read_table(run_dir / "trials.csv")
    if trials.empty:
        trials = pd.DataFrame(columns=[*TRIAL_COLUMNS, "seed"])
        curves = pd.DataFrame(columns=[*CURVE_COLUMNS, "seed", "steps_per_epoch",
                                       "batch_size", "gap"])
        return Measured(experiment, trials, curves)
    trials = trials.assign(seed=trials["replicate"])
    curves = read_table(run_dir / "curves.csv")
    keep = trials.loc[trials["status"].eq("ok"),
                      ["trial_id", "seed", "steps_per_epoch", "batch_size"]]
    curves = curves.merge(keep, on="trial_id")
    # The training loss at each epoch's end where the runs recorded it (see
    # docs/run-directory.md), Keras's epoch mean for runs made before.
    end = curves[TRAIN_LOSS_END] if TRAIN_LOSS_END in curves else curves["loss"] * np.nan
    training = end if end.notna().any() else curves["loss"]
    return Measured(experiment, trials, curves.assign(gap=curves["val_loss"] - training))


def best_epochs(measured: Measured) -> pd.DataFrame:
    """Per ok trial: the epoch of lowest validation loss, its updates and samples, and
    whether the validation loss turned at all (best before the last epoch)."""
    curves = measured.curves
    if curves.empty:
        return pd.DataFrame(columns=["trial_id", "seed", "steps_per_epoch", "best_epoch",
                                     "best_updates", "best_samples", "epochs_run", "turned"])
    best = curves.loc[curves.groupby("trial_id")["val_loss"].idxmin()]
    last = curves.groupby("trial_id")["epoch"].max().rename("epochs_run")
    best = best.merge(last, left_on="trial_id", right_index=True)
    return pd.DataFrame({
        "trial_id": best["trial_id"], "seed": best["seed"],
        "steps_per_epoch": best["steps_per_epoch"], "batch_size": best["batch_size"],
        "best_epoch": best["epoch"], "best_updates": best["updates"],
        "best_samples": best["samples_seen"], "epochs_run": best["epochs_run"],
        "turned": best["epoch"] < best["epochs_run"],
    }).reset_index(drop=True)


@dataclass(frozen=True)
class Point:
    """Where trials are compared: `axis` = `value`, reached by `steps` (steps_per_epoch)."""

    axis: str
    value: float
    steps: tuple[int, ...]
    rows: pd.DataFrame    # one curve row per trial that reaches the point

    @property
    def label(self) -> str:
        unit = {"epoch": "epoch", "updates": "updates", "samples_seen": "samples seen"}
        return (f"at {unit[self.axis]} {self.value:,.0f}" if self.axis != "epoch"
                else f"at epoch {self.value:.0f}")


def equal_point(measured: Measured, axis: str, at_least: int = 3) -> Point | None:
    """The furthest point along `axis` that trials with at least `at_least` different
    steps_per_epoch (all of them, when fewer were searched) reach in every seed that trained
    them.

    The curves are read at epoch ends only, so the point is a value the curves hold
    exactly; nothing is interpolated."""
    curves = measured.curves
    if curves.empty:
        return None
    need = min(at_least, curves["steps_per_epoch"].nunique())
    seeds = curves.groupby("steps_per_epoch")["seed"].nunique()  # seeds with an ok trial
    reach = curves.groupby([axis, "steps_per_epoch"])["seed"].nunique().reset_index()
    full = reach[reach["seed"].to_numpy() == seeds.loc[reach["steps_per_epoch"]].to_numpy()]
    counts = full.groupby(axis)["steps_per_epoch"].nunique()
    candidates = counts[counts >= need].index
    if len(candidates) == 0:
        return None
    value = float(np.max(candidates))
    steps = tuple(sorted(int(s) for s in full.loc[full[axis] == value, "steps_per_epoch"]))
    rows = curves[(curves[axis] == value) & curves["steps_per_epoch"].isin(steps)]
    return Point(axis, value, steps, rows.reset_index(drop=True))


def memory_needed(measured: Measured) -> pd.DataFrame:
    """Per trial that ran: its peak memory, or for one that ran out, the budget (what it
    needed is at least that). Trials skipped by the frontier were never measured."""
    trials = measured.trials
    ran = trials[trials["status"].isin(["ok", "oom"])].copy()
    ran["needed_mb"] = np.where(ran["status"].eq("oom"), ran["memory_budget_mb"],
                                ran["peak_memory_mb"])
    return ran.dropna(subset=["needed_mb"]).reset_index(drop=True)
