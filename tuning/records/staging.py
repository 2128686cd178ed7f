"""The folder a search writes its store into before it holds the run's lock.

It lies beside the run directory (moving the store in is then a rename, on a disk), named
for the process that made it, `.steps-tuner-data-<pid>`, since no lock is held yet, and
marked as the tool's (`{"kind": "staging", "host": ...}`, see `tuning.records.ownership`). A
search that ends removes it; one that is killed cannot, so every start removes the ones
whose process is gone: only folders of exactly that name that carry the staging marker of
this machine (on a shared disk, another machine's process ids mean nothing here).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path

from tuning.records.ownership import MARKER, STAGING, marker_text, read_marker
from tuning.records.trials import atomic_write

PREFIX = ".steps-tuner-data-"
_NAME = re.compile(re.escape(PREFIX) + r"([1-9][0-9]*)")
#: The store's own folder inside the staging folder (what is moved into place).
STORE = "store"


def make(parent: Path) -> Path:
    """This process's staging folder in `parent` (made, with its parents, and marked), once
    the abandoned ones there are removed; raises OSError where it cannot be made."""
    remove_abandoned(parent)
    folder = parent / f"{PREFIX}{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / MARKER, marker_text(STAGING, host=socket.gethostname()))
    return folder


def remove_abandoned(parent: Path) -> list[Path]:
    """Remove the staging folders in `parent` whose process is no longer running (or whose
    pid is this process's: one that ran before under the same pid, as in a container);
    returns them. A folder of another name, without the staging marker, or made on another
    machine, is left alone."""
    removed = []
    try:
        entries = list(parent.iterdir()) if parent.is_dir() else []
    except OSError:
        return removed
    for folder in entries:
        found = _NAME.fullmatch(folder.name)
        if found is None or folder.is_symlink() or not folder.is_dir():
            continue
        marker = read_marker(folder)
        if marker is None or marker.kind != STAGING or marker.host != socket.gethostname():
            continue
        pid = int(found.group(1))
        if pid == os.getpid() or not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OverflowError:  # not a pid this system can have
        return False
    return True
