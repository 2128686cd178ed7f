"""The execution layer's small parts, without training: rows, messages, what a run says."""

from __future__ import annotations

import pytest

from tuning.execution.messages import Outcome, Ready, TrialTask
from tuning.execution.run import announce
from tuning.records import rundir
from tuning.records.rows import trial_row
from tuning.records.status import Status


def test_a_row_takes_only_a_known_status_and_stores_its_word():
    planned = {"trial_id": "3", "steps_per_epoch": 4, "batch_size": 72}
    row = trial_row(planned, Status.SKIPPED_OOM, "not run", wall_s=0.0)
    assert row == {**planned, "wall_s": 0.0, "status": "skipped_oom", "message": "not run"}
    assert type(row["status"]) is str  # the plain word goes to JSON and CSV
    assert trial_row(planned, "ok")["status"] == "ok"
    with pytest.raises(ValueError):
        trial_row(planned, "crashed")


def test_messages_name_their_task():
    task = TrialTask("7", {}, 11)
    assert task.task_id == "7"
    assert Outcome("7", {"status": "ok"}).worker_exits is False


def test_a_run_says_where_it_trains_and_when_the_budget_cannot_hold(capsys):
    announce([Ready(1, "CPU", True, "logs/worker-0.log"),
              Ready(2, "CPU", True, "logs/worker-1.log")])
    out, err = capsys.readouterr()
    assert out == "workers train on: CPU\n" and err == ""
    announce([Ready(1, "GPU 0 of 1, capped at 512 MiB", False, "logs/worker-0.log")])
    out, err = capsys.readouterr()
    assert "GPU 0 of 1, capped at 512 MiB" in out
    assert err.startswith("warning: the CPU memory budget cannot be set here")


def test_a_run_left_running_by_a_killed_search_reads_interrupted(tmp_path):
    rundir.write_state(tmp_path, state="running")
    held = rundir.RunLock(tmp_path)
    held.acquire()
    rundir.settle_state(tmp_path)  # a search holds the lock: it is running indeed
    assert rundir.read_state(tmp_path)["state"] == "running"
    held.release()
    rundir.settle_state(tmp_path)
    assert rundir.read_state(tmp_path)["state"] == "interrupted"
