"""The numbers behind each verdict, computed apart from any drawing or writing.

Every verdict comes from `tuning.verdicts.rules.judge_rule`, the report's own judge: an
effect per doubling of steps_per_epoch, a 95% t interval over the seeds' own slopes, a
permutation test within seeds, the noise as the report measures it (1.96·√2 times the pooled
standard deviation of repeated measurements, here the seeds of one setting), "cannot tell"
inside a measurement's resolution, and "cannot tell" where one trial alone decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from study.measures import AXES, Measured, Point, best_epochs, equal_point, memory_needed
from tuning.verdicts.rules import (
    CANNOT_TELL,
    DID_NOT_HOLD,
    HELD,
    Verdict,
    judge_rule,
    noise_per_doubling,
    pooled_sd,
    rule_noise,
)

#: What changes when steps_per_epoch doubles, by semantics and by how trials are lined up.
CHANGES = {
    ("partition", "epoch"): "more updates, smaller batches (the same samples)",
    ("partition", "samples_seen"): "more updates, smaller batches (the same as equal epochs: "
                                   "an epoch is one pass)",
    ("partition", "updates"): "smaller batches, fewer samples seen",
    ("stream", "epoch"): "more updates, more samples (the batch is fixed)",
    ("stream", "updates"): "nothing but where the epochs end (same batch, same samples)",
    ("stream", "samples_seen"): "nothing but where the epochs end (the same as equal updates)",
}


@dataclass(frozen=True)
class Comparison:
    """One verdict: what was compared, where, and what the rule machinery said."""

    experiment: str
    semantics: str
    axis: str            # a key of AXES, or "best_epoch", "memory"
    where: str           # the point or the trials compared, in words
    changes: str         # what else changes with steps_per_epoch there
    verdict: Verdict


def _judge(frame: pd.DataFrame, column: str, *, expect: int, what: str, unit: str,
           groups: list[str], replicates: list[str], resolution: bool = False,
           floor: float = 0.0, repeated: str | None = None) -> Verdict:
    """`judge_rule` over `frame`, groups of rows equal in `groups` (seeds, at least).

    The noise is the report's: from the pooled standard deviation of `repeated` (default
    `column`) over the rows equal in `replicates` (the seeds of one setting), or the
    measurement's resolution `floor` where larger. With no setting measured twice the noise
    is unmeasured, not zero: "cannot tell", as the report says."""
    x = frame["steps_per_epoch"].to_numpy(float)
    repeated = repeated or column
    replicated = frame.dropna(subset=[repeated])
    sd, _ = pooled_sd(g[repeated].to_numpy(float) for _, g in replicated.groupby(replicates))
    if sd is None:
        return Verdict(CANNOT_TELL, f"{what}: the noise was not measured (no setting ran "
                       "with two or more seeds), so no change can be told from it.", None, None,
                       None, len(frame))
    noise = max(rule_noise(sd, x), noise_per_doubling(floor, x)) if len(x) else 0.0
    noise = noise if np.isfinite(noise) else 0.0
    keys = frame[groups].astype(str).agg("/".join, axis=1) if len(frame) else []
    return judge_rule(x, frame[column].to_numpy(float), expect=expect, noise=noise,
                      groups=np.asarray(keys), ids=frame["trial_id"].astype(str).to_numpy(),
                      what=what, unit=unit, resolution=resolution).verdict


def gap_at(measured: Measured, axis: str) -> Comparison:
    """Does the gap (validation minus training loss) widen with steps_per_epoch, with the
    trials lined up at the same epoch, updates or samples seen?"""
    e = measured.experiment
    point: Point | None = equal_point(measured, axis)
    if point is None:
        verdict = Verdict(CANNOT_TELL, f"no point {AXES[axis]} is reached by two or more "
                          "steps_per_epoch in every seed; train longer", None, None, None, 0)
        return Comparison(e.key, e.semantics, axis, "nowhere", CHANGES[(e.semantics, axis)],
                          verdict)
    rows = point.rows
    verdict = _judge(rows, "gap", expect=+1, unit="", groups=["seed"],
                     what=f"gap {point.label}, steps_per_epoch {_listed(point.steps)}",
                     replicates=["steps_per_epoch"])
    return Comparison(e.key, e.semantics, axis, point.label, CHANGES[(e.semantics, axis)],
                      verdict)


def best_epoch(measured: Measured) -> Comparison:
    """Does the validation loss turn at an earlier epoch as steps_per_epoch rises?"""
    e = measured.experiment
    best = best_epochs(measured)
    verdict = _judge(best, "best_epoch", expect=-1, unit=" epochs", groups=["seed"],
                     what="best epoch", replicates=["steps_per_epoch"], resolution=True,
                     floor=1.0)
    turned = int(best["turned"].sum())
    return Comparison(e.key, e.semantics, "best_epoch",
                      f"{turned} of {len(best)} trials turned before their last epoch",
                      "the epoch of lowest validation loss", verdict)


def memory(measured: Measured) -> Comparison:
    """Does raising steps_per_epoch lower the memory a trial needs under the budget?"""
    e = measured.experiment
    needed = memory_needed(measured)
    groups = ["seed", "batch_size"] if e.semantics == "stream" else ["seed"]
    # A trial out of memory measured only the budget: its replicates are the ok trials'.
    needed = needed.assign(replicate_mb=needed["needed_mb"].where(needed["status"].eq("ok")))
    verdict = _judge(needed, "needed_mb", expect=-1, unit=" MiB", groups=groups,
                     what="memory needed (peak; the budget for a trial out of memory)",
                     replicates=["steps_per_epoch", "batch_size"], resolution=True,
                     repeated="replicate_mb")
    counts = measured.trials["status"].value_counts()
    where = ", ".join(f"{n} {status}" for status, n in counts.items())
    changes = ("the batch shrinks as steps_per_epoch rises" if e.semantics == "partition"
               else "the batch stays as set; steps_per_epoch only counts batches")
    return Comparison(e.key, e.semantics, "memory", where, changes, verdict)


@dataclass(frozen=True)
class BoundCheck:
    """"Whichever of epochs and steps ends first decides": checked trial by trial."""

    trials: int
    agreeing: int
    by_max_steps: int
    table: pd.DataFrame    # per steps_per_epoch: asked, ran, epochs run, bound

    @property
    def verdict(self) -> str:
        if self.trials == 0 or self.by_max_steps == 0:
            return CANNOT_TELL
        return HELD if self.agreeing == self.trials else DID_NOT_HOLD


def lower_bound(measured: Measured) -> BoundCheck:
    """Compare each ok trial's updates with min(epochs x steps per epoch, max_steps).

    Counting updates has no noise, so this is a count, not a test: one trial off would
    refute the claim."""
    e = measured.experiment
    ok = measured.ok
    asked = e.epochs * ok["effective_steps_per_epoch"]
    bound = asked.clip(upper=e.max_steps) if e.max_steps else asked
    table = pd.DataFrame({
        "steps_per_epoch": ok["steps_per_epoch"], "epochs x steps": asked,
        "max_steps": e.max_steps, "updates run": ok["updates"], "epochs run": ok["epochs_run"],
        "samples seen": ok["samples_seen"],
        "bound": np.where(asked > (e.max_steps or np.inf), "max_steps", "epochs"),
    }).drop_duplicates().sort_values("steps_per_epoch").reset_index(drop=True)
    return BoundCheck(len(ok), int((ok["updates"] == bound).sum()),
                      int((asked > (e.max_steps or np.inf)).sum()), table)


def _listed(steps: tuple[int, ...]) -> str:
    return ", ".join(str(s) for s in steps)


@dataclass(frozen=True)
class Numbers:
    """Everything the findings state, computed once."""

    overfitting: list[Comparison]       # gap at equal epochs/updates/samples, per experiment
    best: list[Comparison]              # best epoch, per experiment
    memory: list[Comparison]            # per memory experiment
    bound: BoundCheck | None
    measured: dict[str, Measured]


def compute(measured: dict[str, Measured]) -> Numbers:
    """Every comparison the findings make, for whichever experiments were measured."""
    overfit = [m for m in measured.values() if m.experiment.claim == "overfitting"]
    memory_runs = [m for m in measured.values() if m.experiment.claim == "memory"]
    bounded = next((m for m in overfit if m.experiment.max_steps), None)
    return Numbers(
        overfitting=[gap_at(m, axis) for m in overfit for axis in AXES],
        best=[best_epoch(m) for m in overfit],
        memory=[memory(m) for m in memory_runs],
        bound=lower_bound(bounded) if bounded is not None else None,
        measured=measured,
    )
