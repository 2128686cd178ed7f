"""What the study runs: each experiment is one search, every configuration once per seed.

The grids are sized to finish within 30 minutes on 2 cores (`QUICK` in about a minute, for
the test suite). The memory budget was set from peaks measured here (a 1,150-row batch needed
about 640 MiB above the worker's footprint, 575 rows at most about 335 MiB), so it binds
between the largest batch and the next. Every experiment is written out as an ordinary spec,
so each run is a search like any other: `python -m tuning run` resumes it, `make report`
reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study.datasets import NoisyTable
from tuning.data.splits import validation_rows
from tuning.spec.tomlwrite import to_toml
from tuning.training.budget import Plan, plan

#: The memory model: digits (64 features, 10 classes) through one very wide layer, so the
#: activations of a batch dominate memory and a budget can bind in the middle of the grid.
DIGITS = "sklearn:digits"
DIGITS_ROWS, DIGITS_FEATURES, DIGITS_CLASSES = 1797, 64, 10
#: The spec's seed: one shuffle, holdout and validation split shared by every trial.
DATA_SEED = 7
_HEADER = ("# Written by the study (python -m study); an ordinary spec: "
           "`python -m tuning run` resumes it.\n")


@dataclass(frozen=True)
class Experiment:
    """One search, its run directory named `key`. Seeds are a searched dimension
    (`replicate`): every configuration runs once per seed as its own trial, with its own
    initialisation and batch order, on the same data split (the spec's seed)."""

    key: str
    claim: str                      # "overfitting" | "memory"
    semantics: str                  # "partition" | "stream"
    steps: tuple[int, ...]
    epochs: int
    seeds: tuple[int, ...]
    table: NoisyTable | None = None  # None: digits
    batch_sizes: tuple[int, ...] = ()  # stream only; searched when more than one
    max_steps: int | None = None
    units: int = 128
    layers: int = 2
    learning_rate: float = 3e-4
    validation_split: float = 0.2
    holdout: float = 0.2
    memory_budget: str | None = None
    workers: int = 2
    note: str = ""

    @property
    def rows(self) -> int:
        return self.table.rows if self.table else DIGITS_ROWS

    @property
    def n_train(self) -> int:
        """Training rows of each trial, cut as the tool cuts them."""
        pool = self.rows - round(self.rows * self.holdout)
        return pool - validation_rows(pool, self.validation_split)

    @property
    def params(self) -> int:
        """Weights of the MLP, for the time estimate."""
        features = self.table.features if self.table else DIGITS_FEATURES
        outputs = 2 if self.table else DIGITS_CLASSES
        widths = [features] + [self.units] * self.layers + [outputs]
        return sum(a * b + b for a, b in zip(widths, widths[1:]))

    def spec_text(self, source: str) -> str:
        """The TOML spec of the run; `source` is relative to the spec file."""
        space: dict[str, Any] = {
            "steps_per_epoch": list(self.steps),
            "replicate": list(self.seeds),
            "validation_split": [self.validation_split],
            "units": [self.units],
            "layers": [self.layers],
            "learning_rate": [self.learning_rate],
        }
        if len(self.batch_sizes) > 1:
            space["batch_size"] = list(self.batch_sizes)
        budget: dict[str, Any] = {"semantics": self.semantics, "epochs": self.epochs}
        if self.max_steps:
            budget["max_steps"] = self.max_steps
        if len(self.batch_sizes) == 1:
            budget["batch_size"] = self.batch_sizes[0]
        resources: dict[str, Any] = {"workers": self.workers}
        if self.memory_budget:
            resources["memory_budget"] = self.memory_budget
        return _HEADER + to_toml({
            "experiment": {"name": self.key, "seed": DATA_SEED, "description": self.note},
            "data": {"source": source, "holdout": self.holdout},
            "model": {"builder": "tuning.models:mlp", "task": "classification",
                      "metric": "accuracy"},
            "budget": budget,
            "search": {"tuner": "grid", "objective": "holdout_accuracy", "space": space},
            "resources": resources,
        })

    def trials(self) -> list[Plan]:
        """The training plan of every trial, as the tool makes it (for the time estimate)."""
        return [plan(self.semantics, self.n_train, steps, self.epochs, self.max_steps,
                     batch_size=batch or None)
                for steps in self.steps for _ in self.seeds for batch in self.batch_sizes or (0,)]


@dataclass(frozen=True)
class Design:
    """One version of the study (full, or quick for the tests): its experiments."""

    experiments: tuple[Experiment, ...]
    label: str



NOISY = NoisyTable(rows=2000, features=16, label_noise=0.2)
CLEAN = NoisyTable(rows=2000, features=16, label_noise=0.0)
FIVE_SEEDS = (1, 2, 3, 4, 5)
THREE_SEEDS = (1, 2, 3)

FULL = Design(label="full", experiments=(
    Experiment("overfit-partition", "overfitting", "partition", (1, 4, 16, 64), epochs=64,
               seeds=FIVE_SEEDS, table=NOISY,
               note="20% flipped labels, 2x128 MLP, partition: steps_per_epoch sets the batch"),
    Experiment("overfit-stream", "overfitting", "stream", (4, 16, 64, 256), epochs=64,
               seeds=FIVE_SEEDS, table=NOISY, batch_sizes=(80,), max_steps=2048,
               note="20% flipped labels, 2x128 MLP, stream: batch 80, max_steps 2048"),
    Experiment("overfit-clean", "overfitting", "partition", (1, 4, 16, 64), epochs=64,
               seeds=THREE_SEEDS, table=CLEAN,
               note="the same table with clean labels, partition"),
    Experiment("memory-partition", "memory", "partition", (1, 2, 4, 8, 16), epochs=1,
               seeds=THREE_SEEDS, units=65536, layers=1, learning_rate=1e-3,
               memory_budget="448MiB",
               note="a 65,536-unit layer on digits under 448 MiB, partition"),
    Experiment("memory-stream", "memory", "stream", (1, 4, 16), epochs=1,
               seeds=THREE_SEEDS, units=65536, layers=1, learning_rate=1e-3,
               batch_sizes=(288, 1150), memory_budget="448MiB",
               note="the same model and budget, stream with batches of 288 and 1150 rows"),
))

_TINY = NoisyTable(rows=400, features=8, label_noise=0.2)
#: Two small searches, for the tests: every section is computed from real runs (the bound
#: from the first one's max_steps), though too few trials to decide much.
QUICK = Design(label="quick", experiments=(
    Experiment("overfit-partition", "overfitting", "partition", (2, 8), epochs=4,
               seeds=(1, 2), table=_TINY, units=32, learning_rate=3e-3, max_steps=16,
               workers=1),
    Experiment("memory-partition", "memory", "partition", (1, 16), epochs=1, seeds=(1,),
               units=32768, layers=1, learning_rate=1e-3, memory_budget="200MiB", workers=1),
))


def source_for(experiment: Experiment, data_dir: Path, spec_dir: Path) -> str:
    """The spec's `[data] source`: the generated table (written now) or digits."""
    if experiment.table is None:
        return DIGITS
    path = experiment.table.write(data_dir)
    return f"npz:{Path(_relative(path, spec_dir)).as_posix()}"


def _relative(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path, start)
