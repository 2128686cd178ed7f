"""The project's HyperModel inside a user's own KerasTuner code (docs/python.md: "Using the
HyperModel in your own KerasTuner code")."""

from __future__ import annotations

import keras_tuner as kt
import pytest
from conftest import spec_text

from tuning.data.dataset import load_dataset
from tuning.spec.schema import load_spec
from tuning.training.hypermodel import StepsHyperModel

pytestmark = pytest.mark.slow  # every test here trains or runs a search


def test_a_users_random_search_drives_the_hypermodel(tmp_path, write_spec):
    spec = load_spec(write_spec(spec_text(source="sklearn:iris", epochs=2, steps=[2, 8],
                                          splits=[0.1, 0.3])))
    hypermodel = StepsHyperModel(spec, load_dataset(spec))
    tuner = kt.RandomSearch(hypermodel, objective=kt.Objective("holdout_accuracy", "max"),
                            max_trials=3, seed=1, directory=str(tmp_path), project_name="mine")
    tuner.search()
    trials = tuner.oracle.get_best_trials(3)
    assert len(trials) == 3
    assert {tuple(t.hyperparameters.values) for t in trials} == {
        ("steps_per_epoch", "validation_split")}
    for trial in trials:
        hp = trial.hyperparameters
        assert hp.get("steps_per_epoch") in (2, 8) and hp.get("validation_split") in (0.1, 0.3)
        assert 0 <= trial.metrics.get_last_value("holdout_accuracy") <= 1
        assert trial.metrics.get_last_value("val_loss") > 0
    # keras-tuner's fit ran the tool's budget: partition semantics, one pass per epoch
    best = tuner.get_best_hyperparameters()[0]
    plan = hypermodel.plan_for(best)
    assert plan.steps_per_epoch == best.get("steps_per_epoch") and plan.epochs == 2
