"""The run directory: one search's home, locked while a search runs in it.

It holds the spec as run (`spec.toml`), the run's state (`run.json`), the per-trial records,
the tables, the report, and keras-tuner's own state for resuming. It is the tool's own: it
carries the marker (`tuning.records.ownership`), and a folder that is not empty and has no
marker is never written to, cleared or reported on. run.json records what the run was made
from (the prepared data's content hash and the preparation), checked on every resume.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import json
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tuning.data.dataset import Dataset
from tuning.data.store import FINGERPRINT_FORM, fingerprint, serial_fingerprint
from tuning.records import trials as records
from tuning.records.ownership import (
    MARKER,
    RESULTS,
    RUN,
    STAGING,
    marker_text,
    new_key,
    read_marker,
)
from tuning.records.trials import Damaged, atomic_write
from tuning.spec.errors import UserError
from tuning.spec.schema import ResourcesSpec, Spec, load_spec

SPEC_FILE = "spec.toml"
STATE_FILE = "run.json"
LOCK_FILE = ".lock"
#: What `--fresh` removes: what a search writes in its run directory, nothing else. The
#: marker and the lock stay (the folder is still the tool's, and locked); so do `data/` and
#: `logs/`, which the new start has already rewritten, or opened, by the time it clears.
OWNED = ("records", "tuner", "tensorboard", "plots", SPEC_FILE, STATE_FILE, "labels.npz",
         "trials.csv", "curves.csv", "report.html", "report.md", "summary.json")
#: The results folder a run directory goes in by default: the tool's by convention.
DEFAULT_ROOT = Path("results")


def default_run_dir(spec: Spec, root: Path = DEFAULT_ROOT) -> Path:
    return root / spec.name


def is_earlier_run(folder: Path) -> bool:
    """A run directory made before the marker: spec.toml beside a run.json the tool wrote
    (an object with its `experiment` and `state`), or beside keras-tuner's saved Oracle."""
    if not (folder / SPEC_FILE).is_file():
        return False
    state = read_state(folder)
    return {"experiment", "state"} <= state.keys() or (folder / "tuner" / "oracle.json").is_file()


def is_run_dir(folder: Path) -> bool:
    """The folder is a run directory of the tool's: marked, or made before the marker."""
    marker = read_marker(folder)
    return (marker is not None and marker.kind not in (RESULTS, STAGING)) or is_earlier_run(folder)


def check_owned(folder: Path, hint: str = "") -> None:
    """Refuse a folder that is not empty and is not one of the tool's run directories:
    a user's own folder is never written to, cleared or reported on."""
    if not folder.is_dir() or is_run_dir(folder) or not any(folder.iterdir()):
        return
    raise UserError(str(folder), f"not a run directory of this tool (no {MARKER} run marker) "
                                 f"and not empty: nothing was changed{hint}")


def is_results_folder(folder: Path) -> bool:
    """A folder of run directories the tool made (marked as such), or the default one:
    only there does the tool write `index.html` by itself."""
    marker = read_marker(folder)
    if marker is not None:
        return marker.kind == RESULTS
    return folder.resolve() == DEFAULT_ROOT.resolve()


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


@dataclass(frozen=True)
class Provenance:
    """What a run was made from, besides its spec.toml: the content hash of the prepared
    rows (the data, shuffled and split) and the preparation's settings. Recorded in
    run.json when the run is made; a resume with any of them changed is refused."""

    data: str
    preparation: dict[str, Any]
    dataset: Dataset | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, spec: Spec, dataset: Dataset) -> Provenance:
        preparation = {f"data.{k}": v for k, v in dataclasses.asdict(spec.data).items()
                       if k != "source"}
        preparation.update({"experiment.seed": spec.seed, "stratified split": dataset.stratify})
        return cls(fingerprint(dataset), json.loads(json.dumps(preparation)), dataset)

    def same_data(self, recorded: str) -> bool:
        """Whether a run recorded as made from `recorded` was made from these rows; a hash
        of the earlier form (a run made before it) is compared in that form."""
        if recorded.startswith(f"{FINGERPRINT_FORM}:") or self.dataset is None:
            return recorded == self.data
        return recorded == serial_fingerprint(self.dataset)

    def fields(self) -> dict[str, Any]:
        return {"data_hash": self.data, "preparation": self.preparation}


@dataclass
class Claim:
    """A run directory claimed for a search: locked, marked, and able to undo what the
    claim itself made when the search cannot start."""

    run_dir: Path
    provenance: Provenance
    lock: RunLock
    created: Path | None  # the outermost folder the claim made
    was_empty: bool
    marked: list[Path]  # markers the claim wrote outside the run directory

    def release(self) -> None:
        self.lock.release()

    def undo(self) -> None:
        """Release the lock and leave the folders as they were before the claim."""
        self.lock.release()
        if self.created is not None:
            shutil.rmtree(self.created, ignore_errors=True)
        elif self.was_empty:
            for path in self.run_dir.iterdir():
                _remove(path)
        for marker in self.marked:
            marker.unlink(missing_ok=True)


def mark_results_folder(folder: Path) -> bool:
    """Mark `folder` as a results folder of the tool's (where the index is kept up to
    date), unless it carries a marker already; True when this wrote one."""
    if read_marker(folder) is not None:
        return False
    atomic_write(folder / MARKER, marker_text(RESULTS))
    return True


def claim(run_dir: Path, spec: Spec, fresh: bool, provenance: Provenance) -> Claim:
    """Lock the run directory for this search (creating and marking it), refusing a folder
    that is not the tool's, one that holds another spec's search or another data's (unless
    `fresh`), and one where a search is still running."""
    check_location(run_dir)
    check_owned(run_dir, "; give --out a new or empty folder")
    if not fresh:
        check_resumable(run_dir, spec, provenance)
    created = first_missing(run_dir)
    was_empty = run_dir.is_dir() and not any(run_dir.iterdir())
    lock = RunLock(run_dir)
    lock.acquire()
    made = Claim(run_dir, provenance, lock, created, was_empty, [])
    try:
        if read_marker(run_dir) is None:  # new, or made before the marker: keys start now
            key = None if is_earlier_run(run_dir) else new_key()
            atomic_write(run_dir / MARKER, marker_text(RUN, key))
        parent = run_dir.parent
        made_parent = created is not None and created != run_dir
        if ((made_parent or parent.resolve() == DEFAULT_ROOT.resolve())
                and mark_results_folder(parent)):
            made.marked.append(parent / MARKER)
    except BaseException:
        made.undo()
        raise
    return made


def _short(data_hash: str) -> str:
    """A content hash as a person compares two: its first hex digits, without its form."""
    return data_hash.rpartition(":")[2][:12]


def _comparable(spec: Spec) -> Spec:
    """The parts of a spec that decide the trials (resources and the trial cap may change)."""
    return replace(
        spec, path=Path(), resources=ResourcesSpec(), search=replace(spec.search, max_trials=None)
    )


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(_flat(item, f"{prefix}.{key}" if prefix else key))
    return flat


def _differences(before: dict[str, Any], after: dict[str, Any]) -> str:
    """`key: old -> new` for each key that differs, the first three."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    shown = [f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in keys[:3]]
    return "; ".join(shown) + (f"; and {len(keys) - 3} more" if len(keys) > 3 else "")


_SPEC_NAMES = {"name": "experiment.name", "seed": "experiment.seed"}
_START_OVER = "; rerun with --fresh to start over or --out DIR for a new directory"


def holds_trials(run_dir: Path) -> bool:
    """The directory holds something of a search: records, tables or the tuner's state."""
    folder = run_dir / records.RECORDS
    return ((folder.is_dir() and any(folder.iterdir())) or (run_dir / "trials.csv").exists()
            or (run_dir / "tuner").exists())


def check_resumable(run_dir: Path, spec: Spec, provenance: Provenance | None = None) -> None:
    """Refuse to resume a directory that holds a search of a different spec, different
    data or a different preparation of it, or trials whose spec is gone; the message names
    what changed."""
    saved = run_dir / SPEC_FILE
    if not saved.is_file():
        if holds_trials(run_dir):
            raise UserError(str(run_dir), f"holds a search's trials but no {SPEC_FILE}, so "
                                          f"what they were made from is unknown{_START_OVER}")
        return
    try:
        previous = load_spec(saved)
    except UserError as exc:
        raise UserError(str(run_dir), f"its {SPEC_FILE} cannot be read ({exc.what})"
                                      f"{_START_OVER}") from None
    state = read_state(run_dir)
    recorded = state.get("preparation")
    if provenance is not None and isinstance(recorded, dict):
        # Settings a later version adds (or drops) are not changes the user made.
        shared = recorded.keys() & provenance.preparation.keys()
        then = {k: v for k, v in recorded.items() if k in shared}
        current = {k: v for k, v in provenance.preparation.items() if k in shared}
        if then != current:
            raise UserError(str(run_dir), "the data's preparation changed since the run "
                            f"began ({_differences(then, current)}){_START_OVER}")
        recorded_hash = state.get("data_hash")
        if recorded_hash is not None and not provenance.same_data(str(recorded_hash)):
            raise UserError(str(run_dir), "the data changed since the run began (its prepared "
                            f"rows hash to {_short(provenance.data)} now, "
                            f"{_short(str(recorded_hash))} then){_START_OVER}")
    before = {_SPEC_NAMES.get(k, k): v for k, v in _flat(_comparable(previous)).items()}
    after = {_SPEC_NAMES.get(k, k): v for k, v in _flat(_comparable(spec)).items()}
    if before != after:
        raise UserError(str(run_dir), f"holds a search of a different spec "
                                      f"({_differences(before, after)}){_START_OVER}")


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
    """Remove what an earlier search wrote (for `--fresh`) and give the run a new key, so
    no earlier record passes for one of the new search; other files are left alone."""
    for name in OWNED:
        _remove(run_dir / name)
    atomic_write(run_dir / MARKER, marker_text(RUN, new_key()))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
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


def hp_names(run_dir: Path, spec: Spec) -> list[str]:
    """The searched names as the search recorded them (builders may add some), else the
    spec's."""
    names = read_state(run_dir).get("hp_names")
    if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
        return names
    return [d.name for d in spec.search.space]


def damaged_files(run_dir: Path) -> list[Damaged]:
    """The run's own files, besides the trials' records, that are there but cannot be
    read: the marker, run.json and the labels. A resumed search writes them again."""
    from tuning.records.predictions import labels_damage

    found = []
    marker = read_marker(run_dir)
    if marker is not None and marker.kind == "damaged":
        found.append(Damaged(run_dir / MARKER, "not the tool's marker content", "damaged"))
    state = run_dir / STATE_FILE
    if state.exists() or state.is_symlink():
        try:
            content = json.loads(state.read_text(encoding="utf-8"))
            reason = None if isinstance(content, dict) else (
                f"holds a JSON {type(content).__name__}, not an object")
        except (OSError, ValueError) as exc:
            reason = f"cannot be read: {exc}".splitlines()[0]
        if reason is not None:
            found.append(Damaged(state, reason, "damaged"))
    for table in records.TABLE_KEYS:
        if (run_dir / table).is_dir():
            found.append(Damaged(run_dir / table, "a folder where the table goes", "damaged"))
    labels = labels_damage(run_dir)
    return found + ([labels] if labels is not None else [])


def rebuild_tables(run_dir: Path) -> list[Damaged]:
    """Rebuild trials.csv and curves.csv from the records, as `report` does every time: the
    records are the truth, a table is only their copy (and may be stale or damaged).
    Returns every file left out because it cannot be used (damaged, or a record this search
    did not write). A run directory without records (tables only) keeps its tables, once
    they are known to be trial tables. Refuses a folder that is not a run directory, and
    one with nothing sound left to report on."""
    from tuning.records.confirmations import damaged_confirmations

    if not run_dir.is_dir():
        raise UserError(str(run_dir), "not a run directory (no such folder)")
    check_owned(run_dir)
    has_records = (run_dir / records.RECORDS).is_dir()
    if not has_records and not (run_dir / "trials.csv").exists():
        raise UserError(str(run_dir), "not a run directory (no records/ and no trials.csv)")
    if not (run_dir / SPEC_FILE).is_file():
        raise UserError(str(run_dir), f"not a run directory (no {SPEC_FILE})")
    spec = load_spec(run_dir / SPEC_FILE)
    damaged = damaged_files(run_dir)
    if not has_records:
        for table in ("trials.csv", "curves.csv"):
            problem = records.table_problem(run_dir / table, table)
            if problem is not None:
                raise UserError(str(run_dir / table), f"{problem}, and there are no records "
                                "to rebuild it from: nothing sound is left to report on")
        return damaged
    kept, bad = records.load_trials(run_dir)
    if bad and not kept:
        raise UserError(str(run_dir), f"nothing sound is left to report on: all {len(bad)} "
                        f"record(s) in {records.RECORDS}/ are damaged or not this search's "
                        f"(first: {bad[0].path.name}, {bad[0].reason})")
    records.write_tables(run_dir, spec.model.metric, hp_names(run_dir, spec))
    return damaged + bad + damaged_confirmations(run_dir)
