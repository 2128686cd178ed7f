"""The searched names: declared on keras-tuner's HyperParameters, or expanded for `validate`."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuning.spec.schema import Dimension, Spec

#: Trials of a random or Bayesian search that gives no `max_trials`.
DEFAULT_RANDOM_TRIALS = 20

if TYPE_CHECKING:
    import keras_tuner


@dataclass(frozen=True)
class ModelSpace:
    """What building the model once tells the search: every hyperparameter keras-tuner
    will search (the spec's dimensions, then the builder's own, every conditional branch),
    and the names the first build declared (the tables' columns). Plain data, so that a
    worker can build the model and the search process never imports Keras."""

    #: keras-tuner's `HyperParameters.get_config()`.
    config: dict[str, Any]
    names: list[str]


def declare_space(hp: keras_tuner.HyperParameters, space: tuple[Dimension, ...]) -> None:
    """Declare every dimension on `hp`, conditional ones inside their scope."""
    for dim in space:
        if dim.when is None:
            _declare(hp, dim)
        else:
            with hp.conditional_scope(dim.when.parent, list(dim.when.values)):
                _declare(hp, dim)


def _declare(hp: keras_tuner.HyperParameters, dim: Dimension) -> None:
    if dim.values:
        ordered = all(isinstance(v, int | float) and not isinstance(v, bool) for v in dim.values)
        hp.Choice(dim.name, list(dim.values), ordered=ordered)
    elif dim.integer:
        hp.Int(dim.name, int(dim.low), int(dim.high), step=dim.step, sampling=dim.sampling)
    else:
        hp.Float(dim.name, dim.low, dim.high, step=dim.step, sampling=dim.sampling)


def grid_values(dim: Dimension) -> tuple[Any, ...]:
    """The values a grid tries: the listed ones, every step of a stepped range (as
    keras-tuner counts them, so `validate` shows what runs), or a range's two ends."""
    if dim.values or dim.step is None:
        return dim.endpoints()
    low, high, step = dim.low, dim.high, dim.step
    if dim.sampling == "linear":
        count = int((high - low) // step + 1)
        values = [low + i * step for i in range(count)]
    else:
        count = int(math.log(high / low, step) + 1e-8) + 1
        values = [low * step**i for i in range(count)]
    if dim.sampling == "reverse_log":
        values = [high + low - v for v in values]
    return tuple(int(round(v)) if dim.integer else v for v in values)


def grid_points(space: tuple[Dimension, ...]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, conditional names present only where their
    parent takes an allowed value."""
    free = [d for d in space if d.when is None]
    points = []
    for combo in itertools.product(*(grid_values(d) for d in free)):
        base = dict(zip((d.name for d in free), combo))
        conditional = [d for d in space if d.when and base.get(d.when.parent) in d.when.values]
        for extra in itertools.product(*(grid_values(d) for d in conditional)):
            names = (d.name for d in conditional)
            points.append({**base, **dict(zip(names, extra))})
    return points


def expected_trials(spec: Spec, max_trials: int | None = None) -> int | None:
    """How many trials the search will run, where that is known in advance (not for
    hyperband, whose brackets decide)."""
    trials = max_trials or spec.search.max_trials
    if spec.search.tuner == "grid":
        size = len(grid_points(spec.search.space))
        return min(size, trials) if trials else size
    if spec.search.tuner == "hyperband":
        return None
    return trials or DEFAULT_RANDOM_TRIALS
