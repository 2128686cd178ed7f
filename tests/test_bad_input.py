"""Malformed specs, data and options, tried as a new user would: every one is refused with
one line `error: <where>: <what>` on stderr, exit 2, and nothing created or changed.

The commands run in this process (`tuning.cli.main`), so the table runs in seconds: every
case is refused before training, most before TensorFlow is even imported.
"""

from __future__ import annotations

import io
import itertools
import os
import signal
import socket
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, spec_text

from tuning.cli import main

CSV = "a,b,label\n" + "1,2,0\n2,3,1\n" * 20


def npz(**arrays) -> Callable[[Path], None]:
    return lambda path: np.savez(path, **arrays)


def _truncated_npz(path: Path) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.ones((40, 3)), y=np.arange(40) % 2)
    path.write_bytes(buffer.getvalue()[:200])


def _npy_named_npz(path: Path) -> None:
    with path.open("wb") as handle:
        np.save(handle, np.ones((40, 3)))


def _object_npz(path: Path) -> None:
    np.savez(path, x=np.array([{"a": 1}] * 40, dtype=object), y=np.arange(40) % 2)


def _zip_without_arrays(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "no arrays here")


BASE_RESOURCES = "[resources]\nworkers = 1\n\n"


def spec(extra: str = "", **kwargs) -> str:
    """The conftest spec with `old=>new` replacements given as `swap`; an `extra` with a
    [resources] table of its own replaces the base's."""
    swaps = kwargs.pop("swap", ())
    text = spec_text(**kwargs)
    if "[resources]" in extra:
        text = text.replace(BASE_RESOURCES, "")
    text += extra
    for old, new in swaps:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def with_key(section: str, line: str) -> tuple[tuple[str, str], ...]:
    """Add `line` at the top of `[section]`."""
    return ((f"[{section}]\n", f"[{section}]\n{line}\n"),)


def data_spec(source: str, target: str | None = None) -> str:
    extra = f'target = "{target}"\n' if target else ""
    return spec(source=source, swap=(("holdout = 0.2\n", f"holdout = 0.2\n{extra}"),))


@dataclass
class Case:
    id: str
    expect: str                      # a part of the one error line
    spec: str | bytes | None = None  # written to s.toml
    argv: tuple[str, ...] = ("validate", "s.toml")
    files: dict[str, str | bytes | Callable[[Path], None]] = field(default_factory=dict)


def run(*rest: str) -> tuple[str, ...]:
    return ("run", "s.toml", "--out", "out/a/b/c", *rest)


HEAD = """import keras


def build(hp, input_shape, n_outputs):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense({units})])
"""
#: A builder whose body first runs `{body}`: user code that exits, blocks or moves away.
BUILDER = """import os, sys, threading, time
import keras


def build(hp, input_shape, n_outputs):
    {body}
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(n_outputs)])
"""
#: A model whose output size is known only once it is called on data.
SUBCLASSED = """import keras


class Model(keras.Model):
    def __init__(self, units):
        super().__init__()
        self.head = keras.layers.Dense(units)

    def call(self, x):
        return self.head(x)


def build(hp, input_shape, n_outputs):
    return Model({units})
"""
UNBUILT = """import keras


def build(hp, input_shape, n_outputs):
    return keras.Sequential([keras.layers.Dense(8), keras.layers.Dense({units})])
"""
TWO_HEADS = """import keras


def build(hp, input_shape, n_outputs):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, [keras.layers.Dense(n_outputs)(inputs),
                                keras.layers.Dense(n_outputs)(inputs)])
"""
#: A `python:` data loader whose body first runs `{body}`.
LOADER = """import os, sys
import numpy as np


def load():
    {body}
    return np.zeros((40, 3)), np.arange(40) % 2
"""
BOM = b"\xef\xbb\xbf"


_MODULES = itertools.count()


def user_module() -> str:
    """A module name of its own for each case: the table runs in one process, where a
    module, once imported, stays imported."""
    return f"user_code_{next(_MODULES)}"


def builder(body: str, spec_extra: str = "", module: str | None = None) -> dict:
    """Case fields for `run` with a builder running `body` first (iris: 3 classes)."""
    module = module or user_module()
    return dict(spec=spec(spec_extra, source="sklearn:iris", builder=f"{module}:build"),
                argv=run(), files={f"{module}.py": BUILDER.format(body=body)})


def loader(body: str, command: str = "validate") -> dict:
    """Case fields for `validate` (or `run`) of a `python:` loader running `body` first."""
    module = user_module()
    argv = ("validate", "s.toml") if command == "validate" else run()
    return dict(spec=data_spec(f"python:{module}:load"), argv=argv,
                files={f"{module}.py": LOADER.format(body=body)})


ONE_HOT = np.eye(3)[np.arange(60) % 3]
GOOD_X = np.random.default_rng(0).normal(size=(60, 4))

CASES = [
    # the spec file itself
    Case("no spec file", "no such spec file", argv=("validate", "nowhere.toml")),
    Case("malformed toml", "not valid TOML", "[data\n"),
    Case("not utf-8", "not a UTF-8 text file", b"\xff\xfe[experiment]\n"),
    Case("unknown section", "extra: unknown section", spec("[extra]\na = 1\n")),
    Case("byte-order mark, then an unknown key", "experiment.colour",
         BOM + spec(swap=with_key("experiment", "colour = 1")).encode()),
    Case("byte-order mark, then a bad value", "experiment.seed",
         BOM + spec(swap=(("seed = 3", "seed = -1"),)).encode()),
    Case("byte-order mark, then malformed toml", "not valid TOML", BOM + b"[data\n"),
    Case("byte-order mark twice", "not valid TOML", BOM + BOM + spec().encode()),
    Case("section not a table", "experiment: must be a table",
         spec(swap=(('[experiment]\nname = "t"\nseed = 3\n', "experiment = 3\n"),))),
    Case("unknown key", "experiment.colour", spec(swap=with_key("experiment", "colour = 1"))),
    # [experiment]
    Case("seed negative", "experiment.seed", spec(swap=(("seed = 3", "seed = -1"),))),
    Case("seed huge", "experiment.seed", spec(swap=(("seed = 3", "seed = 1099511627776"),))),
    Case("seed text", "experiment.seed: expected an integer",
         spec(swap=(("seed = 3", 'seed = "3"'),))),
    Case("name with NUL", "experiment.name", spec(name="a\\u0000b")),
    Case("name of 300 characters", "experiment.name: 300 characters", spec(name="n" * 300)),
    Case("name with a slash", "experiment.name", spec(name="../up")),
    Case("name hidden", "experiment.name", spec(name=".hidden")),
    Case("name with newline", "experiment.name", spec(name="a\\nb")),
    Case("name empty", "experiment.name", spec(name="  ")),
    # [data]
    Case("no source", "data.source: required",
         spec(swap=(('source = "sklearn:digits"\n', ""),))),
    Case("bad source kind", "data.source", spec(source="http://x")),
    Case("unknown sklearn set", "sklearn:mnist", spec(source="sklearn:mnist")),
    Case("holdout above 1", "data.holdout", spec(swap=(("holdout = 0.2", "holdout = 1.5"),))),
    Case("holdout nan", "data.holdout", spec(swap=(("holdout = 0.2", "holdout = nan"),))),
    Case("holdout too small", "data.holdout",
         spec(swap=(("holdout = 0.2", "holdout = 0.0001"),))),
    Case("csv without target", "data.target: required", spec(source="csv:d.csv")),
    Case("target without csv", "data.target: only used", data_spec("sklearn:iris", "y")),
    Case("missing csv", "gone.csv: no such file", data_spec("csv:gone.csv", "label")),
    Case("csv not text", "cannot read as CSV", data_spec("csv:d.csv", "label"),
         files={"d.csv": b"\xff\xfe\x00\x01" * 50}),
    Case("csv no target column", "data.target: no column 'nope'",
         data_spec("csv:d.csv", "nope"), files={"d.csv": CSV}),
    Case("csv text feature", "b: non-numeric feature column", data_spec("csv:d.csv", "label"),
         files={"d.csv": "a,b,label\n" + "1,x,0\n2,y,1\n" * 20}),
    Case("csv missing feature", "holds missing (NaN) values", data_spec("csv:d.csv", "label"),
         files={"d.csv": "a,b,label\n" + "1,,0\n2,3,1\n" * 20}),
    Case("csv only the target", "no feature columns", data_spec("csv:d.csv", "label"),
         files={"d.csv": "label\n" + "0\n1\n" * 20}),
    Case("csv one class", "two classes or more", data_spec("csv:d.csv", "label"),
         files={"d.csv": "a,label\n" + "1,0\n" * 40}),
    Case("csv header only", "d.csv: holds a header but no rows", data_spec("csv:d.csv", "label"),
         files={"d.csv": "a,b,label\n"}),
    Case("csv beyond float32", "d.csv:a: 1e+300 (line 3) is out of float32's range",
         data_spec("csv:d.csv", "label"),
         files={"d.csv": "a,b,label\n" + "1,2,0\n1e300,3,1\n" * 20}),
    Case("take zero", "data.take: must be at least 1",
         spec(swap=(("holdout = 0.2", "holdout = 0.2\ntake = 0"),))),
    Case("sample text", "data.sample: expected an integer",
         spec(swap=(("holdout = 0.2", 'holdout = 0.2\nsample = "all"'),))),
    Case("npz without y", "needs arrays named 'x' and 'y'", data_spec("npz:d.npz"),
         files={"d.npz": npz(x=GOOD_X)}),
    Case("npz object arrays", "holds Python objects", data_spec("npz:d.npz"),
         files={"d.npz": _object_npz}),
    Case("npy renamed npz", "holds one array (.npy)", data_spec("npz:d.npz"),
         files={"d.npz": _npy_named_npz}),
    Case("npz truncated", "cannot read as .npz", data_spec("npz:d.npz"),
         files={"d.npz": _truncated_npz}),
    Case("npz empty file", "cannot read as .npz", data_spec("npz:d.npz"), files={"d.npz": b""}),
    Case("npz of text", "cannot read as .npz", data_spec("npz:d.npz"),
         files={"d.npz": "x,y\n1,2\n"}),
    Case("zip without arrays", "needs arrays named 'x' and 'y'", data_spec("npz:d.npz"),
         files={"d.npz": _zip_without_arrays}),
    Case("npz scalar x", "one entry per row", data_spec("npz:d.npz"),
         files={"d.npz": npz(x=np.float64(3.0), y=np.arange(60) % 2)}),
    Case("npz one-hot y", "one-hot labels", data_spec("npz:d.npz"),
         files={"d.npz": npz(x=GOOD_X, y=ONE_HOT)}),
    Case("npz rows differ", "60 feature rows but 50 labels", data_spec("npz:d.npz"),
         files={"d.npz": npz(x=GOOD_X, y=np.arange(50) % 2)}),
    Case("npz NaN feature", "NaN or infinite", data_spec("npz:d.npz"),
         files={"d.npz": npz(x=np.full((60, 2), np.nan), y=np.arange(60) % 2)}),
    Case("npz text features", "features must be numeric", data_spec("npz:d.npz"),
         files={"d.npz": npz(x=np.array(["a"] * 60), y=np.arange(60) % 2)}),
    Case("npy folder missing", "no such folder", data_spec("npy:nowhere")),
    Case("npy folder without y", "y.npy is missing", data_spec("npy:arrays"),
         files={"arrays/x.npy": lambda path: np.save(path, GOOD_X)}),
    Case("images without a size", "data.image_size: required", data_spec("images:pictures")),
    Case("python source not found", "importing 'nowhere' failed",
         data_spec("python:nowhere:load")),
    Case("python source that fails", "ZeroDivisionError", data_spec("python:make:load"),
         files={"make.py": "def load():\n    return 1 / 0\n"}),
    # a python: loader that exits, interrupts or moves away: named, never exit 0 or silence
    Case("loader sys.exit(0)", "the data loader called sys.exit(0)", **loader("sys.exit(0)")),
    Case("loader sys.exit(5)", "the data loader called sys.exit(5)", **loader("sys.exit(5)")),
    Case("loader sys.exit with text", "the data loader called sys.exit('bye')",
         **loader("sys.exit('bye')")),
    Case("loader os._exit(4)", "the data loader called os._exit(4)", **loader("os._exit(4)")),
    Case("loader raises KeyboardInterrupt", "the data loader raised KeyboardInterrupt itself",
         **loader("raise KeyboardInterrupt")),
    Case("loader raises GeneratorExit", "raised GeneratorExit, which is not an Exception",
         **loader("raise GeneratorExit")),
    Case("loader exits while imported", "the data loader called sys.exit(0)",
         data_spec("python:exits_on_import:load"),
         files={"exits_on_import.py": "import sys\nsys.exit(0)\n"}),
    Case("loader moves away, then fails", "ValueError: nothing here",
         **loader("os.chdir('/')\n    raise ValueError('nothing here')")),
    Case("loader moves away, then exits", "the data loader called sys.exit(0)",
         **loader("os.chdir('/')\n    sys.exit(0)")),
    Case("run: loader sys.exit(0)", "the data loader called sys.exit(0)",
         **loader("sys.exit(0)", "run")),
    Case("run: loader os._exit(4)", "the data loader called os._exit(4)",
         **loader("os._exit(4)", "run")),
    # [model]
    Case("builder without colon", "model.builder", spec(builder="nocolon")),
    Case("builder module missing", "model.builder", spec(builder="no_such_module:build")),
    Case("builder function missing", "model.builder", spec(builder="tuning.models:nothing")),
    Case("builder syntax error", "b.py line 1", spec(builder="b:build"),
         files={"b.py": "def build(:\n"}),
    Case("bad task", "model.task", spec(swap=with_key("model", 'task = "ranking"'))),
    Case("metric of another task", "model.metric", spec(swap=with_key("model", 'metric = "mae"'))),
    # [budget]
    Case("epochs zero", "budget.epochs: must be at least 1", spec(epochs=0)),
    Case("epochs 10**30", "budget.epochs: must be at most", spec(epochs=10**30)),
    Case("epochs text", "budget.epochs: expected an integer", spec(epochs="ten")),
    Case("max_steps zero", "budget.max_steps", spec(swap=with_key("budget", "max_steps = 0"))),
    Case("bad semantics", "budget.semantics",
         spec(swap=(('semantics = "partition"', 'semantics = "epochs"'),))),
    Case("batch_size in partition", "budget.batch_size",
         spec(swap=with_key("budget", "batch_size = 8"))),
    # [search]
    Case("bad tuner", "search.tuner", spec(swap=(('"grid"', '"anneal"'),))),
    Case("bad pruner", "search.prune: 'early' is not one of: none, median, asha",
         spec(search={"prune": "early"})),
    Case("pruning hyperband", "search.prune: hyperband stops trials by its own brackets",
         spec(search={"tuner": "hyperband", "prune": "median"})),
    Case("bad objective", "search.objective", spec(swap=with_key("search", 'objective = "f1"'))),
    Case("confirm_runs 10**18", "search.confirm_runs: must be at most 100",
         spec(swap=(("confirm_runs = 0", f"confirm_runs = {10**18}"),))),
    Case("confirm_runs 101", "search.confirm_runs: must be at most 100",
         spec(swap=(("confirm_runs = 0", "confirm_runs = 101"),))),
    Case("confirm_runs negative", "search.confirm_runs: must be 0 (off) or more",
         spec(swap=(("confirm_runs = 0", "confirm_runs = -1"),))),
    Case("confirm_runs a float", "search.confirm_runs: expected an integer",
         spec(swap=(("confirm_runs = 0", "confirm_runs = 2.5"),))),
    Case("confirm_configs zero", "search.confirm_configs: must be at least 1",
         spec(swap=with_key("search", "confirm_configs = 0"))),
    Case("confirm_configs 10**18", "search.confirm_configs: must be at most 100",
         spec(swap=with_key("search", f"confirm_configs = {10**18}"))),
    Case("margin nan", "search.margin: must be a number from 0 to",
         spec(swap=with_key("search", "margin = nan"))),
    Case("margin inf", "search.margin: must be a number from 0 to",
         spec(swap=with_key("search", "margin = inf"))),
    Case("margin -inf", "search.margin", spec(swap=with_key("search", "margin = -inf"))),
    Case("margin negative", "search.margin", spec(swap=with_key("search", "margin = -0.5"))),
    Case("margin 1e300", "search.margin", spec(swap=with_key("search", "margin = 1e300"))),
    Case("margin text", "search.margin: expected a number",
         spec(swap=with_key("search", 'margin = "small"'))),
    Case("max_trials zero", "search.max_trials", spec(swap=with_key("search", "max_trials = 0"))),
    Case("repeats zero", "search.repeats", spec(swap=with_key("search", "repeats = 0"))),
    Case("executions zero", "search.executions_per_trial",
         spec(swap=with_key("search", "executions_per_trial = 0"))),
    Case("repeats and executions", "search.repeats",
         spec(swap=with_key("search", "repeats = 2\nexecutions_per_trial = 2"))),
    Case("hyperband factor 1", "search.hyperband_factor",
         spec(swap=with_key("search", "hyperband_factor = 1"))),
    Case("space not a table", "search.space", spec().split("[search.space]")[0]
         .replace('tuner = "grid"', 'tuner = "grid"\nspace = 3')),
    Case("split above 1", "search.space.validation_split", spec(splits=[0.2, 1.5])),
    Case("split zero", "search.space.validation_split", spec(splits=[0.0])),
    Case("split nan", "search.space.validation_split", spec(splits=[float("nan")])),
    Case("missing split", "search.space.validation_split: required",
         spec(swap=(("validation_split = [0.2]\n", ""),))),
    Case("steps zero", "must be at least 1", spec(steps=[0, 4])),
    Case("steps float", "search.space.steps_per_epoch", spec(steps=[2.5])),
    Case("steps 1e30", "search.space.steps_per_epoch: values must be integers",
         spec(steps=[1e30])),
    Case("steps huge integer", "search.space.steps_per_epoch: must be at most",
         spec(steps=[10**30])),
    Case("empty list", "empty list", spec(steps=[])),
    Case("repeated values", "repeated values", spec(steps=[4, 4])),
    Case("mixed types", "one type", spec(steps=[4, "a"])),
    Case("grid on a range", "search.space.steps_per_epoch", spec(steps={"min": 1, "max": 8})),
    Case("range min above max", "min (8) must be below max (1)",
         spec(steps={"min": 8, "max": 1, "step": 1})),
    Case("range min nan", "search.space.learning_rate.min",
         spec("learning_rate = { min = nan, max = 1.0, step = 0.1 }\n")),
    Case("log range from 0", "log sampling needs min > 0",
         spec("learning_rate = { min = 0.0, max = 1.0, sampling = \"log\", step = 0.1 }\n")),
    Case("grid of 10**7 steps", "search.space: the grid over steps_per_epoch, "
         "validation_split has about 10,000,000 points; at most 100,000",
         spec(steps={"min": 1, "max": 10000000, "step": 1})),
    Case("grid with a step of 1e-300", "search.space: the grid over",
         spec("rate = { min = 0.0, max = 1.0, step = 1e-300 }\n")),
    Case("grid of three ranges", "has about 2,000,000 points",
         spec("a = { min = 1, max = 100, step = 1 }\nb = { min = 1, max = 100, step = 1 }\n"
              "c = { min = 1, max = 100, step = 1 }\n")),
    Case("log range with a step of 1", "log sampling multiplies by the step",
         spec("rate = { min = 0.001, max = 1.0, step = 1, sampling = \"log\" }\n")),
    Case("log range with a step below 1", "must be above 1, got 0.5",
         spec("rate = { min = 0.001, max = 1.0, step = 0.5, sampling = \"log\" }\n")),
    Case("negative step", "search.space.units.step",
         spec("units = { min = 1, max = 9, step = -1 }\n")),
    Case("negative learning rate", "search.space.learning_rate", spec("learning_rate = [-1.0]\n")),
    Case("shuffle not boolean", "search.space.shuffle", spec("shuffle = [1, 0]\n")),
    Case("batch_size searched in partition", "search.space.batch_size", spec("batch_size = [8]\n")),
    Case("when on an unknown name", "'colour' is not a searched name",
         spec("units = { values = [8], when = { colour = \"red\" } }\n")),
    Case("when on itself", "cannot be conditional on itself",
         spec("units = { values = [8], when = { units = 8 } }\n")),
    Case("when before its parent", "must be listed before it",
         spec("dropout = { values = [0.1], when = { units = 8 } }\nunits = [8, 16]\n")),
    Case("when in a circle", "the conditions form a circle",
         spec("a = { values = [1], when = { b = 1 } }\nb = { values = [1], when = { a = 1 } }\n")),
    Case("when on a value never taken", "'units' never takes 32",
         spec("units = [8, 16]\ndropout = { values = [0.1], when = { units = 32 } }\n")),
    Case("when of another type", "never takes '8'",
         spec("units = [8, 16]\ndropout = { values = [0.1], when = { units = \"8\" } }\n")),
    Case("when on a main dimension", "cannot be conditional",
         spec(steps={"values": [4], "when": {"units": 8}}, extra="units = [8]\n")),
    Case("when not a table", "search.space.units.when",
         spec("units = { values = [8], when = 3 }\n")),
    # [resources]
    Case("bad device", "resources.device", spec('[resources]\ndevice = "tpu"\n')),
    Case("workers zero", "resources.workers", spec("[resources]\nworkers = 0\n")),
    Case("workers a word", 'resources.workers: expected a whole number or "auto"',
         spec('[resources]\nworkers = "many"\n')),
    Case("workers 10**30", "resources.workers: must be at most",
         spec(f"[resources]\nworkers = {10**30}\n")),
    Case("budget not a size", "resources.memory_budget",
         spec('[resources]\nmemory_budget = "lots"\n')),
    Case("budget too large", "resources.memory_budget",
         spec('[resources]\nmemory_budget = "5000TB"\n')),
    Case("budget of 1 byte", "resources.memory_budget: 1 byte(s) is outside from 64 MiB",
         spec("[resources]\nmemory_budget = 1\n")),
    Case("budget the float 1.5", "resources.memory_budget: expected a size",
         spec("[resources]\nmemory_budget = 1.5\n")),
    Case("budget '1.5' bytes",
         "'1.5' is not a whole number of bytes; use e.g. 512MiB or 2GiB (from 64 MiB",
         spec('[resources]\nmemory_budget = "1.5"\n')),
    Case("budget 1B", "resources.memory_budget: 1 byte(s) is outside",
         spec('[resources]\nmemory_budget = "1B"\n')),
    Case("budget 63MiB", "resources.memory_budget: 63 MiB is outside from 64 MiB",
         spec('[resources]\nmemory_budget = "63MiB"\n')),
    Case("budget 0.01GiB", "resources.memory_budget: 10.24 MiB is outside",
         spec('[resources]\nmemory_budget = "0.01GiB"\n')),
    Case("budget zero", "resources.memory_budget", spec("[resources]\nmemory_budget = 0\n")),
    Case("budget true", "resources.memory_budget: expected a size",
         spec("[resources]\nmemory_budget = true\n")),
    Case("budget a list", "resources.memory_budget: expected a size",
         spec('[resources]\nmemory_budget = ["1GiB"]\n')),
    Case("timeout nan", "resources.trial_timeout_s", spec("[resources]\ntrial_timeout_s = nan\n")),
    Case("timeout inf", "resources.trial_timeout_s", spec("[resources]\ntrial_timeout_s = inf\n")),
    Case("timeout negative", "resources.trial_timeout_s",
         spec("[resources]\ntrial_timeout_s = -1\n")),
    Case("mixed precision text", "resources.mixed_precision",
         spec('[resources]\nmixed_precision = "yes"\n')),
    # the same mistakes through `run`: refused before a run directory exists
    Case("run: seed negative", "experiment.seed", spec(swap=(("seed = 3", "seed = -1"),)),
         argv=run()),
    Case("run: name with NUL, default folder", "experiment.name", spec(name="a\\u0000b"),
         argv=("run", "s.toml")),
    Case("run: name of 300 characters", "experiment.name", spec(name="n" * 300),
         argv=("run", "s.toml")),
    Case("run: workers 10**30", "resources.workers", spec(f"[resources]\nworkers = {10**30}\n"),
         argv=run()),
    Case("run: npz object arrays", "holds Python objects", data_spec("npz:d.npz"),
         files={"d.npz": _object_npz}, argv=run()),
    Case("run: one-hot y", "one-hot labels", data_spec("npz:d.npz"),
         files={"d.npz": npz(x=GOOD_X, y=ONE_HOT)}, argv=run()),
    Case("run: when before its parent", "must be listed before it",
         spec("dropout = { values = [0.1], when = { units = 8 } }\nunits = [8, 16]\n"),
         argv=run()),
    # the model's head against the data (3 classes): checked once the model is built
    Case("run: one unit for 3 classes", "ends in 1 unit(s) but the data has 3 classes",
         spec(source="sklearn:iris", builder="head1:build"), argv=run(),
         files={"head1.py": HEAD.format(units=1)}),
    Case("run: 10 units for 3 classes", "ends in 10 unit(s) but the data has 3 classes",
         spec(source="sklearn:iris", builder="head10:build"), argv=run(),
         files={"head10.py": HEAD.format(units=10)}),
    Case("run: subclassed model, 5 units for 3 classes",
         "ends in 5 unit(s) but the data has 3 classes",
         spec(source="sklearn:iris", builder="sub5:build"), argv=run(),
         files={"sub5.py": SUBCLASSED.format(units=5)}),
    Case("run: subclassed model, 1 unit for 3 classes",
         "ends in 1 unit(s) but the data has 3 classes",
         spec(source="sklearn:iris", builder="sub1:build"), argv=run(),
         files={"sub1.py": SUBCLASSED.format(units=1)}),
    Case("run: Sequential without an Input, 2 units for 3 classes",
         "ends in 2 unit(s) but the data has 3 classes",
         spec(source="sklearn:iris", builder="unbuilt:build"), argv=run(),
         files={"unbuilt.py": UNBUILT.format(units=2)}),
    Case("run: two outputs", "the model has 2 outputs; give it one",
         spec(source="sklearn:iris", builder="two:build"), argv=run(),
         files={"two.py": TWO_HEADS}),
    # a builder that exits, interrupts, blocks or moves away: named, never exit 0 or silence
    Case("run: builder sys.exit(0)", "the builder called sys.exit(0)", **builder("sys.exit(0)")),
    Case("run: builder sys.exit(3)", "the builder called sys.exit(3)", **builder("sys.exit(3)")),
    Case("run: builder sys.exit()", "the builder called sys.exit(None)", **builder("sys.exit()")),
    Case("run: builder os._exit(3)", "the builder called os._exit(3)", **builder("os._exit(3)")),
    Case("run: builder os._exit(0)", "the builder called os._exit(0)", **builder("os._exit(0)")),
    Case("run: builder os._exit under except Exception", "the builder called os._exit(1)",
         **builder("try:\n        os._exit(1)\n    except Exception:\n        pass")),
    Case("run: builder raises KeyboardInterrupt", "the builder raised KeyboardInterrupt itself",
         **builder("raise KeyboardInterrupt")),
    Case("run: builder raises GeneratorExit", "raised GeneratorExit, which is not an Exception",
         **builder("raise GeneratorExit")),
    Case("run: builder exits while imported", "the builder's module called sys.exit(0)",
         spec(source="sklearn:iris", builder="builder_exits_on_import:build"), argv=run(),
         files={"builder_exits_on_import.py": "import sys\nsys.exit(0)\n\n"
                                      "def build(hp, input_shape, n_outputs):\n    pass\n"}),
    Case("run: builder moves away, then exits", "the builder called sys.exit(0)",
         **builder("os.chdir('/')\n    sys.exit(0)")),
    Case("run: builder moves away, then fails", "building the model failed: RuntimeError: no",
         **builder("os.chdir('/')\n    raise RuntimeError('no')")),
    Case("run: builder sleeps past the limit", "the builder was still running after 1 s",
         **builder("time.sleep(120)", "[resources]\ntrial_timeout_s = 1\n")),
    Case("run: builder waits on an event past the limit", "was still running after 1.5 s",
         **builder("threading.Event().wait()", "[resources]\ntrial_timeout_s = 1.5\n")),
    Case("run: builder returns no model", "building the model failed: TypeError",
         **builder("return None")),
    # options
    Case("--memory-budget of 1 byte", "--memory-budget: 1 byte(s) is outside from 64 MiB",
         spec(), argv=run("--memory-budget", "1")),
    Case("--memory-budget 1.5", "--memory-budget: '1.5' is not a whole number of bytes",
         spec(), argv=run("--memory-budget", "1.5")),
    Case("--memory-budget 63MiB", "--memory-budget: 63 MiB is outside", spec(),
         argv=run("--memory-budget", "63MiB")),
    Case("--memory-budget 2000TiB", "--memory-budget: 2000 TiB is outside", spec(),
         argv=run("--memory-budget", "2000TiB")),
    Case("--out empty", "--out: empty; give a folder", spec(),
         argv=("run", "s.toml", "--out", "")),
    Case("--out blank", "--out: empty; give a folder", spec(),
         argv=("run", "s.toml", "--out", "   ")),
    Case("--max-trials 10**30", "--max-trials: must be between 1 and 100,000", spec(),
         argv=run("--max-trials", str(10**30))),
    Case("--max-trials negative", "--max-trials: must be between 1", spec(),
         argv=run("--max-trials", "-3")),
    Case("distributed --workers 10000", "--workers: must be between 1 and 256", spec(),
         argv=("distributed", "s.toml", "--workers", "10000", "--out", "o")),
    Case("distributed --out empty", "--out: empty", spec(),
         argv=("distributed", "s.toml", "--out", "")),
    Case("chief --memory-budget 1", "--memory-budget: 1 byte(s)", spec(),
         argv=("chief", "s.toml", "--port", "40000", "--memory-budget", "1")),
    Case("worker --threads 0", "--threads: must be between 1 and 1,024", spec(),
         argv=("worker", "s.toml", "--oracle", "127.0.0.1:1", "--tuner-id", "w",
               "--threads", "0")),
    Case("worker --threads 10**6", "--threads: must be between 1 and 1,024", spec(),
         argv=("worker", "s.toml", "--oracle", "127.0.0.1:1", "--tuner-id", "w",
               "--threads", str(10**6))),
    Case("validate --workers", "unrecognized arguments: --workers", spec(),
         argv=("validate", "s.toml", "--workers", "3")),
    # ports and waits: refused at once, never a wait without end
    Case("chief --port 0", "--port: a port is a number from 1 to 65535, got 0", spec(),
         argv=("chief", "s.toml", "--port", "0", "--out", "o")),
    Case("chief --port 70000", "--port: a port is a number from 1 to 65535", spec(),
         argv=("chief", "s.toml", "--port", "70000", "--out", "o")),
    Case("chief --port negative", "--port: a port is a number from 1 to 65535", spec(),
         argv=("chief", "s.toml", "--port", "-5", "--out", "o")),
    Case("chief on an unknown host", "--host: 'nosuch.invalid' is no address", spec(),
         argv=("chief", "s.toml", "--port", "40001", "--host", "nosuch.invalid", "--out", "o")),
    Case("chief on another machine's address", "--host: cannot listen on 192.0.2.1", spec(),
         argv=("chief", "s.toml", "--port", "40002", "--host", "192.0.2.1", "--out", "o")),
    Case("chief --dead-after 0", "--dead-after: must be a number of seconds above 0", spec(),
         argv=("chief", "s.toml", "--port", "40003", "--dead-after", "0", "--out", "o")),
    Case("chief --dead-after nan", "--dead-after: must be a number of seconds", spec(),
         argv=("chief", "s.toml", "--port", "40003", "--dead-after", "nan", "--out", "o")),
    Case("distributed --port 70000", "--port: a port is a number from 1 to 65535", spec(),
         argv=("distributed", "s.toml", "--port", "70000", "--out", "o")),
    Case("worker --oracle port 0", "--oracle: a port is a number from 1 to 65535", spec(),
         argv=("worker", "s.toml", "--oracle", "127.0.0.1:0", "--tuner-id", "w")),
    Case("worker --oracle port 99999", "--oracle: a port is a number from 1 to 65535", spec(),
         argv=("worker", "s.toml", "--oracle", "127.0.0.1:99999", "--tuner-id", "w")),
    Case("worker --oracle unknown host", "--oracle: unknown host 'nosuch.invalid'", spec(),
         argv=("worker", "s.toml", "--oracle", "nosuch.invalid:5000", "--tuner-id", "w")),
    Case("worker --wait-for-chief 0", "--wait-for-chief: must be a number of seconds", spec(),
         argv=("worker", "s.toml", "--oracle", "127.0.0.1:1", "--tuner-id", "w",
               "--wait-for-chief", "0")),
    Case("worker --wait-for-chief inf", "--wait-for-chief: must be a number of seconds",
         spec(), argv=("worker", "s.toml", "--oracle", "127.0.0.1:1", "--tuner-id", "w",
                       "--wait-for-chief", "inf")),
    Case("--memory-budget not a size", "--memory-budget", spec(),
         argv=run("--memory-budget", "lots")),
    Case("--workers zero", "--workers", spec(), argv=run("--workers", "0")),
    Case("--workers 10**30", "--workers", spec(), argv=run("--workers", str(10**30))),
    Case("--max-trials zero", "--max-trials", spec(), argv=run("--max-trials", "0")),
    Case("--out under a file", "is a file, not a folder", spec(), files={"f": "x"},
         argv=("run", "s.toml", "--out", "f/run")),
    Case("--out name too long", "longer than the 255 bytes", spec(),
         argv=("run", "s.toml", "--out", "out/" + "n" * 300)),
    Case("--workers not a number", "--workers: invalid int value", spec(),
         argv=run("--workers", "two")),
    Case("unknown option", "unrecognized arguments: --colour", spec(),
         argv=run("--colour", "red")),
    Case("no command", "required: COMMAND", argv=()),
    Case("unknown command", "invalid choice: 'train'", argv=("train", "s.toml")),
    Case("run without a spec", "the following arguments are required: spec", argv=("run",)),
    Case("probe with a bad spec", "experiment.seed", spec(swap=(("seed = 3", "seed = -1"),)),
         argv=("probe", "s.toml")),
    Case("worker with a bad oracle", "--oracle: expected HOST:PORT", spec(),
         argv=("worker", "s.toml", "--oracle", "nowhere", "--tuner-id", "w")),
    Case("new with a bad name", "not a usable name", argv=("new", "../x")),
    Case("new --dir is a file", "--dir: f is a file", files={"f": "x"},
         argv=("new", "fine", "--dir", "f")),
    Case("new over a spec", "already exists", files={"experiments/taken.toml": "# mine\n"},
         argv=("new", "taken")),
    Case("report of a folder that is no run", "not a run directory", files={"empty/x": ""},
         argv=("report", "empty")),
    Case("report of nothing", "not a run directory", argv=("report", "nowhere")),
    Case("index of nothing", "no such folder", argv=("index", "nowhere")),
]


def _write(root: Path, case: Case) -> None:
    if case.spec is not None:
        data = case.spec if isinstance(case.spec, bytes) else case.spec.encode()
        (root / "s.toml").write_bytes(data)
    for name, content in case.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")}


def test_the_table_is_large_and_its_names_unique():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


def _builds(case: Case) -> bool:
    """A `run` with a builder of its own reaches the model check, in a worker that imports
    TensorFlow first (seconds): such a case is a slow test."""
    return case.argv[:1] == ("run",) and any(name.endswith(".py") and "def build(" in str(content)
                                         for name, content in case.files.items())


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if _builds(c) else c
                                  for c in CASES], ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, monkeypatch, capsys, case):
    _write(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    try:
        code = main(list(case.argv))
    except SystemExit as exc:  # argparse's way out
        code = exc.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert case.expect in lines[0], lines[0]
    assert _tree(tmp_path) == before, "something was written"
    assert Path.cwd() == tmp_path, "the working directory was left changed"


# The Python API takes the same overrides through the same checks: the same values are
# refused with the same words, naming the argument as Python spells it.
OVERRIDES = [
    ({"workers": 10000}, ("--workers", "10000")),
    ({"workers": 0}, ("--workers", "0")),
    ({"max_trials": 0}, ("--max-trials", "0")),
    ({"max_trials": 10**30}, ("--max-trials", str(10**30))),
    ({"memory_budget": 1}, ("--memory-budget", "1")),
    ({"memory_budget": "1.5"}, ("--memory-budget", "1.5")),
    ({"memory_budget": "63MiB"}, ("--memory-budget", "63MiB")),
    ({"memory_budget": "lots"}, ("--memory-budget", "lots")),
    ({"out": ""}, ("--out", "")),
    ({"out": "  "}, ("--out", "  ")),
]


@pytest.mark.parametrize("given, flags", OVERRIDES, ids=[str(g) for g, _ in OVERRIDES])
def test_the_api_refuses_overrides_as_the_command_line_does(tmp_path, monkeypatch, capsys,
                                                            given, flags):
    import tomllib

    import tuning

    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(spec())
    kwargs = {"out": "out/api", **given}
    with pytest.raises(tuning.SpecError) as caught:
        tuning.search(tomllib.loads(spec()), **kwargs)
    argv = ["run", "s.toml", *flags] + ([] if "--out" in flags else ["--out", "out/cli"])
    assert main(argv) == 2
    line = capsys.readouterr().err.strip()
    name = next(iter(given))
    assert str(caught.value) == line.replace(f"error: {flags[0]}", name, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"], "something was written"


@pytest.mark.parametrize("given", [{"workers": True}, {"workers": 2.0}, {"max_trials": 2.5},
                                   {"memory_budget": 1.5}, {"memory_budget": [1]},
                                   {"out": 3}, {"fresh": "yes"}], ids=str)
def test_the_api_refuses_values_of_the_wrong_type(tmp_path, given):
    import tomllib

    import tuning

    with pytest.raises(tuning.SpecError, match=f"^{next(iter(given))}: "):
        tuning.search(tomllib.loads(spec()), **{"out": tmp_path / "run", **given})
    assert not (tmp_path / "run").exists()


def test_spec_error_is_the_one_user_error_type():
    import tuning
    from tuning.spec.errors import UserError

    assert tuning.SpecError is UserError and issubclass(UserError, ValueError)


def test_a_spec_saved_with_a_byte_order_mark_reads_as_without(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_bytes(BOM + spec().encode())
    (tmp_path / "bom_builder.py").write_bytes(BOM + BUILDER.format(body="pass").encode())
    assert main(["validate", "s.toml"]) == 0
    assert "ok: spec and data are valid" in capsys.readouterr().out
    (tmp_path / "s.toml").write_bytes(BOM + spec(builder="bom_builder:build").encode())
    assert main(["validate", "s.toml"]) == 0, capsys.readouterr().err


def test_the_traceback_of_user_code_that_exits_is_kept_where_the_message_says(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    case = loader("sys.exit(7)")
    _write(tmp_path, Case("loader", "", **case))
    assert main(list(case["argv"])) == 2
    line = capsys.readouterr().err.strip()
    log = Path(line.rsplit("(traceback in ", 1)[1].rstrip(")"))
    text = log.read_text()
    assert "SystemExit: 7" in text and "sys.exit(7)" in text, text
    log.unlink()


@pytest.mark.parametrize("package, body, expect", [
    ("exiting_package", "import sys\nsys.exit(0)\n",
     "model.builder: the builder's package called sys.exit(0)"),
    ("killing_package", "import os\nos._exit(9)\n",
     "model.builder: the builder's package called os._exit(9)"),
    ("failing_package", "1 / 0\n",
     "model.builder: importing the package of 'failing_package.inner' failed: ZeroDivisionError"),
])
def test_validate_contains_the_builders_package(tmp_path, monkeypatch, capsys, package, body,
                                                expect):
    """`validate` reads a builder without importing it, but finding `package.module` on the
    import path runs the package's `__init__`: user code like any other."""
    site = tmp_path / "site"
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(body)
    (tmp_path / "s.toml").write_text(spec(builder=f"{package}.inner:build"))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "s.toml"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"error: {expect}"), line
    assert Path.cwd() == tmp_path


@pytest.mark.slow
def test_a_real_ctrl_c_during_the_check_build_still_interrupts(tmp_path, monkeypatch,
                                                               capsys, ctrl_c_raises):
    """Only a KeyboardInterrupt the code raises itself is the code's error: a Ctrl-C
    (SIGINT) while a worker builds the model stops the command as an interruption, exit
    130, at once, and leaves nothing behind."""
    monkeypatch.chdir(tmp_path)
    building = tmp_path / "building"
    case = builder(f"open({str(building)!r}, 'w').close()\n    time.sleep(60)")
    _write(tmp_path, Case("ctrl-c", "", **case))
    files = sorted(p.name for p in tmp_path.iterdir())

    def press_ctrl_c() -> None:
        while not building.exists():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    start = time.monotonic()
    assert main(list(case["argv"])) == 130
    assert time.monotonic() - start < 50
    assert "interrupted" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "building") == files


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.mark.parametrize("command", ["chief", "distributed"])
def test_a_port_in_use_is_refused_at_once(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(spec())
    with _listening() as taken:
        port = taken.getsockname()[1]
        start = time.monotonic()
        code = main([command, "s.toml", "--port", str(port), "--out", "o"])
    line = capsys.readouterr().err.strip()
    assert code == 2 and line == (f"error: --port: 127.0.0.1:{port} is in use by another "
                                  "program; choose another port")
    assert time.monotonic() - start < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_a_worker_without_a_chief_says_so_within_its_wait(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(spec())
    with _listening() as closed:
        port = closed.getsockname()[1]  # free once closed: nothing listens there after
    start = time.monotonic()
    code = main(["worker", "s.toml", "--oracle", f"127.0.0.1:{port}", "--tuner-id", "w",
                 "--wait-for-chief", "2", "--out", "o"])
    waited = time.monotonic() - start
    line = capsys.readouterr().err.strip()
    assert code == 2 and line.startswith(f"error: --oracle: no chief answers at 127.0.0.1:{port} "
                                         "after 2 s"), line
    assert 2 <= waited < 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


WORKER_SIDE = """import os, sys
import keras


def build(hp, input_shape, n_outputs):
    os.makedirs({elsewhere!r}, exist_ok=True)
    os.chdir({elsewhere!r})  # every call moves away; the tool must come back
    steps = hp.get("steps_per_epoch")
    if steps == 8:
        sys.exit(0)
    if steps == 16:
        os._exit(3)
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(n_outputs,
                                                                        activation="softmax")])
"""


@pytest.mark.slow
def test_user_code_that_exits_in_a_trial_is_an_error_record_and_the_search_goes_on(
        tmp_path, write_spec):
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / "moving.py").write_text(WORKER_SIDE.format(elsewhere=str(elsewhere)))
    path = write_spec(spec_text(source="sklearn:iris", builder="moving:build", epochs=1,
                                steps=[4, 8, 16]))
    out = tmp_path / "run"
    done = run_cli("run", str(path), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    import pandas as pd

    table = pd.read_csv(out / "trials.csv").set_index("steps_per_epoch")
    assert table.loc[4, "status"] == "ok"
    assert table.loc[8, "status"] == "error" and "called sys.exit(0)" in table.loc[8, "message"]
    assert table.loc[16, "status"] == "error" and "called os._exit(3)" in table.loc[16, "message"]
    assert list(elsewhere.iterdir()) == [], "files were written where the builder moved to"
    assert "SystemExit" in (out / "logs" / "worker-0.log").read_text()
