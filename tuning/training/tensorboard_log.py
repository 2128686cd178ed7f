"""Each trial's curves and hyperparameters for TensorBoard's HParams dashboard.

Written by the worker that ran the trial, once it ended, under
`run_dir/tensorboard/trial_<id>/`, so `tensorboard --logdir run_dir/tensorboard` shows every
trial side by side. Curves are stepped on optimizer updates, not epochs: an epoch is different
work for different steps_per_epoch.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from tuning.records.trials import (
    BATCH_SIZE,
    BEST_EPOCH,
    EPOCHS_RUN,
    GAP,
    PEAK_MEMORY_MB,
    SAMPLES_SEEN,
    STATUS,
    TRAIN_LOSS,
    TRIAL_ID,
    UPDATES,
    WALL_S,
)
from tuning.spec.objective import PARTS

#: Row columns that are not per-epoch values in a curve row.
_CURVE_KEYS = ("trial_id", "execution", "epoch", "updates", "samples_seen")
#: Final numbers of a row worth comparing across trials, besides holdout_* and val_*.
_FINAL_KEYS = (TRAIN_LOSS, GAP, BEST_EPOCH, EPOCHS_RUN, UPDATES, SAMPLES_SEEN, PEAK_MEMORY_MB,
               WALL_S)


def log_trial(run_dir: Path, row: dict[str, Any], curves: list[dict[str, Any]],
              hp_values: dict[str, Any]) -> None:
    """Write (or rewrite) the trial's TensorBoard events: HParams session, curves, finals."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hparams_api

    logdir = Path(run_dir) / "tensorboard" / f"trial_{row['trial_id']}"
    logdir.mkdir(parents=True, exist_ok=True)
    for stale in logdir.glob("events.out.tfevents.*"):
        stale.unlink()  # a re-run trial replaces its events instead of doubling them
    writer = tf.summary.create_file_writer(str(logdir))
    try:
        with writer.as_default():
            hparams_api.hparams(hparams(row, hp_values), trial_id=str(row[TRIAL_ID]))
            for updates, values in mean_curve(curves):
                for name, value in values.items():
                    tf.summary.scalar(f"epoch/{name}", value, step=updates)
            last = _number(row.get(UPDATES))
            step = int(last) if last is not None else 0
            for name, value in final_metrics(row).items():
                tf.summary.scalar(f"final/{name}", value, step=step)
    finally:
        writer.close()


def hparams(row: dict[str, Any], hp_values: dict[str, Any]) -> dict[str, bool | int | float | str]:
    """The searched values plus status and batch size, as the types TensorBoard accepts."""
    values = {**hp_values}
    values.setdefault("batch_size", row.get(BATCH_SIZE))
    values["status"] = row.get(STATUS, "unknown")
    return {str(k): _plain(v) for k, v in values.items() if v is not None}


def mean_curve(curves: list[dict[str, Any]]) -> list[tuple[int, dict[str, float]]]:
    """(updates, metric -> value) per epoch, averaged over executions, finite values only."""
    by_epoch: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for point in curves:
        by_epoch[int(point["epoch"])].append(point)
    result = []
    for epoch in sorted(by_epoch):
        points = by_epoch[epoch]
        updates = [u for p in points if (u := _number(p.get("updates"))) is not None]
        if not updates:
            continue
        names = sorted({k for p in points for k in p if k not in _CURVE_KEYS})
        values = {}
        for name in names:
            numbers = [x for p in points if (x := _number(p.get(name))) is not None]
            if numbers:
                values[name] = sum(numbers) / len(numbers)
        result.append((int(round(sum(updates) / len(updates))), values))
    return result


def final_metrics(row: dict[str, Any]) -> dict[str, float]:
    """The row's finite final numbers that compare trials (scores, gap, cost)."""
    keys = [k for k in row if k.startswith(tuple(f"{p}_" for p in PARTS)) or k in _FINAL_KEYS]
    return {k: x for k in keys if (x := _number(row[k])) is not None}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _plain(value: Any) -> bool | int | float | str:
    """numpy scalars to Python ones; anything else TensorBoard cannot hold to text."""
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, bool | int | float | str) else str(value)
