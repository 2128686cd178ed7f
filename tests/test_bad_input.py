"""Malformed specs, data and options, tried as a new user would: every one is refused with
one line `error: <where>: <what>` on stderr, exit 2, and nothing created or changed.

The commands run in this process (`tuning.cli.main`), so the table runs in seconds: every
case is refused before training, most before TensorFlow is even imported.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import spec_text

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


def spec(extra: str = "", **kwargs) -> str:
    """The conftest spec with `old=>new` replacements given as `swap`."""
    swaps = kwargs.pop("swap", ())
    text = spec_text(**kwargs) + extra
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
ONE_HOT = np.eye(3)[np.arange(60) % 3]
GOOD_X = np.random.default_rng(0).normal(size=(60, 4))

CASES = [
    # the spec file itself
    Case("no spec file", "no such spec file", argv=("validate", "nowhere.toml")),
    Case("malformed toml", "not valid TOML", "[data\n"),
    Case("not utf-8", "not a UTF-8 text file", b"\xff\xfe[experiment]\n"),
    Case("unknown section", "extra: unknown section", spec("[extra]\na = 1\n")),
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
    Case("bad objective", "search.objective", spec(swap=with_key("search", 'objective = "f1"'))),
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
    Case("workers 10**30", "resources.workers: must be at most",
         spec(f"[resources]\nworkers = {10**30}\n")),
    Case("budget not a size", "resources.memory_budget",
         spec('[resources]\nmemory_budget = "lots"\n')),
    Case("budget too large", "resources.memory_budget",
         spec('[resources]\nmemory_budget = "5000TB"\n')),
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
    # options
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


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
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
