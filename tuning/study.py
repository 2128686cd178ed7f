"""`make study`: the folk rules about steps_per_epoch measured on the shipped experiments.

The texts the project started from claim that raising steps_per_epoch lowers memory, that it
makes a model overfit, and that "the lower bound of steps and epochs decides". This runs the
shipped experiments (resuming any finished run), reads their trials.csv and curves.csv, and
writes docs/findings.md with plots. Every number and every verdict in the text is computed
from those tables, so re-running the study on other hardware rewrites the findings honestly.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tuning.report.stats import spearman
from tuning.report.table import Run, load_run, oom_frontier
from tuning.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
#: The experiments the study runs, by file stem, in the order the findings use them.
EXPERIMENTS = ("digits", "digits_cnn_stream", "memory", "memory_stream", "breast_cancer",
               "diabetes", "wine_csv")
#: steps_per_epoch values tried on plain `keras.Model.fit` (1000 rows: 300 cannot be met).
PROBE_STEPS = (2, 20, 300)
#: Below this rank correlation (in absolute value) a trend is called absent.
WEAK = 0.3


def run_experiments(specs: list[Path], results: Path, fresh: bool) -> None:
    """Run each spec with `python -m tuning run`, each in its own process (a fresh TensorFlow).

    A run that fails after writing its tables (its report, say) is reported and its tables
    are used; one that left no tables stops the study.
    """
    for path in specs:
        out = results / load_spec(path).name
        args = ["run", str(path), "--out", str(out), *(["--fresh"] if fresh else [])]
        code = subprocess.run([sys.executable, "-m", "tuning", *args], check=False).returncode
        if code == 0:
            continue
        command = f"python -m tuning {' '.join(args)}"
        if not (out / "trials.csv").is_file():
            raise SystemExit(f"study: `{command}` exited {code} and wrote no trials.csv")
        print(f"study: warning: `{command}` exited {code}; using the trials.csv it wrote",
              file=sys.stderr)


def load(path: Path, results: Path) -> Run:
    return load_run(results / load_spec(path).name)


# ---- the text --------------------------------------------------------------------------------


def _n(value: float, digits: int = 3) -> str:
    """A number as the findings print it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.{digits}g}"


def _trend(rho: float, what: str, against: str = "steps_per_epoch") -> str:
    """`gap rises with steps_per_epoch (Spearman ρ = 0.71)`, or that it shows no trend."""
    if math.isnan(rho):
        return f"{what} cannot be correlated with {against} here"
    if abs(rho) < WEAK:
        return f"{what} shows no consistent trend with {against} (Spearman ρ = {rho:.2f})"
    way = "rises" if rho > 0 else "falls"
    return f"{what} {way} with {against} (Spearman ρ = {rho:.2f})"


def _per_steps(run: Run, columns: list[str]) -> pd.DataFrame:
    """Means of `columns` over the ok trials at each steps_per_epoch."""
    return run.ok.groupby("steps_per_epoch")[columns].mean().sort_index()


def memory_partition(run: Run) -> list[str]:
    """Does raising steps_per_epoch lower peak memory when it sets the batch size?"""
    budget = run.spec.resources.memory_budget
    trials = run.trials.sort_values("steps_per_epoch")
    lines = [f"**Partition semantics** (`{run.spec.name}`: a {_n(budget / 2**20)} MiB budget, "
             f"{len(trials)} trials): the batch is the training rows divided by "
             "steps_per_epoch, so raising steps_per_epoch shrinks the batch."]
    frontier = oom_frontier(trials)
    failed = trials[trials["status"].isin(["oom", "skipped_oom"])]
    if frontier is None:
        lines.append("No trial ran out of memory under this budget.")
    elif math.isnan(frontier[0]):
        lines.append(f"Every batch in the grid ran out of memory, down to {_n(frontier[1])} "
                     "rows: no steps_per_epoch searched here got the model under the budget.")
    else:
        fitting_steps = _steps_for_batch(trials, frontier[0])
        lines.append(
            f"steps_per_epoch {', '.join(_n(s) for s in failed['steps_per_epoch'])} (batches of "
            f"{', '.join(_n(b) for b in failed['batch_size'])} rows) ran out of memory; "
            f"the largest batch that fitted was {_n(frontier[0])} rows (steps_per_epoch "
            f"{_n(fitting_steps)}). Here the rule holds: raising steps_per_epoch from "
            f"{_n(trials['steps_per_epoch'].min())} to {_n(fitting_steps)} is what got the "
            "model under the budget."
        )
    peaks = _per_steps(run, ["peak_memory_mb", "batch_size"]).dropna()
    if len(peaks) >= 2:
        first, last = peaks.iloc[0], peaks.iloc[-1]
        rho, _ = spearman(run.ok["batch_size"], run.ok["peak_memory_mb"])
        lines.append(
            f"Among the trials that fitted, the measured peak went from "
            f"{_n(first['peak_memory_mb'])} MiB at steps_per_epoch {_n(peaks.index[0])} "
            f"(batch {_n(first['batch_size'])}) to {_n(last['peak_memory_mb'])} MiB at "
            f"{_n(peaks.index[-1])} (batch {_n(last['batch_size'])}); "
            f"{_trend(rho, 'the peak', 'the batch size')}."
        )
    return lines


def _steps_for_batch(trials: pd.DataFrame, batch: float) -> float:
    return float(trials.loc[trials["batch_size"].eq(batch), "steps_per_epoch"].min())


def memory_stream(budgeted: Run, unbudgeted: Run) -> list[str]:
    """Does raising steps_per_epoch lower peak memory when the batch size is fixed?"""
    trials = budgeted.trials
    counts = trials["status"].value_counts()
    batches = sorted(trials["batch_size"].unique())
    lines = [
        f"**Stream semantics** (`{budgeted.spec.name}`: the same model and budget, batch size "
        f"fixed at {', '.join(_n(b) for b in batches)}): steps_per_epoch "
        f"{_n(trials['steps_per_epoch'].min())} to {_n(trials['steps_per_epoch'].max())} "
        "gave " + ", ".join(f"{n} × {status}" for status, n in counts.items()) + ". "
        + ("Raising steps_per_epoch never brought a trial under the budget: it changes how many "
           "batches make an epoch, not how big a batch is."
           if counts.get("ok", 0) == 0 else
           "Whether a trial fitted did not depend on steps_per_epoch: the batch is the same.")
    ]
    peaks = unbudgeted.ok["peak_memory_mb"].dropna()
    if len(peaks) >= 2:
        rho, _ = spearman(unbudgeted.ok["steps_per_epoch"], unbudgeted.ok["peak_memory_mb"])
        lines.append(
            f"Without a budget (`{unbudgeted.spec.name}`, batch "
            f"{_n(unbudgeted.spec.budget.batch_size)}), the peak stayed between "
            f"{_n(peaks.min())} and {_n(peaks.max())} MiB across steps_per_epoch "
            f"{_n(unbudgeted.ok['steps_per_epoch'].min())} to "
            f"{_n(unbudgeted.ok['steps_per_epoch'].max())}; {_trend(rho, 'the peak')}."
        )
    return lines


@dataclass(frozen=True)
class FitProbe:
    """The batches plain `keras.Model.fit` really trained on, for numpy input."""

    rows: int
    epochs: int
    batch_size: int | None
    batches: dict[int, list[int]]

    def describe(self, steps: int) -> str:
        sizes = self.batches[steps]
        return (f"steps_per_epoch={steps}: {_n(len(sizes) / self.epochs)} batches per epoch "
                f"of {' or '.join(_n(b) for b in sorted(set(sizes), reverse=True))} rows")


def probe_keras_fit(rows: int, steps: tuple[int, ...], epochs: int,
                    batch_size: int | None) -> FitProbe:
    """Train a one-layer model on `rows` numpy rows and record every batch's size, so the
    findings state what Keras does with steps_per_epoch instead of what the texts say."""
    import warnings

    from tuning.execution.worker import quiet_tensorflow

    quiet_tensorflow()
    import keras
    import numpy as np

    class Recorder(keras.layers.Layer):
        """Passes its input through, noting the size of every concrete batch."""

        def __init__(self) -> None:
            super().__init__()
            self.seen: list[int] = []

        def call(self, x):
            if x.shape[0] is not None:
                self.seen.append(int(x.shape[0]))
            return x

    batches: dict[int, list[int]] = {}
    x, y = np.zeros((rows, 4), np.float32), np.zeros((rows, 1), np.float32)
    for count in steps:
        recorder = Recorder()
        model = keras.Sequential([keras.Input((4,)), recorder, keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the "ran out of data" warning is the point
            model.fit(x, y, steps_per_epoch=count, epochs=epochs, batch_size=batch_size,
                      verbose=0)
        batches[count] = recorder.seen
    return FitProbe(rows, epochs, batch_size, batches)


def plain_keras(unset: FitProbe, fixed: FitProbe) -> list[str]:
    """What Keras 3 itself does with steps_per_epoch on numpy input, measured."""
    import keras

    steps = sorted(unset.batches)
    follows = [len(set(unset.batches[s])) == 1 and unset.batches[s][0] < unset.rows
               for s in steps]
    unchanged = {max(fixed.batches[s]) for s in steps} == {fixed.batch_size}
    lines = [
        f"**Plain Keras {keras.__version__}**, measured on {unset.rows} numpy rows over "
        f"{unset.epochs} epochs. Without batch_size: "
        + "; ".join(unset.describe(s) for s in steps) + ". "
        + ("Keras cut each pass into steps_per_epoch batches: partition semantics, where the "
           "article's memory rule applies." if all(follows) else
           "The batch did not follow steps_per_epoch.")
        + f" With batch_size={fixed.batch_size}: "
        + "; ".join(fixed.describe(s) for s in steps) + ". "
        + ("The batch stayed at batch_size whatever steps_per_epoch was: stream-like, and "
           "raising steps_per_epoch cannot lower memory." if unchanged else
           "The batch changed with steps_per_epoch.")
    ]
    asked = {s: unset.epochs * s for s in steps}
    short = [s for s in steps if len(fixed.batches[s]) < asked[s]]
    if short:
        lines.append(
            "With a fixed batch_size, Keras ran fewer steps than asked for "
            + ", ".join(f"steps_per_epoch={s} ({len(fixed.batches[s])} of {asked[s]})"
                        for s in short)
            + ": the iterator carries over from one epoch to the next and stops, with only a "
            "warning, when the data runs out."
        )
    return lines


def overfitting(run: Run) -> list[str]:
    """Does raising steps_per_epoch make the model overfit sooner?"""
    table = _per_steps(run, ["gap", "best_epoch", "epochs_run", "updates", "batch_size"])
    ok = run.ok
    rho_gap, n = spearman(ok["steps_per_epoch"], ok["gap"])
    rho_best, _ = spearman(ok["steps_per_epoch"], ok["best_epoch"])
    low, high = table.iloc[0], table.iloc[-1]
    final_gap = _final_gaps(run)
    rho_final, _ = spearman(final_gap["steps_per_epoch"], final_gap["final_gap"])
    return [
        f"`{run.spec.name}` ({run.spec.budget.semantics} semantics, {n} trials): from "
        f"steps_per_epoch {_n(table.index[0])} to {_n(table.index[-1])} the gap (validation "
        f"minus training loss at the best epoch) went from {_n(low['gap'])} to "
        f"{_n(high['gap'])}, and the best epoch from {_n(low['best_epoch'])} to "
        f"{_n(high['best_epoch'])} of {_n(low['epochs_run'])} and {_n(high['epochs_run'])} "
        f"epochs run, with {_n(low['updates'])} and {_n(high['updates'])} updates. "
        f"{_trend(rho_gap, 'The gap')}; {_trend(rho_best, 'the best epoch')}; "
        f"{_trend(rho_final, 'the gap at the last epoch')}."
    ]


def overfitting_verdict(runs: list[Run]) -> list[str]:
    """The answer across experiments: sooner in epochs, in updates, and by how big a gap."""
    counts = {"gap": 0, "epoch": 0, "updates": 0}
    for run in runs:
        ok = run.ok
        at_best = ok["best_epoch"] * ok["effective_steps_per_epoch"]
        counts["gap"] += spearman(ok["steps_per_epoch"], ok["gap"])[0] >= WEAK
        counts["epoch"] += spearman(ok["steps_per_epoch"], ok["best_epoch"])[0] <= -WEAK
        counts["updates"] += spearman(ok["steps_per_epoch"], at_best)[0] <= -WEAK
    return [
        f"Across these {len(runs)} experiments, raising steps_per_epoch widened the gap in "
        f"{counts['gap']}, brought the best epoch earlier in {counts['epoch']}, and brought it "
        f"earlier in updates (best epoch × steps per epoch) in {counts['updates']}. "
        + ("The folk rule \"raising steps_per_epoch overfits\" is not borne out here."
           if counts["gap"] <= len(runs) // 2 else
           "The gap does widen with steps_per_epoch in most of them.")
        + (" Where the best epoch came earlier but not in updates, more updates per epoch "
           "reached the same point in fewer epochs: that is not overfitting sooner."
           if counts["epoch"] > counts["updates"] else "")
    ]


def _final_gaps(run: Run) -> pd.DataFrame:
    """Validation minus training loss at each ok trial's last epoch."""
    curves = run.curves[run.curves["trial_id"].isin(run.ok["trial_id"])]
    last = curves.sort_values("epoch").groupby("trial_id").tail(1)
    last = last.assign(final_gap=last["val_loss"] - last["loss"])
    return last.merge(run.ok[["trial_id", "steps_per_epoch"]], on="trial_id")


def validation_split(run: Run) -> list[str]:
    """What validation_split does to the holdout score (and why val_ scores mislead)."""
    column = f"holdout_{run.metric}"
    ok = run.ok
    if ok["validation_split"].nunique() < 2:
        return []
    table = ok.groupby("validation_split").agg(
        score=(column, "mean"), val=(f"val_{run.metric}", "mean"), n=(column, "size")
    )
    rho, n = spearman(ok["validation_split"], ok[column])
    parts = ", ".join(
        f"{_n(split)} → {_n(row['score'])} ({_n(row['n'])} trials)"
        for split, row in table.iterrows()
    )
    drift = (ok[f"val_{run.metric}"] - ok[column]).abs().mean()
    return [
        f"`{run.spec.name}`: mean holdout {run.metric} by validation_split: {parts}; "
        f"{_trend(rho, f'the holdout {run.metric}', 'validation_split')}. "
        f"Each trial's own val_{run.metric} differed from its holdout {run.metric} by "
        f"{_n(drift)} on average."
    ]


def lower_bound(run: Run) -> list[str]:
    """Which of epochs × steps_per_epoch and max_steps ended each trial."""
    budget = run.spec.budget
    trials = run.ok.sort_values("steps_per_epoch")
    rows = []
    for _, t in trials.drop_duplicates("steps_per_epoch").iterrows():
        asked = budget.epochs * t["effective_steps_per_epoch"]
        bound = "epochs" if asked <= (budget.max_steps or math.inf) else "max_steps"
        rows.append(f"| {_n(t['steps_per_epoch'])} | {_n(asked)} | {_n(t['updates'])} | "
                    f"{_n(t['epochs_run'])} | {_n(t['samples_seen'])} | {bound} |")
    planned = budget.epochs * trials["effective_steps_per_epoch"]
    by_max = trials[trials["updates"] < planned]
    lower = planned.clip(upper=budget.max_steps or math.inf)
    agree = int((trials["updates"] == lower).sum())
    lines = [
        f"`{run.spec.name}` trains for {budget.epochs} epochs or {_n(budget.max_steps)} steps "
        f"(max_steps), whichever ends first, with batches of {_n(budget.batch_size)}:",
        "",
        "| steps_per_epoch | epochs × steps | updates run | epochs run | samples seen | bound |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    if not by_max.empty:
        lines.append(
            f"From steps_per_epoch {_n(by_max['steps_per_epoch'].min())} on, max_steps ended "
            f"training after {_n(by_max['updates'].min())} updates, in "
            f"{_n(by_max['epochs_run'].min())} to {_n(by_max['epochs_run'].max())} epochs. "
            f"In {agree} of {len(trials)} trials the updates run equal the smaller of "
            "epochs × steps_per_epoch and max_steps"
            + (": the lower bound decided, as the second text found with tf.estimator. "
               if agree == len(trials) else ". ")
            + "Keras 3 has no `steps` argument to `fit` (tf.estimator is gone "
            "since TensorFlow 2.16); the tool applies max_steps itself."
        )
    return lines


def cut_short(run: Run, unset: FitProbe) -> list[str]:
    """Where Keras would run fewer steps per epoch than asked (the other lower bound)."""
    short = run.trials[run.trials["effective_steps_per_epoch"] < run.trials["steps_per_epoch"]]
    if short.empty:
        return []
    examples = short.drop_duplicates("steps_per_epoch").sort_values("steps_per_epoch")
    listed = "; ".join(
        f"asked {_n(t['steps_per_epoch'])}, ran {_n(t['effective_steps_per_epoch'])} "
        f"(batch {_n(t['batch_size'])})" for _, t in examples.iterrows()
    )
    return [
        f"The data is a lower bound too. In `{run.spec.name}` {len(short)} of "
        f"{len(run.trials)} trials asked for more steps per epoch than their training rows "
        f"can make into batches: {listed}. trials.csv records the steps that really ran.",
    ] + [
        f"Plain Keras without batch_size rounds the same way: on {unset.rows} rows, "
        f"{unset.describe(s)}." for s in sorted(unset.batches)
        if len(unset.batches[s]) < unset.epochs * s
    ]


# ---- the plots -------------------------------------------------------------------------------


def plot_memory(partition: Run, stream: Run, unbudgeted: Run, path: Path) -> Path:
    """Peak memory (and out-of-memory trials) against steps_per_epoch, both semantics."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for run, marker in ((partition, "o"), (stream, "s"), (unbudgeted, "^")):
        trials = run.trials.sort_values("steps_per_epoch")
        ok = trials[trials["status"].eq("ok")]
        ax.plot(ok["steps_per_epoch"], ok["peak_memory_mb"], marker=marker,
                label=f"{run.spec.name} ({run.spec.budget.semantics})")
        failed = trials[trials["status"].isin(["oom", "skipped_oom"])]
        if not failed.empty:
            ax.scatter(failed["steps_per_epoch"], [run.spec.resources.memory_budget / 2**20]
                       * len(failed), marker="x", s=60, color="red")
    budget = partition.spec.resources.memory_budget
    ax.axhline(budget / 2**20, color="red", linestyle=":", label="budget (x: out of memory)")
    ax.set(xscale="log", xlabel="steps_per_epoch", ylabel="peak memory (MiB)",
           title="Peak memory against steps_per_epoch")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_gap(runs: list[Run], path: Path) -> Path:
    """Mean gap at the best epoch against steps_per_epoch, one line per experiment."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for run in runs:
        table = _per_steps(run, ["gap"])
        ax.plot(table.index, table["gap"], marker="o",
                label=f"{run.spec.name} ({run.spec.budget.semantics})")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(xscale="log", xlabel="steps_per_epoch", ylabel="val_loss − train_loss at best epoch",
           title="Overfitting gap against steps_per_epoch")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_validation_split(runs: list[Run], path: Path) -> Path:
    """Mean holdout score against validation_split, one panel per experiment."""
    import matplotlib.pyplot as plt

    runs = [r for r in runs if r.ok["validation_split"].nunique() > 1]
    fig, axes = plt.subplots(1, len(runs), figsize=(3 * len(runs), 3), squeeze=False)
    for ax, run in zip(axes[0], runs):
        column = f"holdout_{run.metric}"
        table = run.ok.groupby("validation_split")[column].mean()
        ax.plot(table.index, table.values, marker="o")
        ax.set(title=run.spec.name, xlabel="validation_split", ylabel=column)
    return _save(fig, path)


def plot_bounds(run: Run, path: Path) -> Path:
    """Updates run against steps_per_epoch, with the two bounds drawn."""
    import matplotlib.pyplot as plt

    budget = run.spec.budget
    trials = run.ok.sort_values("steps_per_epoch")
    steps = trials["effective_steps_per_epoch"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, budget.epochs * steps, linestyle="--",
            label=f"epochs × steps ({budget.epochs} epochs)")
    ax.axhline(budget.max_steps, linestyle=":", color="grey",
               label=f"max_steps = {budget.max_steps}")
    ax.plot(steps, trials["updates"], marker="o", linestyle="none", label="updates run")
    ax.set(xscale="log", yscale="log", xlabel="steps_per_epoch", ylabel="updates",
           title=f"{run.spec.name}: the lower bound decides")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---- the document ----------------------------------------------------------------------------


def findings(runs: dict[str, Run], docs: Path) -> str:
    """The whole of findings.md, plots written under `docs/` beside it."""
    images = docs / "findings"
    images.mkdir(parents=True, exist_ok=True)
    memory = plot_memory(runs["memory"], runs["memory_stream"], runs["digits_cnn_stream"],
                         images / "memory.png")
    gap_runs = [runs[n] for n in ("digits", "digits_cnn_stream", "diabetes", "wine_csv")]
    gap = plot_gap(gap_runs, images / "gap.png")
    split_runs = [runs[n] for n in EXPERIMENTS if n in runs]
    split = plot_validation_split(split_runs, images / "validation_split.png")
    bounds = plot_bounds(runs["digits_cnn_stream"], images / "bounds.png")
    unset = probe_keras_fit(1000, PROBE_STEPS, epochs=2, batch_size=None)
    fixed = probe_keras_fit(1000, PROBE_STEPS, epochs=2, batch_size=32)

    def image(path: Path, alt: str) -> str:
        return f"![{alt}]({path.relative_to(docs).as_posix()})"

    sections = [
        "# Findings: what steps_per_epoch and validation_split really do",
        "",
        "Written by `make study` (`python -m tuning.study`) from the trials.csv and curves.csv of "
        "the shipped experiments; every number below is read from those tables. Runs: "
        + ", ".join(f"`{r.spec.name}` ({len(r.trials)} trials)" for r in runs.values()) + ".",
        "",
        "## Does raising steps_per_epoch lower peak memory?",
        "",
        "The article says: \"If your computer runs out of memory during training, increase the "
        "steps_per_epoch parameter.\" That depends on what steps_per_epoch decides.",
        "",
        *_paragraphs(memory_partition(runs["memory"])),
        *_paragraphs(memory_stream(runs["memory_stream"], runs["digits_cnn_stream"])),
        *_paragraphs(plain_keras(unset, fixed)),
        image(memory, "peak memory against steps_per_epoch"),
        "",
        "## Does raising steps_per_epoch make the model overfit sooner?",
        "",
        "The article says that raising steps_per_epoch makes a model \"susceptible to "
        "overfitting\" and that lowering it fights overfitting. The gap is validation minus "
        "training loss at the epoch whose weights were kept (the best validation epoch).",
        "",
        *_paragraphs([line for r in gap_runs for line in overfitting(r)]),
        *_paragraphs(overfitting_verdict(gap_runs)),
        "In partition semantics a larger steps_per_epoch is a smaller batch and more updates "
        "in the same number of epochs: any change in the gap is the change of batch size and "
        "of training length, not of steps_per_epoch as such. Compare trials on updates and "
        "samples seen (the report's curves do) before blaming steps_per_epoch.",
        "",
        image(gap, "gap against steps_per_epoch"),
        "",
        "## What does validation_split do to the holdout score?",
        "",
        "Every trial is scored on the same fixed holdout set, never trained or early-stopped "
        "on; a larger validation_split takes rows away from training.",
        "",
        *_paragraphs([line for r in split_runs for line in validation_split(r)]),
        image(split, "holdout score against validation_split"),
        "",
        "## \"Whatever num_epochs and steps define, the lower bound decides\"",
        "",
        *lower_bound(runs["digits_cnn_stream"]),
        "",
        *_paragraphs(cut_short(runs["digits"], unset)),
        image(bounds, "updates against steps_per_epoch with both bounds"),
        "",
    ]
    return "\n".join(sections)


def _paragraphs(lines: list[str]) -> list[str]:
    return [part for line in lines for part in (line, "")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuning.study", description=__doc__)
    parser.add_argument("--results", type=Path, default=ROOT / "results",
                        help="where the runs live (default: results/)")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs",
                        help="where findings.md and its plots go (default: docs/)")
    parser.add_argument("--fresh", action="store_true", help="re-run every experiment from scratch")
    parser.add_argument("--no-run", action="store_true",
                        help="only rewrite the findings from runs already in --results")
    args = parser.parse_args(argv)
    specs = [ROOT / "experiments" / f"{name}.toml" for name in EXPERIMENTS]
    if not args.no_run:
        run_experiments(specs, args.results, args.fresh)
    runs = {path.stem: load(path, args.results) for path in specs}
    args.docs.mkdir(parents=True, exist_ok=True)
    out = args.docs / "findings.md"
    out.write_text(findings(runs, args.docs), encoding="utf-8")
    print(f"findings: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
