"""What each trial predicted on the shared rows, kept beside its record.

Every trial is scored on the same holdout rows, so two trials are compared row by row (a
paired test), which is far sharper than two separate intervals. The test rows are predicted
too: nobody ranks on them, so the recommendation's score is stated there. Stored compactly:
one compressed `.npz` per record (predicted classes as small integers, or values, and the
per-row loss), and the true labels once per run (`labels.npz`). Pure numpy: the report
reads these without TensorFlow.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from tuning.records.trials import RECORDS, Damaged, atomic_write, read_npz
from tuning.spec.objective import Objective

LABELS = "labels.npz"
#: The parts of the rows every trial predicts: ranked on, and stated on.
PARTS = ("holdout", "test")


def path_for(run_dir: Path, record: str) -> Path:
    """`records/<record>.npz` beside `records/<record>.json`."""
    return Path(run_dir) / RECORDS / f"{record}.npz"


def save(run_dir: Path, record: str, arrays: dict[str, np.ndarray]) -> None:
    """Write one record's predictions (arrays shaped executions x rows)."""
    atomic_write(path_for(run_dir, record), _npz(arrays))


def load(run_dir: Path, record: str) -> dict[str, np.ndarray] | None:
    """One record's predictions; None when it has none, or none that can be read (its
    record is then damaged: see `tuning.records.trials.load_record`)."""
    try:
        return read_npz(path_for(run_dir, record))
    except ValueError:
        return None


def save_labels(run_dir: Path, holdout: np.ndarray, test: np.ndarray | None) -> None:
    """The true labels of the holdout and test rows, once per run, beside spec.toml."""
    arrays = {"holdout": np.asarray(holdout)}
    if test is not None and len(test):
        arrays["test"] = np.asarray(test)
    atomic_write(Path(run_dir) / LABELS, _npz(arrays))


def load_labels(run_dir: Path) -> dict[str, np.ndarray]:
    """The true labels; empty when there are none or they cannot be read (`labels_damage`
    says why): the report then pairs nothing and says so."""
    try:
        return read_npz(Path(run_dir) / LABELS) or {}
    except ValueError:
        return {}


def labels_damage(run_dir: Path) -> Damaged | None:
    """labels.npz when it is there but cannot be read (a resumed `run` writes it again)."""
    path = Path(run_dir) / LABELS
    try:
        read_npz(path)
    except ValueError as exc:
        return Damaged(path, str(exc), "damaged")
    return None


def stack(runs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One record's arrays from its executions' (each a row per part): executions x rows."""
    runs = [r for r in runs if r]
    if not runs:
        return {}
    keys = [k for k in runs[0] if all(k in r for r in runs)]
    return {k: np.stack([np.asarray(r[k]) for r in runs]) for k in keys}


def per_row(arrays: dict[str, np.ndarray] | None, labels: dict[str, np.ndarray],
            objective: str, part: str = "holdout") -> np.ndarray | None:
    """The objective's per-row values on `part`, shaped executions x rows (None if unknown).

    Their mean over the rows is the objective: accuracy is the share of rows predicted right,
    mae and mse the mean absolute and squared error, loss the mean per-row loss.
    """
    if arrays is None or part not in labels:
        return None
    name = Objective.parse(objective).quantity
    if name == "loss":
        values = arrays.get(f"{part}_loss")
        return None if values is None else np.asarray(values, dtype=float)
    predicted = arrays.get(f"{part}_pred")
    if predicted is None or predicted.shape[-1] != len(labels[part]):
        return None
    truth = labels[part].astype(float)
    predicted = np.atleast_2d(predicted).astype(float)
    if name == "accuracy":
        return (predicted == truth).astype(float)
    error = predicted - truth
    return np.abs(error) if name == "mae" else error**2


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()
