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

import hashlib
import os
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tuning.spec.errors import UserError
from tuning.spec.overrides import Overrides, apply_overrides
from tuning.spec.schema import Spec, parse_spec, read_toml
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
    """The results of a run directory, without training and without importing TensorFlow."""
    import json

    from tuning.records.trials import read_table

    folder = Path(run_dir)
    if not (folder / "trials.csv").is_file():
        raise SpecError(str(folder), "not a run directory (no trials.csv)")
    summary_path = folder / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    return Result(
        run_dir=folder,
        report=folder / "report.html",
        trials=read_table(folder / "trials.csv"),
        curves=read_table(folder / "curves.csv"),
        summary=summary,
    )


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
    `(x, y)` arrays or a finite `tf.data.Dataset` of `(features, label)`, replaces
    `[data] source`. Bad input raises `SpecError` before anything is written.
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


def cache_root() -> Path:
    """Where in-memory data is kept for the workers: $STEPS_TUNER_CACHE, else the user's
    cache folder."""
    configured = os.environ.get("STEPS_TUNER_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "steps-tuner"


def _cache_data(data: Any, spec: Spec) -> Path:
    """Check the data as any source is checked, then write it once as x.npy and y.npy in a
    folder named by its content; the same data finds the folder already written."""
    from tuning.data.dataset import prepare
    from tuning.data.sources import as_arrays

    x, y = as_arrays(data, "data")
    prepare(x, y, replace(spec, data=replace(spec.data, source="data")))
    digest = hashlib.blake2b(digest_size=16)
    for array in (x, y):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    folder = cache_root() / "data" / digest.hexdigest()
    if not (folder / "y.npy").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".writing-"))
        np.save(staging / "x.npy", x, allow_pickle=False)
        np.save(staging / "y.npy", y, allow_pickle=False)
        try:
            staging.rename(folder)
        except OSError:  # written meanwhile by another search of the same data
            shutil.rmtree(staging, ignore_errors=True)
    os.utime(folder)  # used now: the last folder the pruning would take
    prune_cache(cache_limit(), keep=folder)
    return folder


#: The cache's default limit; `$STEPS_TUNER_CACHE_LIMIT` sets another (e.g. 2GiB).
CACHE_LIMIT = 10 * 2**30
#: A folder used this recently is never removed: another search may be reading it.
IN_USE_S = 3600


def cache_limit() -> int:
    from tuning.spec.sizes import parse_size

    configured = os.environ.get("STEPS_TUNER_CACHE_LIMIT")
    if not configured:
        return CACHE_LIMIT
    try:
        return parse_size(configured)
    except ValueError as exc:
        raise UserError("STEPS_TUNER_CACHE_LIMIT", str(exc)) from None


def prune_cache(limit: int, keep: Path | None = None) -> list[Path]:
    """Remove the least recently used data folders until the cache holds at most `limit`
    bytes; never `keep`, nor a folder used in the last hour. A removed folder costs only a
    rewrite: the same data passed again makes the same folder. Returns what was removed."""
    root = cache_root() / "data"
    if not root.is_dir():
        return []
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    sizes = {p: sum(f.stat().st_size for f in p.iterdir() if f.is_file()) for p in folders}
    total = sum(sizes.values())
    removed = []
    for folder in sorted(folders, key=lambda p: p.stat().st_mtime):
        if total <= limit:
            break
        if folder == keep or time.time() - folder.stat().st_mtime < IN_USE_S:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= sizes[folder]
        removed.append(folder)
    return removed


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
