"""One line per trial on the terminal: its values, status and score. No tracebacks.

On a terminal, a status line under them is redrawn in place: the epoch each running trial
has reached and the time the search has left. Piped, only the lines per event are written.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from tuning.records.epochs import StatusLine, eta_text, time_left
from tuning.records.status import WIDEST, Status
from tuning.records.trials import MESSAGE, STATUS, TRIAL_ID, WALL_S, column


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class Progress:
    """Counts trials and prints a line when each ends (and when each starts, with several
    workers, so a user sees what is running)."""

    def __init__(self, objective: str, hp_names: list[str], total: int | None, workers: int,
                 out: TextIO | None = None) -> None:
        out = sys.stdout if out is None else out  # the stream in place now, not at import
        self.objective = objective
        self.names = [column(n) for n in hp_names if not n.startswith("tuner/")]
        self.total = total
        self.workers = workers
        self.out = out
        self.done = 0
        self.line = StatusLine(out)
        self.walls: list[float] = []  # of the trials finished in this run
        self.running: dict[str, float] = {}  # trial id -> when it started

    @property
    def live(self) -> bool:
        """Whether a status line is drawn (the output is a terminal)."""
        return self.line.live

    def _values(self, row: dict[str, Any]) -> str:
        shown = [f"{name}={_fmt(row[name])}" for name in self.names if row.get(name) is not None]
        shown.append(f"(batch {row.get('batch_size')}, "
                     f"{row.get('effective_steps_per_epoch')} steps/epoch)")
        return " ".join(shown)

    def resume(self, kept: int) -> None:
        """Count the trials an earlier run finished; they are not run again."""
        self.done = kept
        if kept:
            print(f"resuming: {kept} finished trial(s) kept", file=self.out, flush=True)

    def started(self, row: dict[str, Any]) -> None:
        self.running[str(row[TRIAL_ID])] = time.monotonic()
        if self.workers > 1:
            self.line.clear()
            print(f"          trial {row['trial_id']} started  {self._values(row)}",
                  file=self.out, flush=True)

    def finished(self, row: dict[str, Any], resumed: bool = False) -> None:
        if not resumed:
            self.done += 1
            self.running.pop(str(row[TRIAL_ID]), None)
            if row.get(WALL_S):
                self.walls.append(float(row[WALL_S]))
        self.line.clear()
        count = f"{self.done}/{self.total}" if self.total else str(self.done)
        if row[STATUS] == Status.OK:
            detail = f"{self.objective}={_fmt(row.get(self.objective))}"
            if row.get(WALL_S) is not None:
                detail += f" in {row['wall_s']:.1f} s"
        else:
            detail = str(row.get(MESSAGE, ""))[:200]
        note = " (kept from an earlier run)" if resumed else ""
        print(f"[{count:>7}] trial {row['trial_id']} {row['status']:<{WIDEST}} "
              f"{self._values(row)}  {detail}{note}", file=self.out, flush=True)

    def tick(self, epochs: dict[str, dict[str, Any]]) -> None:
        """Redraw the status line from the epochs the workers reported (terminal only)."""
        if not self.line.live or not self.running:
            return
        now, parts, estimates = time.monotonic(), [], []
        for trial_id, since in sorted(self.running.items()):
            entry = epochs.get(trial_id)
            if entry is None:
                parts.append(f"trial {trial_id}: first epoch")
                continue
            parts.append(f"trial {trial_id}: epoch {entry['epoch']}/{entry['epochs']}")
            estimates.append((now - since) * entry["epochs"] / max(1, entry["epoch"]))
        remaining = None if self.total is None else max(0, self.total - self.done)
        left = time_left(self.walls or estimates, len(self.running), remaining, self.workers)
        count = f"{self.done}/{self.total}" if self.total else str(self.done)
        self.line.show(f"{'; '.join(parts)}  [{count} done, {eta_text(left)}]")
