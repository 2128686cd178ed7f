"""The grid: every value a stepped range holds, as keras-tuner's grid runs it."""

from __future__ import annotations

import pytest
from conftest import run_cli, spec_text

from tuning.execution.oracles import make_oracle
from tuning.spec.schema import load_spec
from tuning.spec.space import declare_space, expected_trials, grid_points

STEPPED = {"min": 2, "max": 16, "step": 2}


def _oracle(spec, folder):
    """The spec's Oracle in `folder`, set up as keras-tuner's tuner sets it up."""
    oracle = make_oracle(spec)
    oracle._set_project_dir(str(folder), "grid")
    hp = oracle.get_space()
    declare_space(hp, spec.search.space)  # as keras-tuner's tuner does before the first trial
    oracle.update_space(hp)
    return oracle


def _handed_out(spec, tmp_path, oracle=None, limit: int | None = None) -> list[dict]:
    """Every trial the spec's Oracle hands out (up to `limit`), each ended at once, until it
    says stop."""
    from keras_tuner.engine.trial import TrialStatus

    oracle = oracle or _oracle(spec, tmp_path)
    values = []
    while limit is None or len(values) < limit:
        trial = oracle.create_trial("t")
        if trial.status == TrialStatus.STOPPED:
            return values
        values.append(dict(trial.hyperparameters.values))
        oracle.update_trial(trial.trial_id, {"holdout_accuracy": 0.5})
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    return values


def test_a_stepped_range_contributes_every_step_to_the_grid(write_spec, tmp_path):
    spec = load_spec(write_spec(steps=STEPPED, splits=[0.1, 0.2]))
    points = grid_points(spec.search.space)
    assert len(points) == 16 and expected_trials(spec) == 16
    assert sorted({p["steps_per_epoch"] for p in points}) == list(range(2, 17, 2))
    ran = _handed_out(spec, tmp_path)
    assert len(ran) == 16
    assert {(v["steps_per_epoch"], v["validation_split"]) for v in ran} == {
        (p["steps_per_epoch"], p["validation_split"]) for p in points}


def test_a_log_stepped_range_matches_keras_tuner(write_spec, tmp_path):
    spec = load_spec(write_spec(steps={"min": 2, "max": 64, "step": 2, "sampling": "log"}))
    points = grid_points(spec.search.space)
    assert [p["steps_per_epoch"] for p in points] == [2, 4, 8, 16, 32, 64]
    assert len(_handed_out(spec, tmp_path)) == 6


def test_validate_lists_every_step(write_spec):
    result = run_cli("validate", str(write_spec(spec_text(steps=STEPPED))))
    assert result.returncode == 0, result.stderr
    assert "8 grid point(s)" in result.stdout
    assert "ranges shown at their ends" not in result.stdout


@pytest.mark.parametrize("tuner", ["grid", "random"])
def test_a_reloaded_oracle_never_hands_out_what_ran_after_its_last_save(
        write_spec, tmp_path, monkeypatch, tuner):
    """Saves are skipped while the last one is recent; a search that dies in between must
    not train the same configuration twice when it resumes."""
    import json

    from tuning.execution import oracles

    spec = load_spec(write_spec(steps=STEPPED, splits=[0.1, 0.2],
                                search={"tuner": tuner, "max_trials": 16}))
    monkeypatch.setattr(oracles, "SAVE_SHARE", 1e-12)  # after the first save, none
    oracle = _oracle(spec, tmp_path)
    first = _handed_out(spec, tmp_path, oracle=oracle, limit=5)
    running = oracle.create_trial("t")  # in flight when the search dies
    saved = json.loads((tmp_path / "grid" / "oracle.json").read_text())
    assert len(saved["end_order"]) < 5  # the later trials were never saved in the state
    later = _oracle(spec, tmp_path)
    later.reload()
    again = later.create_trial("t")
    assert again.trial_id == running.trial_id  # trained again: it never finished
    later.update_trial(again.trial_id, {"holdout_accuracy": 0.5})
    again.status = "COMPLETED"
    later.end_trial(again)
    rest = [dict(again.hyperparameters.values),
            *_handed_out(spec, tmp_path, oracle=later)]
    key = [(v["steps_per_epoch"], v["validation_split"]) for v in first + rest]
    assert len(key) == len(set(key)) == 16
    later.save(force=True)
    assert len(json.loads((tmp_path / "grid" / "oracle.json").read_text())["end_order"]) == 16


def test_a_running_trial_whose_file_was_never_written_does_not_stop_a_resume(write_spec,
                                                                             tmp_path):
    import json

    spec = load_spec(write_spec(steps=STEPPED))
    _handed_out(spec, tmp_path, limit=1)
    path = tmp_path / "grid" / "oracle.json"
    state = json.loads(path.read_text())
    state["ongoing_trials"]["t"] = "99"  # killed between the state and the trial's own file
    path.write_text(json.dumps(state))
    later = _oracle(spec, tmp_path)
    later.reload()
    assert later.create_trial("t").trial_id == "1"
