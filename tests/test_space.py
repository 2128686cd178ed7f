"""The grid: every value a stepped range holds, as keras-tuner's grid runs it."""

from __future__ import annotations

from conftest import run_cli, spec_text

from tuning.oracles import expected_trials, make_oracle
from tuning.space import declare_space, grid_points
from tuning.spec import load_spec

STEPPED = "{ min = 2, max = 16, step = 2 }"


def _handed_out(spec, tmp_path) -> list[dict]:
    """Every trial the spec's Oracle hands out, each ended at once, until it says stop."""
    from keras_tuner.engine.trial import TrialStatus

    oracle = make_oracle(spec)
    oracle._set_project_dir(str(tmp_path), "grid")
    hp = oracle.get_space()
    declare_space(hp, spec.search.space)  # as keras-tuner's tuner does before the first trial
    oracle.update_space(hp)
    values = []
    while True:
        trial = oracle.create_trial("t")
        if trial.status == TrialStatus.STOPPED:
            return values
        values.append(dict(trial.hyperparameters.values))
        oracle.update_trial(trial.trial_id, {"holdout_accuracy": 0.5})
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)


def test_a_stepped_range_contributes_every_step_to_the_grid(write_spec, tmp_path):
    spec = load_spec(write_spec(steps=STEPPED, splits="[0.1, 0.2]"))
    points = grid_points(spec.search.space)
    assert len(points) == 16 and expected_trials(spec) == 16
    assert sorted({p["steps_per_epoch"] for p in points}) == list(range(2, 17, 2))
    ran = _handed_out(spec, tmp_path)
    assert len(ran) == 16
    assert {(v["steps_per_epoch"], v["validation_split"]) for v in ran} == {
        (p["steps_per_epoch"], p["validation_split"]) for p in points}


def test_a_log_stepped_range_matches_keras_tuner(write_spec, tmp_path):
    spec = load_spec(write_spec(steps="{ min = 2, max = 64, step = 2, sampling = \"log\" }"))
    points = grid_points(spec.search.space)
    assert [p["steps_per_epoch"] for p in points] == [2, 4, 8, 16, 32, 64]
    assert len(_handed_out(spec, tmp_path)) == 6


def test_validate_lists_every_step(write_spec):
    result = run_cli("validate", str(write_spec(spec_text(steps=STEPPED))))
    assert result.returncode == 0, result.stderr
    assert "8 grid point(s)" in result.stdout
    assert "ranges shown at their ends" not in result.stdout
