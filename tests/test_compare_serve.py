"""`compare` reads two summaries and says only what their intervals show; `serve` hands the
reports out over HTTP on the loopback address."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from conftest import ROOT, default_sigint, run_cli


def _summary(folder: Path, score: float, interval: list[float], *, steps: int = 8,
             objective: str = "holdout_accuracy", direction: str = "max") -> Path:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({
        "objective": objective, "direction": direction, "tied": [], "warnings": [],
        "recommended": {"trial_id": "03", "batch_size": 64, "score": score,
                        "interval": interval, "measured_on": "test rows",
                        "hyperparameters": {"steps_per_epoch": steps,
                                            "validation_split": 0.2}}}))
    return folder


def test_compare_says_different_only_when_the_intervals_part(tmp_path):
    a = _summary(tmp_path / "a", 0.97, [0.96, 0.98])
    b = _summary(tmp_path / "b", 0.93, [0.92, 0.94], steps=32)
    apart = run_cli("compare", str(a), str(b))
    assert apart.returncode == 0, apart.stderr
    assert "steps_per_epoch = 8" in apart.stdout and "steps_per_epoch = 32" in apart.stdout
    assert "same values: no" in apart.stdout
    assert "different: the 95% intervals do not overlap; run A's recommendation scores higher" \
        in apart.stdout
    near = _summary(tmp_path / "c", 0.965, [0.95, 0.975])
    close = run_cli("compare", str(a), str(near))
    assert "cannot tell apart" in close.stdout and "same values: yes" in close.stdout
    loss = _summary(tmp_path / "d", 0.2, [0.1, 0.3], objective="holdout_loss", direction="min")
    assert "not comparable" in run_cli("compare", str(a), str(loss)).stdout


def test_compare_of_a_folder_without_a_summary_is_one_error_line(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_cli("compare", str(tmp_path / "empty"), str(tmp_path / "empty"))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "no summary.json" in result.stderr


def test_serve_hands_out_a_report_on_the_loopback_address(tmp_path):
    (tmp_path / "report.html").write_text("<html>the report</html>")
    server = subprocess.Popen([sys.executable, "-m", "tuning", "serve", str(tmp_path),
                               "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                              preexec_fn=default_sigint)
    try:
        line = server.stdout.readline()
        assert line.startswith("serving ") and "http://127.0.0.1:" in line
        url = line.split(" at ")[1].split()[0]
        assert url.endswith("/report.html")
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200 and b"the report" in page.read()
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=10) == 0


def test_serve_refuses_a_missing_folder():
    result = run_cli("serve", "/no/such/folder", "--port", "0")
    assert result.returncode == 2 and "no such folder" in result.stderr
