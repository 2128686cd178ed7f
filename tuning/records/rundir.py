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

from tuning.records import trials as records
from tuning.records.trials import Damaged, atomic_write
from tuning.spec.errors import UserError
from tuning.spec.schema import ResourcesSpec, Spec, load_spec

SPEC_FILE = "spec.toml"
STATE_FILE = "run.json"
LOCK_FILE = ".lock"
#: What `--fresh` removes: everything the tool writes, nothing else.
OWNED = ("records", "tuner", "tensorboard", "plots", SPEC_FILE, STATE_FILE, "trials.csv",
         "curves.csv", "report.html", "report.md", "summary.json")


def default_run_dir(spec: Spec, root: Path = Path("results")) -> Path:
    return root / spec.name


def check_location(run_dir: Path) -> None:
    """Refuse a run directory that cannot be made: a name too long for the file system,
    or a file where a folder is needed. Creates nothing."""
    for part in run_dir.parts:
        if len(os.fsencode(part)) > 255:
            raise UserError(str(run_dir), f"the name {part[:40]!r}... is longer than the "
                                          "255 bytes a file system allows")
    for path in (run_dir, *run_dir.parents):
        if path.exists():
            if not path.is_dir():
                raise UserError(str(run_dir), f"{path} is a file, not a folder")
            return


def first_missing(run_dir: Path) -> Path | None:
    """The outermost folder of `run_dir` that does not exist yet (what a failed start must
    remove to leave nothing behind), or None when run_dir exists."""
    missing = None
    for path in (run_dir, *run_dir.parents):
        if path.exists():
            return missing
        missing = path
    return missing


def claim(run_dir: Path, spec: Spec, fresh: bool) -> RunLock:
    """Lock the run directory for this search (creating it), refusing a directory that
    holds another spec's search or a search still running."""
    check_location(run_dir)
    if not fresh:
        check_resumable(run_dir, spec)
    lock = RunLock(run_dir)
    lock.acquire()
    return lock


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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+")  # noqa: SIM115 - held open for the whole search
        except OSError as exc:
            raise UserError(str(self.path.parent), f"cannot write in it: "
                                                   f"{exc.strerror or exc}") from None
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
    return read_state(run_dir).get("state") == "finished"


def read_state(run_dir: Path) -> dict[str, Any]:
    """run.json's fields; an unreadable file reads as no state at all."""
    path = run_dir / STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_state(run_dir: Path, **fields: Any) -> None:
    """Merge `fields` into run.json."""
    state = read_state(run_dir)
    state.update(fields)
    atomic_write(run_dir / STATE_FILE, json.dumps(state, indent=1, sort_keys=True))


def settle_state(run_dir: Path) -> None:
    """A run.json still saying `running` while no search holds the lock is a search that
    was killed: say `interrupted`, so no report or index shows it running forever."""
    if read_state(run_dir).get("state") != "running":
        return
    lock = RunLock(run_dir)
    try:
        lock.acquire()
    except UserError:
        return  # a search is running in it indeed
    try:
        write_state(run_dir, state="interrupted")
    finally:
        lock.release()


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def rebuild_tables(run_dir: Path) -> list[Damaged]:
    """Rebuild trials.csv and curves.csv from the records, as `report` does every time: the
    records are the truth, a table is only their copy (and may be stale or damaged).
    Returns the records that could not be read. A run directory without records (tables
    only) keeps its tables, once they are known to be readable."""
    has_records = (run_dir / records.RECORDS).is_dir()
    if not has_records and not (run_dir / "trials.csv").is_file():
        raise UserError(str(run_dir), "not a run directory (no records/ and no trials.csv)")
    if not (run_dir / SPEC_FILE).is_file():
        raise UserError(str(run_dir), f"not a run directory (no {SPEC_FILE})")
    spec = load_spec(run_dir / SPEC_FILE)
    if not has_records:
        for table in ("trials.csv", "curves.csv"):
            try:
                records.read_table(run_dir / table)
            except (ValueError, UnicodeDecodeError) as exc:
                raise UserError(str(run_dir / table), f"cannot read it and there are no "
                                f"records to rebuild it from: {exc}".splitlines()[0]) from exc
        return []
    names = read_state(run_dir).get("hp_names") or [d.name for d in spec.search.space]
    records.write_tables(run_dir, spec.model.metric, list(names))
    return records.load_trials(run_dir)[1]
