"""The cache of data read once and mapped by every search of the same content.

Two kinds of folder live under `cache_root()`: `data/<hash>` holds the Python API's
in-memory data as x.npy and y.npy (named by a hash of the bytes as they streamed in), and
`stores/<key>` a prepared store, named by `store_key`: the source's content key (paths,
sizes and modification times of its files, or the hash of an in-memory source's folder)
and every setting that changes what preparation writes. A second search of the same content
with the same settings maps that store instead of reading the source again. The least
recently used folders are removed once the cache outgrows its limit; a removed folder costs
only a rewrite.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from tuning.spec.errors import UserError
from tuning.spec.schema import Spec

#: The cache's default limit; `$STEPS_TUNER_CACHE_LIMIT` sets another (e.g. 2GiB).
CACHE_LIMIT = 10 * 2**30
#: A folder used this recently is never removed: another search may be reading it.
IN_USE_S = 3600
#: The cache's kinds of folder: in-memory data, prepared stores.
KINDS = ("data", "stores")


def cache_root() -> Path:
    """$STEPS_TUNER_CACHE, else the user's cache folder."""
    configured = os.environ.get("STEPS_TUNER_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "steps-tuner"


def cache_limit() -> int:
    from tuning.spec.sizes import parse_size

    configured = os.environ.get("STEPS_TUNER_CACHE_LIMIT")
    if not configured:
        return CACHE_LIMIT
    try:
        return parse_size(configured)
    except ValueError as exc:
        raise UserError("STEPS_TUNER_CACHE_LIMIT", str(exc)) from None


def store_key(spec: Spec) -> str | None:
    """The name of the spec's prepared store: its source's content and every setting that
    changes what is prepared; None where the content cannot be told without reading it
    (a `python:` function, whose result may change from one call to the next). Raises
    `UserError` for a source that cannot be read."""
    from tuning.data.adapters import adapter_for

    adapter = adapter_for(spec.data.source.partition(":")[0])
    adapter.check(spec)  # a missing file or a bad name is named as reading would name it
    content = adapter.content_key(spec)
    if content is None:
        return None
    smallest = min((float(v) for v in spec.search.dimension("validation_split").endpoints()),
                   default=0.1)  # the class warnings are stated for the smallest split
    settings = {"content": content, "data": dataclasses.asdict(spec.data), "seed": spec.seed,
                "task": spec.model.task, "smallest_validation_split": smallest}
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def store_folder(spec: Spec) -> Path | None:
    """Where the spec's prepared store is (or will be) cached; None: not cacheable."""
    key = store_key(spec)
    return None if key is None else cache_root() / "stores" / key


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def disk_use() -> int:
    """Bytes the cache holds now."""
    return sum(folder_bytes(p) for p in _folders())


def _folders() -> list[Path]:
    roots = [cache_root() / kind for kind in KINDS]
    return [p for root in roots if root.is_dir() for p in root.iterdir()
            if p.is_dir() and not p.name.startswith(".")]


def prune_cache(limit: int, keep: Path | None = None) -> list[Path]:
    """Remove the least recently used folders until the cache holds at most `limit`
    bytes; never `keep`, nor a folder used in the last hour. Returns what was removed."""
    folders = _folders()
    sizes = {p: folder_bytes(p) for p in folders}
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


def is_written(folder: Path) -> bool:
    """A store finished writing: it is moved into place only once complete."""
    return (folder / "meta.json").is_file()


def open_cached(spec: Spec):
    """The spec's prepared store from the cache, mapped, or None when it is not there: the
    source is then read and prepared as usual."""
    from tuning.data.dataset import open_prepared

    folder = store_folder(spec)
    if folder is None or not is_written(folder):
        return None
    os.utime(folder)  # used now: the last folder the pruning would take
    return open_prepared(folder)


def share(staging: Path | None, spec: Spec, target: Path) -> Path:
    """Put the prepared rows where every worker maps them: into the cache (when the source
    can be keyed), with `target` a link to it, else into `target` itself. `staging` is the
    store prepared for this search, None when the cached one was opened instead."""
    from tuning.data import store

    folder = store_folder(spec)
    if target.is_symlink():
        target.unlink()
    if folder is None:
        return store.move(staging, target)
    if staging is not None:
        if not is_written(folder):  # another search of the same content may race: the
            folder.parent.mkdir(parents=True, exist_ok=True)  # first one to rename wins
            landing = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".writing-"))
            try:
                shutil.move(staging, landing / "store")  # a rename on the same disk
                with contextlib.suppress(OSError):
                    (landing / "store").rename(folder)
            finally:
                shutil.rmtree(landing, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(folder, target_is_directory=True)
    os.utime(folder)
    prune_cache(cache_limit(), keep=folder)
    return folder
