"""The findings' figures, each a plain function from measured runs to a PNG file.

Figures are built on `matplotlib.figure.Figure` directly, never through pyplot's global state,
so drawing one cannot leak into another and nothing needs closing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from study.measures import Measured, best_epochs, equal_point, memory_needed

_TITLES = {"partition": "partition: steps_per_epoch sets the batch",
           "stream": "stream: fixed batch, steps_per_epoch counts batches"}


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _plain(axis) -> None:
    """Tick labels as plain numbers (1, 4, 1000) on a log axis, not powers."""
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _colours(steps) -> dict[int, tuple]:
    from matplotlib import colormaps

    steps = sorted(int(s) for s in steps)
    cmap = colormaps["viridis"]
    return {s: cmap(i / max(1, len(steps) - 1) * 0.9) for i, s in enumerate(steps)}


def gap_against_updates(runs: list[Measured], path: Path) -> Path:
    """The gap against updates for each steps_per_epoch: the median of the seeds as a line,
    their range as a band; the dashed line is where the equal-updates verdict is read."""
    fig = Figure(figsize=(5 * len(runs), 4.2))
    axes = fig.subplots(1, len(runs), squeeze=False)[0]
    for ax, run in zip(axes, runs):
        curves = run.curves
        colours = _colours(curves["steps_per_epoch"].unique())
        for steps, colour in colours.items():
            mine = curves[curves["steps_per_epoch"] == steps]
            by_epoch = mine.groupby("epoch").agg(
                updates=("updates", "median"), mid=("gap", "median"),
                low=("gap", "min"), high=("gap", "max"))
            batch = int(mine["batch_size"].iloc[0])
            ax.plot(by_epoch["updates"], by_epoch["mid"], color=colour,
                    label=f"{steps} steps/epoch (batch {batch})")
            ax.fill_between(by_epoch["updates"], by_epoch["low"], by_epoch["high"],
                            color=colour, alpha=0.25, linewidth=0)
        point = equal_point(run, "updates")
        if point is not None:
            ax.axvline(point.value, color="grey", linestyle="--", linewidth=1)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xscale("log")
        _plain(ax.xaxis)
        ax.set(xlabel="updates (log scale)", ylabel="validation loss − training loss",
               title=f"{run.experiment.key}\n{_TITLES[run.experiment.semantics]}")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7, title=f"{len(run.seeds)} seeds: median, range", title_fontsize=7)
    return _save(fig, path)


def best_epoch_against_steps(runs: list[Measured], path: Path) -> Path:
    """When the validation loss was lowest, in epochs and in updates, against steps_per_epoch.
    Hollow markers: the loss never turned (best at the last epoch), a lower bound."""
    fig = Figure(figsize=(10, 4))
    by_epoch, by_update = fig.subplots(1, 2)
    markers = ("o", "s", "^", "D")
    for index, run in enumerate(runs):
        best = best_epochs(run)
        if best.empty:
            continue
        marker = markers[index % len(markers)]
        jitter = 1 + 0.04 * (index - (len(runs) - 1) / 2)
        for ax, column in ((by_epoch, "best_epoch"), (by_update, "best_updates")):
            median = best.groupby("steps_per_epoch")[column].median()
            line = ax.plot(median.index * jitter, median.values, alpha=0.9,
                           label=f"{run.experiment.key}")[0]
            for turned, face in ((True, line.get_color()), (False, "none")):
                mine = best[best["turned"] == turned]
                ax.scatter(mine["steps_per_epoch"] * jitter, mine[column], marker=marker,
                           facecolors=face, edgecolors=line.get_color(), s=28)
    by_epoch.set(ylabel="best epoch", title="Epoch of lowest validation loss")
    by_update.set(ylabel="updates at the best epoch", title="The same, counted in updates")
    by_update.set_yscale("log", base=2)
    for ax in (by_epoch, by_update):
        ax.set_xscale("log", base=2)
        _plain(ax.xaxis)
        ax.set_xlabel("steps_per_epoch (log scale)")
        ax.title.set_fontsize(10)
    _plain(by_update.yaxis)
    by_epoch.legend(fontsize=7, title="lines: median of seeds; hollow: never turned",
                    title_fontsize=7)
    return _save(fig, path)


def memory_against_batch(runs: list[Measured], path: Path) -> Path:
    """Peak memory against the batch size under the budget, both semantics: crosses are
    trials that ran out of memory (drawn at the budget, the least they needed)."""
    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    budget = None
    for run, marker in zip(runs, ("o", "s")):
        needed = memory_needed(run)
        ok, oom = needed[needed["status"].eq("ok")], needed[needed["status"].eq("oom")]
        colours = _colours(run.trials["steps_per_epoch"].unique())
        offset = 1.04 if marker == "s" else 0.96
        for steps, colour in colours.items():
            mine = ok[ok["steps_per_epoch"] == steps]
            if mine.empty:
                continue
            ax.scatter(mine["batch_size"] * offset, mine["peak_memory_mb"], marker=marker,
                       color=colour, s=30,
                       label=f"{run.experiment.semantics}, {steps} steps/epoch")
        if not oom.empty:
            ax.scatter(oom["batch_size"] * offset, oom["needed_mb"], marker="x", color="red",
                       s=60, label=f"{run.experiment.semantics}: out of memory")
        skipped = run.trials[run.trials["status"].eq("skipped_oom")]
        if not skipped.empty:
            budget_mb = float(run.trials["memory_budget_mb"].dropna().iloc[0])
            ax.scatter(skipped["batch_size"] * offset, [budget_mb] * len(skipped),
                       marker="x", color="salmon", s=30,
                       label=f"{run.experiment.semantics}: skipped (same batch ran out)")
        values = run.trials["memory_budget_mb"].dropna()
        budget = float(values.iloc[0]) if len(values) else budget
    if budget is not None:
        ax.axhline(budget, color="red", linestyle=":", linewidth=1,
                   label=f"budget {budget:.0f} MiB")
    ax.set_xscale("log")
    _plain(ax.xaxis)
    ax.set(xlabel="batch size (rows, log scale)", ylabel="peak memory above start (MiB)",
           title="Peak memory of each trial against its batch, under the budget")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=6, loc="upper left")
    ax.set_ylim(bottom=0, top=np.nanmax([budget or 0, ax.get_ylim()[1]]) * 1.1)
    return _save(fig, path)
