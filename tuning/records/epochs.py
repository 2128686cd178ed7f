"""Where the running trials are, for the terminal: epoch by epoch, and the time left.

Each worker writes its trial's last finished epoch to `progress/worker-N.json` in the run
directory (one small file rewritten per epoch, nothing sent over the pipe); the search reads
them when it redraws its status line. On a terminal that line is rewritten in place; piped to
a file or a CI log nothing is drawn, and the output stays one line per event.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, TextIO

FOLDER = "progress"


def progress_file(run_dir: str | Path, worker: int) -> Path:
    return Path(run_dir) / FOLDER / f"worker-{worker}.json"


def epoch_note(path: Path, trial_id: str, epochs: int, prunable: bool):
    """A curve watcher (see `tuning.training.callbacks`) that writes `trial_id`'s curve so
    far to `path` after each epoch: its last epoch for the status line, and its curve for
    the trials judged beside it (`prunable`: a search trial, not a fresh-seed re-run)."""
    from tuning.records.trials import atomic_write

    def note(rows) -> None:
        atomic_write(path, json.dumps({"trial_id": trial_id, "epoch": int(rows[-1]["epoch"]),
                                       "epochs": epochs, "time": time.time(),
                                       "prunable": prunable, "curve": list(rows)}))

    return note


def read_epochs(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The last epoch reported for each running trial, by trial id."""
    found: dict[str, dict[str, Any]] = {}
    folder = Path(run_dir) / FOLDER
    for path in folder.glob("worker-*.json") if folder.is_dir() else ():
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced right now: the next redraw reads it
        found[str(entry.get("trial_id"))] = entry
    return found


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "time left: unknown yet"
    seconds = round(seconds)
    if seconds < 90:
        return f"about {seconds} s left"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def time_left(done_walls: list[float], running: int, remaining: int | None,
              workers: int) -> float | None:
    """Trials still to finish (running ones count half) times the mean trial time, shared
    out over the workers; unknown before a trial has finished or without a trial count."""
    if not done_walls or remaining is None:
        return None
    mean = sum(done_walls) / len(done_walls)
    return max(0.0, (remaining - running / 2) * mean / max(1, workers))


class StatusLine:
    """One line rewritten in place on a terminal; nothing at all when `out` is not one."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = hasattr(out, "isatty") and out.isatty()
        self._shown = False

    def show(self, text: str) -> None:
        if not self.live:
            return
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.out.write("\r\x1b[2K" + text[:width])
        self.out.flush()
        self._shown = True

    def clear(self) -> None:
        """Wipe the line before an ordinary line is printed."""
        if self._shown:
            self.out.write("\r\x1b[2K")
            self.out.flush()
            self._shown = False


def clear_files(run_dir: Path) -> None:
    """Forget the progress of an earlier run (its trials are over)."""
    folder = Path(run_dir) / FOLDER
    for path in folder.glob("worker-*.json") if folder.is_dir() else ():
        with contextlib.suppress(OSError):
            os.unlink(path)
