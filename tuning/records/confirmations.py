"""Fresh-seed re-runs of the recommended configuration and those tied with it.

The winner of a search is partly the luck of its seed: its score is the best of many noisy
draws. Training the same configuration again with new seeds, after the search, gives scores
nobody selected on; they decide between configurations the search could not tell apart and
state the pick's score. Each re-run is a record like a trial's, `records/confirm_<id>_<n>`,
so a resumed run keeps the ones already made. This module's reading side is pure (the
report uses it); `tuning.execution.rerun` trains, through the search's own worker pool.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tuning.records.ownership import run_key
from tuning.records.status import Status
from tuning.records.trials import RECORDS, STATUS, Damaged, sound_record, write_record

_NAME = re.compile(r"^confirm_(?P<trial>.+)_(?P<run>\d+)$")


def record_name(trial_id: str, run: int) -> str:
    return f"confirm_{trial_id}_{run}"


def write_confirmation(run_dir: Path, row: dict[str, Any],
                       curves: list[dict[str, Any]]) -> None:
    """Save one re-run beside the trials' records, under its own name."""
    write_record(Path(run_dir) / RECORDS / f"{row['trial_id']}.json", row, curves)


def read_confirm_rows(run_dir: Path) -> list[dict[str, Any]]:
    """Every re-run's row, with `confirms` (the trial re-run), `record` and its per-epoch
    `curves` added."""
    return _scan(run_dir)[0]


def damaged_confirmations(run_dir: Path) -> list[Damaged]:
    """The re-runs' records that cannot be used (made again on resume), each with why."""
    return _scan(run_dir)[1]


def _scan(run_dir: Path) -> tuple[list[dict[str, Any]], list[Damaged]]:
    folder = Path(run_dir) / RECORDS
    key = run_key(run_dir)
    rows, damaged = [], []
    for path in sorted(folder.glob("confirm_*.json")) if folder.is_dir() else []:
        match = _NAME.match(path.stem)
        if match is None:
            continue
        saved = sound_record(path, key)
        if isinstance(saved, Damaged):
            damaged.append(saved)
            continue
        rows.append({**saved["row"], "confirms": match["trial"], "run": int(match["run"]),
                     "record": path.stem, "curves": saved.get("curves", [])})
    return rows, damaged


def read_confirmations(run_dir: Path) -> dict[str, list[str]]:
    """Record names of the finished (`ok`) re-runs, by the trial they re-run, in run order."""
    found: dict[str, list[str]] = {}
    for row in sorted(read_confirm_rows(run_dir), key=lambda r: r["run"]):
        if row.get(STATUS) == Status.OK:
            found.setdefault(row["confirms"], []).append(row["record"])
    return found
