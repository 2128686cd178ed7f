"""The run directory: one search's home, locked while a search runs in it.

It holds the spec as run (`spec.toml`), the run's state (`run.json`), the per-trial records,
the tables, the report, and keras-tuner's own state for resuming.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from tuning.errors import UserError
from tuning.records import atomic_write
from tuning.spec import ResourcesSpec, Spec, load_spec

SPEC_FILE = "spec.toml"
STATE_FILE = "run.json"
LOCK_FILE = ".lock"
#: What `--fresh` removes: everything the tool writes, nothing else.
OWNED = ("records", "tuner", "tensorboard", "plots", SPEC_FILE, STATE_FILE, "trials.csv",
         "curves.csv", "report.html", "report.md")


def default_run_dir(spec: Spec, root: Path = Path("results")) -> Path:
    return root / spec.name


def _comparable(spec: Spec) -> Spec:
    """The parts of a spec that decide the trials (resources and the trial cap may change)."""
    return replace(
        spec, path=Path(), resources=ResourcesSpec(), search=replace(spec.search, max_trials=None)
    )


def check_resumable(run_dir: Path, spec: Spec) -> None:
    """Refuse to resume a directory that holds a search of a different spec."""
    saved = run_dir / SPEC_FILE
    if not saved.is_file():
        return
    try:
        previous = load_spec(saved)
    except UserError:
        previous = None
    if previous is None or _comparable(previous) != _comparable(spec):
        raise UserError(
            str(run_dir),
            "holds a search of a different spec; rerun with --fresh to start over "
            "or --out DIR for a new directory",
        )


class RunLock:
    """An exclusive lock on the run directory for the life of a search."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._handle = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the whole search
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise UserError(
                str(self.path.parent), f"another search is running in it (pid {owner})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def clear(run_dir: Path) -> None:
    """Remove what an earlier search wrote (for `--fresh`); other files are left alone."""
    for name in OWNED:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def is_finished(run_dir: Path) -> bool:
    """True when the directory holds a search that ran to its end."""
    path = run_dir / STATE_FILE
    return path.is_file() and json.loads(path.read_text()).get("state") == "finished"


def write_state(run_dir: Path, **fields: Any) -> None:
    """Merge `fields` into run.json."""
    path = run_dir / STATE_FILE
    state = json.loads(path.read_text()) if path.is_file() else {}
    state.update(fields)
    atomic_write(path, json.dumps(state, indent=1, sort_keys=True))


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
