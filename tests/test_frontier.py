"""Pure logic of failures: the OOM frontier and how statuses are told apart."""

from __future__ import annotations

import signal

from tuning.execution.failures import classify_death, classify_exception, is_oom, last_line
from tuning.execution.frontier import Frontier


def test_frontier_skips_batches_no_smaller_than_a_failure_of_the_same_model():
    frontier = Frontier()
    frontier.record_oom({"units": 64, "steps_per_epoch": 2, "validation_split": 0.1}, 500)
    same_model = {"units": 64, "steps_per_epoch": 1, "validation_split": 0.3}
    assert frontier.blocking_batch(same_model, 500) == 500
    assert frontier.blocking_batch(same_model, 800) == 500
    assert frontier.blocking_batch(same_model, 499) is None
    assert frontier.blocking_batch({"units": 32, "steps_per_epoch": 1}, 800) is None
    frontier.record_oom(same_model, 300)
    assert frontier.blocking_batch(same_model, 300) == 300


def test_frontier_rebuilt_from_records_counts_only_real_failures():
    rows = [
        {"status": "oom", "batch_size": 400, "units": 8, "steps_per_epoch": 1},
        {"status": "skipped_oom", "batch_size": 100, "units": 8, "steps_per_epoch": 4},
        {"status": "ok", "batch_size": 50, "units": 8, "steps_per_epoch": 8},
    ]
    frontier = Frontier()
    frontier.merge_rows(rows, ["steps_per_epoch", "units"], None)
    assert frontier.blocking_batch({"units": 8}, 400) == 400
    assert frontier.blocking_batch({"units": 8}, 399) is None


def test_a_resume_with_a_larger_budget_forgets_failures_under_the_smaller_one():
    rows = [{"status": "oom", "batch_size": 400, "units": 8, "memory_budget_mb": 256.0}]
    for budget, blocked in ((128.0, True), (256.0, True), (512.0, False), (None, False)):
        frontier = Frontier()
        frontier.merge_rows(rows, ["units"], budget)
        assert (frontier.blocking_batch({"units": 8}, 400) is not None) == blocked, budget
    device = [{**rows[0], "memory_budget_mb": None}]  # ran out of the device's own memory
    frontier = Frontier()
    frontier.merge_rows(device, ["units"], 512.0)
    assert frontier.blocking_batch({"units": 8}, 400) == 400


def test_an_inactive_conditional_name_does_not_hide_the_same_model():
    # The record has the inactive name blank; the next trial's values lack it.
    rows = [{"status": "oom", "batch_size": 400, "kind": "a", "units": None}]
    frontier = Frontier()
    frontier.merge_rows(rows, ["kind", "units"], None)
    assert frontier.blocking_batch({"kind": "a"}, 500) == 400
    live = Frontier()
    live.record_oom({"kind": "a", "units": None}, 300)
    assert live.blocking_batch({"kind": "a", "steps_per_epoch": 4}, 300) == 300
    assert live.blocking_batch({"kind": "b", "units": 8}, 300) is None


class ResourceExhaustedError(Exception):
    """Stands in for TensorFlow's type of the same name (matched by name)."""


class AbortedError(Exception):
    pass


class XlaRuntimeError(Exception):
    pass


def test_oom_is_recognised_by_type_or_message_across_backends():
    assert is_oom(MemoryError())
    assert is_oom(ResourceExhaustedError("OOM when allocating tensor with shape[10,10]"))
    assert is_oom(AbortedError("could not execute a primitive"))
    assert is_oom(XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate"))
    assert is_oom(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not is_oom(ValueError("shapes do not match"))
    assert not is_oom(RuntimeError("something else"))
    assert classify_exception(ValueError("x")) == "error"


def test_last_line_keeps_the_useful_line_without_device_noise():
    exc = ResourceExhaustedError(
        "Graph execution error:\n\nOOM when allocating tensor with shape[1150,8192] "
        "on /job:localhost/replica:0/task:0/device:CPU:0 by allocator cpu\n [[node x]]"
    )
    assert last_line(exc) == (
        "ResourceExhaustedError: OOM when allocating tensor with shape[1150,8192]"
    )


def test_dead_workers_are_classified_by_signal_and_budget():
    assert classify_death(-signal.SIGKILL, under_budget=True)[0] == "oom"
    assert classify_death(-signal.SIGKILL, under_budget=False)[0] == "error"
    assert classify_death(-signal.SIGSEGV, under_budget=True)[0] == "oom"
    status, message = classify_death(-signal.SIGSEGV, under_budget=False)
    assert status == "error" and "SIGSEGV" in message
    assert classify_death(3, under_budget=True) == ("error", "worker process exited with code 3")
