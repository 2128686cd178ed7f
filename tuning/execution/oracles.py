"""keras-tuner's Oracles (what to try next), made from the spec, and how they are saved."""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras_tuner as kt
from keras_tuner.engine.trial import TrialStatus

from tuning.records.trials import atomic_write
from tuning.spec.schema import Spec
from tuning.spec.space import DEFAULT_RANDOM_TRIALS, expected_trials

#: A failed trial is a result, not a reason to stop: never end the search on failures.
_NEVER = 10**9


_ENDED = (TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.INVALID)
#: Oracle saves may take at most about this share of the search's time.
SAVE_SHARE = 0.05


class SavedOracle:
    """What every Oracle of a search does on top of keras-tuner's own (a mixin).

    keras-tuner rewrites its whole state (every trial id and hash) after each trial: at
    10,000 trials that is tens of milliseconds a trial, growing with the search. Here a save
    is skipped while the last one is recent (less than 1/SAVE_SHARE times its own duration
    ago), and written at the end (`save(force=True)`); the file is replaced atomically, as
    a kill in the middle of keras-tuner's plain write left half a file that no resume could
    read. What a skipped save leaves out is taken back on reload from the trials' own files,
    which keras-tuner writes for every trial: no finished configuration is handed out
    again, and every one that was running is.
    """

    _saved_at = float("-inf")
    _save_took = 0.0

    def save(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._saved_at < self._save_took / SAVE_SHARE:
            return
        atomic_write(Path(self._get_oracle_fname()), json.dumps(self.get_state()))
        self._saved_at = time.monotonic()
        self._save_took = self._saved_at - now

    def set_state(self, state: dict) -> None:
        # A trial saved as running whose own file was never written (the search was killed
        # in between) cannot be reloaded; it never trained, so it is simply not running.
        ongoing = {k: v for k, v in state["ongoing_trials"].items() if v in self.trials}
        super().set_state({**state, "ongoing_trials": ongoing})

    def reload(self) -> None:
        super().reload()
        ended = {t.trial_id for t in self.trials.values() if t.status in _ENDED}
        for trial in self.trials.values():
            self._record_values(trial)
            if trial.trial_id in ended and trial.trial_id not in self.end_order:
                self.end_order.append(trial.trial_id)
        # keras-tuner retries what was running at its last save: some of that has ended
        # since, and what started after it was running too
        running = [t for t in self.trials if t not in ended]
        self._retry_queue = [t for t in dict.fromkeys([*self._retry_queue, *running])
                             if t not in ended]

    def _check_consecutive_failures(self) -> None:
        """Failures never end a search (see `_NEVER`); keras-tuner's check walks every
        ended trial after each one."""


class ParallelGridOracle(SavedOracle, kt.oracles.GridSearchOracle):
    """keras-tuner's grid, in keras-tuner's order, handed out as fast as workers ask.

    keras-tuner's own grid oracle derives each new point from a finished trial, so with
    several workers it answers "idle" until one ends (two trials at most run at once), and
    the order it keeps is not saved with its state, so a reloaded grid fails on its next
    trial. Here the grid is listed once (with keras-tuner's own successor rule) and the next
    point not yet tried is given out; what was tried is part of every Oracle's saved state.
    The walk goes on from where the last one stopped, so each trial costs the same at the
    grid's end as at its start.
    """

    _points: list[dict] | None = None
    _cursor = 0

    def populate_space(self, trial_id: str) -> dict:
        if self._points is None:
            self._points = list(self._grid())
        while self._cursor < len(self._points):
            values = self._points[self._cursor]
            if not self._duplicate(values):
                return {"status": TrialStatus.RUNNING, "values": values}
            self._cursor += 1
        return {"status": TrialStatus.STOPPED, "values": None}

    def _grid(self):
        hps = self.get_space()
        values = {hp.name: hp.default for hp in hps.space if hps.is_active(hp)}
        while values is not None:
            yield values
            values = self._get_next_combination(values)


class RandomOracle(SavedOracle, kt.oracles.RandomSearchOracle):
    pass


class BayesianOracle(SavedOracle, kt.oracles.BayesianOptimizationOracle):
    pass


class HyperbandOracle(SavedOracle, kt.oracles.HyperbandOracle):
    pass


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
        return RandomOracle(max_trials=trials or DEFAULT_RANDOM_TRIALS, **common)
    if search.tuner == "bayesian":
        return BayesianOracle(
            max_trials=trials or DEFAULT_RANDOM_TRIALS, **common
        )
    return HyperbandOracle(
        max_epochs=spec.budget.epochs, factor=search.hyperband_factor, **common
    )
