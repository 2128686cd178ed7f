"""Is the stated score what the recommended configuration really delivers?

For each case (a data set and a small grid) and each experiment seed, the tool runs as a user
runs it; then every configuration of the grid is trained again with many fresh seeds on the
same training rows, and scored on rows no search ever saw: for generated data a large fresh
sample from the same generator, for a shipped set its test rows (held back by the split).
That many-seed mean is the configuration's true score. Printed per case and overall:

- before: what a report used to state, the top trial's raw holdout score (and its Wilson
  interval), minus the true score of that configuration;
- after: the score summary.json states (and its interval), minus the recommended
  configuration's true score;
- regret: how far the picked configuration's true score is below the best configuration's.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import print_table, run_cli, write_csv
from tuning.spec.tomlwrite import to_toml

#: Rows of generated data the search sees, and fresh rows that measure the truth.
GENERATED_ROWS = 3000
FRESH_ROWS = 20000
FLIPPED = 0.15

@dataclass(frozen=True)
class Case:
    name: str
    source: str
    steps: tuple[int, ...]
    splits: tuple[float, ...]
    epochs: int
    generated: bool = False

    def configurations(self) -> list[tuple[int, float]]:
        return [(s, v) for s in self.steps for v in self.splits]


CASES = (
    Case("noisy4", "npz:noisy4.npz", (4, 32), (0.1, 0.2), 10, generated=True),
    Case("digits", "sklearn:digits", (16, 128), (0.1, 0.2), 10),
    Case("wine", "sklearn:wine", (2, 16), (0.15, 0.3), 20),
)


def noisy_classes(rows: int, seed: int, classes: int = 4, features: int = 10,
                  flipped: float = FLIPPED) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Gaussian classes with a share of labels flipped to another class, so no
    model can exceed about 1 - flipped: a winner's curse has room to show."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(12345).normal(0, 1.2, size=(classes, features))
    y = rng.integers(0, classes, rows)
    x = centres[y] + rng.normal(0, 1.5, size=(rows, features))
    flip = rng.random(rows) < flipped
    y = np.where(flip, (y + rng.integers(1, classes, rows)) % classes, y)
    return x.astype(np.float32), y


def run(seeds: int = 4, truth_seeds: int = 3, cases: tuple[str, ...] | None = None,
        folder: Path | None = None, results: Path | None = None) -> list[dict[str, Any]]:
    """Every case under `seeds` experiment seeds; the truth from `truth_seeds` fresh seeds."""
    work = Path(folder or tempfile.mkdtemp(prefix="bench-truth-"))
    chosen = [c for c in CASES if cases is None or c.name in cases]
    rows = []
    for index in range(seeds):  # every case once before any twice: partial runs still tell
        for case in chosen:
            fresh = None
            if case.generated:  # a new sample per run, so one lucky sample cannot bias all
                x, y = noisy_classes(GENERATED_ROWS + FRESH_ROWS, seed=2024 + index)
                np.savez(work / "noisy4.npz", x=x[:GENERATED_ROWS], y=y[:GENERATED_ROWS])
                fresh = (x[GENERATED_ROWS:], y[GENERATED_ROWS:])
            rows.append(one(case, 100 + index, truth_seeds, work, fresh))
            print("truth:", {k: round(v, 4) if isinstance(v, float) else v
                             for k, v in rows[-1].items()}, flush=True)
    summary = summarise(rows)
    write_csv("truth", rows, *([results] if results else []))
    write_csv("truth_summary", summary, *([results] if results else []))
    print_table("Stated score minus the configuration's many-seed mean, per run", rows)
    print_table("Overall (goal: |after error| <= 0.01 on average, interval covering the true "
                "mean in >= 9 of 10 runs, regret <= 0.01)", summary)
    return rows


def one(case: Case, seed: int, truth_seeds: int, work: Path,
        fresh: tuple[np.ndarray, np.ndarray] | None) -> dict[str, Any]:
    """One search as a user runs it, then the truth of every configuration of its grid."""
    from tuning.verdicts.ranking import load_run

    folder = work / f"{case.name}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    spec_path = folder / "spec.toml"
    source = case.source.replace("npz:", f"npz:{work}/") if case.generated else case.source
    spec_path.write_text(to_toml({
        "experiment": {"name": f"{case.name}-{seed}", "seed": seed},
        "data": {"source": source, "holdout": 0.2},
        "model": {"builder": "tuning.models:mlp", "task": "classification", "metric": "accuracy"},
        "budget": {"semantics": "partition", "epochs": case.epochs},
        "search": {"tuner": "grid", "objective": "holdout_accuracy",
                   "space": {"steps_per_epoch": list(case.steps),
                             "validation_split": list(case.splits)}},
        "resources": {"device": "cpu", "workers": 1},
    }))
    out = folder / "run"
    wall = run_cli(spec_path, out)
    summary = json.loads((out / "summary.json").read_text())
    run = load_run(out)
    top = run.trials.iloc[0]
    truth = true_scores(spec_path, case, truth_seeds, fresh)
    best_truth = max(truth.values())
    before_config = (int(top["steps_per_epoch"]), float(top["validation_split"]))
    recommended = summary["recommended"]
    after_config = (int(recommended["hyperparameters"]["steps_per_epoch"]),
                    float(recommended["hyperparameters"]["validation_split"]))
    low, high = recommended["interval"]
    before_true, after_true = truth[before_config], truth[after_config]
    return {
        "case": case.name, "seed": seed, "search_s": round(wall, 1),
        "before_score": float(top["holdout_accuracy"]),
        "before_error": float(top["holdout_accuracy"]) - before_true,
        "before_covered": bool(top["low"] <= before_true <= top["high"]),
        "before_regret": best_truth - before_true,
        "after_score": recommended["score"], "after_error": recommended["score"] - after_true,
        "after_covered": bool(low <= after_true <= high),
        "after_regret": best_truth - after_true,
        "after_width": high - low,
    }


def true_scores(spec_path: Path, case: Case, truth_seeds: int,
                fresh: tuple[np.ndarray, np.ndarray] | None) -> dict[tuple[int, float], float]:
    """Each configuration's mean accuracy over `truth_seeds` fresh training seeds, trained on
    the run's own training rows (the tool's own fit), scored on rows no search saw."""
    import keras
    import keras_tuner as kt

    from tuning.data.dataset import load_dataset
    from tuning.spec.schema import load_spec
    from tuning.training.hypermodel import StepsHyperModel

    spec = load_spec(spec_path)
    dataset = load_dataset(spec)
    if fresh is not None:
        # The fresh rows become the test rows: appended after the stored ones, in memory.
        n = len(dataset.y)
        dataset = replace(dataset, x=np.concatenate([dataset.x, fresh[0].astype(dataset.x.dtype)]),
                          y=np.concatenate([dataset.y, fresh[1].astype(dataset.y.dtype)]),
                          test=np.arange(n, n + len(fresh[1])))
    hypermodel = StepsHyperModel(spec, dataset)
    truth = {}
    for steps, split in case.configurations():
        hp = kt.HyperParameters()
        hypermodel.declare_hyperparameters(hp)
        hp.values.update(steps_per_epoch=steps, validation_split=split)
        scores = []
        for k in range(truth_seeds):
            seed = 10_000 + k
            keras.utils.set_random_seed(seed)
            hypermodel.fit(hp, hypermodel.build(hp), seed=seed)
            predicted = hypermodel.last_run.predictions["test_pred"]
            scores.append(float(np.mean(predicted == dataset.y_test)))
            keras.backend.clear_session()
        truth[(steps, split)] = float(np.mean(scores))
    return truth


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean error, mean absolute error, coverage and regret, before and after."""
    out = []
    for when in ("before", "after"):
        errors = np.array([r[f"{when}_error"] for r in rows])
        out.append({
            "stated": when, "runs": len(rows),
            "mean_error": float(errors.mean()), "mean_abs_error": float(np.abs(errors).mean()),
            "covered": f"{sum(r[f'{when}_covered'] for r in rows)}/{len(rows)}",
            "mean_regret": float(np.mean([r[f"{when}_regret"] for r in rows])),
            "max_regret": float(np.max([r[f"{when}_regret"] for r in rows])),
        })
    return out
