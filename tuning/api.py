"""The Python API: `search` and `load`, for notebooks and pipelines.

`search` runs exactly what `python -m tuning run` runs (the same checks, run directory,
workers and report); it only adds what a command line cannot take: a builder defined in a
notebook or script, and data already in memory. The builder reaches the worker processes
pickled with cloudpickle (by value when it lives in `__main__`, as Ray and Dask send
functions). In-memory data is written once to a cache folder of `.npy` files that the workers
open memory-mapped, named by a hash of its content so the same data resumes the same run;
the least recently used folders are removed once the cache outgrows its limit.

Importing this module loads neither TensorFlow nor Keras, and `load` never does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tuning.spec.errors import UserError
from tuning.spec.overrides import Overrides, apply_overrides
from tuning.spec.schema import Spec, load_spec, parse_spec, read_toml
from tuning.spec.tomlwrite import to_toml

SpecInput = str | os.PathLike | dict


#: Bad input (spec, data, builder or option): the command line's own error type, whose
#: message is its `error:` line without the prefix, `where: what`.
SpecError = UserError


@dataclass(frozen=True)
class Result:
    """A run's tables as DataFrames (as `trials.csv` and `curves.csv`), its summary (as
    `summary.json`, empty when the run has none) and where its files are."""

    run_dir: Path
    report: Path
    trials: Any  # pandas.DataFrame
    curves: Any  # pandas.DataFrame
    summary: dict[str, Any]


def load(run_dir: str | os.PathLike) -> Result:
    """The results of a run directory, without training and without importing TensorFlow.

    A table that is damaged (or another tool's) is rebuilt in memory from the records, and
    a damaged summary.json reads as empty, each with a warning naming the file; a folder
    with nothing sound to read raises `SpecError`."""
    import warnings

    from tuning.records import trials as records
    from tuning.records.rundir import SPEC_FILE, hp_names

    folder = Path(run_dir)
    if not (folder / "trials.csv").exists() and not (folder / records.RECORDS).is_dir():
        raise SpecError(str(folder), "not a run directory (no trials.csv)")
    problems = {name: records.table_problem(folder / name, name) for name in records.TABLE_KEYS}
    if any(problems.values()):
        try:
            spec = load_spec(folder / SPEC_FILE)
        except UserError as exc:
            raise SpecError(str(folder), f"its tables cannot be read and there is no spec to "
                                         f"rebuild them with ({exc})") from None
        trials, curves = records.tables(folder, spec.model.metric, hp_names(folder, spec))
        if trials.empty:
            name, problem = next((n, p) for n, p in problems.items() if p)
            raise SpecError(str(folder / name), f"{problem}, and there are no sound records "
                                                "to rebuild it from")
        for name, problem in problems.items():
            if problem:
                warnings.warn(f"{folder / name}: {problem}; read from the records instead",
                              stacklevel=2)
    else:
        trials = records.read_table(folder / "trials.csv")
        curves = records.read_table(folder / "curves.csv")
    return Result(
        run_dir=folder,
        report=folder / "report.html",
        trials=trials,
        curves=curves,
        summary=_summary(folder / "summary.json"),
    )


def _summary(path: Path) -> dict[str, Any]:
    """summary.json's content; empty when there is none, and when it is damaged (with a
    warning: `steps-tuner report` writes it again)."""
    import json
    import warnings

    if not path.exists():
        return {}
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        reason = None if isinstance(content, dict) else f"a JSON {type(content).__name__}"
    except (OSError, ValueError) as exc:
        content, reason = {}, str(exc).splitlines()[0]
    if reason is None:
        return content
    warnings.warn(f"{path}: damaged ({reason}); read as empty, `steps-tuner report` writes "
                  "it again", stacklevel=3)
    return {}


def search(
    spec: SpecInput,
    builder: Callable | None = None,
    data: Any = None,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    max_trials: int | None = None,
    memory_budget: int | str | None = None,
    fresh: bool = False,
) -> Result:
    """Run (or resume) a search and return its results.

    `spec` is a TOML path or a dict of the same tables; `builder`, a callable
    `build(hp, input_shape, n_outputs) -> keras.Model`, replaces `[model] builder`; `data`,
    `(x, y)` arrays (numpy or pandas), a `tf.data.Dataset` of `(features, label)`, a
    generator of `(x, y)` batches or a `keras.utils.PyDataset` (one that may never end
    needs `data.take`), replaces `[data] source`. Bad input raises `SpecError` before
    anything is written.
    """
    from tuning.execution.run import RunOptions, run_search
    from tuning.records.rundir import default_run_dir

    resolved, text = _resolve(spec, builder, data)
    applied = apply_overrides(resolved, Overrides(out=out, max_trials=max_trials,
                                                  workers=workers, memory_budget=memory_budget,
                                                  fresh=fresh))
    options = RunOptions(
        run_dir=applied.out or default_run_dir(applied.spec),
        max_trials=applied.max_trials,
        fresh=applied.fresh,
        builder=None if builder is None else _pickle(builder),
        spec_text=text,
    )
    with _main_script_hidden():
        code = run_search(applied.spec, options)
    if code == 130:
        raise KeyboardInterrupt
    return load(options.run_dir)


def _resolve(spec: SpecInput, builder: Callable | None, data: Any) -> tuple[Spec, str | None]:
    """The spec with the builder and data put in its place, and the TOML text to keep in the
    run directory when it differs from a spec file (None: copy the file)."""
    if isinstance(spec, dict):
        raw, path = _normalised(spec), Path.cwd() / "spec.toml"
    elif isinstance(spec, str | os.PathLike):
        path = Path(spec)
        raw = read_toml(path)  # every problem of the file, named as the command line names it
    else:
        raise UserError("spec", f"expected a TOML path or a dict, got {type(spec).__name__}")
    if builder is None and data is None:
        return parse_spec(raw, path), None if not isinstance(spec, dict) else to_toml(raw)
    if builder is not None:
        if not callable(builder):
            raise UserError("builder", f"expected a callable, got {type(builder).__name__}")
        name = getattr(builder, "__qualname__", type(builder).__name__)
        raw.setdefault("model", {})["builder"] = f"{getattr(builder, '__module__', '')}:{name}"
    if data is not None:
        table = raw.setdefault("data", {})
        table.pop("target", None)
        table.pop("image_size", None)
        table["source"] = "npy:{}"  # a placeholder until the data is cached, for the checks
        checked = parse_spec(raw, path)
        checked = replace(checked, data=replace(checked.data, source="data"))
        table["source"] = f"npy:{_cache_data(data, checked)}"
    return parse_spec(raw, path), to_toml(raw)


def _normalised(spec: dict) -> dict[str, Any]:
    """The dict as a TOML file would read it (numpy scalars and tuples become plain values)."""
    try:
        return tomllib.loads(to_toml(spec))
    except (TypeError, AttributeError, tomllib.TOMLDecodeError) as exc:
        raise UserError("spec", f"cannot be written as TOML: {exc}") from None


def _pickle(builder: Callable) -> bytes:
    import cloudpickle

    try:
        return cloudpickle.dumps(builder)
    except Exception as exc:  # e.g. the builder holds an open file or a lock
        raise UserError("builder", f"cannot be sent to the worker processes: "
                                   f"{type(exc).__name__}: {exc}".splitlines()[0]) from None


def _cache_data(data: Any, spec: Spec) -> Path:
    """Stream the data (`data.take` and `data.sample` applied) into x.npy and y.npy in a
    folder named by a hash of the bytes read, checked as they pass (as any source's chunks
    are) and then its labels and splits; the same data finds the folder already written.
    Memory: a chunk and the labels."""
    from tuning.data.adapters import source_chunks
    from tuning.data.cache import cache_limit, cache_root, prune_cache
    from tuning.data.dataset import split_labels
    from tuning.data.store import RowWriter

    root = cache_root() / "data"
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".writing-"))
    try:
        digest = hashlib.blake2b(digest_size=16)
        labels = []
        with RowWriter(staging / "x.npy") as features:
            for chunk in source_chunks(spec, data):
                for array in (chunk.x, chunk.y):
                    digest.update(f"{array.dtype.str}{array.shape[1:]}".encode())
                    digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
                features.append(chunk.x)
                labels.append(chunk.y)
        y = np.concatenate(labels)
        split_labels(y, spec)
        np.save(staging / "y.npy", y.astype(str) if y.dtype.kind == "O" else y,
                allow_pickle=False)
        folder = root / digest.hexdigest()
        if not (folder / "y.npy").is_file():
            with contextlib.suppress(OSError):  # written meanwhile by another search
                staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    os.utime(folder)  # used now: the last folder the pruning would take
    prune_cache(cache_limit(), keep=folder)
    return folder


@contextmanager
def _main_script_hidden() -> Iterator[None]:
    """Worker processes are started fresh ("spawn"), and such a process first re-runs the
    parent's main script; a notebook-style script without `if __name__ == "__main__":` would
    start its search again in every worker. The builder travels pickled by value, so the
    workers need nothing from the script: hide it while the search runs."""
    main = sys.modules["__main__"]
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if hasattr(main, k)}
    if "__file__" in saved:
        del main.__file__
    main.__spec__ = None
    try:
        yield
    finally:
        for key, value in saved.items():
            setattr(main, key, value)
