"""Which folders are the tool's own: a marker file, `.steps-tuner`, written when it makes one.

The tool writes into, clears (`--fresh`) or reports on only a folder it made: a run directory
carries the marker `{"kind": "run", "key": ...}`, a results folder the tool made (the parent
of run directories, where `index.html` goes) `{"kind": "results"}`, the folder a search writes
its store into before it holds the run's lock (`.steps-tuner-data-<pid>`, beside the run
directory) `{"kind": "staging"}`. The run's key is random;
every record the search writes carries a mark made from it and the record's name, so a record
the search did not write (dropped into `records/`, copied from another run or from another
trial) is told apart from the search's own without trusting its contents.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

MARKER = ".steps-tuner"
RUN, RESULTS, STAGING = "run", "results", "staging"


@dataclass(frozen=True)
class Marker:
    """What the marker says: the folder's kind and, for a run made with one, its key.
    A marker that cannot be read still marks the folder as the tool's (kind `damaged`)."""

    kind: str
    key: str | None = None
    #: The machine that made a staging folder (its process id means something only there).
    host: str | None = None


def read_marker(folder: Path) -> Marker | None:
    """The folder's marker, or None when it has none."""
    path = Path(folder) / MARKER
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Marker("damaged")
    if not isinstance(content, dict) or content.get("kind") not in (RUN, RESULTS, STAGING):
        return Marker("damaged")
    key, host = content.get("key"), content.get("host")
    return Marker(content["kind"], key if isinstance(key, str) and key else None,
                  host if isinstance(host, str) and host else None)


def marker_text(kind: str, key: str | None = None, host: str | None = None) -> str:
    """The marker's content: a run directory (with its records' key), a results folder or
    a staging folder (with the machine that made it)."""
    content = {"kind": kind, "tool": "steps-tuner"}
    if key is not None:
        content["key"] = key
    if host is not None:
        content["host"] = host
    return json.dumps(content) + "\n"


def new_key() -> str:
    return secrets.token_hex(16)


def run_key(run_dir: Path) -> str | None:
    """The key the run's records are marked with; None for a run made before keys (or
    whose marker is damaged): its records are then taken as they are."""
    marker = read_marker(run_dir)
    return marker.key if marker is not None else None


def mark(key: str, record: str) -> str:
    """The mark of record `record` (its file's stem) in the run keyed `key`."""
    return hmac.new(key.encode(), record.encode(), hashlib.sha256).hexdigest()[:32]
