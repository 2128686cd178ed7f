"""How many workers `workers = "auto"` runs: by cores, memory, GPUs and the trials to run."""

from __future__ import annotations

from dataclasses import replace

from conftest import run_cli, spec_text

from tuning.execution.capacity import WORKER_BYTES, available_memory, narrowed, worker_count
from tuning.spec.machine import usable_cores
from tuning.spec.schema import AUTO, load_spec


def auto(spec, **resources):
    return replace(spec, resources=replace(spec.resources, workers=AUTO, **resources))


def test_a_number_in_the_spec_is_kept(write_spec):
    spec = load_spec(write_spec(resources={"workers": 3}))
    assert worker_count(spec) == worker_count(spec)
    assert (worker_count(spec).count, worker_count(spec).reason) == (3, "as the spec says")


def test_auto_is_the_default_and_runs_one_worker_per_core(write_spec):
    spec = load_spec(write_spec(spec_text(steps=list(range(1, 65))).replace(
        "[resources]\nworkers = 1\n\n", "")))
    assert spec.resources.workers == AUTO
    chosen = worker_count(auto(spec, device="cpu"))
    memory_fits = available_memory() * 3 // 4 // WORKER_BYTES
    assert chosen.count == min(usable_cores(), max(1, memory_fits))
    assert chosen.reason.startswith("auto: ")


def test_auto_never_runs_more_workers_than_trials(write_spec):
    spec = auto(load_spec(write_spec(steps=[4])), device="cpu")
    assert worker_count(spec).count == 1
    if usable_cores() > 1:
        assert worker_count(spec).reason == "auto: 1 trial(s) to run"


def test_auto_leaves_room_for_each_workers_memory_budget(write_spec):
    spec = auto(load_spec(write_spec(steps=list(range(1, 65)))), device="cpu",
                memory_budget=2**49)  # far more than this machine has: one worker
    chosen = worker_count(spec)
    assert chosen.count == 1 and "of memory available" in chosen.reason


def test_cuda_visible_devices_narrows_the_gpus():
    assert narrowed(4, None) == 4
    assert narrowed(4, "") == 0
    assert narrowed(4, "-1") == 0
    assert narrowed(4, "0,2") == 2
    assert narrowed(4, "1,-1,2") == 1  # CUDA stops at the first invalid entry
    assert narrowed(1, "0,1,2") == 1


def test_validate_says_how_many_workers_and_why(write_spec, tmp_path):
    path = write_spec(steps=[4, 8])
    path.write_text(path.read_text().replace("workers = 1", 'workers = "auto"'))
    done = run_cli("validate", str(path))
    assert done.returncode == 0, done.stderr
    assert "workers: " in done.stdout and "(auto: " in done.stdout
