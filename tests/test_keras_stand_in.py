"""The search process runs keras-tuner without TensorFlow: with the stand-in `keras`, the
Oracles decide, save and reload exactly as with the real one, and a search from the command
line never imports TensorFlow in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, spec_text

#: Every Oracle of the tool on one space with a conditional branch: the trials each hands
#: out, told a score after each, then saved, reloaded, and asked for one more.
ORACLES = textwrap.dedent("""
    import json, pathlib, sys, tempfile
    if sys.argv[1] == "stand-in":
        from tuning.execution import keras_stand_in
        assert keras_stand_in.install()
    import keras_tuner as kt
    from keras_tuner.src.engine.metrics_tracking import infer_metric_direction
    from tuning.execution.oracles import make_oracle
    from tuning.spec.schema import parse_spec

    NAMES = ["loss", "val_loss", "accuracy", "val_accuracy", "holdout_accuracy", "auc",
             "val_auc", "precision", "recall", "mse", "r2_score", "true_positives", "gap"]
    hp = kt.HyperParameters()
    hp.Choice("steps_per_epoch", [1, 2, 4])
    hp.Float("validation_split", 0.1, 0.3)
    hp.Choice("units", [8, 16])
    with hp.conditional_scope("units", [16]):
        hp.Float("dropout", 0.0, 0.5)
    out = {"directions": {n: infer_metric_direction(n) or "min" for n in NAMES},
           "config": hp.get_config()}
    for tuner in ("grid", "random", "bayesian", "hyperband"):
        spec = parse_spec(json.loads(sys.argv[2]) | {"search": {
            "tuner": tuner, "objective": "holdout_loss", "max_trials": 6,
            "space": {"steps_per_epoch": [1, 2, 4], "validation_split": [0.1, 0.3]}}},
            pathlib.Path("spec.toml"))
        folder = tempfile.mkdtemp()
        oracle = make_oracle(spec)
        oracle._set_project_dir(folder, "tuner")
        oracle.update_space(kt.HyperParameters.from_config(hp.get_config()))
        seen = []
        for number in range(5):
            trial = oracle.create_trial(f"t{number % 2}")
            if trial.status != "RUNNING":
                break
            seen.append(trial.hyperparameters.values)
            oracle.update_trial(trial.trial_id, {"holdout_loss": 1.0 / (number + 1),
                                                 "val_accuracy": 0.5})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
        oracle.save(force=True)
        again = make_oracle(spec)
        again._set_project_dir(folder, "tuner")
        again.reload()
        after = again.create_trial("t9")
        seen.append([after.status, after.hyperparameters.values])
        out[tuner] = seen
    out["tensorflow"] = "tensorflow" in sys.modules
    print(json.dumps(out, sort_keys=True, default=str))
""")


def _oracles(mode: str, spec: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", ORACLES, mode, json.dumps(spec)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # the real Keras's side imports TensorFlow
def test_every_oracle_decides_saves_and_reloads_the_same_without_tensorflow():
    from conftest import spec_dict

    spec = {k: v for k, v in spec_dict(budget={"epochs": 9}).items() if k != "search"}
    real, stand_in = _oracles("real", spec), _oracles("stand-in", spec)
    assert real.pop("tensorflow") and not stand_in.pop("tensorflow")
    assert stand_in == real
    assert real["directions"]["val_accuracy"] == "max"  # the comparison compares something
    assert len(real["grid"]) == 6 and len(real["bayesian"]) == 6


@pytest.mark.slow
def test_a_process_that_has_keras_keeps_it():
    script = ("import keras\nfrom tuning.execution import keras_stand_in\n"
              "print(keras_stand_in.install(), keras_stand_in.active())")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.split() == ["False", "False"], done.stderr[-2000:]


SEARCH = textwrap.dedent("""
    import sys
    from tuning.cli import main
    from tuning.execution import keras_stand_in

    if __name__ == "__main__":
        code = main(sys.argv[1:])
        print("exit", code, "tensorflow", "tensorflow" in sys.modules,
              "stand-in", keras_stand_in.active())
""")


@pytest.mark.slow
def test_a_search_from_the_command_line_imports_no_tensorflow_in_its_own_process(tmp_path):
    """The workers train (with TensorFlow); the search process decides, records and reports
    without it, the builder's check included; a resume too."""
    (tmp_path / "spec.toml").write_text(spec_text())
    (tmp_path / "search.py").write_text(SEARCH)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for max_trials in ("1", "2"):
        done = subprocess.run([sys.executable, "search.py", "run", "spec.toml", "--out", "out",
                               "--max-trials", max_trials], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300, env=env)
        assert done.stdout.splitlines()[-1] == "exit 0 tensorflow False stand-in True", (
            done.stdout[-2000:] + done.stderr[-2000:])
    rows = (tmp_path / "out" / "trials.csv").read_text().splitlines()
    assert len(rows) == 3 and all(",ok," in row for row in rows[1:])
