"""The report of a running search: says so, counts the trials done, reloads itself in a real
browser; the finished run's report does not reload. Rebuilt at most every interval."""

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

REFRESH = '<meta http-equiv="refresh" content="30">'


def _set_state(run_dir: Path, state: str) -> None:
    info = json.loads((run_dir / "run.json").read_text())
    info["state"] = state
    (run_dir / "run.json").write_text(json.dumps(info))


def _dom(html: Path, tmp_path: Path) -> str:
    """The page as headless Chromium has loaded it."""
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
         "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
         html.as_uri()], capture_output=True, text=True, timeout=120)
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("STEPS_TUNER_BROWSER_TEST") != "required",
                    reason="no Chromium installed (.ci/run installs it and requires this test)")
def test_running_report_says_so_and_reloads_itself_in_a_browser(tmp_path):
    run_dir = make_run(tmp_path, n_trials=7)
    _set_state(run_dir, "running")
    html = build_report(run_dir)
    dom = _dom(html, tmp_path)
    assert "Still running" in dom and "7 trials done so far" in dom
    assert 'http-equiv="refresh" content="30"' in dom
    _set_state(run_dir, "finished")
    dom = _dom(build_report(run_dir), tmp_path)
    assert "Still running" not in dom and "refresh" not in dom
    assert "Tuning report" in dom


def test_live_report_rebuilds_at_most_every_interval(tmp_path):
    run_dir = make_run(tmp_path, n_trials=4)
    _set_state(run_dir, "running")
    live = LiveReport(run_dir, interval_s=0)
    live.trial_finished()
    live.close()
    html = (run_dir / "report.html").read_text()
    assert REFRESH in html and "4 trials done so far" in html
    first = (run_dir / "report.html").stat().st_mtime_ns
    slow = LiveReport(run_dir, interval_s=30)
    slow.trial_finished()  # less than 30 s since it started: nothing rebuilt
    slow.close()
    assert (run_dir / "report.html").stat().st_mtime_ns == first
