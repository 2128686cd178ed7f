"""One line per trial on the terminal: its values, status and score. No tracebacks."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tuning.records import column
from tuning.status import Status


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class Progress:
    """Counts trials and prints a line when each ends (and when each starts, with several
    workers, so a user sees what is running)."""

    def __init__(self, objective: str, hp_names: list[str], total: int | None, workers: int,
                 out: TextIO = sys.stdout) -> None:
        self.objective = objective
        self.names = [column(n) for n in hp_names if not n.startswith("tuner/")]
        self.total = total
        self.workers = workers
        self.out = out
        self.done = 0

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
        if self.workers > 1:
            print(f"          trial {row['trial_id']} started  {self._values(row)}",
                  file=self.out, flush=True)

    def finished(self, row: dict[str, Any], resumed: bool = False) -> None:
        if not resumed:
            self.done += 1
        count = f"{self.done}/{self.total}" if self.total else str(self.done)
        if row["status"] == Status.OK:
            detail = f"{self.objective}={_fmt(row.get(self.objective))}"
            if row.get("wall_s") is not None:
                detail += f" in {row['wall_s']:.1f} s"
        else:
            detail = str(row.get("message", ""))[:200]
        note = " (kept from an earlier run)" if resumed else ""
        print(f"[{count:>7}] trial {row['trial_id']} {row['status']:<11} {self._values(row)}  "
              f"{detail}{note}", file=self.out, flush=True)
