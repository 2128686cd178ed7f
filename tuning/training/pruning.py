"""Stopping hopeless trials early, at equal samples seen (`search.prune`).

Optuna's pruners, Ray Tune's ASHA and KerasTuner's Hyperband compare trials at equal epochs
or steps. In this search an epoch is what `steps_per_epoch` makes it: under stream
semantics an epoch of 128 steps is 64 times the work of an epoch of 2, so comparing them at
equal epochs compares unequal training. Here every trial is compared with its peers at the
same number of training samples seen.

- **Rungs** are samples-seen counts on one ladder shared by every trial: the powers of 2
  (2, 4, 8, ...). A trial is judged at each epoch end that passes a rung, at the latest rung
  passed, once it has trained at least 1/9 of its own budget (before that a curve says
  little) and while epochs are left (stopping at the end saves nothing). A coarser ladder
  judges a trial whose epochs are long (many samples each) only rarely: its value at a rung
  exists only once one of its epochs has ended by the rung.
- **A trial's value at a rung** is the best of its intermediate objective (the objective's
  quantity on the validation rows, `val_<quantity>`, recorded every epoch) over the epochs
  that ended at or before the rung: what the trial had reached with that many samples, as
  the best-epoch weights it would keep. A peer counts at a rung once it has trained past it,
  so its value there is final; a peer that finished its whole, smaller budget before the
  rung counts with the best it reached (with more samples it would have done no worse, so
  this can only spare the trial judged).
- **Peers** are the other trials of the search, finished (their records), pruned, or still
  running (the curve each worker writes as it trains): the decision reads the run directory,
  not the order in which workers took trials. Fresh-seed re-runs are never judged nor peers.
- **median**: stop a trial whose value is worse than the median of at least `MIN_PEERS`
  peers at the rung (Optuna's MedianPruner, on this clock). **asha**: stop one worse than
  the cut that the best 1/ETA of its peers at the rung pass (their (1 - 1/ETA) quantile),
  from the first peer on: the stopping rule of Ray Tune's ASHA, on this clock.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tuning.records.epochs import FOLDER as PROGRESS_FOLDER
from tuning.records.status import Status
from tuning.records.trials import RECORDS, SAMPLES_SEEN, STATUS, TRIAL_ID

#: The ladder's ratio: rungs at 2, 4, 8, ... samples seen.
LADDER = 2
#: ASHA lets on what passes the cut of the best 1/ETA of the peers at a rung: Ray Tune's
#: ASHA and Optuna's successive-halving pruner keep a quarter by default
#: (`reduction_factor = 4`).
ETA = 4
#: The median rule waits for this many peers at a rung; fewer say too little.
MIN_PEERS = 4
#: No trial is judged before it has trained this share of its own budget.
WARMUP = 1 / 9


@dataclass(frozen=True)
class Point:
    """One epoch end of a curve: samples seen then, and the intermediate objective."""

    samples: int
    value: float


@dataclass(frozen=True)
class Curve:
    """A trial's intermediate objective so far; `reached` is the samples it has trained;
    `complete` when it trained to its whole budget."""

    trial_id: str
    points: tuple[Point, ...]
    complete: bool = False

    @property
    def reached(self) -> int:
        return self.points[-1].samples if self.points else 0


@dataclass(frozen=True)
class Decision:
    """The judgement of one trial at one rung, with what it rests on (for its message)."""

    prune: bool
    rule: str
    rung: int
    value: float
    bar: float
    peers: int
    column: str
    eta: int = ETA

    @property
    def message(self) -> str:
        if self.rule == "median":
            against = f"the median of {self.peers} other trial(s)"
        else:
            against = f"the cut of the best 1/{self.eta} of {self.peers} other trial(s)"
        return (f"pruned at {self.rung:,} samples seen: {self.column} {self.value:.4g}, worse "
                f"than {against} there ({self.bar:.4g})")


class Pruned(Exception):
    """Raised from the training loop when a trial is stopped; carries the decision."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.message)
        self.decision = decision


def rungs_between(low: int, high: int) -> list[int]:
    """The ladder's rungs r with low <= r <= high."""
    found, rung = [], LADDER
    while rung <= high:
        if rung >= low:
            found.append(rung)
        rung *= LADDER
    return found


def value_at(curve: Curve, rung: int, maximise: bool) -> float | None:
    """The best finite value among the epochs that ended at or before `rung`; None when no
    epoch had ended by then."""
    values = [p.value for p in curve.points if p.samples <= rung and math.isfinite(p.value)]
    if not values:
        return None
    return max(values) if maximise else min(values)


def judge(rule: str, rung: int, value: float, peers: Sequence[float], maximise: bool,
          column: str, eta: int = ETA) -> Decision | None:
    """Stop or go for a trial worth `value` at `rung` among `peers`' values there; None when
    there are too few peers to say. `eta`: ASHA's ratio (the benchmark compares others)."""
    if rule == "median":
        if len(peers) < MIN_PEERS:
            return None
        ordered = sorted(peers)
        middle = len(ordered) // 2
        bar = (ordered[middle] if len(ordered) % 2
               else (ordered[middle - 1] + ordered[middle]) / 2)
        worse = value < bar if maximise else value > bar
        return Decision(worse, rule, rung, value, bar, len(peers), column)
    if not peers:
        return None
    # Ray Tune's ASHA: the cut that the best 1/eta of the values recorded there pass.
    bar = float(np.percentile(peers, 100 * (1 - 1 / eta) if maximise else 100 / eta))
    worse = value < bar if maximise else value > bar
    return Decision(worse, rule, rung, value, bar, len(peers), column, eta)


def due_rung(budget: int, judged: int, seen: int) -> int | None:
    """The rung a trial that has seen `seen` of its `budget` samples is judged at now: the
    latest one passed since the last judgement (`judged`) and after the warm-up; None when
    there is none, or when no training is left to save."""
    if seen >= budget:
        return None
    due = rungs_between(max(judged + 1, math.ceil(budget * WARMUP)), seen)
    return due[-1] if due else None


def decide(rule: str, own: Curve, rung: int, peers: Iterable[Curve], maximise: bool,
           column: str, eta: int = ETA) -> Decision | None:
    """Judge `own` at `rung` against its peers there; None when it cannot be judged there
    (no epoch of its own had ended by then, or too few peers)."""
    value = value_at(own, rung, maximise)
    if value is None:
        return None
    values = [v for v in (peer_value(c, rung, maximise) for c in peers) if v is not None]
    return judge(rule, rung, value, values, maximise, column, eta)


def peer_value(peer: Curve, rung: int, maximise: bool) -> float | None:
    """A peer's value at `rung`: its value there once it has trained past it; for one that
    finished its whole budget short of the rung, the best it reached. With more samples it
    would have done no worse, so counting it can only spare the judged trial. None for a
    trial still short of the rung, or stopped short of it."""
    if peer.reached >= rung:
        return value_at(peer, rung, maximise)
    return value_at(peer, peer.reached, maximise) if peer.complete else None


class Judge:
    """Decides, at each epoch end of one trial, whether it goes on (see the module)."""

    def __init__(self, rule: str, run_dir: Path, trial_id: str, budget: int,
                 column: str, maximise: bool) -> None:
        self.rule = rule
        self.run_dir = Path(run_dir)
        self.trial_id = trial_id
        self.budget = budget
        self.column = column
        self.maximise = maximise
        self._judged = 0  # the highest rung already judged
        self._finished: dict[str, Curve] = {}  # finished peers never change: read once

    def __call__(self, rows: Sequence[dict[str, Any]]) -> None:
        """Called with the trial's curve rows after each epoch; raises `Pruned` to stop."""
        own = curve_of(self.trial_id, rows, self.column)
        rung = due_rung(self.budget, self._judged, own.reached)
        if rung is None:
            return
        self._judged = rung
        decision = decide(self.rule, own, rung, self.peers(), self.maximise, self.column)
        if decision is not None and decision.prune:
            raise Pruned(decision)

    def peers(self) -> list[Curve]:
        """Every other trial's curve: finished ones from their records, running ones from
        the curve their worker last wrote (a record wins over a running curve)."""
        folder = self.run_dir / RECORDS
        for path in folder.glob("trial_*.json") if folder.is_dir() else ():
            trial_id = path.stem.removeprefix("trial_")
            if trial_id in self._finished or trial_id == self.trial_id:
                continue
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                rows, status = record["curves"], record["row"][STATUS]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # being written or damaged: the search deals with it
            self._finished[trial_id] = curve_of(trial_id, rows, self.column,
                                                complete=status == Status.OK)
        running = {c.trial_id: c for c in running_curves(self.run_dir, self.column)
                   if c.trial_id != self.trial_id and c.trial_id not in self._finished}
        return [*self._finished.values(), *running.values()]


def curve_of(trial_id: str, rows: Iterable[dict[str, Any]], column: str,
             complete: bool = False, clock: str = SAMPLES_SEEN) -> Curve:
    """A trial's curve from its per-epoch rows (of its last execution, where it repeats),
    on `clock`: samples seen, or (to compare with other tools) the epoch."""
    rows = list(rows)
    last = max((int(row.get("execution") or 0) for row in rows), default=0)
    points = tuple(
        Point(int(row[clock]),
              float(row[column]) if row.get(column) is not None else math.nan)
        for row in rows
        if int(row.get("execution") or 0) == last and row.get(clock) is not None
    )
    return Curve(str(trial_id), points, complete)


def running_curves(run_dir: Path, column: str) -> list[Curve]:
    """The curves of the trials running now, as their workers last wrote them."""
    folder = Path(run_dir) / PROGRESS_FOLDER
    found = []
    for path in folder.glob("worker-*.json") if folder.is_dir() else ():
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if entry.get("prunable") and isinstance(entry.get("curve"), list):
            found.append(curve_of(str(entry.get(TRIAL_ID)), entry["curve"], column))
    return found
