"""One plot per module, each a plain function from the records tables to a Figure.

`render_all` is the only place that knows which plots a report holds and what they are
called; it writes each PNG with fixed settings so a rebuild gives the same bytes.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from matplotlib.figure import Figure

from tuning.report.plots.cost import score_by_time
from tuning.report.plots.curves import overfitting_curves
from tuning.report.plots.gap import gap_by_steps
from tuning.report.plots.heatmap import objective_heatmap
from tuning.report.plots.memory import memory_frontier
from tuning.verdicts.ranking import Run

DPI = 100


@dataclass(frozen=True)
class Plot:
    """A written PNG and the words that go with it."""

    name: str
    title: str
    caption: str
    path: Path


#: A plot's file name, title, caption and the function that draws it.
PlotSpec = tuple[str, str, str, Callable[[], Figure]]


def _specs(run: Run) -> list[PlotSpec]:
    from tuning.verdicts.folk import gap_at_equal_samples  # folk draws on plots' formatting

    trials, curves = run.trials, run.curves
    kind = dict(objective=run.objective, maximise=run.maximise)
    return [
        ("curves_samples", "Overfitting curves (by samples seen)",
         "Training (solid) and validation (dashed) loss of the top trials; the star marks the "
         "epoch whose weights were kept, the dotted area is the gap.",
         lambda: overfitting_curves(trials, curves, x="samples_seen")),
        ("curves_updates", "Overfitting curves (by updates)",
         "The same curves against optimizer updates: trials with more steps per epoch make "
         "more updates per pass.",
         lambda: overfitting_curves(trials, curves, x="updates")),
        ("heatmap", "Objective over steps_per_epoch and validation_split",
         "Best score per cell; hatched cells have no score and say which failures they hold.",
         lambda: objective_heatmap(trials, **kind)),
        ("memory", "Memory and the out-of-memory frontier",
         "Peak memory of each trial by batch size, the per-trial budget and the batch sizes "
         "that ran out of memory.",
         lambda: memory_frontier(trials, budget_mb=run.memory_budget_mb)),
        ("gap", "Generalization gap by steps_per_epoch",
         "Validation minus training loss at the same number of samples seen for every trial "
         "(what the overfitting rule is judged on); above zero means overfitting.",
         lambda: gap_by_steps(trials, *gap_at_equal_samples(run, trials))),
        ("cost", "Score against wall time",
         "What each configuration cost; the dashed front holds the trials no faster trial "
         "beats.",
         lambda: score_by_time(trials, **kind)),
    ]


def render_all(run: Run, folder: Path) -> list[Plot]:
    """Draw every plot of `run` into `folder` as PNG (fixed names: a rebuild overwrites).

    On Linux a forked child draws every other plot meanwhile: drawing is matplotlib's own
    Python, one core's work, and the report is what a user waits for once the last trial has
    ended, with the workers' cores idle. Whatever the child did not draw is drawn here."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = _specs(run)
    helper = _draw_in_child(specs[1::2], folder)
    for spec in specs[::2] if helper is not None else specs:
        _draw(spec, folder)
    if helper is not None:
        helper.join()
        if helper.exitcode != 0:
            for spec in specs[1::2]:
                _draw(spec, folder)
    return [Plot(name, title, caption, folder / f"{name}.png")
            for name, title, caption, _ in specs]


def _draw(spec: PlotSpec, folder: Path) -> None:
    name, _, _, draw = spec
    save(draw(), folder / f"{name}.png")


def _draw_in_child(specs: list[PlotSpec], folder: Path) -> BaseProcess | None:
    """A forked process drawing `specs`, started; None where fork is not to be had, or not
    safe: in a process that has imported TensorFlow (a notebook's, through the Python API),
    a fork that collects TensorFlow's objects crashes. A search's own process has none."""
    if not sys.platform.startswith("linux") or not specs or "tensorflow" in sys.modules:
        return None
    try:
        child = mp.get_context("fork").Process(target=_draw_all, args=(specs, folder),
                                               name="steps-tuner-plots", daemon=True)
        child.start()
    except (OSError, ValueError):
        return None
    return child


def _draw_all(specs: list[PlotSpec], folder: Path) -> None:
    for spec in specs:
        _draw(spec, folder)


def save(fig: Figure, path: Path) -> None:
    """PNG with fixed dpi and no software/time metadata: byte-identical on every rebuild."""
    fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
