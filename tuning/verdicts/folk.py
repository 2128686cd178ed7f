"""The two folk rules, judged on this run's evidence through `tuning.verdicts.rules`.

"Out of memory? raise steps_per_epoch" claims peak memory falls as steps_per_epoch rises;
"overfitting? lower steps_per_epoch" claims the gap between validation and training loss
rises with it. Each gets held / did not hold / cannot tell with one sentence of evidence.
Memory is judged against its own measured noise (the same configuration trained again, or
the same batch of the same model), since a CPU's resident peak jumps by megabytes whatever
the batch. Overfitting is compared at equal samples seen, never per epoch, and only when the
validation loss turned at all.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from tuning.records.confirmations import read_confirm_rows
from tuning.records.status import Status
from tuning.records.trials import (
    BATCH_SIZE,
    BEST_EPOCH,
    EPOCHS_RUN,
    PEAK_MEMORY_MB,
    STATUS,
    STEPS_PER_EPOCH,
    TRAIN_LOSS_END,
    TRIAL_ID,
    WORKER_TRIAL,
)
from tuning.verdicts.ranking import Run
from tuning.verdicts.rules import (
    CANNOT_TELL,
    Judged,
    Verdict,
    judge_rule,
    pooled_sd,
    rule_noise,
)
from tuning.verdicts.text import fmt

#: Above this share of trials still improving at their last epoch, overfitting cannot show.
STILL_IMPROVING = 0.5
MEMORY_RULE = '"out of memory? raise steps_per_epoch"'
OVERFITTING_RULE = '"overfitting? lower steps_per_epoch"'


def judge_rules(run: Run) -> dict[str, Judged]:
    """{"memory": ..., "overfitting": ...} for this run; each says what pruning left out."""
    judged = {"memory": judge_memory(run), "overfitting": judge_overfitting(run)}
    pruned = int(run.trials[STATUS].eq(Status.PRUNED).sum())
    if not pruned:
        return judged
    left_out = (f" {pruned} pruned trial(s) are left out: search.prune stopped them where "
                "they trailed their peers at equal samples seen, so the rule reads only the "
                "trials that kept up")
    censored = {"memory": left_out + ".",
                "overfitting": left_out + ", and no curve past where a trial stopped."}
    return {name: replace(j, verdict=replace(j.verdict, evidence=j.verdict.evidence.rstrip(".")
                                             + "." + censored[name]))
            for name, j in judged.items()}


def cells(run: Run, frame: pd.DataFrame) -> np.ndarray:
    """Group label of each trial: equal in every searched value but steps_per_epoch (and
    the batch size it sets), and in budget, so only steps_per_epoch varies within a group."""
    others = [n for n in run.hp_names if n not in ("steps_per_epoch", "batch_size")
              and n in frame]
    keys = [*others, "budget"] if "budget" in frame else others
    if not keys:
        return np.zeros(len(frame), dtype=int)
    return frame[keys].apply(lambda row: "|".join(map(str, row)), axis=1).to_numpy()


def after_first(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The trials that were not their worker process's first, and how many were left out.

    A worker's first training pays TensorFlow's and Keras's first-use allocations, several
    MiB of peak memory that would read as an effect of its batch (a grid's first trials are
    its largest batches). When every trial was a first, all are kept."""
    if WORKER_TRIAL not in frame:
        return frame, 0
    first = pd.to_numeric(frame[WORKER_TRIAL], errors="coerce").eq(1).to_numpy()
    if first.all():
        return frame, 0
    return frame[~first], int(first.sum())


def judge_memory(run: Run) -> Judged:
    ok = run.ok.assign(steps=lambda f: pd.to_numeric(f[STEPS_PER_EPOCH], errors="coerce"),
                       peak=lambda f: pd.to_numeric(f[PEAK_MEMORY_MB], errors="coerce"))
    ok, firsts = after_first(ok.dropna(subset=["steps", "peak"]))
    what = "peak memory per doubling of steps_per_epoch"
    sd, n_repeats = memory_noise(run)
    if sd is None:
        return Judged(Verdict(CANNOT_TELL, (
            f"{what}: the memory measurement's own noise was not measured (no configuration "
            "or batch ran twice), so no change can be told from it; keep "
            "search.confirm_runs above 0 to measure it"), None, None, None, len(ok)))
    noise = rule_noise(sd, ok["steps"])
    left_out = (f"; {firsts} trial(s) left out, each its worker's first, which pays "
                "TensorFlow's first-use memory" if firsts else "")
    judged = _judge(ok, ok["steps"], ok["peak"], cells(run, ok), expect=-1, noise=noise,
                    what=f"peak memory (noise: SD {fmt(sd, 2)} MiB over {n_repeats} repeated "
                         f"measurements{left_out})", unit=" MiB", resolution=True)
    if run.spec.budget.semantics == "stream" and judged.verdict.verdict != CANNOT_TELL:
        verdict = judged.verdict
        judged = replace(judged, verdict=replace(verdict, evidence=verdict.evidence.rstrip(".")
                         + " (with stream semantics the batch size, not steps_per_epoch, "
                           "sets the memory)."))
    return judged


def memory_noise(run: Run) -> tuple[float | None, int]:
    """Pooled standard deviation of peak memory between identical measurements: a trial and
    its fresh re-runs, or trials of the same model with the same batch size."""
    trials, _ = after_first(run.ok)
    groups: list[list[float]] = []
    peaks = dict(zip(trials[TRIAL_ID].astype(str),
                     pd.to_numeric(trials[PEAK_MEMORY_MB], errors="coerce")))
    by_trial: dict[str, list[float]] = {}
    for row in read_confirm_rows(run.path):
        peak = row.get(PEAK_MEMORY_MB)
        first = row.get(WORKER_TRIAL) == 1
        measured = peak is not None and math.isfinite(peak)
        if row.get(STATUS) == Status.OK and not first and measured:
            by_trial.setdefault(row["confirms"], []).append(float(peak))
    for trial_id, fresh in by_trial.items():
        own = peaks.get(trial_id)
        groups.append(fresh + ([float(own)] if own is not None and math.isfinite(own) else []))
    model = [n for n in run.hp_names if n not in ("steps_per_epoch", "validation_split")
             and n in trials]
    same = trials.assign(peak=pd.to_numeric(trials[PEAK_MEMORY_MB], errors="coerce"))
    same = same.dropna(subset=["peak", BATCH_SIZE])
    # Replicates share the model, the batch and steps_per_epoch: under stream semantics the
    # batch is fixed, and grouping by it alone would count the very contrast the rule is
    # about (steps_per_epoch) as noise.
    keys = list(dict.fromkeys([*model, BATCH_SIZE, STEPS_PER_EPOCH]))
    for _, group in same.groupby(keys):
        groups.append(group["peak"].tolist())
    sd, dof = pooled_sd(groups)
    return sd, dof + sum(1 for g in groups if len(g) > 1)


def judge_overfitting(run: Run) -> Judged:
    top = run.ok[run.ok["top"]] if "top" in run.ok else run.ok
    best = pd.to_numeric(top[BEST_EPOCH], errors="coerce")
    last = pd.to_numeric(top.get(EPOCHS_RUN, pd.Series(np.nan, index=top.index)),
                         errors="coerce")
    known = best.notna() & last.notna()
    improving = int((best[known] >= last[known]).sum())
    what = "gap (validation minus training loss) at equal samples seen"
    if known.sum() and improving > STILL_IMPROVING * known.sum():
        epochs = int(last[known].max())
        return Judged(Verdict(CANNOT_TELL, (
            f"{what}: in {improving} of {int(known.sum())} trials the validation loss was "
            f"still falling at the last epoch (best epoch = last), so training stopped before "
            f"overfitting could show; train for about {3 * epochs} epochs "
            f"(budget.epochs = {3 * epochs}) to see where it turns"),
            None, None, None, int(known.sum())))
    gaps, common = gap_at_equal_samples(run, top)
    frame = top.assign(steps=pd.to_numeric(top[STEPS_PER_EPOCH], errors="coerce"),
                       gap_s=gaps).dropna(subset=["steps", "gap_s"])
    sd = _gap_noise(run, dict(zip(top[TRIAL_ID].astype(str), gaps)), common)
    noise = 0.0 if sd is None else rule_noise(sd, frame["steps"])
    judged = _judge(frame, frame["steps"], frame["gap_s"], cells(run, frame), expect=+1,
                    noise=noise, what=what, unit="")
    if sd is not None or judged.verdict.verdict == CANNOT_TELL:
        return judged
    verdict = judged.verdict
    return Judged(replace(verdict, verdict=CANNOT_TELL, evidence=(
        f"{what}: {verdict.effect:+.3g} per doubling (95% interval {verdict.interval[0]:+.3g} "
        f"to {verdict.interval[1]:+.3g}), permutation test p = {verdict.p_value:.3g}, but the "
        "gap's seed-to-seed noise was not measured (no configuration was trained twice), so "
        "the trend cannot be weighed against it; keep search.confirm_runs above 0 to "
        "measure it.")))


def gap_at_equal_samples(run: Run, trials: pd.DataFrame) -> tuple[pd.Series, float]:
    """Each trial's validation-minus-training loss at the largest number of samples seen
    that every one of `trials` reached (interpolated on its own curve), and that number."""
    curves = run.curves
    missing = pd.Series(np.nan, index=trials.index), float("nan")
    if curves.empty or "samples_seen" not in curves:
        return missing
    if "execution" in curves:
        curves = curves[pd.to_numeric(curves["execution"], errors="coerce").fillna(0) == 0]
    by_trial = {str(k): g for k, g in curves.groupby(curves[TRIAL_ID].astype(str))}
    ends = [pd.to_numeric(by_trial[t]["samples_seen"]).max()
            for t in trials[TRIAL_ID].astype(str) if t in by_trial]
    if not ends:
        return missing
    common = float(min(ends))
    return pd.Series([_interpolated_gap(by_trial.get(t), common)
                      for t in trials[TRIAL_ID].astype(str)], index=trials.index), common


def _interpolated_gap(curve: pd.DataFrame | None, samples: float) -> float:
    """The gap at `samples` seen, between the epochs around it on the trial's own curve.

    The training side is `train_loss_end` (measured at each epoch's end, in inference mode
    as the validation loss is) where the run recorded it; Keras's `loss`, the mean over the
    epoch, only for runs made before it was recorded."""
    if curve is None:
        return float("nan")
    end = pd.to_numeric(curve.get(TRAIN_LOSS_END, pd.Series(np.nan, index=curve.index)),
                        errors="coerce")
    training = end if end.notna().any() else pd.to_numeric(curve["loss"], errors="coerce")
    curve = curve.assign(gap=pd.to_numeric(curve["val_loss"], errors="coerce") - training)
    curve = curve.dropna(subset=["gap", "samples_seen"]).sort_values("samples_seen")
    seen = curve["samples_seen"].to_numpy(dtype=float)
    if curve.empty or not seen[0] <= samples <= seen[-1]:
        return float("nan")  # never extrapolated: outside its curve a trial has no gap here
    return float(np.interp(samples, seen, curve["gap"].to_numpy(dtype=float)))


def _gap_noise(run: Run, gaps: dict[str, float], common: float) -> float | None:
    """Seed-to-seed SD of the gap at equal samples: each trial beside its fresh re-runs;
    None where no configuration was trained twice (unmeasured, not zero)."""
    by_trial: dict[str, list[float]] = {}
    for row in read_confirm_rows(run.path):
        if row.get(STATUS) == Status.OK and row["curves"] and math.isfinite(common):
            gap = _interpolated_gap(pd.DataFrame(row["curves"]), common)
            if math.isfinite(gap):
                by_trial.setdefault(row["confirms"], []).append(gap)
    for trial_id, values in by_trial.items():
        own = gaps.get(trial_id)
        values += [own] if own is not None and math.isfinite(own) else []
    return pooled_sd(by_trial.values())[0]


def _judge(frame: pd.DataFrame, x: pd.Series, y: pd.Series, groups: np.ndarray, *,
           expect: int, noise: float, what: str, unit: str, resolution: bool = False) -> Judged:
    """`judge_rule` over the trials of `frame`, each named by its trial id."""
    return judge_rule(x.to_numpy(dtype=float), y.to_numpy(dtype=float), expect=expect,
                      noise=noise, groups=groups, ids=frame[TRIAL_ID].astype(str).to_numpy(),
                      what=what, unit=unit, resolution=resolution)
