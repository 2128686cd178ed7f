"""keras-tuner's chief/worker mode on this machine: a chief and workers over loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, spec_text

from tuning.execution.distributed import free_port
from tuning.records.trials import read_table

pytestmark = pytest.mark.slow  # every test here trains or runs a search


def _popen(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tuning", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(condition, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def _started(out: Path, trial: str) -> bool:
    return (out / "tuner" / f"trial_{trial}").is_dir()


def _spec(tmp_path: Path) -> Path:
    # Trial 0 is long (batch 1, thousands of steps); the others are short.
    spec = tmp_path / "dist.toml"
    spec.write_text(spec_text(steps=[5000, 4, 8], epochs=3))
    return spec


def test_chief_and_two_workers_restart_a_dead_worker(tmp_path):
    out = tmp_path / "run"
    proc = _popen("distributed", str(_spec(tmp_path)), "--workers", "2", "--out", str(out))
    _wait_for(lambda: _started(out, "0"))
    time.sleep(2.0)
    holder = [p for p in psutil.Process(proc.pid).children(recursive=True)
              if "worker" in p.cmdline() and "--tuner-id" in p.cmdline()]
    assert len(holder) == 2
    # Kill the worker holding trial 0 (the long one), as the chief's own state says.
    ongoing = json.loads((out / "tuner" / "oracle.json").read_text())["ongoing_trials"]
    slot = next(slot for slot, trial in ongoing.items() if trial == "0")
    name = slot.rsplit("-w", 1)[0]
    victim = next(p for p in holder if p.cmdline()[p.cmdline().index("--tuner-id") + 1] == name)
    victim.kill()
    output, _ = proc.communicate(timeout=400)
    assert proc.returncode == 0, output
    assert "starting it again" in output
    table = read_table(out / "trials.csv")
    assert sorted(table.trial_id) == ["0", "1", "2"]
    assert (table.status == "ok").all(), table[["trial_id", "status", "message"]]
    assert table.worker.notna().all()


def test_chief_ends_the_trial_of_a_silent_worker(tmp_path):
    out, port = tmp_path / "run", free_port()
    spec = str(_spec(tmp_path))
    chief = _popen("chief", spec, "--out", str(out), "--port", str(port), "--dead-after", "8")
    _wait_for(lambda: (out / "tuner").is_dir())
    first = _popen("worker", spec, "--out", str(out), "--oracle", f"127.0.0.1:{port}",
                   "--tuner-id", "lost")
    _wait_for(lambda: _started(out, "0"))
    time.sleep(1.0)
    for child in psutil.Process(first.pid).children(recursive=True):
        child.kill()
    first.kill()  # a machine that vanished: nothing restarts it
    first.wait()
    second = _popen("worker", spec, "--out", str(out), "--oracle", f"127.0.0.1:{port}",
                    "--tuner-id", "spare")
    output, _ = chief.communicate(timeout=400)
    second.communicate(timeout=60)
    assert chief.returncode == 0, output
    table = read_table(out / "trials.csv").set_index("trial_id")
    assert table.loc["0", "status"] == "error"
    assert "stopped answering" in table.loc["0", "message"]
    # Its row is made like any other: the plan's columns, no raw keras-tuner names.
    assert table.loc["0", "batch_size"] == 1 and table.loc["0", "effective_steps_per_epoch"] > 1
    assert table.loc["0", "worker"] == "lost-w0"
    assert not [c for c in table.columns if "/" in c]
    assert (table.drop(index="0").status == "ok").all()
