"""Failures for real: out of memory under a budget, NaN, a killed worker, a killed search.

Every test runs the real command line in its own process, with real TensorFlow workers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from conftest import ROOT, default_sigint, run_cli, spec_text

from tuning.records.ownership import MARKER, RUN, marker_text, new_key
from tuning.records.rundir import RunLock
from tuning.records.trials import read_table

pytestmark = pytest.mark.slow  # every test here trains or runs a search


def _table(run_dir: Path) -> pd.DataFrame:
    return read_table(run_dir / "trials.csv")


def _start(spec: Path, out: Path, interruptible: bool = False) -> subprocess.Popen:
    """`interruptible`: Ctrl-C reaches the search wherever the tests run (`default_sigint`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tuning", "run", str(spec), "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint if interruptible else None)


def _held_spec(tmp_path: Path, steps: list[int]) -> tuple[Path, Path]:
    """A spec whose trials from steps_per_epoch 8 on wait while the returned file exists:
    the search is surely in the middle of a trial when the test acts, however fast the
    machine. Remove the file to let it go."""
    hold = tmp_path / "hold"
    hold.touch()
    (tmp_path / "held.py").write_text(
        "import time\nfrom pathlib import Path\nfrom tuning.models import mlp\n\n\n"
        "def build(hp, input_shape, n_outputs):\n"
        f"    while hp.get('steps_per_epoch') >= 8 and Path({str(hold)!r}).exists():\n"
        "        time.sleep(0.1)\n"
        "    return mlp(hp, input_shape, n_outputs)\n")
    spec = tmp_path / "held.toml"
    spec.write_text(spec_text(steps=steps, epochs=4, builder="held:build"))
    return spec, hold


def _wait_for(condition, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _records(out: Path) -> list[Path]:
    folder = out / "records"
    return sorted(folder.glob("trial_*.json")) if folder.is_dir() else []


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    return [c for c in psutil.Process(proc.pid).children()
            if "spawn_main" in " ".join(c.cmdline())]


def _run_wide_under_budget(tmp_path: Path, splits: list[float], probe: bool = False):
    """A 32,768-unit layer under 200 MiB: a batch of ~1000 rows needs far more than the
    budget, 60 rows far less (steps_per_epoch 1 and 16)."""
    search = {"space": {"units": [32768]}, **({"probe": True} if probe else {})}
    text = spec_text(steps=[1, 16], splits=splits, epochs=1, search=search,
                     resources={"memory_budget": "200MiB"})
    spec = tmp_path / "mem.toml"
    spec.write_text(text)
    out = tmp_path / "run"
    result = run_cli("run", str(spec), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result


def test_budget_oom_is_recorded_skipped_and_survived(tmp_path):
    out, result = _run_wide_under_budget(tmp_path, [0.3, 0.1])
    table = _table(out)
    by_id = table.set_index("trial_id")
    assert list(table.status) == ["oom", "skipped_oom", "ok", "ok"], table[["status", "message"]]
    first = by_id.loc["0", "message"]
    assert "out of memory" in first or "memory budget" in first
    assert "1006" in by_id.loc["0", "message"]  # the batch size that failed
    assert by_id.loc["1", "batch_size"] > by_id.loc["0", "batch_size"]
    assert "not run" in by_id.loc["1", "message"] and by_id.loc["1", "wall_s"] == 0
    assert (table.memory_budget_mb == 200).all()
    assert "Traceback" not in result.stdout + result.stderr


def test_nan_loss_stops_at_once_and_the_search_goes_on(tmp_path):
    spec = tmp_path / "nan.toml"
    spec.write_text(spec_text(source="sklearn:diabetes", steps=[8], epochs=3,
                              model={"task": "regression"},
                              search={"space": {"learning_rate": [1e12, 1e-3]}}))
    out = tmp_path / "run"
    result = run_cli("run", str(spec), "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = _table(out).set_index("learning_rate")
    bad = table.loc[1e12]
    assert bad.status == "nan" and "NaN or infinite" in bad.message
    assert table.loc[1e-3].status == "ok"


def test_killed_worker_is_recorded_and_replaced(tmp_path):
    # First trial is long (batch 1, thousands of steps), the second short.
    spec = tmp_path / "kill.toml"
    spec.write_text(spec_text(steps=[5000, 4], epochs=30))
    out = tmp_path / "run"
    proc = _start(spec, out)
    _wait_for(lambda: (out / "tuner").is_dir() and list((out / "tuner").glob("trial_0*")),
              what="the first trial to start")
    time.sleep(1.0)
    workers = _workers(proc)
    assert len(workers) == 1
    workers[0].kill()
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    table = _table(out)
    assert list(table.status) == ["error", "ok"]
    assert "SIGKILL" in table.message[0] and "(see logs/worker-0.log)" in table.message[0]
    assert table.batch_size[0] == 1 and table.memory_budget_mb.isna()[0]  # the planned row


def test_kill_9_of_the_search_loses_no_finished_trial(tmp_path):
    spec, hold = _held_spec(tmp_path, [2, 4, 8, 16, 32])
    out = tmp_path / "run"
    proc = _start(spec, out)
    _wait_for(lambda: len(_records(out)) >= 2, what="two finished trials")

    second = run_cli("run", str(spec), "--out", str(out))  # a second search on the same dir
    assert second.returncode == 2 and "another search is running" in second.stderr

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    kept = {p.name: p.stat().st_mtime_ns for p in _records(out)}
    assert len(kept) >= 2
    assert json.loads((out / "run.json").read_text())["state"] == "running"
    index = run_cli("index", str(out.parent))  # no search holds the lock: it was killed
    assert index.returncode == 0, index.stderr
    assert json.loads((out / "run.json").read_text())["state"] == "interrupted"
    assert "interrupted" in (out.parent / "index.html").read_text()

    hold.unlink()
    result = run_cli("run", str(spec), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"resuming: {len(kept)} finished trial(s) kept" in result.stdout
    table = _table(out)
    assert len(table) == 5 and table.trial_id.is_unique and (table.status == "ok").all()
    for name, mtime in kept.items():  # finished trials were not trained again
        assert (out / "records" / name).stat().st_mtime_ns == mtime
    curves = read_table(out / "curves.csv")
    assert (curves.groupby("trial_id").epoch.count() == 4).all()


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path):
    spec, hold = _held_spec(tmp_path, [2, 4, 8, 16, 32, 64])
    out = tmp_path / "run"
    proc = _start(spec, out, interruptible=True)
    _wait_for(lambda: len(_records(out)) >= 1, what="one finished trial")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "run the same command to resume" in stderr
    assert not _workers_left(proc)
    hold.unlink()
    result = run_cli("run", str(spec), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(_table(out)) == 6


def _workers_left(proc: subprocess.Popen) -> bool:
    try:
        return bool(psutil.Process(proc.pid).children())
    except psutil.NoSuchProcess:
        return False


def test_probe_first_turns_known_failures_into_skipped_trials(tmp_path):
    out, result = _run_wide_under_budget(tmp_path, [0.3], probe=True)
    assert "probe: batch 1006 oom" in result.stdout
    table = _table(out)
    assert list(table.status) == ["skipped_oom", "ok"]  # the big batch never trained


def test_probe_command_prints_the_frontier(tmp_path):
    spec = tmp_path / "fits.toml"
    spec.write_text(spec_text(steps=[4, 16], splits=[0.2]))
    result = run_cli("probe", str(spec))
    assert result.returncode == 0, result.stderr
    assert "batch    288  ok" in result.stdout
    assert "every batch the search needs fits (up to 288)" in result.stdout


def test_a_failed_trial_keeps_its_traceback_in_the_worker_log(tmp_path):
    (tmp_path / "flaky.py").write_text(
        "from tuning.models import mlp\n\n\n"
        "def build(hp, input_shape, n_outputs):\n"
        "    if hp.get('steps_per_epoch') == 8:\n"
        "        raise ValueError('eight is not allowed here')\n"
        "    return mlp(hp, input_shape, n_outputs)\n")
    spec = tmp_path / "flaky.toml"
    spec.write_text(spec_text(builder="flaky:build"))
    out = tmp_path / "run"
    result = run_cli("run", str(spec), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = _table(out).set_index("trial_id")
    assert rows.loc["0", "status"] == "ok"
    assert rows.loc["1", "status"] == "error"
    assert rows.loc["1", "message"] == (
        "ValueError: eight is not allowed here (traceback in logs/worker-0.log)")
    log = (out / "logs" / "worker-0.log").read_text()
    assert "Traceback (most recent call last)" in log
    assert 'flaky.py", line 6, in build' in log and "eight is not allowed here" in log
    assert "Traceback" not in result.stdout + result.stderr
    assert json.loads((out / "run.json").read_text())["state"] == "finished"


def test_a_run_directory_that_cannot_be_written_ends_in_one_line(tmp_path):
    """The first record cannot be written (a file stands where records/ goes), nor the
    workers' logs (they fall back to the temporary folder) nor the report's plots: the error
    the user sees is the first, run.json says the search failed, and the lock is released."""
    spec = tmp_path / "s.toml"
    spec.write_text(spec_text(steps=[4]))
    out = tmp_path / "run"
    out.mkdir()
    (out / MARKER).write_text(marker_text(RUN, new_key()))  # the tool's own run directory
    (out / "records").write_text("in the way")
    (out / "plots").write_text("in the way too")
    (out / "logs").write_text("and here")
    result = run_cli("run", str(spec), "--out", str(out))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == (f"error: {out / 'records'}: cannot write trial_0.json: a file stands "
                         "where a folder is needed")
    assert lines[0].startswith("warning: the report was not rebuilt: ")
    assert "Traceback" not in result.stdout + result.stderr
    state = json.loads((out / "run.json").read_text())
    assert state["state"] == "failed" and "cannot write trial_0.json" in state["error"]
    lock = RunLock(out)
    lock.acquire()  # raises if the failed search still held it
    lock.release()
