"""The report of a running search: says so, counts the trials done, updates itself in place
in a real browser; the finished run's report is static. Rebuilt at most every interval."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from test_report_build import CHROMIUM
from test_report_data import make_run

from tuning.report import build_report
from tuning.report.live import LiveReport

LIVE = "<script>"


def _set_state(run_dir: Path, state: str) -> None:
    info = json.loads((run_dir / "run.json").read_text())
    info["state"] = state
    (run_dir / "run.json").write_text(json.dumps(info))


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("STEPS_TUNER_BROWSER_TEST") != "required",
                    reason="no Chromium installed (.ci/run installs it and requires this test)")
def test_a_running_report_updates_in_place_in_a_browser(tmp_path):
    """Served over HTTP: the page first shows the running search, then re-reads itself (a
    request with a query, not a reload) and shows the finished one without a reload."""
    import http.server
    import threading

    run_dir = make_run(tmp_path, n_trials=7)
    _set_state(run_dir, "running")
    running = build_report(run_dir).read_bytes()
    assert b"<script>" in running and b"7 trials done so far" in running
    _set_state(run_dir, "finished")
    finished = build_report(run_dir).read_bytes()
    assert b"<script" not in finished
    asked: list[str] = []

    class TwoVersions(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the base class's name)
            asked.append(self.path)
            body = running if len(asked) == 1 else finished
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TwoVersions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
             "--virtual-time-budget=45000", f"--user-data-dir={tmp_path / 'profile'}",
             f"http://127.0.0.1:{server.server_address[1]}/report.html"],
            capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
    assert asked[0] == "/report.html" and any("?t=" in a for a in asked[1:]), asked
    assert "Still running" not in done.stdout and "Tuning report" in done.stdout


def test_live_report_rebuilds_at_most_every_interval(tmp_path):
    run_dir = make_run(tmp_path, n_trials=4)
    _set_state(run_dir, "running")
    live = LiveReport(run_dir, interval_s=0)
    live.trial_finished()
    live.close()
    html = (run_dir / "report.html").read_text()
    assert LIVE in html and "4 trials done so far" in html
    first = (run_dir / "report.html").stat().st_mtime_ns
    slow = LiveReport(run_dir, interval_s=30)
    slow.trial_finished()  # less than 30 s since it started: nothing rebuilt
    slow.close()
    assert (run_dir / "report.html").stat().st_mtime_ns == first
