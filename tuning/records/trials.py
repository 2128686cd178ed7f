"""The run's records: one JSON file per finished trial, and the two tables built from them.

Each trial is written atomically to `records/trial_<id>.json` the moment it ends, by whichever
process ran it, so a crash, a kill or several writers lose nothing finished. `trials.csv` and
`curves.csv` are rebuilt from those files; the report reads only the tables.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypedDict

from tuning.records.ownership import mark, run_key
from tuning.records.status import Status
from tuning.spec.errors import UserError
from tuning.spec.objective import HOLDOUT, VALIDATION, score_column


def std_column(column: str) -> str:
    """The column of a score's standard deviation over a trial's repeated executions."""
    return f"{column}_std"


# The columns of trials.csv, named once; code reads and writes a row through these names.
TRIAL_ID: Final = "trial_id"
STATUS: Final = "status"
STEPS_PER_EPOCH: Final = "steps_per_epoch"
VALIDATION_SPLIT: Final = "validation_split"
BATCH_SIZE: Final = "batch_size"
EFFECTIVE_STEPS: Final = "effective_steps_per_epoch"
EPOCHS_RUN: Final = "epochs_run"
UPDATES: Final = "updates"
SAMPLES_SEEN: Final = "samples_seen"
BEST_EPOCH: Final = "best_epoch"
TRAIN_LOSS: Final = "train_loss"
#: The training loss measured at the epoch's end on a fixed sample of training rows, in
#: inference mode as the validation loss is; `train_loss` / `loss` is Keras's mean over the
#: epoch's batches, which lags the model's state more the more steps an epoch has.
TRAIN_LOSS_END: Final = "train_loss_end"
VAL_LOSS: Final = score_column(VALIDATION, "loss")
HOLDOUT_LOSS: Final = score_column(HOLDOUT, "loss")
GAP: Final = "gap"
PEAK_MEMORY_MB: Final = "peak_memory_mb"
WALL_S: Final = "wall_s"
MESSAGE: Final = "message"
EXECUTIONS: Final = "executions"
MEMORY_BUDGET_MB: Final = "memory_budget_mb"
WORKER: Final = "worker"
WORKER_TRIAL: Final = "worker_trial"

#: The SPEC's columns in its order; `{metric}` stands for the model's metric.
TRIAL_COLUMNS = (TRIAL_ID, STATUS, STEPS_PER_EPOCH, VALIDATION_SPLIT, BATCH_SIZE,
                 EFFECTIVE_STEPS, EPOCHS_RUN, UPDATES, SAMPLES_SEEN, BEST_EPOCH, TRAIN_LOSS,
                 VAL_LOSS, HOLDOUT_LOSS, score_column(HOLDOUT, "{metric}"),
                 score_column(VALIDATION, "{metric}"), GAP, PEAK_MEMORY_MB, WALL_S, MESSAGE)
#: Written after the SPEC columns and before the other hyperparameters.
EXTRA_COLUMNS = (TRAIN_LOSS_END, EXECUTIONS, std_column(score_column(HOLDOUT, "{metric}")),
                 MEMORY_BUDGET_MB, WORKER, WORKER_TRIAL)
CURVE_COLUMNS = (TRIAL_ID, "execution", "epoch", UPDATES, SAMPLES_SEEN, "loss", VAL_LOSS,
                 "{metric}", score_column(VALIDATION, "{metric}"), TRAIN_LOSS_END)


class TrialRow(TypedDict, total=False):
    """One trials.csv row as the records hold it. Besides these, a row holds
    `holdout_<metric>` and `val_<metric>` (see `metric_columns`), `holdout_<metric>_std`
    with repeats, and one column per hyperparameter (see `column`)."""

    trial_id: str
    status: str  # a `Status` word
    steps_per_epoch: int
    validation_split: float
    batch_size: int
    effective_steps_per_epoch: int
    epochs_run: int
    updates: int
    samples_seen: int
    best_epoch: int
    train_loss: float
    train_loss_end: float
    val_loss: float
    holdout_loss: float
    gap: float
    peak_memory_mb: float | None
    wall_s: float
    message: str
    executions: int
    memory_budget_mb: float | None
    worker: int
    worker_trial: int


def metric_columns(metric: str) -> tuple[str, str]:
    """The row's columns for the model's metric: on the holdout set and on the trial's
    validation rows."""
    return score_column(HOLDOUT, metric), score_column(VALIDATION, metric)


RECORDS = "records"


def column(name: str) -> str:
    """The table column of a hyperparameter: keras-tuner's `tuner/epochs` becomes
    `tuner_epochs`, since a slash reads as a path in most tools that open a CSV."""
    return name.replace("/", "_")


def hp_columns(values: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameter values keyed by their table columns."""
    return {column(name): value for name, value in values.items()}


def trial_path(run_dir: Path, trial_id: str) -> Path:
    return Path(run_dir) / RECORDS / f"trial_{trial_id}.json"


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write through a temporary file and rename, so readers never see half a file.

    A folder that cannot be written is a `UserError` naming the file meant and the cause
    (not the temporary file's name), so a run stops with one line saying what to fix."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except (FileExistsError, NotADirectoryError) as exc:
        raise UserError(str(path.parent), f"cannot write {path.name}: a file stands where "
                                          "a folder is needed") from exc
    except OSError as exc:
        raise UserError(str(path.parent), f"cannot write {path.name}: "
                                          f"{exc.strerror or exc}") from exc
    binary = isinstance(text, bytes)
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(str(path.parent), f"cannot write {path.name}: "
                                          f"{exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_trial(run_dir: Path, row: TrialRow, curves: list[dict[str, Any]]) -> None:
    """Save one finished trial (its table row and its per-epoch curve)."""
    write_record(trial_path(run_dir, str(row[TRIAL_ID])), row, curves)


def write_record(path: Path, row: dict[str, Any], curves: list[dict[str, Any]]) -> None:
    """A row and its curves as one JSON file (NaN written as null), marked as this run's.
    A folder at the path, or a record this search did not write (put there by hand, copied
    from another run), is set aside under another name, never lost; a damaged record of the
    search's own is replaced."""
    key = run_key(path.parent.parent)
    payload = {"row": _clean(row), "curves": [_clean(c) for c in curves]}
    if key is not None:
        payload["mark"] = mark(key, path.stem)
    if path.is_dir() or (path.is_file() and _foreign(path, key)):
        set_aside(path)
    atomic_write(path, json.dumps(payload, indent=1))


def _foreign(path: Path, key: str | None) -> bool:
    found = sound_record(path, key)
    return isinstance(found, Damaged) and found.foreign


def set_aside(path: Path) -> Path:
    """Rename `path` to `<name>.set-aside` (numbered when taken): out of the tool's way,
    its content kept."""
    target = path.with_name(f"{path.name}.set-aside")
    number = 1
    while target.exists() or target.is_symlink():
        number += 1
        target = path.with_name(f"{path.name}.set-aside-{number}")
    path.rename(target)
    return target


@dataclass(frozen=True)
class Damaged:
    """A file of the run that cannot be used (cut short, edited, not JSON, not written by
    this search): left out of the tables and the report; a record's trial is trained again
    by the next `run`."""

    path: Path
    reason: str
    what: str = "damaged record"

    @property
    def foreign(self) -> bool:
        """A sound record, but not one this search wrote."""
        return self.what == FOREIGN

    @property
    def trial_id(self) -> str:
        return self.path.stem.removeprefix("trial_")

    def warning(self, then: str) -> str:
        return f"warning: {self.path}: {self.what} ({self.reason}); {then}"


FOREIGN = "not a record of this search"


class NotOurs(ValueError):
    """A readable record that this search did not write: no mark, or another run's."""


class DamagedPredictions(ValueError):
    """A sound record whose predictions file (`path`) cannot be read: the trial is run again
    to have both."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path = path


def load_record(path: Path, key: str | None) -> dict[str, Any]:
    """A record's content; raises ValueError saying what is wrong with it (`NotOurs` for a
    record the search did not write, when the run has a key to tell)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    except OSError as exc:  # a folder, a dangling link, a file it may not read
        reason = "a folder" if path.is_dir() else exc.strerror or str(exc)
        raise ValueError(f"cannot read it: {reason}") from None
    row = payload.get("row") if isinstance(payload, dict) else None
    if not isinstance(row, dict) or not isinstance(payload.get("curves"), list):
        raise ValueError("no 'row' table and 'curves' list")
    if key is not None and payload.get("mark") != mark(key, path.stem):
        raise NotOurs("its mark is not this run's: put there by hand or copied from another "
                      "run or trial")
    if str(row.get(TRIAL_ID)) != path.stem.removeprefix("trial_"):
        raise ValueError(f"its trial_id {row.get('trial_id')!r} is not the file's")
    if row.get(STATUS) not in set(Status):
        raise ValueError(f"status {row.get('status')!r} is not one of: {', '.join(Status)}")
    predicted = path.with_suffix(".npz")
    try:
        check_npz(predicted)
    except ValueError as exc:
        raise DamagedPredictions(predicted, f"its predictions {exc}") from None
    return payload


def check_npz(path: Path) -> None:
    """Raise ValueError when the .npz at `path` (if any) is cut short, empty or no archive.
    Reads only the archive's index, kept at its end: cheap enough for every record of a
    large run, and any cut loses it. (`read_npz` checks the rest as it reads.)"""
    if not (path.exists() or path.is_symlink()):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"cannot be read: {exc}".splitlines()[0]) from None
    if not names:
        raise ValueError("cannot be read: it holds no arrays")


def read_npz(path: Path) -> dict[str, Any] | None:
    """Every array of an .npz file (a record's predictions, the run's labels), None when
    there is none; ValueError saying why when it cannot be read in full."""
    import numpy as np

    if not (path.exists() or path.is_symlink()):
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"cannot be read: {exc}".splitlines()[0]) from None


def read_trial(run_dir: Path, trial_id: str) -> dict[str, Any] | None:
    """The saved trial, or None when it has no sound record of this search (to run again)."""
    path = trial_path(run_dir, trial_id)
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        return load_record(path, run_key(run_dir))
    except ValueError:
        return None


def load_trials(run_dir: Path) -> tuple[list[dict[str, Any]], list[Damaged]]:
    """Every sound record in trial-id order, and the others, each with why."""
    folder = Path(run_dir) / RECORDS
    paths = sorted(folder.glob("trial_*.json"), key=_numeric) if folder.is_dir() else []
    key = run_key(run_dir)
    trials, damaged = [], []
    for path in paths:
        loaded = sound_record(path, key)
        (damaged if isinstance(loaded, Damaged) else trials).append(loaded)
    return trials, damaged


def sound_record(path: Path, key: str | None) -> dict[str, Any] | Damaged:
    """The record's content, or what is wrong with it, naming the file at fault."""
    try:
        return load_record(path, key)
    except NotOurs as exc:
        return Damaged(path, str(exc), FOREIGN)
    except DamagedPredictions as exc:
        return Damaged(exc.path, str(exc))
    except ValueError as exc:
        return Damaged(path, str(exc).splitlines()[0])


def read_trials(run_dir: Path) -> list[dict[str, Any]]:
    """Every sound record of the search, in trial-id order (`load_trials` names the others)."""
    return load_trials(run_dir)[0]


def tables(run_dir: Path, metric: str, hp_names: list[str]):
    """trials.csv and curves.csv's content, as two DataFrames, from the sound records."""
    import pandas as pd

    trials = read_trials(run_dir)
    rows = pd.DataFrame([t["row"] for t in trials])
    rows = rows.reindex(columns=_trial_columns(metric, hp_names, rows.columns))
    curve_columns = [c.format(metric=metric) for c in CURVE_COLUMNS]
    curves = pd.DataFrame([c for t in trials for c in t["curves"]]).reindex(columns=curve_columns)
    return rows, curves


def write_tables(run_dir: Path, metric: str, hp_names: list[str]) -> tuple[Path, Path]:
    """Rebuild trials.csv and curves.csv from the per-trial records."""
    run_dir = Path(run_dir)
    rows, curves = tables(run_dir, metric, hp_names)
    trials_csv, curves_csv = run_dir / "trials.csv", run_dir / "curves.csv"
    for table in (trials_csv, curves_csv):
        if table.is_dir() and not table.is_symlink():  # not the tool's: kept, out of the way
            set_aside(table)
    atomic_write(trials_csv, rows.to_csv(index=False))
    atomic_write(curves_csv, curves.to_csv(index=False))
    return trials_csv, curves_csv


def append_tables(run_dir: Path, row: TrialRow, curves: list[dict[str, Any]],
                  metric: str, hp_names: list[str]) -> None:
    """Add one finished trial to trials.csv and curves.csv in a time that does not grow with
    the number of trials: a line appended to each. The records stay the source of truth: a
    missing table, or a row with a column the table lacks, rebuilds both from them, and so
    does the end of every search."""
    import pandas as pd

    run_dir = Path(run_dir)
    trials_csv, curves_csv = run_dir / "trials.csv", run_dir / "curves.csv"
    header = _header(trials_csv)
    if header is None or not curves_csv.is_file() or not set(row) <= set(header):
        write_tables(run_dir, metric, hp_names)
        return
    _append(trials_csv, pd.DataFrame([_clean(row)]).reindex(columns=header))
    if curves:
        curve_columns = [c.format(metric=metric) for c in CURVE_COLUMNS]
        _append(curves_csv, pd.DataFrame([_clean(c) for c in curves])
                .reindex(columns=curve_columns))


def _trial_columns(metric: str, hp_names: list[str], present) -> list[str]:
    """The SPEC's columns, then the hyperparameters, then whatever else the rows hold."""
    base = [c.format(metric=metric) for c in (*TRIAL_COLUMNS, *EXTRA_COLUMNS)]
    names = [n for n in hp_names if n not in base]
    return [*base, *names, *(c for c in present if c not in base and c not in names)]


def _header(path: Path) -> list[str] | None:
    import csv

    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    return next(csv.reader([first]), None) if first.strip() else None


def _append(path: Path, frame) -> None:
    """Whole lines in one write at the end of the file: a reader sees them all or none."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(frame.to_csv(index=False, header=False))


#: Read as text: a trial whose status is `nan` must not read as a missing status.
TEXT_COLUMNS = (TRIAL_ID, STATUS, MESSAGE)
_NA_TOKENS = ("", "nan", "NaN", "NA", "N/A", "null", "None")


def read_table(path: Path):
    """Read trials.csv or curves.csv: text columns keep every word (only empty cells are
    missing), numbers read as numbers; a missing or empty file is an empty table."""
    import pandas as pd

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame({TRIAL_ID: pd.Series(dtype=str)})
    header = pd.read_csv(path, nrows=0).columns
    return pd.read_csv(
        path,
        dtype={c: str for c in header if c in TEXT_COLUMNS},
        keep_default_na=False,
        na_values={c: [""] if c in TEXT_COLUMNS else list(_NA_TOKENS) for c in header},
    )


#: The columns without which a file is not the tool's table, whatever else it holds.
TABLE_KEYS = {"trials.csv": ("trial_id", "status"), "curves.csv": ("trial_id", "epoch")}


def table_problem(path: Path, name: str) -> str | None:
    """Why `path` cannot serve as the run's `name` table (trials.csv, curves.csv), or None.
    A missing curves.csv is only an empty one."""
    if not (path.exists() or path.is_symlink()):
        return None if name == "curves.csv" else "missing"
    if path.is_dir():
        return "a folder, not a file"
    try:
        columns = read_table(path).columns
    except (OSError, ValueError) as exc:  # pandas' parser errors and bad UTF-8 included
        return f"cannot be read: {exc}".splitlines()[0]
    missing = [c for c in TABLE_KEYS[name] if c not in columns]
    if missing:
        return f"not a {name} of this tool (no {', '.join(missing)} column)"
    return None


def _numeric(path: Path) -> tuple[int, str]:
    """Trial ids are numbers whose zero-padding can change when max_trials does."""
    stem = path.stem.removeprefix("trial_")
    return (int(stem), stem) if stem.isdigit() else (10**12, stem)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: write it as null."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }
