"""The recommendation: what to use, how sure we are, and whether the folk rules held.

Every sentence is built from the ranked table; nothing here knows what the answer "should"
be. The two folk rules tested come from the usual advice: "out of memory? raise
steps_per_epoch" and "overfitting? lower steps_per_epoch".
"""

from __future__ import annotations

import pandas as pd

from tuning.report.plots.style import fmt
from tuning.report.stats import spearman
from tuning.report.table import MEMORY_FAILURES, Run, oom_frontier

#: A rank correlation weaker than this is reported as no clear relation.
CLEAR_RHO = 0.3
#: A memory change smaller than this fraction is reported as no change.
CLEAR_MEMORY_CHANGE = 0.05


def recommend(run: Run) -> list[str]:
    """The recommendation's paragraphs: the choice, memory, overfitting (each when known)."""
    trials = run.trials
    ranked = trials[trials["rank"].notna()]
    if ranked.empty:
        return [_nothing_scored(trials)]
    choice = [_best(run, ranked.iloc[0]), *_ties(run, ranked)]
    if run.objective.startswith("val_"):
        choice.append(
            f"Ranked on {run.objective}, which each validation_split measures on a different "
            f"validation set; the holdout_{run.metric} column compares all trials on one set."
        )
    paragraphs = [choice, _memory(run), _overfitting(trials)]
    return [" ".join(p) for p in paragraphs if p]


def configuration(row: pd.Series, names: list[str]) -> str:
    """`steps_per_epoch = 8, validation_split = 0.2, batch size 144` for one trial."""
    parts = [f"{name} = {fmt(row.get(name), 4)}" for name in names if name != "batch_size"]
    return ", ".join([*parts, f"batch size {fmt(row.get('batch_size'))}"])


def mean_text(run: Run, row: pd.Series) -> str:
    """`0.953`, or `0.953 ± 0.01` (mean ± standard deviation) when the trial was repeated."""
    text = fmt(row[run.objective], 4)
    if _repeats(run, row):
        text += f" ± {fmt(row[f'{run.objective}_std'], 2)}"
    return text


def score_text(run: Run, row: pd.Series) -> str:
    """The mean text, how many runs it averages, and the 95% interval where there is one."""
    text = mean_text(run, row)
    if _repeats(run, row):
        text += f" (mean ± std of {int(row['executions'])} runs)"
    if pd.notna(row.get("low")):
        text += f" [{fmt(row['low'], 3)}, {fmt(row['high'], 3)}]"
    return text


def _repeats(run: Run, row: pd.Series) -> bool:
    executions = row.get("executions")
    return (pd.notna(executions) and executions > 1
            and pd.notna(row.get(f"{run.objective}_std")))


def _best(run: Run, best: pd.Series) -> str:
    sample = ""
    if run.objective.startswith("holdout_") and run.info.get("n_holdout"):
        sample = f" on the {run.info['n_holdout']}-sample holdout set"
    return (f"Use {configuration(best, run.hp_names)}: trial {best['trial_id']} scored "
            f"{run.objective} = {score_text(run, best)}{sample}, the best of "
            f"{int(run.trials['rank'].notna().sum())} scored trials.")


def _ties(run: Run, ranked: pd.DataFrame) -> list[str]:
    best = ranked.iloc[0]
    tied = ranked.iloc[1:][ranked["tied"].iloc[1:].astype(bool)]
    if tied.empty:
        if pd.isna(best.get("low")):
            return ["The records hold no interval for this objective (a single run of a loss "
                    "says nothing about its own noise), so the ranking is by the score alone."]
        return ["No other trial's interval reaches the best one's: the lead is clear."]
    sentences = [f"{len(tied)} other trial(s) cannot be told apart from it: their 95% "
                 "intervals overlap."]
    wall = pd.to_numeric(tied["wall_s"], errors="coerce")
    cheaper = tied[wall < best.get("wall_s", float("nan"))]
    if not cheaper.empty:
        runner = cheaper.loc[pd.to_numeric(cheaper["wall_s"]).idxmin()]
        saving = 1 - runner["wall_s"] / best["wall_s"]
        sentences.append(
            f"The cheaper choice within the interval is trial {runner['trial_id']} "
            f"({configuration(runner, run.hp_names)}): {run.objective} = "
            f"{score_text(run, runner)} in {fmt(runner['wall_s'], 3)} s instead of "
            f"{fmt(best['wall_s'], 3)} s ({saving:.0%} less time)."
        )
    return sentences


def _memory(run: Run) -> list[str]:
    trials = run.trials
    ok = trials[trials["status"].eq("ok")]
    sentences = []
    failed = trials[trials["status"].isin(MEMORY_FAILURES)]
    if not failed.empty:
        frontier = oom_frontier(trials)
        text = f"{len(failed)} trial(s) ran out of memory or were skipped for it"
        if frontier is not None:
            fits, fails = frontier
            text += f" (from batch size {fmt(fails)} up"
            text += f"; the largest batch that trained was {fmt(fits)})" if pd.notna(fits) else ")"
        steps = pd.to_numeric(ok["steps_per_epoch"], errors="coerce").dropna()
        if not steps.empty:
            text += f"; the smallest steps_per_epoch that fit in memory was {fmt(steps.min())}"
        sentences.append(text + ".")
    change = _memory_change(run, ok)
    if change is None:
        return sentences
    ratio, low, high, basis = change
    rule = "\"out of memory? raise steps_per_epoch\""
    if ratio <= -CLEAR_MEMORY_CHANGE:
        verdict = f"lowered peak memory by {-ratio:.0%} ({basis}): the rule {rule} held"
    elif ratio >= CLEAR_MEMORY_CHANGE:
        verdict = f"raised peak memory by {ratio:.0%} ({basis}): the rule {rule} did not hold"
    else:
        verdict = (f"changed peak memory by {ratio:+.0%} ({basis}): the rule {rule} did not "
                   "hold")
        if run.spec.budget.semantics == "stream":
            verdict += " (with stream semantics the batch size, not steps_per_epoch, sets it)"
    sentences.append(f"Raising steps_per_epoch from {fmt(low)} to {fmt(high)} {verdict}.")
    return sentences


def _memory_change(run: Run, ok: pd.DataFrame) -> tuple[float, float, float, str] | None:
    """Median relative peak-memory change from the smallest to the largest steps_per_epoch.

    Compared within groups of trials equal in every other searched value, so a change of
    learning rate or model size is not read as an effect of steps_per_epoch; when no such
    group has two steps_per_epoch values, across all trials, and the basis says so.
    """
    frame = ok.assign(steps=pd.to_numeric(ok["steps_per_epoch"], errors="coerce"),
                      peak=pd.to_numeric(ok["peak_memory_mb"], errors="coerce"))
    frame = frame.dropna(subset=["steps", "peak"])
    if frame["steps"].nunique() < 2:
        return None
    others = [n for n in run.hp_names if n not in ("steps_per_epoch", "batch_size")
              and n in frame]
    changes, lows, highs = [], [], []
    groups = frame.groupby(others, dropna=False) if others else [((), frame)]
    for _, group in groups:
        by_steps = group.groupby("steps")["peak"].mean()
        if len(by_steps) >= 2 and by_steps.iloc[0] > 0:
            changes.append(by_steps.iloc[-1] / by_steps.iloc[0] - 1)
            lows.append(by_steps.index[0])
            highs.append(by_steps.index[-1])
    if changes:
        basis = (f"median of {len(changes)} comparison(s) with the other searched values "
                 "equal" if others else f"{len(frame)} trials")
        return float(pd.Series(changes).median()), min(lows), max(highs), basis
    by_steps = frame.groupby("steps")["peak"].mean()
    if by_steps.iloc[0] <= 0:
        return None
    return (float(by_steps.iloc[-1] / by_steps.iloc[0] - 1), by_steps.index[0],
            by_steps.index[-1], "across all trials; no two differed in steps_per_epoch alone")


def _overfitting(trials: pd.DataFrame) -> list[str]:
    ok = trials[trials["status"].eq("ok")]
    rho, n = spearman(ok["steps_per_epoch"], ok["gap"])
    rule = "\"overfitting? lower steps_per_epoch\""
    if pd.isna(rho):
        return [f"Too few scored trials with different steps_per_epoch and a recorded gap "
                f"({n}) to test the rule {rule}."]
    measured = f"Spearman ρ = {rho:.2f} between steps_per_epoch and the gap, n = {n}"
    if rho >= CLEAR_RHO:
        text = (f"Trials with more steps per epoch overfit more ({measured}): the rule {rule} "
                "held")
    elif rho <= -CLEAR_RHO:
        text = (f"Trials with more steps per epoch overfit less ({measured}): the rule {rule} "
                "did not hold")
    else:
        text = (f"Trials with more steps per epoch did not overfit more ({measured}): the rule "
                f"{rule} did not hold")
    sooner, _ = spearman(ok["steps_per_epoch"], ok["best_epoch"])
    if pd.notna(sooner) and sooner <= -CLEAR_RHO:
        text += f"; they reached their best validation loss at earlier epochs (ρ = {sooner:.2f})"
    elif pd.notna(sooner) and sooner >= CLEAR_RHO:
        text += f"; they reached their best validation loss at later epochs (ρ = {sooner:.2f})"
    return [text + "."]


def _nothing_scored(trials: pd.DataFrame) -> str:
    if trials.empty:
        return "No trial has finished yet, so there is nothing to recommend."
    counts = trials["status"].fillna("unknown").value_counts().sort_index()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    messages = trials["message"].dropna()
    reason = f" The first failure says: {messages.iloc[0]}" if not messages.empty else ""
    text = f"No trial produced a score ({summary}), so there is nothing to recommend.{reason}"
    memory = trials[trials["status"].isin(MEMORY_FAILURES)]
    if len(memory) == len(trials):
        steps = pd.to_numeric(memory["steps_per_epoch"], errors="coerce").max()
        batch = pd.to_numeric(memory["batch_size"], errors="coerce").min()
        text += (f" Every trial ran out of memory, down to batch size {fmt(batch)} at "
                 f"steps_per_epoch = {fmt(steps)}: search larger steps_per_epoch values or "
                 "give each trial a larger memory budget.")
    return text
