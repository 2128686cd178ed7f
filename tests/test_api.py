"""The Python API: a notebook session run as a script, `load` without TensorFlow, and bad
input raised as `SpecError` with the command line's message, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib

import numpy as np
import pytest
from conftest import ROOT, run_cli, spec_dict, spec_text
from test_report_data import make_run

import tuning
from tuning.spec.tomlwrite import to_toml


@pytest.mark.slow
def test_notebook_session_runs_as_a_script(tmp_path):
    """docs/notebook_session.py: builder and data defined in the script (no main guard),
    arrays with one worker, a tf.data pipeline with two, an image folder with the workers
    "auto" gives; DataFrames back."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STEPS_TUNER_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "notebook_session.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("starting") == 3  # three searches, none started again by a worker
    for case, workers in (("arrays", {0}), ("pipeline", {0, 1}), ("images", None)):
        result = tuning.load(tmp_path / "results" / f"notebook-{case}")
        assert len(result.trials) == 2 and (result.trials.status == "ok").all(), case
        ran = json.loads((result.run_dir / "run.json").read_text())["workers"]
        assert set(result.trials.worker) == (workers or set(range(ran)))
        assert len(result.curves) == 2 * 2 and result.report.is_file()
        saved = tomllib.loads((result.run_dir / "spec.toml").read_text())
        assert saved["model"]["builder"] == "__main__:build"
    arrays = tuning.load(tmp_path / "results" / "notebook-arrays").trials
    pipeline = tuning.load(tmp_path / "results" / "notebook-pipeline").trials
    # the pipeline holds the same rows (scaled by 2, undone by the per-trial scaling)
    assert pipeline.holdout_accuracy.tolist() == pytest.approx(arrays.holdout_accuracy.tolist())
    assert "2 trials, 4 curve rows" in done.stdout


def test_load_reads_a_run_without_tensorflow(tmp_path):
    run_dir = make_run(tmp_path, n_trials=5)
    code = ("import sys, tuning; r = tuning.load(sys.argv[1]); "
            "print(len(r.trials), len(r.curves) > 0, type(r.trials).__name__, "
            "'tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(run_dir)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5", "True", "DataFrame", "False", "False"]
    with pytest.raises(tuning.SpecError, match="not a run directory"):
        tuning.load(tmp_path / "nowhere")


BAD = {
    "unknown key": ({"budget": {"epoch": 3}}, None),
    "bad split": ({"search": {"space": {"validation_split": [1.5]}}}, None),
    "bad data": ({}, "rows"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_raises_spec_error_with_the_command_line_message(tmp_path, case):
    change, data = BAD[case]
    raw = spec_dict(source="sklearn:iris", **change)
    out = tmp_path / "run"
    kwargs = {}
    if data == "rows":  # five labels for four rows
        kwargs["data"] = ([[0.0, 1.0]] * 4, [0, 1, 0, 1, 0])
    with pytest.raises(tuning.SpecError) as caught:
        tuning.search(raw, out=out, **kwargs)
    assert isinstance(caught.value, ValueError)
    assert not out.exists()
    if data is None:  # the same spec through the command line says the same
        spec = tmp_path / "spec.toml"
        spec.write_text(to_toml(raw))
        cli = run_cli("run", str(spec), "--out", str(out))
        assert cli.returncode == 2 and cli.stderr.strip() == f"error: {caught.value}"
    else:
        assert str(caught.value) == "data: 4 feature rows but 5 labels"


def test_import_tuning_loads_no_tensorflow():
    code = ("import sys, tuning; tuning.SpecError; tuning.load; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_spec_dicts_are_written_back_as_the_same_toml():
    raw = tomllib.loads(spec_text(extra='learning_rate = { min = 1e-4, max = 0.01, '
                                        'sampling = "log" }\nname = ["a b", "c\\"d"]\n'))
    assert tomllib.loads(to_toml(raw)) == raw


def test_the_data_cache_keeps_to_its_limit_least_recently_used_first(tmp_path, monkeypatch):
    from tuning.data.cache import prune_cache

    monkeypatch.setenv("STEPS_TUNER_CACHE", str(tmp_path))
    root = tmp_path / "data"
    now = time.time()
    for name, hours_ago in (("b", 30), ("a", 50), ("c", 10), ("in-use", 0.1)):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "x.npy").write_bytes(b"0" * 1000)
        os.utime(folder, (now - hours_ago * 3600,) * 2)
    assert [p.name for p in prune_cache(2500)] == ["a", "b"]
    assert sorted(p.name for p in root.iterdir()) == ["c", "in-use"]
    assert [p.name for p in prune_cache(1, keep=root / "c")] == []  # in use, or kept
    assert [p.name for p in prune_cache(1)] == ["c"]
    assert [p.name for p in root.iterdir()] == ["in-use"]


def _endless_batches():
    """Batches of 10 rows of two features, without end; the label is the first's parity."""
    i = 0
    while True:
        rows = np.arange(i, i + 10, dtype=np.float32)
        yield np.stack([rows % 7, rows % 2], axis=1), (rows % 2).astype(int)
        i += 10


def test_an_endless_generator_needs_take_and_nothing_is_written(tmp_path):
    raw = tomllib.loads(spec_text(source="sklearn:iris"))
    with pytest.raises(tuning.SpecError) as caught:
        tuning.search(raw, data=_endless_batches(), out=tmp_path / "run")
    assert caught.value.where == "data.take" and "generator may never end" in caught.value.what
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_generator_with_take_is_searched_and_its_rows_cached_once(tmp_path, monkeypatch):
    monkeypatch.setenv("STEPS_TUNER_CACHE", str(tmp_path / "cache"))
    raw = tomllib.loads(spec_text(source="sklearn:iris", steps=[4]))
    raw["data"]["take"] = 300
    result = tuning.search(raw, data=_endless_batches(), out=tmp_path / "run")
    assert (result.trials.status == "ok").all()
    (folder,) = (tmp_path / "cache" / "data").iterdir()
    assert np.load(folder / "x.npy", mmap_mode="r").shape == (300, 2)
    again = tuning.search(raw, data=_endless_batches(), out=tmp_path / "run")  # resumes
    assert list((tmp_path / "cache" / "data").iterdir()) == [folder]
    assert len(again.trials) == len(result.trials)
    assert (tmp_path / "run" / "data").resolve().parent == tmp_path / "cache" / "stores"


def test_in_memory_labels_are_checked_before_the_data_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("STEPS_TUNER_CACHE", str(tmp_path / "cache"))
    raw = tomllib.loads(spec_text(source="sklearn:iris"))
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    with pytest.raises(tuning.SpecError, match="needs two classes or more, found 1"):
        tuning.search(raw, data=(x, np.zeros(20, int)), out=tmp_path / "run")
    assert not [p.name for p in (tmp_path / "cache" / "data").iterdir()]  # nor a half-written one
    assert not (tmp_path / "run").exists()
