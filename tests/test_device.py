"""The GPU decisions, tested on any machine (the GPU itself is exercised by make gpu-check)."""

from __future__ import annotations

import pytest

from tuning.execution.device import plan_device


def test_auto_without_a_gpu_trains_on_the_cpu():
    plan = plan_device("auto", 0, memory_budget=2**30, mixed_precision=True)
    assert not plan.use_gpu and not plan.mixed_precision
    assert "mixed precision needs a GPU" in plan.note


def test_gpu_asked_but_absent_is_an_error():
    with pytest.raises(ValueError, match="sees no GPU"):
        plan_device("gpu", 0, None, False)


def test_gpu_without_budget_grows_its_memory():
    plan = plan_device("auto", 2, None, False)
    assert plan.use_gpu and plan.memory_growth and plan.memory_limit_mb is None


def test_gpu_budget_becomes_a_logical_device_limit():
    plan = plan_device("gpu", 1, int(1.5 * 2**30), True)
    assert plan.memory_limit_mb == 1536 and not plan.memory_growth
    assert plan.mixed_precision and "capped at 1536 MiB" in plan.note


def test_cpu_requested_ignores_a_present_gpu():
    assert not plan_device("cpu", 4, None, False).use_gpu
