"""Hand-made run directories for the report tests: no training, every shape the report meets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from tuning.spec.schema import Spec, parse_spec
from tuning.spec.tomlwrite import to_toml
from tuning.verdicts.ranking import rank


def run_spec(name: str, *, steps: list[int], splits: list[float], metric: str = "accuracy",
             objective: str | None = None, tuner: str = "grid", search: dict | None = None,
             space: dict | None = None) -> str:
    """The spec.toml of a hand-made run: a digits search as the report reads it back."""
    return to_toml({
        "experiment": {"name": name, "seed": 7},
        "data": {"source": "sklearn:digits", "holdout": 0.2},
        "model": {"task": "classification" if metric == "accuracy" else "regression",
                  "metric": metric},
        "budget": {"semantics": "partition", "epochs": 4},
        "search": {"tuner": tuner, "objective": objective or f"holdout_{metric}", **(search or {}),
                   "space": {"steps_per_epoch": steps, "validation_split": splits,
                             **(space or {})}},
    })


def make_run(root: Path, *, n_trials: int = 12, metric: str = "accuracy", executions: int = 1,
             budget_mb: float | None = 300.0, name: str = "digits-mlp", seed: int = 0,
             statuses: dict[int, str] | None = None, objective: str | None = None,
             n_holdout: int | None = 360, epochs: int = 4) -> Path:
    """Write spec.toml, run.json, trials.csv and curves.csv for `n_trials` synthetic trials.

    Memory falls as steps_per_epoch rises (partition semantics), the smallest steps run out
    of memory under the budget, and the gap grows with steps_per_epoch, so the folk rules
    have something to hold or fail on. `statuses` forces the status of chosen trials.
    """
    rng = np.random.default_rng(seed)
    run_dir = root / name
    run_dir.mkdir(parents=True)
    steps_values = [1, 2, 4, 8, 16, 32]
    split_values = [0.1, 0.2, 0.3]
    (run_dir / "spec.toml").write_text(run_spec(
        name, steps=steps_values, splits=split_values, metric=metric, objective=objective,
        tuner="grid" if n_trials <= 36 else "random",
        search={"executions_per_trial": executions} if executions > 1 else None,
        space={"learning_rate": [0.001, 0.01]}))
    info = {"experiment": name, "started": "2025-01-02T03:04:05", "finished":
            "2025-01-02T03:30:00", "state": "finished", "workers": 2,
            "memory_budget_mb": budget_mb, "n_holdout": n_holdout, "n_pool": 1437}
    (run_dir / "run.json").write_text(json.dumps(info))

    rows, curves = [], []
    n_pool = 1437
    for i in range(n_trials):
        steps = steps_values[i % len(steps_values)]
        split = split_values[(i // len(steps_values)) % len(split_values)]
        lr = [0.001, 0.01][(i // 18) % 2]
        batch = math.ceil(n_pool * (1 - split) / steps)
        peak = 40 + batch * 0.5 + rng.normal(0, 2)
        status = "ok"
        if budget_mb is not None and peak > budget_mb:
            status = "oom"
        status = (statuses or {}).get(i, status)
        tid = f"{i:02d}" if n_trials <= 100 else f"{i:04d}"
        row = {"trial_id": tid, "status": status, "steps_per_epoch": steps,
               "validation_split": split, "batch_size": batch,
               "effective_steps_per_epoch": steps, "memory_budget_mb": budget_mb,
               "executions": executions, "worker": i % 2, "learning_rate": lr, "message": ""}
        if status != "ok":
            row["message"] = (f"out of memory at batch size {batch} (budget {budget_mb} MiB): "
                              "ResourceExhaustedError: OOM <alloc> & \"quoted\"")
            if status == "error":
                row["message"] = "ValueError: <script>alert('x')</script>"
            rows.append(row)
            continue
        quality = 0.9 + 0.01 * math.log2(steps) - 0.05 * split + rng.normal(0, 0.01)
        train_losses = [1.2 / (e + 1) / (1 + 0.1 * steps) for e in range(epochs)]
        val_losses = [t + 0.02 * steps * e / epochs + 0.05 for e, t in enumerate(train_losses)]
        best = int(np.argmin(val_losses)) + 1
        score = min(quality, 0.999) if metric == "accuracy" else 1.5 - quality
        row.update({
            "epochs_run": epochs, "updates": steps * epochs,
            "samples_seen": int(n_pool * (1 - split)) * epochs, "best_epoch": best,
            "train_loss": train_losses[best - 1], "val_loss": val_losses[best - 1],
            "holdout_loss": 1 - quality, f"holdout_{metric}": score,
            f"val_{metric}": score - 0.01, "gap": val_losses[best - 1] - train_losses[best - 1],
            "peak_memory_mb": peak, "wall_s": 2 + steps * 0.3 + rng.uniform(0, 0.5),
            f"holdout_{metric}_std": 0.01 if executions > 1 else None,
        })
        rows.append(row)
        for execution in range(executions):
            for epoch in range(epochs):
                curves.append({
                    "trial_id": tid, "execution": execution, "epoch": epoch + 1,
                    "updates": steps * (epoch + 1),
                    "samples_seen": int(n_pool * (1 - split)) * (epoch + 1),
                    "loss": train_losses[epoch], "val_loss": val_losses[epoch],
                    metric: score, f"val_{metric}": score - 0.01,
                })
    columns = ["trial_id", "status", "steps_per_epoch", "validation_split", "batch_size",
               "effective_steps_per_epoch", "epochs_run", "updates", "samples_seen",
               "best_epoch", "train_loss", "val_loss", "holdout_loss", f"holdout_{metric}",
               f"val_{metric}", "gap", "peak_memory_mb", "wall_s", "message", "executions",
               f"holdout_{metric}_std", "memory_budget_mb", "worker", "learning_rate"]
    pd.DataFrame(rows).reindex(columns=columns).to_csv(run_dir / "trials.csv", index=False)
    curve_columns = ["trial_id", "execution", "epoch", "updates", "samples_seen", "loss",
                     "val_loss", metric, f"val_{metric}"]
    pd.DataFrame(curves).reindex(columns=curve_columns).to_csv(run_dir / "curves.csv",
                                                               index=False)
    return run_dir


def make_spec(metric: str = "accuracy", objective: str | None = None, executions: int = 1,
              semantics: str = "partition") -> Spec:
    """A Spec built in memory, for tables that never touch a run directory."""
    raw = {
        "experiment": {"name": "hand-made"},
        "data": {"source": "sklearn:digits"},
        "model": {"task": "classification" if metric == "accuracy" else "regression",
                  "metric": metric},
        "budget": {"semantics": semantics},
        "search": {"objective": objective or f"holdout_{metric}",
                   "executions_per_trial": executions,
                   "space": {"steps_per_epoch": [2, 8, 32], "validation_split": [0.1, 0.2]}},
    }
    return parse_spec(raw, Path("hand-made.toml"))


def ranked(rows: list[dict], spec: Spec | None = None, info: dict | None = None) -> pd.DataFrame:
    """A hand-made trials table, ranked as the report ranks it."""
    spec = spec or make_spec()
    frame = pd.DataFrame(rows)
    frame["trial_id"] = frame["trial_id"].astype(str)
    return rank(frame, spec, info if info is not None else {"n_holdout": 200, "n_pool": 800})
