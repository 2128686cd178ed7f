"""The prepared rows written once and memory-mapped: the same dataset back, and a search
that starts over (--fresh) in a directory that holds them."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli, spec_text, trial_arrays

from tuning.data import store
from tuning.data.dataset import load_dataset, open_prepared
from tuning.records import rundir
from tuning.records.trials import read_table
from tuning.spec.schema import load_spec


def test_written_rows_come_back_memory_mapped_and_equal(tmp_path, write_spec):
    spec = load_spec(write_spec(spec_text(source="sklearn:iris")))
    dataset = load_dataset(spec)  # a temporary store, gone once mapped
    load_dataset(spec, tmp_path / "staging")
    mapped = open_prepared(store.move(tmp_path / "staging", tmp_path / "data"))
    assert isinstance(mapped.x, np.memmap) and not (tmp_path / "staging").exists()
    for name in ("x", "y", "pool", "holdout", "test"):
        np.testing.assert_array_equal(getattr(mapped, name), getattr(dataset, name))
    assert (mapped.n_outputs, mapped.stratify, mapped.warnings, mapped.preparation) == (
        dataset.n_outputs, dataset.stratify, dataset.warnings, dataset.preparation)
    for split in (0.1, 0.3):
        for ours, theirs in zip(trial_arrays(mapped, split), trial_arrays(dataset, split)):
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.slow
def test_a_fresh_start_over_a_run_with_shared_rows_forgets_what_the_last_run_left(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(spec_text(source="sklearn:iris", steps=[2], epochs=1))
    out = tmp_path / "run"
    stale = out / "progress" / "worker-7.json"  # a worker of an earlier, wider search
    for extra in ([], ["--fresh"]):
        result = run_cli("run", str(spec), "--out", str(out), *extra)
        assert result.returncode == 0, result.stderr
        assert (out / "data" / "x.npy").is_file() and not list(tmp_path.glob(".steps-tuner-data-*"))
        assert (read_table(out / "trials.csv").status == "ok").all()
        applied = ("features stored as float32, given to the model as float32 standardized "
                   "with each trial's training rows' mean and spread (data.standardize = auto)")
        assert rundir.read_state(out)["data_preparation"] == applied
        assert applied in (out / "report.md").read_text()
        assert not stale.exists()
        stale.write_text('{"trial_id": "00", "epoch": 99}')
    log = (out / "logs" / "worker-0.log").read_text()
    assert log.count("---- worker 0 started") == 2  # each start's output found by its mark
    assert log.rindex("---- worker 0 started") < log.rindex("trial 0:")
    rundir.clear(out)  # what --fresh discards: the run's own files, its summary among them
    assert not (out / "summary.json").exists() and (out / "data").is_dir()
