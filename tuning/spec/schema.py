"""The experiment spec: a TOML file turned into frozen, validated objects.

Every check names the key it is about, so a user sees `error: search.space.validation_split:
...` and not a traceback. Nothing here imports TensorFlow: `validate` and `--help` stay instant.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuning.spec.errors import UserError
from tuning.spec.objective import HOLDOUT, PARTS, Objective, score_column
from tuning.spec.sizes import format_size, parse_size

TUNERS = ("grid", "random", "bayesian", "hyperband")
#: How hopeless trials are stopped early (`tuning.training.pruning`); hyperband has its own.
PRUNERS = ("none", "median", "asha")
#: `resources.workers` left to the machine: as many as its cores, memory and GPUs allow.
AUTO = "auto"
SOURCES = ("sklearn", "csv", "npz", "npy", "images", "python")
SEMANTICS = ("partition", "stream")
TASKS = ("classification", "regression")
DEVICES = ("auto", "gpu", "cpu")
METRICS = {"classification": ("accuracy",), "regression": ("mae", "mse")}
SAMPLINGS = ("linear", "log", "reverse_log")
#: Searched names that `fit` consumes; every other name is for the builder (and `learning_rate`
#: also for the optimizer the tool compiles with).
FIT_HYPERPARAMETERS = ("batch_size", "shuffle")

Scalar = int | float | str | bool

#: Upper bounds: far beyond any real search, low enough that a typo (an extra zero or ten)
#: is refused with its key instead of overflowing somewhere deep inside a trial.
LIMITS = {
    "epochs": 100_000,
    "max_steps": 10**9,
    "batch_size": 10**7,
    "steps_per_epoch": 10**7,
    "max_trials": 100_000,
    "executions_per_trial": 100,
    "repeats": 100,
    "hyperband_factor": 100,
    "workers": 256,
    "trial_timeout_s": 10**7,
    "memory_budget": 2**50,
    "grid_points": 100_000,
    "confirm_runs": 100,
    "confirm_configs": 100,
}
#: The runner-up's margin is a score difference: accuracy lives in [0, 1], and a loss that
#: differs by more than this is no tie worth trading for.
MAX_MARGIN = 1e6
#: The smallest memory budget: below it no worker gets through a trial (TensorFlow's
#: threads and a small model's first step take tens of MiB), so every trial would end
#: `oom` and the search would measure nothing.
MIN_MEMORY_BUDGET = 64 * 2**20
#: Experiment names become folder names: letters, digits and punctuation, no separators.
MAX_NAME = 100


@dataclass(frozen=True)
class Condition:
    """A hyperparameter is searched only while `parent` takes one of `values`."""

    parent: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Dimension:
    """One searched name: either a list of `values` or a `low`..`high` range."""

    name: str
    values: tuple[Scalar, ...] = ()
    low: float | None = None
    high: float | None = None
    sampling: str = "linear"
    step: float | None = None
    integer: bool = False
    when: Condition | None = None

    @property
    def is_range(self) -> bool:
        return not self.values

    def endpoints(self) -> tuple[Scalar, ...]:
        """The listed values, or the two ends of a range (what `validate` can show)."""
        if self.values:
            return self.values
        cast = int if self.integer else float
        return (cast(self.low), cast(self.high))


@dataclass(frozen=True)
class DataSpec:
    source: str
    target: str | None = None
    holdout: float = 0.2
    #: Rows never used to rank or select: the recommendation's score is stated on them.
    test: float = 0.2
    image_size: tuple[int, int] | None = None  # images: sources only
    #: "auto": 2-D numeric tables are standardized on each trial's training rows, anything
    #: of higher rank (images) reaches the model as stored; True: always; False: never.
    standardize: str | bool = "auto"
    #: Rows drawn from the source, first to last: required for an endless one.
    take: int | None = None
    #: A seeded subset of this many rows, drawn while reading.
    sample: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    builder: str = "tuning.models:mlp"
    task: str = "classification"
    metric: str = "accuracy"


@dataclass(frozen=True)
class BudgetSpec:
    semantics: str = "partition"
    epochs: int = 10
    max_steps: int | None = None
    batch_size: int = 32


@dataclass(frozen=True)
class SearchSpec:
    tuner: str = "grid"
    max_trials: int | None = None
    objective: str = "holdout_accuracy"
    executions_per_trial: int = 1
    probe: bool = False
    hyperband_factor: int = 3
    #: Stop trials worse than their peers at equal samples seen: none | median | asha.
    prune: str = "none"
    space: tuple[Dimension, ...] = ()
    #: Fresh-seed re-runs of the recommended configuration and those tied with it.
    confirm_runs: int = 2
    #: At most this many configurations are re-run (the best and the closest to it).
    confirm_configs: int = 3
    #: Largest score a cheaper runner-up may give up; None: 0.005 for accuracy, 1% of the
    #: best score for losses and errors.
    margin: float | None = None

    def dimension(self, name: str) -> Dimension | None:
        return next((d for d in self.space if d.name == name), None)

    @property
    def goal(self) -> Objective:
        """The objective's part, quantity and direction (`objective` is its column)."""
        return Objective.parse(self.objective)

    @property
    def direction(self) -> str:
        """`min` or `max`, keras-tuner's words (see `goal`)."""
        return self.goal.direction


@dataclass(frozen=True)
class ResourcesSpec:
    device: str = "auto"
    memory_budget: int | None = None
    #: Trials at once on this machine, or "auto" (see `tuning.execution.capacity`).
    workers: int | str = AUTO
    mixed_precision: bool = False
    trial_timeout_s: float | None = None


@dataclass(frozen=True)
class Spec:
    name: str
    seed: int
    path: Path
    data: DataSpec
    model: ModelSpec
    budget: BudgetSpec
    search: SearchSpec
    resources: ResourcesSpec = field(default_factory=ResourcesSpec)

    @property
    def base_dir(self) -> Path:
        """Relative data paths and builder modules are looked up beside the spec file."""
        return self.path.parent


_SECTIONS: dict[str, tuple[str, ...]] = {
    "experiment": ("name", "seed", "description"),
    "data": ("source", "target", "holdout", "test", "image_size", "standardize", "take",
             "sample"),
    "model": ("builder", "task", "metric"),
    "budget": ("semantics", "epochs", "max_steps", "batch_size"),
    "search": (
        "tuner",
        "max_trials",
        "objective",
        "executions_per_trial",
        "repeats",
        "probe",
        "hyperband_factor",
        "prune",
        "space",
        "confirm_runs",
        "confirm_configs",
        "margin",
    ),
    "resources": ("device", "memory_budget", "workers", "mixed_precision", "trial_timeout_s"),
}
_RANGE_KEYS = ("min", "max", "sampling", "step", "when")
_LIST_KEYS = ("values", "when")


def load_spec(path: str | Path) -> Spec:
    """Read and validate the spec at `path`; every problem is a `UserError` naming its key."""
    path = Path(path)
    return parse_spec(read_toml(path), path)


def read_toml(path: Path) -> dict[str, Any]:
    """The spec file's tables. A byte-order mark (editors on Windows save one) is skipped:
    TOML forbids it, and tomllib would blame "line 1, column 1" for it."""
    if not path.is_file():
        raise UserError(str(path), "no such spec file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(str(path), "not a UTF-8 text file") from None
    except OSError as exc:
        raise UserError(str(path), f"cannot read it: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(str(path), f"not valid TOML: {exc}") from None


def parse_spec(raw: dict[str, Any], path: Path) -> Spec:
    """Validate an already parsed TOML document."""
    for section in raw:
        if section not in _SECTIONS:
            raise UserError(section, f"unknown section; allowed: {', '.join(_SECTIONS)}")
    for section, keys in _SECTIONS.items():
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise UserError(section, "must be a table ([section])")
        for key in table:
            if key not in keys:
                raise UserError(f"{section}.{key}", f"unknown key; allowed: {', '.join(keys)}")

    exp = raw.get("experiment", {})
    name = _check_name(_get(exp, "experiment.name", str, path.stem))
    seed = _get(exp, "experiment.seed", int, 0)
    if not 0 <= seed < 2**32:
        raise UserError("experiment.seed", f"must be between 0 and 2**32 - 1, got {seed}")
    _get(exp, "experiment.description", str, "")

    data = _parse_data(raw.get("data", {}))
    model = _parse_model(raw.get("model", {}))
    budget = _parse_budget(raw.get("budget", {}))
    return Spec(
        name=name,
        seed=seed,
        path=path.resolve(),
        data=data,
        model=model,
        budget=budget,
        search=_parse_search(raw.get("search", {}), model, budget),
        resources=_parse_resources(raw.get("resources", {})),
    )


def _check_name(name: str) -> str:
    """The name names the run directory: it must be one short, printable folder name."""
    if not name.strip() or "/" in name or "\\" in name or name.startswith("."):
        raise UserError("experiment.name", f"{name!r} cannot name a run directory")
    if not name.isprintable():
        raise UserError("experiment.name", f"{name!r} holds a control character; "
                                           "use letters, digits, '-' and '_'")
    if len(name) > MAX_NAME:
        raise UserError("experiment.name", f"{len(name)} characters; at most {MAX_NAME} "
                                           "(it names the run directory)")
    return name


def _get(table: dict, key: str, kind: type, default: Any = None, required: bool = False) -> Any:
    leaf = key.rsplit(".", 1)[-1]
    if leaf not in table:
        if required:
            raise UserError(key, "required")
        return default
    value = table[leaf]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise UserError(key, f"expected {_kind_name(kind)}, got {value!r}")
    return value


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        kind, kind.__name__
    )


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise UserError(key, f"{value!r} is not one of: {', '.join(allowed)}")
    return value


def _positive(key: str, value: int | float | None) -> Any:
    """At least 1 and at most the key's limit in LIMITS."""
    if value is not None and value < 1:
        raise UserError(key, f"must be at least 1, got {value}")
    return _at_most(key, value)


def _at_most(key: str, value: int | float | None) -> Any:
    cap = LIMITS.get(key.rsplit(".", 1)[-1])
    if value is not None and cap is not None and value > cap:
        raise UserError(key, f"must be at most {cap:,}, got {value:,}")
    return value


def _parse_data(table: dict) -> DataSpec:
    source = _get(table, "data.source", str, required=True)
    kind, _, rest = source.partition(":")
    if kind not in SOURCES or not rest or (kind == "python" and rest.count(":") != 1):
        raise UserError(
            "data.source",
            f"{source!r} is not a source; use sklearn:<name>, csv:<path>, npz:<path>, "
            "npy:<folder>, images:<folder> or python:<module>:<function>",
        )
    image_size = _image_size(table, kind)
    target = _get(table, "data.target", str)
    if kind == "csv" and target is None:
        raise UserError("data.target", "required with a csv: source (the label column)")
    if kind != "csv" and target is not None:
        raise UserError("data.target", "only used with a csv: source")
    holdout = _get(table, "data.holdout", float, 0.2)
    if not 0 < holdout < 1:
        raise UserError("data.holdout", f"must be between 0 and 1 (exclusive), got {holdout}")
    test = _get(table, "data.test", float, DataSpec.test)
    if not 0 <= test < 1 or holdout + test >= 1:
        raise UserError("data.test", f"must be at least 0 and leave rows to train on with the "
                                     f"holdout ({holdout}), got {test}")
    standardize = table.get("standardize", DataSpec.standardize)
    if standardize != "auto" and not isinstance(standardize, bool):
        raise UserError("data.standardize", f'expected "auto", true or false, got {standardize!r}')
    take = _positive("data.take", _get(table, "data.take", int))
    sample = _positive("data.sample", _get(table, "data.sample", int))
    return DataSpec(source=source, target=target, holdout=holdout, test=test,
                    image_size=image_size, standardize=standardize, take=take, sample=sample)


def _image_size(table: dict, kind: str) -> tuple[int, int] | None:
    size = table.get("image_size")
    if kind != "images":
        if size is not None:
            raise UserError("data.image_size", "only used with an images: source")
        return None
    if size is None:
        raise UserError("data.image_size", "required with an images: source, e.g. [64, 64]")
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise UserError("data.image_size", f"expected [height, width] in pixels, got {size!r}")
    return (size[0], size[1])


def _parse_model(table: dict) -> ModelSpec:
    builder = _get(table, "model.builder", str, ModelSpec.builder)
    module, _, func = builder.partition(":")
    if not module or not func:
        raise UserError("model.builder", f"{builder!r} must be 'module:function'")
    task = _choice("model.task", _get(table, "model.task", str, "classification"), TASKS)
    metric = _get(table, "model.metric", str, METRICS[task][0])
    _choice("model.metric", metric, METRICS[task])
    return ModelSpec(builder=builder, task=task, metric=metric)


def _parse_budget(table: dict) -> BudgetSpec:
    semantics = _choice(
        "budget.semantics", _get(table, "budget.semantics", str, "partition"), SEMANTICS
    )
    epochs = _positive("budget.epochs", _get(table, "budget.epochs", int, 10))
    max_steps = _positive("budget.max_steps", _get(table, "budget.max_steps", int))
    if "batch_size" in table and semantics != "stream":
        raise UserError(
            "budget.batch_size",
            "only used with semantics = \"stream\"; with \"partition\" the batch size follows "
            "from steps_per_epoch",
        )
    batch_size = _positive("budget.batch_size", _get(table, "budget.batch_size", int, 32))
    return BudgetSpec(semantics, epochs, max_steps, batch_size)


def _parse_search(table: dict, model: ModelSpec, budget: BudgetSpec) -> SearchSpec:
    tuner = _choice("search.tuner", _get(table, "search.tuner", str, "grid"), TUNERS)
    max_trials = _positive("search.max_trials", _get(table, "search.max_trials", int))
    objective = _get(table, "search.objective", str, score_column(HOLDOUT, model.metric))
    allowed = [score_column(part, name) for part in PARTS for name in (model.metric, "loss")]
    _choice("search.objective", objective, tuple(allowed))
    if "repeats" in table and "executions_per_trial" in table:
        raise UserError("search.repeats", "give either repeats or executions_per_trial, not both")
    repeats_key = "search.repeats" if "repeats" in table else "search.executions_per_trial"
    repeats = _positive(repeats_key, _get(table, repeats_key, int, 1))
    factor = _at_most("search.hyperband_factor", _get(table, "search.hyperband_factor", int, 3))
    if factor < 2:
        raise UserError("search.hyperband_factor", f"must be at least 2, got {factor}")
    prune = _choice("search.prune", _get(table, "search.prune", str, "none"), PRUNERS)
    if prune != "none" and tuner == "hyperband":
        raise UserError("search.prune", "hyperband stops trials by its own brackets; set "
                                         "prune = \"none\" or use another tuner")
    space_table = table.get("space", {})
    if not isinstance(space_table, dict):
        raise UserError("search.space", "must be a table ([search.space])")
    space = tuple(_parse_dimension(name, value) for name, value in space_table.items())
    names = [d.name for d in space]
    for required in ("steps_per_epoch", "validation_split"):
        if required not in names:
            raise UserError(f"search.space.{required}", "required (a list of values or a range)")
    if "batch_size" in names and budget.semantics != "stream":
        raise UserError(
            "search.space.batch_size",
            "only searched with semantics = \"stream\"; with \"partition\" it follows from "
            "steps_per_epoch",
        )
    for dim in space:
        _check_dimension(dim, names)
    _check_conditions(space)
    if tuner == "grid" and any(d.is_range and d.step is None for d in space):
        ranged = next(d.name for d in space if d.is_range and d.step is None)
        raise UserError(
            f"search.space.{ranged}",
            "the grid tuner needs a list of values or a range with a step; "
            "use tuner = \"random\" or \"bayesian\" for continuous ranges",
        )
    if tuner == "grid":
        _check_grid_size(space)
    return SearchSpec(
        tuner=tuner,
        max_trials=max_trials,
        objective=objective,
        executions_per_trial=repeats,
        probe=_get(table, "search.probe", bool, False),
        hyperband_factor=factor,
        prune=prune,
        space=space,
        **_parse_confirm(table),
    )


def _check_grid_size(space: tuple[Dimension, ...]) -> None:
    """A grid is listed whole (by `validate`, and by the grid oracle): one too large to list
    is refused, with the names that make it so."""
    size = 1.0
    for dim in space:
        size *= len(dim.values) if dim.values else _steps(dim.low, dim.high, dim.step,
                                                          dim.sampling)
    if size > LIMITS["grid_points"]:
        names = ", ".join(d.name for d in space)
        raise UserError("search.space", f"the grid over {names} has about {size:,.0f} points; "
                                        f"at most {LIMITS['grid_points']:,} (use tuner = "
                                        "\"random\" with max_trials for a larger space)")


def _parse_confirm(table: dict) -> dict[str, Any]:
    """The re-runs that state the recommendation's score, and the runner-up's margin."""
    runs = _get(table, "search.confirm_runs", int, SearchSpec.confirm_runs)
    if runs < 0:
        raise UserError("search.confirm_runs", f"must be 0 (off) or more, got {runs}")
    _at_most("search.confirm_runs", runs)
    configs = _positive("search.confirm_configs",
                        _get(table, "search.confirm_configs", int, SearchSpec.confirm_configs))
    margin = _get(table, "search.margin", float)
    if margin is not None and not (math.isfinite(margin) and 0 <= margin <= MAX_MARGIN):
        raise UserError("search.margin", f"must be a number from 0 to {MAX_MARGIN:g}, "
                                         f"got {margin}")
    return dict(confirm_runs=runs, confirm_configs=configs, margin=margin)


def _parse_dimension(name: str, value: Any) -> Dimension:
    key = f"search.space.{name}"
    if isinstance(value, list):
        return Dimension(name=name, values=_scalars(key, value))
    if not isinstance(value, dict):
        raise UserError(key, f"expected a list of values or a {{ min, max }} range, got {value!r}")
    when = _parse_condition(key, value.get("when"))
    if "values" in value:
        for k in value:
            if k not in _LIST_KEYS:
                raise UserError(f"{key}.{k}", f"unknown key; allowed: {', '.join(_LIST_KEYS)}")
        if not isinstance(value["values"], list):
            raise UserError(f"{key}.values", "expected a list")
        return Dimension(name=name, values=_scalars(f"{key}.values", value["values"]), when=when)
    for k in value:
        if k not in _RANGE_KEYS:
            raise UserError(f"{key}.{k}", f"unknown key; allowed: {', '.join(_RANGE_KEYS)}")
    for k in ("min", "max"):
        if k not in value:
            raise UserError(f"{key}.{k}", "required in a range")
        if isinstance(value[k], bool) or not isinstance(value[k], int | float):
            raise UserError(f"{key}.{k}", f"expected a number, got {value[k]!r}")
    low, high = value["min"], value["max"]
    for k, v in (("min", low), ("max", high), ("step", value.get("step"))):
        if isinstance(v, float) and not math.isfinite(v):
            raise UserError(f"{key}.{k}", f"must be a finite number, got {v}")
    if low >= high:
        raise UserError(key, f"min ({low}) must be below max ({high})")
    sampling = value.get("sampling", "linear")
    if not isinstance(sampling, str):
        raise UserError(f"{key}.sampling", f"expected a string, got {sampling!r}")
    _choice(f"{key}.sampling", sampling, SAMPLINGS)
    if sampling != "linear" and low <= 0:
        raise UserError(f"{key}.min", f"{sampling} sampling needs min > 0, got {low}")
    step = value.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int | float)):
        raise UserError(f"{key}.step", f"expected a number, got {step!r}")
    if step is not None and step <= 0:
        raise UserError(f"{key}.step", f"must be positive, got {step}")
    if step is not None and sampling != "linear" and step <= 1:
        raise UserError(f"{key}.step", f"{sampling} sampling multiplies by the step: it must be "
                                       f"above 1, got {step}")
    integer = all(isinstance(v, int) for v in (low, high, step if step is not None else 0))
    return Dimension(
        name=name, low=low, high=high, sampling=sampling, step=step, integer=integer, when=when
    )


def _steps(low: float, high: float, step: float, sampling: str) -> float:
    """How many values a stepped range holds, counted without listing them."""
    if sampling == "linear":
        return (high - low) / step + 1
    return math.log(high / low) / math.log(step) + 1


def _scalars(key: str, values: list) -> tuple[Scalar, ...]:
    if not values:
        raise UserError(key, "empty list; give at least one value")
    kinds = {type(v) for v in values}
    if not kinds <= {int, float, str, bool}:
        raise UserError(key, f"values must be numbers, strings or booleans, got {values!r}")
    if kinds == {int, float}:
        values = [float(v) for v in values]
    elif len(kinds) > 1:
        raise UserError(key, f"values must all be of one type, got {values!r}")
    if len(set(values)) != len(values):
        raise UserError(key, f"repeated values in {values!r}")
    return tuple(values)


def _parse_condition(key: str, when: Any) -> Condition | None:
    if when is None:
        return None
    if not isinstance(when, dict) or len(when) != 1:
        raise UserError(f"{key}.when", "expected { parent = value } or { parent = [values] }")
    parent, values = next(iter(when.items()))
    values = values if isinstance(values, list) else [values]
    return Condition(parent=parent, values=_scalars(f"{key}.when.{parent}", values))


def _check_conditions(space: tuple[Dimension, ...]) -> None:
    """A condition names a parent searched before it, never itself nor a circle of names,
    on values the parent can take: keras-tuner declares names in order, so a later parent
    is unknown when its child is declared, and a value the parent never takes would leave
    the child never searched, silently."""
    by_name = {d.name: d for d in space}
    order = {d.name: i for i, d in enumerate(space)}
    for dim in space:
        if dim.when is None:
            continue
        key = f"search.space.{dim.name}.when"
        parent = dim.when.parent
        if parent == dim.name:
            raise UserError(key, f"{dim.name!r} cannot be conditional on itself")
        chain, at = [dim.name], by_name[parent]
        while at.when is not None and at.name not in chain:
            chain.append(at.name)
            at = by_name[at.when.parent]
        if at.name in chain:
            circle = " -> ".join([*chain[chain.index(at.name):], at.name])
            raise UserError(key, f"the conditions form a circle: {circle}")
        if order[parent] > order[dim.name]:
            raise UserError(key, f"its parent {parent!r} must be listed before it "
                                 "in [search.space]")
        never = [v for v in dim.when.values if not _takes(by_name[parent], v)]
        if never:
            raise UserError(key, f"{parent!r} never takes {never[0]!r} "
                                 f"(it takes {_describe_values(by_name[parent])})")


def _takes(dim: Dimension, value: Scalar) -> bool:
    """Whether `dim` can take `value`: one of its listed values, or inside its range."""
    if dim.values:
        return any(value == v and type(value) is type(v) or
                   _number(value) and _number(v) and value == v for v in dim.values)
    return _number(value) and dim.low <= value <= dim.high


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe_values(dim: Dimension) -> str:
    if dim.values:
        return ", ".join(repr(v) for v in dim.values)
    return f"{dim.low} to {dim.high}"


def _check_dimension(dim: Dimension, names: list[str]) -> None:
    key = f"search.space.{dim.name}"
    if dim.when is not None:
        if dim.when.parent not in names:
            raise UserError(f"{key}.when", f"{dim.when.parent!r} is not a searched name")
        if dim.name in ("steps_per_epoch", "validation_split"):
            raise UserError(f"{key}.when", "the two main dimensions cannot be conditional")
    ends = dim.endpoints()
    if dim.name in ("steps_per_epoch", "batch_size"):
        if dim.is_range and not dim.integer:
            raise UserError(key, "min, max and step must be integers")
        for v in ends:
            if isinstance(v, bool) or not isinstance(v, int):
                raise UserError(key, f"values must be integers, got {v!r}")
            if v < 1:
                raise UserError(key, f"must be at least 1, got {v}")
            _at_most(key, v)
    elif dim.name == "validation_split":
        for v in ends:
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
                raise UserError(key, f"values must be between 0 and 1 (exclusive), got {v!r}")
    elif dim.name == "learning_rate":
        for v in ends:
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise UserError(key, f"values must be positive numbers, got {v!r}")
    elif dim.name == "shuffle" and not all(isinstance(v, bool) for v in ends):
        raise UserError(key, "values must be true or false")
    for v in ends:
        if isinstance(v, float) and not math.isfinite(v):
            raise UserError(key, f"values must be finite, got {v!r}")


def check_memory_budget(where: str, budget: object) -> int:
    """A memory budget as written (`512MiB`, or whole bytes) in bytes, between the smallest
    a trial can run in and LIMITS; the spec, the command line and the API all check here."""
    allowed = f"from {format_size(MIN_MEMORY_BUDGET)} to {format_size(LIMITS['memory_budget'])}"
    if isinstance(budget, bool) or not isinstance(budget, int | str):
        raise UserError(where, f"expected a size such as 512MiB, 2GiB or a whole number of "
                               f"bytes ({allowed}), got {budget!r}")
    try:
        size = parse_size(budget)
    except ValueError as exc:
        raise UserError(where, f"{exc} ({allowed})") from None
    if not MIN_MEMORY_BUDGET <= size <= LIMITS["memory_budget"]:
        raise UserError(where, f"{format_size(size)} is outside {allowed}: below that no trial "
                               "can run, above it is no machine's memory")
    return size


def _parse_resources(table: dict) -> ResourcesSpec:
    device = _choice("resources.device", _get(table, "resources.device", str, "auto"), DEVICES)
    budget = table.get("memory_budget")
    memory_budget = None
    if budget is not None:
        memory_budget = check_memory_budget("resources.memory_budget", budget)
    workers = table.get("workers", AUTO)
    if workers != AUTO:
        if not isinstance(workers, int) or isinstance(workers, bool):
            raise UserError("resources.workers",
                            f"expected a whole number or \"auto\", got {workers!r}")
        workers = _positive("resources.workers", workers)
    timeout = _get(table, "resources.trial_timeout_s", float)
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise UserError("resources.trial_timeout_s",
                        f"must be a positive number of seconds, got {timeout}")
    _at_most("resources.trial_timeout_s", timeout)
    return ResourcesSpec(
        device=device,
        memory_budget=memory_budget,
        workers=workers,
        mixed_precision=_get(table, "resources.mixed_precision", bool, False),
        trial_timeout_s=timeout,
    )
