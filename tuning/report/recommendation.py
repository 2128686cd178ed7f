"""The recommendation in words: what to use, how sure we are, whether the folk rules held.

Every sentence is built from the computed choice and verdicts; nothing here knows what the
answer "should" be.
"""

from __future__ import annotations

import pandas as pd

from tuning.records.status import MEMORY_FAILURES
from tuning.records.trials import (
    BATCH_SIZE,
    EPOCHS_RUN,
    EXECUTIONS,
    MESSAGE,
    STATUS,
    STEPS_PER_EPOCH,
    TRIAL_ID,
    WALL_S,
    std_column,
)
from tuning.spec.objective import HOLDOUT, VALIDATION, score_column
from tuning.verdicts.folk import MEMORY_RULE, OVERFITTING_RULE, Judged
from tuning.verdicts.paired import ALPHA
from tuning.verdicts.ranking import Run, oom_frontier
from tuning.verdicts.summary import Verdicts
from tuning.verdicts.text import fmt


def recommend(run: Run, judged: Verdicts) -> list[str]:
    """The recommendation's paragraphs: the choice and its score, the ties and a cheaper
    runner-up, memory, overfitting."""
    trials = run.trials
    if run.choice is None:
        return [_nothing_scored(trials)]
    choice = [*_best(run), *_ties(run)]
    if run.goal.part == VALIDATION:
        choice.append(
            f"Ranked on {run.objective}, which each validation_split measures on a different "
            f"validation set; the {score_column(HOLDOUT, run.metric)} column compares all "
            "trials on one set."
        )
    memory = [*_memory_failures(run),
              f"The rule {MEMORY_RULE}: {_verdict(judged.rules['memory'])}"]
    overfitting = [f"The rule {OVERFITTING_RULE}: {_verdict(judged.rules['overfitting'])}"]
    paragraphs = [choice, memory, overfitting]
    return [" ".join(p) for p in paragraphs if p]


def _verdict(judged: Judged) -> str:
    return f"{judged.verdict.verdict}. {_sentence(judged.verdict.evidence)}"


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def configuration(row: pd.Series, names: list[str]) -> str:
    """`steps_per_epoch = 8, validation_split = 0.2, batch size 144` for one trial."""
    parts = [f"{name} = {fmt(row.get(name), 4)}" for name in names if name != "batch_size"]
    return ", ".join([*parts, f"batch size {fmt(row.get('batch_size'))}"])


def mean_text(run: Run, row: pd.Series) -> str:
    """`0.953`, or `0.953 ± 0.01` (mean ± standard deviation) when the trial was repeated."""
    text = fmt(row[run.objective], 4)
    if _repeats(run, row):
        text += f" ± {fmt(row[std_column(run.objective)], 2)}"
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
    executions = row.get(EXECUTIONS)
    return (pd.notna(executions) and executions > 1
            and pd.notna(row.get(std_column(run.objective))))


def pick_row(run: Run) -> pd.Series:
    return run.trials[run.trials[TRIAL_ID].astype(str) == run.choice.trial_id].iloc[0]


def _best(run: Run) -> list[str]:
    choice, row = run.choice, pick_row(run)
    stated = choice.statement
    scored = int(run.trials["rank"].notna().sum())
    training = (f"{fmt(row.get('epochs_run'))} epochs, {fmt(row.get('updates'))} updates"
                if pd.notna(row.get(EPOCHS_RUN)) else "")
    text = [f"Use {configuration(row, run.hp_names)} (trial {choice.trial_id}"
            + (f", {training}" if training else "") + ")."]
    if choice.reason:
        text.append(_sentence(choice.reason))
    interval = (f"95% interval [{fmt(stated.low, 3)}, {fmt(stated.high, 3)}]"
                if pd.notna(stated.low) else "no interval: nothing measured its noise")
    text.append(f"Its score: {fmt(stated.score, 4)} ({interval}); measured as: "
                f"{stated.measured_on}.")
    sample = (f" on the {run.info['n_holdout']}-sample holdout set"
              if run.goal.part == HOLDOUT and run.info.get("n_holdout") else "")
    place = ("the best" if row["rank"] == 1 else f"number {row['rank']}") + f" of {scored}"
    if stated.honest:
        text.append(f"In the search it scored {run.objective} = {score_text(run, row)}{sample}, "
                    f"{place} scored trials; a search's figure carries the luck of being picked "
                    "from many, so it is not the one to expect.")
    else:
        text.append(f"In the search: {run.objective} = {score_text(run, row)}{sample}, {place} "
                    "scored trials.")
    lower = run.trials[run.trials["rank"].notna() & ~run.trials["top"].astype(bool)]
    if not lower.empty:
        rounds = ", ".join(fmt(b) for b in sorted(lower["budget"].dropna().unique()))
        text.append(f"{len(lower)} trial(s) of lower Hyperband rounds ({rounds} epochs) are "
                    "ranked below the final round and take no part in the choice or the ties.")
    return text


def _ties(run: Run) -> list[str]:
    choice = run.choice
    rows = next((p.n for p in choice.paired.values()), None)
    where = f" on the {rows} holdout rows every trial shares" if rows else ""
    if choice.tied and not choice.paired:
        sentences = [f"{len(choice.tied)} other trial(s) have 95% intervals overlapping its "
                     f"own ({', '.join(choice.tied)}); the run kept no predictions for a "
                     "sharper paired test."]
    elif choice.tied:
        listed = ", ".join(choice.tied)
        sentences = [f"{len(choice.tied)} other trial(s) cannot be told apart from it by "
                     f"{choice.tie_test}{where} (p ≥ {ALPHA}): {listed}."]
    elif choice.paired:
        sentences = [f"Every other trial of the final budget is significantly different from "
                     f"it by {choice.tie_test}{where} (p < {ALPHA})."]
    elif pd.isna(pick_row(run).get("low")):
        return ["The records hold no predictions and no interval to compare trials with (a "
                "single run of a loss says nothing about its own noise), so the ranking is by "
                "the score alone."]
    else:
        return ["No other trial's 95% interval reaches its own: the lead is clear."]
    runner = choice.runner_up
    if runner is None:
        if choice.tied:
            sentences.append(f"None of them is both faster and within the practical margin of "
                             f"{fmt(choice.margin, 3)} (search.margin), so there is no cheaper "
                             "runner-up to offer.")
        return sentences
    row = run.trials[run.trials[TRIAL_ID].astype(str) == runner.trial_id].iloc[0]
    best = pick_row(run)
    saving = 1 - runner.wall_s / best[WALL_S]
    test = ("a one-sided 95% bound on the paired difference" if runner.paired is not None
            else "the far end of its 95% interval")
    sentences.append(
        f"A cheaper choice: trial {runner.trial_id} ({configuration(row, run.hp_names)}) scored "
        f"{run.objective} = {score_text(run, row)} in {fmt(runner.wall_s, 3)} s instead of "
        f"{fmt(best['wall_s'], 3)} s ({saving:.0%} less time, for "
        f"{fmt(row.get('epochs_run'))} epochs and {fmt(row.get('updates'))} updates); it "
        f"gives up at most {fmt(runner.worst_case, 2)} ({test}), within the practical margin "
        f"of {fmt(choice.margin, 3)} (search.margin).")
    return sentences


def _memory_failures(run: Run) -> list[str]:
    trials = run.trials
    ok = run.ok
    failed = trials[trials[STATUS].isin(MEMORY_FAILURES)]
    if failed.empty:
        return []
    frontier = oom_frontier(trials)
    text = f"{len(failed)} trial(s) ran out of memory or were skipped for it"
    if frontier is not None:
        fits, fails = frontier
        text += f" (from batch size {fmt(fails)} up"
        text += f"; the largest batch that trained was {fmt(fits)})" if pd.notna(fits) else ")"
    steps = pd.to_numeric(ok[STEPS_PER_EPOCH], errors="coerce").dropna()
    if not steps.empty:
        text += f"; the smallest steps_per_epoch that fit in memory was {fmt(steps.min())}"
    return [text + "."]


def _nothing_scored(trials: pd.DataFrame) -> str:
    if trials.empty:
        return "No trial has finished yet, so there is nothing to recommend."
    counts = trials[STATUS].fillna("unknown").value_counts().sort_index()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    messages = trials[MESSAGE].dropna()
    reason = f" The first failure says: {messages.iloc[0]}" if not messages.empty else ""
    text = f"No trial produced a score ({summary}), so there is nothing to recommend.{reason}"
    memory = trials[trials[STATUS].isin(MEMORY_FAILURES)]
    if len(memory) == len(trials):
        steps = pd.to_numeric(memory[STEPS_PER_EPOCH], errors="coerce").max()
        batch = pd.to_numeric(memory[BATCH_SIZE], errors="coerce").min()
        text += (f" Every trial ran out of memory, down to batch size {fmt(batch)} at "
                 f"steps_per_epoch = {fmt(steps)}: search larger steps_per_epoch values or "
                 "give each trial a larger memory budget.")
    return text
