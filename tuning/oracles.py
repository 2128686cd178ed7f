"""keras-tuner's Oracles (what to try next), made from the spec."""

from __future__ import annotations

import keras_tuner as kt
from keras_tuner.src.tuners.gridsearch import LinkedList

from tuning.space import grid_points
from tuning.spec import Spec

#: A failed trial is a result, not a reason to stop: never end the search on failures.
_NEVER = 10**9
DEFAULT_RANDOM_TRIALS = 20

class ResumableGridSearchOracle(kt.oracles.GridSearchOracle):
    """keras-tuner's grid oracle, plus the two pieces of state it forgets on save.

    Without its order of visited trials and its queue of trials to expand, a grid search
    reloaded after a crash fails on its next trial (KeyError in `populate_space`).
    """

    def get_state(self) -> dict:
        state = super().get_state()
        ordered, index = [], self._ordered_ids._next_index[None]
        while index is not None:
            ordered.append(self._ordered_ids._memory[index])
            index = self._ordered_ids._next_index[index]
        state["grid_ordered_ids"] = ordered
        state["grid_populate_next"] = list(self._populate_next)
        return state

    def set_state(self, state: dict) -> None:
        super().set_state(state)
        self._ordered_ids = LinkedList()
        for trial_id in state.get("grid_ordered_ids", []):
            self._ordered_ids.insert(trial_id)
        self._populate_next = list(state.get("grid_populate_next", []))


def make_oracle(spec: Spec, max_trials: int | None = None) -> kt.Oracle:
    search = spec.search
    objective = kt.Objective(search.objective, search.direction)
    common = dict(objective=objective, seed=spec.seed, max_retries_per_trial=0,
                  max_consecutive_failed_trials=_NEVER)
    trials = max_trials or search.max_trials
    if search.tuner == "grid":
        # A fixed max_trials keeps trial ids the same width across resumes.
        return ResumableGridSearchOracle(max_trials=expected_trials(spec, max_trials), **common)
    if search.tuner == "random":
        return kt.oracles.RandomSearchOracle(max_trials=trials or DEFAULT_RANDOM_TRIALS, **common)
    if search.tuner == "bayesian":
        return kt.oracles.BayesianOptimizationOracle(
            max_trials=trials or DEFAULT_RANDOM_TRIALS, **common
        )
    return kt.oracles.HyperbandOracle(
        max_epochs=spec.budget.epochs, factor=search.hyperband_factor, **common
    )

def expected_trials(spec: Spec, max_trials: int | None = None) -> int | None:
    """How many trials the search will run, where that is known in advance."""
    trials = max_trials or spec.search.max_trials
    if spec.search.tuner == "grid":
        size = len(grid_points(spec.search.space))
        return min(size, trials) if trials else size
    if spec.search.tuner == "hyperband":
        return None
    return trials or DEFAULT_RANDOM_TRIALS

