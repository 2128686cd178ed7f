"""keras-tuner's Oracles (what to try next), made from the spec."""

from __future__ import annotations

import keras_tuner as kt
from keras_tuner.engine.trial import TrialStatus

from tuning.space import grid_points
from tuning.spec import Spec

#: A failed trial is a result, not a reason to stop: never end the search on failures.
_NEVER = 10**9
DEFAULT_RANDOM_TRIALS = 20


class ParallelGridOracle(kt.oracles.GridSearchOracle):
    """keras-tuner's grid, in keras-tuner's order, handed out as fast as workers ask.

    keras-tuner's own grid oracle derives each new point from a finished trial, so with
    several workers it answers "idle" until one ends (two trials at most run at once), and
    the order it keeps is not saved with its state, so a reloaded grid fails on its next
    trial. Here the grid is listed once (with keras-tuner's own successor rule) and the next
    point not yet tried is given out; what was tried is part of every Oracle's saved state.
    """

    def populate_space(self, trial_id: str) -> dict:
        for values in self._grid():
            if not self._duplicate(values):
                return {"status": TrialStatus.RUNNING, "values": values}
        return {"status": TrialStatus.STOPPED, "values": None}

    def _grid(self):
        hps = self.get_space()
        values = {hp.name: hp.default for hp in hps.space if hps.is_active(hp)}
        while values is not None:
            yield values
            values = self._get_next_combination(values)


def make_oracle(spec: Spec, max_trials: int | None = None) -> kt.Oracle:
    search = spec.search
    objective = kt.Objective(search.objective, search.direction)
    common = dict(objective=objective, seed=spec.seed, max_retries_per_trial=0,
                  max_consecutive_failed_trials=_NEVER)
    trials = max_trials or search.max_trials
    if search.tuner == "grid":
        # A fixed max_trials keeps trial ids the same width across resumes.
        return ParallelGridOracle(max_trials=expected_trials(spec, max_trials), **common)
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

