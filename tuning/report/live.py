"""The report of a search that is still running, rebuilt as trials finish.

At most once every `interval_s` seconds and in a background thread, so training never waits
for the plots; the page says the search is still running and reloads itself (see
`tuning.report.content`). The search rebuilds the report one last time when it ends.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from tuning.report.content import LIVE_INTERVAL_S


class LiveReport:
    def __init__(self, run_dir: Path, interval_s: float = LIVE_INTERVAL_S) -> None:
        self.run_dir = Path(run_dir)
        self.interval_s = interval_s
        self._last = time.monotonic()
        self._thread: threading.Thread | None = None

    def trial_finished(self) -> None:
        """Start a rebuild when the last one is old enough and none is under way."""
        now = time.monotonic()
        if now - self._last < self.interval_s or self.busy:
            return
        self._last = now
        self._thread = threading.Thread(target=self._build, name="live-report", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Wait for a rebuild under way, before the final one is written."""
        if self._thread is not None:
            self._thread.join()

    def _build(self) -> None:
        from tuning.report import build_report

        # A live view must never stop the search; the final build reports any fault.
        with contextlib.suppress(Exception):
            build_report(self.run_dir)
