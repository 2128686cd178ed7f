"""docs/findings.md: one section per claim of the seed texts, each opening with its answer.

Only the writing lives here; every number comes from `claims.compute`, every figure from
`figures`, every paragraph on the literature from `literature`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from study import figures, literature
from study.claims import BoundCheck, Comparison, Numbers
from study.design import Design, Experiment
from study.measures import AXES, best_epochs
from tuning.verdicts.rules import CANNOT_TELL, DID_NOT_HOLD, HELD

AXIS_NAMES = {**AXES, "best_epoch": "best epoch", "memory": "memory"}


@dataclass(frozen=True)
class Context:
    """What the header says about how the findings were made."""

    design: Design
    command: str
    results: Path
    timings: dict[str, dict]  # per run: seconds taken, load averages seen (runner.TIMINGS)
    machine: str


def _effect(c: Comparison) -> str:
    v = c.verdict
    if v.effect is None or v.interval is None:
        return "n/a"
    unit = {"memory": " MiB", "best_epoch": " epochs"}.get(c.axis, "")
    return f"{v.effect:+.3g}{unit} ({v.interval[0]:+.3g} to {v.interval[1]:+.3g})"


def _verdict(c: Comparison | None) -> str | None:
    return None if c is None else c.verdict.verdict


def _answer(c: Comparison | None, label: str) -> str:
    if c is None:
        return f"{label}: not run"
    return f"{label}: **{c.verdict.verdict}**, {_effect(c)} per doubling"


def _image(path: Path, docs: Path, alt: str) -> str:
    return f"![{alt}]({path.relative_to(docs).as_posix()})"


def _design_table(design: Design, numbers: Numbers) -> list[str]:
    rows = ["| experiment | semantics | data | model | steps_per_epoch | budget | batch | seeds "
            "| trials run |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for e in design.experiments:
        measured = numbers.measured.get(e.key)
        ran = 0 if measured is None else len(measured.trials)
        data = ("digits (1,797 rows, 64 features)" if e.table is None else
                f"generated, {e.table.rows} rows × {e.table.features} features, "
                f"{e.table.label_noise:.0%} labels flipped")
        budget = f"{e.epochs} epoch{'s' if e.epochs > 1 else ''}" + (
            f" or {e.max_steps} steps" if e.max_steps else "")
        if e.memory_budget:
            budget += f", memory {e.memory_budget}"
        batch = ("training rows / steps_per_epoch" if e.semantics == "partition"
                 else ", ".join(str(b) for b in e.batch_sizes))
        rows.append(f"| {e.key} | {e.semantics} | {data} | {e.layers}×{e.units} MLP, Adam "
                    f"{e.learning_rate:g} | {', '.join(map(str, e.steps))} | {budget} | {batch} "
                    f"| {len(e.seeds)} | {ran} |")
    return rows


def _comparison_table(items: list[Comparison], where: str = "lined up at") -> list[str]:
    """One row per verdict; `where` heads the column saying which trials were compared."""
    rows = [f"| experiment | {where} | what doubling steps_per_epoch changes there | "
            "effect per doubling (95% interval) | verdict |", "| --- | --- | --- | --- | --- |"]
    for c in items:
        place = f"{AXIS_NAMES[c.axis]}: {c.where}" if c.axis in AXES else c.where
        rows.append(f"| {c.experiment} | {place} | {c.changes} | {_effect(c)} | "
                    f"**{c.verdict.verdict}** |")
    return rows


def _evidence(items: list[Comparison]) -> list[str]:
    return [f"- `{c.experiment}`, {AXIS_NAMES[c.axis]}: {c.verdict.evidence}" for c in items]


def memory_section(numbers: Numbers, docs: Path) -> list[str]:
    runs = [m for m in numbers.measured.values()
            if m.experiment.claim == "memory" and not m.trials.empty]
    partition = next((c for c in numbers.memory if c.semantics == "partition"), None)
    stream = next((c for c in numbers.memory if c.semantics == "stream"), None)
    lines = [
        "## 1. Memory: \"out of memory? raise steps_per_epoch\"", "",
        f"**Answer.** {_answer(partition, 'Partition semantics')}; "
        f"{_answer(stream, 'stream semantics')}. " + _memory_summary(partition, stream), "",
        _conditions([m.experiment for m in runs]), "",
        "Memory needed is each trial's peak above the worker's footprint before the trial; a "
        "trial that ran out of memory counts at the budget (it needed at least that). Trials "
        "the tool skipped because the same batch had already run out were not measured and "
        "are left out of the test. Budgets on a CPU are enforced in each worker with "
        "`RLIMIT_DATA`.", "",
        *_comparison_table(numbers.memory, "trials"), "",
        *_evidence(numbers.memory), "",
    ]
    for m in runs:
        trials = m.trials.sort_values(["batch_size", "steps_per_epoch"])
        by = trials.groupby(["batch_size", "steps_per_epoch", "status"]).size()
        listed = "; ".join(f"batch {b}, steps_per_epoch {s}: {n} × {st}"
                           for (b, s, st), n in by.items())
        note = f" ({m.experiment.note})" if m.experiment.note else ""
        lines += [f"`{m.experiment.key}`{note}: {listed}.", ""]
    if runs:
        path = figures.memory_against_batch(runs, docs / "findings" / "memory.png")
        lines += [_image(path, docs, "peak memory against batch size under the budget"), ""]
    lines += ["**Literature.** " + literature.memory(_verdict(partition), _verdict(stream)), ""]
    return lines


def _memory_summary(partition: Comparison | None, stream: Comparison | None) -> str:
    if _verdict(partition) == HELD and _verdict(stream) == DID_NOT_HOLD:
        return "Raising steps_per_epoch lowers memory where it sets the batch, and only there."
    if _verdict(partition) == HELD:
        return ("Raising steps_per_epoch lowered memory where it sets the batch; with a fixed "
                "batch the runs could not decide.")
    return "Not every comparison could be decided; the table says which and why."


def overfitting_section(numbers: Numbers, docs: Path) -> list[str]:
    runs = [m for m in numbers.measured.values()
            if m.experiment.claim == "overfitting" and not m.curves.empty]
    noisy = [m for m in runs if m.experiment.table and m.experiment.table.label_noise > 0]
    by = {(c.experiment, c.axis): c for c in numbers.overfitting}
    part = next((m.experiment.key for m in noisy if m.experiment.semantics == "partition"), "")
    strm = next((m.experiment.key for m in noisy if m.experiment.semantics == "stream"), "")
    total, batches = by.get((part, "epoch")), by.get((part, "updates"))
    updates, nothing = by.get((strm, "epoch")), by.get((strm, "updates"))
    lines = [
        "## 2. Overfitting: \"overfitting? lower steps_per_epoch\"", "",
        "**Answer.** " + _overfitting_summary(total, updates, batches, nothing) + " "
        f"{_answer(total, 'At equal epochs (partition: more updates, smaller batches)')}; "
        f"{_answer(updates, 'more updates and samples, the batch fixed (stream, equal epochs)')}; "
        f"{_answer(batches, 'smaller batches at equal updates (partition)')}; "
        f"{_answer(nothing, 'steps_per_epoch alone (stream, equal updates)')}.", "",
        _conditions([m.experiment for m in runs]), "",
        "The gap is validation loss minus training loss at one epoch's end, read from "
        "curves.csv. Trials are lined up three ways: at the same epoch, after the same number "
        "of updates, and after the same number of samples seen, each at the furthest point "
        "that at least three steps_per_epoch values reach in every seed (the curves are read "
        "at epoch ends only; nothing is interpolated). Under partition semantics an epoch is "
        "one pass, so equal samples seen is equal epochs; under stream semantics the batch is "
        "fixed, so equal samples seen is equal updates. The training loss is the one the tool "
        "records at each epoch's end on a fixed sample of training rows (`train_loss_end`), "
        "scored as the validation loss is, not Keras's mean over the epoch's batches, which "
        "lags further behind the weights the more steps an epoch has.", "",
        *_comparison_table(numbers.overfitting), "",
        *_evidence(numbers.overfitting), "",
        *_bias(batches, nothing),
    ]
    if runs:
        gap = figures.gap_against_updates(runs, docs / "findings" / "gap_updates.png")
        lines += [_image(gap, docs, "gap against updates for each steps_per_epoch"), "",
                  "Each panel: one line per steps_per_epoch (median of the seeds, band: their "
                  "range); the dashed line marks where the equal-updates verdict is read.", ""]
    lines += ["**When does the validation loss turn?** The best epoch is the epoch of lowest "
              "validation loss (what the tool restores); a trial whose loss never turned has "
              "its last epoch as best, a lower bound.", "",
              *_comparison_table(numbers.best, "trials"), "", *_evidence(numbers.best), ""]
    for m in runs:
        best = best_epochs(m)
        if best.empty:
            continue
        table = best.groupby("steps_per_epoch").agg(
            batch=("batch_size", "first"), epoch=("best_epoch", "median"),
            updates=("best_updates", "median"), turned=("turned", "sum"), n=("turned", "size"))
        listed = "; ".join(
            f"{s}: batch {r.batch:.0f}, epoch {r.epoch:.0f}, {r.updates:,.0f} updates "
            f"({r.turned:.0f} of {r.n:.0f} turned)" for s, r in table.iterrows())
        lines += [f"`{m.experiment.key}`, median best epoch by steps_per_epoch: {listed}.", ""]
    if runs:
        path = figures.best_epoch_against_steps(runs, docs / "findings" / "best_epoch.png")
        lines += [_image(path, docs, "best epoch against steps_per_epoch"), ""]
    clean = next((m for m in runs if m.experiment.table and
                  m.experiment.table.label_noise == 0), None)
    if clean is not None:
        control = by.get((clean.experiment.key, "epoch"))
        lines += [
            f"**Label noise.** On the same table with clean labels (`{clean.experiment.key}`), "
            f"the gap at equal epochs: {_answer(control, 'verdict')}. "
            + ("The rule needs something to memorise: with clean labels the gap did not "
               "widen beyond the seeds' noise." if _verdict(control) != HELD else
               "The gap widened with clean labels too, so label noise is not needed for it "
               "on this model" + _ratio(total, control) + "."), ""]
    partition = next((m for m in noisy if m.experiment.semantics == "partition"), None)
    turns: dict[int, float] = {}
    if partition is not None:
        medians = best_epochs(partition).groupby("batch_size")["best_updates"].median()
        turns = {int(b): float(u) for b, u in medians.items()}
    lines += ["**Literature.** " + literature.overfitting(
        _verdict(total), _verdict(updates), _verdict(batches), _verdict(nothing), turns), ""]
    return lines


def _ratio(noisy: Comparison | None, clean: Comparison | None) -> str:
    """How much larger the effect was with wrong labels than without."""
    if noisy is None or clean is None or not noisy.verdict.effect or not clean.verdict.effect:
        return ""
    ratio = noisy.verdict.effect / clean.verdict.effect
    return (f", but with wrong labels it was {ratio:.1f} times as large "
            f"({noisy.verdict.effect:+.3g} against {clean.verdict.effect:+.3g} per doubling)")


def _conditions(experiments: list[Experiment]) -> str:
    """The settings a verdict was measured under, from the design itself."""
    parts = []
    for e in experiments:
        data = ("digits" if e.table is None else
                f"a generated {e.table.rows}×{e.table.features} table with "
                f"{e.table.label_noise:.0%} of labels flipped")
        budget = f", a {e.memory_budget} budget per trial" if e.memory_budget else ""
        steps = f", max_steps {e.max_steps}" if e.max_steps else ""
        batch = (f"batch {'/'.join(map(str, e.batch_sizes))}" if e.semantics == "stream"
                 else "batch = training rows / steps_per_epoch")
        parts.append(f"`{e.key}`: {e.semantics}, {batch}, {data}, a {e.layers}×{e.units} MLP "
                     f"with Adam at a fixed {e.learning_rate:g}, {e.epochs} epoch"
                     f"{'s' if e.epochs > 1 else ''}{steps}{budget}, {len(e.seeds)} seeds")
    return "**Conditions.** " + "; ".join(parts) + "." if parts else ""


def _bias(batches: Comparison | None, nothing: Comparison | None) -> list[str]:
    """What the two equal-updates comparisons say side by side."""
    if batches is None or nothing is None or None in (batches.verdict.effect,
                                                      nothing.verdict.effect):
        return []
    return [f"Where nothing but the epochs' ends differs (stream, equal updates) the gap "
            f"moved {nothing.verdict.effect:+.3g} per doubling ({nothing.verdict.verdict}). "
            f"Under partition semantics at equal updates it moved "
            f"{batches.verdict.effect:+.3g} per doubling ({batches.verdict.verdict}): there the "
            "smaller batches have also seen fewer samples (fewer passes over the wrong labels), "
            "so this comparison mixes the batch with the samples seen.", ""]


def _overfitting_summary(total, updates, batches, nothing) -> str:
    """One sentence: at equal epochs, and which of its parts the rule survives as."""
    parts = {"more updates and samples with the batch fixed": updates,
             "smaller batches at equal updates": batches,
             "more steps per epoch alone": nothing}
    held = [name for name, c in parts.items() if _verdict(c) == HELD]
    failed = [name for name, c in parts.items() if _verdict(c) == DID_NOT_HOLD]
    undecided = [name for name, c in parts.items() if _verdict(c) in (CANNOT_TELL, None)]
    if _verdict(total) == HELD:
        first = "Raising steps_per_epoch widened the gap at equal epochs"
    elif _verdict(total) == DID_NOT_HOLD:
        first = "Raising steps_per_epoch did not widen the gap at equal epochs"
    else:
        first = "At equal epochs the runs could not decide"
    sentence = first + (f"; the rule survives as {' and '.join(held)}" if held else
                        "; it survives as none of its parts alone")
    if failed:
        sentence += f", not as {' or '.join(failed)}"
    if undecided:
        sentence += f" ({', '.join(undecided)}: cannot tell)"
    return sentence + "."


def bound_section(numbers: Numbers) -> list[str]:
    check: BoundCheck | None = numbers.bound
    stream = next((c for c in numbers.overfitting
                   if c.semantics == "stream" and c.axis == "updates"), None)
    if check is None:
        return ["## 3. The lower bound of steps and epochs", "", "Not run.", ""]
    lines = [
        "## 3. The lower bound of steps and epochs", "",
        f"**Answer.** \"Whatever epochs and steps define, the lower bound decides\": "
        f"**{check.verdict}**: {check.agreeing} of {check.trials} trials ran exactly the "
        f"smaller of epochs × steps_per_epoch and max_steps ({check.by_max_steps} of them "
        "stopped by max_steps). Counting updates has no noise, so this is a count, not a "
        "test; one trial off would have refuted it. "
        + _checkpoints(stream), "",
        _conditions([m.experiment for m in numbers.measured.values()
                     if m.experiment.claim == "overfitting" and m.experiment.max_steps]), "",
        "| " + " | ".join(check.table.columns) + " |",
        "| " + " | ".join("---" for _ in check.table.columns) + " |",
        *["| " + " | ".join(f"{v:,.0f}" if isinstance(v, (int, float)) else str(v)
                            for v in row) + " |" for row in check.table.itertuples(index=False)],
        "",
        "Keras 3 has no `steps` argument to `fit` (tf.estimator is gone since TensorFlow "
        "2.16): the tool applies `max_steps` itself and records in trials.csv what ran.", "",
        "**Literature.** " + literature.lower_bound(check.verdict, _verdict(stream)), "",
    ]
    return lines


def _checkpoints(stream: Comparison | None) -> str:
    """Does cutting the same updates into more, shorter epochs change anything?"""
    question = "Do 1000 steps in 1 epoch differ from 100 steps in 10? "
    if stream is None:
        return question + "Not run (it needs a stream run)."
    verdict = _verdict(stream)
    if verdict == DID_NOT_HOLD:
        answer = ("No: at equal updates with the batch fixed, more steps per epoch did not "
                  "widen the gap by more than the seeds' noise")
    elif verdict == HELD:
        answer = "Yes: at equal updates with the batch fixed, more steps per epoch widened the gap"
    else:
        answer = "The runs could not tell at equal updates with the batch fixed"
    return f"{question}{answer} ({_effect(stream)} per doubling; {stream.where})."


def changes_section(numbers: Numbers) -> list[str]:
    """What the first findings concluded, what these conclude, and why they differ."""
    memory = {c.semantics: _verdict(c) for c in numbers.memory}
    equal_epochs = next((c for c in numbers.overfitting
                         if c.semantics == "partition" and c.axis == "epoch"
                         and c.experiment == "overfit-partition"), None)
    bound = numbers.bound.verdict if numbers.bound else None
    seeds: dict[str, int] = {}
    for m in numbers.measured.values():  # the most seeds any experiment of the claim ran
        seeds[m.experiment.claim] = max(seeds.get(m.experiment.claim, 0), len(m.experiment.seeds))
    return [
        "## What changed since the first findings, and why", "",
        "The first findings ran the shipped experiments once each (one seed), called a trend "
        "when |Spearman ρ| ≥ 0.3 whatever the number of trials, and used clean, easy data "
        "(digits, wine) on which every trial's validation loss was still falling at its last "
        "epoch, so no trial could show overfitting.", "",
        '- Overfitting: was "not borne out" (the gap widened in 1 of 4 experiments); now '
        f"**{_verdict(equal_epochs) or 'not run'}** at equal epochs under partition "
        "semantics. The change comes from the design, not from the tool: labels a model can "
        f"memorise, training long enough for the validation loss to turn, "
        f"{seeds.get('overfitting', 0)} seeds, an "
        "interval and a test instead of a correlation threshold, and the comparison split "
        "into updates, batch size and samples seen.",
        '- Memory: was "holds" under partition semantics and "never brought a trial under '
        'the budget" under stream semantics, from one run each; now '
        f"**{memory.get('partition') or 'not run'}** and "
        f"**{memory.get('stream') or 'not run'}**, with {seeds.get('memory', 0)} seeds and, "
        "under stream "
        "semantics, a batch that fits measured at every steps_per_epoch (before, only "
        "skipped trials stood for stream semantics).",
        f'- The lower bound: was "held" (10 of 10 trials); now **{bound or "not run"}** on '
        "the study's own runs, and the question behind it (1000 steps in 1 epoch or 100 in "
        "10?) is answered at equal updates.",
        "- validation_split is no longer a section: it is not one of the seed texts' claims, "
        "and every run's report shows it.", "",
    ]


def render(numbers: Numbers, context: Context, docs: Path) -> str:
    """The whole of findings.md; its figures are written under `docs/findings/`."""
    design = context.design
    seconds = sum(t["seconds"] for t in context.timings.values())
    loads = [load for t in context.timings.values() for load in t["load"]]
    took = (f"the runs took {seconds / 60:.0f} min in all, with the machine's load average "
            f"between {min(loads):.1f} and {max(loads):.1f} (the study alone keeps it near 2)"
            if loads else "how long the runs took was not recorded")
    lines = [
        "# Findings: what steps_per_epoch does to memory and overfitting", "",
        f"Written by `{context.command}` (the `{design.label}` design) from the runs in "
        f"`{context.results}` on {context.machine}; {took}. Every number below is read from "
        "those runs' trials.csv and curves.csv; rerunning the command resumes them and "
        "rewrites this page.", "",
        "Each claim of the seed texts is judged by `tuning.verdicts.rules.judge_rule`, the "
        "report's own judge: the effect is the change per doubling of steps_per_epoch (a "
        "least-squares slope on log2 steps_per_epoch within each seed), its 95% interval a t "
        "interval over the seeds' own slopes, p from permuting within seeds. The noise is "
        "the report's: 1.96·√2 times the pooled standard deviation between seeds at one "
        "setting (the 95% range of the difference of two measurements of the same thing), "
        "spread over the searched range (`rule_noise`); unmeasured (one seed) it is not zero "
        "but **cannot tell**. **held**: p < 0.05, the expected sign, larger than the noise; "
        "**did not hold**: the interval excludes every effect of the expected sign larger "
        "than the noise (for memory and the best epoch, whose noise is the measurement's "
        "resolution, an interval wholly on the wrong side of zero); **cannot tell** "
        "otherwise, and also where leaving out one trial changes the verdict.", "",
        *_design_table(design, numbers), "",
        *memory_section(numbers, docs),
        *overfitting_section(numbers, docs),
        *bound_section(numbers),
        *changes_section(numbers),
        "## References", "",
        *[f"- {r}" for r in literature.REFERENCES], "",
    ]
    return "\n".join(lines)
