"""Every shipped experiment is a working example: it validates, its data loads, its measured
run time is written down, and the user builder it shows off handles its conditional names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pytest
from conftest import trial_arrays

from tuning.data.dataset import load_dataset
from tuning.spec.builders import load_builder
from tuning.spec.schema import load_spec
from tuning.spec.space import declare_space

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
SPECS = sorted(EXPERIMENTS.glob("*.toml"))


def test_the_shipped_experiments_are_there() -> None:
    names = {p.stem for p in SPECS}
    assert {"noisy_wide", "digits", "digits_cnn_stream", "breast_cancer", "diabetes",
            "wine_csv", "memory"} <= names


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_validates_from_the_command_line(spec: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tuning", "validate", str(spec)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("ok: spec and data are valid")


@pytest.mark.parametrize("spec", [p for p in SPECS if p.stem != "digits"], ids=lambda p: p.stem)
def test_states_its_measured_run_time(spec: Path) -> None:
    assert "# Measured:" in spec.read_text()


def test_make_tune_runs_the_documented_default_grid() -> None:
    """`make tune` runs noisy_wide.toml, and `validate` prints the grid the README and the
    spec's header describe: batches of 675 rows and more at steps_per_epoch = 1 (out of
    memory under the budget), 405 and fewer from 2 up, 12 epochs each."""
    makefile = (EXPERIMENTS.parent / "Makefile").read_text()
    assert "EXPERIMENT ?= experiments/noisy_wide.toml" in makefile.splitlines()
    spec = load_spec(EXPERIMENTS / "noisy_wide.toml")
    assert spec.resources.memory_budget == 240 * 2**20 and spec.resources.workers == "auto"
    done = subprocess.run([sys.executable, "-m", "tuning", "validate",
                           str(EXPERIMENTS / "noisy_wide.toml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["steps_per_epoch",
                                                                          "validation_split"])
    columns = lines[header].split()
    rows = [dict(zip(columns, line.split())) for line in lines[header + 1:header + 25]]
    grid = {(int(r["steps_per_epoch"]), float(r["validation_split"])): int(r["batch_size"])
            for r in rows}
    assert set(grid) == {(s, v) for s in (1, 2, 4, 8, 16, 32) for v in (0.25, 0.2, 0.15, 0.1)}
    assert min(b for (s, _), b in grid.items() if s == 1) == 675
    assert max(b for (s, _), b in grid.items() if s > 1) == 405
    assert {r["epochs"] for r in rows} == {"12"} and {r["units"] for r in rows} == {"32768"}


def test_csv_experiment_loads_through_csv() -> None:
    spec = load_spec(EXPERIMENTS / "wine_csv.toml")
    assert spec.data.source.startswith("csv:") and spec.data.target == "cultivar"
    dataset = load_dataset(spec)
    assert dataset.n_outputs == 3
    assert len(dataset.pool) + len(dataset.holdout) + len(dataset.test) == 178
    assert dataset.input_shape == (13,)
    assert (EXPERIMENTS / "data" / "wine.csv").stat().st_size < 200_000


def test_memory_experiments_search_one_wide_model_under_one_budget() -> None:
    partition = load_spec(EXPERIMENTS / "memory.toml")
    stream = load_spec(EXPERIMENTS / "memory_stream.toml")
    assert partition.resources.memory_budget == stream.resources.memory_budget is not None
    assert (partition.budget.semantics, stream.budget.semantics) == ("partition", "stream")
    assert partition.search.dimension("units") == stream.search.dimension("units")


def test_stream_experiment_is_bounded_by_steps_and_epochs() -> None:
    spec = load_spec(EXPERIMENTS / "digits_cnn_stream.toml")
    steps = spec.search.dimension("steps_per_epoch").values
    budget = spec.budget
    assert budget.semantics == "stream" and budget.max_steps is not None
    bound_by = {"epochs" if s * budget.epochs <= budget.max_steps else "max_steps" for s in steps}
    assert bound_by == {"epochs", "max_steps"}


@pytest.mark.slow
def test_user_builder_follows_its_conditional_hyperparameters() -> None:
    spec = load_spec(EXPERIMENTS / "breast_cancer.toml")
    builder = load_builder(spec)
    dataset = load_dataset(spec)
    x, y, *_ = trial_arrays(dataset, 0.2)
    for regularizer, extra in (("none", {}), ("dropout", {"dropout": 0.5}), ("l2", {"l2": 1e-3})):
        hp = kt.HyperParameters()
        declare_space(hp, spec.search.space)
        hp.values["regularizer"] = regularizer
        hp.values.update(extra)
        active = {name for name in ("dropout", "l2") if hp.is_active(name)}
        assert active == set(extra)
        model = builder(hp, dataset.input_shape, dataset.n_outputs)
        kinds = {type(layer).__name__ for layer in model.layers}
        assert ("Dropout" in kinds) == (regularizer == "dropout")
        assert bool(model.losses) == (regularizer == "l2")
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        history = model.fit(x, y, batch_size=64, epochs=2, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
