"""Warnings an expert would give first, each with what to do about it."""

from __future__ import annotations

import pandas as pd

from tuning.records.trials import (
    BATCH_SIZE,
    BEST_EPOCH,
    EFFECTIVE_STEPS,
    EPOCHS_RUN,
    STEPS_PER_EPOCH,
    TRIAL_ID,
)
from tuning.spec.space import grid_values
from tuning.verdicts.folk import Judged
from tuning.verdicts.ranking import Run
from tuning.verdicts.text import fmt


def warnings(run: Run, rules: dict[str, Judged]) -> list[str]:
    """Every warning for this run, most important first."""
    if run.choice is None:
        return [f"data: {w}" for w in run.info.get("data_warnings", [])]
    pick = run.trials[run.trials[TRIAL_ID].astype(str) == run.choice.trial_id].iloc[0]
    found = [*edges(run, pick), *still_improving(run, pick), *cut_short(run), *cut_by_budget(run)]
    for name, judged in rules.items():
        if judged.decided_by is not None:
            found.append(
                f"the {name} rule would read \"{judged.would_be}\" on all trials, but trial "
                f"{judged.decided_by} alone decides that, so the report says \"cannot tell\"; "
                "run more values or repeats in that part of the grid")
    found += [f"data: {w}" for w in run.info.get("data_warnings", [])]
    return found


def edges(run: Run, pick: pd.Series) -> list[str]:
    """The recommended value of a searched number is the largest or smallest searched."""
    found = []
    for dim in run.spec.search.space:
        values = grid_values(dim) if dim.values or dim.step is not None else dim.endpoints()
        numbers = sorted({float(v) for v in values if isinstance(v, int | float)
                          and not isinstance(v, bool)})
        chosen = pd.to_numeric(pd.Series([pick.get(dim.name)]), errors="coerce").iloc[0]
        if len(numbers) < 3 or pd.isna(chosen):
            continue
        if chosen >= numbers[-1]:
            side, toward = "largest", "upward"
            hint = _beyond(numbers[-1], numbers[-2], dim.name)
        elif chosen <= numbers[0]:
            side, toward = "smallest", "downward"
            hint = _beyond(numbers[0], numbers[1], dim.name)
        else:
            continue
        found.append(f"{dim.name}: the recommended value {fmt(chosen, 4)} is the {side} "
                     f"searched, so the best may lie beyond it; extend the range {toward}"
                     + (f" (e.g. to {fmt(hint, 4)})" if hint is not None else ""))
    return found


def _beyond(edge: float, neighbour: float, name: str) -> float | None:
    """The next value past the edge, on the grid's own scale (ratio or step)."""
    if edge > 0 and neighbour > 0 and max(edge, neighbour) / min(edge, neighbour) >= 1.5:
        value = edge * edge / neighbour
    else:
        value = edge + (edge - neighbour)
    if name == "validation_split" and not 0 < value < 1:
        return None
    return value if value > 0 else None


def still_improving(run: Run, pick: pd.Series) -> list[str]:
    """Most trials (or the pick) reached their lowest validation loss at their last epoch."""
    top = run.ok[run.ok["top"]]
    if EPOCHS_RUN not in top:
        return []
    best = pd.to_numeric(top[BEST_EPOCH], errors="coerce")
    last = pd.to_numeric(top[EPOCHS_RUN], errors="coerce")
    known = best.notna() & last.notna()
    improving = int((best[known] >= last[known]).sum())
    pick_improving = pd.notna(pick.get(BEST_EPOCH)) and pick.get(BEST_EPOCH) >= pick.get(
        EPOCHS_RUN, float("inf"))
    if not known.sum() or (improving * 2 <= known.sum() and not pick_improving):
        return []
    epochs = run.spec.budget.epochs
    who = (f"{improving} of {int(known.sum())} trials"
           + (f", the recommended trial {run.choice.trial_id} among them," if pick_improving
              else ""))
    return [f"still improving: {who} reached their lowest validation loss at their last "
            f"epoch, so longer training may change the ranking; raise budget.epochs (e.g. to "
            f"{2 * epochs}), or use semantics = \"stream\" with budget.max_steps"]


def cut_short(run: Run) -> list[str]:
    """Asked steps_per_epoch the training rows could not give."""
    ok = run.ok
    asked = pd.to_numeric(ok[STEPS_PER_EPOCH], errors="coerce")
    ran = pd.to_numeric(ok[EFFECTIVE_STEPS], errors="coerce")
    batch = pd.to_numeric(ok[BATCH_SIZE], errors="coerce")
    # Rounding the batch up costs a step or two; "cut short by the data" is a batch of one
    # row, or a tenth of the steps asked gone.
    cut = (ran < asked) & ((batch <= 1) | (ran <= 0.9 * asked))
    short = ok[cut]
    found = []
    for steps, group in short.groupby(asked[cut]):
        runs = sorted({int(v) for v in pd.to_numeric(group[EFFECTIVE_STEPS])})
        found.append(
            f"steps_per_epoch = {fmt(steps)} was cut short by the data in {len(group)} trial(s): "
            f"only {', '.join(map(str, runs))} step(s) per epoch ran (batch size "
            f"{fmt(pd.to_numeric(group['batch_size']).min())}); values above that search "
            "nothing new, so lower the range or use semantics = \"stream\"")
    return found


def cut_by_budget(run: Run) -> list[str]:
    """Trials that trained fewer epochs than asked because max_steps ran out first."""
    budget = run.spec.budget
    if not budget.max_steps or EPOCHS_RUN not in run.ok:
        return []
    epochs = pd.to_numeric(run.ok[EPOCHS_RUN], errors="coerce")
    cut = run.ok[epochs < budget.epochs]
    if cut.empty:
        return []
    steps = sorted({int(s) for s in pd.to_numeric(cut[STEPS_PER_EPOCH], errors="coerce")
                    .dropna()})
    return [f"max_steps = {budget.max_steps} stopped {len(cut)} trial(s) before their "
            f"{budget.epochs} epochs (steps_per_epoch {', '.join(map(str, steps))}): they "
            "saw fewer samples than the others, so compare them at equal samples (the curves "
            "plot) before preferring a cheaper one"]
